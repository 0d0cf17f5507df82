package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"lijiang/platform/lj1"
	"lijiang/platform/smcrypto"
	"lijiang/portal"
)

// lockedBuffer is a bytes.Buffer safe for a command's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestWebhookListenAndVerify: `webhook listen` answers 204 to a notice
// signed as the platform signs it, prints it and saves it; 401 to a
// tampered one; `webhook verify` accepts the saved files and refuses a
// changed body.
func TestWebhookListenAndVerify(t *testing.T) {
	dir := t.TempDir()
	priv, err := smcrypto.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, _ := smcrypto.MarshalPublicKeyPEM(&priv.PublicKey)
	keys, _ := json.Marshal(lj1.KeysDoc{Keys: []lj1.PublishedKey{{Serial: "plat-sig-1", Use: "sig", Alg: "SM2", PublicKey: string(pubPEM), Status: "active"}}})
	keysFile := filepath.Join(dir, "keys.json")
	if err := os.WriteFile(keysFile, keys, 0o600); err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"id":"ntc_test1","kind":"api.deprecated","applicant_id":"apl_x","title":"t","body":"b","created_at":"2026-01-01T00:00:00Z"}`)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	sig, err := lj1.SignSM2(priv, portal.WebhookStringToSign("01KDVDNAZ8ADR4RJAA950MWHS1", ts, "nonce-nonce-nonce-1234", body))
	if err != nil {
		t.Fatal(err)
	}

	var stdout, stderr lockedBuffer
	saveDir := filepath.Join(dir, "hooks")
	exit := make(chan int, 1)
	go func() {
		exit <- run([]string{"webhook", "listen", "--keys", keysFile, "--save-dir", saveDir, "--count", "1", "--wait", "20s"}, &stdout, &stderr)
	}()
	var url string
	for deadline := time.Now().Add(10 * time.Second); url == ""; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no URL: %s", stderr.String())
		}
		if rest, ok := strings.CutPrefix(stderr.String(), "listening on "); ok {
			url = strings.TrimSpace(rest) + "notices"
		}
	}
	post := func(b []byte) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range map[string]string{"LJ-Request-Id": "01KDVDNAZ8ADR4RJAA950MWHS1", "LJ-Timestamp": ts, "LJ-Nonce": "nonce-nonce-nonce-1234",
			"LJ-Serial": "plat-sig-1", "LJ-Signature": sig, "LJ-Notice-Id": "ntc_test1", "LJ-Webhook-Attempt": "1"} {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := post(bytes.Replace(body, []byte("deprecated"), []byte("retired"), 1)); got != http.StatusUnauthorized {
		t.Fatalf("tampered notice answered %d", got)
	}
	if got := post(body); got != http.StatusNoContent {
		t.Fatalf("notice answered %d: %s", got, stderr.String())
	}
	if code := <-exit; code != exitOK {
		t.Fatalf("listen exited %d: %s", code, stderr.String())
	}
	if stdout.String() != string(body)+"\n" {
		t.Fatalf("printed %q", stdout.String())
	}
	hdrs := filepath.Join(saveDir, "ntc_test1.headers")
	saved := filepath.Join(saveDir, "ntc_test1.body")
	if b, err := os.ReadFile(hdrs); err != nil || !strings.Contains(string(b), "LJ-Serial: plat-sig-1\n") {
		t.Fatalf("saved headers %q %v", b, err)
	}

	var out bytes.Buffer
	if code := run([]string{"webhook", "verify", "--keys", keysFile, "--headers", hdrs, "--body", saved}, &out, &out); code != exitOK {
		t.Fatalf("verify exited %d: %s", code, out.String())
	}
	if !strings.Contains(out.String(), "notice ntc_test1 verified (signature by plat-sig-1)") {
		t.Fatalf("verify said %q", out.String())
	}
	tampered := filepath.Join(dir, "tampered.body")
	if err := os.WriteFile(tampered, bytes.Replace(body, []byte(`"b"`), []byte(`"c"`), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := run([]string{"webhook", "verify", "--keys", keysFile, "--headers", hdrs, "--body", tampered}, &out, &out); code != exitFailure ||
		!strings.Contains(out.String(), "signature does not verify") {
		t.Fatalf("tampered body: exit %d, %q", code, out.String())
	}
}

func TestParseHeaderLines(t *testing.T) {
	h := parseHeaderLines([]byte("POST /notices HTTP/1.1\r\nLJ-Serial: plat-sig-1\r\nX Bad: no\nLJ-Nonce:  abc \n\nnot a header\n"))
	if h.Get("LJ-Serial") != "plat-sig-1" || h.Get("LJ-Nonce") != "abc" || len(h) != 2 {
		t.Fatalf("%v", h)
	}
}
