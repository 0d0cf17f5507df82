package platform

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// admModel is the former per-row apply of a2.admit, kept as the reference
// the set-based apply must agree with: outcomes and table contents.
type admModel struct {
	rows   map[admissionKey]admModelRow
	counts map[string]int64
}

type admModelRow struct {
	req      string
	admitted int64
	exp      int64
}

func (m *admModel) apply(now, window int64, adms []A2Admission) []string {
	// Prune: the oldest expired rows, ties by (app, nonce) as the index
	// orders them, at most admissionPruneBatch.
	var expired []admissionKey
	for k, r := range m.rows {
		if r.exp <= now {
			expired = append(expired, k)
		}
	}
	sort.Slice(expired, func(i, j int) bool {
		a, b := m.rows[expired[i]], m.rows[expired[j]]
		if a.exp != b.exp {
			return a.exp < b.exp
		}
		if expired[i].app != expired[j].app {
			return expired[i].app < expired[j].app
		}
		return expired[i].nonce < expired[j].nonce
	})
	if len(expired) > admissionPruneBatch {
		expired = expired[:admissionPruneBatch]
	}
	for _, k := range expired {
		delete(m.rows, k)
		if m.counts[k.app] > 0 {
			m.counts[k.app]--
		}
	}
	out := make([]string, len(adms))
	for i, a := range adms {
		k := admissionKey{a.AppID, a.Nonce}
		if r, ok := m.rows[k]; ok {
			if r.exp > now {
				if r.req == a.RequestID {
					out[i] = Admitted
				} else {
					out[i] = Replayed
				}
				continue
			}
			delete(m.rows, k)
			if m.counts[a.AppID] > 0 {
				m.counts[a.AppID]--
			}
		}
		if m.counts[a.AppID] >= MaxAdmissionsPerApp {
			out[i] = AppFull
			continue
		}
		m.rows[k] = admModelRow{req: a.RequestID, admitted: now, exp: now + window}
		m.counts[a.AppID]++
		out[i] = Admitted
	}
	return out
}

// dump is the model's table in the order of dumpAdmissions.
func (m *admModel) dump() string {
	var keys []admissionKey
	for k := range m.rows {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].app != keys[j].app {
			return keys[i].app < keys[j].app
		}
		return keys[i].nonce < keys[j].nonce
	})
	s := ""
	for _, k := range keys {
		r := m.rows[k]
		s += fmt.Sprintf("%s/%s %s %d %d\n", k.app, k.nonce, r.req, r.admitted, r.exp)
	}
	var apps []string
	for a, n := range m.counts {
		if n > 0 {
			apps = append(apps, a)
		}
	}
	sort.Strings(apps)
	for _, a := range apps {
		s += fmt.Sprintf("count %s %d\n", a, m.counts[a])
	}
	return s
}

// dumpAdmissions is the store's table (counts of zero left out: the former
// apply kept such rows, the new one may not write them).
func dumpAdmissions(t *testing.T, s *Store) string {
	t.Helper()
	out := ""
	err := s.read(func(db *sql.DB) error {
		rows, err := db.Query("SELECT app_id, nonce, request_id, admitted_ms, expires_ms FROM a2_admissions ORDER BY app_id, nonce")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var app, nonce, req string
			var adm, exp int64
			if err := rows.Scan(&app, &nonce, &req, &adm, &exp); err != nil {
				return err
			}
			out += fmt.Sprintf("%s/%s %s %d %d\n", app, nonce, req, adm, exp)
		}
		crows, err := db.Query("SELECT app_id, n FROM a2_admission_counts WHERE n > 0 ORDER BY app_id")
		if err != nil {
			return err
		}
		defer crows.Close()
		for crows.Next() {
			var app string
			var n int64
			if err := crows.Scan(&app, &n); err != nil {
				return err
			}
			out += fmt.Sprintf("count %s %d\n", app, n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestA2AdmitMatchesPerRowModel: random batches — duplicates within a batch,
// replays and retries across batches, expired rows left by a small prune
// bound and replaced, apps at their bound — get the same outcomes and leave
// the same table as the former one-admission-at-a-time apply.
func TestA2AdmitMatchesPerRowModel(t *testing.T) {
	oldMax, oldPrune := MaxAdmissionsPerApp, admissionPruneBatch
	defer func() { MaxAdmissionsPerApp, admissionPruneBatch = oldMax, oldPrune }()
	for seed := int64(1); seed <= 6; seed++ {
		MaxAdmissionsPerApp, admissionPruneBatch = 4+seed%3, int(1+seed%4)
		rng := rand.New(rand.NewSource(seed))
		s := mustStore(t, filepath.Join(t.TempDir(), "state.db"))
		m := &admModel{rows: map[admissionKey]admModelRow{}, counts: map[string]int64{}}
		now := int64(1764210000000)
		const window = 5000
		for b := 0; b < 60; b++ {
			now += int64(rng.Intn(2500))
			adms := make([]A2Admission, 1+rng.Intn(12))
			for i := range adms {
				adms[i] = admission(fmt.Sprintf("app_%d", rng.Intn(3)), fmt.Sprintf("nonce-%012d", rng.Intn(10)), fmt.Sprintf("r%d", rng.Intn(6)))
			}
			c, err := NewCommand(CmdA2Admit, 1, "", Actor{Kind: ActorSystem, ID: "gateway", Node: "n1"}, time.UnixMilli(now), &A2AdmitBatch{WindowMs: window, Admissions: adms})
			if err != nil {
				t.Fatal(err)
			}
			res := s.Apply([]Entry{{Index: uint64(b + 1), Term: 1, Data: mustEncode(t, c)}})
			if res[0].Err != nil {
				t.Fatal(res[0].Err)
			}
			var got A2AdmitResult
			if err := json.Unmarshal(res[0].Value, &got); err != nil {
				t.Fatal(err)
			}
			want := m.apply(now, window, adms)
			if fmt.Sprint(got.Outcomes) != fmt.Sprint(want) {
				t.Fatalf("seed %d batch %d: outcomes %v, former %v", seed, b, got.Outcomes, want)
			}
			if g, w := dumpAdmissions(t, s), m.dump(); g != w {
				t.Fatalf("seed %d batch %d: table\n%s\nformer\n%s", seed, b, g, w)
			}
		}
	}
}

// TestAdmissionCharChecks: the loops decide as the patterns they replace.
func TestAdmissionCharChecks(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	alphabet := "aZ09_.:-/ \n\xffé" + "0123456789abcdef"
	for i := 0; i < 20000; i++ {
		b := make([]byte, rng.Intn(140))
		for j := range b {
			b[j] = alphabet[rng.Intn(len(alphabet))]
		}
		s := string(b)
		if i%3 == 0 { // lengths near the bounds, of valid characters
			s = string(b[:min(len(b), []int{0, 1, 15, 16, 63, 64, 65, 128, 129}[rng.Intn(9)])])
		}
		if admissionIDOK(s) != admissionID.MatchString(s) || nonceOK(s) != lj1Nonce.MatchString(s) || hashOK(s) != admissionHash.MatchString(s) {
			t.Fatalf("%q: id %v/%v nonce %v/%v hash %v/%v", s, admissionIDOK(s), admissionID.MatchString(s), nonceOK(s), lj1Nonce.MatchString(s), hashOK(s), admissionHash.MatchString(s))
		}
	}
	for _, s := range []string{strings.Repeat("ab", 32), strings.Repeat("0", 16), "app_1.x:y-z"} {
		if !hashOK(strings.Repeat("ab", 32)) || !nonceOK(strings.Repeat("0", 16)) || !admissionIDOK(s) && s == "app_1.x:y-z" {
			t.Fatalf("valid %q refused", s)
		}
	}
}
