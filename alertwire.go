package main

import (
	"context"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"lijiang/alert"
	"lijiang/gateway"
	"lijiang/ops"
	"lijiang/platform"
)

// startAlerts wires the alert engine (issue 12) to this node's sources and
// runs it until the returned stop is called. Cluster-wide rules run on the
// leader only, local ones (audit store) on every node; see package alert.
//
// The success rate and p99 rules read every member's per-API summaries
// (clusterSeries); the counted kinds the gateway's limit decisions and
// security events; the expiry rule the platform keys and the app
// credentials (secrets, SM2 keys, client certificates).
func startAlerts(n *node) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	// The forwarder: a follower's local alerts (its breakers, audit store,
	// gateway events) reach the leader.
	exec := n.cluster.Forwarder
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
		Expiries: func(within time.Duration) []alert.Expiry { return expiries(n, log, within) },
		Series:   &clusterSeries{n: n, log: log},
	}
	if n.audit != nil && n.audit.store != nil {
		srcs.AuditHealth = n.audit.store.Ready
	}
	eng := alert.New(alert.Config{Node: n.nodeID, Rules: alert.StoreRules(n.store), Sources: srcs, Sink: sink, Log: log})
	n.gateway.SubscribeLimitDecisions(func(d gateway.LimitDecision) {
		eng.Record(alert.KindLimitAction, d.Scope+":"+d.AppID+"/"+d.APIID)
	})
	kinds := map[string]alert.Kind{gateway.EventSignatureFailure: alert.KindSignatureFail,
		gateway.EventAttackDeny: alert.KindAttackDeny, gateway.EventRiskDecision: alert.KindRiskDecision}
	n.gateway.SubscribeSecurityEvents(func(ev gateway.SecurityEvent) {
		if k, ok := kinds[ev.Kind]; ok {
			eng.Record(k, ev.Subject)
		}
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

// expiries lists the platform keys not retired and the active credentials
// of active apps (client certificates named as such) that expire within.
func expiries(n *node, log *slog.Logger, within time.Duration) []alert.Expiry {
	var out []alert.Expiry
	if reg := n.store.Registry(); reg != nil {
		for _, k := range reg.PlatformKeys {
			if k.Status != platform.KeyRetired {
				out = append(out, alert.Expiry{What: "platform_key", ID: k.Serial, Expires: k.NotAfter})
			}
		}
	}
	creds, err := n.store.ExpiringCredentials(time.Now(), within)
	if err != nil {
		log.Warn("alert: reading expiring credentials", "err", err)
		return out
	}
	for _, c := range creds {
		what := "credential"
		if c.Kind == platform.CredentialClientCert {
			what = "client_certificate"
		}
		out = append(out, alert.Expiry{What: what, ID: c.AppID + "/" + c.Serial, Expires: c.NotAfter})
	}
	return out
}

// clusterSeries answers the success rate and p99 rules for the cluster:
// this node's per-API summaries over the rule's window plus every other
// member's (SeriesWindowPath), fetched once per window and evaluation round
// (seriesCacheFor). A member that does not answer is left out of the sums
// (its absence is the node-unreachable rule's).
type clusterSeries struct {
	n   *node
	log *slog.Logger

	mu    sync.Mutex
	cache map[time.Duration]seriesWindow
}

type seriesWindow struct {
	at   time.Time
	sums map[string]ops.Summary
}

// seriesCacheFor is shorter than the engine's round (5 s), so each round
// reads fresh sums once per window.
const seriesCacheFor = 4 * time.Second

var _ alert.Series = (*clusterSeries)(nil)

// APIs lists the catalogue's APIs; those without calls in a window have no
// data (their rules neither raise nor resolve).
func (s *clusterSeries) APIs() []string {
	reg := s.n.store.Registry()
	if reg == nil || reg.Catalogue == nil {
		return nil
	}
	apis := reg.Catalogue.APIs()
	out := make([]string, 0, len(apis))
	for _, a := range apis {
		out = append(out, a.ID)
	}
	return out
}

func (s *clusterSeries) SuccessRate(api string, w time.Duration) (float64, int64, bool) {
	sum, ok := s.window(w)[api]
	if !ok || sum.Count == 0 {
		return 0, 0, false
	}
	return sum.SuccessRate(), int64(sum.Count), true
}

func (s *clusterSeries) P99(api string, w time.Duration) (time.Duration, bool) {
	sum, ok := s.window(w)[api]
	if !ok || sum.Count == 0 {
		return 0, false
	}
	return sum.P99(), true
}

// window returns the cluster's per-API summaries over w.
func (s *clusterSeries) window(w time.Duration) map[string]ops.Summary {
	w = min(w, ops.MaxWindow)
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.cache[w]; ok && time.Since(c.at) < seriesCacheFor {
		return c.sums
	}
	sums := s.gather(w)
	if s.cache == nil {
		s.cache = map[time.Duration]seriesWindow{}
	}
	s.cache[w] = seriesWindow{at: time.Now(), sums: sums}
	return sums
}

// gather adds every other member's summaries over w to this node's.
func (s *clusterSeries) gather(w time.Duration) map[string]ops.Summary {
	sums := s.n.ops.series.Window(w)
	var mu sync.Mutex
	err := forEachMember(context.Background(), s.n, func(id string, get memberGetter) {
		var theirs map[string]ops.Summary
		err := get(SeriesWindowPath+"?window="+url.QueryEscape(w.String()), &theirs)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			s.log.Debug("alert: a member's series", "node", id, "err", err)
			return
		}
		for api, x := range theirs {
			sums[api] = sums[api].Add(x)
		}
	})
	if err != nil {
		s.log.Debug("alert: membership", "err", err)
	}
	return sums
}
