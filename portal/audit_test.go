package portal

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"lijiang/audit"
	"lijiang/audit/audittest"
	"lijiang/platform"
)

// testTrail is AuditTrail over a real audit.Store in a temporary
// directory, as main's auditTrail is over the node's.
type testTrail struct {
	node string
	path string
	keys *audit.Keys
	// st is the store; a test may swap it (closed and opened again).
	st atomic.Pointer[audit.Store]
}

func (t *testTrail) store() *audit.Store { return t.st.Load() }

func (t *testTrail) Node() string { return t.node }

func (t *testTrail) Event(ctx context.Context, durable bool, name string, actor *audit.Actor, detail map[string]string) error {
	r := &audit.Record{Kind: audit.KindSystem, Node: t.node, TimeMs: time.Now().UnixMilli(), Event: name, Actor: actor, Detail: detail}
	if durable {
		return t.store().AppendDurable(ctx, r)
	}
	return t.store().Append(r)
}

func (t *testTrail) HashID(v string) (string, error) { return t.keys.Hash(v) }

func (t *testTrail) Query(ctx context.Context, f audit.Filter, fn func(*audit.Record) bool) error {
	return audit.Query(ctx, t.path, f, fn)
}

func (t *testTrail) Verify(ctx context.Context, fromMs, toMs int64) (*audit.Report, error) {
	return audit.VerifyStore(ctx, t.path, audit.VerifyOptions{Node: t.node, FromMs: fromMs, ToMs: toMs})
}

func (t *testTrail) OpenBody(r *audit.Record) ([]byte, error) { return t.keys.OpenBody(r) }

// sync makes every record appended so far durable.
func (t *testTrail) sync(tb testing.TB) {
	tb.Helper()
	if err := t.store().Sync(context.Background()); err != nil {
		tb.Fatal(err)
	}
}

// events returns the system events named name, in order.
func (t *testTrail) events(tb testing.TB, name string) []*audit.Record {
	tb.Helper()
	t.sync(tb)
	var out []*audit.Record
	if err := audit.Query(context.Background(), t.path, audit.Filter{Kind: audit.KindSystem}, func(r *audit.Record) bool {
		if r.Event == name {
			out = append(out, r)
		}
		return true
	}); err != nil {
		tb.Fatal(err)
	}
	return out
}

// storeBytes is everything of the store on disk (database and WAL).
func (t *testTrail) storeBytes(tb testing.TB) []byte {
	tb.Helper()
	t.sync(tb)
	var all []byte
	for _, p := range []string{t.path, t.path + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			tb.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

// newAuditEnv starts a test environment whose portal reads a real audit
// store of node n1 (the cluster's audit key made as at a node's start).
func newAuditEnv(t *testing.T, adjust ...func(*Config)) (*testEnv, *testTrail) {
	t.Helper()
	tr := &testTrail{node: "n1", path: filepath.Join(t.TempDir(), "audit.db")}
	env := newTestEnv(t, append([]func(*Config){func(cfg *Config) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := platform.EnsureAuditKey(ctx, cfg.Exec, cfg.Store.Registry, cfg.Sealer, "n1"); err != nil {
			t.Fatal(err)
		}
		tr.keys = &audit.Keys{Registry: cfg.Store.Registry, Opener: cfg.Sealer}
		st := audit.New(audit.Config{Path: tr.path, Node: "n1", Window: 5 * time.Millisecond})
		if err := st.Open(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		tr.st.Store(st)
		cfg.Audit = tr
	}}, adjust...)...)
	return env, tr
}

const (
	customerA = "6222020200112233445" // a customer id as the bank knows it
	customerB = "6222020200199887766"
	sealedMsg = `{"request":{"account_no":"6222020200112233445"},"response":{"balance":"1024.00"}}`
)

// seedAccess appends access records: three calls at base, base+1s, base+2s
// (the third with a sealed body), and returns base.
func seedAccess(t *testing.T, tr *testTrail) time.Time {
	t.Helper()
	base := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	ha, err := tr.keys.Hash(customerA)
	if err != nil {
		t.Fatal(err)
	}
	hb, _ := tr.keys.Hash(customerB)
	sealed, err := tr.keys.SealBody("n1", "req-3", []byte(sealedMsg))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*audit.Record{
		{RequestID: "req-1", AppID: "app_a", APIID: "api_balance", Level: "A1", Status: 200, Customer: ha, TimeMs: base.UnixMilli()},
		{RequestID: "req-2", AppID: "app_b", APIID: "api_transfer", Level: "A2", Status: 401, Code: "SIGNATURE_INVALID", TimeMs: base.Add(time.Second).UnixMilli()},
		{RequestID: "req-3", AppID: "app_a", APIID: "api_transfer", Level: "A2", Status: 200, Customer: hb, TimeMs: base.Add(2 * time.Second).UnixMilli(),
			BodyKind: audit.BodySealed, Body: sealed},
	} {
		r.Kind, r.Node, r.Method, r.ClientAddr = audit.KindAccess, "n1", "POST", "192.0.2.7"
		if err := tr.store().Append(r); err != nil {
			t.Fatal(err)
		}
	}
	tr.sync(t)
	return base
}

func requestIDs(t *testing.T, r resp) []string {
	t.Helper()
	var l auditRecordList
	r.JSON(t, &l)
	var ids []string
	for _, it := range l.Items {
		ids = append(ids, it.RequestID)
	}
	return ids
}

// Only auditors read the audit trail; admins may verify it; the other
// roles may do neither, and without a session nothing is answered.
func TestAuditRoles(t *testing.T) {
	env, tr := newAuditEnv(t)
	seedAccess(t, tr)
	for _, role := range []string{platform.RoleAdmin, platform.RoleOperator, platform.RoleReviewer} {
		c := env.admin(role)
		for _, r := range []struct{ method, path string }{{"GET", "/audit/records"}, {"GET", "/audit/export?format=csv"}, {"POST", "/audit/records/3/open"}} {
			got := c.do(r.method, r.path, map[string]string{"reason": "a reason long enough"})
			if r.method == "GET" {
				got = c.do(r.method, r.path, nil)
			}
			if got.Status != http.StatusForbidden || got.Map(t)["code"] != CodeForbidden {
				t.Errorf("%s %s %s: %d %s, want 403", role, r.method, r.path, got.Status, got.Body)
			}
		}
		want := http.StatusForbidden
		if role == platform.RoleAdmin {
			want = http.StatusOK
		}
		mustStatus(t, c.do("POST", "/audit/verify", nil), want)
	}
	anon := env.newClient(env.AdminURL, env.adminSrv)
	mustStatus(t, anon.do("GET", "/audit/records", nil), http.StatusUnauthorized)
	// Auditors change nothing else: the POSTs allowed are the audit ones.
	aud := env.admin(platform.RoleAuditor)
	mustStatus(t, aud.do("POST", "/users", map[string]string{"username": "x", "role": "admin"}), http.StatusForbidden)
	mustStatus(t, aud.do("POST", "/audit/verify", nil), http.StatusOK)
	if len(tr.events(t, EventAuditQuery)) != 0 {
		t.Errorf("a refused query was recorded as a query")
	}
}

func TestAuditRecordsFilters(t *testing.T) {
	env, tr := newAuditEnv(t)
	base := seedAccess(t, tr)
	aud := env.admin(platform.RoleAuditor)
	q := func(params string) []string {
		t.Helper()
		return requestIDs(t, mustStatus(t, aud.do("GET", "/audit/records?kind=access&"+params, nil), 200))
	}
	rfc := func(d time.Duration) string { return url.QueryEscape(base.Add(d).Format(time.RFC3339)) }
	for _, c := range []struct {
		params string
		want   string
	}{
		{"", "req-1 req-2 req-3"},
		{"request_id=req-2", "req-2"},
		{"app_id=app_a", "req-1 req-3"},
		{"api_id=api_transfer", "req-2 req-3"},
		{"customer=" + customerA, "req-1"},
		{"customer=" + customerB, "req-3"},
		{"customer=6222000000000000000", ""},
		{"status=401", "req-2"},
		{"code=SIGNATURE_INVALID", "req-2"},
		{"from=" + rfc(time.Second), "req-2 req-3"},
		{"to=" + rfc(time.Second), "req-1"},
		{"from=" + rfc(time.Second) + "&to=" + rfc(2*time.Second), "req-2"},
		{"app_id=app_a&api_id=api_transfer", "req-3"},
	} {
		if got := strings.Join(q(c.params), " "); got != c.want {
			t.Errorf("%s: %q, want %q", c.params, got, c.want)
		}
	}

	// Paging: after_seq and limit, next_after_seq 0 on the last page.
	var seen []string
	after := uint64(0)
	for range 5 {
		var l auditRecordList
		mustStatus(t, aud.do("GET", "/audit/records?kind=access&limit=1&after_seq="+strconv.FormatUint(after, 10), nil), 200).JSON(t, &l)
		if l.Node != "n1" || l.Limit != 1 || len(l.Items) > 1 {
			t.Fatalf("page: %+v", l)
		}
		for _, it := range l.Items {
			seen = append(seen, it.RequestID)
			if it.Time.UnixMilli() != it.TimeMs {
				t.Errorf("time %v, time_ms %d", it.Time, it.TimeMs)
			}
		}
		if l.NextAfterSeq == 0 {
			break
		}
		after = l.NextAfterSeq
	}
	if strings.Join(seen, " ") != "req-1 req-2 req-3" {
		t.Errorf("pages: %v", seen)
	}

	// Strict input: each refusal names its parameter.
	for _, c := range []struct{ params, field string }{
		{"page_size=3", "page_size"}, {"offset=1", "offset"}, {"from=yesterday", "from"}, {"to=2026-13-01T00:00:00Z", "to"},
		{"from=" + rfc(time.Second) + "&to=" + rfc(0), "to"}, {"status=abc", "status"}, {"status=99", "status"}, {"kind=secret", "kind"},
		{"limit=0", "limit"}, {"limit=501", "limit"}, {"after_seq=-1", "after_seq"}, {"app_id=" + strings.Repeat("a", 300), "app_id"},
	} {
		got := aud.do("GET", "/audit/records?"+c.params, nil)
		if got.Status != 400 || got.Map(t)["field"] != c.field {
			t.Errorf("%s: %d %s, want 400 naming %s", c.params, got.Status, got.Body, c.field)
		}
	}

	// Every query is in the chain: who, from where, what was asked, the
	// customer as its keyed hash; and the id typed is nowhere in the store.
	evs := tr.events(t, EventAuditQuery)
	if len(evs) < 15 {
		t.Fatalf("%d query events, want one per query", len(evs))
	}
	hashA, _ := tr.keys.Hash(customerA)
	found := false
	for _, e := range evs {
		if e.Actor == nil || e.Actor.Role != platform.RoleAuditor || e.Actor.ID == "" || e.Actor.Addr == "" || e.Detail["request"] == "" {
			t.Errorf("query event without its auditor: %+v", e)
		}
		if strings.Contains(e.Detail["filter"], "customer="+hashA) {
			found = true
		}
	}
	if !found {
		t.Errorf("no query event names the customer's keyed hash")
	}
	raw := tr.storeBytes(t)
	for _, id := range []string{customerA, customerB, "6222000000000000000"} {
		if bytes.Contains(raw, []byte(id)) {
			t.Errorf("the customer id %s is in the audit store in clear", id)
		}
	}
}

func TestAuditExport(t *testing.T) {
	env, tr := newAuditEnv(t)
	seedAccess(t, tr)
	// Enough records that the export is sent in pieces.
	for i := range 700 {
		tr.store().Append(&audit.Record{Kind: audit.KindAccess, Node: "n1", TimeMs: time.Now().UnixMilli(), RequestID: "bulk-" + strconv.Itoa(i),
			AppID: "app_bulk", Status: 200, Code: "=HYPERLINK(1)"})
	}
	tr.sync(t)
	aud := env.admin(platform.RoleAuditor)

	r := mustStatus(t, aud.do("GET", "/audit/export?format=jsonl&app_id=app_bulk", nil), 200)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/jsonl") {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := r.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="audit-n1-`) || !strings.HasSuffix(cd, `.jsonl"`) {
		t.Errorf("Content-Disposition %q", cd)
	}
	if r.Header.Get("Content-Length") != "" {
		t.Errorf("the export was buffered whole (Content-Length %s), not streamed", r.Header.Get("Content-Length"))
	}
	sc := bufio.NewScanner(bytes.NewReader(r.Body))
	n := 0
	var last uint64
	for sc.Scan() {
		rec, err := audit.ParseCanonical(sc.Bytes())
		if err != nil {
			t.Fatalf("line %d is not a canonical record: %v", n+1, err)
		}
		if rec.AppID != "app_bulk" || rec.Seq <= last {
			t.Fatalf("line %d: %+v", n+1, rec)
		}
		last = rec.Seq
		n++
	}
	if n != 700 {
		t.Errorf("%d JSONL records, want 700", n)
	}

	r = mustStatus(t, aud.do("GET", "/audit/export?format=csv&kind=access&to="+url.QueryEscape(time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC).Format(time.RFC3339)), nil), 200)
	if ct := r.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != strings.Join(AuditCSVColumns, ",") || len(rows) != 4 {
		t.Fatalf("csv: %v", rows)
	}
	col := func(row []string, name string) string {
		for i, c := range AuditCSVColumns {
			if c == name {
				return row[i]
			}
		}
		t.Fatalf("no column %s", name)
		return ""
	}
	if col(rows[2], "request_id") != "req-2" || col(rows[2], "status") != "401" || col(rows[2], "code") != "SIGNATURE_INVALID" ||
		col(rows[1], "time") != "2026-12-01T08:00:00.000Z" || col(rows[3], "body_kind") != "sealed" {
		t.Errorf("csv rows: %v", rows[1:])
	}
	// A cell a spreadsheet would run as a formula is defused.
	r = mustStatus(t, aud.do("GET", "/audit/export?format=csv&request_id=bulk-1", nil), 200)
	rows, _ = csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	if len(rows) != 2 || col(rows[1], "code") != "'=HYPERLINK(1)" {
		t.Errorf("csv injection: %v", rows)
	}

	got := aud.do("GET", "/audit/export?format=xml", nil)
	if got.Status != 400 || got.Map(t)["field"] != "format" {
		t.Errorf("format=xml: %d %s", got.Status, got.Body)
	}
	mustStatus(t, aud.do("GET", "/audit/export?limit=5", nil), 400)

	evs := tr.events(t, EventAuditExport)
	if len(evs) != 3 || evs[0].Detail["format"] != "jsonl" || evs[0].Detail["filter"] != "app_id=app_bulk" || evs[1].Detail["format"] != "csv" {
		t.Errorf("export events: %+v", evs)
	}
	done := tr.events(t, EventAuditExported)
	if len(done) != 3 || done[0].Detail["records"] != "700" || done[1].Detail["records"] != "3" {
		t.Errorf("exported events: %+v", done)
	}
}

func TestAuditVerify(t *testing.T) {
	env, tr := newAuditEnv(t)
	seedAccess(t, tr)
	aud := env.admin(platform.RoleAuditor)
	var rep audit.Report
	m := mustStatus(t, aud.do("POST", "/audit/verify", nil), 200)
	m.JSON(t, &rep)
	if !rep.Intact || rep.Node != "n1" || rep.First != 1 || rep.Records < 3 || rep.Last != rep.Records {
		t.Errorf("report: %s", m.Body)
	}
	for _, k := range []string{"node", "first", "last", "records", "checkpoints", "last_checkpoint", "unanchored", "intact"} {
		if _, ok := m.Map(t)[k]; !ok {
			t.Errorf("the report lacks %s: %s", k, m.Body)
		}
	}
	mustStatus(t, aud.do("POST", "/audit/verify", map[string]any{"node": "n1", "from": "2026-12-01T08:00:01Z", "to": "2026-12-01T09:00:00Z"}), 200)
	for _, c := range []struct {
		body  any
		field string
	}{{map[string]string{"node": "n2"}, "node"}, {map[string]string{"from": "yesterday"}, "from"},
		{map[string]string{"from": "2026-12-02T00:00:00Z", "to": "2026-12-01T00:00:00Z"}, "to"}, {map[string]string{"nodes": "n1"}, "nodes"}} {
		got := aud.do("POST", "/audit/verify", c.body)
		if got.Status != 400 || !strings.HasPrefix(fmt.Sprint(got.Map(t)["field"]), c.field) {
			t.Errorf("%v: %d %s, want 400 naming %s", c.body, got.Status, got.Body, c.field)
		}
	}
	if evs := tr.events(t, EventAuditVerify); len(evs) != 2 || evs[1].Detail["from"] != "2026-12-01T08:00:01Z" {
		t.Errorf("verify events: %+v", evs)
	}
	if evs := tr.events(t, EventAuditVerified); len(evs) != 2 || evs[0].Detail["intact"] != "true" {
		t.Errorf("verified events: %+v", evs)
	}

	// A byte changed in a record: the answer names it.
	// (The store is closed for it, and opened again, as after a restart.)
	if err := tr.store().Close(); err != nil {
		t.Fatal(err)
	}
	if err := audittest.FlipByte(tr.path, 2); err != nil {
		t.Fatal(err)
	}
	reopened := audit.New(audit.Config{Path: tr.path, Node: "n1", Window: 5 * time.Millisecond})
	if err := reopened.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reopened.Close() })
	tr.st.Store(reopened)
	m = mustStatus(t, aud.do("POST", "/audit/verify", nil), 200)
	rep = audit.Report{}
	m.JSON(t, &rep)
	if rep.Intact || len(rep.Damage) == 0 || rep.Damage[0].Kind != audit.DamageModified || rep.Damage[0].Seq != 2 {
		t.Errorf("after tampering: %s", m.Body)
	}
	if evs := tr.events(t, EventAuditVerified); len(evs) != 3 || evs[2].Detail["intact"] != "false" || evs[2].Detail["damage"] != audit.DamageModified {
		t.Errorf("verified events: %+v", evs)
	}
}

func TestAuditOpenBody(t *testing.T) {
	env, tr := newAuditEnv(t)
	seedAccess(t, tr)
	aud := env.admin(platform.RoleAuditor)
	for _, c := range []struct {
		body   any
		status int
		field  string
	}{
		{nil, 400, ""}, {map[string]string{}, 400, "reason"}, {map[string]string{"reason": "  too short "}, 400, "reason"},
		{map[string]string{"reason": strings.Repeat("x", 501)}, 400, "reason"}, {map[string]string{"reason": "checking", "body": "x"}, 400, "body"},
	} {
		got := aud.do("POST", "/audit/records/3/open", c.body)
		if got.Status != c.status || c.field != "" && got.Map(t)["field"] != c.field {
			t.Errorf("%v: %d %s", c.body, got.Status, got.Body)
		}
	}
	reason := "complaint 2026-1201-07: the customer disputes the transfer"
	if got := aud.do("POST", "/audit/records/1/open", map[string]string{"reason": reason}); got.Status != 409 || got.Map(t)["code"] != CodeNotSealed {
		t.Errorf("no sealed body: %d %s", got.Status, got.Body)
	}
	mustStatus(t, aud.do("POST", "/audit/records/999/open", map[string]string{"reason": reason}), 404)
	mustStatus(t, aud.do("POST", "/audit/records/x/open", map[string]string{"reason": reason}), 404)
	if len(tr.events(t, EventAuditBodyOpened)) != 0 {
		t.Fatalf("a refused opening was recorded as one")
	}

	var out auditOpened
	mustStatus(t, aud.do("POST", "/audit/records/3/open", map[string]string{"reason": reason}), 200).JSON(t, &out)
	if out.Seq != 3 || out.RequestID != "req-3" || out.Node != "n1" || out.Body != sealedMsg || out.BodyEncoding != "utf-8" {
		t.Errorf("opened: %+v", out)
	}
	evs := tr.events(t, EventAuditBodyOpened)
	if len(evs) != 1 {
		t.Fatalf("%d opening events", len(evs))
	}
	e := evs[0]
	if e.Detail["seq"] != "3" || e.Detail["record_request_id"] != "req-3" || e.Detail["reason"] != reason || e.Actor == nil || e.Actor.Role != platform.RoleAuditor || e.Actor.ID == "" {
		t.Errorf("opening event: %+v %+v", e, e.Actor)
	}
	// The body opened is nowhere in the store in clear.
	if bytes.Contains(tr.storeBytes(t), []byte("1024.00")) {
		t.Errorf("the opened body is in the audit store")
	}
}

// Failed logins that no command records, lock-outs and refusals of a
// locked account are system events of the node that saw them, without the
// password; an unknown account name is kept as its keyed hash only.
func TestAuditLoginEvents(t *testing.T) {
	env, tr := newAuditEnv(t, func(cfg *Config) { cfg.LoginMaxFailures = 2 })
	_, pw := env.createAdmin("carol", platform.RoleOperator)
	c := env.newClient(env.AdminURL, env.adminSrv)
	secret := "Wr0ng-Passw0rd-Secret"
	mustStatus(t, c.do("POST", "/login", map[string]string{"username": "nobody-here", "password": secret, "totp": "123456"}), 401)
	mustStatus(t, c.do("POST", "/login", map[string]string{"username": "carol", "password": secret, "totp": "123456"}), 401)
	mustStatus(t, c.do("POST", "/login", map[string]string{"username": "carol", "password": secret + "2", "totp": "123456"}), 401)
	mustStatus(t, c.do("POST", "/login", map[string]string{"username": "carol", "password": pw, "totp": env.code("carol")}), 429)
	dev := env.newClient(env.PortalURL, env.portalSrv)
	mustStatus(t, dev.do("POST", "/login", map[string]string{"email": "ghost@example.com", "password": secret}), 401)

	failed := tr.events(t, EventLoginFailed)
	if len(failed) != 2 {
		t.Fatalf("%d login_failed events: %+v", len(failed), failed)
	}
	hash, _ := tr.keys.Hash("nobody-here")
	if d := failed[0].Detail; d["principal_kind"] != platform.SessionAdmin || d["reason"] != "unknown_account" || d["account_hash"] != hash || failed[0].Actor.Addr == "" {
		t.Errorf("unknown admin: %+v", d)
	}
	if d := failed[1].Detail; d["principal_kind"] != platform.SessionDeveloper || d["reason"] != "unknown_account" {
		t.Errorf("unknown developer: %+v", d)
	}
	locked := tr.events(t, EventAccountLocked)
	if len(locked) != 1 || locked[0].Detail["principal_id"] == "" || locked[0].Detail["locked_until"] == "" {
		t.Errorf("lock-out events: %+v", locked)
	}
	refused := tr.events(t, EventLoginRefused)
	if len(refused) != 1 || refused[0].Detail["reason"] != "locked" {
		t.Errorf("refused events: %+v", refused)
	}
	raw := tr.storeBytes(t)
	for _, s := range []string{secret, pw, "nobody-here", "ghost@example.com"} {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("%q is in the audit store", s)
		}
	}
}

// Without an audit trail the routes answer 503 in the one error format.
func TestAuditUnavailable(t *testing.T) {
	env := newTestEnv(t)
	aud := env.admin(platform.RoleAuditor)
	for _, r := range []struct{ method, path string }{{"GET", "/audit/records"}, {"GET", "/audit/export"}, {"POST", "/audit/verify"}} {
		got := aud.do(r.method, r.path, nil)
		if got.Status != 503 || got.Map(t)["code"] != CodeAuditUnavailable || got.Map(t)["request_id"] == "" {
			t.Errorf("%s %s: %d %s", r.method, r.path, got.Status, got.Body)
		}
	}
	got := aud.do("POST", "/audit/records/1/open", map[string]string{"reason": "a reason long enough"})
	if got.Status != 503 {
		t.Errorf("open: %d %s", got.Status, got.Body)
	}
}
