package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"lijiang/platform"
	"lijiang/platform/lj1"
)

// TestE2EHealthCheckFailover: a POST API with a dead first target and a
// healthy second one fails (a POST is not retried on another target) until
// a health check marks the dead host down; then its calls go to the
// healthy target at once.
func TestE2EHealthCheckFailover(t *testing.T) {
	env := e2e(t)
	healthy := env.newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true}`))
	})
	dead := closedPortURL(t)
	path := fmt.Sprintf("/v1/failover%d/call", env.freshSeq.Add(1))
	id := platform.NewID("api")
	env.run(t, platform.CmdAPICreate, platform.APICreate{ID: id, APISpec: platform.APISpec{
		APIContract: platform.APIContract{Name: "failover", APIVersion: "v1", Method: http.MethodPost, Path: path, Level: platform.LevelA1,
			Params: platform.ParamSchemas{Body: json.RawMessage(`{"type":"object"}`)}},
		Retention: platform.RetentionNone,
		Upstream:  platform.Upstream{Targets: []string{dead, healthy.srv.URL}, TimeoutMs: 2000},
	}})
	env.run(t, platform.CmdAPIPublish, platform.APITransition{ID: id, ExpectedVersion: 1})
	env.run(t, platform.CmdGrantSet, platform.GrantSet{AppID: env.prod.ID, APIID: id})
	call := func() e2eResp {
		return env.call(t, e2eCall{app: env.prod, method: http.MethodPost, target: path, body: []byte(`{}`)})
	}
	env.wantCode(t, call(), lj1.CodeUpstreamUnavailable)
	env.gw.health.probe(context.Background(), env.store.Registry())
	if !env.gw.health.isDown(dead) || env.gw.health.isDown(healthy.srv.URL) {
		t.Fatalf("probe: dead down %v, healthy down %v", env.gw.health.isDown(dead), env.gw.health.isDown(healthy.srv.URL))
	}
	before := healthy.calls.Load()
	wantOK(t, call())
	if healthy.calls.Load() != before+1 {
		t.Error("the call did not go to the healthy target")
	}
	t.Cleanup(func() { env.gw.health.probe(context.Background(), &platform.Registry{}) })
}

func TestUpFirst(t *testing.T) {
	g := New(Config{Registry: func() *platform.Registry { return nil }})
	g.health.down = map[string]bool{"a:1": true, "c:1": true}
	got := g.upFirst([]string{"http://a:1", "http://b:1", "http://c:1", "http://d:1"})
	if want := []string{"http://b:1", "http://d:1", "http://a:1", "http://c:1"}; !slices.Equal(got, want) {
		t.Errorf("upFirst %v, want %v", got, want)
	}
	in := []string{"http://b:1", "http://d:1"}
	if got := g.upFirst(in); &got[0] != &in[0] {
		t.Error("no target down: the slice should be returned as is")
	}
}
