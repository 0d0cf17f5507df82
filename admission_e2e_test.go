package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"lijiang/gateway/client"
	"lijiang/platform"
	"lijiang/platform/sandbox"
)

// recorder keeps the last request a client sent, body included, so that it
// can be sent again byte for byte.
type recorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	last *http.Request
	body []byte
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	r.mu.Lock()
	r.last, r.body = req.Clone(context.Background()), body
	r.mu.Unlock()
	return r.base.RoundTrip(req)
}

// nodeClient is the demo sandbox app's SDK client aimed at one node of a
// cluster (its API port and its own TLS certificate).
func nodeClient(t testing.TB, profile string, m *clusterMember) (*client.Client, *recorder, *http.Client) {
	t.Helper()
	cfg := nodeConfig(t, profile, m)
	rec := &recorder{base: cfg.HTTPClient.Transport}
	hc := cfg.HTTPClient
	cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second, Transport: rec}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, rec, hc
}

// nodeConfig is the client configuration of the app whose profile is at
// profile, calling node m and trusting its certificate.
func nodeConfig(t testing.TB, profile string, m *clusterMember) client.Config {
	t.Helper()
	prof, err := client.LoadProfile(profile, client.Profile{})
	if err != nil {
		t.Fatal(err)
	}
	prof.BaseURL = "https://127.0.0.1:" + m.apiPort
	prof.CAFile = filepath.Join(m.dir, platform.TLSDir, "server.crt")
	cfg, err := client.ProfileConfig(prof, false)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startDemoCluster starts three nodes, the first in demo mode (the demo
// applicant, its sandbox app and the test customers are replicated).
func startDemoCluster(t testing.TB) (nodes []*clusterMember, kek string) {
	t.Helper()
	tmp := t.TempDir()
	kek = writeKEK(t, tmp)
	for i := 0; i < 3; i++ {
		api := freePortOn(t, "127.0.0.1")
		m := &clusterMember{id: fmt.Sprintf("n%d", i+1), dir: filepath.Join(tmp, fmt.Sprintf("d%d", i+1)), apiPort: api[strings.LastIndex(api, ":")+1:]}
		m.args = []string{"--data-dir", m.dir, "--node-id", m.id, "--kek-file", kek, "--raft-addr", freePortOn(t, "127.0.0.1"),
			"--api-addr", api, "--admin-addr", freePortOn(t, "127.0.0.1")}
		nodes = append(nodes, m)
	}
	nodes[0].args = append(nodes[0].args, "--demo")
	nodes[0].p = startServe(t, nil, nodes[0].args...)
	joinAddr, token := joinInfo(t, nodes[0].p, nodes[0].dir, kek)
	for _, m := range nodes[1:] {
		m.args = append(m.args, "--join", joinAddr, "--join-token", token)
		m.p = startServe(t, nil, m.args...)
	}
	eventuallyT(t, 15*time.Second, "3 voters", func() bool { return voters(clusterStatus(t, nodes[0].dir, kek)) == 3 })
	return nodes, kek
}

// TestA2AdmissionsAcrossNodes: a signed A2 call answered by one node of a
// three-node cluster and replayed byte for byte to the others gets 401
// NONCE_REPLAYED on each; then the leader is killed under A2 load on all
// nodes, and every A2 call that got a 2xx has its admission on both
// survivors.
func TestA2AdmissionsAcrossNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three processes")
	}
	nodes, kek := startDemoCluster(t)
	profile := nodes[0].p.ready.DemoSeed.SandboxProfile
	path := "/v1/accounts/" + nodes[0].p.ready.DemoSeed.Account + "/balance"

	c1, rec1, _ := nodeClient(t, profile, nodes[0])
	cust, err := demoCustomer("zhangsan")
	must(t, err)
	prof, err := client.LoadProfile(profile, client.Profile{})
	must(t, err)
	tok, err := c1.ConsentAs(context.Background(), cust, sandbox.ScopeAccountsRead, prof.RedirectURI, nil)
	must(t, err)

	t.Run("replayed to the other nodes", func(t *testing.T) {
		resp, err := c1.Do(context.Background(), &client.Request{Method: "GET", Path: path, UserToken: tok.UserToken})
		if err != nil || resp.Status != 200 {
			t.Fatalf("A2 call on n1: %v", err)
		}
		rec1.mu.Lock()
		orig, body := rec1.last, rec1.body
		rec1.mu.Unlock()
		for _, m := range nodes[1:] {
			_, _, hc := nodeClient(t, profile, m)
			req, err := http.NewRequest(orig.Method, "https://127.0.0.1:"+m.apiPort+orig.URL.RequestURI(), bytes.NewReader(body))
			must(t, err)
			req.Header = orig.Header.Clone()
			r, err := hc.Do(req)
			must(t, err)
			raw, _ := io.ReadAll(r.Body)
			r.Body.Close()
			var e struct{ Code string }
			json.Unmarshal(raw, &e)
			if r.StatusCode != 401 || e.Code != "NONCE_REPLAYED" {
				t.Fatalf("the same bytes on %s: %d %s", m.id, r.StatusCode, raw)
			}
		}
	})

	t.Run("leader killed under A2 load", func(t *testing.T) {
		var mu sync.Mutex
		var acked []string
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for _, m := range nodes {
			c, _, _ := nodeClient(t, profile, m)
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
						resp, err := c.Do(ctx, &client.Request{Method: "GET", Path: path, UserToken: tok.UserToken})
						cancel()
						if err == nil && resp.Status/100 == 2 {
							mu.Lock()
							acked = append(acked, resp.Header.Get(client.HeaderRequestID))
							mu.Unlock()
						} else if err != nil {
							time.Sleep(20 * time.Millisecond)
						}
					}
				}()
			}
		}
		time.Sleep(1500 * time.Millisecond)
		leader := clusterLeader(t, nodes, nodes[1], kek)
		leader.p.kill()
		time.Sleep(2500 * time.Millisecond)
		close(stop)
		wg.Wait()
		if len(acked) < 20 {
			t.Fatalf("only %d A2 calls answered 2xx", len(acked))
		}
		var survivors []*clusterMember
		for _, m := range nodes {
			if m != leader {
				survivors = append(survivors, m)
			}
		}
		for _, m := range survivors {
			var missing []string
			eventuallyT(t, 10*time.Second, "every acknowledged A2 call admitted on "+m.id, func() bool {
				admitted, err := platform.ReadAdmittedRequests(filepath.Join(m.dir, platform.StateFile))
				if err != nil {
					return false
				}
				missing = slices.DeleteFunc(slices.Clone(acked), func(id string) bool { return admitted[id] })
				return len(missing) == 0
			})
		}
		t.Logf("%d A2 calls acknowledged across the leader's kill, each admitted on both survivors", len(acked))
	})
}

// BenchmarkA2Nodes measures A2 balance queries through the SDK (TLS, SM2,
// encrypted answers) from 32 concurrent callers against one demo node and
// against a three-node cluster (calls spread over the nodes; every call's
// admission committed through Raft). The callers' own crypto runs on the
// same machine: compare the two, not the absolute figures (docs/audit.md).
func BenchmarkA2Nodes(b *testing.B) {
	for _, n := range []int{1, 3} {
		b.Run(fmt.Sprintf("%dnode", n), func(b *testing.B) {
			bt := b
			var nodes []*clusterMember
			if n == 1 {
				dir := filepath.Join(b.TempDir(), "d1")
				api := freePortOn(bt, "127.0.0.1")
				m := &clusterMember{id: "n1", dir: dir, apiPort: api[strings.LastIndex(api, ":")+1:]}
				m.p = startServe(bt, []string{envKEK + "="}, "--demo", "--data-dir", dir, "--api-addr", api, "--admin-addr", "127.0.0.1:0", "--raft-addr", freePort(bt))
				nodes = []*clusterMember{m}
			} else {
				nodes, _ = startDemoCluster(bt)
			}
			profile := nodes[0].p.ready.DemoSeed.SandboxProfile
			path := "/v1/accounts/" + nodes[0].p.ready.DemoSeed.Account + "/balance"
			c1, _, _ := nodeClient(bt, profile, nodes[0])
			cust, _ := demoCustomer("zhangsan")
			prof, _ := client.LoadProfile(profile, client.Profile{})
			tok, err := c1.ConsentAs(context.Background(), cust, sandbox.ScopeAccountsRead, prof.RedirectURI, nil)
			if err != nil {
				b.Fatal(err)
			}
			var clients []*client.Client
			for _, m := range nodes {
				c, _, _ := nodeClient(bt, profile, m)
				clients = append(clients, c)
			}
			// Every node has applied the consent before the clock runs.
			for _, c := range clients {
				eventuallyT(bt, 10*time.Second, "the consent on every node", func() bool {
					resp, err := c.Do(context.Background(), &client.Request{Method: "GET", Path: path, UserToken: tok.UserToken})
					return err == nil && resp.Status == 200
				})
			}
			var next atomic.Int64
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				c := clients[int(next.Add(1))%len(clients)]
				for pb.Next() {
					resp, err := c.Do(context.Background(), &client.Request{Method: "GET", Path: path, UserToken: tok.UserToken})
					if err != nil || resp.Status != 200 {
						b.Errorf("A2 call: %v", err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
		})
	}
}
