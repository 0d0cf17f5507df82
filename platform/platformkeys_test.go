package platform

import (
	"bytes"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"lijiang/platform/seal"
	"lijiang/platform/smcrypto"
)

var _ Sealer = (*seal.Keyring)(nil)

// countingSealer counts the private keys it opens.
type countingSealer struct {
	*seal.Keyring
	opens atomic.Int64
}

func (s *countingSealer) Open(aad string, blob []byte) ([]byte, error) {
	s.opens.Add(1)
	return s.Keyring.Open(aad, blob)
}

func mustSealer(t *testing.T) *countingSealer {
	t.Helper()
	kek, err := seal.ParseKEK(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	k, err := seal.NewKeyring(kek)
	if err != nil {
		t.Fatal(err)
	}
	return &countingSealer{Keyring: k}
}

// mustPlatformKey makes a key with NewPlatformKey, as the registry holds it.
func mustPlatformKey(t *testing.T, s Sealer, use, status string, now time.Time) PlatformKey {
	t.Helper()
	p, err := NewPlatformKey(s, use, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("NewPlatformKey's payload: %v", err)
	}
	return PlatformKey{Serial: p.Serial, Use: use, Alg: "SM2", PublicPEM: p.PublicPEM, PrivateSealed: p.PrivateSealed,
		NotBefore: time.UnixMilli(p.NotBeforeMs), NotAfter: time.UnixMilli(p.NotAfterMs), Status: status}
}

func TestNewPlatformKey(t *testing.T) {
	s := mustSealer(t)
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	k := mustPlatformKey(t, s, "sig", KeyActive, now)
	if !k.ValidAt(now) || k.ValidAt(now.Add(PlatformKeyValidity)) || !k.ValidAt(now.Add(PlatformKeyValidity-time.Second)) {
		t.Errorf("validity %s to %s", k.NotBefore, k.NotAfter)
	}
	// The sealed private key is the public key's, bound to the serial.
	priv, _, err := NewKeyOpener(s).Signer(&Registry{PlatformKeys: []PlatformKey{k}}, now)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := smcrypto.ParsePublicKey([]byte(k.PublicPEM))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := smcrypto.SignBase64(priv, []byte("x"))
	if err != nil || !smcrypto.VerifyBase64(pub, []byte("x"), sig) {
		t.Fatalf("the private key does not match the public key: %v", err)
	}
	if _, err := s.Keyring.Open(PlatformKeyAAD("other"), k.PrivateSealed); err == nil {
		t.Errorf("the sealed key opens under another serial")
	}
}

func TestKeyOpener(t *testing.T) {
	s := mustSealer(t)
	made := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	sig := mustPlatformKey(t, s, "sig", KeyActive, made)
	enc := mustPlatformKey(t, s, "enc", KeyActive, made)
	oldEnc := mustPlatformKey(t, s, "enc", KeyRetiring, made.Add(-PlatformKeyValidity+48*time.Hour)) // expires in 2 days
	gone := mustPlatformKey(t, s, "enc", KeyRetired, made)
	reg := &Registry{PlatformKeys: []PlatformKey{sig, enc, oldEnc, gone}}
	ko := NewKeyOpener(s)

	t.Run("signer", func(t *testing.T) {
		tests := []struct {
			name string
			reg  *Registry
			at   time.Time
			want error
		}{
			{"valid", reg, made.Add(time.Hour), nil},
			{"last second", reg, sig.NotAfter.Add(-time.Millisecond), nil},
			{"expired", reg, sig.NotAfter, ErrPlatformKeyExpired},
			{"long expired", reg, sig.NotAfter.Add(365 * 24 * time.Hour), ErrPlatformKeyExpired},
			{"not yet valid", reg, sig.NotBefore.Add(-time.Second), ErrPlatformKeyExpired},
			{"no signing key", &Registry{PlatformKeys: []PlatformKey{enc}}, made, ErrNoPlatformKey},
		}
		// A successor made by a node whose clock is ahead of this one's:
		// the retiring key signs until the successor is valid here.
		next := mustPlatformKey(t, s, "sig", KeyActive, made.Add(time.Hour))
		prev := sig
		prev.Status = KeyRetiring
		rotated := &Registry{PlatformKeys: []PlatformKey{next, prev}}
		for _, tt := range []struct {
			at   time.Time
			want string
		}{{made.Add(30 * time.Minute), prev.Serial}, {made.Add(time.Hour), next.Serial}} {
			if _, serial, err := ko.Signer(rotated, tt.at); err != nil || serial != tt.want {
				t.Errorf("at %s: signed by %q (%v), want %s", tt.at, serial, err, tt.want)
			}
		}
		prev.NotAfter = made.Add(10 * time.Minute)
		if _, serial, err := ko.Signer(&Registry{PlatformKeys: []PlatformKey{next, prev}}, made.Add(30*time.Minute)); !errors.Is(err, ErrPlatformKeyExpired) {
			t.Errorf("signed by %q (%v) with no valid signing key", serial, err)
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				key, serial, err := ko.Signer(tt.reg, tt.at)
				if !errors.Is(err, tt.want) {
					t.Fatalf("err %v, want %v", err, tt.want)
				}
				if tt.want == nil && (key == nil || serial != sig.Serial) {
					t.Fatalf("key %v serial %q", key, serial)
				}
				if tt.want != nil && key != nil {
					t.Fatalf("a key despite %v", err)
				}
			})
		}
	})

	t.Run("decrypter", func(t *testing.T) {
		tests := []struct {
			name   string
			serial string
			at     time.Time
			want   error
		}{
			{"active", enc.Serial, made, nil},
			{"retiring, valid", oldEnc.Serial, made, nil},
			{"retiring, expired", oldEnc.Serial, oldEnc.NotAfter, ErrPlatformKeyExpired},
			{"active, expired", enc.Serial, enc.NotAfter.Add(time.Minute), ErrPlatformKeyExpired},
			{"retired", gone.Serial, made, ErrNoPlatformKey},
			{"a signing key", sig.Serial, made, ErrNoPlatformKey},
			{"unknown", "nope", made, ErrNoPlatformKey},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				key, err := ko.Decrypter(reg, tt.serial, tt.at)
				if !errors.Is(err, tt.want) || (err == nil) != (key != nil) {
					t.Fatalf("key %v err %v, want %v", key != nil, err, tt.want)
				}
			})
		}
	})

	t.Run("opened once per serial", func(t *testing.T) {
		s := mustSealer(t)
		ko := NewKeyOpener(s)
		for range 100 {
			if _, _, err := ko.Signer(reg, made); err != nil {
				t.Fatal(err)
			}
			if _, err := ko.Decrypter(reg, enc.Serial, made); err != nil {
				t.Fatal(err)
			}
		}
		if n := s.opens.Load(); n != 2 {
			t.Errorf("%d opens, want 2", n)
		}
		// A rotation: the new key is opened, the retired ones are dropped.
		newSig := mustPlatformKey(t, s, "sig", KeyActive, made)
		oldSig := sig
		oldSig.Status = KeyRetired
		encRetired := enc
		encRetired.Status = KeyRetired
		reg2 := &Registry{PlatformKeys: []PlatformKey{newSig, oldSig, encRetired}}
		if _, serial, err := ko.Signer(reg2, made); err != nil || serial != newSig.Serial {
			t.Fatalf("after the rotation: %q %v", serial, err)
		}
		ko.mu.Lock()
		n := len(ko.keys)
		ko.mu.Unlock()
		if n != 1 {
			t.Errorf("%d keys held after the rotation, want 1", n)
		}
	})

	t.Run("no sealer", func(t *testing.T) {
		if _, _, err := NewKeyOpener(nil).Signer(reg, made); !errors.Is(err, ErrNoPlatformKey) {
			t.Errorf("err %v", err)
		}
	})

	t.Run("wrong KEK", func(t *testing.T) {
		other, _ := seal.ParseKEK(bytes.Repeat([]byte{4}, 32))
		kr, _ := seal.NewKeyring(other)
		if _, _, err := NewKeyOpener(kr).Signer(reg, made); err == nil {
			t.Errorf("opened with another KEK")
		}
	})
}
