package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lijiang/audit"
	"lijiang/gateway/client"
	"lijiang/platform"
	"lijiang/platform/sandbox"
	"lijiang/portal"
)

// TestAuditAPIOnANode reads a demo node's own audit chain through the admin
// API as its demo auditor: the A2 calls made for a customer are found by
// the customer's id (the node hashes it), the chain verifies, each read is
// in the chain, and the id is nowhere in data/audit.db.
func TestAuditAPIOnANode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	dataDir := filepath.Join(t.TempDir(), "data")
	p := startServe(t, []string{envKEK + "="}, "--demo", "--data-dir", dataDir, "--api-addr", freePort(t), "--admin-addr", "127.0.0.1:0",
		"--raft-addr", freePort(t), "--audit-checkpoint-interval", "1s")
	load := newA2Load(t, p)
	var reqIDs []string
	for range 3 {
		resp, err := load.c.Do(context.Background(), &client.Request{Method: "GET", Path: load.path, UserToken: load.token})
		if err != nil || resp.Status != 200 {
			t.Fatalf("A2 call: %v %+v", err, resp)
		}
		reqIDs = append(reqIDs, resp.Header.Get(client.HeaderRequestID))
	}
	var zhangsan sandbox.DemoCustomer
	for _, c := range sandbox.DemoCustomers() {
		if c.Username == "zhangsan" {
			zhangsan = c
		}
	}

	// The demo auditor logs in.
	var logins []sandbox.DemoLogin
	if err := json.Unmarshal(mustRead(t, filepath.Join(dataDir, platform.DemoDir, sandbox.DemoLoginsFile)), &logins); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	hc := httpsClient(0)
	hc.Jar = jar
	base := "https://127.0.0.1:" + p.adminPort + portal.AdminPrefix
	do := func(method, path string, body any) (int, []byte) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, base+path, rd)
		if method != "GET" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	for _, l := range logins {
		if l.Role != platform.RoleAuditor {
			continue
		}
		code, err := platform.TOTPCode(l.TOTPSecret, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if st, b := do("POST", "/login", map[string]string{"username": l.Username, "password": l.Password, "totp": code}); st != 200 {
			t.Fatalf("auditor login: %d %s", st, b)
		}
	}

	// The calls are found by the customer's id; the records hold its hash.
	var list struct {
		Node  string            `json:"node"`
		Items []json.RawMessage `json:"items"`
	}
	found := map[string]bool{}
	for deadline := time.Now().Add(10 * time.Second); len(found) < len(reqIDs) && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		st, b := do("GET", "/audit/records?kind=access&limit=500&customer="+url.QueryEscape(zhangsan.ID), nil)
		if st != 200 {
			t.Fatalf("records: %d %s", st, b)
		}
		if err := json.Unmarshal(b, &list); err != nil {
			t.Fatal(err)
		}
		for _, raw := range list.Items {
			var r audit.Record
			json.Unmarshal(raw, &r)
			if r.Customer == "" || r.Customer == zhangsan.ID {
				t.Fatalf("a record found by customer: %s", raw)
			}
			found[r.RequestID] = true
		}
	}
	for _, id := range reqIDs {
		if !found[id] {
			t.Errorf("the A2 call %s is not found by its customer", id)
		}
	}
	st, b := do("POST", "/audit/verify", nil)
	var rep audit.Report
	if json.Unmarshal(b, &rep); st != 200 || !rep.Intact || rep.Records == 0 {
		t.Errorf("verify: %d %s", st, b)
	}
	if st, b := do("GET", "/audit/export?format=csv&request_id="+reqIDs[0], nil); st != 200 || !strings.Contains(string(b), reqIDs[0]) {
		t.Errorf("export: %d %s", st, b)
	}
	p.stop(t)

	// Each read is in the chain, and the customer's id is not.
	var events []string
	if err := audit.Query(context.Background(), auditPath(dataDir), audit.Filter{Kind: audit.KindSystem}, func(r *audit.Record) bool {
		events = append(events, r.Event)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(events, " ")
	for _, want := range []string{portal.EventAuditQuery, portal.EventAuditVerify, portal.EventAuditVerified, portal.EventAuditExport, portal.EventAuditExported} {
		if !strings.Contains(joined, want) {
			t.Errorf("no %s event in the chain: %s", want, joined)
		}
	}
	for _, f := range []string{auditPath(dataDir), auditPath(dataDir) + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(zhangsan.ID)) {
			t.Errorf("%s holds the customer id %s in clear", f, zhangsan.ID)
			audit.Query(context.Background(), auditPath(dataDir), audit.Filter{}, func(r *audit.Record) bool {
				if c, _ := r.Canonical(); bytes.Contains(c, []byte(zhangsan.ID)) {
					t.Logf("in record %s", c)
				}
				return true
			})
		}
	}
}
