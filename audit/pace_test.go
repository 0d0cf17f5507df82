package audit

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestPacedCommit: a commit of A1 records alone pauses as it goes, within
// a quarter of the window in all; a durable append or a close that comes to wait
// ends the pauses; a commit that holds a durable append never pauses. In
// every case every record is committed and the chain is intact.
func TestPacedCommit(t *testing.T) {
	const n = 3000 // A1 records: tens of milliseconds of work
	const window = 60 * time.Millisecond
	for _, tt := range []struct {
		name string
		// at the first pause: "durable" appends a durable record, "close"
		// closes the store.
		first string
		// durable: a durable append joins the A1 records' batch.
		durable    bool
		wantPauses func(int) bool
		want       int // records in the chain
	}{
		{name: "A1 records alone", wantPauses: func(p int) bool { return p > 1 }, want: n},
		{name: "a durable append comes to wait", first: "durable", wantPauses: func(p int) bool { return p == 1 }, want: n + 1},
		{name: "the store closes", first: "close", wantPauses: func(p int) bool { return p == 1 }, want: n},
		{name: "a durable append in the batch", durable: true, wantPauses: func(p int) bool { return p == 0 }, want: n + 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.db")
			w := window
			if tt.durable {
				w = time.Hour // the A1 records wait for the durable append
			}
			s := New(Config{Path: path, Node: "n1", Window: w})
			var mu sync.Mutex
			var pauses []time.Duration
			var bg sync.WaitGroup
			errs := make(chan error, 2)
			s.sleep = func(d time.Duration) {
				mu.Lock()
				first := len(pauses) == 0
				if first && tt.first != "" {
					bg.Add(1) // before the pause is seen: bg.Wait below waits for it
				}
				pauses = append(pauses, d)
				mu.Unlock()
				if !first || tt.first == "" {
					return
				}
				go func() {
					defer bg.Done()
					if tt.first == "close" {
						errs <- s.Close()
						return
					}
					errs <- s.AppendDurable(context.Background(), accessRecord(n+1))
				}()
				// (Bounded: a store that never says it is waited for
				// then fails on its pauses rather than hanging.)
				for end := time.Now().Add(2 * time.Second); !s.waited.Load() && time.Now().Before(end); {
					time.Sleep(100 * time.Microsecond)
				}
			}
			if err := s.Open(); err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for i := 1; i <= n; i++ {
				if err := s.Append(accessRecord(i)); err != nil {
					t.Fatal(err)
				}
			}
			if tt.durable {
				if err := s.AppendDurable(context.Background(), accessRecord(n+1)); err != nil {
					t.Fatal(err)
				}
			}
			// Until the commit is done; or, for a close, until it has
			// begun (the close commits the rest).
			deadline := time.Now().Add(20 * time.Second)
			for !done(s, tt.first, tt.want, &mu, &pauses) {
				if time.Now().After(deadline) {
					t.Fatal("the commit did not end")
				}
				time.Sleep(time.Millisecond)
			}
			bg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			s.Close()
			mu.Lock()
			got := pauses
			mu.Unlock()
			if !tt.wantPauses(len(got)) {
				t.Fatalf("%d pauses", len(got))
			}
			var sum time.Duration
			for _, d := range got {
				if d <= 0 || d > paceMaxPause {
					t.Fatalf("a pause of %v", d)
				}
				sum += d
			}
			if sum > window/4 {
				t.Fatalf("pauses of %v in all, more than a quarter of the window", sum)
			}
			rep, err := VerifyStore(context.Background(), path, VerifyOptions{Node: "n1"})
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Intact || rep.Records != uint64(tt.want) {
				t.Fatalf("report %+v, want %d records intact", rep, tt.want)
			}
		})
	}
}

func done(s *Store, first string, want int, mu *sync.Mutex, pauses *[]time.Duration) bool {
	if first == "close" {
		mu.Lock()
		defer mu.Unlock()
		return len(*pauses) > 0
	}
	seq, _ := s.Head()
	return int(seq) >= want
}
