package platform

import (
	"database/sql"
	"errors"
	"fmt"
	"regexp"
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
const admissionPruneBatch = 2048

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
		case !admissionID.MatchString(a.AppID):
			return Invalid(f+"app_id", "must be an App_ID")
		case !lj1Nonce.MatchString(a.Nonce):
			return Invalid(f+"nonce", "must be an LJ1 nonce")
		case !admissionID.MatchString(a.APIID):
			return Invalid(f+"api_id", "must be an API id")
		case !admissionID.MatchString(a.RequestID):
			return Invalid(f+"request_id", "must be a request id")
		case !admissionHash.MatchString(a.BodySM3):
			return Invalid(f+"body_sm3", "must be 64 lower-case hex digits")
		case a.TokenID != "" && !admissionID.MatchString(a.TokenID):
			return Invalid(f+"token_id", "must be a consent id")
		case !nodeIDPattern.MatchString(a.Node):
			return Invalid(f+"node", "must be a node id")
		}
	}
	return nil
}

// A2AdmitResult is the result of CmdA2Admit: one outcome per admission, in
// order.
type A2AdmitResult struct {
	Outcomes []string `json:"outcomes"`
}

func init() {
	HandleUnrecorded(CmdA2Admit, 1, 0, func(tx *Tx, c *Command, p *A2AdmitBatch) (any, error) {
		now := c.At
		if err := pruneAdmissions(tx, now); err != nil {
			return nil, err
		}
		out := make([]string, len(p.Admissions))
		for i, a := range p.Admissions {
			var req string
			var exp int64
			switch err := tx.QueryRow("SELECT request_id, expires_ms FROM a2_admissions WHERE app_id = ? AND nonce = ?", a.AppID, a.Nonce).Scan(&req, &exp); {
			case err == nil && exp > now:
				if req == a.RequestID {
					out[i] = Admitted // the same call, proposed again
				} else {
					out[i] = Replayed
				}
				continue
			case err == nil:
				// Expired and not yet pruned: the window is over.
				if err := deleteAdmission(tx, a.AppID, a.Nonce); err != nil {
					return nil, err
				}
			case !errors.Is(err, sql.ErrNoRows):
				return nil, err
			}
			var n int64
			if err := tx.QueryRow("SELECT n FROM a2_admission_counts WHERE app_id = ?", a.AppID).Scan(&n); err != nil && !errors.Is(err, sql.ErrNoRows) {
				return nil, err
			}
			if n >= MaxAdmissionsPerApp {
				out[i] = AppFull
				continue
			}
			if _, err := tx.Exec(`INSERT INTO a2_admissions (app_id, nonce, request_id, api_id, body_sm3, token_id, node, admitted_ms, expires_ms)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, a.AppID, a.Nonce, a.RequestID, a.APIID, a.BodySM3, a.TokenID, a.Node, now, now+p.WindowMs); err != nil {
				return nil, err
			}
			if _, err := tx.Exec("INSERT INTO a2_admission_counts (app_id, n) VALUES (?, 1) ON CONFLICT (app_id) DO UPDATE SET n = n + 1", a.AppID); err != nil {
				return nil, err
			}
			out[i] = Admitted
		}
		return A2AdmitResult{Outcomes: out}, nil
	})
}

// pruneAdmissions deletes up to admissionPruneBatch admissions expired at
// now (the command's time: every node prunes the same rows).
func pruneAdmissions(tx *Tx, now int64) error {
	rows, err := tx.Query("SELECT app_id, nonce FROM a2_admissions WHERE expires_ms <= ? ORDER BY expires_ms LIMIT ?", now, admissionPruneBatch)
	if err != nil {
		return err
	}
	type key struct{ app, nonce string }
	var keys []key
	for rows.Next() {
		var k key
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
	for _, k := range keys {
		if err := deleteAdmission(tx, k.app, k.nonce); err != nil {
			return err
		}
	}
	return nil
}

func deleteAdmission(tx *Tx, app, nonce string) error {
	if _, err := tx.Exec("DELETE FROM a2_admissions WHERE app_id = ? AND nonce = ?", app, nonce); err != nil {
		return err
	}
	_, err := tx.Exec("UPDATE a2_admission_counts SET n = n - 1 WHERE app_id = ? AND n > 0", app)
	return err
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
