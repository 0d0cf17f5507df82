package gateway

import (
	"crypto/rand"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"lijiang/platform/lj1"
	"lijiang/platform/smcrypto"
)

// TestOpenSSLInterop signs a request with the OpenSSL 3 command line (SM2
// with SM3 and the default signer ID, as docs/protocol.md §9 shows), has
// the gateway accept it, and verifies the gateway's answer with OpenSSL.
func TestOpenSSLInterop(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not installed")
	}
	env := e2e(t)
	dir := t.TempDir()
	app := env.sbx
	write := func(name string, b []byte) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	openssl := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("openssl", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	const distid = "distid:1234567812345678"

	// The request: the app's key as PEM, the string to sign, OpenSSL's DER
	// signature in base64 in the header.
	keyPEM, err := smcrypto.MarshalPrivateKeyPEM(app.Sign)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := write("app-sig.key", keyPEM)
	target := "/v1/products?type=deposit&page_size=5"
	nonce, _ := lj1.NewNonce(rand.Reader)
	a := lj1.Authorization{Scheme: lj1.SchemeSM2, AppID: app.ID, Serial: app.SignSerial,
		Timestamp: strconv.FormatInt(env.clock.Now().Unix(), 10), Nonce: nonce}
	msg := write("msg.txt", []byte(a.StringToSign("GET", target, lj1.BodyDigest(nil))))
	sigFile := filepath.Join(dir, "sig.der")
	openssl("dgst", "-sm3", "-sign", keyFile, "-sigopt", distid, "-out", sigFile, msg)
	der, err := os.ReadFile(sigFile)
	if err != nil {
		t.Fatal(err)
	}
	a.Signature = base64.StdEncoding.EncodeToString(der)
	auth := a.String()
	r := env.call(t, e2eCall{app: app, target: target, auth: &auth})
	if r.status != 200 {
		t.Fatalf("the gateway refused OpenSSL's signature: %d %s", r.status, r.body)
	}

	// The answer: its string to sign from the headers, the platform's key
	// as published, OpenSSL verifies.
	pk, ok := env.store.Registry().PlatformKey(r.serial)
	if !ok {
		t.Fatalf("no platform key %s", r.serial)
	}
	pubFile := write("plat-sig.pub", []byte(pk.PublicPEM))
	respMsg := write("response.txt", []byte(lj1.ResponseStringToSign(r.status, r.header.Get("LJ-Request-Id"), nonce,
		r.header.Get("LJ-Timestamp"), r.header.Get("LJ-Nonce"), lj1.BodyDigest(r.raw))))
	respSig, err := base64.StdEncoding.DecodeString(r.header.Get("LJ-Signature"))
	if err != nil {
		t.Fatal(err)
	}
	respSigFile := write("response.sig.der", respSig)
	if out := openssl("dgst", "-sm3", "-verify", pubFile, "-sigopt", distid, "-signature", respSigFile, respMsg); !strings.Contains(out, "Verified OK") {
		t.Fatalf("openssl: %s", out)
	}
	// Without the signer ID OpenSSL uses an empty one: the signature must
	// not verify (the trap the manual warns about).
	out, err := exec.Command("openssl", "dgst", "-sm3", "-verify", pubFile, "-signature", respSigFile, respMsg).CombinedOutput()
	if err == nil || strings.Contains(string(out), "Verified OK") {
		t.Errorf("verified without distid: %s", out)
	}
}
