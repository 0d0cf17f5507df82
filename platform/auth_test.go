package platform

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestPasswords(t *testing.T) {
	old := PasswordIterations
	PasswordIterations = 1000
	defer func() { PasswordIterations = old }()
	h, err := HashPassword("correct horse 42")
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := HashPassword("correct horse 42")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	tests := []struct {
		name, hash, pw string
		want           bool
	}{
		{"right", h, "correct horse 42", true},
		{"wrong", h, "correct horse 43", false},
		{"empty", h, "", false},
		{"garbage hash", "x$y", "correct horse 42", false},
		{"other algorithm", "bcrypt$1000$AAAA$AAAA", "correct horse 42", false},
		{"too few iterations", "pbkdf2-sm3$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VerifyPassword(tt.hash, tt.pw); got != tt.want {
				t.Fatalf("VerifyPassword = %v", got)
			}
		})
	}
	if VerifyPasswordOrDummy("", "anything") {
		t.Fatal("an unknown user verified")
	}
	for pw, ok := range map[string]bool{"short1": false, "longbutnodigits": false, "123456789012": false, "long-enough-pass-1": true} {
		if (CheckPasswordPolicy(pw) == nil) != ok {
			t.Errorf("policy(%q) != %v", pw, ok)
		}
	}
}

func TestTOTP(t *testing.T) {
	secret, err := NewTOTPSecret()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1764210000, 0)
	code, _ := TOTPCode(secret, now)
	step, ok := VerifyTOTP(secret, code, now)
	if !ok || step != now.Unix()/30 {
		t.Fatalf("VerifyTOTP = %d %v", step, ok)
	}
	if _, ok := VerifyTOTP(secret, code, now.Add(31*time.Second)); !ok {
		t.Fatal("one step of skew refused")
	}
	if _, ok := VerifyTOTP(secret, code, now.Add(95*time.Second)); ok {
		t.Fatal("a three-step-old code accepted")
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef"} {
		if _, ok := VerifyTOTP(secret, bad, now); ok {
			t.Fatalf("code %q accepted", bad)
		}
	}
	// RFC 6238 appendix B, SHA-1, 6 digits: T=59 -> 94287082 (last 6: 287082).
	rfc := "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	if c, _ := TOTPCode(rfc, time.Unix(59, 0)); c != "287082" {
		t.Fatalf("RFC 6238 vector: %s", c)
	}
}

func TestAuthCommands(t *testing.T) {
	s := mustStore(t, filepath.Join(t.TempDir(), "state.db"))
	idx := uint64(0)
	apply := func(typ string, actor string, p any) Result {
		t.Helper()
		idx++
		c, err := NewCommand(typ, 1, "", Actor{Kind: ActorAdmin, ID: actor}, time.UnixMilli(1764210000000+int64(idx)*1000), p)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		return s.Apply([]Entry{{Index: idx, Term: 1, Data: mustEncode(t, c)}})[0]
	}
	hash := "pbkdf2-sm3$1000$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	id := NewID("adm")
	if r := apply(CmdAdminUserCreate, "root", AdminUserCreate{ID: id, Username: "alice", DisplayName: "Alice", Role: RoleReviewer, PasswordHash: hash, TOTPSealed: bytes.Repeat([]byte{1}, 40)}); r.Err != nil {
		t.Fatal(r.Err)
	}
	if r := apply(CmdAdminUserCreate, "root", AdminUserCreate{ID: NewID("adm"), Username: "alice", DisplayName: "A2", Role: RoleReviewer, PasswordHash: hash, TOTPSealed: bytes.Repeat([]byte{1}, 40)}); r.Err == nil || r.Err.Code != CodeConflict {
		t.Fatalf("duplicate username: %+v", r)
	}
	role := RoleAdmin
	if r := apply(CmdAdminUserUpdate, id, AdminUserUpdate{ID: id, ExpectedVersion: 1, Role: &role}); r.Err == nil || r.Err.Code != CodeDenied {
		t.Fatalf("own role change: %+v", r)
	}
	sid := SessionID("token")
	sess := SessionCreate{ID: sid, Kind: SessionAdmin, PrincipalID: id, IdleTimeoutMs: 900000, AbsoluteExpiryMs: 1764210000000 + 8*3600000, TOTPStep: 100}
	if r := apply(CmdSessionCreate, id, sess); r.Err != nil {
		t.Fatal(r.Err)
	}
	sess.ID = SessionID("token2")
	if r := apply(CmdSessionCreate, id, sess); r.Err == nil || r.Err.Code != CodeDenied {
		t.Fatalf("reused TOTP step: %+v", r)
	}
	if _, ok := s.Registry().Auth.Session(sid); !ok {
		t.Fatal("session not in the registry")
	}
	for i := 0; i < 3; i++ {
		apply(CmdLoginFailed, id, LoginFailed{Kind: SessionAdmin, PrincipalID: id, MaxFailures: 3, LockoutMs: 60000})
	}
	u, _ := s.Registry().Auth.AdminByID(id)
	if !u.LockedUntil.After(time.UnixMilli(1764210000000)) {
		t.Fatal("three failures did not lock the account")
	}
	sess.ID, sess.TOTPStep = SessionID("token3"), 200
	if r := apply(CmdSessionCreate, id, sess); r.Err == nil || r.Err.Code != CodeDenied {
		t.Fatalf("login while locked: %+v", r)
	}
	status := "disabled"
	if r := apply(CmdAdminUserUpdate, "root", AdminUserUpdate{ID: id, ExpectedVersion: 1, Status: &status}); r.Err != nil {
		t.Fatal(r.Err)
	}
	if _, ok := s.Registry().Auth.Session(sid); ok {
		t.Fatal("disabling a user left their session open")
	}
	if r := apply(CmdAdminUserUpdate, "root", AdminUserUpdate{ID: id, ExpectedVersion: 1, Status: &status}); r.Err == nil || r.Err.Code != CodeConflict {
		t.Fatalf("stale version: %+v", r)
	}
	var ce *CommandError
	if _, err := NewCommand(CmdSessionCreate, 1, "", Actor{Kind: ActorAdmin}, time.Now(), SessionCreate{ID: "x"}); !errors.As(err, &ce) || ce.Field != "id" {
		t.Fatalf("bad session id: %v", err)
	}
}
