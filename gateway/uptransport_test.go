package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// upServer is an upstream that counts its connections.
type upServer struct {
	*httptest.Server
	conns atomic.Int64
}

func newUpServer(t *testing.T, tlsOn bool, h http.HandlerFunc) *upServer {
	s := &upServer{Server: httptest.NewUnstartedServer(h)}
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.Config.ConnState = func(c net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	if tlsOn {
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	return s
}

func (s *upServer) transport() *upTransport {
	if s.TLS == nil {
		return newUpTransport(nil)
	}
	return newUpTransport(s.Client().Transport.(*http.Transport).TLSClientConfig)
}

func upCall(t *testing.T, tr *upTransport, method, url string, body []byte, hdr http.Header) (int, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return 0, "", err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(b), err
}

// upShapes answers the paths of the answers' shapes the transport must
// read to the end: /chunked (two flushed parts, "part1,part2") and /empty
// (204); false for any other path.
func upShapes(w http.ResponseWriter, r *http.Request) bool {
	switch r.URL.Path {
	case "/chunked":
		w.Write([]byte("part1,"))
		w.(http.Flusher).Flush()
		w.Write([]byte("part2"))
	case "/empty":
		w.WriteHeader(http.StatusNoContent)
	default:
		return false
	}
	return true
}

// TestUpTransportReuse: sequential calls share one connection, over TLS and
// in clear, with bodies of known length, chunked and empty.
func TestUpTransportReuse(t *testing.T) {
	for _, tlsOn := range []bool{true, false} {
		s := newUpServer(t, tlsOn, func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			if !upShapes(w, r) {
				w.Write(append([]byte(r.Method+":"), b...))
			}
		})
		tr := s.transport()
		for i, c := range []struct{ method, path, body, want string }{
			{"GET", "/x", "", "GET:"}, {"POST", "/x", `{"a":1}`, `POST:{"a":1}`}, {"GET", "/chunked", "", "part1,part2"},
			{"GET", "/empty", "", ""}, {"HEAD", "/x", "", ""}, {"GET", "/x", "", "GET:"},
		} {
			var body []byte
			if c.body != "" {
				body = []byte(c.body)
			}
			_, got, err := upCall(t, tr, c.method, s.URL+c.path, body, nil)
			if err != nil || got != c.want {
				t.Fatalf("tls %v call %d: %q, %v; want %q", tlsOn, i, got, err, c.want)
			}
		}
		if n := s.conns.Load(); n != 1 {
			t.Errorf("tls %v: %d connections for sequential calls, want 1", tlsOn, n)
		}
	}
}

// TestUpTransportNoReuse: an answer with Connection: close, one not read to
// the end and one from an idle connection too old are not reused.
func TestUpTransportNoReuse(t *testing.T) {
	s := newUpServer(t, true, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/close" {
			w.Header().Set("Connection", "close")
		}
		w.Write([]byte(strings.Repeat("y", 64<<10)))
	})
	tr := s.transport()
	if _, _, err := upCall(t, tr, "GET", s.URL+"/close", nil, nil); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", s.URL+"/x", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Read(make([]byte, 10)) // not to the end
	resp.Body.Close()
	if _, _, err := upCall(t, tr, "GET", s.URL+"/x", nil, nil); err != nil {
		t.Fatal(err)
	}
	if n := s.conns.Load(); n != 3 {
		t.Errorf("%d connections, want 3", n)
	}
	aged(tr, 2*idleReuse)
	if _, _, err := upCall(t, tr, "GET", s.URL+"/x", nil, nil); err != nil {
		t.Fatal(err)
	}
	if n := s.conns.Load(); n != 4 {
		t.Errorf("%d connections after an old idle one, want 4", n)
	}
}

// aged makes every idle connection of tr look put back d ago.
func aged(tr *upTransport, d time.Duration) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, cs := range tr.idle {
		for _, c := range cs {
			c.idle = c.idle.Add(-d)
		}
	}
}

// TestUpTransportLongIdle: a connection idle for longer than idleTrust is
// reused while the upstream keeps it (its last call's deadline passed
// meanwhile), and not once the upstream has closed it or sent anything
// unasked: then even a POST without an idempotency key, which is never sent
// twice, goes on a new connection and reaches the upstream once.
func TestUpTransportLongIdle(t *testing.T) {
	for _, tlsOn := range []bool{true, false} {
		var calls atomic.Int64
		var hijacked []net.Conn
		t.Cleanup(func() {
			for _, c := range hijacked {
				c.Close()
			}
		})
		s := newUpServer(t, tlsOn, func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			io.Copy(io.Discard, r.Body)
			if r.URL.Path == "/unasked" {
				// The answer, then bytes nobody asked for, the connection
				// left open.
				c, bw, err := w.(http.Hijacker).Hijack()
				if err != nil {
					return
				}
				hijacked = append(hijacked, c)
				bw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				bw.Flush()
				time.Sleep(20 * time.Millisecond)
				bw.WriteString("HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n")
				bw.Flush()
				return
			}
			w.Write([]byte("ok"))
		})
		tr := s.transport()
		call := func(step, method, path string, wantConns int64) {
			t.Helper()
			before := calls.Load()
			if _, got, err := upCall(t, tr, method, s.URL+path, []byte("{}"), nil); err != nil || got != "ok" {
				t.Fatalf("tls %v, %s: %q, %v", tlsOn, step, got, err)
			}
			if n := calls.Load() - before; n != 1 {
				t.Errorf("tls %v, %s: the upstream got %d calls, want 1", tlsOn, step, n)
			}
			if n := s.conns.Load(); n != wantConns {
				t.Errorf("tls %v, %s: %d connections, want %d", tlsOn, step, n, wantConns)
			}
		}
		// A call whose deadline passes while its connection is idle (put
		// back without one).
		req, _ := http.NewRequest("POST", s.URL+"/x", strings.NewReader("{}"))
		resp, err := tr.roundTripBy(req, time.Now().Add(100*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		time.Sleep(150 * time.Millisecond)
		aged(tr, 30*time.Second)
		call("idle 30 s, kept by the upstream", "POST", "/x", 1)

		s.CloseClientConnections()
		time.Sleep(50 * time.Millisecond) // the FIN arrives
		aged(tr, 2*idleTrust)
		call("closed by the upstream", "POST", "/x", 2)

		call("before the unasked bytes", "POST", "/unasked", 2)
		time.Sleep(100 * time.Millisecond)
		aged(tr, 2*idleTrust)
		call("after the unasked bytes", "POST", "/x", 3)
	}
}

// TestUpTransportStaleConnection: when the upstream has closed an idle
// connection, a replayable request goes again on a new one; a POST without
// an idempotency key is not sent twice.
func TestUpTransportStaleConnection(t *testing.T) {
	var calls atomic.Int64
	s := newUpServer(t, true, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		io.Copy(io.Discard, r.Body)
		w.Write([]byte("ok"))
	})
	tr := s.transport()
	stale := func() {
		if _, _, err := upCall(t, tr, "GET", s.URL+"/warm", nil, nil); err != nil {
			t.Fatal(err)
		}
		s.CloseClientConnections() // the upstream drops its idle connections
		time.Sleep(50 * time.Millisecond)
	}
	for _, c := range []struct {
		name, method string
		hdr          http.Header
		ok           bool
	}{
		{"GET", "GET", nil, true},
		{"POST with an idempotency key", "POST", http.Header{"Idempotency-Key": {"k1"}}, true},
		{"POST", "POST", nil, false},
	} {
		stale()
		before := calls.Load()
		_, got, err := upCall(t, tr, c.method, s.URL+"/x", []byte("{}"), c.hdr)
		if c.ok && (err != nil || got != "ok") || !c.ok && err == nil {
			t.Errorf("%s on a stale connection: %q, %v", c.name, got, err)
		}
		if n := calls.Load() - before; c.ok && n != 1 || !c.ok && n != 0 {
			t.Errorf("%s: the upstream got %d calls", c.name, n)
		}
	}
}

// TestUpTransportDeadline: the context's deadline, the deadline given to
// roundTripBy (the earlier of the two) and the context's cancellation end a
// call the upstream does not answer, or whose body stops; the connection is
// not reused.
func TestUpTransportDeadline(t *testing.T) {
	release := make(chan struct{})
	s := newUpServer(t, true, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow":
			<-release
		case "/half":
			w.Header().Set("Content-Length", "4")
			w.Write([]byte("ok"))
			w.(http.Flusher).Flush()
			<-release
		}
		w.Write([]byte("ok"))
	})
	defer close(release)
	tr := s.transport()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/slow", nil)
	t0 := time.Now()
	if _, err := tr.RoundTrip(req); !errors.Is(err, context.DeadlineExceeded) || time.Since(t0) > 3*time.Second {
		t.Fatalf("deadline: %v after %v", err, time.Since(t0))
	}
	// The deadline given with the call, the context without one.
	req, _ = http.NewRequestWithContext(context.Background(), "GET", s.URL+"/slow", nil)
	t0 = time.Now()
	if _, err := tr.roundTripBy(req, t0.Add(200*time.Millisecond)); !errors.Is(err, context.DeadlineExceeded) || time.Since(t0) > 3*time.Second {
		t.Fatalf("deadline given: %v after %v", err, time.Since(t0))
	}
	// The context's deadline when it is the earlier.
	ctx1, cancel1 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel1()
	req, _ = http.NewRequestWithContext(ctx1, "GET", s.URL+"/slow", nil)
	t0 = time.Now()
	if _, err := tr.roundTripBy(req, t0.Add(time.Hour)); !errors.Is(err, context.DeadlineExceeded) || time.Since(t0) > 3*time.Second {
		t.Fatalf("the context's deadline first: %v after %v", err, time.Since(t0))
	}
	// The head came in time, the body did not: its read fails by the
	// deadline.
	req, _ = http.NewRequestWithContext(context.Background(), "GET", s.URL+"/half", nil)
	t0 = time.Now()
	resp, err := tr.roundTripBy(req, t0.Add(300*time.Millisecond))
	if err != nil {
		t.Fatalf("half: %v", err)
	}
	if _, err := io.ReadAll(resp.Body); !errors.Is(err, os.ErrDeadlineExceeded) || time.Since(t0) > 3*time.Second {
		t.Fatalf("half a body: %v after %v", err, time.Since(t0))
	}
	resp.Body.Close()
	ctx2, cancel2 := context.WithCancel(context.Background())
	req, _ = http.NewRequestWithContext(ctx2, "GET", s.URL+"/slow", nil)
	time.AfterFunc(100*time.Millisecond, cancel2)
	if _, err := tr.RoundTrip(req); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancel: %v", err)
	}
	if _, got, err := upCall(t, tr, "GET", s.URL+"/x", nil, nil); err != nil || got != "ok" {
		t.Fatalf("after: %q %v", got, err)
	}
	if _, err := tr.RoundTrip(&http.Request{Method: "GET", URL: mustURL(t, "ftp://x/y"), Header: http.Header{}}); !errors.Is(err, errUpScheme) {
		t.Fatalf("ftp: %v", err)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestUpTransportReapsIdle: connections idle for longer than idleReuse are
// closed without waiting for the next call to their host, the younger ones
// kept, and the reaper stops once none is idle.
func TestUpTransportReapsIdle(t *testing.T) {
	s := &upServer{Server: httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond) // the calls overlap: one connection each
		w.Write([]byte("ok"))
	}))}
	var closed atomic.Int64
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.Config.ConnState = func(c net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			s.conns.Add(1)
		case http.StateClosed:
			closed.Add(1)
		}
	}
	s.StartTLS()
	t.Cleanup(s.Close)
	tr := s.transport()
	done := make(chan error, 3)
	for range 3 {
		go func() {
			_, _, err := upCall(t, tr, "GET", s.URL+"/x", nil, nil)
			done <- err
		}()
	}
	for range 3 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	tr.mu.Lock()
	armed := tr.reaper != nil
	var idle []*upConn
	for _, cs := range tr.idle {
		idle = append(idle, cs...)
	}
	// Two of the three are old.
	for _, c := range idle[:2] {
		c.idle = c.idle.Add(-2 * idleReuse)
	}
	tr.mu.Unlock()
	if len(idle) != 3 || !armed {
		t.Fatalf("%d idle connections, reaper armed %v; want 3, true", len(idle), armed)
	}

	tr.reap()
	waitFor(t, func() bool { return closed.Load() == 2 })
	tr.mu.Lock()
	left, armed := len(tr.idle[idle[2].key]), tr.reaper != nil
	tr.mu.Unlock()
	if left != 1 || !armed {
		t.Fatalf("after reaping two old connections: %d idle, reaper armed %v; want 1, true", left, armed)
	}

	tr.mu.Lock()
	idle[2].idle = idle[2].idle.Add(-2 * idleReuse)
	tr.mu.Unlock()
	tr.reap()
	waitFor(t, func() bool { return closed.Load() == 3 })
	tr.mu.Lock()
	n, armed := len(tr.idle), tr.reaper != nil
	tr.mu.Unlock()
	if n != 0 || armed {
		t.Fatalf("after reaping every connection: %d hosts idle, reaper armed %v", n, armed)
	}
	if s.conns.Load() != 3 {
		t.Fatalf("%d connections opened, want 3", s.conns.Load())
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5 s")
		}
	}
}

// TestReadAnswer: forward's reading of an answer gives the body whole and
// leaves the connection for the next call, whether the length is declared
// (read at once into its size), chunked, empty or over the limit (refused
// by the caller: max+1 bytes read).
func TestReadAnswer(t *testing.T) {
	long := strings.Repeat("x", 100)
	s := newUpServer(t, true, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case upShapes(w, r):
		case r.URL.Path == "/long":
			w.Write([]byte(long))
		default:
			w.Write([]byte(`{"a":1}`))
		}
	})
	tr := s.transport()
	for i, c := range []struct {
		path, want string
		max        int64
	}{
		{"/x", `{"a":1}`, 1 << 20}, {"/chunked", "part1,part2", 1 << 20}, {"/empty", "", 1 << 20},
		{"/long", long[:51], 50}, {"/x", `{"a":1}`, 1 << 20},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+c.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := readAnswer(resp, c.max)
		resp.Body.Close()
		cancel()
		if err != nil || string(b) != c.want {
			t.Fatalf("call %d (%s): %q, %v; want %q", i, c.path, b, err, c.want)
		}
	}
	// The answer over the limit was not read to its end: its connection
	// was closed; the others were kept.
	if n := s.conns.Load(); n != 2 {
		t.Errorf("%d connections for five sequential calls, want 2 (one closed after the answer over the limit)", n)
	}
}
