package platform

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkA2AdmitApplySteady applies batches of 16 admissions over 4 apps
// to a store in the steady state of a busy gateway: every batch finds the 16
// admissions of an earlier batch expired and prunes them (a 1 s window, 10 ms
// between batches, 100 batches applied before the timer starts). It measures
// the state machine's share of an admission, the prune's included.
func BenchmarkA2AdmitApplySteady(b *testing.B) {
	s := NewStore(StoreConfig{Path: filepath.Join(b.TempDir(), "state.db")})
	if err := s.Open(); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const window, step = 1000, 10 // ms
	t0 := time.UnixMilli(1764210000000)
	n, index := 0, uint64(0)
	batch := func(i int) {
		adms := make([]A2Admission, 16)
		for j := range adms {
			n++
			adms[j] = admission(fmt.Sprintf("app_%d", j%4), fmt.Sprintf("nonce-%012d", n), fmt.Sprintf("r%d", n))
		}
		c, err := NewCommand(CmdA2Admit, 1, "", Actor{Kind: ActorSystem, ID: "gateway", Node: "n1"}, t0.Add(time.Duration(i*step)*time.Millisecond), &A2AdmitBatch{WindowMs: window, Admissions: adms})
		if err != nil {
			b.Fatal(err)
		}
		data, _ := c.Encode()
		index++
		if res := s.Apply([]Entry{{Index: index, Term: 1, Data: data}}); res[0].Err != nil {
			b.Fatal(res[0].Err)
		}
	}
	i := 0
	for ; i < window/step; i++ {
		batch(i)
	}
	n0 := n
	b.ReportAllocs()
	for b.Loop() {
		batch(i)
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n-n0), "ns/admission")
}
