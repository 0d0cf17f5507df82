package sandbox

import (
	"testing"
	"time"

	"lijiang/platform"
)

// TestAPIsAreValid checks every demo API against the catalogue's own rules.
func TestAPIsAreValid(t *testing.T) {
	for _, spec := range APIs() {
		t.Run(spec.Path, func(t *testing.T) {
			p := platform.APICreate{ID: platform.NewID("api"), APISpec: spec}
			if _, err := platform.NewCommand(platform.CmdAPICreate, 1, "", platform.Actor{Kind: platform.ActorSystem}, time.Now(), p); err != nil {
				t.Fatal(err)
			}
		})
	}
}
