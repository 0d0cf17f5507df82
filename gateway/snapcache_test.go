package gateway

import (
	"errors"
	"testing"

	"lijiang/platform"
	"lijiang/platform/smcrypto"
)

// fakeOpener opens anything and counts the calls.
type fakeOpener struct{ opens int }

func (f *fakeOpener) Open(aad string, blob []byte) ([]byte, error) {
	f.opens++
	if string(blob) == "bad" {
		return nil, errors.New("cannot open")
	}
	return []byte("secret-of-" + aad), nil
}

func (f *fakeOpener) Seal(aad string, b []byte) ([]byte, error) { return b, nil }

// TestSecretCacheFollowsTheApplicantsView: an App_Secret is opened once per
// credential and applicants view; a changed view (a rotation, a revocation)
// drops every opened secret, so the cache holds one view's secrets at most
// and a revoked secret does not stay in memory; a call on an older snapshot
// does not push the cache back; a failure to open is not cached.
func TestSecretCacheFollowsTheApplicantsView(t *testing.T) {
	op := &fakeOpener{}
	g := New(Config{Sealer: op})
	view1 := &platform.Registry{AppliedIndex: 5, Applicants: &platform.ApplicantsView{}}
	cred := &platform.Credential{ID: "crd_1", SecretSealed: []byte("sealed")}
	for i := 0; i < 3; i++ {
		k, err := g.appSecret(view1, cred)
		want := smcrypto.NewHMACKey([]byte("secret-of-"+platform.CredentialAAD("crd_1"))).Sum(nil, []byte("m"))
		if err != nil || !k.Equal([]byte("m"), want) {
			t.Fatalf("appSecret: %v", err)
		}
	}
	if op.opens != 1 || g.keys.len() != 1 {
		t.Fatalf("opens %d, cached %d; want 1, 1", op.opens, g.keys.len())
	}
	view2 := &platform.Registry{AppliedIndex: 6, Applicants: &platform.ApplicantsView{}}
	for i := 0; i < 100; i++ {
		other := &platform.Credential{ID: "crd_x" + string(rune('a'+i%26)) + string(rune('a'+i/26)), SecretSealed: []byte("sealed")}
		g.appSecret(view2, other)
	}
	if g.keys.len() != 100 {
		t.Fatalf("cached %d after 100 credentials of one view", g.keys.len())
	}
	view3 := &platform.Registry{AppliedIndex: 7, Applicants: &platform.ApplicantsView{}}
	g.appSecret(view3, cred)
	if g.keys.len() != 1 {
		t.Fatalf("a new applicants view kept %d secrets of the old one", g.keys.len())
	}
	opens := op.opens
	if _, err := g.appSecret(view1, cred); err != nil || op.opens != opens+1 || g.keys.gen.Load().view != any(view3.Applicants) {
		t.Fatalf("an older snapshot was cached or moved the cache back (opens %d)", op.opens)
	}
	bad := &platform.Credential{ID: "crd_bad", SecretSealed: []byte("bad")}
	for i := 0; i < 2; i++ {
		if _, err := g.appSecret(view3, bad); err == nil {
			t.Fatal("a secret that cannot be opened was returned")
		}
	}
	if g.keys.len() != 1 {
		t.Fatalf("a failure was cached: %d entries", g.keys.len())
	}
}
