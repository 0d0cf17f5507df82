package gateway

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"lijiang/platform/lj1"
)

// protocolError returns err as the protocol's error: an *lj1.Error as it is,
// echo's "no route" (404, 405) as API_NOT_FOUND, and anything else as
// INTERNAL_ERROR, whose detail the caller may log but never shows.
func protocolError(err error) *lj1.Error {
	var e *lj1.Error
	if errors.As(err, &e) && e != nil {
		return e
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			return lj1.New(lj1.CodeAPINotFound, "no such API")
		case http.StatusMethodNotAllowed:
			return lj1.New(lj1.CodeAPINotFound, "no such API for this method")
		}
	}
	return lj1.New(lj1.CodeInternalError, "internal error")
}

// EchoErrorHandler is the echo.HTTPErrorHandler of the API port's own pages
// (health, the platform keys, the customers' pages): it renders every error
// as the gateway renders its own, {"code","message","request_id"} with the
// code's status, the request id being the answer's LJ-Request-Id (which Sign
// sets before the page runs). Internal detail never reaches the client.
func EchoErrorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	e := protocolError(err)
	c.JSONBlob(e.Status, e.Body(c.Response().Header().Get("LJ-Request-Id")))
}
