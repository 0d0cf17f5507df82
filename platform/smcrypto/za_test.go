package smcrypto

import (
	"crypto/ecdsa"
	"crypto/rand"
	"math/big"
	"testing"

	"github.com/emmansun/gmsm/sm2"
)

// TestZACache: signatures over the kept Z_A are gmsm's own SM2-with-SM3
// signatures both ways; a key whose point changes is not served the old
// Z_A; the cache stays bounded; a broken key is refused without a panic.
func TestZACache(t *testing.T) {
	msg := []byte("POST\n/v1/x\n1700000000\nnonce\ndigest")
	k1, _ := sm2.GenerateKey(rand.Reader)
	k2, _ := sm2.GenerateKey(rand.Reader)
	for range 2 { // computed, then kept
		sig, err := Sign(k1, msg)
		if err != nil {
			t.Fatal(err)
		}
		if !sm2.VerifyASN1WithSM2(&k1.PublicKey, []byte(DefaultUID), msg, sig) {
			t.Fatal("gmsm does not verify Sign's signature")
		}
		theirs, err := sm2.SignASN1(rand.Reader, k1, msg, sm2.NewSM2SignerOption(true, []byte(DefaultUID)))
		if err != nil {
			t.Fatal(err)
		}
		if !Verify(&k1.PublicKey, msg, theirs) {
			t.Fatal("Verify refuses gmsm's signature")
		}
		if Verify(&k1.PublicKey, append([]byte("x"), msg...), theirs) {
			t.Fatal("Verify accepts a signature of another message")
		}
	}
	// The same pointer, another point: the Z_A of the new point.
	pub := &ecdsa.PublicKey{Curve: k1.Curve, X: new(big.Int).Set(k1.X), Y: new(big.Int).Set(k1.Y)}
	sig1, _ := Sign(k1, msg)
	if !Verify(pub, msg, sig1) {
		t.Fatal("a copy of k1's key refuses its signature")
	}
	pub.X.Set(k2.X)
	pub.Y.Set(k2.Y)
	sig2, _ := Sign(k2, msg)
	if !Verify(pub, msg, sig2) || Verify(pub, msg, sig1) {
		t.Fatal("a key whose point changed was served its former Z_A")
	}
	want, _ := sm2.CalculateZA(&k2.PublicKey, []byte(DefaultUID))
	if got, err := za(pub); err != nil || string(got[:]) != string(want) {
		t.Fatalf("za = %x, %v; want %x", got, err, want)
	}
	// Bounded.
	for range maxZA + 10 {
		p := &ecdsa.PublicKey{Curve: k1.Curve, X: k1.X, Y: k1.Y}
		if _, err := za(p); err != nil {
			t.Fatal(err)
		}
	}
	zaMu.RLock()
	n := len(zaCache)
	zaMu.RUnlock()
	if n > maxZA || n == 0 {
		t.Errorf("cache holds %d keys, want 1..%d", n, maxZA)
	}
	// Broken keys.
	huge := new(big.Int).Lsh(big.NewInt(1), 300)
	for _, p := range []*ecdsa.PublicKey{
		nil,
		{Curve: k1.Curve},
		{Curve: k1.Curve, X: huge, Y: k1.Y},
		{Curve: k1.Curve, X: big.NewInt(-1), Y: k1.Y},
		{Curve: k1.Curve, X: big.NewInt(1), Y: big.NewInt(2)}, // not on the curve
	} {
		if _, err := za(p); err == nil {
			t.Errorf("za(%v) accepted a broken key", p)
		}
		if p != nil && Verify(p, msg, sig1) {
			t.Errorf("Verify accepted a broken key %v", p)
		}
	}
	bad := &sm2.PrivateKey{PrivateKey: ecdsa.PrivateKey{PublicKey: ecdsa.PublicKey{Curve: k1.Curve}, D: k1.D}}
	if _, err := Sign(bad, msg); err == nil {
		t.Error("Sign accepted a key without its point")
	}
}
