package platform

import (
	"database/sql"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// catT0 is the tests' clock origin (2025-11-27T02:20:00Z).
const catT0 = int64(1764210000000)

func catStore(t *testing.T) *Store {
	t.Helper()
	return mustStore(t, filepath.Join(t.TempDir(), "state.db"))
}

// catApply applies one command at time at (Unix ms) as an operator and
// returns its result.
func catApply(t *testing.T, s *Store, typ string, at int64, payload any) Result {
	t.Helper()
	c, err := NewCommand(typ, 1, "", Actor{Kind: ActorAdmin, ID: "adm_operator"}, time.UnixMilli(at), payload)
	if err != nil {
		t.Fatalf("NewCommand %s: %v", typ, err)
	}
	res := s.Apply([]Entry{{Index: s.AppliedIndex() + 1, Term: 1, Data: mustEncode(t, c)}})
	return res[0]
}

// catMustApply applies a command that must succeed and decodes its value.
func catMustApply(t *testing.T, s *Store, typ string, at int64, payload any, out any) {
	t.Helper()
	res := catApply(t, s, typ, at, payload)
	if res.Err != nil {
		t.Fatalf("%s: %v", typ, res.Err)
	}
	if out != nil {
		if err := json.Unmarshal(res.Value, out); err != nil {
			t.Fatalf("%s result: %v", typ, err)
		}
	}
}

func catWantErr(t *testing.T, res Result, code, field string) {
	t.Helper()
	if res.Err == nil {
		t.Fatalf("want %s error, got success %s", code, res.Value)
	}
	if res.Err.Code != code || field != "" && res.Err.Field != field {
		t.Fatalf("want %s (field %q), got %+v", code, field, res.Err)
	}
}

// catExec writes rows directly (test setup only: applicants and apps belong
// to another domain).
func catExec(t *testing.T, s *Store, q string, args ...any) {
	t.Helper()
	if err := s.read(func(db *sql.DB) error { _, err := db.Exec(q, args...); return err }); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// catSeedApplicant inserts a developer (once), an applicant with the given
// callback URL and its apps (App_IDs), all active.
func catSeedApplicant(t *testing.T, s *Store, applicantID, callback string, appIDs ...string) {
	t.Helper()
	catExec(t, s, `INSERT OR IGNORE INTO developers (id, email, name, password_hash, status, created_ms, updated_ms)
		VALUES ('dev_test', 'dev@example.com', 'Dev', 'x', 'active', 1, 1)`)
	uscc := (applicantID + "000000000000000000")[:18]
	catExec(t, s, `INSERT INTO applicants (id, owner_developer_id, name, uscc, contact_name, contact_email, contact_phone,
		callback_url, status, version, created_ms, created_by, updated_ms, updated_by)
		VALUES (?, 'dev_test', ?, ?, 'C', 'c@example.com', '13800000000', ?, 'approved', 1, 1, 'test', 1, 'test')`,
		applicantID, "Org "+applicantID, uscc, callback)
	envs := []string{"sandbox", "production"}
	for i, app := range appIDs {
		catExec(t, s, `INSERT INTO apps (id, applicant_id, env, status, created_ms, created_by, updated_ms) VALUES (?, ?, ?, 'active', 1, 'test', 1)`,
			app, applicantID, envs[i])
	}
}

func catCount(t *testing.T, s *Store, q string, args ...any) int {
	t.Helper()
	var n int
	if err := s.read(func(db *sql.DB) error { return db.QueryRow(q, args...).Scan(&n) }); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// Test App_IDs (NewAppID's form).
const (
	catApp1 = "LJ202500000000000000A1"
	catApp2 = "LJ202500000000000000A2"
	catApp3 = "LJ202500000000000000B1"
	catApp4 = "LJ202500000000000000C1"
)

func catBalanceSpec() APISpec {
	return APISpec{
		APIContract: APIContract{
			Name: "Account balance", Description: "账户余额查询", APIVersion: "v1", Method: "GET",
			Path: "/v1/accounts/{account_no}/balance", Level: LevelA2, ActsForUser: true, ConsentScope: "accounts:read",
			Params: ParamSchemas{
				Path:  json.RawMessage(`{"type":"object","properties":{"account_no":{"type":"string","format":"account_no"}},"required":["account_no"]}`),
				Query: json.RawMessage(`{"type":"object","properties":{"currency":{"type":"string","format":"currency"},"days":{"type":"integer","minimum":1,"maximum":90},"tags":{"type":"array","items":{"type":"string","enum":["a","b"]}}},"additionalProperties":false}`),
			},
		},
		Upstream:  Upstream{Targets: []string{UpstreamSandbox}, TimeoutMs: 3000},
		Masking:   []MaskRule{{Field: "$.account_no", Kind: MaskAccountNo}, {Field: "holder.name", Kind: MaskName}},
		Retention: RetentionMasked,
		Limits:    Limits{RatePerSecond: 10, Burst: 20, Concurrency: 5, DailyQuota: 10000},
	}
}

func catTransferSpec() APISpec {
	return APISpec{
		APIContract: APIContract{
			Name: "Transfer", APIVersion: "v1", Method: "POST", Path: "/v1/transfers", Level: LevelA2,
			Params: ParamSchemas{Body: json.RawMessage(`{"type":"object","properties":{
			"amount":{"type":"string","format":"amount"},
			"currency":{"type":"string","format":"currency"},
			"payee":{"type":"object","properties":{"card_no":{"type":"string","format":"card_no"},"name":{"type":"string","minLength":1,"maxLength":40},
				"id_no":{"type":"string","format":"id_no"},"phone":{"type":"string","format":"phone"}},"required":["card_no","name"]},
			"memo":{"type":"string","pattern":"^[A-Za-z0-9 ]*$","maxLength":20},
			"items":{"type":"array","items":{"type":"object","properties":{"n":{"type":"integer"}}},"maxItems":2}},
			"required":["amount","currency","payee"],"additionalProperties":false}`)},
		},
		Upstream:  Upstream{Targets: []string{"https://core.bank.example/api", "https://core2.bank.example/api"}, TimeoutMs: 10000},
		Retention: RetentionSealed,
	}
}

func catCreate(t *testing.T, s *Store, id string, spec APISpec, at int64) *API {
	t.Helper()
	var a API
	catMustApply(t, s, CmdAPICreate, at, APICreate{ID: id, APISpec: spec}, &a)
	return &a
}

func catPublish(t *testing.T, s *Store, id string, at int64) *API {
	t.Helper()
	a, _ := s.Registry().Catalogue.API(id)
	var out API
	catMustApply(t, s, CmdAPIPublish, at, APITransition{ID: id, ExpectedVersion: a.Version}, &out)
	return &out
}

func TestAPILifecycle(t *testing.T) {
	s := catStore(t)
	a := catCreate(t, s, "api_balance", catBalanceSpec(), catT0)
	if a.Status != APIDraft || a.Version != 1 || a.CreatedBy != "admin:adm_operator" {
		t.Fatalf("created %+v", a)
	}
	steps := []struct {
		name  string
		typ   string
		at    int64
		p     any
		code  string // "" = success
		field string
		state string // status after
	}{
		{"draft cannot be deprecated", CmdAPIDeprecate, catT0 + 1, APIDeprecate{ID: "api_balance", ExpectedVersion: 1, SunsetMs: catT0 + 1e9}, CodeConflict, "", APIDraft},
		{"stale version", CmdAPIPublish, catT0 + 1, APITransition{ID: "api_balance", ExpectedVersion: 7}, CodeConflict, "", APIDraft},
		{"unknown API", CmdAPIPublish, catT0 + 1, APITransition{ID: "api_nothere", ExpectedVersion: 1}, CodeNotFound, "", APIDraft},
		{"draft update needs no summary", CmdAPIUpdate, catT0 + 2, APIUpdate{ID: "api_balance", ExpectedVersion: 1, APISpec: catBalanceSpec()}, "", "", APIDraft},
		{"publish", CmdAPIPublish, catT0 + 3, APITransition{ID: "api_balance", ExpectedVersion: 2}, "", "", APIPublished},
		{"publish twice", CmdAPIPublish, catT0 + 4, APITransition{ID: "api_balance", ExpectedVersion: 3}, CodeConflict, "", APIPublished},
		{"published update needs summary", CmdAPIUpdate, catT0 + 4, APIUpdate{ID: "api_balance", ExpectedVersion: 3, APISpec: catBalanceSpec()}, CodeInvalid, "summary", APIPublished},
		{"published path is frozen", CmdAPIUpdate, catT0 + 4, APIUpdate{ID: "api_balance", ExpectedVersion: 3, Summary: "x", APISpec: func() APISpec {
			s := catBalanceSpec()
			s.Path = "/v1/accounts/{account_no}/bal"
			return s
		}()}, CodeInvalid, "path", APIPublished},
		{"published update", CmdAPIUpdate, catT0 + 5, APIUpdate{ID: "api_balance", ExpectedVersion: 3, Summary: "新增 days 参数 / days added", APISpec: catBalanceSpec()}, "", "", APIPublished},
		{"published cannot retire", CmdAPIRetire, catT0 + 6, APITransition{ID: "api_balance", ExpectedVersion: 4}, CodeConflict, "", APIPublished},
		{"sunset in the past", CmdAPIDeprecate, catT0 + 6, APIDeprecate{ID: "api_balance", ExpectedVersion: 4, SunsetMs: catT0 + 6}, CodeInvalid, "sunset_ms", APIPublished},
		{"deprecate", CmdAPIDeprecate, catT0 + 7, APIDeprecate{ID: "api_balance", ExpectedVersion: 4, SunsetMs: catT0 + 1000}, "", "", APIDeprecated},
		{"move sunset", CmdAPIDeprecate, catT0 + 8, APIDeprecate{ID: "api_balance", ExpectedVersion: 5, SunsetMs: catT0 + 2000}, "", "", APIDeprecated},
		{"retire before sunset", CmdAPIRetire, catT0 + 1999, APITransition{ID: "api_balance", ExpectedVersion: 6}, CodeConflict, "", APIDeprecated},
		{"retire", CmdAPIRetire, catT0 + 2000, APITransition{ID: "api_balance", ExpectedVersion: 6, Summary: "replaced by v2"}, "", "", APIRetired},
		{"retired cannot change", CmdAPIUpdate, catT0 + 2001, APIUpdate{ID: "api_balance", ExpectedVersion: 7, Summary: "x", APISpec: catBalanceSpec()}, CodeConflict, "", APIRetired},
		{"retired cannot publish", CmdAPIPublish, catT0 + 2001, APITransition{ID: "api_balance", ExpectedVersion: 7}, CodeConflict, "", APIRetired},
		{"retire twice", CmdAPIRetire, catT0 + 2001, APITransition{ID: "api_balance", ExpectedVersion: 7}, CodeConflict, "", APIRetired},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			res := catApply(t, s, st.typ, st.at, st.p)
			if st.code == "" {
				if res.Err != nil {
					t.Fatalf("%v", res.Err)
				}
			} else {
				catWantErr(t, res, st.code, st.field)
			}
			a, ok := s.Registry().Catalogue.API("api_balance")
			if !ok || a.Status != st.state {
				t.Fatalf("status %q, want %q", a.Status, st.state)
			}
		})
	}
	a, _ = s.Registry().Catalogue.API("api_balance")
	if a.Version != 7 || a.RetiredMs != catT0+2000 || a.SunsetMs != catT0+2000 || a.DeprecatedMs != catT0+7 || a.PublishedMs != catT0+3 {
		t.Fatalf("final %+v", a)
	}
	// The change log has one row per successful change, with versions.
	var changes []APIChange
	if err := s.read(func(db *sql.DB) error {
		var err error
		changes, _, err = listAPIChanges(db, "api_balance", 100, 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range changes {
		got = append(got, c.Action+":"+c.FromStatus+">"+c.ToStatus)
		if c.ToVersion != c.FromVersion+1 || c.ActorID != "adm_operator" || len(c.Spec) == 0 {
			t.Fatalf("change %+v", c)
		}
	}
	want := "retire:deprecated>retired deprecate:deprecated>deprecated deprecate:published>deprecated update:published>published publish:draft>published update:draft>draft create:>draft"
	if strings.Join(got, " ") != want {
		t.Fatalf("change log\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	// A deprecated API can be published again (the deprecation withdrawn).
	catCreate(t, s, "api_transfer", catTransferSpec(), catT0)
	catPublish(t, s, "api_transfer", catT0+1)
	catMustApply(t, s, CmdAPIDeprecate, catT0+2, APIDeprecate{ID: "api_transfer", ExpectedVersion: 2, SunsetMs: catT0 + 5000}, nil)
	p := catPublish(t, s, "api_transfer", catT0+3)
	if p.Status != APIPublished || p.SunsetMs != 0 || p.DeprecatedMs != 0 {
		t.Fatalf("republished %+v", p)
	}
	// A draft can be retired at once.
	d := catBalanceSpec()
	d.Path = "/v1/accounts/{account_no}/history"
	catCreate(t, s, "api_draft", d, catT0)
	catMustApply(t, s, CmdAPIRetire, catT0+1, APITransition{ID: "api_draft", ExpectedVersion: 1}, nil)
}

func TestAPIRouteUniqueness(t *testing.T) {
	s := catStore(t)
	catCreate(t, s, "api_one", catBalanceSpec(), catT0)
	dup := catBalanceSpec()
	dup.Path = "/v1/accounts/{acct}/balance" // the same route with another parameter name
	dup.Params.Path = nil
	catWantErr(t, catApply(t, s, CmdAPICreate, catT0, APICreate{ID: "api_two", APISpec: dup}), CodeConflict, "")
	catWantErr(t, catApply(t, s, CmdAPICreate, catT0, APICreate{ID: "api_one", APISpec: catTransferSpec()}), CodeConflict, "")
	other := dup
	other.Method = "POST"
	catCreate(t, s, "api_three", other, catT0) // another method is another route
	v2 := catBalanceSpec()
	v2.APIVersion, v2.Path = "v2", "/v2/accounts/{account_no}/balance"
	catCreate(t, s, "api_v2", v2, catT0)
	// Once the first is retired its route is free again.
	catMustApply(t, s, CmdAPIRetire, catT0+1, APITransition{ID: "api_one", ExpectedVersion: 1}, nil)
	catCreate(t, s, "api_two", dup, catT0+2)
	// An update cannot move a draft onto a taken route.
	mv := catBalanceSpec()
	mv.APIVersion, mv.Path = "v2", "/v2/accounts/{account_no}/balance"
	catWantErr(t, catApply(t, s, CmdAPIUpdate, catT0+3, APIUpdate{ID: "api_two", ExpectedVersion: 1, APISpec: mv}), CodeConflict, "")
}

func TestAPISpecValidation(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*APISpec)
		field string
	}{
		{"ok", func(*APISpec) {}, ""},
		{"no name", func(s *APISpec) { s.Name = " " }, "name"},
		{"control in name", func(s *APISpec) { s.Name = "a\x00b" }, "name"},
		{"bad version", func(s *APISpec) { s.APIVersion = "1" }, "api_version"},
		{"bad method", func(s *APISpec) { s.Method = "get" }, "method"},
		{"path not starting with version", func(s *APISpec) { s.Path = "/v2/accounts/{account_no}/balance" }, "path"},
		{"path only version", func(s *APISpec) { s.Path = "/v1"; s.Params.Path = nil }, "path"},
		{"duplicate param", func(s *APISpec) { s.Path = "/v1/{account_no}/{account_no}" }, "path"},
		{"bad param name", func(s *APISpec) { s.Path = "/v1/accounts/{Account}/balance" }, "path"},
		{"bad level", func(s *APISpec) { s.Level = "A3" }, "level"},
		{"A1 acting for a user", func(s *APISpec) { s.Level = LevelA1 }, "acts_for_user"},
		{"missing scope", func(s *APISpec) { s.ConsentScope = "" }, "consent_scope"},
		{"bad scope", func(s *APISpec) { s.ConsentScope = "Accounts" }, "consent_scope"},
		{"scope without user", func(s *APISpec) { s.ActsForUser = false }, "consent_scope"},
		{"path schema misses a param", func(s *APISpec) { s.Params.Path = json.RawMessage(`{"type":"object","properties":{}}`) }, "params.path"},
		{"path schema extra param", func(s *APISpec) {
			s.Params.Path = json.RawMessage(`{"type":"object","properties":{"account_no":{"type":"string"},"x":{"type":"string"}},"required":["account_no","x"]}`)
		}, "params.path"},
		{"path param not required", func(s *APISpec) {
			s.Params.Path = json.RawMessage(`{"type":"object","properties":{"account_no":{"type":"string"}}}`)
		}, "params.path"},
		{"path param object", func(s *APISpec) {
			s.Params.Path = json.RawMessage(`{"type":"object","properties":{"account_no":{"type":"object"}},"required":["account_no"]}`)
		}, "params.path"},
		{"query unknown keyword", func(s *APISpec) { s.Params.Query = json.RawMessage(`{"type":"object","oneOf":[]}`) }, "params.query"},
		{"query object param", func(s *APISpec) {
			s.Params.Query = json.RawMessage(`{"type":"object","properties":{"q":{"type":"object"}}}`)
		}, "params.query"},
		{"body string", func(s *APISpec) { s.Params.Body = json.RawMessage(`{"type":"string"}`) }, "params.body"},
		{"no targets", func(s *APISpec) { s.Upstream.Targets = nil }, "upstream.targets"},
		{"ftp target", func(s *APISpec) { s.Upstream.Targets = []string{"ftp://x"} }, "upstream.targets[0]"},
		{"target with user", func(s *APISpec) { s.Upstream.Targets = []string{"https://u:p@x"} }, "upstream.targets[0]"},
		{"target with query", func(s *APISpec) { s.Upstream.Targets = []string{"https://x/?a=1"} }, "upstream.targets[0]"},
		{"sandbox mixed", func(s *APISpec) { s.Upstream.Targets = []string{"https://x", UpstreamSandbox} }, "upstream.targets[1]"},
		{"timeout low", func(s *APISpec) { s.Upstream.TimeoutMs = 99 }, "upstream.timeout_ms"},
		{"timeout high", func(s *APISpec) { s.Upstream.TimeoutMs = 60001 }, "upstream.timeout_ms"},
		{"mask path", func(s *APISpec) { s.Masking = []MaskRule{{Field: "$..a", Kind: MaskName}} }, "masking[0].field"},
		{"mask kind", func(s *APISpec) { s.Masking = []MaskRule{{Field: "a", Kind: "hash"}} }, "masking[0].kind"},
		{"mask keep on non-custom", func(s *APISpec) { s.Masking = []MaskRule{{Field: "a", Kind: MaskPhone, KeepLast: 4}} }, "masking[0].keep_first"},
		{"mask custom", func(s *APISpec) {
			s.Masking = []MaskRule{{Field: "$.a[*].b", Kind: MaskCustom, KeepFirst: 3, KeepLast: 4}}
		}, ""},
		{"mask custom too much", func(s *APISpec) { s.Masking = []MaskRule{{Field: "a", Kind: MaskCustom, KeepLast: 40}} }, "masking[0].keep_first"},
		{"retention", func(s *APISpec) { s.Retention = "forever" }, "retention"},
		{"negative limit", func(s *APISpec) { s.Limits.Burst = -1 }, "limits.burst"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := catBalanceSpec()
			tt.edit(&spec)
			p := &APICreate{ID: "api_test", APISpec: spec}
			err := p.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("unexpected %v", err)
				}
				return
			}
			ce, ok := err.(*CommandError)
			if !ok || ce.Code != CodeInvalid || ce.Field != tt.field {
				t.Fatalf("want invalid %s, got %v", tt.field, err)
			}
		})
	}
	if err := (&APICreate{ID: "API_X", APISpec: catBalanceSpec()}).Validate(); err == nil {
		t.Fatal("bad id accepted")
	}
}

func TestGrants(t *testing.T) {
	s := catStore(t)
	catSeedApplicant(t, s, "apl_a", "https://a.example/hook", catApp1, catApp2)
	catExec(t, s, "UPDATE apps SET status = 'exited' WHERE id = ?", catApp2)
	catCreate(t, s, "api_balance", catBalanceSpec(), catT0)
	catWantErr(t, catApply(t, s, CmdGrantSet, catT0, GrantSet{AppID: catApp1, APIID: "api_balance"}), CodeConflict, "") // draft
	catPublish(t, s, "api_balance", catT0+1)
	catWantErr(t, catApply(t, s, CmdGrantSet, catT0, GrantSet{AppID: catApp3, APIID: "api_balance"}), CodeNotFound, "")
	catWantErr(t, catApply(t, s, CmdGrantSet, catT0, GrantSet{AppID: catApp1, APIID: "api_nothere"}), CodeNotFound, "")
	catWantErr(t, catApply(t, s, CmdGrantSet, catT0, GrantSet{AppID: catApp2, APIID: "api_balance"}), CodeConflict, "") // exited app
	neg := int64(-1)
	for _, bad := range []struct {
		p     GrantSet
		field string
	}{
		{GrantSet{AppID: "nope!", APIID: "api_balance"}, "app_id"},
		{GrantSet{AppID: catApp1, APIID: "balance"}, "api_id"},
		{GrantSet{AppID: catApp1, APIID: "api_balance", Limits: &LimitsOverride{Burst: &neg}}, "limits.burst"},
	} {
		if ce, ok := bad.p.Validate().(*CommandError); !ok || ce.Field != bad.field {
			t.Errorf("%+v: %v", bad.p, bad.p.Validate())
		}
	}

	view := s.Registry().Catalogue
	if _, ok := view.Grant(catApp1, "api_balance"); ok {
		t.Fatal("default must be deny")
	}
	if _, ok := view.EffectiveLimits(catApp1, "api_balance"); ok {
		t.Fatal("limits without a grant")
	}
	var g Grant
	catMustApply(t, s, CmdGrantSet, catT0+2, GrantSet{AppID: catApp1, APIID: "api_balance"}, &g)
	if g.GrantedBy != "admin:adm_operator" || g.GrantedMs != catT0+2 {
		t.Fatalf("grant %+v", g)
	}
	view = s.Registry().Catalogue
	if l, ok := view.EffectiveLimits(catApp1, "api_balance"); !ok || l != catBalanceSpec().Limits {
		t.Fatalf("default limits %+v %v", l, ok)
	}
	rate, unlimited := int64(3), int64(0)
	catMustApply(t, s, CmdGrantSet, catT0+3, GrantSet{AppID: catApp1, APIID: "api_balance", Limits: &LimitsOverride{RatePerSecond: &rate, DailyQuota: &unlimited}}, nil)
	view = s.Registry().Catalogue
	want := Limits{RatePerSecond: 3, Burst: 20, Concurrency: 5, DailyQuota: 0}
	if l, _ := view.EffectiveLimits(catApp1, "api_balance"); l != want {
		t.Fatalf("overridden limits %+v", l)
	}
	if gs := view.GrantsOf(catApp1); len(gs) != 1 || gs[0].APIID != "api_balance" {
		t.Fatalf("grants of app %+v", gs)
	}
	catMustApply(t, s, CmdGrantRevoke, catT0+4, GrantRevoke{AppID: catApp1, APIID: "api_balance"}, nil)
	if _, ok := s.Registry().Catalogue.Grant(catApp1, "api_balance"); ok {
		t.Fatal("revoked grant still there")
	}
	catWantErr(t, catApply(t, s, CmdGrantRevoke, catT0+5, GrantRevoke{AppID: catApp1, APIID: "api_balance"}), CodeNotFound, "")
}

func TestNoticesGoToGrantedApplicantsOnly(t *testing.T) {
	s := catStore(t)
	catSeedApplicant(t, s, "apl_a", "https://a.example/hook", catApp1, catApp2) // two apps, both granted: one notice
	catSeedApplicant(t, s, "apl_b", "", catApp3)                                // granted, no callback URL
	catSeedApplicant(t, s, "apl_c", "https://c.example/hook", catApp4)          // not granted
	catCreate(t, s, "api_balance", catBalanceSpec(), catT0)
	catCreate(t, s, "api_transfer", catTransferSpec(), catT0)
	catPublish(t, s, "api_balance", catT0+1)
	catPublish(t, s, "api_transfer", catT0+1)
	if n := catCount(t, s, "SELECT COUNT(*) FROM notices"); n != 0 {
		t.Fatalf("%d notices before any grant", n)
	}
	for _, app := range []string{catApp1, catApp3} {
		catMustApply(t, s, CmdGrantSet, catT0+2, GrantSet{AppID: app, APIID: "api_balance"}, nil)
	}
	grpSystemGrant(t, s, catApp2, "api_balance", catT0+2) // a production app
	catMustApply(t, s, CmdGrantSet, catT0+2, GrantSet{AppID: catApp4, APIID: "api_transfer"}, nil)

	check := func(kind string, wantApplicants ...string) {
		t.Helper()
		var got []string
		s.read(func(db *sql.DB) error {
			rows, err := db.Query("SELECT applicant_id, title, body, api_id FROM notices WHERE kind = ? ORDER BY applicant_id", kind)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var a, title, body, api string
				rows.Scan(&a, &title, &body, &api)
				if api != "api_balance" || !strings.Contains(title, "Account balance v1") || !strings.Contains(body, "GET /v1/accounts/{account_no}/balance") {
					t.Errorf("notice %s: %q %q %q", a, title, body, api)
				}
				got = append(got, a)
			}
			return nil
		})
		if strings.Join(got, ",") != strings.Join(wantApplicants, ",") {
			t.Fatalf("%s notices for %v, want %v", kind, got, wantApplicants)
		}
	}
	catMustApply(t, s, CmdAPIUpdate, catT0+3, APIUpdate{ID: "api_balance", ExpectedVersion: 2, Summary: "新增 days / days added", APISpec: catBalanceSpec()}, nil)
	check(NoticeAPIChanged, "apl_a", "apl_b")
	catMustApply(t, s, CmdAPIDeprecate, catT0+4, APIDeprecate{ID: "api_balance", ExpectedVersion: 3, SunsetMs: catT0 + 86400000}, nil)
	check(NoticeAPIDeprecated, "apl_a", "apl_b")
	catMustApply(t, s, CmdAPIPublish, catT0+5, APITransition{ID: "api_balance", ExpectedVersion: 4, Summary: "deprecation withdrawn"}, nil)
	check(NoticeAPIPublished, "apl_a", "apl_b")
	catMustApply(t, s, CmdAPIDeprecate, catT0+6, APIDeprecate{ID: "api_balance", ExpectedVersion: 5, SunsetMs: catT0 + 1000}, nil)
	catMustApply(t, s, CmdAPIRetire, catT0+1000, APITransition{ID: "api_balance", ExpectedVersion: 6}, nil)
	check(NoticeAPIRetired, "apl_a", "apl_b")
	if n := catCount(t, s, "SELECT COUNT(*) FROM grants WHERE api_id = 'api_balance'"); n != 0 {
		t.Fatalf("%d grants left on a retired API", n)
	}
	if _, ok := s.Registry().Catalogue.Grant(catApp1, "api_balance"); ok {
		t.Fatal("grant of a retired API in the registry")
	}
	// Deliveries: pending to a's callback URL, skipped for b (no URL).
	if n := catCount(t, s, "SELECT COUNT(*) FROM webhook_deliveries WHERE applicant_id = 'apl_a' AND status = 'pending' AND url = 'https://a.example/hook'"); n != 5 {
		t.Fatalf("%d pending deliveries for a", n)
	}
	if n := catCount(t, s, "SELECT COUNT(*) FROM webhook_deliveries WHERE applicant_id = 'apl_b' AND status = 'skipped'"); n != 5 {
		t.Fatalf("%d skipped deliveries for b", n)
	}
	if n := catCount(t, s, "SELECT COUNT(*) FROM notices WHERE applicant_id = 'apl_c'"); n != 0 {
		t.Fatalf("%d notices for an applicant without a grant", n)
	}
	// The feed is newest first and paginated.
	s.read(func(db *sql.DB) error {
		feed, total, err := listNotices(db, NoticeFilter{ApplicantIDs: []string{"apl_a"}}, 2, 0)
		if err != nil || total != 5 || len(feed) != 2 || feed[0].Kind != NoticeAPIRetired || feed[0].Delivery == nil || feed[0].Delivery.Status != DeliveryPending {
			t.Fatalf("feed %+v %d %v", feed, total, err)
		}
		feed, _, _ = listNotices(db, NoticeFilter{ApplicantIDs: []string{"apl_a"}}, 2, 4)
		if len(feed) != 1 || feed[0].Kind != NoticeAPIChanged {
			t.Fatalf("last page %+v", feed)
		}
		if _, total, _ := listNotices(db, NoticeFilter{}, 10, 0); total != 0 {
			t.Fatalf("an empty filter lists %d notices", total)
		}
		if feed, total, _ := listNotices(db, NoticeFilter{AllApplicants: true, DeliveryStatus: DeliverySkipped, Kind: NoticeAPIRetired}, 10, 0); total != 1 || feed[0].ApplicantID != "apl_b" {
			t.Fatalf("filtered %+v", feed)
		}
		return nil
	})
	// Notice ids are derived from the command id and applicant: the same on
	// every node, distinct per applicant.
	if a, b := derivedNoticeID("c1", "apl_a"), derivedNoticeID("c1", "apl_b"); a == b || !noticeIDPattern.MatchString(a) {
		t.Fatalf("derived ids %s %s", a, b)
	}
}

func TestWebhookDeliveryState(t *testing.T) {
	s := catStore(t)
	catSeedApplicant(t, s, "apl_a", "https://a.example/hook", catApp1)
	// A notice inserted by another domain without a delivery is picked up
	// by webhook.enqueue, once.
	catExec(t, s, `INSERT INTO notices (id, applicant_id, kind, title, body, created_ms) VALUES ('ntc_aaaa1', 'apl_a', 'applicant.exit', 't', 'b', 5)`)
	var ids []string
	s.read(func(db *sql.DB) error { ids, _ = noticesWithoutDelivery(db, 10); return nil })
	if len(ids) != 1 || ids[0] != "ntc_aaaa1" {
		t.Fatalf("without delivery %v", ids)
	}
	var enq map[string]int
	catMustApply(t, s, CmdWebhookEnqueue, catT0, WebhookEnqueue{NoticeIDs: []string{"ntc_aaaa1", "ntc_unknown"}}, &enq)
	catMustApply(t, s, CmdWebhookEnqueue, catT0, WebhookEnqueue{NoticeIDs: []string{"ntc_aaaa1"}}, &enq)
	if enq["enqueued"] != 0 {
		t.Fatalf("enqueued twice: %v", enq)
	}
	var due []DueDelivery
	s.read(func(db *sql.DB) error { due, _ = dueDeliveries(db, catT0, 10); return nil })
	if len(due) != 1 || due[0].Notice.Kind != "applicant.exit" || due[0].URL != "https://a.example/hook" || due[0].Attempts != 0 {
		t.Fatalf("due %+v", due)
	}
	var d WebhookDelivery
	delivery := func() WebhookDelivery {
		t.Helper()
		var d WebhookDelivery
		s.read(func(db *sql.DB) error { d, _, _ = noticeDelivery(db, "ntc_aaaa1"); return nil })
		return d
	}
	var res map[string]any
	catMustApply(t, s, CmdWebhookAttempt, catT0+1, WebhookAttempt{NoticeID: "ntc_aaaa1", Attempt: 1, HTTPStatus: 500, Error: "status 500", NextAttemptMs: catT0 + 10000}, &res)
	if _, ok := res["url"]; ok || res["status"] != DeliveryPending {
		t.Fatalf("the attempt's result %v (it goes into the change record: no URL)", res)
	}
	d = delivery()
	if d.Status != DeliveryPending || d.Attempts != 1 || d.NextAttemptMs != catT0+10000 || d.LastStatus != 500 {
		t.Fatalf("after a failure %+v", d)
	}
	s.read(func(db *sql.DB) error { due, _ = dueDeliveries(db, catT0+9999, 10); return nil })
	if len(due) != 0 {
		t.Fatal("delivery due before its backoff")
	}
	// A stale report (attempt 1 again) changes nothing.
	catWantErr(t, catApply(t, s, CmdWebhookAttempt, catT0+2, WebhookAttempt{NoticeID: "ntc_aaaa1", Attempt: 1, OK: true, HTTPStatus: 200}), CodeConflict, "")
	catMustApply(t, s, CmdWebhookAttempt, catT0+10001, WebhookAttempt{NoticeID: "ntc_aaaa1", Attempt: 2, OK: true, HTTPStatus: 204}, &res)
	d = delivery()
	if d.Status != DeliveryDelivered || d.DeliveredMs != catT0+10001 || d.LastError != "" {
		t.Fatalf("delivered %+v", d)
	}
	// Once delivered, never again.
	catWantErr(t, catApply(t, s, CmdWebhookAttempt, catT0+10002, WebhookAttempt{NoticeID: "ntc_aaaa1", Attempt: 3, HTTPStatus: 500, Error: "x", NextAttemptMs: catT0 + 20000}), CodeConflict, "")
	s.read(func(db *sql.DB) error { due, _ = dueDeliveries(db, catT0+1e9, 10); return nil })
	if len(due) != 0 {
		t.Fatal("a delivered notice is due again")
	}

	// A delivery gives up after WebhookMaxAttempts, or when told to.
	catExec(t, s, `INSERT INTO notices (id, applicant_id, kind, title, body, created_ms) VALUES ('ntc_bbbb1', 'apl_a', 'x', 't', 'b', 5)`)
	catMustApply(t, s, CmdWebhookEnqueue, catT0, WebhookEnqueue{NoticeIDs: []string{"ntc_bbbb1"}}, nil)
	for i := 1; i <= WebhookMaxAttempts; i++ {
		catMustApply(t, s, CmdWebhookAttempt, catT0+int64(i), WebhookAttempt{NoticeID: "ntc_bbbb1", Attempt: i, Error: "timeout", NextAttemptMs: catT0 + 100}, &d)
	}
	if d.Status != DeliveryFailed || d.Attempts != WebhookMaxAttempts {
		t.Fatalf("after max attempts %+v", d)
	}
	for _, bad := range []WebhookAttempt{
		{NoticeID: "x", Attempt: 1},
		{NoticeID: "ntc_bbbb1", Attempt: 0},
		{NoticeID: "ntc_bbbb1", Attempt: 1, OK: true, Error: "x"},
		{NoticeID: "ntc_bbbb1", Attempt: 1, Error: "line\nbreak"},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
}

func TestCatalogueRegistryReusesUnchangedAPIs(t *testing.T) {
	s := catStore(t)
	catSeedApplicant(t, s, "apl_a", "", catApp1)
	catCreate(t, s, "api_balance", catBalanceSpec(), catT0)
	catPublish(t, s, "api_balance", catT0)
	before, _ := s.Registry().Catalogue.API("api_balance")
	catMustApply(t, s, CmdGrantSet, catT0, GrantSet{AppID: catApp1, APIID: "api_balance"}, nil)
	after, _ := s.Registry().Catalogue.API("api_balance")
	if before != after {
		t.Fatal("an unchanged API was recompiled")
	}
	if after.params == nil || len(after.Masking[0].Steps()) != 1 {
		t.Fatal("API not compiled")
	}
	// A reopened store compiles from scratch.
	s2 := s
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s2.Open(); err != nil {
		t.Fatal(err)
	}
	a, ok := s2.Registry().Catalogue.API("api_balance")
	if !ok || a.params == nil || a.Status != APIPublished {
		t.Fatalf("after reopen %+v", a)
	}
}

// TestGrantsView: the catalogue view's grants, held once per app, answer
// Grant, GrantsOf and GrantsFor as the grants table does, for grants
// written in any order.
func TestGrantsView(t *testing.T) {
	s := catStore(t)
	catSeedApplicant(t, s, "apl_a", "https://a.example/hook", catApp1, catApp2)
	catSeedApplicant(t, s, "apl_b", "https://b.example/hook", catApp3)
	apis := []string{"api_aa", "api_bb", "api_cc"}
	for i, id := range apis {
		spec := catBalanceSpec()
		spec.Path = "/v1/accounts/{account_no}/balance" + strings.Repeat("s", i)
		catCreate(t, s, id, spec, catT0+int64(i))
	}
	want := map[[2]string]string{ // (app, api) → granted_by
		{catApp3, "api_cc"}: "admin:x",
		{catApp1, "api_bb"}: "admin:y",
		{catApp3, "api_aa"}: "admin:x",
		{catApp1, "api_aa"}: "admin:x",
		{catApp2, "api_cc"}: "admin:z",
	}
	for k, by := range want { // map order: any order
		catExec(t, s, "INSERT INTO grants (app_id, api_id, limits, granted_by, granted_ms) VALUES (?, ?, ?, ?, 1)",
			k[0], k[1], `{"rate_per_second": 7}`, by)
	}
	reg, err := loadRegistry(s.db, PartAll, nil)
	if err != nil {
		t.Fatal(err)
	}
	v := reg.Catalogue
	for _, app := range []string{catApp1, catApp2, catApp3, "LJ2025NOSUCHAPP0000000"} {
		var apiIDs []string
		for _, api := range append(apis, "api_none") {
			g, ok := v.Grant(app, api)
			by, exists := want[[2]string{app, api}]
			if ok != exists || (ok && (g.AppID != app || g.APIID != api || g.GrantedBy != by || g.Limits.RatePerSecond == nil || *g.Limits.RatePerSecond != 7)) {
				t.Errorf("Grant(%s, %s) = %+v, %v; want granted %v by %q", app, api, g, ok, exists, by)
			}
			if exists {
				apiIDs = append(apiIDs, api)
			}
		}
		var got []string
		for _, g := range v.GrantsOf(app) {
			got = append(got, g.APIID)
		}
		if !slices.Equal(got, apiIDs) {
			t.Errorf("GrantsOf(%s) = %v, want %v", app, got, apiIDs)
		}
	}
	for _, api := range apis {
		var apps, got []string
		for _, app := range []string{catApp1, catApp2, catApp3} { // sorted
			if _, ok := want[[2]string{app, api}]; ok {
				apps = append(apps, app)
			}
		}
		for _, g := range v.GrantsFor(api) {
			got = append(got, g.AppID)
		}
		if !slices.Equal(got, apps) {
			t.Errorf("GrantsFor(%s) = %v, want %v", api, got, apps)
		}
	}
}
