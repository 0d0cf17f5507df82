package seal_test

import (
	"bytes"
	"errors"
	"testing"

	"lijiang/platform/seal"
)

func FuzzParseKEK(f *testing.F) {
	for _, s := range []string{kekHex, kekHex + "\n", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "0123456789abcdef0123456789abcdef", "", "===================================="} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		k, err := seal.ParseKEK(raw)
		if err != nil {
			if k != nil || !errors.Is(err, seal.ErrBadKEK) {
				t.Fatalf("bad error contract: %v", err)
			}
			if len(raw) >= 6 && bytes.Contains([]byte(err.Error()), raw) {
				t.Fatalf("error echoes input: %v", err)
			}
			return
		}
		if len(k.ID()) != 16 {
			t.Fatalf("ID %q", k.ID())
		}
		kr, err := seal.NewKeyring(k)
		if err != nil {
			t.Fatal(err)
		}
		b, err := kr.Seal("r", raw)
		if err != nil {
			t.Fatal(err)
		}
		if pt, err := kr.Open("r", b); err != nil || !bytes.Equal(pt, raw) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func FuzzOpen(f *testing.F) {
	k, err := seal.ParseKEK([]byte(kekHex))
	if err != nil {
		f.Fatal(err)
	}
	kr, err := seal.NewKeyring(k)
	if err != nil {
		f.Fatal(err)
	}
	b, err := kr.Seal("rec", []byte("secret"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add("rec", b)
	f.Add("", []byte("LJS\x01"))
	f.Fuzz(func(t *testing.T, aad string, blob []byte) {
		pt, err := kr.Open(aad, blob)
		if err != nil {
			if pt != nil || !(errors.Is(err, seal.ErrCorrupt) || errors.Is(err, seal.ErrUnknownKey)) {
				t.Fatalf("bad error contract: %v", err)
			}
			return
		}
		// Only genuine blobs open: forging one would need the key.
		if aad != "rec" || !bytes.Equal(pt, []byte("secret")) {
			t.Fatalf("forged blob opened: aad=%q pt=%q", aad, pt)
		}
	})
}
