//go:build unix

package platform

import (
	"fmt"
	"path/filepath"
	"syscall"
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
	cpu0 := cpuTime()
	for b.Loop() {
		batch(i)
		i++
	}
	reportPerAdmission(b, cpu0, n-n0)
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
	t0 := time.Now()
	b.ReportAllocs()
	cpu0 := cpuTime()
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
	reportPerAdmission(b, cpu0, n)
}

// cpuTime is the CPU time the process has used, user and system: on a
// machine shared with other work, a truer cost than the elapsed time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportPerAdmission reports the elapsed and the CPU time of the timed loop
// per admission (n admissions, cpu0 the CPU time when the loop started).
func reportPerAdmission(b *testing.B, cpu0 time.Duration, n int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/admission")
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(n), "cpu-ns/admission")
}
