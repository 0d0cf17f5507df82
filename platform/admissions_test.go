package platform

import (
	"encoding/json"
	"fmt"
	"path/filepath"
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

// BenchmarkA2AdmitApply applies batches of 16 admissions to a store, as the
// state machine does (no Raft): the state machine's share of an admission.
func BenchmarkA2AdmitApply(b *testing.B) {
	s, err := func() (*Store, error) {
		s := NewStore(StoreConfig{Path: filepath.Join(b.TempDir(), "state.db")})
		return s, s.Open()
	}()
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ReportAllocs()
	t0 := time.Now()
	n := 0
	for i := 0; b.Loop(); i++ {
		adms := make([]A2Admission, 16)
		for j := range adms {
			n++
			adms[j] = admission("app_a", fmt.Sprintf("nonce-%012d", n), fmt.Sprintf("r%d", n))
		}
		c, err := NewCommand(CmdA2Admit, 1, "", Actor{Kind: ActorSystem, ID: "gateway", Node: "n1"}, t0.Add(time.Duration(i)*time.Millisecond), &A2AdmitBatch{WindowMs: 600000, Admissions: adms})
		if err != nil {
			b.Fatal(err)
		}
		data, _ := c.Encode()
		if res := s.Apply([]Entry{{Index: uint64(i + 1), Term: 1, Data: data}}); res[0].Err != nil {
			b.Fatal(res[0].Err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/admission")
}
