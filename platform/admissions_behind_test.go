package platform

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"path/filepath"
	"testing"
	"time"
)

// admitEntry is a2.admit of adms at now as the log entry of index.
func admitEntry(t *testing.T, index uint64, now, window int64, adms []A2Admission) Entry {
	t.Helper()
	c, err := NewCommand(CmdA2Admit, 1, "", Actor{Kind: ActorSystem, ID: "gateway", Node: "n1"}, time.UnixMilli(now), &A2AdmitBatch{WindowMs: window, Admissions: adms})
	if err != nil {
		t.Fatal(err)
	}
	return Entry{Index: index, Term: 1, Data: mustEncode(t, c)}
}

func admitOutcomes(t *testing.T, r Result) string {
	t.Helper()
	if r.Err != nil {
		t.Fatalf("entry %d: %v", r.Index, r.Err)
	}
	var out A2AdmitResult
	if err := json.Unmarshal(r.Value, &out); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(out.Outcomes)
}

// durableIndex is the applied index the state file holds.
func durableIndex(t *testing.T, s *Store) uint64 {
	t.Helper()
	var idx uint64
	if err := s.db.QueryRow("SELECT applied_index FROM fsm WHERE id = 1").Scan(&idx); err != nil {
		t.Fatal(err)
	}
	return idx
}

// TestA2AdmitWriteBehindCrash: a node that stops before its admissions are
// written applies their entries again from the log when it starts, and
// decides them as it did: the same outcomes, the model's rows and index.
// Batches of admissions only are applied without writing the file; a batch
// with another command writes what is owed in its transaction.
func TestA2AdmitWriteBehindCrash(t *testing.T) {
	oldMax, oldPrune := MaxAdmissionsPerApp, admissionPruneBatch
	defer func() { MaxAdmissionsPerApp, admissionPruneBatch = oldMax, oldPrune }()
	for seed := int64(1); seed <= 4; seed++ {
		MaxAdmissionsPerApp, admissionPruneBatch = 5+seed%3, int(2+seed%3)
		rng := rand.New(rand.NewSource(seed))
		path := filepath.Join(t.TempDir(), "state.db")
		s := mustStore(t, path)
		s.adb.armed.Store(true) // the test decides when the table is written
		m := &admModel{}
		var log []Entry
		outcomes := map[uint64]string{}
		now := int64(1764210000000)
		const window = 4000
		for step := 0; step < 80; step++ {
			index := uint64(len(log) + 1)
			var batch []Entry
			switch r := rng.Intn(10); {
			case r == 0: // another command: what is owed is written with it
				batch = []Entry{settingEntry(t, index, fmt.Sprintf("cmd-%08d", index), "k", fmt.Sprint(step))}
			case r == 1: // an entry without a command (Raft's own)
				batch = []Entry{{Index: index, Term: 1}}
			default:
				now += int64(rng.Intn(1500))
				adms := make([]A2Admission, 1+rng.Intn(8))
				for i := range adms {
					adms[i] = admission(fmt.Sprintf("app_%d", rng.Intn(3)), fmt.Sprintf("nonce-%012d", rng.Intn(12)), fmt.Sprintf("r%d", rng.Intn(5)))
				}
				batch = []Entry{admitEntry(t, index, now, window, adms)}
				outcomes[index] = fmt.Sprint(m.apply(now, window, adms))
				if rng.Intn(3) == 0 { // a setting in the same batch
					batch = append(batch, settingEntry(t, index+1, fmt.Sprintf("cmd-%08d", index+1), "j", fmt.Sprint(step)))
				}
			}
			before := durableIndex(t, s)
			res := s.Apply(batch)
			log = append(log, batch...)
			inMemory := true
			for i, e := range batch {
				if want, ok := outcomes[e.Index]; ok {
					if got := admitOutcomes(t, res[i]); got != want {
						t.Fatalf("seed %d, entry %d: %s, model %s", seed, e.Index, got, want)
					}
				} else if e.Data != nil {
					inMemory = false
				}
			}
			last := batch[len(batch)-1].Index
			if got := durableIndex(t, s); inMemory && got != before || !inMemory && got != last {
				t.Fatalf("seed %d, entry %d: the file's applied index %d (was %d; the batch in memory: %v)", seed, last, got, before, inMemory)
			}
			checkIndexModel(t, s, m)
			switch rng.Intn(8) {
			case 0: // written
				if err := s.flushAdmissions(); err != nil {
					t.Fatal(err)
				}
				if got := durableIndex(t, s); got != last {
					t.Fatalf("seed %d: written to %d, the last applied is %d", seed, got, last)
				}
			case 1: // the node stops before the write, and starts again
				s.adb.take()
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				s = mustStore(t, path)
				s.adb.armed.Store(true)
				from := durableIndex(t, s)
				res := s.Apply(log) // Raft gives the log again; what the file holds is skipped
				for i, e := range log {
					if e.Index <= from {
						if !res[i].Duplicate {
							t.Fatalf("seed %d: entry %d, held by the file, applied again", seed, e.Index)
						}
					} else if want, ok := outcomes[e.Index]; ok {
						if got := admitOutcomes(t, res[i]); got != want {
							t.Fatalf("seed %d, entry %d applied again: %s, first %s", seed, e.Index, got, want)
						}
					}
				}
				checkIndexModel(t, s, m)
			}
		}
		if g, w := dumpAdmissions(t, s), m.dump(); g != w {
			t.Fatalf("seed %d: table\n%s\nmodel\n%s", seed, g, w)
		}
		checkAdmissionIndex(t, s, m)
	}
}

// TestA2AdmitWriteBehindSnapshot: a snapshot holds the admissions applied in
// memory, and a restore discards what the replaced state owed.
func TestA2AdmitWriteBehindSnapshot(t *testing.T) {
	const w = 60_000
	now := int64(1764210000000)
	src := mustStore(t, filepath.Join(t.TempDir(), "src.db"))
	src.adb.armed.Store(true)
	m := &admModel{}
	adms1 := adms("app_a", 0, 3, "r")
	m.apply(now, w, adms1)
	src.Apply([]Entry{admitEntry(t, 1, now, w, adms1)})
	if durableIndex(t, src) != 0 {
		t.Fatal("the batch of admissions was written at once")
	}
	buf, _ := snapshotOf(t, src)

	dst := mustStore(t, filepath.Join(t.TempDir(), "dst.db"))
	dst.adb.armed.Store(true)
	dst.Apply([]Entry{admitEntry(t, 1, now, w, adms("app_z", 0, 2, "z"))}) // owed, then replaced
	if err := dst.Restore(buf); err != nil {
		t.Fatal(err)
	}
	if dst.AppliedIndex() != 1 {
		t.Fatalf("restored at %d", dst.AppliedIndex())
	}
	if g, want := dumpAdmissions(t, dst), m.dump(); g != want {
		t.Fatalf("restored table\n%s\nwant\n%s", g, want)
	}
	checkAdmissionIndex(t, dst, m)
	// What the store had applied in memory before the restore is not
	// written after it.
	dst.Apply([]Entry{settingEntry(t, 2, "cmd-00000002", "k", "v")})
	if g, want := dumpAdmissions(t, dst), m.dump(); g != want {
		t.Fatalf("after a write\n%s\nwant\n%s", g, want)
	}
}

// TestA2AdmitWrittenWithinTheDelay: the store writes the admissions applied
// in memory by itself, within admFlushDelay, and AdmissionOf reads them at
// once.
func TestA2AdmitWrittenWithinTheDelay(t *testing.T) {
	s := mustStore(t, filepath.Join(t.TempDir(), "state.db"))
	now := time.Now().UnixMilli()
	s.Apply([]Entry{admitEntry(t, 1, now, 60_000, adms("app_a", 0, 2, "r"))})
	if a, ok, err := s.AdmissionOf("r1"); err != nil || !ok || a.AppID != "app_a" {
		t.Fatalf("AdmissionOf: %+v %v %v", a, ok, err)
	}
	s.Apply([]Entry{admitEntry(t, 2, now, 60_000, adms("app_a", 2, 3, "r"))})
	deadline := time.Now().Add(10 * time.Second)
	for durableIndex(t, s) != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("not written after 10 s (the delay is %v)", admFlushDelay)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestA2AdmitResultJSON: the result is written as encoding/json writes it.
func TestA2AdmitResultJSON(t *testing.T) {
	for _, r := range []A2AdmitResult{
		{},
		{Outcomes: []string{}},
		{Outcomes: []string{Admitted}},
		{Outcomes: []string{Replayed, AppFull, Admitted, "an \"odd\" <one>\n"}},
	} {
		want, _ := json.Marshal(r)
		if got := r.appendJSON([]byte("x")); string(got) != "x"+string(want) {
			t.Errorf("%q: %s, encoding/json %s", r.Outcomes, got[1:], want)
		}
	}
}
