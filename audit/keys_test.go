package audit

import (
	"crypto/hmac"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/emmansun/gmsm/sm3"

	"lijiang/platform"
)

// plainOpener "opens" a sealed key by returning it: the test's keys are not
// sealed. It refuses a blob of the wrong length, as a real opener refuses
// one sealed under another AAD.
type plainOpener struct{ opened int }

func (o *plainOpener) Open(aad string, blob []byte) ([]byte, error) {
	if len(blob) != 32 {
		return nil, errors.New("cannot open")
	}
	o.opened++
	return append([]byte(nil), blob...), nil
}

func refHMAC(key []byte, v string) string {
	m := hmac.New(sm3.New, key)
	m.Write([]byte(v))
	return hex.EncodeToString(m.Sum(nil))
}

func TestKeysHash(t *testing.T) {
	k1, k2 := make([]byte, 32), make([]byte, 32)
	for i := range k1 {
		k1[i], k2[i] = byte(i), byte(255-i)
	}
	reg := &platform.Registry{}
	op := &plainOpener{}
	keys := &Keys{Registry: func() *platform.Registry { return reg }, Opener: op}

	if _, err := keys.Hash("customer-1"); !errors.Is(err, ErrNoAuditKey) {
		t.Fatalf("no key yet: err %v, want ErrNoAuditKey", err)
	}
	reg.AuditKey = &platform.AuditKey{ID: "ak1", Sealed: k1}
	for _, tt := range []struct {
		name string
		key  []byte
		v    string
		want string
	}{
		{"empty identifier", k1, "", ""},
		{"an id", k1, "customer-1", refHMAC(k1, "customer-1")},
		{"another id", k1, "客户-2", refHMAC(k1, "客户-2")},
		{"the same id again", k1, "customer-1", refHMAC(k1, "customer-1")},
		{"a long id (more than one SM3 block)", k1, string(make([]byte, 200)), refHMAC(k1, string(make([]byte, 200)))},
	} {
		got, err := keys.Hash(tt.v)
		if err != nil || got != tt.want {
			t.Errorf("%s: Hash = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
	if op.opened != 1 {
		t.Errorf("the key was opened %d times, want once", op.opened)
	}
	// A new audit key in the registry: the hashes follow it.
	reg.AuditKey = &platform.AuditKey{ID: "ak2", Sealed: k2}
	if got, _ := keys.Hash("customer-1"); got != refHMAC(k2, "customer-1") || got == refHMAC(k1, "customer-1") {
		t.Errorf("after the key changed: %q, want the new key's %q", got, refHMAC(k2, "customer-1"))
	}
	// A key that does not open: an error, no hash.
	reg.AuditKey = &platform.AuditKey{ID: "ak3", Sealed: []byte("short")}
	if got, err := keys.Hash("customer-1"); err == nil || got != "" {
		t.Errorf("unopenable key: %q, %v; want an error", got, err)
	}
}

func BenchmarkKeysHash(b *testing.B) {
	key := make([]byte, 32)
	reg := &platform.Registry{AuditKey: &platform.AuditKey{ID: "ak1", Sealed: key}}
	keys := &Keys{Registry: func() *platform.Registry { return reg }, Opener: &plainOpener{}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := keys.Hash("customer-000123"); err != nil {
			b.Fatal(err)
		}
	}
}
