package platform

import (
	"database/sql"
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"
)

// admModel is a2.admit's reference: one admission at a time over a list of
// rows in the order they were admitted, as the a2_admission_log table holds
// them. The apply must agree with it in outcomes and rows, and its in-memory
// index must be what loading the table gives.
type admModel struct {
	rows []admModelRow // in seq order
	seq  int64
}

type admModelRow struct {
	seq           int64
	app, nonce    string
	req           string
	admitted, exp int64
}

func (m *admModel) apply(now, window int64, adms []A2Admission) []string {
	// Prune: the oldest rows up to the first unexpired one, at most
	// admissionPruneBatch.
	n := 0
	for n < len(m.rows) && n < admissionPruneBatch && m.rows[n].exp <= now {
		n++
	}
	m.rows = m.rows[n:]
	out := make([]string, len(adms))
	for i, a := range adms {
		found := -1
		var held int64
		for j, r := range m.rows {
			if r.app == a.AppID && r.nonce == a.Nonce {
				found = j
			}
			if r.app == a.AppID {
				held++
			}
		}
		if found >= 0 {
			if r := m.rows[found]; r.exp > now {
				if r.req == a.RequestID {
					out[i] = Admitted
				} else {
					out[i] = Replayed
				}
				continue
			}
			m.rows = append(m.rows[:found:found], m.rows[found+1:]...)
			held--
		}
		if held >= MaxAdmissionsPerApp {
			out[i] = AppFull
			continue
		}
		m.seq++
		m.rows = append(m.rows, admModelRow{seq: m.seq, app: a.AppID, nonce: a.Nonce, req: a.RequestID, admitted: now, exp: now + window})
		out[i] = Admitted
	}
	return out
}

// dump is the model's table in the order of dumpAdmissions.
func (m *admModel) dump() string {
	s := ""
	for _, r := range m.rows {
		s += fmt.Sprintf("%d %s/%s %s %d %d\n", r.seq, r.app, r.nonce, r.req, r.admitted, r.exp)
	}
	return s
}

// index is the model's rows as the store's in-memory index holds them.
func (m *admModel) index() *admissionIndex {
	ix := &admissionIndex{live: map[admKey]admLive{}, counts: map[string]int64{}, seq: m.seq}
	for _, r := range m.rows {
		ix.live[admKeyOf(r.app, r.nonce)] = admLive{seq: r.seq, exp: r.exp, req: reqHash(r.req)}
		ix.counts[r.app]++
	}
	if len(m.rows) > 0 {
		ix.headSeq, ix.headExp = m.rows[0].seq, m.rows[0].exp
	}
	return ix
}

// dumpAdmissions is the store's table in seq order, once what the
// admissions applied in memory owe it is written.
func dumpAdmissions(t *testing.T, s *Store) string {
	t.Helper()
	if err := s.flushAdmissions(); err != nil {
		t.Fatal(err)
	}
	out := ""
	err := s.read(func(db *sql.DB) error {
		rows, err := db.Query("SELECT seq, app_id, nonce, request_id, admitted_ms, expires_ms FROM a2_admission_log ORDER BY seq")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var app, nonce, req string
			var seq, adm, exp int64
			if err := rows.Scan(&seq, &app, &nonce, &req, &adm, &exp); err != nil {
				return err
			}
			out += fmt.Sprintf("%d %s/%s %s %d %d\n", seq, app, nonce, req, adm, exp)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// admIndexState is what an index holds, without its recent rows (which
// depend on when the table was last written).
type admIndexState struct {
	live             map[admKey]admLive
	counts           map[string]int64
	seq              int64
	headSeq, headExp int64
}

func (ix *admissionIndex) state() admIndexState {
	return admIndexState{live: ix.live, counts: ix.counts, seq: ix.seq, headSeq: ix.headSeq, headExp: ix.headExp}
}

func (st admIndexState) String() string {
	return fmt.Sprintf("%d live, counts %v, seq %d, head %d/%d", len(st.live), st.counts, st.seq, st.headSeq, st.headExp)
}

// checkIndexModel fails unless the store's in-memory index is the model's,
// whatever its table holds yet.
func checkIndexModel(t *testing.T, s *Store, m *admModel) {
	t.Helper()
	if got, want := s.adm.Load().state(), m.index().state(); !reflect.DeepEqual(got, want) {
		t.Fatalf("index: %v; model %v", got, want)
	}
}

// checkAdmissionIndex fails unless the store's in-memory index is the
// model's and is what loading its table gives (what a restart would hold),
// once what is owed is written.
func checkAdmissionIndex(t *testing.T, s *Store, m *admModel) {
	t.Helper()
	checkIndexModel(t, s, m)
	if err := s.flushAdmissions(); err != nil {
		t.Fatal(err)
	}
	var loaded *admissionIndex
	if err := s.read(func(db *sql.DB) (err error) { loaded, err = loadAdmissionIndex(db); return err }); err != nil {
		t.Fatal(err)
	}
	if got, want := s.adm.Load().state(), loaded.state(); !reflect.DeepEqual(got, want) {
		t.Fatalf("index differs from the table's: %v; loaded %v", got, want)
	}
}

// TestA2AdmitMatchesModel: random batches — duplicates within a batch,
// replays and retries across batches, expired rows left by a small prune
// bound and replaced, apps at their bound — get the model's outcomes, leave
// its rows and an index equal to the table's.
func TestA2AdmitMatchesModel(t *testing.T) {
	oldMax, oldPrune, oldFloor := MaxAdmissionsPerApp, admissionPruneBatch, compactFloor
	defer func() { MaxAdmissionsPerApp, admissionPruneBatch, compactFloor = oldMax, oldPrune, oldFloor }()
	compactFloor = 4 // the index compacted as it shrinks: the same outcomes
	for seed := int64(1); seed <= 6; seed++ {
		MaxAdmissionsPerApp, admissionPruneBatch = 4+seed%3, int(1+seed%4)
		rng := rand.New(rand.NewSource(seed))
		p := mustAdmitPair(t)
		now := int64(1764210000000)
		const window = 5000
		for b := 0; b < 60; b++ {
			now += int64(rng.Intn(2500))
			adms := make([]A2Admission, 1+rng.Intn(12))
			for i := range adms {
				adms[i] = admission(fmt.Sprintf("app_%d", rng.Intn(3)), fmt.Sprintf("nonce-%012d", rng.Intn(10)), fmt.Sprintf("r%d", rng.Intn(6)))
			}
			p.apply(t, now, window, adms)
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
