package portal

import (
	"time"

	"github.com/labstack/echo/v4"

	"lijiang/platform/lj1"
)

// HeaderRequestID names every answer of the admin and portal APIs and of the
// customer pages: the LJ1 protocol's request id (lj1.RequestIDGenerator's
// format), also the request_id of an error body.
const HeaderRequestID = "LJ-Request-Id"

// requestID returns the request id of c's answer, giving the answer one
// when it has none yet. On the API port the gateway's signer (gateway.Sign)
// has already named the request; its id is kept so the signed answer and the
// body agree.
func (s *Server) requestID(c echo.Context) string {
	h := c.Response().Header()
	if id := h.Get(HeaderRequestID); id != "" {
		return id
	}
	var id string
	if s.ids != nil {
		id = s.ids.Next(s.now())
	} else { // a Server not made by New (tests)
		id, _ = lj1.NewRequestID(0, time.Now(), nil)
	}
	h.Set(HeaderRequestID, id)
	return id
}

// withRequestID is the first middleware of every route of the admin and
// portal APIs and the customer pages: the answer, success or error, carries
// LJ-Request-Id.
func (s *Server) withRequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		s.requestID(c)
		return next(c)
	}
}

// newRequestIDs is the server's request id generator for nodeID.
func newRequestIDs(nodeID string) *lj1.RequestIDGenerator {
	return lj1.NewRequestIDGenerator(lj1.NodeNumber(nodeID), nil)
}
