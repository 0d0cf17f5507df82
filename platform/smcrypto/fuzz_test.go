package smcrypto_test

import (
	"crypto/ecdsa"
	"testing"

	"github.com/emmansun/gmsm/sm2"

	"lijiang/platform/smcrypto"
)

func FuzzParsePublicKey(f *testing.F) {
	for _, s := range []string{osslPubPEM, osslPubHex, p256PubPEM, osslPKCS8, "04", "", "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := smcrypto.ParsePublicKey(data)
		if err != nil {
			if k != nil {
				t.Fatal("key returned with error")
			}
			return
		}
		checkPublicRoundTrip(t, k)
	})
}

func checkPublicRoundTrip(t *testing.T, k *ecdsa.PublicKey) {
	t.Helper()
	if !sm2.P256().IsOnCurve(k.X, k.Y) {
		t.Fatal("accepted a point not on the SM2 curve")
	}
	p, err := smcrypto.MarshalPublicKeyPEM(k)
	if err != nil {
		t.Fatalf("accepted key does not marshal: %v", err)
	}
	h, err := smcrypto.PublicKeyHex(k)
	if err != nil {
		t.Fatalf("accepted key has no hex: %v", err)
	}
	for _, in := range []string{string(p), h} {
		k2, err := smcrypto.ParsePublicKey([]byte(in))
		if err != nil || !smcrypto.PublicKeysEqual(k, k2) {
			t.Fatalf("round trip of %q failed: %v", in, err)
		}
	}
}

func FuzzParsePrivateKey(f *testing.F) {
	for _, s := range []string{osslPKCS8, osslSEC1, osslPrivHex, p256PKCS8, osslPubPEM, ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := smcrypto.ParsePrivateKey(data)
		if err != nil {
			if k != nil {
				t.Fatal("key returned with error")
			}
			return
		}
		checkPublicRoundTrip(t, &k.PublicKey)
		p, err := smcrypto.MarshalPrivateKeyPEM(k)
		if err != nil {
			t.Fatalf("accepted key does not marshal: %v", err)
		}
		k2, err := smcrypto.ParsePrivateKey(p)
		if err != nil || !k.Equal(k2) {
			t.Fatalf("PKCS#8 round trip failed: %v", err)
		}
	})
}

func FuzzVerify(f *testing.F) {
	k, err := smcrypto.ParsePrivateKey([]byte(osslPrivHex))
	if err != nil {
		f.Fatal(err)
	}
	msg := []byte("message")
	sig, err := smcrypto.Sign(k, msg)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(msg, sig)
	f.Add([]byte{}, []byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, m, s []byte) {
		// Must not panic; a forgery would be a gmsm bug, not ours to find.
		smcrypto.Verify(&k.PublicKey, m, s)
	})
}

func FuzzDecrypt(f *testing.F) {
	k, err := smcrypto.ParsePrivateKey([]byte(osslPrivHex))
	if err != nil {
		f.Fatal(err)
	}
	ct, err := smcrypto.Encrypt(&k.PublicKey, []byte("0123456789abcdef"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ct)
	f.Fuzz(func(t *testing.T, c []byte) {
		pt, err := smcrypto.Decrypt(k, c)
		if err == nil && len(pt) == 0 {
			t.Fatal("empty plaintext without error")
		}
	})
}
