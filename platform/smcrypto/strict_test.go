package smcrypto

import (
	"encoding/hex"
	"math/big"
	"testing"
)

// refSignature is the former check: encoding/asn1's parse, a byte-exact
// re-encoding, and the range. strictSignature must agree with it.
func refSignature(sig []byte) bool {
	var v struct{ R, S *big.Int }
	if !strictDER(sig, &v) {
		return false
	}
	n := new(big.Int).SetBytes(curveN)
	return v.R.Sign() > 0 && v.S.Sign() > 0 && v.R.Cmp(n) < 0 && v.S.Cmp(n) < 0
}

// refCiphertext is the former GB/T 35276 structure check.
func refCiphertext(ct []byte) bool {
	var v struct {
		X, Y   *big.Int
		C3, C2 []byte
	}
	if !strictDER(ct, &v) {
		return false
	}
	return v.X.Sign() >= 0 && v.Y.Sign() >= 0 && v.X.BitLen() <= 256 && v.Y.BitLen() <= 256 && len(v.C3) == 32 && len(v.C2) > 0
}

func TestStrictSignature(t *testing.T) {
	n := hex.EncodeToString(curveN)
	for _, c := range []struct {
		hex  string
		want bool
	}{
		{"3006020101020101", true},
		{"3006020100020101", false},                         // r = 0
		{"30060201ff020101", false},                         // r negative
		{"300702020001020101", false},                       // r not minimal
		{"30810602010102010100", false},                     // long-form length
		{"300602010102010100", false},                       // trailing byte
		{"3007020101020101", false},                         // length too long
		{"3026022100" + n + "020101", false},                // r = n with a sign byte: still n
		{"3025022100" + n[:62] + "020101", false},           // truncated
		{"302602210" + "0" + n[:63] + "0" + "020101", true}, // r = n-3
	} {
		b, _ := hex.DecodeString(c.hex)
		if got, ref := strictSignature(b), refSignature(b); got != c.want || ref != got {
			t.Errorf("%s: got %v, former check %v, want %v", c.hex, got, ref, c.want)
		}
	}
}

// FuzzStrictDER: the cryptobyte checks decide as the former reflection-based
// ones did, on any input.
func FuzzStrictDER(f *testing.F) {
	f.Add([]byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01})
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, ref := strictSignature(b), refSignature(b); got != ref {
			t.Fatalf("signature %x: %v, former %v", b, got, ref)
		}
		if got, ref := isASN1Ciphertext(b), refCiphertext(b); got != ref {
			t.Fatalf("ciphertext %x: %v, former %v", b, got, ref)
		}
	})
}
