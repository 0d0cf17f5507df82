package portal

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"lijiang/platform"
)

// Codes of the admin and portal APIs' errors.
const (
	CodeBadRequest           = "BAD_REQUEST"
	CodeInvalid              = "INVALID"
	CodeUnauthenticated      = "UNAUTHENTICATED"
	CodeForbidden            = "FORBIDDEN"
	CodeNotFound             = "NOT_FOUND"
	CodeMethodNotAllowed     = "METHOD_NOT_ALLOWED"
	CodeConflict             = "CONFLICT"
	CodeTooLarge             = "TOO_LARGE"
	CodeUnsupportedMedia     = "UNSUPPORTED_MEDIA_TYPE"
	CodePreconditionRequired = "PRECONDITION_REQUIRED"
	CodeTooManyAttempts      = "TOO_MANY_ATTEMPTS"
	CodeUnavailable          = "UNAVAILABLE"
	CodeInternal             = "INTERNAL"
)

// Error is the one error type of the admin and portal APIs, rendered as
// {"code","message","field","request_id"}. Its message never carries a
// secret or personal data.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Code + ": " + e.Field + ": " + e.Message
	}
	return e.Code + ": " + e.Message
}

func badRequest(field, msg string) *Error {
	code := CodeBadRequest
	if field != "" {
		code = CodeInvalid
	}
	return &Error{Status: http.StatusBadRequest, Code: code, Field: field, Message: msg}
}

var (
	errUnauthenticated   = &Error{Status: http.StatusUnauthorized, Code: CodeUnauthenticated, Message: "log in first"}
	errForbidden         = &Error{Status: http.StatusForbidden, Code: CodeForbidden, Message: "your role does not allow this"}
	errNotFound          = &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: "no such resource"}
	errUnsupportedMedia  = &Error{Status: http.StatusUnsupportedMediaType, Code: CodeUnsupportedMedia, Message: "send application/json"}
	errBadLogin          = &Error{Status: http.StatusUnauthorized, Code: CodeUnauthenticated, Message: "wrong user name, password or one-time code"}
	errAccountLocked     = &Error{Status: http.StatusTooManyRequests, Code: CodeTooManyAttempts, Message: "the account is locked after repeated failures; try again later or ask an administrator"}
	errUnavailableWrites = &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "the cluster cannot take changes right now; retry shortly"}
)

// notFound is a 404 naming what was not found.
func notFound(what string) *Error {
	return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: "no such " + what}
}

// toError maps any error a handler returns to the API's Error; detail of
// unexpected errors is logged, never sent.
func (s *Server) toError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var ce *platform.CommandError
	if errors.As(err, &ce) {
		switch ce.Code {
		case platform.CodeInvalid:
			return &Error{Status: http.StatusBadRequest, Code: CodeInvalid, Field: ce.Field, Message: ce.Message}
		case platform.CodeNotFound:
			return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: ce.Message}
		case platform.CodeConflict:
			return &Error{Status: http.StatusConflict, Code: CodeConflict, Message: ce.Message}
		case platform.CodeDenied:
			return &Error{Status: http.StatusForbidden, Code: CodeForbidden, Message: ce.Message}
		}
		return &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error"}
	}
	if errors.Is(err, platform.ErrUnavailable) {
		return errUnavailableWrites
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			return errNotFound
		case http.StatusMethodNotAllowed:
			return &Error{Status: he.Code, Code: CodeMethodNotAllowed, Message: "method not allowed"}
		case http.StatusRequestEntityTooLarge:
			return &Error{Status: he.Code, Code: CodeTooLarge, Message: "request too large"}
		case http.StatusUnauthorized:
			return errUnauthenticated
		}
		if he.Code >= 400 && he.Code < 500 {
			return &Error{Status: he.Code, Code: CodeBadRequest, Message: http.StatusText(he.Code)}
		}
	}
	s.log.Error("request failed", "err", err)
	return &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error"}
}

// ErrorHandler renders errors of the admin and portal APIs. main installs it
// for their paths. The body's request_id is the answer's LJ-Request-Id (one
// is made here for an error raised before withRequestID ran, e.g. an
// unrouted path).
func (s *Server) ErrorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	e := s.toError(err)
	if e.Status == http.StatusServiceUnavailable {
		c.Response().Header().Set("Retry-After", "1")
	}
	body := struct {
		*Error
		RequestID string `json:"request_id"`
	}{e, s.requestID(c)}
	if c.Request().Method == http.MethodHead {
		c.NoContent(e.Status)
		return
	}
	c.JSON(e.Status, body)
}
