package smcrypto_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"lijiang/platform/smcrypto"
)

// Cross-checks with the OpenSSL 3 command line. Command lines verified with
// OpenSSL 3.0.19; the signer ID must be given explicitly, because OpenSSL 3
// defaults to an empty SM2 ID (without -sigopt/-pkeyopt distid the vectors'
// signatures do not verify):
//
//	openssl dgst -sm3 -sign key.pem -sigopt distid:1234567812345678 -out sig msg
//	openssl dgst -sm3 -verify pub.pem -sigopt distid:1234567812345678 -signature sig msg
//	openssl pkeyutl -sign -rawin -digest sm3 -inkey key.pem -pkeyopt distid:1234567812345678 -in msg -out sig
//	openssl pkeyutl -verify -rawin -digest sm3 -pubin -inkey pub.pem -pkeyopt distid:1234567812345678 -in msg -sigfile sig
//	openssl pkeyutl -encrypt -pubin -inkey pub.pem -in pt -out ct   (ASN.1 C1C3C2, as GB/T 35276)
//	openssl pkeyutl -decrypt -inkey key.pem -in ct
//	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2 -out key.pem
//	openssl pkey -in key.pem -pubout -out pub.pem

const distid = "distid:" + smcrypto.DefaultUID

// osslEnv runs openssl in a temporary directory. Its methods fail the test
// of the *testing.T bound with on, so subtests report their own failures.
type osslEnv struct {
	t   *testing.T
	dir string
}

// on returns a copy of o that reports to t.
func (o *osslEnv) on(t *testing.T) *osslEnv { return &osslEnv{t: t, dir: o.dir} }

func newOpenSSL(t *testing.T) *osslEnv {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not on PATH; skipping the OpenSSL cross-check")
	}
	return &osslEnv{t: t, dir: t.TempDir()}
}

func (o *osslEnv) path(name string) string { return filepath.Join(o.dir, name) }

func (o *osslEnv) write(name string, b []byte) string {
	o.t.Helper()
	p := o.path(name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		o.t.Fatal(err)
	}
	return p
}

func (o *osslEnv) read(name string) []byte {
	o.t.Helper()
	b, err := os.ReadFile(o.path(name))
	if err != nil {
		o.t.Fatal(err)
	}
	return b
}

// run runs openssl and returns its combined output and whether it exited 0.
func (o *osslEnv) run(args ...string) (string, bool) {
	o.t.Helper()
	out, err := exec.Command("openssl", args...).CombinedOutput()
	return string(out), err == nil
}

func (o *osslEnv) mustRun(args ...string) string {
	o.t.Helper()
	out, ok := o.run(args...)
	if !ok {
		o.t.Fatalf("openssl %v failed: %s", args, out)
	}
	return out
}

func TestOpenSSLInterop(t *testing.T) {
	o := newOpenSSL(t)
	k := mustKey(t)
	privPEM, err := smcrypto.MarshalPrivateKeyPEM(k)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, err := smcrypto.MarshalPublicKeyPEM(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	key := o.write("key.pem", privPEM)
	pub := o.write("pub.pem", pubPEM)
	msgBytes := []byte("LJ1-SM2-SM3\nPOST\n/v1/transfers?channel=api\nLJ2026TESTAPP001\n1764210000\nn0nce-Abc_1234567\nd7f744854f545cbbbb13eb6e0f86cc819c3076ab1ed56242a3631368189fd307\n")
	msg := o.write("msg", msgBytes)
	other := o.write("other", append(msgBytes, 'x'))

	t.Run("openssl dgst signs, Verify accepts", func(t *testing.T) {
		o := o.on(t)
		o.mustRun("dgst", "-sm3", "-sign", key, "-sigopt", distid, "-out", o.path("sig1"), msg)
		sig := o.read("sig1")
		if !smcrypto.Verify(&k.PublicKey, msgBytes, sig) {
			t.Fatal("OpenSSL signature rejected")
		}
		if smcrypto.Verify(&k.PublicKey, append(msgBytes, 'x'), sig) {
			t.Fatal("OpenSSL signature accepted for another message")
		}
	})
	t.Run("openssl pkeyutl signs, Verify accepts", func(t *testing.T) {
		o := o.on(t)
		o.mustRun("pkeyutl", "-sign", "-rawin", "-digest", "sm3", "-inkey", key, "-pkeyopt", distid, "-in", msg, "-out", o.path("sig2"))
		if !smcrypto.Verify(&k.PublicKey, msgBytes, o.read("sig2")) {
			t.Fatal("OpenSSL pkeyutl signature rejected")
		}
	})
	sig, err := smcrypto.Sign(k, msgBytes)
	if err != nil {
		t.Fatal(err)
	}
	sigPath := o.write("sig3", sig)
	t.Run("Sign signs, openssl dgst verifies", func(t *testing.T) {
		o := o.on(t)
		out := o.mustRun("dgst", "-sm3", "-verify", pub, "-sigopt", distid, "-signature", sigPath, msg)
		if !bytes.Contains([]byte(out), []byte("Verified OK")) {
			t.Fatalf("openssl says %q", out)
		}
		if out, ok := o.run("dgst", "-sm3", "-verify", pub, "-sigopt", distid, "-signature", sigPath, other); ok {
			t.Fatalf("openssl verified a signature over another message: %q", out)
		}
		// Without the distid OpenSSL 3 uses an empty ID, so this must fail:
		// proof that the ID is really part of what is checked.
		if out, ok := o.run("dgst", "-sm3", "-verify", pub, "-signature", sigPath, msg); ok {
			t.Fatalf("openssl verified without the signer ID: %q", out)
		}
	})
	t.Run("Sign signs, openssl pkeyutl verifies", func(t *testing.T) {
		o := o.on(t)
		o.mustRun("pkeyutl", "-verify", "-rawin", "-digest", "sm3", "-pubin", "-inkey", pub, "-pkeyopt", distid, "-in", msg, "-sigfile", sigPath)
	})
	pt := []byte("0123456789abcdef")
	t.Run("openssl encrypts, Decrypt decrypts", func(t *testing.T) {
		o := o.on(t)
		o.mustRun("pkeyutl", "-encrypt", "-pubin", "-inkey", pub, "-in", o.write("pt", pt), "-out", o.path("ct1"))
		got, err := smcrypto.Decrypt(k, o.read("ct1"))
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("Decrypt(OpenSSL ciphertext) = %q, %v", got, err)
		}
	})
	t.Run("Encrypt encrypts, openssl decrypts", func(t *testing.T) {
		o := o.on(t)
		ct, err := smcrypto.Encrypt(&k.PublicKey, pt)
		if err != nil {
			t.Fatal(err)
		}
		out := o.mustRun("pkeyutl", "-decrypt", "-inkey", key, "-in", o.write("ct2", ct), "-out", o.path("pt2"))
		if got := o.read("pt2"); !bytes.Equal(got, pt) {
			t.Fatalf("openssl decrypted %q (%s)", got, out)
		}
	})
	t.Run("OpenSSL-generated keys parse", func(t *testing.T) {
		o := o.on(t)
		o.mustRun("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2", "-out", o.path("gen.pem"))
		o.mustRun("pkey", "-in", o.path("gen.pem"), "-pubout", "-out", o.path("genpub.pem"))
		priv := mustPriv(t, string(o.read("gen.pem")))
		pubKey := mustPub(t, string(o.read("genpub.pem")))
		if !smcrypto.PublicKeysEqual(&priv.PublicKey, pubKey) {
			t.Fatal("OpenSSL key forms disagree after parsing")
		}
		// And our PEM is byte-identical to OpenSSL's.
		ours, err := smcrypto.MarshalPublicKeyPEM(pubKey)
		if err != nil || !bytes.Equal(ours, o.read("genpub.pem")) {
			t.Fatalf("MarshalPublicKeyPEM differs from OpenSSL:\n%s\n%s", ours, o.read("genpub.pem"))
		}
	})
}
