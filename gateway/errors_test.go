package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"lijiang/platform"
	"lijiang/platform/lj1"
)

// TestEchoErrorHandler: the API port's own pages render errors as the
// gateway does, with the answer's request id, and never show internal
// detail.
func TestEchoErrorHandler(t *testing.T) {
	g := New(Config{Registry: func() *platform.Registry { return &platform.Registry{} }})
	e := echo.New()
	e.HTTPErrorHandler = EchoErrorHandler
	e.GET("/page", func(c echo.Context) error { return nil })
	e.GET("/internal", func(c echo.Context) error { return errors.New("database password is hunter2") })
	e.GET("/protocol", func(c echo.Context) error {
		return fmt.Errorf("wrapped: %w", lj1.New(lj1.CodeRateLimited, "slow down"))
	})
	h := g.Sign(e)
	for _, tt := range []struct {
		method, path string
		status       int
		code, msg    string
	}{
		{http.MethodGet, "/nothing", 404, lj1.CodeAPINotFound, "no such API"},
		{http.MethodPost, "/page", 404, lj1.CodeAPINotFound, "no such API for this method"},
		{http.MethodGet, "/internal", 500, lj1.CodeInternalError, "internal error"},
		{http.MethodGet, "/protocol", 429, lj1.CodeRateLimited, "slow down"},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			var body struct {
				Code      string `json:"code"`
				Message   string `json:"message"`
				RequestID string `json:"request_id"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", rec.Body.Bytes(), err)
			}
			if rec.Code != tt.status || body.Code != tt.code || body.Message != tt.msg {
				t.Errorf("answer %d %s", rec.Code, rec.Body.Bytes())
			}
			if id := rec.Header().Get("LJ-Request-Id"); id == "" || body.RequestID != id {
				t.Errorf("body request_id %q, header %q", body.RequestID, id)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

// TestCanonicalAnswerHeaders: the names respond stores directly are the
// canonical forms Header.Set would have stored.
func TestCanonicalAnswerHeaders(t *testing.T) {
	for _, name := range []string{hdrUpRequestID, hdrUpAppID, hdrUpAPIID, hdrUpCustomerID, hdrUpConsentID, hdrForwardedFor, hdrForwardedProto, hdrRequestID, hdrTimestamp, hdrNonce, hdrSerial, hdrSignature, hdrContentType, hdrContentLength, hdrCacheControl} {
		if http.CanonicalHeaderKey(name) != name {
			t.Errorf("%q is not canonical", name)
		}
	}
}
