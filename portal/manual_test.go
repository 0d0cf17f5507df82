package portal

import (
	"net/http"
	"testing"
)

// TestManual: the developer manual is served to anyone, signed in or not,
// as Markdown; a node without one answers 404.
func TestManual(t *testing.T) {
	env := newTestEnv(t, func(c *Config) { c.Manual = "# LJ1\n\nSign every request.\n" })
	anon := env.newClient(env.PortalURL, env.portalSrv)
	for _, c := range []*client{anon, env.developer()} {
		var m manualJSON
		mustStatus(t, c.do("GET", "/manual", nil), http.StatusOK).JSON(t, &m)
		if m.Format != "markdown" || m.Markdown != "# LJ1\n\nSign every request.\n" {
			t.Fatalf("manual: %+v", m)
		}
	}
	bare := newTestEnv(t)
	mustStatus(t, bare.newClient(bare.PortalURL, bare.portalSrv).do("GET", "/manual", nil), http.StatusNotFound)
}
