package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// Protocols the generator speaks.
const (
	ProtoH1 = "h1" // HTTP/1.1 over TLS 1.3
	ProtoH3 = "h3" // HTTP/3 over QUIC
)

// request is one prepared call: signed (and encrypted) before the clock
// starts, with its own nonce.
type request struct {
	method string
	url    string
	header http.Header
	body   []byte
}

// loadSpec is one load run.
type loadSpec struct {
	proto string
	conns int
	reqs  []request
	// rate is the calls per second of an open-loop run (each call has its
	// time on a fixed schedule and its latency counts from that time, so a
	// slow answer's queueing is measured); 0 is a closed loop: every
	// connection sends its next call when the last is answered.
	rate float64
	tls  *tls.Config
	// ramp staggers the connections' first calls (a warm-up's): a burst of
	// 256 new QUIC connections overflows a server's accept queue
	// (CONNECTION_REFUSED), which a client that opens them gradually never
	// meets.
	ramp time.Duration
	// split gives worker w the calls w, w+conns, w+2·conns, … instead of
	// the next one not yet taken: every worker, and so every connection,
	// makes its calls however late it starts. A warm-up's: with a shared
	// counter, the first workers took all the calls before a staggered
	// one began, and the measured part opened the rest of the connections
	// (their handshakes in its CPU and, at a paced run's start, in its
	// p99).
	split bool
}

// loadResult is what a load run measured.
type loadResult struct {
	calls, failed int
	firstFailure  string
	wall          time.Duration
	lat           []time.Duration // sorted
}

// perSecond is the run's throughput.
func (r loadResult) perSecond() float64 {
	if r.wall <= 0 {
		return 0
	}
	return float64(r.calls) / r.wall.Seconds()
}

// quantile returns the q-quantile of the latencies (nearest rank).
func (r loadResult) quantile(q float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := int(q*float64(len(r.lat))+0.5) - 1
	i = max(0, min(i, len(r.lat)-1))
	return r.lat[i]
}

// doer sends one request; the generator has one per connection (HTTP/3) or
// shares one whose pool holds conns connections (HTTP/1.1).
type doer interface {
	Do(*http.Request) (*http.Response, error)
}

// clients returns n doers for proto and a function that closes them.
func clients(proto string, n int, tc *tls.Config) ([]doer, func()) {
	out := make([]doer, n)
	switch proto {
	case ProtoH3:
		var trs []*http3.Transport
		for i := range out {
			tr := &http3.Transport{TLSClientConfig: tc.Clone(), QUICConfig: &quic.Config{HandshakeIdleTimeout: 10 * time.Second, MaxIdleTimeout: time.Minute}}
			trs = append(trs, tr)
			out[i] = &http.Client{Transport: tr, Timeout: time.Minute}
		}
		return out, func() {
			for _, tr := range trs {
				tr.Close()
			}
		}
	default:
		c := tc.Clone()
		c.NextProtos = []string{"http/1.1"}
		tr := &http.Transport{
			TLSClientConfig: c, MaxConnsPerHost: n, MaxIdleConnsPerHost: n, MaxIdleConns: 4 * n,
			DialContext:        (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
			DisableCompression: true, IdleConnTimeout: time.Minute,
		}
		hc := &http.Client{Transport: tr, Timeout: time.Minute}
		for i := range out {
			out[i] = hc
		}
		return out, tr.CloseIdleConnections
	}
}

// runLoad sends spec.reqs over spec.conns connections and measures each
// call's latency. A call that fails (transport error, or a status other
// than 200) is counted, not retried; only a QUIC connection the server
// refused before reading anything is tried again (refused).
func runLoad(ctx context.Context, spec loadSpec, cs []doer) loadResult {
	var next atomic.Int64
	var failed atomic.Int64
	var firstFailure atomic.Value
	lats := make([][]time.Duration, spec.conns)
	var wg sync.WaitGroup
	start := time.Now()
	interval := time.Duration(0)
	if spec.rate > 0 {
		interval = time.Duration(float64(time.Second) / spec.rate)
	}
	for w := 0; w < spec.conns; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			if spec.ramp > 0 {
				time.Sleep(time.Duration(w) * spec.ramp)
			}
			c := cs[w%len(cs)]
			mine := make([]time.Duration, 0, len(spec.reqs)/spec.conns+1)
			buf := make([]byte, 32<<10)
			for k := w; ctx.Err() == nil; k += spec.conns {
				i := k
				if !spec.split {
					i = int(next.Add(1) - 1)
				}
				if i >= len(spec.reqs) {
					break
				}
				t0 := time.Now()
				if interval > 0 {
					sched := start.Add(time.Duration(i) * interval)
					if d := time.Until(sched); d > 0 {
						time.Sleep(d)
					}
					t0 = sched
				}
				pr := &spec.reqs[i]
				err := send(ctx, c, pr, buf)
				// A QUIC server whose queue of new connections is full
				// refuses one (CONNECTION_REFUSED) before any request is
				// read: a client tries again, and so does the generator,
				// the wait counted in the call's latency. 256 connections
				// dialled at once, on two busy cores, met it.
				for try := 0; try < 5 && refused(err) && ctx.Err() == nil; try++ {
					time.Sleep(time.Duration(10<<try) * time.Millisecond)
					err = send(ctx, c, pr, buf)
				}
				if err != nil {
					if failed.Add(1) == 1 {
						firstFailure.Store(err.Error())
					}
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			lats[w] = mine
		}(w)
	}
	wg.Wait()
	res := loadResult{wall: time.Since(start), failed: int(failed.Load())}
	if f, ok := firstFailure.Load().(string); ok {
		res.firstFailure = f
	}
	for _, l := range lats {
		res.lat = append(res.lat, l...)
	}
	res.calls = len(res.lat) + res.failed
	slices.Sort(res.lat)
	return res
}

// refused reports whether err is a QUIC server's refusal of a new
// connection, which no request reached.
func refused(err error) bool {
	var te *quic.TransportError
	return errors.As(err, &te) && te.ErrorCode == quic.ConnectionRefused
}

// send makes one call and reads its answer; a status other than 200 is an
// error that names the answer's first bytes (an LJ1 error's code).
func send(ctx context.Context, c doer, pr *request, buf []byte) error {
	var body io.Reader = http.NoBody
	if pr.body != nil {
		body = bytes.NewReader(pr.body)
	}
	req, err := http.NewRequestWithContext(ctx, pr.method, pr.url, body)
	if err != nil {
		return err
	}
	req.Header = pr.header
	req.ContentLength = int64(len(pr.body))
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	n, _ := io.ReadFull(resp.Body, buf)
	if n == len(buf) {
		io.Copy(io.Discard, resp.Body)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %.200s", resp.StatusCode, buf[:n])
	}
	return nil
}
