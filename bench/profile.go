package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"lijiang/platform"
	"lijiang/platform/sandbox"
)

// profiler takes CPU profiles of a demo node through its admin API, logged
// in as the demo's admin (`lijiang bench --profile DIR`).
type profiler struct {
	hc   *http.Client
	base string
	dir  string
}

// newProfiler logs in to node n's admin API as the demo admin.
func newProfiler(ctx context.Context, n *node, dir string) (*profiler, error) {
	b, err := os.ReadFile(filepath.Join(n.dir, "demo", sandbox.DemoLoginsFile))
	if err != nil {
		return nil, err
	}
	var logins []sandbox.DemoLogin
	if err := json.Unmarshal(b, &logins); err != nil {
		return nil, err
	}
	jar, _ := cookiejar.New(nil)
	p := &profiler{dir: dir, base: "https://127.0.0.1:" + strconv.Itoa(n.ready.AdminPort) + "/admin/api/v1",
		hc: &http.Client{Jar: jar, Timeout: 2 * time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}} // the node's own admin certificate, on loopback
	for _, l := range logins {
		if l.Role != platform.RoleAdmin {
			continue
		}
		code, err := platform.TOTPCode(l.TOTPSecret, time.Now())
		if err != nil {
			return nil, err
		}
		body, _ := json.Marshal(map[string]string{"username": l.Username, "password": l.Password, "totp": code})
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.base+"/login", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := p.hc.Do(req)
		if err != nil {
			return nil, err
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("logging in as the demo admin: %d %s", resp.StatusCode, msg)
		}
		return p, os.MkdirAll(dir, 0o755)
	}
	return nil, fmt.Errorf("no demo admin login in %s", n.dir)
}

// cpu takes a CPU profile of seconds into dir/name.pprof, then the heap's
// profile into dir/name-heap.pprof (the load still running).
func (p *profiler) cpu(ctx context.Context, name string, seconds int) error {
	if err := p.fetch(ctx, "/debug/pprof/profile?seconds="+strconv.Itoa(seconds), name+".pprof"); err != nil {
		return err
	}
	return p.fetch(ctx, "/debug/pprof/heap", name+"-heap.pprof")
}

// fetch writes what the admin API's path answers into dir/file.
func (p *profiler) fetch(ctx context.Context, path, file string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.base+path, nil)
	resp, err := p.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile: %d %.200s", resp.StatusCode, b)
	}
	return os.WriteFile(filepath.Join(p.dir, file), b, 0o644)
}
