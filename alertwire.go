package main

import (
	"context"
	"time"

	"lijiang/alert"
	"lijiang/gateway"
	"lijiang/platform"
)

// startAlerts wires the alert engine (issue 12) to this node's sources and
// runs it until the returned stop is called. Cluster-wide rules run on the
// leader only, local ones (audit store) on every node; see package alert.
//
// Sources not wired yet report "no data" (their rules neither raise nor
// resolve): the series (success rate, p99) until the series store lands.
func startAlerts(n *node) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	exec := n.cluster.Node
	log := n.log.With("component", "alert")
	go func() {
		// The defaults once per cluster; every node may propose them.
		for ctx.Err() == nil {
			c, cc := context.WithTimeout(ctx, 10*time.Second)
			err := alert.EnsureDefaults(c, exec, n.nodeID, time.Now())
			cc()
			if err == nil {
				return
			}
			log.Debug("alert defaults not yet committed", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Second):
			}
		}
	}()
	sink := &alert.ReplicatedSink{Exec: exec, Node: n.nodeID, Notify: n.portal.DeliverAlert}
	srcs := alert.Sources{
		IsLeader:     n.cluster.Node.IsLeader,
		OpenBreakers: n.gateway.OpenBreakers,
		Members: func(ctx context.Context) ([]alert.Member, error) {
			c, cancel := context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			st, err := n.cluster.Status(c)
			if err != nil {
				return nil, err
			}
			out := make([]alert.Member, 0, len(st.Members))
			for _, m := range st.Members {
				out = append(out, alert.Member{ID: m.ID, Reachable: m.Reachable, Lag: m.Lag})
			}
			return out, nil
		},
		Expiries: func() []alert.Expiry {
			reg := n.store.Registry()
			if reg == nil {
				return nil
			}
			var out []alert.Expiry
			for _, k := range reg.PlatformKeys {
				if k.Status != platform.KeyRetired {
					out = append(out, alert.Expiry{What: "platform_key", ID: k.Serial, Expires: k.NotAfter})
				}
			}
			return out
		},
	}
	if n.audit != nil && n.audit.store != nil {
		srcs.AuditHealth = n.audit.store.Ready
	}
	eng := alert.New(alert.Config{Node: n.nodeID, Rules: alert.StoreRules(n.store), Sources: srcs, Sink: sink, Log: log})
	n.gateway.SubscribeLimitDecisions(func(d gateway.LimitDecision) {
		eng.Record(alert.KindLimitAction, d.Scope+":"+d.AppID+"/"+d.APIID)
	})
	done := make(chan struct{})
	go func() { defer close(done); eng.Run(ctx) }()
	lockDone := make(chan struct{})
	go func() { defer close(lockDone); feedLockouts(ctx, n, eng) }()
	return func() { cancel(); <-done; <-lockDone }
}

// feedLockouts records each new admin lockout (an admin user whose
// locked_until moved into the future: repeated login failures) as an
// admin_lockout event, on every node (the engine counts them on the leader;
// the registry is replicated, so the leader sees every node's lockouts).
func feedLockouts(ctx context.Context, n *node, eng *alert.Engine) {
	seen := map[string]time.Time{} // admin id → locked until, already recorded
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		reg := n.store.Registry()
		if reg == nil || reg.Auth == nil {
			continue
		}
		now := time.Now()
		for id, until := range seen {
			if !until.After(now) {
				delete(seen, id)
			}
		}
		for _, a := range reg.Auth.LockedAdmins(now) {
			if seen[a.ID].Equal(a.LockedUntil) {
				continue
			}
			seen[a.ID] = a.LockedUntil
			eng.Record(alert.KindAdminLockout, a.Username)
		}
	}
}
