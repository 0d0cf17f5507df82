package client

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"lijiang/platform/lj1"
)

// Sentinel errors. Test with errors.Is; the returned errors wrap them with
// lower-case context that never contains key material or body contents.
var (
	// ErrConfig reports an invalid Config (New) or Request (Do).
	ErrConfig = errors.New("lijiang client: invalid configuration")
	// ErrResponseSignature reports a response whose LJ1-RESPONSE signature
	// is missing, malformed or wrong, is bound to another request, or is
	// made with a key the client does not trust. Its body is never returned.
	ErrResponseSignature = errors.New("lijiang client: response signature invalid")
	// ErrUnknownSerial reports a response signed under a serial that is not
	// a platform signing key even after refetching the keys. It is always
	// wrapped together with ErrResponseSignature.
	ErrUnknownSerial = errors.New("lijiang client: unknown platform key serial")
	// ErrResponseTimestamp reports a correctly signed response whose
	// LJ-Timestamp is outside the window around the client's clock (a stale
	// or replayed answer, or a wrong clock).
	ErrResponseTimestamp = errors.New("lijiang client: response timestamp outside the window")
	// ErrResponseEnvelope reports a signed response whose encrypted body
	// cannot be opened (malformed envelope, unknown recipient serial, no
	// EncKey configured, or data that does not authenticate).
	ErrResponseEnvelope = errors.New("lijiang client: response envelope cannot be opened")
	// ErrResponseTooLarge reports a response body over MaxResponseBytes.
	ErrResponseTooLarge = errors.New("lijiang client: response body too large")
	// ErrPlatformKeys reports that the platform keys could not be fetched or
	// that the published list is malformed.
	ErrPlatformKeys = errors.New("lijiang client: platform keys unavailable")
	// ErrNoEncryptionKey reports that no active platform encryption key is
	// published, so a request body cannot be encrypted.
	ErrNoEncryptionKey = errors.New("lijiang client: no active platform encryption key")
)

// APIError is a refusal by the gateway itself: a response with a verified
// signature, a 4xx or 5xx status and a body {"code","message","request_id"}
// whose code is one of PROTOCOL.md's error codes with that code's status.
// Find it with errors.As, or test the code with IsCode. Business errors of
// the bank's systems behind the gateway are not APIErrors: they come back
// as a normal *Response.
type APIError struct {
	// Status is the HTTP status.
	Status int
	// Code is the protocol's error code, e.g. "RATE_LIMITED" (lj1.Code…).
	Code string
	// Message is the gateway's human-readable explanation.
	Message string
	// RequestID is the transaction serial number: quote it to the bank.
	RequestID string
	// RetryAfter is the Retry-After header (429 and 503 answers), zero when
	// absent.
	RetryAfter time.Duration
}

// Error returns "lijiang: CODE (status): message [request_id]".
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("lijiang: ")
	b.WriteString(e.Code)
	b.WriteString(" (")
	b.WriteString(strconv.Itoa(e.Status))
	b.WriteString(")")
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.RequestID != "" {
		b.WriteString(" [request_id ")
		b.WriteString(e.RequestID)
		b.WriteString("]")
	}
	return b.String()
}

// Is makes errors.Is(err, target) hold for a target *APIError or protocol
// sentinel (*lj1.Error, e.g. lj1.ErrRateLimited) with the same code.
func (e *APIError) Is(target error) bool {
	switch t := target.(type) {
	case *APIError:
		return t != nil && t.Code == e.Code
	case *lj1.Error:
		return t != nil && t.Code == e.Code
	}
	return false
}

// Retryable reports whether the gateway refused the call before forwarding
// it, because of load or a temporary state, so that sending it again later
// (after RetryAfter, with a fresh signature, which Do always makes) cannot
// execute it twice: RATE_LIMITED, CONCURRENCY_LIMITED, QUOTA_EXCEEDED,
// API_PAUSED and AUDIT_UNAVAILABLE. It is false for UPSTREAM_TIMEOUT,
// UPSTREAM_UNAVAILABLE and INTERNAL_ERROR, where the bank's system may have
// acted: query the outcome before repeating a fund transaction.
func (e *APIError) Retryable() bool {
	switch e.Code {
	case lj1.CodeRateLimited, lj1.CodeConcurrencyLimited, lj1.CodeQuotaExceeded,
		lj1.CodeAPIPaused, lj1.CodeAuditUnavailable:
		return true
	}
	return false
}

// IsCode reports whether err is (or wraps) an *APIError with the given
// protocol code.
func IsCode(err error, code string) bool {
	var e *APIError
	return errors.As(err, &e) && e.Code == code
}

// protocolStatus is PROTOCOL.md's table: code → status.
var protocolStatus = lj1.Codes()

// apiError returns the *APIError that a verified (and decrypted) response
// carries, or nil when it is not a protocol error answer.
func apiError(status int, h http.Header, body []byte, requestID string, now time.Time) *APIError {
	if status < 400 || status > 599 {
		return nil
	}
	var eb struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
	}
	if json.Unmarshal(body, &eb) != nil {
		return nil
	}
	if st, ok := protocolStatus[eb.Code]; !ok || st != status {
		return nil
	}
	e := &APIError{Status: status, Code: eb.Code, Message: eb.Message, RequestID: eb.RequestID}
	if e.RequestID == "" {
		e.RequestID = requestID
	}
	e.RetryAfter = retryAfter(h.Get("Retry-After"), now)
	return e
}

// retryAfter parses Retry-After (delay-seconds or an HTTP-date, RFC 9110
// §10.2.3); anything else, or a date in the past, is zero.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > 1<<31 {
			n = 1 << 31
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
