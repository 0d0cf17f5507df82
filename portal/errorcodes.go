package portal

import (
	"net/http"
	"strconv"
	"strings"
)

// ErrorCode documents one code of the admin and portal APIs' errors. The
// table ErrorCodes is the source of docs/errors.md and of the OpenAPI
// documents' Error schema (code enum, x-error-codes); a test fails when a
// code is answered but not listed here.
type ErrorCode struct {
	Code     string `json:"code"`
	Statuses []int  `json:"statuses"`
	Meaning  string `json:"meaning"`
	Action   string `json:"action"`
}

// ErrorCodes lists every code the admin and portal APIs answer, in the order
// of their HTTP statuses.
var ErrorCodes = []ErrorCode{
	{CodeBadRequest, []int{http.StatusBadRequest}, "The request is malformed: the body is not one JSON object, or another client error not tied to one field.", "Fix the request; the message says what is wrong."},
	{CodeInvalid, []int{http.StatusBadRequest}, "A field (named in `field`; a header such as If-Match, or a query parameter, counts as one) fails validation.", "Correct the named field and send again."},
	{CodeUnauthenticated, []int{http.StatusUnauthorized}, "No valid session (not logged in, session expired), or wrong user name, password or one-time code at login; on GET /metrics, no session and no valid scrape token (unknown or revoked).", "Log in (again) and retry with the session cookie; for /metrics, send a current scrape token as Authorization: Bearer."},
	{CodeForbidden, []int{http.StatusForbidden}, "The session's role, or a rule such as separation of duties, does not allow this.", "Ask someone whose role allows it; do not retry."},
	{CodeNotFound, []int{http.StatusNotFound}, "No such resource or route, or one the caller may not see.", "Check the id and path."},
	{CodeMethodNotAllowed, []int{http.StatusMethodNotAllowed}, "The path exists but does not take this method.", "Use a method the OpenAPI document lists for the path."},
	{CodeConflict, []int{http.StatusConflict}, "Duplicate or stale: the record already exists, its If-Match version is no longer current, the state does not allow the transition, or an Idempotency-Key was reused with another request.", "Read the resource again (for its current version and state) and decide; a blind retry fails again."},
	{CodeTooLarge, []int{http.StatusRequestEntityTooLarge}, "The request body is larger than 1 MiB (a document upload: its file larger than 2 MiB).", "Send a smaller body."},
	{CodeUnsupportedMedia, []int{http.StatusUnsupportedMediaType}, "A state-changing request whose body is not application/json.", "Send Content-Type: application/json."},
	{CodePreconditionRequired, []int{http.StatusPreconditionRequired}, "A change to a versioned resource without If-Match.", "Read the resource and send `If-Match: \"<version>\"` with its ETag."},
	{CodeTooManyAttempts, []int{http.StatusTooManyRequests}, "Too many logins or sign-ups from this address, or the account is locked after repeated failures.", "Wait (Retry-After when given) or ask an administrator to unlock the account."},
	{CodeNotSealed, []int{http.StatusConflict}, "The audit record asked to be opened keeps no sealed body (its API's retention is none or masked).", "Read the record as it is (GET /audit/records); there is nothing to open."},
	{CodeAuditDamaged, []int{http.StatusInternalServerError}, "A record of the node's audit store does not read back as it was chained, or a sealed body does not open.", "Run POST /audit/verify (or lijiang audit verify) and report the damage it names."},
	{CodeInternal, []int{http.StatusInternalServerError}, "The server failed; the detail is in its log under the request id.", "Retry later; report the request_id if it persists."},
	{CodeUnavailable, []int{http.StatusServiceUnavailable}, "The cluster cannot take changes now (no leader or no quorum).", "Retry after Retry-After seconds."},
	{CodeAuditUnavailable, []int{http.StatusServiceUnavailable}, "The node's audit trail cannot be read, or cannot record the read first (an auditor's read is refused unless its event is durable in the chain).", "Retry after Retry-After seconds; if it persists, an operator checks the node's audit store (/readyz, its log)."},
}

// errorCodesExtension is the OpenAPI documents' x-error-codes.
func errorCodesExtension() []any {
	out := make([]any, 0, len(ErrorCodes))
	for _, c := range ErrorCodes {
		out = append(out, map[string]any{"code": c.Code, "statuses": c.Statuses, "meaning": c.Meaning, "action": c.Action})
	}
	return out
}

// errorCodeEnum is the codes, for the Error schema's enum.
func errorCodeEnum() []string {
	out := make([]string, 0, len(ErrorCodes))
	for _, c := range ErrorCodes {
		out = append(out, c.Code)
	}
	return out
}

// ErrorCodesMarkdown is the table of docs/errors.md, generated from
// ErrorCodes.
func ErrorCodesMarkdown() string {
	var b strings.Builder
	b.WriteString("| Code | HTTP status | Meaning | What to do |\n|---|---|---|---|\n")
	for _, c := range ErrorCodes {
		st := make([]string, len(c.Statuses))
		for i, s := range c.Statuses {
			st[i] = strconv.Itoa(s)
		}
		b.WriteString("| `" + c.Code + "` | " + strings.Join(st, ", ") + " | " + c.Meaning + " | " + c.Action + " |\n")
	}
	return b.String()
}
