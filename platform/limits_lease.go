package platform

import (
	"database/sql"
	"errors"
	"fmt"
)

// Cluster-wide limits (issue 12 part 4): a limit's budget for a window (a
// second, a minute, a day or a month) is held by the state machine, and the
// nodes lease slices of it with limit.lease, a command that batches all of a
// node's requests. A node admits calls only from the tokens it holds, so the
// cluster never admits more than the budget; the state machine grants at
// most half of what remains to one request, so the budget spreads over the
// nodes that ask, and a node gives back what it does not use. Rows of ended
// windows are pruned by every lease command: the state is bounded by the
// limits configured and the windows open now.

// CmdLimitLease leases slices of limit budgets to a node.
const CmdLimitLease = "limit.lease"

// Bounds of a lease command.
const (
	MaxLeaseRequests = 1000
	maxLeaseKey      = 300
	// maxWindowAhead is how far ahead of the command's time a window may
	// start: a node leases the next window before it begins.
	maxWindowAhead = 2000
)

// LeaseRequest asks for tokens of one key's window, or returns some.
type LeaseRequest struct {
	Key    string `json:"key"`
	Window int64  `json:"window_ms"` // the window's start, Unix ms
	End    int64  `json:"end_ms"`    // its end, Unix ms
	Budget int64  `json:"budget"`    // the limit: calls in the window, cluster-wide
	Want   int64  `json:"want"`      // tokens wanted
	Return int64  `json:"return,omitempty"`
}

// LimitLease is the payload of CmdLimitLease (version 1).
type LimitLease struct {
	Requests []LeaseRequest `json:"requests"`
}

// Validate checks the payload's fields.
func (p *LimitLease) Validate() error {
	if len(p.Requests) == 0 || len(p.Requests) > MaxLeaseRequests {
		return Invalid("requests", fmt.Sprintf("must have 1 to %d requests", MaxLeaseRequests))
	}
	for i, r := range p.Requests {
		f := fmt.Sprintf("requests[%d]", i)
		if r.Key == "" || len(r.Key) > maxLeaseKey {
			return Invalid(f+".key", "must be 1-300 bytes")
		}
		if r.Window <= 0 || r.End <= r.Window || r.End-r.Window > 32*86400*1000 {
			return Invalid(f+".end_ms", "must be a window of at most 32 days")
		}
		if r.Budget < 1 || r.Budget > maxLimit || r.Want < 0 || r.Want > maxLimit || r.Return < 0 || r.Return > maxLimit {
			return Invalid(f, "budget, want and return must be within the limits")
		}
	}
	return nil
}

// LeaseGrant answers one LeaseRequest: the tokens granted and what remains
// of the window's budget after them.
type LeaseGrant struct {
	Key       string `json:"key"`
	Window    int64  `json:"window_ms"`
	Granted   int64  `json:"granted"`
	Remaining int64  `json:"remaining"`
}

// limit.lease is applied without a change record (HandleUnrecorded): it is
// the nodes' own bookkeeping, many a second under load, and would drown the
// change log (and every node's audit chain, which records it) in entries
// no one made. A retried lease command is therefore applied again rather
// than answered from its record; its second grant is held by no node, so
// the window admits less, never more.
func init() {
	HandleUnrecorded(CmdLimitLease, 1, 0, applyLimitLease)
}

func applyLimitLease(tx *Tx, c *Command, p *LimitLease) (any, error) {
	if c.Actor.Kind != ActorSystem {
		return nil, Denied("only nodes lease limit budgets")
	}
	if _, err := tx.Exec("DELETE FROM limit_leases WHERE end_ms <= ?", c.At); err != nil {
		return nil, err
	}
	out := make([]LeaseGrant, 0, len(p.Requests))
	for _, r := range p.Requests {
		g := LeaseGrant{Key: r.Key, Window: r.Window}
		if r.End <= c.At || r.Window > c.At+maxWindowAhead {
			// An ended window, or one too far ahead: nothing to lease.
			out = append(out, g)
			continue
		}
		var granted int64
		switch err := tx.QueryRow("SELECT granted FROM limit_leases WHERE key = ? AND window_ms = ?", r.Key, r.Window).Scan(&granted); {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, err
		}
		granted -= min(r.Return, granted)
		remaining := max(r.Budget-granted, 0)
		give := min(r.Want, (remaining+1)/2)
		granted += give
		g.Granted, g.Remaining = give, remaining-give
		if _, err := tx.Exec(`INSERT INTO limit_leases (key, window_ms, end_ms, budget, granted) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (key, window_ms) DO UPDATE SET budget = excluded.budget, granted = excluded.granted`,
			r.Key, r.Window, r.End, r.Budget, granted); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}
