package platform

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// strictA2Decode decodes b as the strict decoder alone would (the path
// every command but a2.admit takes).
func strictA2Decode(b []byte) (*Command, any, error) {
	var c Command
	if err := decodeStrict(b, &c); err != nil {
		return nil, nil, err
	}
	p, err := c.check()
	if err != nil {
		return nil, nil, err
	}
	return &c, p, nil
}

// a2AdmitWire is the wire form of an a2.admit command of n admissions.
func a2AdmitWire(t testing.TB, actor Actor, n int, mutate func(*A2AdmitBatch)) []byte {
	t.Helper()
	b := &A2AdmitBatch{WindowMs: 600000}
	for i := range n {
		b.Admissions = append(b.Admissions, admission("app_"+strings.Repeat("x", i%3), "nonce-0000000000"+strings.Repeat("9", 2+i%5), "r"+strings.Repeat("1", i+1)))
	}
	if mutate != nil {
		mutate(b)
	}
	c, err := NewCommand(CmdA2Admit, 1, "", actor, time.UnixMilli(1764806400000), b)
	if err != nil {
		t.Fatal(err)
	}
	data, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestDecodeA2AdmitFast: the commands the gateway proposes take the fast
// path and decode to what the strict decoder gives; anything else, valid or
// not, is left to the strict decoder, and decodeCommand answers as it would.
func TestDecodeA2AdmitFast(t *testing.T) {
	gw := Actor{Kind: ActorSystem, ID: "gateway", Node: "n1"}
	fast := map[string][]byte{
		"one":        a2AdmitWire(t, gw, 1, nil),
		"many":       a2AdmitWire(t, gw, 40, nil),
		"no token":   a2AdmitWire(t, gw, 2, func(b *A2AdmitBatch) { b.Admissions[1].TokenID = "" }),
		"actor addr": a2AdmitWire(t, Actor{Kind: ActorSystem, ID: "gateway", Addr: "10.0.0.1", Node: "n2"}, 1, nil),
		"no node":    a2AdmitWire(t, Actor{Kind: ActorSystem, ID: "gateway"}, 1, nil),
	}
	for name, b := range fast {
		t.Run("fast/"+name, func(t *testing.T) {
			c, p, ok := decodeA2AdmitFast(b)
			if !ok {
				t.Fatalf("not taken: %s", b)
			}
			wc, wp, err := strictA2Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c, wc) || !reflect.DeepEqual(any(p), wp) {
				t.Fatalf("fast %+v %+v\nstrict %+v %+v", c, p, wc, wp)
			}
		})
	}
	good := string(fast["one"])
	slow := map[string]string{
		"space":           strings.Replace(good, `"v":1`, `"v": 1`, 1),
		"field order":     strings.Replace(good, `{"v":1,"type":"a2.admit"`, `{"type":"a2.admit","v":1`, 1),
		"other type":      strings.Replace(good, `"type":"a2.admit"`, `"type":"setting.set"`, 1),
		"type version 2":  strings.Replace(good, `"tv":1`, `"tv":2`, 1),
		"escaped nonce":   strings.Replace(good, `"nonce":"nonce-`, `"nonce":"\u006eonce-`, 1),
		"unknown field":   strings.Replace(good, `"node":"n1"}]`, `"node":"n1","x":1}]`, 1),
		"float window":    strings.Replace(good, `"window_ms":600000`, `"window_ms":600000.0`, 1),
		"exponent window": strings.Replace(good, `"window_ms":600000`, `"window_ms":6e5`, 1),
		"leading zero":    strings.Replace(good, `"window_ms":600000`, `"window_ms":0600000`, 1),
		"huge at":         strings.Replace(good, `"at":1764806400000`, `"at":17648064000000000000`, 1),
		"trailing data":   good + `{}`,
		"trailing space":  good + ` `,
		"no admissions":   strings.Replace(good, `"admissions":[{`, `"admissions":[],"x":[{`, 1),
		"null payload":    good[:strings.Index(good, `"payload":`)] + `"payload":null}`,
		"non-ASCII actor": strings.Replace(good, `"id":"gateway"`, `"id":"网关"`, 1),
		"duplicate field": strings.Replace(good, `"tv":1,`, `"tv":1,"tv":1,`, 1),
		"truncated":       good[:len(good)-3],
	}
	for name, s := range slow {
		t.Run("strict/"+name, func(t *testing.T) {
			b := []byte(s)
			if _, _, ok := decodeA2AdmitFast(b); ok {
				t.Fatalf("taken: %s", s)
			}
			sameAsStrict(t, b)
		})
	}
	// Taken by the fast path, and refused by the payload's checks as the
	// strict decoder refuses it.
	t.Run("fast/bad nonce", func(t *testing.T) {
		b := []byte(strings.Replace(good, `"nonce":"nonce-`, `"nonce":"n-`, 1))
		if _, _, ok := decodeA2AdmitFast(b); !ok {
			t.Fatalf("not taken: %s", b)
		}
		if _, _, err := decodeCommand(b); !errors.Is(err, ErrBadCommand) {
			t.Fatalf("a bad nonce: %v", err)
		}
		sameAsStrict(t, b)
	})
}

// sameAsStrict fails t unless decodeCommand answers b as the strict decoder
// alone does.
func sameAsStrict(t *testing.T, b []byte) {
	t.Helper()
	gc, gp, gerr := decodeCommand(b)
	wc, wp, werr := strictA2Decode(b)
	if (gerr == nil) != (werr == nil) || (gerr != nil && gerr.Error() != werr.Error() && !strings.HasSuffix(gerr.Error(), werr.Error())) {
		t.Fatalf("decodeCommand: %v; strict: %v", gerr, werr)
	}
	if !reflect.DeepEqual(gc, wc) || !reflect.DeepEqual(gp, wp) {
		t.Fatalf("decodeCommand %+v %+v\nstrict %+v %+v", gc, gp, wc, wp)
	}
}

// FuzzDecodeA2AdmitFast: whatever the fast path takes, the strict decoder
// takes too and decodes to the same command and payload.
func FuzzDecodeA2AdmitFast(f *testing.F) {
	gw := Actor{Kind: ActorSystem, ID: "gateway", Node: "n1"}
	f.Add(a2AdmitWire(f, gw, 1, nil))
	f.Add(a2AdmitWire(f, gw, 3, func(b *A2AdmitBatch) { b.Admissions[2].TokenID = "" }))
	f.Add(a2AdmitWire(f, Actor{Kind: ActorSystem, ID: "gateway", Addr: "::1"}, 2, nil))
	f.Add([]byte(`{"v":1,"type":"a2.admit","tv":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, p, ok := decodeA2AdmitFast(b)
		if !ok {
			return
		}
		wc, wp, err := strictA2Decode(b)
		if err != nil {
			if p.Validate() == nil {
				if _, envErr := c.checkEnvelope(); envErr == nil {
					t.Fatalf("fast path took what the strict decoder refuses (%v): %q", err, b)
				}
			}
			return
		}
		if !reflect.DeepEqual(c, wc) || !reflect.DeepEqual(any(p), wp) {
			t.Fatalf("fast %+v %+v\nstrict %+v %+v\ninput %q", c, p, wc, wp, b)
		}
	})
}

// BenchmarkDecodeA2Admit decodes an a2.admit command of 32 admissions as
// the apply does, and as the strict decoder alone would.
func BenchmarkDecodeA2Admit(b *testing.B) {
	data := a2AdmitWire(b, Actor{Kind: ActorSystem, ID: "gateway", Node: "n1"}, 32, nil)
	b.Run("apply", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := decodeCommand(data); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*32), "ns/admission")
	})
	b.Run("strict", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := strictA2Decode(data); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*32), "ns/admission")
	})
}
