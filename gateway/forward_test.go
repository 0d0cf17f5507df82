package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"lijiang/platform"
)

// TestForwardURLAndRedirect: the upstream gets the base's path joined to
// the call's escaped path and its query as sent; an upstream's redirect is
// its answer, not followed.
func TestForwardURLAndRedirect(t *testing.T) {
	type seen struct{ path, rawPath, query, appID string }
	got := make(chan seen, 1)
	up := newUpServer(t, false, func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.URL.Path, r.URL.RawPath, r.URL.RawQuery, r.Header.Get(hdrUpAppID)}
		if r.URL.Path == "/p/moved" {
			w.Header().Set("Location", "/p/elsewhere")
			w.WriteHeader(http.StatusFound)
			return
		}
		w.Write([]byte(`{"ok":true}`))
	})
	g := &Gateway{}
	g.cfg.MaxResponse = 1 << 20
	rt := newUpTransport(nil)
	c := &call{requestID: "req-1", app: &platform.AppEntry{ID: "app-1"}, api: &platform.API{ID: "api-1"}, client: netip.MustParseAddr("192.0.2.7")}
	for _, tt := range []struct {
		base, target string
		want         seen
		status       int
	}{
		{up.URL + "/p", "/v1/accounts/a%2Fb/balance?currency=CNY&x=%E4%BA%BA", seen{"/p/v1/accounts/a/b/balance", "/p/v1/accounts/a%2Fb/balance", "currency=CNY&x=%E4%BA%BA", "app-1"}, 200},
		{up.URL + "/p/", "/v1/rates", seen{"/p/v1/rates", "", "", "app-1"}, 200},
		{up.URL, "/v1/a%20b?", seen{"/v1/a b", "", "", "app-1"}, 200},
		{up.URL + "/p", "/moved", seen{"/p/moved", "", "", "app-1"}, http.StatusFound},
	} {
		r := httptest.NewRequest(http.MethodGet, "https://gw.example"+tt.target, nil)
		resp, err := g.forward(context.Background(), rt, c, r, tt.base, nil, "", 5*time.Second)
		if err != nil {
			t.Fatalf("%s %s: %v", tt.base, tt.target, err)
		}
		if s := <-got; s != tt.want {
			t.Errorf("%s %s: upstream saw %+v, want %+v", tt.base, tt.target, s, tt.want)
		}
		if resp.status != tt.status {
			t.Errorf("%s %s: status %d, want %d", tt.base, tt.target, resp.status, tt.status)
		}
	}
}
