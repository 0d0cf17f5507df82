package gateway

import (
	"testing"
	"time"
)

func TestOpenBreakers(t *testing.T) {
	now := time.Unix(1000, 0)
	g := &Gateway{cfg: Config{Now: func() time.Time { return now }}, breaks: newBreakers()}
	for range breakerThreshold {
		g.breaks.get("https://user:pw@core.bank:8443").done(false, now)
	}
	g.breaks.get("https://other.bank").done(false, now)
	if got := g.OpenBreakers(); len(got) != 1 || got[0] != "https://core.bank:8443" {
		t.Fatalf("open %v", got)
	}
	now = now.Add(breakerCooldown)
	if got := g.OpenBreakers(); len(got) != 0 {
		t.Fatalf("open after the cooldown %v", got)
	}
}
