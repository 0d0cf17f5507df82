package lj1_test

import (
	"bytes"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"lijiang/platform/lj1"
)

func TestRequestIDFormat(t *testing.T) {
	at := time.UnixMilli(1764210000123)
	id, err := lj1.NewRequestID(0x1234, at, bytes.NewReader([]byte{0, 0, 0, 0, 0, 0, 0, 1}))
	if err != nil {
		t.Fatal(err)
	}
	if len(id) != lj1.RequestIDLen || strings.Trim(id, "0123456789ABCDEFGHJKMNPQRSTVWXYZ") != "" {
		t.Fatalf("id %q is not 26 Crockford characters", id)
	}
	ts, node, err := lj1.ParseRequestID(id)
	if err != nil || !ts.Equal(at) || node != 0x1234 {
		t.Fatalf("ParseRequestID = %v, %#x, %v", ts, node, err)
	}
	// Golden: 48-bit ms | 16-bit node | 64-bit random, base32 big-endian.
	if id != "01KB1HRG7V28T0000000000001" { // computed independently in Python
		t.Fatalf("layout changed: %s", id)
	}
	// The vector's id parses too.
	if _, _, err := lj1.ParseRequestID("01JDQ8Z5K3M2N4P6R8S0T2V4X6"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "01JDQ8Z5K3M2N4P6R8S0T2V4X", "01JDQ8Z5K3M2N4P6R8S0T2V4X6Y", "81JDQ8Z5K3M2N4P6R8S0T2V4X6", "01JDQ8Z5K3M2N4P6R8S0T2V4XU", "01jdq8z5k3m2n4p6r8s0t2v4x6"} {
		if _, _, err := lj1.ParseRequestID(bad); err == nil {
			t.Errorf("ParseRequestID(%q) accepted", bad)
		}
	}
	if _, err := lj1.NewRequestID(1, at, iotest.ErrReader(errors.New("no entropy"))); err == nil {
		t.Fatal("failing randomness accepted")
	}
}

func TestRequestIDsSortByTime(t *testing.T) {
	var ids []string
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, d := range []time.Duration{0, time.Millisecond, time.Second, time.Hour, 24 * 365 * time.Hour} {
		id, err := lj1.NewRequestID(uint16(0xffff-i), base.Add(d), nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if !sort.StringsAreSorted(ids) {
		t.Fatalf("ids are not sorted by time: %v", ids)
	}
}

func TestRequestIDGeneratorMonotonic(t *testing.T) {
	g := lj1.NewRequestIDGenerator(lj1.NodeNumber("node-a"), nil)
	now := time.UnixMilli(1764210000000)
	prev := ""
	steps := []time.Duration{0, 0, 0, time.Millisecond, 0, -time.Second, -time.Second, 2 * time.Second}
	for i, d := range steps {
		now = now.Add(d)
		id := g.Next(now)
		if id <= prev {
			t.Fatalf("step %d: %s is not after %s", i, id, prev)
		}
		_, node, err := lj1.ParseRequestID(id)
		if err != nil || node != lj1.NodeNumber("node-a") {
			t.Fatalf("step %d: node %#x, %v", i, node, err)
		}
		prev = id
	}
	// With a failing randomness source it still makes increasing ids.
	bad := lj1.NewRequestIDGenerator(7, iotest.ErrReader(errors.New("no entropy")))
	a, b, c := bad.Next(now), bad.Next(now), bad.Next(now.Add(time.Millisecond))
	if !(a < b && b < c) {
		t.Fatalf("not increasing without entropy: %s %s %s", a, b, c)
	}
}

func TestRequestIDGeneratorConcurrent(t *testing.T) {
	g := lj1.NewRequestIDGenerator(1, nil)
	now := time.Now()
	const workers, each = 8, 500
	var mu sync.Mutex
	seen := make(map[string]bool, workers*each)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]string, 0, each)
			for range each {
				local = append(local, g.Next(now)) // same millisecond for all
			}
			if !sort.StringsAreSorted(local) {
				t.Error("ids of one goroutine are not increasing")
			}
			mu.Lock()
			for _, id := range local {
				seen[id] = true
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(seen) != workers*each {
		t.Fatalf("%d unique ids of %d", len(seen), workers*each)
	}
}

func TestNodesDiffer(t *testing.T) {
	if lj1.NodeNumber("node-1") == lj1.NodeNumber("node-2") {
		t.Fatal("node numbers collide for node-1 and node-2")
	}
	now := time.Now()
	a := lj1.NewRequestIDGenerator(lj1.NodeNumber("node-1"), bytes.NewReader(make([]byte, 8)))
	b := lj1.NewRequestIDGenerator(lj1.NodeNumber("node-2"), bytes.NewReader(make([]byte, 8)))
	// Same time, same "random" bits: the node bits still keep them apart.
	if a.Next(now) == b.Next(now) {
		t.Fatal("two nodes made the same id")
	}
}

func TestNewNonce(t *testing.T) {
	a, err := lj1.NewNonce(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := lj1.NewNonce(nil)
	if !lj1.ValidNonce(a) || len(a) != 32 || a == b {
		t.Fatalf("NewNonce = %q, %q", a, b)
	}
	if _, err := lj1.NewNonce(iotest.ErrReader(errors.New("x"))); err == nil {
		t.Fatal("failing randomness accepted")
	}
}
