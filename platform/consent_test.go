package platform

import (
	"path/filepath"
	"testing"
	"time"
)

// TestCustomerSessionTouch: a touch moves a customer session's last-seen
// time, and cannot revive a session that is idle or past its absolute expiry.
func TestCustomerSessionTouch(t *testing.T) {
	s := mustStore(t, filepath.Join(t.TempDir(), "state.db"))
	t0 := time.Now().Truncate(time.Millisecond)
	idx := uint64(0)
	apply := func(at time.Duration, typ string, p any) Result {
		t.Helper()
		idx++
		c, err := NewCommand(typ, 1, "", Actor{Kind: ActorCustomer, ID: "cus_1"}, t0.Add(at), p)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		return s.Apply([]Entry{{Index: idx, Term: 1, Data: mustEncode(t, c)}})[0]
	}
	token, id, err := NewSecretToken("cse")
	if err != nil {
		t.Fatal(err)
	}
	if r := apply(0, CmdCustomerSessionCreate, CustomerSessionCreate{ID: id, CustomerID: "cus_1",
		IdleTimeoutMs: (5 * time.Minute).Milliseconds(), AbsoluteExpiryMs: t0.Add(30 * time.Minute).UnixMilli()}); r.Err != nil {
		t.Fatal(r.Err)
	}
	if r := apply(4*time.Minute, CmdCustomerSessionTouch, CustomerSessionTouch{ID: id}); r.Err != nil {
		t.Fatal(r.Err)
	}
	sess, ok := s.Registry().Consent.CustomerSession(token)
	if !ok || !sess.LastSeen.Equal(t0.Add(4*time.Minute)) || !sess.Valid(t0.Add(8*time.Minute)) {
		t.Fatalf("after a touch: %+v %v", sess, ok)
	}
	// Idle for 5 minutes: the session is over and a touch does not revive it.
	if r := apply(9*time.Minute, CmdCustomerSessionTouch, CustomerSessionTouch{ID: id}); r.Err == nil || r.Err.Code != CodeNotFound {
		t.Fatalf("touching an idle session: %+v", r)
	}
	if sess, _ := s.Registry().Consent.CustomerSession(token); sess.Valid(t0.Add(9 * time.Minute)) {
		t.Fatal("an idle session was revived")
	}
	if _, err := NewCommand(CmdCustomerSessionTouch, 1, "", Actor{Kind: ActorCustomer}, t0, CustomerSessionTouch{ID: "cse_x"}); err == nil {
		t.Fatal("a malformed session id was accepted")
	}
}
