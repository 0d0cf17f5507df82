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

// TestQuiet: quiet returns once the CPU time grew by less than the limit over
// a whole window, not after a single idle poll, and gives up at its maximum;
// a failed read is an error.
func TestQuiet(t *testing.T) {
	for _, c := range []struct {
		name   string
		deltas []float64 // CPU time added before each read after the first
		ok     bool
		reads  int
	}{
		{"quiet at once", []float64{0, 0, 0, 0, 0, 0}, true, 4},
		{"busy, then quiet", []float64{0.05, 0.05, 0, 0, 0, 0, 0}, true, 6},
		{"one idle poll in a busy stretch", []float64{0.05, 0, 0.05, 0.05, 0, 0, 0, 0}, true, 8},
		{"a trickle under the limit", []float64{0.003, 0.003, 0.003, 0.003}, true, 4},
		{"never quiet", []float64{0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05}, false, 0},
	} {
		var reads int
		var v float64
		cpu := func() (float64, error) {
			if reads > 0 && reads-1 < len(c.deltas) {
				v += c.deltas[reads-1]
			} else if reads > 0 {
				v += 0.05 // past the script: busy
			}
			reads++
			return v, nil
		}
		// Three polls make a window; the limit 0.01 s over it.
		ok, err := quiet(cpu, time.Millisecond, 3*time.Millisecond, 0.01, 200*time.Millisecond)
		if err != nil || ok != c.ok {
			t.Errorf("%s: %v, %v; want %v", c.name, ok, err, c.ok)
		}
		if c.ok && reads != c.reads {
			t.Errorf("%s: %d reads, want %d", c.name, reads, c.reads)
		}
	}
	if _, err := quiet(func() (float64, error) { return 0, errors.New("no such process") }, time.Millisecond, 3*time.Millisecond, 0.01, time.Second); err == nil {
		t.Error("a failed read: no error")
	}
}
