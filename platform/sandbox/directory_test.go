package sandbox

import (
	"errors"
	"testing"
	"time"

	"lijiang/platform"
)

func mustCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := platform.TOTPCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func demoByName(t *testing.T, u string) DemoCustomer {
	t.Helper()
	for _, d := range DemoCustomers() {
		if d.Username == u {
			return d
		}
	}
	t.Fatalf("no demo customer %s", u)
	return DemoCustomer{}
}

func TestDemoCustomers(t *testing.T) {
	ds := DemoCustomers()
	if len(ds) < 3 {
		t.Fatalf("%d demo customers", len(ds))
	}
	b := New(Config{Now: func() time.Time { return testNow }})
	seen := map[string]bool{}
	for _, d := range ds {
		if seen[d.ID] || d.Name == "" || len(d.TOTPSecret) != 32 {
			t.Fatalf("demo customer %+v", d)
		}
		seen[d.ID] = true
		if err := platform.CheckPasswordPolicy(d.Password); err != nil {
			t.Errorf("%s: %v", d.Username, err)
		}
		c, ok := b.Customer(d.ID)
		if !ok || c.Username != d.Username || c.Name != d.Name || len(c.Phone) != 11 {
			t.Fatalf("Customer(%s) = %+v, %v", d.ID, c, ok)
		}
		if n := len(b.AccountNumbers(d.ID)); n < 2 || n > 3 {
			t.Errorf("%s has %d accounts", d.Username, n)
		}
	}
	if _, ok := b.Customer("cus_nobody"); ok {
		t.Fatal("unknown customer found")
	}
	// The list is a copy.
	ds[0].Password = "changed"
	if DemoCustomers()[0].Password == "changed" {
		t.Fatal("DemoCustomers shares its backing array")
	}
}

func TestAuthenticate(t *testing.T) {
	b := New(Config{Now: func() time.Time { return testNow }})
	zs := demoByName(t, "zhangsan")
	now := testNow
	tests := []struct {
		name, user, pw, otp string
		want                error
	}{
		{"unknown user", "zhaoliu", zs.Password, mustCode(t, zs.TOTPSecret, now), ErrBadCredentials},
		{"wrong password", zs.Username, zs.Password + "x", mustCode(t, zs.TOTPSecret, now), ErrBadCredentials},
		{"wrong code", zs.Username, zs.Password, "000000", ErrBadCredentials},
		{"no code", zs.Username, zs.Password, "", ErrBadCredentials},
		{"success", zs.Username, zs.Password, mustCode(t, zs.TOTPSecret, now), nil},
		{"code reused", zs.Username, zs.Password, mustCode(t, zs.TOTPSecret, now), ErrOTPReused},
		{"earlier step after a later one", zs.Username, zs.Password, mustCode(t, zs.TOTPSecret, now.Add(-30*time.Second)), ErrOTPReused},
		{"code of another customer", zs.Username, zs.Password, mustCode(t, demoByName(t, "lisi").TOTPSecret, now), ErrBadCredentials},
		{"code too old", zs.Username, zs.Password, mustCode(t, zs.TOTPSecret, now.Add(-2*time.Minute)), ErrBadCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := b.Authenticate(tt.user, tt.pw, tt.otp, now)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (c.ID != "") {
				t.Fatalf("got %+v, %v; want %v", c, err, tt.want)
			}
			if tt.want == nil && (c.ID != zs.ID || c.Name != "张三") {
				t.Fatalf("customer %+v", c)
			}
		})
	}
	if !errors.Is(ErrOTPReused, ErrBadCredentials) {
		t.Fatal("ErrOTPReused does not wrap ErrBadCredentials")
	}
	// Four failures since the success: the next step's code still works.
	later := now.Add(30 * time.Second)
	if _, err := b.Authenticate(zs.Username, zs.Password, mustCode(t, zs.TOTPSecret, later), later); err != nil {
		t.Fatalf("next code: %v", err)
	}
}

func TestAuthenticateLockout(t *testing.T) {
	b := New(Config{Now: func() time.Time { return testNow }})
	ws, ls := demoByName(t, "wangwu"), demoByName(t, "lisi")
	now := testNow
	for i := 1; i <= MaxLoginFailures; i++ {
		_, err := b.Authenticate(ws.Username, "wrong-password-1", mustCode(t, ws.TOTPSecret, now), now)
		want := ErrBadCredentials
		if i == MaxLoginFailures {
			want = ErrLocked
		}
		if !errors.Is(err, want) {
			t.Fatalf("failure %d: %v, want %v", i, err, want)
		}
	}
	// Locked: even the right password and code are refused.
	if _, err := b.Authenticate(ws.Username, ws.Password, mustCode(t, ws.TOTPSecret, now), now); !errors.Is(err, ErrLocked) {
		t.Fatalf("while locked: %v", err)
	}
	// Another customer is not locked.
	if _, err := b.Authenticate(ls.Username, ls.Password, mustCode(t, ls.TOTPSecret, now), now); err != nil {
		t.Fatalf("lisi: %v", err)
	}
	almost := now.Add(LockoutDuration - time.Second)
	if _, err := b.Authenticate(ws.Username, ws.Password, mustCode(t, ws.TOTPSecret, almost), almost); !errors.Is(err, ErrLocked) {
		t.Fatalf("just before the lock ends: %v", err)
	}
	after := now.Add(LockoutDuration)
	if c, err := b.Authenticate(ws.Username, ws.Password, mustCode(t, ws.TOTPSecret, after), after); err != nil || c.Username != ws.Username {
		t.Fatalf("after the lock: %+v, %v", c, err)
	}
}

func TestAuthenticateConcurrentCodeOnce(t *testing.T) {
	b := New(Config{Now: func() time.Time { return testNow }})
	ls := demoByName(t, "lisi")
	code := mustCode(t, ls.TOTPSecret, testNow)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			_, err := b.Authenticate(ls.Username, ls.Password, code, testNow)
			errs <- err
		}()
	}
	ok := 0
	for range 4 {
		err := <-errs
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrOTPReused):
			t.Fatalf("unexpected %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("one code logged in %d times", ok)
	}
}
