package platform

import (
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// CmdA2Admit admits a batch of A2 calls before they are forwarded: each
// (App_ID, nonce) is remembered for the replay window on every node, so a
// replay is refused cluster-wide, and the call has a quorum-durable record
// (PROTOCOL: A2 rules; docs/protocol.md §3.4).
const CmdA2Admit = "a2.admit"

// Admission outcomes.
const (
	Admitted = "admitted" // new, or the same request again (a retried proposal)
	Replayed = "replayed" // the nonce was admitted for another request in the window
	AppFull  = "full"     // the app holds MaxAdmissionsPerApp admissions in the window
)

// MaxAdmissionsPerApp bounds the admissions one app holds in the window, so
// that one app cannot grow the table without bound (the gateway's per-node
// nonce bound is the same).
var MaxAdmissionsPerApp int64 = 1_000_000

// MaxAdmissionBatch bounds the admissions of one command.
const MaxAdmissionBatch = 1024

// admissionPruneBatch bounds the expired rows one apply deletes, so an apply
// stays short; every batch prunes, so expired rows cannot pile up faster
// than they are removed.
var admissionPruneBatch = 2048 // a var for the tests

// A2Admission is one A2 call's admission.
type A2Admission struct {
	AppID     string `json:"app_id"`
	Nonce     string `json:"nonce"`
	APIID     string `json:"api_id"`
	RequestID string `json:"request_id"`
	BodySM3   string `json:"body_sm3"` // SM3 of the request body as received, hex
	TokenID   string `json:"token_id"` // the user token's consent, or ""; never the token
	Node      string `json:"node"`
}

// A2AdmitBatch is the payload of CmdA2Admit (version 1).
type A2AdmitBatch struct {
	// WindowMs is how long the nonces are remembered: the gateway's replay
	// window (twice its timestamp window).
	WindowMs   int64         `json:"window_ms"`
	Admissions []A2Admission `json:"admissions"`
}

var (
	admissionID   = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,128}$`)
	admissionHash = regexp.MustCompile(`^[0-9a-f]{64}$`)
	lj1Nonce      = regexp.MustCompile(`^[A-Za-z0-9_-]{16,64}$`)
)

// Validate checks the payload's fields.
func (p *A2AdmitBatch) Validate() error {
	if p.WindowMs < 1000 || p.WindowMs > 3_600_000 {
		return Invalid("window_ms", "must be 1 s to 1 h")
	}
	if len(p.Admissions) == 0 || len(p.Admissions) > MaxAdmissionBatch {
		return Invalid("admissions", fmt.Sprintf("must hold 1 to %d admissions", MaxAdmissionBatch))
	}
	for i, a := range p.Admissions {
		f := fmt.Sprintf("admissions[%d].", i)
		switch {
		case !admissionIDOK(a.AppID):
			return Invalid(f+"app_id", "must be an App_ID")
		case !nonceOK(a.Nonce):
			return Invalid(f+"nonce", "must be an LJ1 nonce")
		case !admissionIDOK(a.APIID):
			return Invalid(f+"api_id", "must be an API id")
		case !admissionIDOK(a.RequestID):
			return Invalid(f+"request_id", "must be a request id")
		case !hashOK(a.BodySM3):
			return Invalid(f+"body_sm3", "must be 64 lower-case hex digits")
		case a.TokenID != "" && !admissionIDOK(a.TokenID):
			return Invalid(f+"token_id", "must be a consent id")
		case !nodeIDPattern.MatchString(a.Node):
			return Invalid(f+"node", "must be a node id")
		}
	}
	return nil
}

// The checks of admissionID, lj1Nonce and admissionHash as loops: a batch
// is validated where it is proposed and again where it is applied, seven
// fields an admission (TestAdmissionCharChecks holds them to the patterns).
func admissionIDOK(s string) bool {
	return charsOK(s, 1, 128, func(c byte) bool { return alnum(c) || c == '_' || c == '.' || c == ':' || c == '-' })
}

func nonceOK(s string) bool {
	return charsOK(s, 16, 64, func(c byte) bool { return alnum(c) || c == '_' || c == '-' })
}

func hashOK(s string) bool {
	return charsOK(s, 64, 64, func(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' })
}

func alnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }

func charsOK(s string, lo, hi int, ok func(byte) bool) bool {
	if len(s) < lo || len(s) > hi {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

// A2AdmitResult is the result of CmdA2Admit: one outcome per admission, in
// order.
type A2AdmitResult struct {
	Outcomes []string `json:"outcomes"`
}

func init() {
	HandleUnrecorded(CmdA2Admit, 1, 0, applyA2Admit)
}

// admissionKey is an admission's (app, nonce).
type admissionKey struct{ app, nonce string }

// admissionChunk bounds the rows of one INSERT (9 parameters each) and
// admissionLookupChunk the pairs and apps of one lookup (2 and 1 parameters
// each), well under SQLite's bound on a statement's parameters.
const (
	admissionChunk       = 100
	admissionLookupChunk = 200
)

// admissionCount is an app's row of a2_admission_counts as an apply sees it.
type admissionCount struct {
	had  bool  // the app has a row
	was  int64 // its n before the apply
	n    int64 // its n as the apply goes
	seen bool  // the app is in the batch or was pruned: its row is read
}

// applyA2Admit decides a batch in its order, as if each admission were
// applied alone: an unexpired (app, nonce) is the same call again (its
// request id) or a replay; an expired one left in the table is replaced; an
// app at MaxAdmissionsPerApp is full. It reads and writes by sets, so that a
// batch costs four statements whatever its size (a few more past
// admissionLookupChunk or admissionChunk admissions, one more when the prune
// fell behind): the prune (one DELETE … RETURNING), the batch's rows and
// counts (one SELECT), its new rows (one multi-row INSERT) and its counts,
// the pruned apps' included (one multi-row UPSERT). Every node decides the
// same: maps only hold what was read; the statements and their rows follow
// the batch's order, then the pruned apps' sorted.
func applyA2Admit(tx *Tx, c *Command, p *A2AdmitBatch) (any, error) {
	now := c.At
	gone, err := pruneAdmissions(tx, now)
	if err != nil {
		return nil, err
	}
	type row struct {
		req string
		exp int64
	}
	var keys []admissionKey
	var apps []string
	seenKey := make(map[admissionKey]bool, len(p.Admissions))
	counts := make(map[string]*admissionCount, len(p.Admissions)+len(gone))
	for _, a := range p.Admissions {
		k := admissionKey{a.AppID, a.Nonce}
		if !seenKey[k] {
			seenKey[k] = true
			keys = append(keys, k)
		}
		if counts[a.AppID] == nil {
			counts[a.AppID] = &admissionCount{seen: true}
			apps = append(apps, a.AppID)
		}
	}
	if len(gone) > 0 {
		var pruned []string
		for app := range gone {
			if counts[app] == nil {
				counts[app] = &admissionCount{seen: true}
				pruned = append(pruned, app)
			}
		}
		sort.Strings(pruned) // the order of a map's keys is not the same on every node
		apps = append(apps, pruned...)
	}
	existing := make(map[admissionKey]row, len(keys))
	for i, j := 0, 0; i < len(keys) || j < len(apps); i, j = i+admissionLookupChunk, j+admissionLookupChunk {
		kpart := keys[min(i, len(keys)):min(i+admissionLookupChunk, len(keys))]
		apart := apps[min(j, len(apps)):min(j+admissionLookupChunk, len(apps))]
		// One statement reads the pairs' rows and the apps' counts; a count
		// comes back with an empty nonce (a nonce has 16 characters or more).
		var q strings.Builder
		args := make([]any, 0, 2*len(kpart)+len(apart))
		if len(kpart) > 0 {
			q.WriteString("SELECT app_id, nonce, request_id, expires_ms FROM a2_admissions WHERE (app_id, nonce) IN (VALUES ")
			q.WriteString(placeholders(len(kpart), 2))
			q.WriteString(")")
			for _, k := range kpart {
				args = append(args, k.app, k.nonce)
			}
		}
		if len(apart) > 0 {
			if len(kpart) > 0 {
				q.WriteString(" UNION ALL ")
			}
			q.WriteString("SELECT app_id, '', '', n FROM a2_admission_counts WHERE app_id IN (")
			q.WriteString(placeholders(len(apart), 1))
			q.WriteString(")")
			for _, a := range apart {
				args = append(args, a)
			}
		}
		rows, err := tx.Query(q.String(), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var k admissionKey
			var r row
			if err := rows.Scan(&k.app, &k.nonce, &r.req, &r.exp); err != nil {
				rows.Close()
				return nil, err
			}
			if k.nonce == "" {
				if ct := counts[k.app]; ct != nil {
					ct.had, ct.was, ct.n = true, r.exp, r.exp
				}
				continue
			}
			existing[k] = r
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	// The prune's decrements, as its UPDATE did them: n - gone, not below 0.
	for app, g := range gone {
		if ct := counts[app]; ct.had {
			ct.n = max(ct.n-g, 0)
		}
	}

	out := make([]string, len(p.Admissions))
	var deletes []admissionKey
	var inserts []A2Admission
	for i, a := range p.Admissions {
		k := admissionKey{a.AppID, a.Nonce}
		ct := counts[a.AppID]
		if r, ok := existing[k]; ok {
			if r.exp > now {
				if r.req == a.RequestID {
					out[i] = Admitted // the same call, proposed again
				} else {
					out[i] = Replayed
				}
				continue
			}
			// Expired but not yet pruned: it goes, whatever comes next.
			deletes = append(deletes, k)
			delete(existing, k)
			ct.n = max(ct.n-1, 0)
		}
		if ct.n >= MaxAdmissionsPerApp {
			out[i] = AppFull
			continue
		}
		inserts = append(inserts, a)
		existing[k] = row{req: a.RequestID, exp: now + p.WindowMs}
		ct.n++
		out[i] = Admitted
	}

	if err := deleteAdmissions(tx, deletes); err != nil {
		return nil, err
	}
	for i := 0; i < len(inserts); i += admissionChunk {
		part := inserts[i:min(i+admissionChunk, len(inserts))]
		args := make([]any, 0, 9*len(part))
		for _, a := range part {
			args = append(args, a.AppID, a.Nonce, a.RequestID, a.APIID, a.BodySM3, a.TokenID, a.Node, now, now+p.WindowMs)
		}
		if _, err := tx.Exec(`INSERT INTO a2_admissions (app_id, nonce, request_id, api_id, body_sm3, token_id, node, admitted_ms, expires_ms)
			VALUES `+placeholders(len(part), 9), args...); err != nil {
			return nil, err
		}
	}
	// The counts that changed: a row that had one gets its new n (0
	// included, as the prune's UPDATE left it); an app without one gets one
	// if it holds admissions now.
	var changed []any
	for _, app := range apps {
		ct := counts[app]
		if ct.had && ct.n != ct.was || !ct.had && ct.n != 0 {
			changed = append(changed, app, ct.n)
		}
	}
	for i := 0; i < len(changed); i += 2 * admissionLookupChunk {
		part := changed[i:min(i+2*admissionLookupChunk, len(changed))]
		if _, err := tx.Exec("INSERT INTO a2_admission_counts (app_id, n) VALUES "+placeholders(len(part)/2, 2)+
			" ON CONFLICT (app_id) DO UPDATE SET n = excluded.n", part...); err != nil {
			return nil, err
		}
	}
	return A2AdmitResult{Outcomes: out}, nil
}

// placeholders returns n groups of k "?" for a VALUES list or an IN list:
// "(?, ?), (?, ?)" (k > 1) or "?, ?" (k = 1).
func placeholders(n, k int) string {
	var b strings.Builder
	b.Grow(n * (3*k + 2))
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		if k == 1 {
			b.WriteByte('?')
			continue
		}
		b.WriteByte('(')
		for j := 0; j < k; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('?')
		}
		b.WriteByte(')')
	}
	return b.String()
}

// pruneAdmissions deletes up to admissionPruneBatch expired admissions,
// oldest first (ties in the order of the key, as the expiry index holds
// them), in one statement, and returns how many each app lost; the caller
// lowers the counts.
func pruneAdmissions(tx *Tx, now int64) (map[string]int64, error) {
	rows, err := tx.Query(`DELETE FROM a2_admissions WHERE (app_id, nonce) IN
		(SELECT app_id, nonce FROM a2_admissions WHERE expires_ms <= ? ORDER BY expires_ms, app_id, nonce LIMIT ?)
		RETURNING app_id`, now, admissionPruneBatch)
	if err != nil {
		return nil, err
	}
	var gone map[string]int64
	for rows.Next() {
		var app string
		if err := rows.Scan(&app); err != nil {
			rows.Close()
			return nil, err
		}
		if gone == nil {
			gone = map[string]int64{}
		}
		gone[app]++
	}
	rows.Close()
	return gone, rows.Err()
}

// deleteAdmissions deletes the rows of keys, in multi-row statements (the
// counts are the caller's).
func deleteAdmissions(tx *Tx, keys []admissionKey) error {
	for i := 0; i < len(keys); i += admissionLookupChunk {
		part := keys[i:min(i+admissionLookupChunk, len(keys))]
		args := make([]any, 0, 2*len(part))
		for _, k := range part {
			args = append(args, k.app, k.nonce)
		}
		if _, err := tx.Exec("DELETE FROM a2_admissions WHERE (app_id, nonce) IN (VALUES "+placeholders(len(part), 2)+")", args...); err != nil {
			return err
		}
	}
	return nil
}

// AdmissionOf returns the admission of request id, if the state holds it
// (within its window): for tests and the audit's questions.
func (s *Store) AdmissionOf(requestID string) (a A2Admission, ok bool, err error) {
	err = s.read(func(db *sql.DB) error {
		err := db.QueryRow("SELECT app_id, nonce, api_id, request_id, body_sm3, token_id, node FROM a2_admissions WHERE request_id = ?", requestID).
			Scan(&a.AppID, &a.Nonce, &a.APIID, &a.RequestID, &a.BodySM3, &a.TokenID, &a.Node)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		ok = err == nil
		return err
	})
	return a, ok, err
}
