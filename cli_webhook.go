package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"lijiang/platform/fsutil"
	"lijiang/platform/lj1"
	"lijiang/platform/smcrypto"
	"lijiang/portal"
)

// `lijiang webhook`: a developer's receiver and verifier of the platform's
// notices (docs/portal.md §8). The signature is portal.VerifyWebhook's, the
// one the sender's is checked against.

// webhookBodyLimit bounds a received notice (they are a few hundred bytes).
const webhookBodyLimit = 1 << 20

// webhookFlags are the flags `webhook listen` and `webhook verify` share.
type webhookFlags struct {
	keysFile string
	maxAge   time.Duration
}

func (f *webhookFlags) bind(fs *flag.FlagSet, maxAge time.Duration) {
	fs.StringVar(&f.keysFile, "keys", "", "the platform's keys document, as saved from /.well-known/lijiang/keys (read again for every notice, so a newer copy is used)")
	fs.DurationVar(&f.maxAge, "max-age", maxAge, "refuse a notice whose LJ-Timestamp is further than this from now (0: do not check)")
}

// keyLookup reads the keys document and returns the "sig" key of a serial.
func (f *webhookFlags) keyLookup() (func(serial string) *ecdsa.PublicKey, error) {
	b, err := os.ReadFile(f.keysFile)
	if err != nil {
		return nil, fmt.Errorf("--keys: %w", err)
	}
	var doc lj1.KeysDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("--keys %s: not a keys document: %w", f.keysFile, err)
	}
	return func(serial string) *ecdsa.PublicKey {
		for _, k := range doc.Keys {
			if k.Serial == serial && k.Use == "sig" && k.Alg == "SM2" {
				pub, err := smcrypto.ParsePublicKey([]byte(k.PublicKey))
				if err == nil {
					return pub
				}
			}
		}
		return nil
	}, nil
}

// verify checks one received notice.
func (f *webhookFlags) verify(h http.Header, body []byte) (portal.WebhookNotice, error) {
	key, err := f.keyLookup()
	if err != nil {
		return portal.WebhookNotice{}, err
	}
	return portal.VerifyWebhook(h, body, key, time.Now(), f.maxAge)
}

func cmdWebhook(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("webhook: want 'listen' or 'verify'")
	}
	switch args[0] {
	case "listen":
		return cmdWebhookListen(args[1:], stdout, stderr)
	case "verify":
		return cmdWebhookVerify(args[1:], stdout)
	}
	return usagef("webhook: want 'listen' or 'verify', not %q", args[0])
}

// cmdWebhookVerify verifies a saved notice (body and headers) and prints it.
func cmdWebhookVerify(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("webhook verify", flag.ContinueOnError)
	var wf webhookFlags
	wf.bind(fs, 0)
	headersFile := fs.String("headers", "", "the request's headers, one 'Name: value' a line (other lines are skipped, so curl -D output will do)")
	bodyFile := fs.String("body", "", "the request's body, exactly as received")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if wf.keysFile == "" || *headersFile == "" || *bodyFile == "" {
		return usagef("webhook verify: --keys, --headers and --body are required")
	}
	hb, err := os.ReadFile(*headersFile)
	if err != nil {
		return fmt.Errorf("--headers: %w", err)
	}
	body, err := os.ReadFile(*bodyFile)
	if err != nil {
		return fmt.Errorf("--body: %w", err)
	}
	h := parseHeaderLines(hb)
	if _, err := wf.verify(h, body); err != nil {
		return fmt.Errorf("webhook verify: %w", err)
	}
	fmt.Fprintf(stdout, "notice %s verified (signature by %s)\n", h.Get(portal.HeaderNoticeID), h.Get("LJ-Serial"))
	return nil
}

// parseHeaderLines reads "Name: value" lines; a line without a colon (a
// request or status line) or with a space in its name is skipped.
func parseHeaderLines(b []byte) http.Header {
	h := http.Header{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, value, ok := strings.Cut(strings.TrimRight(sc.Text(), "\r"), ":")
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			continue
		}
		h.Add(name, strings.TrimSpace(value))
	}
	return h
}

// noticeFileID keeps a notice id usable as a file name.
var noticeFileID = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)

// cmdWebhookListen receives notices over plain HTTP (a demo node delivers to
// loopback addresses; in production, put it behind your TLS terminator),
// verifies each, prints each verified body as one line on stdout and answers
// 204; a notice that does not verify is answered 401 and reported on stderr.
func cmdWebhookListen(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("webhook listen", flag.ContinueOnError)
	var wf webhookFlags
	wf.bind(fs, 5*time.Minute)
	addr := fs.String("addr", "127.0.0.1:0", "the address to listen on (port 0: any free port; the URL is printed on stderr)")
	saveDir := fs.String("save-dir", "", "also save each verified notice as ID.body and ID.headers in this directory")
	count := fs.Int("count", 0, "exit after this many verified notices (0: run until interrupted)")
	wait := fs.Duration("wait", 0, "with --count: fail if the notices have not come within this time (0: wait for ever)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if wf.keysFile == "" {
		return usagef("webhook listen: --keys is required (save it with: curl $API/.well-known/lijiang/keys > keys.json)")
	}
	if _, err := wf.keyLookup(); err != nil {
		return err
	}
	if *saveDir != "" {
		if err := os.MkdirAll(*saveDir, 0o700); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("webhook listen: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *count > 0 && *wait > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *wait)
		defer cancel()
	}
	var mu sync.Mutex
	verified := 0
	done := make(chan struct{})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, webhookBodyLimit))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		n, err := wf.verify(r.Header, body)
		if err != nil {
			fmt.Fprintf(stderr, "refused a notice: %v\n", err)
			http.Error(w, "not verified", http.StatusUnauthorized)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if *saveDir != "" && noticeFileID.MatchString(n.ID) {
			if err := saveNotice(*saveDir, n.ID, r.Header, body); err != nil {
				fmt.Fprintf(stderr, "saving notice %s: %v\n", n.ID, err)
				http.Error(w, "cannot save", http.StatusInternalServerError)
				return
			}
		}
		stdout.Write(append(bytes.TrimSpace(body), '\n'))
		w.WriteHeader(http.StatusNoContent)
		if verified++; *count > 0 && verified == *count {
			close(done)
		}
	})
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	fmt.Fprintf(stderr, "listening on http://%s/\n", ln.Addr())
	var waitErr error
	select {
	case <-done:
	case <-ctx.Done():
		if *count > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			waitErr = fmt.Errorf("webhook listen: %d of %d notices within %s", verified, *count, *wait)
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return waitErr
}

// saveNotice writes a verified notice's body as received and its headers,
// one "Name: value" a line, for `webhook verify` or openssl.
func saveNotice(dir, id string, h http.Header, body []byte) error {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	var hb bytes.Buffer
	for _, k := range names {
		name := k
		if rest, ok := strings.CutPrefix(k, "Lj-"); ok {
			name = "LJ-" + rest // as the sender spells them
		}
		for _, v := range h[k] {
			fmt.Fprintf(&hb, "%s: %s\n", name, v)
		}
	}
	if err := fsutil.WriteFileAtomic(filepath.Join(dir, id+".headers"), hb.Bytes(), 0o600); err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(filepath.Join(dir, id+".body"), body, 0o600)
}
