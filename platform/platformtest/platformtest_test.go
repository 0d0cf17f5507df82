package platformtest_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"lijiang/platform"
	"lijiang/platform/platformtest"
)

func TestSeedApplicant(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s := platform.NewStore(platform.StoreConfig{Path: path})
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	dev := platform.NewID("dev")
	r := s.Apply([]platform.Entry{{Index: 1, Term: 1, Data: mustDeveloper(t, dev)}})[0]
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	platformtest.SeedApplicant(t, path, platformtest.Applicant{ID: "apl_seed1", OwnerDeveloperID: dev,
		USCC: "91350100M000100Y43", CallbackURL: "https://hooks.example.com/x", AppID: "LJ2025SEED000000000001"})
	a, err := s.Applicant("apl_seed1")
	if err != nil || a.OwnerDeveloperID != dev || a.Status != platform.ApplicantApproved || a.CallbackURL != "https://hooks.example.com/x" {
		t.Fatalf("seeded applicant %+v, %v", a, err)
	}
	app, err := s.App("LJ2025SEED000000000001")
	if err != nil || app.ApplicantID != "apl_seed1" || app.Env != platform.EnvProduction || app.Status != platform.AppActive {
		t.Fatalf("seeded app %+v, %v", app, err)
	}
	// A missing file is not created.
	missing := filepath.Join(t.TempDir(), "missing.db")
	rec := &fatalRecorder{TB: t}
	platformtest.SeedApplicant(rec, missing, platformtest.Applicant{ID: "apl_seed2", OwnerDeveloperID: dev,
		USCC: "91350100M000100Y44", AppID: "LJ2025SEED000000000002"})
	if !rec.failed {
		t.Fatal("seeding a missing file succeeded")
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the missing file was created: %v", err)
	}
}

// fatalRecorder records a Fatalf instead of ending the test.
type fatalRecorder struct {
	testing.TB
	failed bool
}

func (f *fatalRecorder) Fatalf(string, ...any) { f.failed = true }

func mustDeveloper(t *testing.T, id string) []byte {
	t.Helper()
	hash, err := platform.HashPassword("a long test password")
	if err != nil {
		t.Fatal(err)
	}
	c, err := platform.NewCommand(platform.CmdDeveloperCreate, 1, "", platform.Actor{Kind: platform.ActorSystem, ID: "test"}, time.Now(),
		platform.DeveloperCreate{ID: id, Email: id + "@example.com", Name: "Dev", PasswordHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
