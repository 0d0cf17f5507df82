package lj1

import (
	"encoding/json"
	"errors"
)

// Error codes of PROTOCOL.md §Errors.
const (
	CodeParamInvalid         = "PARAM_INVALID"
	CodeEnvelopeInvalid      = "ENVELOPE_INVALID"
	CodeEncryptionRequired   = "ENCRYPTION_REQUIRED"
	CodeAuthRequired         = "AUTH_REQUIRED"
	CodeAppInvalid           = "APP_INVALID"
	CodeSchemeNotAllowed     = "SCHEME_NOT_ALLOWED"
	CodeSignatureInvalid     = "SIGNATURE_INVALID"
	CodeTimestampOutOfWindow = "TIMESTAMP_OUT_OF_WINDOW"
	CodeNonceReplayed        = "NONCE_REPLAYED"
	CodeCertRequired         = "CERT_REQUIRED"
	CodeKeyExpired           = "KEY_EXPIRED"
	CodeUserTokenInvalid     = "USER_TOKEN_INVALID"
	CodePermissionDenied     = "PERMISSION_DENIED"
	CodeConsentRequired      = "CONSENT_REQUIRED"
	CodeIPDenied             = "IP_DENIED"
	CodeRiskRejected         = "RISK_REJECTED"
	CodeAPINotFound          = "API_NOT_FOUND"
	CodeAPIRetired           = "API_RETIRED"
	CodeBodyTooLarge         = "BODY_TOO_LARGE"
	CodeUnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE"
	CodeRateLimited          = "RATE_LIMITED"
	CodeConcurrencyLimited   = "CONCURRENCY_LIMITED"
	CodeQuotaExceeded        = "QUOTA_EXCEEDED"
	CodeInternalError        = "INTERNAL_ERROR"
	CodeAPIPaused            = "API_PAUSED"
	CodeUpstreamUnavailable  = "UPSTREAM_UNAVAILABLE"
	CodeAuditUnavailable     = "AUDIT_UNAVAILABLE"
	CodeUpstreamTimeout      = "UPSTREAM_TIMEOUT"
)

// codeInfo is one row of the PROTOCOL.md error table (statuses are plain
// numbers so that platform does not import net/http) plus a safe default
// message (no secrets, no personal data, nothing about internals).
type codeInfo struct {
	status  int
	message string
}

var codes = map[string]codeInfo{
	CodeParamInvalid:         {400, "request parameters are invalid"},
	CodeEnvelopeInvalid:      {400, "the encrypted envelope is invalid or cannot be decrypted"},
	CodeEncryptionRequired:   {400, "this API requires an encrypted body"},
	CodeAuthRequired:         {401, "a valid Authorization header is required"},
	CodeAppInvalid:           {401, "the app is not active in this environment"},
	CodeSchemeNotAllowed:     {401, "this API does not accept the authorization scheme used"},
	CodeSignatureInvalid:     {401, "the signature is invalid"},
	CodeTimestampOutOfWindow: {401, "the timestamp is outside the accepted window"},
	CodeNonceReplayed:        {401, "the nonce has already been used"},
	CodeCertRequired:         {401, "a registered client certificate is required"},
	CodeKeyExpired:           {401, "the credential is expired or revoked"},
	CodeUserTokenInvalid:     {401, "the user token is missing, invalid or expired"},
	CodePermissionDenied:     {403, "the app is not granted this API"},
	CodeConsentRequired:      {403, "the user's consent is missing, expired or withdrawn"},
	CodeIPDenied:             {403, "calls from this address are not allowed"},
	CodeRiskRejected:         {403, "the call was rejected by risk control"},
	CodeAPINotFound:          {404, "no such API"},
	CodeAPIRetired:           {410, "this API version has been retired"},
	CodeBodyTooLarge:         {413, "the request body is too large"},
	CodeUnsupportedMediaType: {415, "the content type is not supported"},
	CodeRateLimited:          {429, "rate limit exceeded"},
	CodeConcurrencyLimited:   {429, "too many concurrent calls"},
	CodeQuotaExceeded:        {429, "quota exceeded"},
	CodeInternalError:        {500, "internal error"},
	CodeAPIPaused:            {503, "this API is temporarily paused"},
	CodeUpstreamUnavailable:  {503, "the service behind this API is unavailable"},
	CodeAuditUnavailable:     {503, "the call cannot be recorded durably and was not forwarded"},
	CodeUpstreamTimeout:      {504, "the service behind this API timed out"},
}

// Codes returns a fresh copy of the protocol's error table: code → HTTP status.
func Codes() map[string]int {
	m := make(map[string]int, len(codes))
	for c, i := range codes {
		m[c] = i.status
	}
	return m
}

// Error is the one API error type of LJ1: a protocol code, its HTTP status
// and a message that is shown to the caller. Messages must never contain
// secrets, personal data or internal detail; put those in the wrapping error
// (fmt.Errorf("...: %w", lj1.ErrX)), which is logged, not rendered.
type Error struct {
	// Code is one of the Code constants (PROTOCOL.md §Errors).
	Code string
	// Status is the HTTP status that goes with Code.
	Status int
	// Message is shown to the caller: no secrets, personal data or internals.
	Message string
}

// Error returns "CODE: message".
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Is reports whether target is an *Error with the same code, so
// errors.Is(err, lj1.ErrSignatureInvalid) holds for any error of that code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t != nil && t.Code == e.Code
}

// errorBody is the wire form; field order is code, message, request_id.
type errorBody struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
}

// Body renders the error body {"code","message","request_id"} of PROTOCOL.md.
func (e *Error) Body(requestID string) []byte {
	b, err := json.Marshal(errorBody{Code: e.Code, Message: e.Message, RequestID: requestID})
	if err != nil { // cannot happen for three strings
		return []byte(`{"code":"INTERNAL_ERROR","message":"internal error","request_id":""}`)
	}
	return b
}

// New returns an error with code and message (the default message of the
// code when msg is empty). An unknown code becomes INTERNAL_ERROR, so nothing
// outside the protocol's table ever reaches a client.
func New(code, msg string) *Error {
	info, ok := codes[code]
	if !ok {
		code, info = CodeInternalError, codes[CodeInternalError]
		msg = ""
	}
	if msg == "" {
		msg = info.message
	}
	return &Error{Code: code, Status: info.status, Message: msg}
}

// As returns the *Error in err's chain; for a non-nil error without one it
// returns a fresh INTERNAL_ERROR (internal failures are never described to
// the caller); for nil it returns nil.
func As(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) && e != nil {
		return e
	}
	return New(CodeInternalError, "")
}

// Sentinel errors, one per code, with the default messages. Wrap them with
// context (fmt.Errorf("nonce: %w", lj1.ErrAuthRequired)); do not modify them.
var (
	ErrParamInvalid         = New(CodeParamInvalid, "")
	ErrEnvelopeInvalid      = New(CodeEnvelopeInvalid, "")
	ErrEncryptionRequired   = New(CodeEncryptionRequired, "")
	ErrAuthRequired         = New(CodeAuthRequired, "")
	ErrAppInvalid           = New(CodeAppInvalid, "")
	ErrSchemeNotAllowed     = New(CodeSchemeNotAllowed, "")
	ErrSignatureInvalid     = New(CodeSignatureInvalid, "")
	ErrTimestampOutOfWindow = New(CodeTimestampOutOfWindow, "")
	ErrNonceReplayed        = New(CodeNonceReplayed, "")
	ErrCertRequired         = New(CodeCertRequired, "")
	ErrKeyExpired           = New(CodeKeyExpired, "")
	ErrUserTokenInvalid     = New(CodeUserTokenInvalid, "")
	ErrPermissionDenied     = New(CodePermissionDenied, "")
	ErrConsentRequired      = New(CodeConsentRequired, "")
	ErrIPDenied             = New(CodeIPDenied, "")
	ErrRiskRejected         = New(CodeRiskRejected, "")
	ErrAPINotFound          = New(CodeAPINotFound, "")
	ErrAPIRetired           = New(CodeAPIRetired, "")
	ErrBodyTooLarge         = New(CodeBodyTooLarge, "")
	ErrUnsupportedMediaType = New(CodeUnsupportedMediaType, "")
	ErrRateLimited          = New(CodeRateLimited, "")
	ErrConcurrencyLimited   = New(CodeConcurrencyLimited, "")
	ErrQuotaExceeded        = New(CodeQuotaExceeded, "")
	ErrInternal             = New(CodeInternalError, "")
	ErrAPIPaused            = New(CodeAPIPaused, "")
	ErrUpstreamUnavailable  = New(CodeUpstreamUnavailable, "")
	ErrAuditUnavailable     = New(CodeAuditUnavailable, "")
	ErrUpstreamTimeout      = New(CodeUpstreamTimeout, "")
)
