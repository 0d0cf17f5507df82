package portal

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"lijiang/platform"
	"lijiang/platform/lj1"
)

// Webhook delivery of notices and of alerts (alertwebhook.go).
//
// Only the Raft leader delivers. Every poll it (1) proposes webhook.enqueue
// for notices that were inserted without a delivery row, and (2) POSTs each
// due pending delivery to its callback URL, then records the attempt with a
// webhook.attempt command (whose id is derived from the notice and the
// attempt number, so a re-proposal is applied once). A failed attempt is
// retried after Config.WebhookBackoff[attempt-1] (the last entry repeating),
// up to platform.WebhookMaxAttempts attempts; then the delivery fails.
// Delivery is at least once: a receiver deduplicates by the notice id (the
// "id" member, also in the LJ-Notice-Id header).
//
// The request: POST, Content-Type application/json, body
//
//	{"id","kind","applicant_id","api_id","title","body","created_at"}
//
// signed like an LJ1 response (PROTOCOL.md §Response signature) with the
// platform's active signing key: headers LJ-Request-Id (a fresh transaction
// serial per attempt), LJ-Timestamp, LJ-Nonce, LJ-Serial and LJ-Signature,
// the signature over the LJ1-RESPONSE string to sign with status "200" and
// an empty request nonce (there is no request being answered):
//
//	LJ1-RESPONSE\n200\n{LJ-Request-Id}\n\n{LJ-Timestamp}\n{LJ-Nonce}\n{SM3 hex of the body}\n
//
// Receivers verify it with the key published at /.well-known/lijiang/keys
// under LJ-Serial, exactly as they verify API responses. Redirects are not
// followed (a 3xx is a failure); only https URLs are called, and no loopback,
// link-local or unspecified address literal, unless
// Config.AllowLoopbackHTTPWebhooks (tests, demo), which also allows http to
// loopback addresses.

// Webhook delivery tuning.
const (
	webhookBatch         = 100              // due deliveries read per poll
	webhookConcurrency   = 8                // deliveries in flight at once
	webhookTimeout       = 15 * time.Second // bound of one attempt (the client may have a shorter one)
	webhookMaxPoll       = time.Second      // longest wait between polls
	webhookMinPoll       = 10 * time.Millisecond
	webhookResponseLimit = 64 << 10
)

func init() {
	backgroundWork = append(backgroundWork, (*Server).startWebhooks)
}

// webhooker is the delivery worker's state.
type webhooker struct {
	s   *Server
	sem chan struct{}
	wg  sync.WaitGroup

	keys *platform.KeyOpener

	mu       sync.Mutex
	inflight map[string]bool // deliveries being attempted (notice ids, "alert:" alert ids)
	// rounds counts rounds; finished maps a delivery whose attempt ended
	// during the current round to that round's number: the round's reads
	// may predate the attempt's record, so it must not start it again.
	rounds   uint64
	finished map[string]uint64
}

// webhookNudges maps a Server whose delivery worker runs to the channel
// that wakes it before its next poll (DeliverAlert).
var webhookNudges sync.Map // *Server → chan struct{}

// nudgeWebhooks wakes this server's delivery worker, if it runs; it never
// blocks.
func (s *Server) nudgeWebhooks() {
	if v, ok := webhookNudges.Load(s); ok {
		select {
		case v.(chan struct{}) <- struct{}{}:
		default:
		}
	}
}

// startWebhooks runs the delivery worker (change notices and alerts) until
// ctx ends; it works only while this node leads the cluster.
func (s *Server) startWebhooks(ctx context.Context) {
	w := &webhooker{s: s, sem: make(chan struct{}, webhookConcurrency), keys: platform.NewKeyOpener(s.cfg.Sealer),
		inflight: map[string]bool{}, finished: map[string]uint64{}}
	interval := webhookMaxPoll
	for _, b := range s.cfg.WebhookBackoff {
		interval = min(interval, b)
	}
	interval = max(interval, webhookMinPoll)
	nudge := make(chan struct{}, 1)
	webhookNudges.Store(s, nudge)
	defer webhookNudges.Delete(s)
	t := time.NewTicker(interval)
	defer t.Stop()
	defer w.wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-nudge:
		}
		if s.cfg.IsLeader() {
			w.round(ctx)
		}
	}
}

var webhookActor = platform.Actor{Kind: platform.ActorSystem, ID: "webhooks"}

// round enqueues orphan notices and starts the due deliveries of notices and
// of alerts (up to webhookBatch of each, webhookConcurrency in flight in all).
func (w *webhooker) round(ctx context.Context) {
	s := w.s
	round := w.startRound()
	now := s.now()
	orphans, err := s.store.NoticesWithoutDelivery(500)
	var due []platform.DueDelivery
	var dueAlerts []platform.DueAlertDelivery
	if err == nil {
		due, err = s.store.DueDeliveries(now.UnixMilli(), webhookBatch)
	}
	if err == nil {
		dueAlerts, err = s.store.DueAlertDeliveries(now.UnixMilli(), webhookBatch)
	}
	if err != nil {
		if !errors.Is(err, platform.ErrClosed) {
			s.log.Warn("webhooks: reading deliveries", "err", err)
		}
		return
	}
	actor := webhookActor
	actor.Node = s.cfg.NodeID
	if len(orphans) > 0 {
		if _, err := s.execAs(ctx, actor, "", platform.CmdWebhookEnqueue, 1, platform.WebhookEnqueue{NoticeIDs: orphans}); err != nil && ctx.Err() == nil {
			s.log.Warn("webhooks: enqueueing notices", "err", err)
		}
	}
	for _, d := range due {
		if !w.spawn(ctx, round, d.NoticeID, func() { w.deliver(ctx, d) }) {
			return
		}
	}
	for _, d := range dueAlerts {
		if !w.spawn(ctx, round, "alert:"+d.Alert.ID, func() { w.deliverAlert(ctx, d) }) {
			return
		}
	}
}

// startRound numbers a new round, before it reads the due deliveries.
func (w *webhooker) startRound() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rounds++
	for k, r := range w.finished {
		if r < w.rounds {
			delete(w.finished, k) // recorded before this round's reads
		}
	}
	return w.rounds
}

// spawn runs fn in the background under the concurrency bound, unless key
// is in flight already or its attempt ended during this round (the round
// read it as it was before that attempt); false when ctx ended while waiting
// for a slot.
func (w *webhooker) spawn(ctx context.Context, round uint64, key string, fn func()) bool {
	w.mu.Lock()
	busy := w.inflight[key] || w.finished[key] >= round
	if !busy {
		w.inflight[key] = true
	}
	w.mu.Unlock()
	if busy {
		return true
	}
	select {
	case w.sem <- struct{}{}:
	case <-ctx.Done():
		w.done(key)
		return false
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer func() { <-w.sem }()
		defer w.done(key)
		fn()
	}()
	return true
}

func (w *webhooker) done(key string) {
	w.mu.Lock()
	delete(w.inflight, key)
	w.finished[key] = w.rounds
	w.mu.Unlock()
}

// signer returns the platform's active signing key, if it is valid now.
func (w *webhooker) signer() (*sm2.PrivateKey, string, error) {
	return w.keys.Signer(w.s.store.Registry(), w.s.now())
}

// WebhookNotice is the body of a webhook request: what a receiver gets.
type WebhookNotice struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	ApplicantID string    `json:"applicant_id"`
	APIID       string    `json:"api_id,omitempty"`
	Title       string    `json:"title"`
	Body        string    `json:"body"`
	CreatedAt   time.Time `json:"created_at"`
}

// deliver makes one attempt and records it.
func (w *webhooker) deliver(ctx context.Context, d platform.DueDelivery) {
	s := w.s
	priv, serial, err := w.signer()
	if err != nil {
		// Not the receiver's fault: no attempt is counted.
		s.log.Error("webhooks: cannot sign", "err", err)
		return
	}
	attempt := d.Attempts + 1
	status, failure, giveUp := w.send(ctx, d, priv, serial)
	if ctx.Err() != nil {
		return // shutting down: the attempt is not recorded and will be made again
	}
	p := platform.WebhookAttempt{NoticeID: d.NoticeID, Attempt: attempt, OK: failure == "", HTTPStatus: status, Error: failure}
	if !p.OK && !giveUp && attempt < platform.WebhookMaxAttempts {
		p.NextAttemptMs = s.now().Add(w.backoff(attempt)).UnixMilli()
	}
	w.record(ctx, "webhook.attempt:"+d.NoticeID+":"+strconv.Itoa(attempt), platform.CmdWebhookAttempt, p, "notice", d.NoticeID, attempt)
}

// record proposes the command that records an attempt; its id is derived
// from the delivery and the attempt, so a re-proposal is applied once. It
// outlives ctx by up to webhookTimeout: an attempt made is recorded.
func (w *webhooker) record(ctx context.Context, id, typ string, p any, what, key string, attempt int) {
	s := w.s
	actor := webhookActor
	actor.Node = s.cfg.NodeID
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), webhookTimeout)
	defer cancel()
	if _, err := s.execAs(rctx, actor, id, typ, 1, p); err != nil {
		var ce *platform.CommandError
		if !errors.As(err, &ce) || ce.Code != platform.CodeConflict {
			s.log.Warn("webhooks: recording an attempt", what, key, "attempt", attempt, "err", err)
		}
	}
}

// backoff is the wait after failed attempt n (1-based).
func (w *webhooker) backoff(n int) time.Duration {
	b := w.s.cfg.WebhookBackoff
	return b[min(n-1, len(b)-1)]
}

// send POSTs the notice and returns the receiver's status and, on failure,
// a short description without the URL or any secret; giveUp when retrying
// cannot help (the URL is not allowed).
func (w *webhooker) send(ctx context.Context, d platform.DueDelivery, priv *sm2.PrivateKey, serial string) (status int, failure string, giveUp bool) {
	body, err := json.Marshal(WebhookNotice{ID: d.Notice.ID, Kind: d.Notice.Kind, ApplicantID: d.Notice.ApplicantID, APIID: d.Notice.APIID,
		Title: d.Notice.Title, Body: d.Notice.Body, CreatedAt: d.Notice.Created})
	if err != nil {
		return 0, "encoding failed", true
	}
	return w.post(ctx, d.URL, body, HeaderNoticeID, d.Notice.ID, d.Attempts+1, priv, serial)
}

// post signs body and POSTs it to rawURL (SSRF-guarded by allowedURL, no
// redirects followed): the one sender of change notices and alerts. idHeader
// carries id (the receiver's deduplication key).
func (w *webhooker) post(ctx context.Context, rawURL string, body []byte, idHeader, id string, attempt int, priv *sm2.PrivateKey, serial string) (status int, failure string, giveUp bool) {
	s := w.s
	u, err := url.Parse(rawURL)
	if err != nil || !w.allowedURL(u) {
		return 0, "callback URL not allowed (https only, no loopback or link-local address)", true
	}
	now := s.now()
	reqID, err := lj1.NewRequestID(lj1.NodeNumber(s.cfg.NodeID), now, rand.Reader)
	if err != nil {
		return 0, "request id failed", false
	}
	nonce, err := lj1.NewNonce(rand.Reader)
	if err != nil {
		return 0, "nonce failed", false
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	sig, err := lj1.SignSM2(priv, WebhookStringToSign(reqID, ts, nonce, body))
	if err != nil {
		return 0, "signing failed", false
	}
	rctx, cancel := context.WithTimeout(ctx, webhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return 0, "callback URL not allowed", true
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "Lijiang-Webhook/1")
	h.Set("LJ-Request-Id", reqID)
	h.Set("LJ-Timestamp", ts)
	h.Set("LJ-Nonce", nonce)
	h.Set("LJ-Serial", serial)
	h.Set("LJ-Signature", sig)
	h.Set(idHeader, id)
	h.Set(HeaderWebhookAttempt, strconv.Itoa(attempt))
	resp, err := s.cfg.WebhookClient.Do(req)
	if err != nil {
		return 0, classifySendError(err), false
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, webhookResponseLimit))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return resp.StatusCode, "", false
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return resp.StatusCode, "redirect not followed (status " + strconv.Itoa(resp.StatusCode) + ")", false
	}
	return resp.StatusCode, "status " + strconv.Itoa(resp.StatusCode), false
}

// allowedURL: https (or http to loopback when allowed), with a host, and no
// loopback, link-local, multicast or unspecified address literal unless
// loopback targets are allowed.
func (w *webhooker) allowedURL(u *url.URL) bool {
	if u.Host == "" || u.User != nil {
		return false
	}
	host := u.Hostname()
	loopback := host == "localhost" || strings.HasSuffix(host, ".localhost")
	ip := net.ParseIP(host)
	if ip != nil {
		loopback = ip.IsLoopback()
		if ip.IsUnspecified() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsMulticast() {
			return false
		}
	}
	allowLoop := w.s.cfg.AllowLoopbackHTTPWebhooks
	switch u.Scheme {
	case "https":
		return !loopback || allowLoop
	case "http":
		return loopback && allowLoop
	}
	return false
}

// classifySendError describes a transport failure in a few words (never
// the URL, which net/http puts in its error text).
func classifySendError(err error) string {
	var ne net.Error
	var cve *tls.CertificateVerificationError
	var uae x509.UnknownAuthorityError
	var hne x509.HostnameError
	var rhe tls.RecordHeaderError
	var dnse *net.DNSError
	var oe *net.OpError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.As(err, &cve) || errors.As(err, &uae) || errors.As(err, &hne):
		return "TLS certificate not trusted"
	case errors.As(err, &rhe):
		return "TLS handshake failed"
	case errors.As(err, &dnse):
		return "host name not resolved"
	case errors.As(err, &oe) && oe.Op == "dial":
		return "connection refused or unreachable"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by the receiver"
	}
	return "request failed"
}

// Headers a webhook request carries besides the LJ1 signature's.
const (
	HeaderNoticeID       = "LJ-Notice-Id"       // the notice's id, as in the body
	HeaderWebhookAttempt = "LJ-Webhook-Attempt" // 1, 2, … for each delivery attempt
)

// WebhookStringToSign is the string a webhook's LJ-Signature signs: the
// LJ1-RESPONSE string to sign with status 200 and an empty request nonce.
// The sender and VerifyWebhook both build it here.
func WebhookStringToSign(requestID, timestamp, nonce string, body []byte) string {
	return lj1.ResponseStringToSign(http.StatusOK, requestID, "", timestamp, nonce, lj1.BodyDigest(body))
}

// Errors of VerifyWebhook.
var (
	ErrWebhookUnknownKey = errors.New("webhook signed by an unknown platform key")
	ErrWebhookSignature  = errors.New("webhook signature does not verify")
	ErrWebhookStale      = errors.New("webhook timestamp is not recent")
	ErrWebhookBody       = errors.New("webhook body is not a notice")
)

// VerifyWebhook checks a received webhook request as a receiver must: the
// LJ-Signature over WebhookStringToSign by the platform key that key returns
// for LJ-Serial (nil: unknown), and, when maxAge > 0, an LJ-Timestamp within
// maxAge of now. It returns the notice of the verified body.
func VerifyWebhook(h http.Header, body []byte, key func(serial string) *ecdsa.PublicKey, now time.Time, maxAge time.Duration) (WebhookNotice, error) {
	var n WebhookNotice
	pub := key(h.Get("LJ-Serial"))
	if pub == nil {
		return n, fmt.Errorf("%w: %q", ErrWebhookUnknownKey, h.Get("LJ-Serial"))
	}
	ts := h.Get("LJ-Timestamp")
	sts := WebhookStringToSign(h.Get("LJ-Request-Id"), ts, h.Get("LJ-Nonce"), body)
	if strings.ContainsAny(h.Get("LJ-Request-Id")+ts+h.Get("LJ-Nonce"), "\r\n") || !lj1.VerifySM2(pub, sts, h.Get("LJ-Signature")) {
		return n, ErrWebhookSignature
	}
	if maxAge > 0 {
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || now.Sub(time.Unix(sec, 0)).Abs() > maxAge {
			return n, fmt.Errorf("%w: %s", ErrWebhookStale, ts)
		}
	}
	if err := json.Unmarshal(body, &n); err != nil || n.ID == "" {
		return n, ErrWebhookBody
	}
	return n, nil
}
