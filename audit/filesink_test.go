package audit

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestFileSinkAppendsDurably(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	s := NewFileSink(path, time.Hour)
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				if err := s.Append(map[string]int{"g": g, "i": i}); err != nil {
					t.Error(err)
				}
			}
		}(g)
	}
	wg.Wait()
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(path)
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]int
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		n++
	}
	if n != 800 {
		t.Fatalf("%d lines, want 800", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(1); err != ErrClosed {
		t.Fatalf("append after close: %v", err)
	}
	// Reopening appends; nothing is overwritten.
	s2 := NewFileSink(path, 0)
	s2.Open()
	s2.Append(map[string]int{"g": 99})
	s2.Close()
	b, _ := os.ReadFile(path)
	lines := 0
	for _, c := range b {
		if c == '\n' {
			lines++
		}
	}
	if lines != 801 {
		t.Fatalf("%d lines after reopening, want 801", lines)
	}
}
