package seal_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"lijiang/platform/seal"
	"lijiang/platform/smcrypto"
)

const kekHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

func mustKEK(t testing.TB, raw []byte) *seal.KEK {
	t.Helper()
	k, err := seal.ParseKEK(raw)
	if err != nil {
		t.Fatalf("ParseKEK: %v", err)
	}
	return k
}

func newKEK(t testing.TB) *seal.KEK {
	t.Helper()
	file, err := seal.GenerateKEK(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return mustKEK(t, file)
}

func mustKeyring(t testing.TB, cur *seal.KEK, older ...*seal.KEK) *seal.Keyring {
	t.Helper()
	kr, err := seal.NewKeyring(cur, older...)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func TestParseKEK(t *testing.T) {
	raw, _ := hex.DecodeString(kekHex)
	want := mustKEK(t, raw).ID()
	accept := map[string][]byte{
		"raw":                 raw,
		"raw with whitespace": append([]byte(" \n\t"), raw[3:]...), // 32 bytes that start with whitespace are raw
		"hex":                 []byte(kekHex),
		"hex upper + newline": []byte(strings.ToUpper(kekHex) + "\n"),
		"hex with spaces":     []byte("  " + kekHex + " \r\n"),
		"base64":              []byte(base64.StdEncoding.EncodeToString(raw) + "\n"),
	}
	for name, in := range accept {
		t.Run("accept "+name, func(t *testing.T) {
			k := mustKEK(t, in)
			if name == "raw with whitespace" {
				if k.ID() == want {
					t.Fatal("different key, same id")
				}
				return
			}
			if k.ID() != want {
				t.Fatalf("ID = %s, want %s", k.ID(), want)
			}
		})
	}
	reject := map[string][]byte{
		"empty":             nil,
		"31 raw bytes":      raw[:31],
		"33 raw bytes":      append(append([]byte{}, raw...), 'x'),
		"63 hex":            []byte(kekHex[:63]),
		"65 hex":            []byte(kekHex + "0"),
		"64 non-hex":        []byte("zz" + kekHex[2:]),
		"base64 of 31":      []byte(base64.StdEncoding.EncodeToString(raw[:31])),
		"base64 of 33":      []byte(base64.StdEncoding.EncodeToString(append(raw, 1))),
		"base64url":         []byte(base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32))),
		"base64 no padding": []byte(base64.RawStdEncoding.EncodeToString(raw) + "\n"),
		"all zero hex":      []byte(strings.Repeat("0", 64)),
		"all zero raw":      make([]byte, 32),
		"hex inner space":   []byte(kekHex[:32] + " " + kekHex[32:]),
	}
	for name, in := range reject {
		t.Run("reject "+name, func(t *testing.T) {
			k, err := seal.ParseKEK(in)
			if err == nil || k != nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, seal.ErrBadKEK) {
				t.Fatalf("error %v does not wrap ErrBadKEK", err)
			}
			if !strings.Contains(err.Error(), "32") && !strings.Contains(err.Error(), "zero") {
				t.Fatalf("error %q does not state the expected length", err)
			}
			if len(in) >= 8 && strings.Contains(err.Error(), string(in[:8])) {
				t.Fatalf("error %q echoes the input", err)
			}
		})
	}
}

func TestKEKDoesNotPrintKey(t *testing.T) {
	k := mustKEK(t, []byte(kekHex))
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, k, k, k)} {
		if strings.Contains(s, "0102030405") || strings.Contains(s, "\x01\x02\x03") {
			t.Fatalf("formatted KEK leaks key bytes: %q", s)
		}
		if !strings.Contains(s, k.ID()) {
			t.Fatalf("formatted KEK %q lacks the id", s)
		}
	}
}

func TestGenerateKEK(t *testing.T) {
	a, err := seal.GenerateKEK(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 65 || a[64] != '\n' {
		t.Fatalf("GenerateKEK = %q", a)
	}
	if _, err := hex.DecodeString(string(a[:64])); err != nil || strings.ToLower(string(a)) != string(a) {
		t.Fatalf("not lower-case hex: %q", a)
	}
	b, _ := seal.GenerateKEK(nil)
	if bytes.Equal(a, b) {
		t.Fatal("two generated KEKs are equal")
	}
	if _, err := seal.GenerateKEK(bytes.NewReader(make([]byte, 10))); !errors.Is(err, smcrypto.ErrRandom) {
		t.Fatal("short randomness accepted")
	}
}

func TestSealOpen(t *testing.T) {
	k := mustKEK(t, []byte(kekHex))
	kr := mustKeyring(t, k)
	secret := []byte("-----BEGIN " + "PRIVATE KEY-----\nplatform signing key\n")
	blob, err := kr.Seal("key/plat-sig-1", secret)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(blob, []byte("LJS\x01")) || len(blob) != 4+8+12+len(secret)+16 {
		t.Fatalf("blob layout: % x", blob[:12])
	}
	if bytes.Contains(blob, secret[:20]) {
		t.Fatal("plaintext visible in blob")
	}
	if id, err := seal.BlobKeyID(blob); err != nil || id != k.ID() || kr.CurrentID() != k.ID() {
		t.Fatalf("BlobKeyID = %q, %v; want %s", id, err, k.ID())
	}
	got, err := kr.Open("key/plat-sig-1", blob)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	blob2, _ := kr.Seal("key/plat-sig-1", secret)
	if bytes.Equal(blob, blob2) {
		t.Fatal("IV reused: two seals are identical")
	}
	empty, err := kr.Seal("x", nil)
	if err != nil || len(empty) != 40 {
		t.Fatalf("empty seal len %d, %v", len(empty), err)
	}
	if pt, err := kr.Open("x", empty); err != nil || len(pt) != 0 {
		t.Fatalf("open empty: %q %v", pt, err)
	}

	flip := func(i int) []byte { b := append([]byte{}, blob...); b[i] ^= 0x01; return b }
	unknown := append([]byte{}, blob...)
	copy(unknown[4:12], "\xde\xad\xbe\xef\xde\xad\xbe\xef")
	tests := []struct {
		name string
		aad  string
		blob []byte
		want error
	}{
		{"wrong aad", "key/plat-sig-2", blob, seal.ErrCorrupt},
		{"empty aad", "", blob, seal.ErrCorrupt},
		{"flipped iv", "key/plat-sig-1", flip(14), seal.ErrCorrupt},
		{"flipped data", "key/plat-sig-1", flip(30), seal.ErrCorrupt},
		{"flipped tag", "key/plat-sig-1", flip(len(blob) - 1), seal.ErrCorrupt},
		{"bad magic", "key/plat-sig-1", flip(0), seal.ErrCorrupt},
		{"bad version", "key/plat-sig-1", flip(3), seal.ErrCorrupt},
		{"truncated", "key/plat-sig-1", blob[:39], seal.ErrCorrupt},
		{"truncated tag", "key/plat-sig-1", blob[:len(blob)-1], seal.ErrCorrupt},
		{"extended", "key/plat-sig-1", append(append([]byte{}, blob...), 0), seal.ErrCorrupt},
		{"nil", "key/plat-sig-1", nil, seal.ErrCorrupt},
		{"unknown key id", "key/plat-sig-1", unknown, seal.ErrUnknownKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pt, err := kr.Open(tc.aad, tc.blob)
			if !errors.Is(err, tc.want) || pt != nil {
				t.Fatalf("Open = %q, %v; want %v", pt, err, tc.want)
			}
		})
	}
	t.Run("unknown key names only the id", func(t *testing.T) {
		_, err := kr.Open("key/plat-sig-1", unknown)
		if !strings.Contains(err.Error(), "deadbeefdeadbeef") {
			t.Fatalf("error %q does not name the key id", err)
		}
	})
}

func TestRotation(t *testing.T) {
	old, cur := newKEK(t), newKEK(t)
	oldRing := mustKeyring(t, old)
	blob, err := oldRing.Seal("app/A1/secret", []byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mustKeyring(t, cur).Open("app/A1/secret", blob); !errors.Is(err, seal.ErrUnknownKey) {
		t.Fatalf("new-only keyring: %v, want ErrUnknownKey", err)
	}
	kr := mustKeyring(t, cur, old, nil, cur)
	if kr.CurrentID() != cur.ID() {
		t.Fatal("CurrentID is not the current key")
	}
	if pt, err := kr.Open("app/A1/secret", blob); err != nil || string(pt) != "s3cret" {
		t.Fatalf("Open with older key: %q %v", pt, err)
	}
	re, err := kr.Reseal("app/A1/secret", blob)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := seal.BlobKeyID(re); id != cur.ID() {
		t.Fatalf("resealed under %s, want %s", id, cur.ID())
	}
	if pt, err := mustKeyring(t, cur).Open("app/A1/secret", re); err != nil || string(pt) != "s3cret" {
		t.Fatalf("resealed blob does not open with the new key alone: %v", err)
	}
	if _, err := kr.Reseal("app/A2/secret", blob); !errors.Is(err, seal.ErrCorrupt) {
		t.Fatalf("Reseal with wrong aad: %v", err)
	}
	if _, err := seal.NewKeyring(nil, old); !errors.Is(err, seal.ErrNoKey) {
		t.Fatalf("NewKeyring(nil): %v", err)
	}
}

// TestFormat pins the blob format and the key derivation: a golden blob
// must keep opening, and a fresh blob must decrypt with an independent
// implementation of the documented layout (derived SM4 key, AAD = header ||
// record id).
func TestFormat(t *testing.T) {
	k := mustKEK(t, []byte(kekHex))
	if k.ID() != "f18cf50bd777a607" {
		t.Fatalf("key id changed: %s", k.ID())
	}
	kr := mustKeyring(t, k)
	golden, _ := hex.DecodeString("4c4a5301f18cf50bd777a607b5da7f1e2958d51fd316438399265427f0e49ec363db654d7a62a232e9d5a49603aa986840")
	if pt, err := kr.Open("golden", golden); err != nil || string(pt) != "plaintext" {
		t.Fatalf("golden blob: %q, %v", pt, err)
	}

	raw, _ := hex.DecodeString(kekHex)
	sum := smcrypto.SM3(append([]byte("lijiang-kek-id"), raw...))
	if hex.EncodeToString(sum[:8]) != k.ID() {
		t.Fatal("key id is not SM3(label || key)[:8]")
	}
	blob, err := kr.Seal("rec-1", []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	header, iv, ct := blob[:12], blob[12:24], blob[24:]
	sealKey := smcrypto.HMACSM3(raw, []byte("lijiang-seal-v1 sm4-gcm"))[:16]
	pt, err := smcrypto.OpenGCM(sealKey, iv, append(append([]byte{}, header...), "rec-1"...), ct)
	if err != nil || string(pt) != "hello" {
		t.Fatalf("independent open: %q, %v", pt, err)
	}
	if _, err := smcrypto.OpenGCM(raw[:16], iv, append(append([]byte{}, header...), "rec-1"...), ct); err == nil {
		t.Fatal("blob opens with the raw KEK bytes: the key is not derived")
	}
}

func TestConcurrentUse(t *testing.T) {
	kr := mustKeyring(t, newKEK(t), newKEK(t))
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			aad := fmt.Sprintf("rec/%d", i)
			for range 50 {
				b, err := kr.Seal(aad, []byte(aad))
				if err == nil {
					var pt []byte
					pt, err = kr.Open(aad, b)
					if err == nil && string(pt) != aad {
						err = fmt.Errorf("got %q", pt)
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
