package sandbox

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"lijiang/platform/lj1"
)

// Identity headers set by the gateway (and trusted: see the package doc).
const (
	HeaderAppID      = "X-LJ-App-Id"
	HeaderCustomerID = "X-LJ-Customer-Id"
	// HeaderConsentID is the consent the call is made under: account ids
	// (AccountID) are per consent.
	HeaderConsentID = "X-LJ-Consent-Id"
	// HeaderIdempotencyKey is required on POST /v1/transfers.
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderReplayed marks the replayed answer of an idempotent retry.
	HeaderReplayed = "Idempotent-Replayed"
)

// MaxBodyBytes is the largest request body the bank reads.
const MaxBodyBytes = 64 << 10

// Error codes of the sandbox bank, in its {"code","message"} bodies.
// Where a refusal means what a gateway refusal means, the bank uses
// the gateway's code (PROTOCOL.md §Errors, platform/lj1) with its status, so
// that one client handles both; the others are the bank's business errors.
const (
	CodeParamInvalid         = lj1.CodeParamInvalid         // 400
	CodeConsentRequired      = lj1.CodeConsentRequired      // 403: no customer, or one unknown to the bank
	CodePermissionDenied     = lj1.CodePermissionDenied     // 403: the calling app is not identified
	CodeAPINotFound          = lj1.CodeAPINotFound          // 404: no such path
	CodeBodyTooLarge         = lj1.CodeBodyTooLarge         // 413
	CodeUnsupportedMedia     = lj1.CodeUnsupportedMediaType // 415
	CodeInternalError        = lj1.CodeInternalError        // 500
	CodeInvalidAmount        = "INVALID_AMOUNT"
	CodeAccountNotFound      = "ACCOUNT_NOT_FOUND"
	CodeProductNotFound      = "PRODUCT_NOT_FOUND"
	CodeTransferNotFound     = "TRANSFER_NOT_FOUND"
	CodeMethodNotAllowed     = "METHOD_NOT_ALLOWED"
	CodeIdempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED"
	CodeInsufficientFunds    = "INSUFFICIENT_FUNDS"
	CodeLimitExceeded        = "LIMIT_EXCEEDED"
)

// apiError is a business error as the bank answers it. Its message never
// carries an account number, a name or any other personal data.
type apiError struct {
	status  int
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errInvalid(msg string) *apiError {
	return &apiError{http.StatusBadRequest, CodeParamInvalid, msg}
}

var (
	errAccountNotFound = &apiError{http.StatusNotFound, CodeAccountNotFound, "no such account"}
	errPathNotFound    = &apiError{http.StatusNotFound, CodeAPINotFound, "no such resource"}
)

// route is one endpoint: its method and handler; param is the path
// parameter ({product_id}, {account_no} or {transfer_id}), if any.
type route struct {
	method string
	h      func(b *Bank, w http.ResponseWriter, r *http.Request, param string)
}

// match finds the route for a path. Paths are matched exactly: no trailing
// slash, no empty segment.
func match(path string) (route, string, bool) {
	if len(path) < 2 || path[0] != '/' || len(path) > 256 {
		return route{}, "", false
	}
	var seg [5]string
	n := 0
	for rest := path[1:]; ; {
		if n == len(seg) {
			return route{}, "", false
		}
		s, tail, more := strings.Cut(rest, "/")
		if s == "" {
			return route{}, "", false
		}
		seg[n] = s
		n++
		if !more {
			break
		}
		rest = tail
	}
	switch {
	case n == 1 && seg[0] == "healthz":
		return route{http.MethodGet, (*Bank).healthz}, "", true
	case seg[0] != "v1":
		return route{}, "", false
	case n == 2 && seg[1] == "products":
		return route{http.MethodGet, (*Bank).listProducts}, "", true
	case n == 3 && seg[1] == "products":
		return route{http.MethodGet, (*Bank).getProduct}, seg[2], true
	case n == 3 && seg[1] == "rates" && seg[2] == "deposit":
		return route{http.MethodGet, (*Bank).depositRates}, "", true
	case n == 2 && seg[1] == "branches":
		return route{http.MethodGet, (*Bank).listBranches}, "", true
	case n == 2 && seg[1] == "accounts":
		return route{http.MethodGet, (*Bank).listAccounts}, "", true
	case n == 4 && seg[1] == "accounts" && seg[3] == "balance":
		return route{http.MethodGet, (*Bank).balance}, seg[2], true
	case n == 4 && seg[1] == "accounts" && seg[3] == "transactions":
		return route{http.MethodGet, (*Bank).transactions}, seg[2], true
	case n == 2 && seg[1] == "transfers":
		return route{http.MethodPost, (*Bank).createTransfer}, "", true
	case n == 3 && seg[1] == "transfers":
		return route{http.MethodGet, (*Bank).getTransfer}, seg[2], true
	}
	return route{}, "", false
}

func (b *Bank) serveHTTP(w http.ResponseWriter, r *http.Request) {
	rt, param, ok := match(r.URL.Path)
	if !ok {
		writeError(w, errPathNotFound)
		return
	}
	if r.Method != rt.method {
		w.Header().Set("Allow", rt.method)
		writeError(w, &apiError{http.StatusMethodNotAllowed, CodeMethodNotAllowed, "method not allowed; use " + rt.method})
		return
	}
	rt.h(b, w, r, param)
}

// writeJSON encodes v and writes it with status. Callers hold no lock.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeError(w, &apiError{http.StatusInternalServerError, CodeInternalError, "internal error"})
		return
	}
	writeBody(w, status, body)
}

func writeBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func writeError(w http.ResponseWriter, e *apiError) {
	body, _ := json.Marshal(e)
	writeBody(w, e.status, body)
}

// queryParams parses a raw query strictly: only the allowed names, each at
// most once. Unknown parameters are refused rather than ignored, so that a
// misspelt filter is noticed (R-7.2.2a).
func queryParams(raw string, allowed ...string) (map[string]string, *apiError) {
	if raw == "" {
		return nil, nil
	}
	if len(raw) > 1024 {
		return nil, errInvalid("the query string is too long")
	}
	v, err := url.ParseQuery(raw)
	if err != nil {
		return nil, errInvalid("the query string is malformed")
	}
	out := make(map[string]string, len(v))
	for k, vals := range v {
		known := false
		for _, a := range allowed {
			known = known || k == a
		}
		if !known {
			if safeName(k) {
				return nil, errInvalid("unknown query parameter " + strconv.Quote(k))
			}
			return nil, errInvalid("unknown query parameter")
		}
		if len(vals) != 1 {
			return nil, errInvalid("query parameter " + k + " is given more than once")
		}
		out[k] = vals[0]
	}
	return out, nil
}

// safeName reports whether a client-supplied name may be echoed in a message
// (a short lower-case identifier: it cannot carry personal data).
func safeName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c == '_' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Pagination bounds.
const (
	defaultPageSize = 20
	maxPageSize     = 100
	maxPage         = 10000
)

// pageParams reads page and page_size (defaults 1 and 20).
func pageParams(q map[string]string) (page, size int, e *apiError) {
	page, size = 1, defaultPageSize
	if s, ok := q["page"]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPage || s[0] == '+' {
			return 0, 0, errInvalid("page must be an integer from 1 to 10000")
		}
		page = n
	}
	if s, ok := q["page_size"]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPageSize || s[0] == '+' {
			return 0, 0, errInvalid("page_size must be an integer from 1 to 100")
		}
		size = n
	}
	return page, size, nil
}

// pageBounds returns the slice bounds of a page over total items.
func pageBounds(total, page, size int) (lo, hi int) {
	lo = min((page-1)*size, total)
	return lo, min(lo+size, total)
}

// customerOf returns the customer the gateway forwarded, or 403
// CONSENT_REQUIRED when there is none or it is unknown.
func (b *Bank) customerOf(r *http.Request) (*customer, *apiError) {
	id := r.Header.Get(HeaderCustomerID)
	if id == "" {
		return nil, &apiError{http.StatusForbidden, CodeConsentRequired, "this API acts for a customer: the customer's consent is required"}
	}
	c, ok := b.customers[id]
	if !ok {
		return nil, &apiError{http.StatusForbidden, CodeConsentRequired, "the customer is not known to the bank"}
	}
	return c, nil
}

// customerNoQuery is customerOf for a call that takes no query parameters:
// it also refuses any.
func (b *Bank) customerNoQuery(r *http.Request) (*customer, *apiError) {
	c, e := b.customerOf(r)
	if e == nil {
		_, e = queryParams(r.URL.RawQuery)
	}
	return c, e
}
