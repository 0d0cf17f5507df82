package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"lijiang/gateway/client"
	"lijiang/platform"
	"lijiang/platform/lj1"
	"lijiang/platform/sandbox"
	"lijiang/portal"
)

// adminSession is a logged-in bank user on a node's admin API.
type adminSession struct {
	t    *testing.T
	hc   *http.Client
	base string
}

func loginAs(t *testing.T, n *clusterMember, role string) *adminSession {
	t.Helper()
	var logins []sandbox.DemoLogin
	if err := json.Unmarshal(mustRead(t, filepath.Join(n.dir, platform.DemoDir, sandbox.DemoLoginsFile)), &logins); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	hc := httpsClient(0)
	hc.Jar = jar
	s := &adminSession{t: t, hc: hc, base: "https://127.0.0.1:" + n.p.adminPort + portal.AdminPrefix}
	for _, l := range logins {
		if l.Role != role {
			continue
		}
		code, err := platform.TOTPCode(l.TOTPSecret, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if st, b := s.do("POST", "/login", map[string]string{"username": l.Username, "password": l.Password, "totp": code}); st != 200 {
			t.Fatalf("%s login: %d %s", role, st, b)
		}
		return s
	}
	t.Fatalf("no demo login of role %s", role)
	return nil
}

func (s *adminSession) do(method, path string, body any) (int, []byte) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.base+path, rd)
	if method != "GET" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (s *adminSession) must(method, path string, body any, status int) []byte {
	s.t.Helper()
	st, b := s.do(method, path, body)
	if st != status {
		s.t.Fatalf("%s %s: %d %s, want %d", method, path, st, b, status)
	}
	return b
}

// demoClients returns a client of the demo app for each node's API port,
// trusting that node's own certificate.
func demoClients(t *testing.T, nodes []*clusterMember) []*client.Client {
	t.Helper()
	var out []*client.Client
	for _, n := range nodes {
		c, _, _ := nodeClient(t, nodes[0].p.ready.DemoSeed.SandboxProfile, n)
		out = append(out, c)
	}
	return out
}

// callCode makes one signed call and returns "" for a 2xx answer, else the
// protocol's code.
func callCode(c *client.Client, path string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := c.Get(ctx, path)
	var ae *client.APIError
	switch {
	case err == nil && resp.Status/100 == 2:
		return ""
	case errors.As(err, &ae):
		return ae.Code
	case err != nil:
		return "error: " + err.Error()
	}
	return fmt.Sprint(resp.Status)
}

// apiID finds a demo API's id by its path through the admin API.
func apiID(t *testing.T, s *adminSession, path string) string {
	t.Helper()
	var list struct {
		Items []struct {
			ID   string `json:"id"`
			Path string `json:"path"`
		} `json:"items"`
	}
	json.Unmarshal(s.must("GET", "/apis?limit=500", nil, 200), &list)
	for _, a := range list.Items {
		if a.Path == path {
			return a.ID
		}
	}
	t.Fatalf("no API %s", path)
	return ""
}

// TestControlsAndLimitsOnThreeNodes: an operator pauses an API through the
// admin API and a signed call on every node of a three-node cluster answers
// API_PAUSED within a second, then resume restores it; a cluster-wide rate
// limit of L admits 0.9·L–1.1·L per second with the traffic on one node and
// spread 70/20/10, and a quota of 300 is never exceeded by more than 1 %
// (3 calls).
func TestControlsAndLimitsOnThreeNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three nodes")
	}
	nodes, _ := startDemoCluster(t)
	op := loginAs(t, nodes[0], platform.RoleOperator)
	clients := demoClients(t, nodes)
	products := apiID(t, op, "/v1/products")
	appID := func() string {
		prof, _ := client.LoadProfile(nodes[0].p.ready.DemoSeed.SandboxProfile, client.Profile{})
		return prof.AppID
	}()
	for i, c := range clients {
		var last string
		eventuallyT(t, 10*time.Second, fmt.Sprintf("a call on n%d", i+1), func() bool { last = callCode(c, "/v1/products"); return last == "" })
		_ = last
		if last != "" {
			t.Fatalf("n%d: %s", i+1, last)
		}
	}

	// Pause: every node answers API_PAUSED within a second.
	pausedAt := time.Now()
	op.must("POST", "/apis/"+products+"/pause", map[string]any{"reason": "test", "resume_at": time.Now().Add(time.Hour).Format(time.RFC3339)}, 200)
	within := func(what, want string) {
		t.Helper()
		start := time.Now()
		var wg sync.WaitGroup
		for i, c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					if got := callCode(c, "/v1/products"); got == want {
						return
					} else if time.Since(start) > time.Second {
						t.Errorf("n%d: %s after %v: %q, want %q", i+1, what, time.Since(start), got, want)
						return
					}
					time.Sleep(20 * time.Millisecond)
				}
			}()
		}
		wg.Wait()
	}
	within("pause", lj1.CodeAPIPaused)
	t.Logf("paused on every node %v after the pause was answered", time.Since(pausedAt))
	op.must("POST", "/apis/"+products+"/resume", nil, 200)
	within("resume", "")

	// Cluster-wide rate limit: L per second on the app, over whole seconds.
	const L = 50
	policy := map[string]any{"rate_per_second": map[string]any{"limit": L}}
	op.must("PUT", "/apps/"+appID+"/limits", policy, 200)
	time.Sleep(200 * time.Millisecond)
	for _, split := range []struct {
		name  string
		share [3]int // calls per second offered on each node: 2·L in all
	}{{"all on one node", [3]int{2 * L, 0, 0}}, {"70/20/10", [3]int{70, 20, 10}}} {
		const seconds = 4
		admitted, offered := offer(t, clients, "/v1/products", split.share, seconds, lj1.CodeRateLimited)
		rate := float64(admitted) / seconds
		t.Logf("rate %s: %d offered, %d admitted in %d s: %.1f/s for L=%d", split.name, offered, admitted, seconds, rate, L)
		if rate < 0.9*L || rate > 1.1*L {
			t.Errorf("rate %s: %.1f/s admitted, want %.0f–%.0f", split.name, rate, 0.9*L, 1.1*L)
		}
	}
	op.must("PUT", "/apps/"+appID+"/limits", map[string]any{}, 200)
	// Controls take effect on every node within a second: the rate limit
	// must be gone everywhere before the quotas are measured.
	time.Sleep(time.Second)

	// Cluster-wide quotas: 300 a day on one API, 300 a month on another.
	const Q = 300
	for _, q := range []struct {
		path, kind string
		share      [3]int
	}{{"/v1/products", "daily_quota", [3]int{70, 20, 10}}, {"/v1/rates/deposit", "monthly_quota", [3]int{100, 0, 0}}} {
		id := apiID(t, op, q.path)
		op.must("PUT", "/apis/"+id+"/limits", map[string]any{q.kind: map[string]any{"limit": Q}}, 200)
		time.Sleep(time.Second) // in force on every node
		admitted, offered := offer(t, clients, q.path, q.share, 4, lj1.CodeQuotaExceeded)
		// Tokens an idle node holds are given back after 1.5 s: ask again.
		time.Sleep(2 * time.Second)
		more, _ := offer(t, clients, q.path, q.share, 1, lj1.CodeQuotaExceeded)
		admitted += more
		t.Logf("%s %v: %d offered, %d admitted for a quota of %d", q.kind, q.share, offered, admitted, Q)
		if admitted > Q*101/100 {
			t.Errorf("%s: %d admitted, more than 1%% over %d", q.kind, admitted, Q)
		}
		if admitted < Q*90/100 {
			t.Errorf("%s: only %d admitted of %d", q.kind, admitted, Q)
		}
	}
}

// offer sends share[i] calls per second to node i for seconds whole
// seconds (starting at a second's boundary) and returns the calls admitted
// and offered; a refusal other than code fails the test.
func offer(t *testing.T, clients []*client.Client, path string, share [3]int, seconds int, code string) (admitted, offered int) {
	t.Helper()
	// Start just after a second's boundary: windows are aligned to it.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 5*time.Millisecond)))
	end := time.Now().Add(time.Duration(seconds)*time.Second - 30*time.Millisecond)
	var ok, all atomic.Int64
	var wg sync.WaitGroup
	var bad sync.Map
	for i, perSecond := range share {
		if perSecond == 0 {
			continue
		}
		interval := time.Second / time.Duration(perSecond)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var calls sync.WaitGroup
			for next := time.Now(); next.Before(end); next = next.Add(interval) {
				time.Sleep(time.Until(next))
				calls.Add(1)
				all.Add(1)
				go func() {
					defer calls.Done()
					switch got := callCode(clients[i], path); got {
					case "":
						ok.Add(1)
					case code:
					default:
						bad.Store(got, true)
					}
				}()
			}
			calls.Wait()
		}()
	}
	wg.Wait()
	bad.Range(func(k, _ any) bool { t.Errorf("a call answered %v", k); return true })
	return int(ok.Load()), int(all.Load())
}
