package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"lijiang/gateway"
	"lijiang/ops"
	"lijiang/platform"
	"lijiang/portal"
	"lijiang/raftstore"
)

// Metrics wiring (issue 12): the ops package's registry and series store,
// told of calls by the gateway's Observer, reading Raft, the audit store and
// the breakers at each scrape; /metrics on the admin port (portal checks the
// session or scrape token); the series API's cluster scope gathers every
// member's raw series over the cluster's mTLS (SeriesPath), as cluster
// status does.

// SeriesPath is the node-to-node route of a node's raw series (admin port,
// a cluster node certificate only).
const SeriesPath = "/cluster/v1/series"

// SeriesWindowPath is the node-to-node route of a node's per-API summaries
// over a window (?window=5m), for the leader's success rate and p99 alerts.
const SeriesWindowPath = "/cluster/v1/series/window"

// seriesMemberTimeout bounds one member's answer to the cluster series.
const seriesMemberTimeout = 2 * time.Second

// nodeOps is a node's metrics and series store.
type nodeOps struct {
	metrics *ops.Metrics
	series  *ops.Series
}

// newNodeOps makes the node's metrics; the sources are read through n at
// each scrape, so they may be set up after.
func newNodeOps(n *node) *nodeOps {
	series := ops.NewSeries(ops.SeriesConfig{})
	m := ops.NewMetrics(ops.MetricsConfig{Node: n.nodeID, Series: series, Sources: ops.Sources{
		Raft: func(ctx context.Context) (ops.RaftState, error) { return raftState(ctx, n) },
		Audit: func() ops.AuditState {
			if n.audit == nil || n.audit.store == nil {
				return ops.AuditState{}
			}
			s := n.audit.store
			head, _ := s.Head()
			return ops.AuditState{Ready: s.Ready() == nil, Waiting: s.Waiting(), Journaled: s.Journaled(), HeadSeq: head, LastCommit: s.LastCommit(), Lost: s.Lost()}
		},
		Breakers: func() []ops.Breaker {
			if n.gateway == nil {
				return nil
			}
			var out []ops.Breaker
			for _, b := range n.gateway.Breakers() {
				out = append(out, ops.Breaker(b))
			}
			return out
		},
	}})
	return &nodeOps{metrics: m, series: series}
}

// raftState reads this node's Raft and, on the leader, every member's lag.
func raftState(ctx context.Context, n *node) (ops.RaftState, error) {
	st, err := n.cluster.Node.Status()
	if err != nil {
		return ops.RaftState{}, err
	}
	rs := ops.RaftState{State: st.State, Term: st.Term, CommitIndex: st.CommitIndex, AppliedIndex: st.AppliedIndex,
		LastLogIndex: st.LastLogIndex, LastContact: st.LastContact}
	if st.State != "Leader" || len(st.Members) < 2 {
		return rs, nil
	}
	cs, err := n.cluster.Status(ctx)
	if err != nil {
		return rs, nil
	}
	for _, m := range cs.Members {
		if m.ID == st.ID {
			continue
		}
		rs.Followers = append(rs.Followers, ops.FollowerState{ID: m.ID, Reachable: m.Reachable, Lag: m.Lag})
	}
	return rs, nil
}

// gatewayObserver hands the gateway's calls to the metrics.
type gatewayObserver struct{ m *ops.Metrics }

var _ gateway.Observer = gatewayObserver{}

func (o gatewayObserver) ObserveCall(c gateway.Call) { o.m.ObserveCall(ops.Call(c)) }

// seriesSource answers the admin API's series route.
type seriesSource struct{ n *node }

var _ portal.SeriesSource = seriesSource{}

// Series is this node's series, or with scope cluster every member's added
// step by step (percentiles from the merged histograms).
func (s seriesSource) Series(ctx context.Context, q portal.SeriesQuery) (portal.SeriesAnswer, error) {
	n := s.n
	raw, err := n.ops.series.Snapshot(q.Range, q.API, q.App)
	if err != nil {
		return portal.SeriesAnswer{}, err
	}
	ans := portal.SeriesAnswer{Metric: q.Metric, Scope: q.Scope, Range: q.Range, API: q.API, App: q.App,
		Nodes: []string{n.nodeID}, Unreachable: []portal.SeriesNodeError{}}
	if q.Scope == "cluster" {
		raw, ans.Nodes, ans.Unreachable = gatherSeries(ctx, n, raw, q)
	}
	pts, err := ops.Values(raw, q.Metric)
	if err != nil {
		return portal.SeriesAnswer{}, err
	}
	ans.Step = raw.Step
	ans.Points = make([]portal.SeriesPoint, len(pts))
	for i, p := range pts {
		ans.Points[i] = portal.SeriesPoint(p)
	}
	return ans, nil
}

// gatherSeries asks every other member of the configuration for its raw
// series (concurrently, each within seriesMemberTimeout) and merges them
// into local's.
func gatherSeries(ctx context.Context, n *node, local ops.Raw, q portal.SeriesQuery) (ops.Raw, []string, []portal.SeriesNodeError) {
	nodes := []string{n.nodeID}
	unreachable := []portal.SeriesNodeError{}
	var mu sync.Mutex
	err := forEachMember(ctx, n, func(id string, get memberGetter) {
		r, err := fetchSeries(get, q)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			unreachable = append(unreachable, portal.SeriesNodeError{Node: id, Error: err.Error()})
			return
		}
		local = ops.Merge(local, r)
		nodes = append(nodes, id)
	})
	if err != nil {
		return local, nodes, append(unreachable, portal.SeriesNodeError{Node: n.nodeID, Error: "membership: " + err.Error()})
	}
	sort.Strings(nodes)
	sort.Slice(unreachable, func(i, j int) bool { return unreachable[i].Node < unreachable[j].Node })
	return local, nodes, unreachable
}

// memberGetter GETs pathQuery from one member and decodes its JSON answer
// into v.
type memberGetter func(pathQuery string, v any) error

// forEachMember calls f for every other member of the configuration,
// concurrently, with a getter of that member's admin port over the
// cluster's mTLS (each answer within seriesMemberTimeout); it returns when
// every f has. f merges its result under its own lock.
func forEachMember(ctx context.Context, n *node, f func(id string, get memberGetter)) error {
	members, err := n.cluster.Node.Members()
	if err != nil {
		return err
	}
	nodes := n.store.Registry().Cluster.NodeList()
	client := &http.Client{Timeout: seriesMemberTimeout, Transport: &http.Transport{TLSClientConfig: n.cluster.TLS.HTTPClientTLS()}}
	defer client.CloseIdleConnections()
	var wg sync.WaitGroup
	for _, m := range members {
		if m.ID == n.nodeID {
			continue
		}
		wg.Go(func() {
			f(m.ID, func(pathQuery string, v any) error { return memberGet(ctx, client, nodes, m.ID, pathQuery, v) })
		})
	}
	wg.Wait()
	return nil
}

// fetchSeries asks a member for its raw series.
func fetchSeries(get memberGetter, q portal.SeriesQuery) (ops.Raw, error) {
	v := url.Values{"range": {q.Range}}
	if q.API != "" {
		v.Set("api", q.API)
	}
	if q.App != "" {
		v.Set("app", q.App)
	}
	var r ops.Raw
	if err := get(SeriesPath+"?"+v.Encode(), &r); err != nil {
		return ops.Raw{}, err
	}
	if len(r.OK) != len(r.Count) || len(r.Hist) != len(r.Count) || r.Step <= 0 {
		return ops.Raw{}, fmt.Errorf("its series is malformed")
	}
	return r, nil
}

// memberGet GETs pathQuery from member id's registered admin address over
// client and decodes its JSON answer into v.
func memberGet(ctx context.Context, client *http.Client, nodes []platform.ClusterNode, id, pathQuery string, v any) error {
	addr := ""
	for _, r := range nodes {
		if r.ID == id {
			addr = r.AdminAddr
		}
	}
	if addr == "" {
		return fmt.Errorf("no registered admin address")
	}
	ctx, cancel := context.WithTimeout(ctx, seriesMemberTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+pathQuery, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err
		}
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("answered %d", resp.StatusCode)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("its answer: %w", err)
	}
	return nil
}

// seriesHandler serves SeriesPath: this node's raw series, to another
// member (a verified cluster node certificate) only.
func seriesHandler(n *node) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, ok := raftstore.PeerNodeID(c.Request()); !ok {
			return c.JSON(http.StatusForbidden, map[string]string{"error": "a cluster node certificate is required"})
		}
		q := c.QueryParams()
		raw, err := n.ops.series.Snapshot(q.Get("range"), q.Get("api"), q.Get("app"))
		if err != nil {
			return c.JSON(http.StatusBadRequest, map[string]string{"error": err.Error()})
		}
		return c.JSON(http.StatusOK, raw)
	}
}

// seriesWindowHandler serves SeriesWindowPath: this node's per-API
// summaries over ?window= (a Go duration, at most ops.MaxWindow), to another
// member only.
func seriesWindowHandler(n *node) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, ok := raftstore.PeerNodeID(c.Request()); !ok {
			return c.JSON(http.StatusForbidden, map[string]string{"error": "a cluster node certificate is required"})
		}
		w, err := time.ParseDuration(c.QueryParam("window"))
		if err != nil || w <= 0 || w > ops.MaxWindow {
			return c.JSON(http.StatusBadRequest, map[string]string{"error": "window must be a duration from 1s to 24h"})
		}
		return c.JSON(http.StatusOK, n.ops.series.Window(w))
	}
}
