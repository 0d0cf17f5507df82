package gateway

import (
	"context"
	"encoding/json"
	"math"
	"sync"
	"time"

	"lijiang/platform"
)

// leaser holds this node's slices of the cluster-wide limit budgets (see
// platform/limits_lease.go): a call spends a token the node holds, with no
// round trip to another node. A node asks for more before it runs out (when
// it holds less than half of what it last asked for), and for the next
// window shortly before it begins, so a call waits only when its node holds
// nothing for the key: the first call of a key's window on the node, or a
// refill that came too late; it waits at most leaseWait. All of a node's
// requests travel in one limit.lease command at a time.
type leaser struct {
	exec  func(ctx context.Context, p platform.LimitLease) ([]platform.LeaseGrant, error)
	nodes func() int // nodes in the cluster, for the fallback share
	now   func() time.Time

	mu       sync.Mutex
	buckets  map[bucketID]*bucket
	pending  map[bucketID]*bucket
	inflight bool
	pruned   int64 // Unix ms of the last prune
}

type bucketID struct {
	key    string
	window int64
}

// bucket is this node's share of one key's window.
type bucket struct {
	id        bucketID
	end       int64 // Unix ms
	budget    int64
	tokens    int64 // held here, unspent
	want      int64 // last asked for
	ret       int64 // to give back with the next request
	demand    int64 // calls that wanted a token in this window
	exhausted int64 // Unix ms when the cluster said none remain; 0 if not
	lastSpend int64 // Unix ms
	waiting   int64 // calls waiting for a slice now
	fallback  bool  // the cluster could not lease: a local share was used
	ready     chan struct{}
	timer     *time.Timer
}

const (
	// leaseWait bounds how long a call waits for its node's first slice:
	// a lease is a Raft round, forwarded to the leader from a follower, and
	// under load (a burst of new connections at a window's start) it can
	// take more than a few hundred milliseconds; a call refused only
	// because its node's lease was slow would be refused for nothing.
	leaseWait = time.Second
	// leaseChunk is how much of its observed demand a node asks for at once.
	leaseChunk = 100 // ms
	// idleReturn is how long a node keeps unspent tokens of a minute, day or
	// month window without spending any before it gives them back.
	idleReturn = 1500 * time.Millisecond
	// exhaustedRetry is how often a node asks again for a window the cluster
	// said was used up (others may have given tokens back).
	exhaustedRetry = 500 // ms
)

func newLeaser(exec func(ctx context.Context, p platform.LimitLease) ([]platform.LeaseGrant, error), nodes func() int, now func() time.Time) *leaser {
	return &leaser{exec: exec, nodes: nodes, now: now, buckets: map[bucketID]*bucket{}, pending: map[bucketID]*bucket{}}
}

// take spends one token of key's window [start, end) with budget, waiting
// (until deadline) for a slice only when the node holds none.
func (l *leaser) take(key string, start, end, budget int64, now time.Time, deadline time.Time) bool {
	nowMs := now.UnixMilli()
	l.mu.Lock()
	b := l.bucket(key, start, end, budget, nowMs)
	b.demand++
	l.prefetch(b, nowMs)
	if l.spend(b, nowMs) {
		l.mu.Unlock()
		return true
	}
	if b.exhausted != 0 {
		if nowMs-b.exhausted >= exhaustedRetry {
			b.exhausted = nowMs
			l.enqueue(b, nowMs)
		}
		l.mu.Unlock()
		return false
	}
	// Wait for slices until one covers this call: a burst of calls at a
	// window's start is answered by several leases, the first sized by the
	// demand seen when it was asked for, the next by the demand since.
	b.waiting++
	defer func() {
		l.mu.Lock()
		b.waiting--
		l.mu.Unlock()
	}()
	for {
		l.enqueue(b, l.now().UnixMilli())
		ch := b.ready
		l.mu.Unlock()
		wait := max(time.Until(deadline), time.Millisecond)
		t := time.NewTimer(wait)
		select {
		case <-ch:
		case <-t.C:
		}
		t.Stop()
		l.mu.Lock()
		if l.spend(b, nowMs) {
			l.mu.Unlock()
			return true
		}
		// The cluster has none left, or could not lease (the fallback share
		// is given once per window).
		if b.exhausted != 0 || b.fallback {
			l.mu.Unlock()
			return false
		}
		// The call waited long enough and the cluster has not answered.
		// For a rate (a second's or a minute's window) the cluster is as good
		// as unable to lease (a Raft round slower than leaseWait, an
		// overloaded leader): the node takes its fallback share, as when the
		// lease fails, rather than refuse calls of a budget that may be far
		// from used. A quota (a day's or a month's) is refused: it is
		// contractual, and a share of it taken locally could be spent
		// twice.
		if !time.Now().Before(deadline) {
			if b.end-b.id.window > 60_000 {
				l.mu.Unlock()
				return false
			}
			l.fallBack(b)
			ok := l.spend(b, nowMs)
			l.mu.Unlock()
			return ok
		}
	}
}

// fallBack gives the bucket the node's share of its budget, once per window,
// when the cluster cannot lease. Called with l.mu held.
func (l *leaser) fallBack(b *bucket) {
	b.fallback = true
	b.tokens += max(1, b.budget/max(int64(l.nodes()), 1))
}

// refund gives back a token spent by a call that another limit refused.
func (l *leaser) refund(key string, start int64) {
	l.mu.Lock()
	if b := l.buckets[bucketID{key, start}]; b != nil {
		b.tokens++
	}
	l.mu.Unlock()
}

// spend takes a token if the bucket holds one, and asks for more when it
// runs low. Called with l.mu held.
func (l *leaser) spend(b *bucket, nowMs int64) bool {
	if b.tokens <= 0 {
		return false
	}
	b.tokens--
	b.lastSpend = nowMs
	if b.tokens*2 <= b.want && b.exhausted == 0 && !b.fallback {
		l.enqueue(b, nowMs)
	}
	return true
}

// bucket returns the bucket of key's window, made if needed. Called with
// l.mu held.
func (l *leaser) bucket(key string, start, end, budget, nowMs int64) *bucket {
	id := bucketID{key, start}
	b := l.buckets[id]
	if b == nil {
		if nowMs-l.pruned > 1000 {
			l.prune(nowMs)
		}
		b = &bucket{id: id, end: end, ready: make(chan struct{})}
		l.buckets[id] = b
	}
	b.budget = budget
	return b
}

// prune drops the buckets of ended windows. Called with l.mu held.
func (l *leaser) prune(nowMs int64) {
	l.pruned = nowMs
	for id, b := range l.buckets {
		if b.end <= nowMs {
			delete(l.buckets, id)
			delete(l.pending, id)
			if b.timer != nil {
				b.timer.Stop()
			}
		}
	}
}

// prefetch asks for the next window's slice shortly before it begins, for
// windows of a minute or less. Called with l.mu held.
func (l *leaser) prefetch(b *bucket, nowMs int64) {
	length := b.end - b.id.window
	if length > 60_000 || b.end-nowMs > min(length/5, 1000) {
		return
	}
	next := l.bucket(b.id.key, b.end, b.end+length, b.budget, nowMs)
	if next.want == 0 && next.tokens == 0 && l.pending[next.id] == nil {
		next.demand = 0
		next.want = wantFor(b, nowMs, l.nodes())
		l.pending[next.id] = next
		l.kick()
	}
}

// wantFor is how many tokens to ask for: leaseChunk ms of the demand seen in
// the window so far, at least 2, at least one more than the calls waiting
// now (a burst is more than the window's average foretells), and at least
// a quarter of the node's share of the budget: a budget far above the
// demand is then leased in a few commands a window rather than one every
// leaseChunk (each a Raft round), while no node can hold more than a
// quarter of its share beyond its demand — the state machine grants only
// what remains, so a lease never admits more than the budget.
func wantFor(b *bucket, nowMs int64, nodes int) int64 {
	elapsed := max(nowMs-b.id.window, leaseChunk)
	w := int64(math.Ceil(float64(b.demand)*leaseChunk/float64(elapsed))) + 1
	share := b.budget / int64(4*max(nodes, 1))
	return min(max(w, 2, b.waiting+1, share), b.budget)
}

// enqueue marks the bucket for the next lease command. Called with l.mu
// held.
func (l *leaser) enqueue(b *bucket, nowMs int64) {
	if l.pending[b.id] != nil {
		return
	}
	b.want = wantFor(b, nowMs, l.nodes())
	l.pending[b.id] = b
	l.kick()
}

// kick starts the sender unless it runs. Called with l.mu held.
func (l *leaser) kick() {
	if !l.inflight {
		l.inflight = true
		go l.send()
	}
}

// send proposes limit.lease commands while requests are pending, one at a
// time.
func (l *leaser) send() {
	for {
		l.mu.Lock()
		if len(l.pending) == 0 {
			l.inflight = false
			l.mu.Unlock()
			return
		}
		var p platform.LimitLease
		batch := make([]*bucket, 0, len(l.pending))
		for id, b := range l.pending {
			if len(batch) == platform.MaxLeaseRequests {
				break
			}
			delete(l.pending, id)
			batch = append(batch, b)
			want := b.want
			if b.ret > 0 {
				want = 0
			}
			p.Requests = append(p.Requests, platform.LeaseRequest{Key: b.id.key, Window: b.id.window, End: b.end, Budget: b.budget, Want: want, Return: b.ret})
			b.ret = 0
		}
		l.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		grants, err := l.exec(ctx, p)
		cancel()
		nowMs := l.now().UnixMilli()
		l.mu.Lock()
		if err != nil {
			// The cluster cannot lease (no quorum): each node admits its
			// share of the budget, once per window, until it can again.
			for _, b := range batch {
				if !b.fallback {
					l.fallBack(b)
				}
				close(b.ready)
				b.ready = make(chan struct{})
			}
		} else {
			for i, g := range grants {
				if i >= len(batch) {
					break
				}
				b := batch[i]
				b.tokens += g.Granted
				if g.Remaining == 0 && g.Granted == 0 && p.Requests[i].Want > 0 {
					b.exhausted = nowMs
				} else if g.Granted > 0 {
					b.exhausted = 0
				}
				if g.Granted > 0 && b.end-b.id.window > 60_000 {
					l.scheduleReturn(b)
				}
				close(b.ready)
				b.ready = make(chan struct{})
			}
		}
		l.mu.Unlock()
		if err != nil {
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// scheduleReturn gives the bucket's tokens back once the node has not spent
// any for idleReturn, so that an idle node does not sit on a day's or a
// month's budget. Called with l.mu held.
func (l *leaser) scheduleReturn(b *bucket) {
	if b.timer != nil {
		return
	}
	b.timer = time.AfterFunc(idleReturn, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		b.timer = nil
		nowMs := l.now().UnixMilli()
		if b.tokens <= 0 || b.end <= nowMs || l.buckets[b.id] != b {
			return
		}
		if nowMs-b.lastSpend < idleReturn.Milliseconds() {
			l.scheduleReturn(b)
			return
		}
		b.ret += b.tokens
		b.tokens = 0
		l.pending[b.id] = b
		l.kick()
	})
}

// leaseExec proposes a limit.lease command for the gateway.
func (g *Gateway) leaseExec(ctx context.Context, p platform.LimitLease) ([]platform.LeaseGrant, error) {
	if g.cfg.Exec == nil {
		// No cluster (a gateway on its own, in tests): this node holds the
		// whole budget.
		return g.lim.local.lease(p, g.cfg.Now().UnixMilli()), nil
	}
	actor := platform.Actor{Kind: platform.ActorSystem, ID: "limits", Node: g.cfg.NodeID}
	cmd, err := platform.NewCommand(platform.CmdLimitLease, 1, "", actor, g.cfg.Now(), p)
	if err != nil {
		return nil, err
	}
	res, err := g.cfg.Exec.Execute(ctx, cmd)
	if err != nil {
		return nil, err
	}
	var out []platform.LeaseGrant
	if err := json.Unmarshal(res.Value, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// localLeases is the state machine's lease rule for a gateway without a
// cluster.
type localLeases struct {
	mu      sync.Mutex
	granted map[bucketID]int64
}

func (s *localLeases) lease(p platform.LimitLease, nowMs int64) []platform.LeaseGrant {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.granted == nil {
		s.granted = map[bucketID]int64{}
	}
	for id := range s.granted {
		if id.window+32*86400*1000 < nowMs {
			delete(s.granted, id)
		}
	}
	out := make([]platform.LeaseGrant, len(p.Requests))
	for i, r := range p.Requests {
		id := bucketID{r.Key, r.Window}
		g := s.granted[id] - min(r.Return, s.granted[id])
		rem := max(r.Budget-g, 0)
		give := min(r.Want, (rem+1)/2)
		s.granted[id] = g + give
		out[i] = platform.LeaseGrant{Key: r.Key, Window: r.Window, Granted: give, Remaining: rem - give}
	}
	return out
}

// returnAll gives back every unspent token this node holds of windows not
// yet ended, in one command: a node that stops would otherwise keep them
// until their windows end, and a day's or a month's budget would shrink by
// a quarter of the node's share at every restart. Calls taking tokens after
// it are left to the windows' ends (a node returns only when its listeners
// are drained).
func (l *leaser) returnAll(ctx context.Context) (int64, error) {
	nowMs := l.now().UnixMilli()
	var p platform.LimitLease
	var total int64
	l.mu.Lock()
	for _, b := range l.buckets {
		held := b.tokens + b.ret // b.ret: what an idle bucket is about to give back
		if held <= 0 || b.end <= nowMs || len(p.Requests) == platform.MaxLeaseRequests {
			continue
		}
		p.Requests = append(p.Requests, platform.LeaseRequest{Key: b.id.key, Window: b.id.window, End: b.end, Budget: b.budget, Return: held})
		total += held
		b.tokens, b.ret = 0, 0
	}
	l.mu.Unlock()
	if len(p.Requests) == 0 {
		return 0, nil
	}
	if _, err := l.exec(ctx, p); err != nil {
		return 0, err
	}
	return total, nil
}

// ReturnLeases gives back the unspent tokens of the cluster-wide limits this
// node holds, for a node that stops: it reports how many.
func (g *Gateway) ReturnLeases(ctx context.Context) (int64, error) {
	return g.lim.lease.returnAll(ctx)
}
