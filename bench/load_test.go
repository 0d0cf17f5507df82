package bench

import (
	"errors"
	"net/url"
	"testing"

	"github.com/quic-go/quic-go"
)

func TestRefused(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{&url.Error{Op: "Get", URL: "https://x", Err: &quic.TransportError{ErrorCode: quic.ConnectionRefused, Remote: true}}, true},
		{&url.Error{Op: "Get", URL: "https://x", Err: &quic.TransportError{ErrorCode: quic.InternalError, Remote: true}}, false},
		{&url.Error{Op: "Get", URL: "https://x", Err: &quic.ApplicationError{ErrorCode: 0x2}}, false},
		{errors.New("CONNECTION_REFUSED"), false},
		{nil, false},
	} {
		if got := refused(tt.err); got != tt.want {
			t.Errorf("refused(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
