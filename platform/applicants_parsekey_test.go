package platform

import (
	"crypto/rand"
	"encoding/pem"
	"strings"
	"testing"

	"lijiang/platform/smcrypto"
)

// TestAplParsePublicKey checks the registry's fast parse of stored keys
// against smcrypto.ParsePublicKey: the same key for the normal form, the
// same refusals for the rest.
func TestAplParsePublicKey(t *testing.T) {
	k, err := smcrypto.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	good, _ := smcrypto.MarshalPublicKeyPEM(&k.PublicKey)
	b, _ := pem.Decode(good)
	offCurve := append([]byte{}, b.Bytes...)
	offCurve[len(offCurve)-1] ^= 1
	trailing := append(append([]byte{}, b.Bytes...), 0)
	for _, tc := range []struct {
		name, text string
		ok         bool
	}{
		{"normal form", string(good), true},
		{"surrounding space", "\n " + string(good) + "\n", true},
		{"point off the curve", string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: offCurve})), false},
		{"trailing byte", string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: trailing})), false},
		{"other type", strings.Replace(string(good), "PUBLIC KEY", "EC PUBLIC KEY", 2), false},
		{"headers", string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Headers: map[string]string{"a": "b"}, Bytes: b.Bytes})), false},
		{"two blocks", string(good) + string(good), false},
		{"empty", "", false},
		{"leading text", "key:\n" + string(good), false},
		{"spaces in the base64", strings.Replace(string(good), "\n", " \n", 2), true},
		{"bad base64", strings.Replace(string(good), "\n", "\n*", 1), false},
		{"compressed point", string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: append(append([]byte{}, b.Bytes[:len(b.Bytes)-65]...), append([]byte{2}, b.Bytes[len(b.Bytes)-64:]...)...)})), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := aplParsePublicKey(tc.text)
			want, wantErr := smcrypto.ParsePublicKey([]byte(tc.text))
			if (err == nil) != tc.ok || (wantErr == nil) != tc.ok {
				t.Fatalf("aplParsePublicKey: %v, smcrypto.ParsePublicKey: %v; want ok %v", err, wantErr, tc.ok)
			}
			if tc.ok && (!got.Equal(want) || !got.Equal(&k.PublicKey)) {
				t.Fatal("a different key")
			}
			// The view keeps the point of the normal form, and parses what
			// it keeps to the same key, or to none.
			kind, _ := aplEnum(aplCredKinds, CredentialSM2Sign)
			b := newAplBuilder(1, 1, 0)
			if err := b.app("LJ1", "apl", 0, 0, nil); err != nil {
				t.Fatal(err)
			}
			if err := b.cred("crd", "sig.1", aplCompactKey(newAplArena(1), tc.text), 0, 0, nil, kind, 0, nil); err != nil {
				t.Fatal(err)
			}
			tbl := b.finish()
			if tc.name == "normal form" && len(tbl.credBlob(0)) != 65 {
				t.Errorf("the view keeps %d bytes of the normal form, not its point", len(tbl.credBlob(0)))
			}
			for range 2 { // parsed, then cached
				if pub := tbl.publicKey(0); (pub != nil) != tc.ok || (tc.ok && !pub.Equal(&k.PublicKey)) {
					t.Fatalf("view's key %v, want ok %v", pub, tc.ok)
				}
			}
		})
	}
}
