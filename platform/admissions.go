package platform

import (
	"database/sql"
	"errors"
	"fmt"
	"regexp"
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

// A2AdmitResult is the result of CmdA2Admit: one outcome per admission, in
// order.
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

type A2AdmitResult struct {
	Outcomes []string `json:"outcomes"`
}

func init() {
	HandleUnrecorded(CmdA2Admit, 1, 0, applyA2Admit)
}

// admissionKey is an admission's (app, nonce).
type admissionKey struct{ app, nonce string }

// admissionChunk bounds the rows of one statement (9 parameters each).
const admissionChunk = 100

// applyA2Admit decides a batch in its order, as if each admission were
// applied alone: an unexpired (app, nonce) is the same call again (its
// request id) or a replay; an expired one left in the table is replaced; an
// app at MaxAdmissionsPerApp is full. It reads and writes by sets — the
// batch's rows and counts in a few statements, its inserts and deletes in
// multi-row statements — so that a batch costs a handful of statements, not
// six per admission. Every node decides the same: the order of the
// statements and of their rows follows the batch's.
func applyA2Admit(tx *Tx, c *Command, p *A2AdmitBatch) (any, error) {
	now := c.At
	if err := pruneAdmissions(tx, now); err != nil {
		return nil, err
	}
	type row struct {
		req string
		exp int64
	}
	var keys []admissionKey
	var apps []string
	seenKey := map[admissionKey]bool{}
	counts := map[string]int64{}
	for _, a := range p.Admissions {
		k := admissionKey{a.AppID, a.Nonce}
		if !seenKey[k] {
			seenKey[k] = true
			keys = append(keys, k)
		}
		if _, ok := counts[a.AppID]; !ok {
			counts[a.AppID] = 0
			apps = append(apps, a.AppID)
		}
	}
	existing := map[admissionKey]row{}
	for i := 0; i < len(keys); i += admissionChunk {
		part := keys[i:min(i+admissionChunk, len(keys))]
		args := make([]any, 0, 2*len(part))
		for _, k := range part {
			args = append(args, k.app, k.nonce)
		}
		rows, err := tx.Query("SELECT app_id, nonce, request_id, expires_ms FROM a2_admissions WHERE (app_id, nonce) IN (VALUES "+placeholders(len(part), 2)+")", args...)
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
			existing[k] = r
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	start := map[string]int64{}
	for i := 0; i < len(apps); i += admissionChunk {
		part := apps[i:min(i+admissionChunk, len(apps))]
		args := make([]any, len(part))
		for j, a := range part {
			args[j] = a
		}
		rows, err := tx.Query("SELECT app_id, n FROM a2_admission_counts WHERE app_id IN ("+placeholders(len(part), 1)+")", args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var app string
			var n int64
			if err := rows.Scan(&app, &n); err != nil {
				rows.Close()
				return nil, err
			}
			counts[app], start[app] = n, n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}

	out := make([]string, len(p.Admissions))
	var deletes []admissionKey
	var inserts []A2Admission
	for i, a := range p.Admissions {
		k := admissionKey{a.AppID, a.Nonce}
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
			counts[a.AppID] = max(counts[a.AppID]-1, 0)
		}
		if counts[a.AppID] >= MaxAdmissionsPerApp {
			out[i] = AppFull
			continue
		}
		inserts = append(inserts, a)
		existing[k] = row{req: a.RequestID, exp: now + p.WindowMs}
		counts[a.AppID]++
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
	for _, app := range apps {
		n, was := counts[app], start[app]
		if _, had := start[app]; had && n == was || !had && n == 0 {
			continue
		}
		if _, err := tx.Exec("INSERT INTO a2_admission_counts (app_id, n) VALUES (?, ?) ON CONFLICT (app_id) DO UPDATE SET n = excluded.n", app, n); err != nil {
			return nil, err
		}
	}
	return A2AdmitResult{Outcomes: out}, nil
}

// placeholders returns n groups of k "?" for a VALUES list or an IN list:
// "(?, ?), (?, ?)" (k > 1) or "?, ?" (k = 1).
func placeholders(n, k int) string {
	var b strings.Builder
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
// oldest first, and lowers their apps' counts.
func pruneAdmissions(tx *Tx, now int64) error {
	rows, err := tx.Query("SELECT app_id, nonce FROM a2_admissions WHERE expires_ms <= ? ORDER BY expires_ms LIMIT ?", now, admissionPruneBatch)
	if err != nil {
		return err
	}
	var keys []admissionKey
	for rows.Next() {
		var k admissionKey
		if err := rows.Scan(&k.app, &k.nonce); err != nil {
			rows.Close()
			return err
		}
		keys = append(keys, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if err := deleteAdmissions(tx, keys); err != nil {
		return err
	}
	var apps []string
	gone := map[string]int64{}
	for _, k := range keys {
		if gone[k.app] == 0 {
			apps = append(apps, k.app)
		}
		gone[k.app]++
	}
	for _, app := range apps {
		if _, err := tx.Exec("UPDATE a2_admission_counts SET n = max(n - ?, 0) WHERE app_id = ?", gone[app], app); err != nil {
			return err
		}
	}
	return nil
}

// deleteAdmissions deletes the rows of keys, in multi-row statements (the
// counts are the caller's).
func deleteAdmissions(tx *Tx, keys []admissionKey) error {
	for i := 0; i < len(keys); i += admissionChunk {
		part := keys[i:min(i+admissionChunk, len(keys))]
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
