package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

// TestWarmUpOpensEveryConnection: the warm-up before a measured part opens
// and uses every connection, and sends each call once.
func TestWarmUpOpensEveryConnection(t *testing.T) {
	var opened atomic.Int64
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Query().Get("i")]++
		mu.Unlock()
		time.Sleep(time.Millisecond) // a call's time at the upstream
		w.Write([]byte("{}"))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.StartTLS()
	defer srv.Close()
	const conns, calls = 24, 96
	reqs := make([]request, calls)
	for i := range reqs {
		reqs[i] = request{method: http.MethodGet, url: srv.URL + "/?i=" + strconv.Itoa(i), header: http.Header{}}
	}
	tc := &tls.Config{InsecureSkipVerify: true}
	cs, closeClients := clients(ProtoH1, conns, tc)
	defer closeClients()
	res := runLoad(context.Background(), warmSpec(ProtoH1, conns, reqs, tc), cs)
	if res.failed > 0 || res.calls != calls {
		t.Fatalf("calls %d, failed %d (%s)", res.calls, res.failed, res.firstFailure)
	}
	if got := opened.Load(); got != conns {
		t.Errorf("the warm-up opened %d connections, want %d", got, conns)
	}
	for i := range calls {
		if n := seen[strconv.Itoa(i)]; n != 1 {
			t.Errorf("call %d sent %d times", i, n)
		}
	}
	if spec := warmSpec(ProtoH3, conns, reqs, tc); !spec.split || spec.ramp <= 0 {
		t.Errorf("HTTP/3 warm-up: split %v, ramp %v; want split calls and staggered connections", spec.split, spec.ramp)
	}
}
