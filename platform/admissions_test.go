package platform

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func admission(app, nonce, req string) A2Admission {
	return A2Admission{AppID: app, Nonce: nonce, APIID: "api_balance", RequestID: req, BodySM3: strings.Repeat("ab", 32), TokenID: "cns_x", Node: "n1"}
}

// TestA2Admit applies admission batches as the state machine does: new
// nonces are admitted, a nonce of another request in the window is a
// replay, the same request proposed again is admitted again, expired rows
// are pruned and their nonces admitted anew, and an app's share is bounded.
func TestA2Admit(t *testing.T) {
	s := mustStore(t, filepath.Join(t.TempDir(), "state.db"))
	index := uint64(0)
	apply := func(at time.Time, window time.Duration, adms ...A2Admission) []string {
		t.Helper()
		index++
		c, err := NewCommand(CmdA2Admit, 1, "", Actor{Kind: ActorSystem, ID: "gateway", Node: "n1"}, at, &A2AdmitBatch{WindowMs: window.Milliseconds(), Admissions: adms})
		if err != nil {
			t.Fatal(err)
		}
		res := s.Apply([]Entry{{Index: index, Term: 1, Data: mustEncode(t, c)}})
		if res[0].Err != nil {
			t.Fatal(res[0].Err)
		}
		var out A2AdmitResult
		if err := json.Unmarshal(res[0].Value, &out); err != nil {
			t.Fatal(err)
		}
		return out.Outcomes
	}
	t0 := time.UnixMilli(1764210000000)
	w := 10 * time.Minute
	nonce := func(i int) string { return fmt.Sprintf("nonce-%012d", i) }
	if got := apply(t0, w, admission("app_a", nonce(1), "r1"), admission("app_a", nonce(2), "r2"), admission("app_b", nonce(1), "r3")); fmt.Sprint(got) != "[admitted admitted admitted]" {
		t.Fatalf("new nonces: %v", got)
	}
	if got := apply(t0.Add(time.Second), w, admission("app_a", nonce(1), "r4"), admission("app_a", nonce(2), "r2"), admission("app_a", nonce(1), "r5")); fmt.Sprint(got) != "[replayed admitted replayed]" {
		t.Fatalf("replay and retry: %v", got)
	}
	// Within one batch, the second use of a nonce is a replay too.
	if got := apply(t0.Add(2*time.Second), w, admission("app_c", nonce(9), "r6"), admission("app_c", nonce(9), "r7")); fmt.Sprint(got) != "[admitted replayed]" {
		t.Fatalf("replay within a batch: %v", got)
	}
	// After the window the nonce is free again and the old rows are gone.
	if got := apply(t0.Add(w+time.Minute), w, admission("app_a", nonce(1), "r8")); fmt.Sprint(got) != "[admitted]" {
		t.Fatalf("after the window: %v", got)
	}
	if _, ok, _ := s.AdmissionOf("r2"); ok {
		t.Fatal("an expired admission was not pruned")
	}
	if a, ok, err := s.AdmissionOf("r8"); !ok || err != nil || a.AppID != "app_a" {
		t.Fatalf("admission r8: %+v %v %v", a, ok, err)
	}
	// The change log does not grow with admissions.
	if items, total, err := s.ListChanges(ChangeFilter{Type: CmdA2Admit, Limit: 10}); err != nil || total != 0 || len(items) != 0 {
		t.Fatalf("admissions in the change log: %d %v", total, err)
	}
	// An app's share of the window is bounded.
	old := MaxAdmissionsPerApp
	MaxAdmissionsPerApp = 2
	defer func() { MaxAdmissionsPerApp = old }()
	if got := apply(t0.Add(w+2*time.Minute), w, admission("app_d", nonce(1), "r9"), admission("app_d", nonce(2), "r10"), admission("app_d", nonce(3), "r11")); fmt.Sprint(got) != "[admitted admitted full]" {
		t.Fatalf("app share: %v", got)
	}
	// Pruning frees the share.
	if got := apply(t0.Add(2*w+3*time.Minute), w, admission("app_d", nonce(3), "r12")); fmt.Sprint(got) != "[admitted]" {
		t.Fatalf("after pruning: %v", got)
	}
}

func TestA2AdmitValidation(t *testing.T) {
	good := admission("app_a", "nonce-000000000001", "r1")
	cases := map[string]func(b *A2AdmitBatch){
		"no admissions":  func(b *A2AdmitBatch) { b.Admissions = nil },
		"too many":       func(b *A2AdmitBatch) { b.Admissions = make([]A2Admission, MaxAdmissionBatch+1) },
		"window":         func(b *A2AdmitBatch) { b.WindowMs = 10 },
		"short nonce":    func(b *A2AdmitBatch) { b.Admissions[0].Nonce = "abc" },
		"bad digest":     func(b *A2AdmitBatch) { b.Admissions[0].BodySM3 = "xyz" },
		"bad app":        func(b *A2AdmitBatch) { b.Admissions[0].AppID = "a b" },
		"bad token id":   func(b *A2AdmitBatch) { b.Admissions[0].TokenID = strings.Repeat("t", 200) },
		"bad node":       func(b *A2AdmitBatch) { b.Admissions[0].Node = "" },
		"bad request id": func(b *A2AdmitBatch) { b.Admissions[0].RequestID = "" },
	}
	for name, mutate := range cases {
		b := &A2AdmitBatch{WindowMs: 600000, Admissions: []A2Admission{good}}
		mutate(b)
		if err := b.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := (&A2AdmitBatch{WindowMs: 600000, Admissions: []A2Admission{good}}).Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestNewA2AdmitCommand: the admitter's constructor, which checks a batch by
// its Validate instead of decoding its JSON again, accepts and refuses as
// NewCommand does and builds the payload NewCommand builds, whose strict
// decoding is the batch again; strings outside the fields' sets (non-ASCII,
// invalid UTF-8, JSON's special characters) are refused by both.
func TestNewA2AdmitCommand(t *testing.T) {
	good := admission("app_a", "nonce-000000000001", "r1")
	actor := Actor{Kind: ActorSystem, ID: "gateway", Node: "n1"}
	now := time.UnixMilli(1764806400000)
	cases := map[string]func(b *A2AdmitBatch){
		"good": func(b *A2AdmitBatch) {},
		"two": func(b *A2AdmitBatch) {
			b.Admissions = append(b.Admissions, admission("app.b:c-d", "Nonce_-0123456789abcdef", "req_2"))
		},
		"no token":            func(b *A2AdmitBatch) { b.Admissions[0].TokenID = "" },
		"no admissions":       func(b *A2AdmitBatch) { b.Admissions = nil },
		"window":              func(b *A2AdmitBatch) { b.WindowMs = 10 },
		"non-ASCII app":       func(b *A2AdmitBatch) { b.Admissions[0].AppID = "应用" },
		"invalid UTF-8 nonce": func(b *A2AdmitBatch) { b.Admissions[0].Nonce = "nonce-00000000000\xff" },
		"quote in request":    func(b *A2AdmitBatch) { b.Admissions[0].RequestID = `r"1` },
		"backslash in api":    func(b *A2AdmitBatch) { b.Admissions[0].APIID = `a\\b` },
		"upper-case digest":   func(b *A2AdmitBatch) { b.Admissions[0].BodySM3 = strings.Repeat("AB", 32) },
		"control in node":     func(b *A2AdmitBatch) { b.Admissions[0].Node = "n\x001" },
		"bad later admission": func(b *A2AdmitBatch) { b.Admissions = append(b.Admissions, admission("app_b", "short", "r2")) },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			b := &A2AdmitBatch{WindowMs: 600000, Admissions: []A2Admission{good}}
			mutate(b)
			want, wantErr := NewCommand(CmdA2Admit, 1, "", actor, now, b)
			got, err := NewA2AdmitCommand(actor, now, b)
			if (err == nil) != (wantErr == nil) {
				t.Fatalf("NewA2AdmitCommand error %v, NewCommand's %v", err, wantErr)
			}
			if err != nil {
				if !errors.Is(err, ErrBadCommand) || err.Error() != wantErr.Error() {
					t.Errorf("error %q, NewCommand's %q", err, wantErr)
				}
				return
			}
			if string(got.Payload) != string(want.Payload) || got.Type != want.Type || got.TypeVersion != want.TypeVersion || got.At != want.At || got.Actor != want.Actor {
				t.Errorf("command %+v, NewCommand's %+v", got, want)
			}
			dec, err := DecodeCommand(mustEncode(t, got))
			if err != nil {
				t.Fatal(err)
			}
			var back A2AdmitBatch
			if err := decodeStrict(dec.Payload, &back); err != nil || !reflect.DeepEqual(&back, b) {
				t.Errorf("payload decodes to %+v (%v), want %+v", back, err, b)
			}
		})
	}
}

// admitPair is a store applying a2.admit and the model fed the same batches.
type admitPair struct {
	s     *Store
	m     *admModel
	index uint64
}

func mustAdmitPair(t *testing.T) *admitPair {
	t.Helper()
	s := mustStore(t, filepath.Join(t.TempDir(), "state.db"))
	s.adb.armed.Store(true) // no timed write: the pair writes the table itself
	return &admitPair{s: s, m: &admModel{}}
}

// apply applies one batch to the store and the model and fails unless they
// decide the same and hold the same rows after, and the store's index is its
// table's; it returns the outcomes.
func (p *admitPair) apply(t *testing.T, now, window int64, adms []A2Admission) []string {
	t.Helper()
	p.index++
	res := p.s.Apply([]Entry{admitEntry(t, p.index, now, window, adms)})
	if res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	var r A2AdmitResult
	if err := json.Unmarshal(res[0].Value, &r); err != nil {
		t.Fatal(err)
	}
	want := p.m.apply(now, window, adms)
	if fmt.Sprint(r.Outcomes) != fmt.Sprint(want) {
		t.Fatalf("batch %d: outcomes %v, model %v", p.index, r.Outcomes, want)
	}
	checkIndexModel(t, p.s, p.m)
	// The table is written after every batch but the first two of each
	// four: the next batches read rows the table does not hold yet.
	if p.index%4 == 0 || p.index%4 == 3 {
		if g, w := dumpAdmissions(t, p.s), p.m.dump(); g != w {
			t.Fatalf("batch %d: table\n%s\nmodel\n%s", p.index, g, w)
		}
		checkAdmissionIndex(t, p.s, p.m)
	}
	return r.Outcomes
}

// admitStep is one batch of a script: applied dt ms after the previous one.
type admitStep struct {
	dt   int64
	adms []A2Admission
	want string // the outcomes, or "" not to check them (only against the model)
}

func adms(app string, from, to int, req string) []A2Admission {
	var out []A2Admission
	for i := from; i < to; i++ {
		out = append(out, admission(app, fmt.Sprintf("nonce-%012d", i), fmt.Sprintf("%s%d", req, i)))
	}
	return out
}

func cat(parts ...[]A2Admission) []A2Admission {
	var out []A2Admission
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// TestA2AdmitScripted: scripted batches chosen for their edges get
// the model's outcomes and leave its rows, and an index equal to the
// table's.
func TestA2AdmitScripted(t *testing.T) {
	const w = 10_000
	a := func(app string, n int, req string) A2Admission {
		return admission(app, fmt.Sprintf("nonce-%012d", n), req)
	}
	cases := []struct {
		name  string
		max   int64
		prune int
		long  int // steps before this one use a window of 3w (0: none)
		steps []admitStep
	}{
		{name: "duplicates within a batch", steps: []admitStep{
			{0, []A2Admission{a("app_a", 1, "r1"), a("app_a", 1, "r1"), a("app_a", 1, "r2"), a("app_b", 1, "r2"), a("app_a", 2, "r3"), a("app_b", 1, "r3"), a("app_a", 1, "r1")},
				"[admitted admitted replayed admitted admitted replayed admitted]"},
		}},
		{name: "replays and retries across batches", steps: []admitStep{
			{0, []A2Admission{a("app_a", 1, "r1"), a("app_a", 2, "r2")}, "[admitted admitted]"},
			{1, []A2Admission{a("app_a", 1, "r9"), a("app_a", 2, "r2"), a("app_a", 3, "r3"), a("app_a", 3, "r4")}, "[replayed admitted admitted replayed]"},
			{w - 2, []A2Admission{a("app_a", 1, "r1"), a("app_a", 3, "r5")}, "[admitted replayed]"}, // r1 expires at w: now = w-1
			{1, []A2Admission{a("app_a", 1, "r5"), a("app_a", 3, "r6")}, "[admitted replayed]"},     // now = w: r1 expired, pruned
		}},
		{name: "expired rows left by the prune bound are replaced", prune: 2, steps: []admitStep{
			{0, adms("app_a", 0, 6, "r"), ""},
			{0, adms("app_b", 0, 6, "s"), ""},
			// At w+1 the 12 rows have expired; the prune takes 2 (app_a 0, 1).
			{w + 1, cat(adms("app_a", 2, 4, "x"), adms("app_b", 0, 2, "r"), []A2Admission{a("app_a", 2, "y")}), "[admitted admitted admitted admitted replayed]"},
			{1, cat(adms("app_b", 0, 6, "r"), adms("app_a", 0, 8, "z")), ""},
		}},
		{name: "app full at the bound", max: 3, steps: []admitStep{
			{0, adms("app_a", 0, 5, "r"), "[admitted admitted admitted full full]"},
			{1, cat(adms("app_a", 0, 1, "r"), adms("app_a", 3, 4, "r"), adms("app_b", 0, 4, "r")), "[admitted full admitted admitted admitted full]"},
			{w, adms("app_a", 3, 7, "q"), "[admitted admitted admitted full]"},
		}},
		{name: "full app replacing an expired row", max: 2, prune: 1, steps: []admitStep{
			{0, adms("app_a", 0, 2, "r"), "[admitted admitted]"},
			{1, adms("app_b", 0, 2, "r"), "[admitted admitted]"},
			// Prune takes app_a 0; app_a 1 is expired but present: replaced.
			{w + 5, cat(adms("app_a", 1, 2, "n"), adms("app_a", 5, 7, "n")), "[admitted admitted full]"},
		}},
		{name: "bound lowered below what an app holds", steps: []admitStep{
			{0, adms("app_a", 0, 6, "r"), ""},
			{w + 1, nil, ""}, // marks: lower the bound, prune 1
			{0, cat(adms("app_a", 1, 3, "n"), adms("app_a", 10, 12, "n")), ""},
		}},
		{name: "a longer window holds back the prune", long: 1, steps: []admitStep{
			{0, adms("app_a", 0, 2, "r"), ""}, // window 3w
			{1, adms("app_b", 0, 2, "r"), ""},
			{w + 1, adms("app_b", 0, 1, "n"), "[admitted]"}, // app_b 0 expired, met again: replaced
			{1, adms("app_b", 1, 2, "n"), "[admitted]"},     // app_b 1 expired behind app_a's rows: replaced
		}},
		{name: "ties in expiry pruned in seq order", prune: 3, steps: []admitStep{
			{0, cat(adms("app_c", 0, 3, "r"), adms("app_a", 5, 8, "r"), adms("app_b", 2, 4, "r")), ""},
			{w, adms("app_d", 0, 1, "r"), ""},
			{0, adms("app_d", 1, 2, "r"), ""},
			{1, adms("app_a", 5, 8, "n"), ""},
		}},
		{name: "prune of more than its bound, batches of many rows and apps", steps: func() []admitStep {
			var s []admitStep
			for b := 0; b < 3; b++ {
				var x []A2Admission
				for i := 0; i < 1000; i++ {
					x = append(x, a(fmt.Sprintf("app_%03d", (b*1000+i)%250), b*1000+i, fmt.Sprintf("r%d", b*1000+i)))
				}
				s = append(s, admitStep{dt: 1, adms: x})
			}
			s = append(s, admitStep{dt: w, adms: adms("app_x", 0, 300, "r")}) // prunes 2048 of 3000
			s = append(s, admitStep{dt: 0, adms: cat(adms("app_000", 0, 1000, "z"))})
			s = append(s, admitStep{dt: 1, adms: adms("app_x", 0, 300, "r")})
			return s
		}()},
	}
	oldMax, oldPrune, oldFloor := MaxAdmissionsPerApp, admissionPruneBatch, compactFloor
	defer func() { MaxAdmissionsPerApp, admissionPruneBatch, compactFloor = oldMax, oldPrune, oldFloor }()
	compactFloor = 4 // the index compacted as it shrinks: the same outcomes
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			MaxAdmissionsPerApp, admissionPruneBatch = oldMax, oldPrune
			if tc.max > 0 {
				MaxAdmissionsPerApp = tc.max
			}
			if tc.prune > 0 {
				admissionPruneBatch = tc.prune
			}
			p := mustAdmitPair(t)
			now := int64(1764210000000)
			for i, st := range tc.steps {
				now += st.dt
				if st.adms == nil {
					MaxAdmissionsPerApp, admissionPruneBatch = 2, 1
					continue
				}
				win := int64(w)
				if i < tc.long {
					win = 3 * w
				}
				if got := p.apply(t, now, win, st.adms); st.want != "" && fmt.Sprint(got) != st.want {
					t.Fatalf("step %d: %v, want %s", i, got, st.want)
				}
			}
		})
	}
}

// TestA2AdmitRandom: seeded random batches over few apps,
// nonces and request ids (so that duplicates, replays, retries, expired rows
// left behind and full apps are common) agree with the model.
func TestA2AdmitRandom(t *testing.T) {
	cases := []struct {
		name               string
		apps, nonces, reqs int
		maxBatch, batches  int
		max                int64
		prune              int
		window, step       int64
	}{
		{"small", 3, 10, 6, 12, 80, 4, 2, 5000, 2500},
		{"tight prune", 4, 20, 3, 16, 80, 6, 1, 3000, 1500},
		{"wide", 40, 400, 50, 300, 12, 20, 50, 4000, 1800},
		{"many apps", 500, 2, 2, 600, 6, 1, 100, 2000, 1200},
		{"roomy", 5, 60, 1000, 64, 40, 1_000_000, 2048, 6000, 1000},
		// Bursts the window often outlives: the index shrinks to under a
		// quarter of its peak and is compacted (compactFloor lowered).
		{"bursts", 5, 5000, 5000, 400, 30, 1_000_000, 4096, 2000, 6000},
	}
	oldMax, oldPrune, oldFloor := MaxAdmissionsPerApp, admissionPruneBatch, compactFloor
	defer func() { MaxAdmissionsPerApp, admissionPruneBatch, compactFloor = oldMax, oldPrune, oldFloor }()
	compactFloor = 4 // the index compacted as it shrinks: the same outcomes
	for _, tc := range cases {
		for seed := int64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("%s/seed=%d", tc.name, seed), func(t *testing.T) {
				MaxAdmissionsPerApp, admissionPruneBatch = tc.max, tc.prune
				rng := rand.New(rand.NewSource(seed))
				p := mustAdmitPair(t)
				now := int64(1764210000000)
				for b := 0; b < tc.batches; b++ {
					now += rng.Int63n(tc.step)
					x := make([]A2Admission, 1+rng.Intn(tc.maxBatch))
					for i := range x {
						x[i] = admission(fmt.Sprintf("app_%d", rng.Intn(tc.apps)), fmt.Sprintf("nonce-%012d", rng.Intn(tc.nonces)), fmt.Sprintf("r%d", rng.Intn(tc.reqs)))
					}
					p.apply(t, now, tc.window, x)
				}
			})
		}
	}
}

// TestAdmissionIndexCompact: the index is copied into a map of its size
// once it holds under a quarter of its peak (not before, and not under the
// floor), and holds the same pairs after.
func TestAdmissionIndexCompact(t *testing.T) {
	ix := &admissionIndex{live: map[admKey]admLive{}, counts: map[string]int64{}}
	for i := range 10000 {
		ix.live[admKeyOf("app", fmt.Sprintf("nonce-%012d", i))] = admLive{seq: int64(i + 1), exp: int64(i)}
	}
	ix.compact()
	if ix.peak != 10000 {
		t.Fatalf("peak %d, want 10000", ix.peak)
	}
	id := func() uintptr { return reflect.ValueOf(ix.live).Pointer() }
	before := id()
	for i := range 7000 { // 3,000 left: not under a quarter
		delete(ix.live, admKeyOf("app", fmt.Sprintf("nonce-%012d", i)))
	}
	ix.compact()
	if id() != before || ix.peak != 10000 {
		t.Fatal("copied at 3,000 of a peak of 10,000")
	}
	for i := 7000; i < 7600; i++ { // 2,400 left
		delete(ix.live, admKeyOf("app", fmt.Sprintf("nonce-%012d", i)))
	}
	want := maps.Clone(ix.live)
	ix.compact()
	if id() == before || ix.peak != 2400 || !maps.Equal(ix.live, want) {
		t.Fatalf("at 2,400 of 10,000: copied %v, peak %d, the same pairs %v", id() != before, ix.peak, maps.Equal(ix.live, want))
	}
	// Under the floor, never.
	small := &admissionIndex{live: map[admKey]admLive{}, peak: compactFloor - 1}
	small.live[admKeyOf("app", "nonce-000000000001")] = admLive{seq: 1}
	p := reflect.ValueOf(small.live).Pointer()
	small.compact()
	if reflect.ValueOf(small.live).Pointer() != p {
		t.Fatal("a map under the floor was copied")
	}
}

// TestA2AdmitIndexLoads: the in-memory index is what the table holds after
// a restart, after a snapshot is restored, and after the migration from the
// former table; a nonce admitted before any of them is still a replay after,
// and admissions go on being numbered where they were.
func TestA2AdmitIndexLoads(t *testing.T) {
	const w = 10_000
	now := int64(1764210000000)
	dir := t.TempDir()
	path := filepath.Join(dir, "state.db")
	p := &admitPair{s: mustStore(t, path), m: &admModel{}}
	p.apply(t, now, w, adms("app_a", 0, 5, "r"))
	p.apply(t, now+w+1, w, adms("app_b", 0, 3, "s")) // app_a's rows pruned: seq 6..8 left
	replay := adms("app_b", 1, 2, "x")

	// Restart.
	if err := p.s.Close(); err != nil {
		t.Fatal(err)
	}
	p.s = mustStore(t, path)
	checkAdmissionIndex(t, p.s, p.m)
	if got := p.apply(t, now+w+2, w, cat(replay, adms("app_c", 0, 1, "t"))); fmt.Sprint(got) != "[replayed admitted]" {
		t.Fatalf("after a restart: %v", got)
	}
	// The table emptied, then a restart: the next admission is not numbered 1.
	p.apply(t, now+3*w, w, adms("app_d", 0, 1, "u"))
	defer func(v int64) { MaxAdmissionsPerApp = v }(MaxAdmissionsPerApp)
	MaxAdmissionsPerApp = 0
	if got := p.apply(t, now+5*w, w, adms("app_d", 1, 2, "u")); fmt.Sprint(got) != "[full]" || dumpAdmissions(t, p.s) != "" {
		t.Fatalf("emptying the table: %v, left %q", got, dumpAdmissions(t, p.s))
	}
	MaxAdmissionsPerApp = 1_000_000
	p.s.Close()
	p.s = mustStore(t, path)
	checkAdmissionIndex(t, p.s, p.m)
	p.apply(t, now+5*w+1, w, adms("app_d", 2, 3, "u"))

	// A store that loads its apps in the background loads the index there.
	p.s.Close()
	p.s = NewStore(StoreConfig{Path: path, BackgroundApplicants: true})
	if err := p.s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.s.Close() })
	if err := p.s.LoadErr(); err != nil {
		t.Fatal(err)
	}
	checkAdmissionIndex(t, p.s, p.m)

	// Restore of a snapshot into another store.
	buf, _ := snapshotOf(t, p.s)
	dst := mustStore(t, filepath.Join(dir, "other.db"))
	// Statements kept prepared on the database the restore replaces.
	pre := &admitPair{s: dst, m: &admModel{}}
	pre.apply(t, now, w, adms("app_z", 0, 2, "z"))
	if err := dst.flushAdmissions(); err != nil {
		t.Fatal(err)
	}
	if dst.prep.db == nil || len(dst.prep.m) == 0 {
		t.Fatal("no statement kept prepared")
	}
	if err := dst.Restore(buf); err != nil {
		t.Fatal(err)
	}
	q := &admitPair{s: dst, m: &admModel{rows: append([]admModelRow(nil), p.m.rows...), seq: p.m.seq}, index: p.index}
	checkAdmissionIndex(t, q.s, q.m)
	if got := q.apply(t, now+5*w+2, w, cat(adms("app_d", 2, 3, "v"), adms("app_d", 3, 4, "v"))); fmt.Sprint(got) != "[replayed admitted]" {
		t.Fatalf("after a restore: %v", got)
	}

	// Migration from the table of 0011: its rows in the order admitted.
	old := filepath.Join(dir, "old.db")
	db, err := sql.Open("sqlite", old)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms[:20] {
		if _, err := db.Exec(m.sql); err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
	}
	for i, r := range []struct {
		app, nonce string
		at         int64
	}{{"app_b", "nonce-000000000002", now + 1}, {"app_a", "nonce-000000000009", now}, {"app_a", "nonce-000000000001", now + 1}} {
		if _, err := db.Exec(`INSERT INTO a2_admissions (app_id, nonce, request_id, api_id, body_sm3, token_id, node, admitted_ms, expires_ms)
			VALUES (?, ?, ?, 'api_balance', ?, 'cns_x', 'n1', ?, ?)`, r.app, r.nonce, fmt.Sprintf("r%d", i), strings.Repeat("ab", 32), r.at, r.at+w); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec("PRAGMA user_version = 20"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	m := &admitPair{s: mustStore(t, old), m: &admModel{seq: 3, rows: []admModelRow{
		{1, "app_a", "nonce-000000000009", "r1", now, now + w},
		{2, "app_a", "nonce-000000000001", "r2", now + 1, now + 1 + w},
		{3, "app_b", "nonce-000000000002", "r0", now + 1, now + 1 + w},
	}}}
	if g, w := dumpAdmissions(t, m.s), m.m.dump(); g != w {
		t.Fatalf("migrated table\n%s\nwant\n%s", g, w)
	}
	checkAdmissionIndex(t, m.s, m.m)
	if got := m.apply(t, now+2, w, cat(adms("app_a", 1, 2, "z"), adms("app_a", 2, 3, "z"))); fmt.Sprint(got) != "[replayed admitted]" {
		t.Fatalf("after the migration: %v", got)
	}
}

// TestPreparedStmts: the apply's statements are prepared once a database,
// bounded, prepared again for a new database, and closed with the store.
func TestPreparedStmts(t *testing.T) {
	s := mustStore(t, filepath.Join(t.TempDir(), "state.db"))
	var p preparedStmts
	var first *sql.Stmt
	for i := range maxPrepared + 3 {
		st, err := p.get(s.db, fmt.Sprintf("SELECT %d", i))
		switch {
		case err != nil:
			t.Fatal(err)
		case i < maxPrepared && st == nil:
			t.Fatalf("statement %d not kept", i)
		case i >= maxPrepared && st != nil:
			t.Fatalf("statement %d kept beyond the bound", i)
		}
		if i == 0 {
			first = st
		}
	}
	if st, _ := p.get(s.db, "SELECT 0"); st != first {
		t.Error("the same text prepared again")
	}
	// A transaction past the bound still runs its statement.
	sqlTx, err := s.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	tx := &Tx{tx: sqlTx, db: s.db, prep: &p}
	var n int
	rows, err := tx.queryPrepared(fmt.Sprintf("SELECT %d", maxPrepared+1))
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	rows.Close()
	sqlTx.Rollback()
	if n != maxPrepared+1 {
		t.Errorf("past the bound: %d", n)
	}
	// Another database: the statements are prepared anew.
	other := mustStore(t, filepath.Join(t.TempDir(), "state.db"))
	if st, err := p.get(other.db, "SELECT 0"); err != nil || st == first || p.db != other.db || len(p.m) != 1 {
		t.Errorf("for another database: %v, %v, %d kept", st == first, err, len(p.m))
	}
	if _, err := first.Exec(); err == nil {
		t.Error("a statement of the former database is still open")
	}
	p.close()
	if p.m != nil || p.db != nil {
		t.Error("close kept statements")
	}
}
