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

// TestAPIsAreDocumented: every sandbox API documents its answer (schema and
// example, which the catalogue checks against each other), and the request
// example of each API that takes a body or query parameters.
func TestAPIsAreDocumented(t *testing.T) {
	for _, spec := range APIs() {
		if len(spec.ResponseSchema) == 0 || len(spec.ResponseExample) == 0 {
			t.Errorf("%s %s: no response schema or example", spec.Method, spec.Path)
		}
		if (len(spec.Params.Body) > 0 || len(spec.Params.Query) > 0) && len(spec.RequestExample) == 0 {
			t.Errorf("%s %s: no request example", spec.Method, spec.Path)
		}
		if err := spec.ValidateResponse(spec.ResponseExample); err != nil {
			t.Errorf("%s %s: %v", spec.Method, spec.Path, err)
		}
	}
	if len(apiDocs) != len(APIs()) {
		t.Errorf("%d documented APIs, %d APIs", len(apiDocs), len(APIs()))
	}
}
