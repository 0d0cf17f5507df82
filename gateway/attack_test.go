package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"lijiang/platform"
	"lijiang/platform/lj1"
)

// TestE2ESigFailDeny: after SigFailThreshold bad signatures from one
// address, its calls are answered IP_DENIED, good ones included, with the
// rule on the access record; an unknown App_ID and a known one go through
// the same answers at the same moments.
func TestE2ESigFailDeny(t *testing.T) {
	env := e2e(t)
	env.gw.sigfails.reset()
	t.Cleanup(env.gw.sigfails.reset)
	products := "/v1/products"
	type step struct {
		status    int
		code, msg string
	}
	run := func(t *testing.T, bad e2eCall) []step {
		env.gw.sigfails.reset()
		var out []step
		for i := 0; i < SigFailThreshold+2; i++ {
			r := env.call(t, bad)
			out = append(out, step{r.status, r.code, r.message})
		}
		return out
	}
	known := run(t, e2eCall{app: env.sbx, target: products, badSig: true})
	// A good call from the denied address is denied too.
	good := env.call(t, e2eCall{app: env.sbx, target: products})
	env.wantCode(t, good, lj1.CodeIPDenied)
	if rec, ok := env.sink.get(good.requestID); !ok || !slices.Contains(rec.Rules, "attack:sigfail_addr") {
		t.Errorf("access record rules %v, want attack:sigfail_addr", rec.Rules)
	}
	unknown := run(t, e2eCall{app: env.sbx, appID: platform.NewAppID(time.Now()), target: products, signKey: newSM2Key(t)})
	for i := range known {
		want := lj1.CodeSignatureInvalid
		if i >= SigFailThreshold {
			want = lj1.CodeIPDenied
		}
		if known[i].code != want {
			t.Errorf("known App_ID call %d: %s, want %s", i, known[i].code, want)
		}
		if known[i] != unknown[i] {
			t.Errorf("call %d: known App_ID %+v, unknown %+v: distinguishable", i, known[i], unknown[i])
		}
	}
	// The deny ends after SigFailDeny.
	env.clock.shift(t, SigFailDeny+time.Second)
	wantOK(t, env.call(t, e2eCall{app: env.sbx, target: products}))
}

// TestSigFailuresByAppID: failures under one App_ID from many addresses
// deny the App_ID, known or not (the table does not know); the table stays
// bounded under a flood of addresses.
func TestSigFailuresByAppID(t *testing.T) {
	now := time.Now()
	s := newSigFailures(nil)
	for i := 0; i < SigFailThreshold; i++ {
		s.fail(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), "LJ2026ANYAPPID", now)
	}
	if got := s.denied(netip.MustParseAddr("192.0.2.1"), "LJ2026ANYAPPID", now); got != "attack:sigfail_app" {
		t.Errorf("denied %q, want attack:sigfail_app", got)
	}
	if got := s.denied(netip.MustParseAddr("192.0.2.1"), "LJ2026OTHER", now); got != "" {
		t.Errorf("another App_ID denied: %q", got)
	}
	if got := s.denied(netip.MustParseAddr("192.0.2.1"), "LJ2026ANYAPPID", now.Add(SigFailDeny+time.Second)); got != "" {
		t.Errorf("still denied after the deny: %q", got)
	}
	// IPv6: one /64 is one key.
	for i := 0; i < SigFailThreshold; i++ {
		s.fail(netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", i+1)), "", now)
	}
	if got := s.denied(netip.MustParseAddr("2001:db8::ffff:1"), "", now); got != "attack:sigfail_addr" {
		t.Errorf("the /64 is not denied: %q", got)
	}
	// A flood of distinct addresses and App_IDs.
	f := newSigFailures(nil)
	for i := 0; i < 3*sigFailMaxEntries; i++ {
		f.fail(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), fmt.Sprintf("LJ%d", i), now.Add(time.Duration(i)*time.Microsecond))
	}
	if n := f.len(); n > sigFailMaxEntries {
		t.Fatalf("%d keys, bound %d", n, sigFailMaxEntries)
	}
}

// TestE2EBodyLimits: an API's max_body_bytes and max_json_depth refuse a
// body before it is parsed; within them the call goes through.
func TestE2EBodyLimits(t *testing.T) {
	env := e2e(t)
	up := env.newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{}`))
	})
	path := fmt.Sprintf("/v1/limits%d/call", env.freshSeq.Add(1))
	id := platform.NewID("api")
	env.run(t, platform.CmdAPICreate, platform.APICreate{ID: id, APISpec: platform.APISpec{
		APIContract: platform.APIContract{Name: "limits", APIVersion: "v1", Method: http.MethodPost, Path: path, Level: platform.LevelA1,
			Params: platform.ParamSchemas{Body: json.RawMessage(`{"type":"object"}`)}},
		Retention:    platform.RetentionNone,
		Upstream:     platform.Upstream{Targets: []string{up.srv.URL}, TimeoutMs: 2000},
		MaxBodyBytes: 64, MaxJSONDepth: 3,
	}})
	env.run(t, platform.CmdAPIPublish, platform.APITransition{ID: id, ExpectedVersion: 1})
	env.run(t, platform.CmdGrantSet, platform.GrantSet{AppID: env.prod.ID, APIID: id})
	call := func(body string) e2eResp {
		return env.call(t, e2eCall{app: env.prod, method: http.MethodPost, target: path, body: []byte(body)})
	}
	wantOK(t, call(`{"a":{"b":[1]}}`))
	env.wantCode(t, call(`{"a":"`+strings.Repeat("x", 64)+`"}`), lj1.CodeBodyTooLarge)
	deep := call(`{"a":{"b":[[1]]}}`)
	env.wantCode(t, deep, lj1.CodeParamInvalid)
	if !strings.Contains(deep.message, "nested deeper than 3") {
		t.Errorf("message %q", deep.message)
	}
	// Brackets inside strings do not count.
	wantOK(t, call(`{"a":"[[[[[[{{{{"}`))
	// Bad limits are refused.
	for _, bad := range []platform.APISpec{{MaxBodyBytes: -1}, {MaxBodyBytes: platform.MaxMaxBodyBytes + 1}, {MaxJSONDepth: 65}} {
		spec := platform.APISpec{APIContract: platform.APIContract{Name: "bad", APIVersion: "v1", Method: http.MethodPost, Path: "/v1/bad/x", Level: platform.LevelA1},
			Retention: platform.RetentionNone, Upstream: platform.Upstream{Targets: []string{up.srv.URL}}, MaxBodyBytes: bad.MaxBodyBytes, MaxJSONDepth: bad.MaxJSONDepth}
		if _, err := env.execAs(e2eSystem, time.Now(), platform.CmdAPICreate, platform.APICreate{ID: platform.NewID("api"), APISpec: spec}); err == nil {
			t.Errorf("limits %d/%d accepted", bad.MaxBodyBytes, bad.MaxJSONDepth)
		}
	}
}

func TestJSONDepthOver(t *testing.T) {
	for _, c := range []struct {
		in   string
		max  int
		over bool
	}{
		{`{}`, 1, false}, {`{"a":{}}`, 1, true}, {`[[["\"]]]]"]]]`, 3, false}, {`"{{{{"`, 0, false}, {`[[[[`, 3, true},
	} {
		if got := jsonDepthOver([]byte(c.in), c.max); got != c.over {
			t.Errorf("%s max %d: %v", c.in, c.max, got)
		}
	}
}
