package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"lijiang/platform"
)

// CheckpointerConfig configures a Checkpointer.
type CheckpointerConfig struct {
	Store *Store
	Node  string
	// Every and Interval: a checkpoint is made once Every records (default
	// 1000) or Interval (default 60 s) have passed since the last one,
	// whichever comes first, when there are new records.
	Every    uint64
	Interval time.Duration
	// Sign signs a checkpoint with the current platform signing key.
	Sign func(c *Checkpoint) error
	// Commit commits a signed checkpoint through Raft.
	Commit func(ctx context.Context, c *Checkpoint) error
	// Event records a system event in the chain (failures).
	Event  func(name string, detail map[string]string)
	Logger *slog.Logger
}

// Checkpointer commits the node's signed checkpoints.
type Checkpointer struct {
	cfg CheckpointerConfig
}

// NewCheckpointer returns a Checkpointer; Run starts it.
func NewCheckpointer(cfg CheckpointerConfig) *Checkpointer {
	if cfg.Every == 0 {
		cfg.Every = 1000
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Checkpointer{cfg: cfg}
}

// Run makes checkpoints until ctx ends, and a last one then.
func (k *Checkpointer) Run(ctx context.Context) {
	var last uint64
	lastAt := time.Now()
	failing := false
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		stop := false
		select {
		case <-ctx.Done():
			stop = true
		case <-t.C:
		}
		seq, head := k.cfg.Store.Head()
		due := seq > last && (seq-last >= k.cfg.Every || time.Since(lastAt) >= k.cfg.Interval || stop)
		if due {
			c := &Checkpoint{Node: k.cfg.Node, Seq: seq, Head: head, TimeMs: time.Now().UnixMilli()}
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			err := k.cfg.Sign(c)
			if err == nil {
				err = k.cfg.Commit(cctx, c)
			}
			cancel()
			switch {
			case err == nil:
				last, lastAt = seq, time.Now()
				if failing {
					k.cfg.Logger.Info("audit checkpoints committed again", "seq", seq)
				}
				failing = false
			case !failing:
				failing = true
				k.cfg.Logger.Error("audit checkpoint not committed", "seq", seq, "err", err)
				if k.cfg.Event != nil {
					k.cfg.Event("audit.checkpoint_failed", map[string]string{"seq": fmt.Sprint(seq), "error": errorClass(err)})
				}
			}
		}
		if stop {
			return
		}
	}
}

// errorClass is a short, secret-free name of what went wrong.
func errorClass(err error) string {
	var ce *platform.CommandError
	if errors.As(err, &ce) {
		return ce.Code
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	return "unavailable"
}

// ChangeFeedConfig configures a ChangeFeed.
type ChangeFeedConfig struct {
	Store *Store
	Node  string
	// Changes returns the change records after a log index, in order.
	Changes func(after int64, limit int) ([]platform.Change, error)
	// Role returns an actor's role now (admin users), or "".
	Role func(kind, id string) string
	// Keys keys the hashes of customers' ids: a customer who acted (a
	// consent) is recorded by the keyed hash of the id, never in clear.
	Keys *Keys
	// Poll is how often new changes are looked for (default 200 ms).
	Poll   time.Duration
	Logger *slog.Logger
}

// ChangeFeed appends an admin record to the node's chain for every applied
// change of the replicated state, in log order: the change log is part of
// every node's chain, not a second truth. Where it resumes is read from the
// chain itself, so a crash neither loses nor repeats a change.
type ChangeFeed struct {
	cfg ChangeFeedConfig
}

// NewChangeFeed returns a ChangeFeed; Run starts it.
func NewChangeFeed(cfg ChangeFeedConfig) *ChangeFeed {
	if cfg.Poll <= 0 {
		cfg.Poll = 200 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &ChangeFeed{cfg: cfg}
}

// Run follows the change log until ctx ends.
func (f *ChangeFeed) Run(ctx context.Context) {
	after, err := f.cfg.Store.lastChangeIndex()
	if err != nil {
		f.cfg.Logger.Error("audit change feed cannot start", "err", err)
		return
	}
	t := time.NewTicker(f.cfg.Poll)
	defer t.Stop()
	for {
		for {
			changes, err := f.cfg.Changes(int64(after), 500)
			if err != nil {
				if !errors.Is(err, platform.ErrClosed) {
					f.cfg.Logger.Warn("audit change feed", "err", err)
				}
				break
			}
			for _, ch := range changes {
				if ch.Type == platform.CmdAuditCheckpoint {
					// Checkpoints are the chains' anchors themselves; chaining
					// them would make every checkpoint call for another.
					after = uint64(ch.Index)
					continue
				}
				rec, err := f.record(ch)
				if err == nil {
					err = f.cfg.Store.Append(rec)
				}
				if err != nil {
					// Retried at the next poll, from the same change.
					f.cfg.Logger.Warn("audit change feed", "err", err)
					changes = nil
					break
				}
				after = uint64(ch.Index)
			}
			if len(changes) < 500 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (f *ChangeFeed) record(ch platform.Change) (*Record, error) {
	result := "ok"
	if !ch.OK {
		result = ch.ErrorCode
	}
	a := &Actor{Kind: ch.ActorKind, ID: ch.ActorID, Addr: ch.ActorAddr, Node: ch.Node}
	if ch.ActorKind == platform.ActorCustomer {
		if f.cfg.Keys == nil {
			return nil, ErrNoAuditKey
		}
		h, err := f.cfg.Keys.Hash(ch.ActorID)
		if err != nil {
			return nil, err
		}
		a.ID = h
	}
	if f.cfg.Role != nil {
		a.Role = f.cfg.Role(ch.ActorKind, ch.ActorID)
	}
	return &Record{Kind: KindAdmin, Node: f.cfg.Node, TimeMs: ch.At.UnixMilli(), ChangeIndex: uint64(ch.Index), CommandID: ch.CommandID,
		Action: ch.Type, Actor: a, Target: ch.Target, Result: result, Digest: ch.Digest, Summary: ch.Summary}, nil
}

// lastChangeIndex returns the change index of the chain's last admin record,
// also among records still waiting to be written.
func (s *Store) lastChangeIndex() (uint64, error) {
	if s.db == nil {
		return 0, s.Ready()
	}
	return lastChangeIndexTx(s.db)
}

// Event appends a system event to the chain, durable within the window.
func (s *Store) Event(name string, detail map[string]string) error {
	return s.Append(&Record{Kind: KindSystem, Node: s.cfg.Node, TimeMs: time.Now().UnixMilli(), Event: name, Detail: detail})
}
