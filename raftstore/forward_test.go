package raftstore

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"lijiang/platform"
)

// adminServers starts, for each node of c, an HTTPS server standing in for
// its admin port (serving ApplyPath), whose connections go through the node's
// network fault, and returns the id → address map.
func adminServers(t *testing.T, c *cluster) (func(id string) (string, bool), map[string]*TLSConfig, map[string]*httptest.Server) {
	t.Helper()
	var mu sync.Mutex
	addrs := map[string]string{}
	tlsOf := map[string]*TLSConfig{}
	servers := map[string]*httptest.Server{}
	for _, cn := range c.nodes {
		tc, err := LoadNodeTLS(NodeTLSDir(filepath.Join(cn.dir, "raft")), c.sealer)
		if err != nil {
			t.Fatal(err)
		}
		cn := cn
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c.mu.Lock()
			node := cn.node
			c.mu.Unlock()
			if node == nil || r.URL.Path != ApplyPath {
				http.NotFound(w, r)
				return
			}
			node.ApplyHandler().ServeHTTP(w, r)
		}))
		srv.Listener = cn.fault.listener(srv.Listener)
		srv.TLS = tc.AdminServerConfig(&tls.Config{})
		srv.StartTLS()
		t.Cleanup(srv.Close)
		addrs[cn.id] = strings.TrimPrefix(srv.URL, "https://")
		tlsOf[cn.id] = tc
		servers[cn.id] = srv
	}
	return func(id string) (string, bool) {
		mu.Lock()
		defer mu.Unlock()
		a, ok := addrs[id]
		return a, ok
	}, tlsOf, servers
}

func TestForwarderWritesThroughAFollower(t *testing.T) {
	c := newCluster(t, 3, withTLS())
	resolve, tlsOf, _ := adminServers(t, c)
	leader := c.WaitForLeader()
	f := c.Followers()[0]
	fw := NewForwarder(ForwarderConfig{Node: f.node, TLS: tlsOf[f.id], AdminAddr: resolve})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	res, err := fw.Execute(ctx, setting(t, "fwd-000001", "fwd.key", "one"))
	if err != nil {
		t.Fatalf("write through follower %s: %v", f.id, err)
	}
	if res.Index == 0 || res.Duplicate {
		t.Fatalf("result %+v", res)
	}
	// Read-your-writes: visible on the follower as soon as Execute returns.
	if got := f.store.Registry().Settings["fwd.key"]; got != "one" {
		t.Fatalf("follower reads %q right after the write", got)
	}
	if f.node.AppliedIndex() < res.Index {
		t.Fatalf("follower applied %d < %d", f.node.AppliedIndex(), res.Index)
	}

	// The same command id again (a client retrying after a lost answer),
	// with another value: applied once, answered with the first result.
	res2, err := fw.Execute(ctx, setting(t, "fwd-000001", "fwd.key", "two"))
	if err != nil {
		t.Fatal(err)
	}
	if !res2.Duplicate {
		t.Fatalf("retry not recognised: %+v", res2)
	}
	c.waitConverged(5 * time.Second)
	for _, cn := range c.live() {
		if got := cn.store.Registry().Settings["fwd.key"]; got != "one" {
			t.Fatalf("%s: %q after the retry", cn.id, got)
		}
		if n, _ := countChanges(t, cn.store, "fwd-000001"); n != 1 {
			t.Fatalf("%s: %d change records for one command", cn.id, n)
		}
	}

	// A refused command comes back as its CommandError, through the leader.
	bad, err := platform.NewCommand(platform.CmdPlatformKeyRetire, 1, "fwd-000002", platform.Actor{Kind: platform.ActorCLI, ID: "test"}, time.Now(), platform.PlatformKeyRetire{Serial: "nope"})
	if err != nil {
		t.Fatal(err)
	}
	var ce *platform.CommandError
	if _, err := fw.Execute(ctx, bad); !errors.As(err, &ce) || ce.Code != platform.CodeNotFound {
		t.Fatalf("refused command: %v", err)
	}

	// The leader's apply endpoint refuses a caller without a cluster
	// certificate.
	addr, _ := resolve(leader.id)
	cl := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := cl.Post("https://"+addr+ApplyPath, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("apply without a node certificate: %d", resp.StatusCode)
	}

	// A joining node pins the CA from the token's fingerprint.
	fp, err := CAFingerprint(c.caCert)
	if err != nil {
		t.Fatal(err)
	}
	pinned := &http.Client{Transport: &http.Transport{TLSClientConfig: PinnedClientTLS(fp)}}
	if resp, err := pinned.Get("https://" + addr + "/nothing"); err != nil {
		t.Fatalf("pinned call: %v", err)
	} else {
		resp.Body.Close()
	}
	other, _ := mustCA(t)
	fp2, _ := CAFingerprint(other)
	wrong := &http.Client{Transport: &http.Transport{TLSClientConfig: PinnedClientTLS(fp2)}}
	if _, err := wrong.Get("https://" + addr + "/nothing"); err == nil {
		t.Fatal("a wrong CA fingerprint was accepted")
	}
}

func TestForwarderAcrossLeaderLoss(t *testing.T) {
	c := newCluster(t, 3, withTLS())
	resolve, tlsOf, servers := adminServers(t, c)
	old := c.WaitForLeader()
	var survivor *cnode
	for _, cn := range c.Followers() {
		survivor = cn
	}
	fw := NewForwarder(ForwarderConfig{Node: survivor.node, TLS: tlsOf[survivor.id], AdminAddr: resolve})
	for i, cn := range c.nodes {
		if cn == old {
			c.Kill(i)
			servers[cn.id].CloseClientConnections()
			servers[cn.id].Listener.Close()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if _, err := fw.Execute(ctx, setting(t, "fwd-000010", "after.loss", "yes")); err != nil {
		t.Fatalf("write after the leader's loss: %v", err)
	}
	t.Logf("write accepted %v after the leader was killed", time.Since(start))
	if got := survivor.store.Registry().Settings["after.loss"]; got != "yes" {
		t.Fatalf("survivor reads %q", got)
	}
}
