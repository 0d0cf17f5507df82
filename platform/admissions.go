package platform

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"
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

// NewA2AdmitCommand builds the CmdA2Admit command of p as NewCommand does,
// but checks p by its Validate instead of decoding its JSON again (a quarter
// of the proposer's CPU a batch): every string Validate accepts is ASCII of
// a restricted set, so p's JSON decodes to p exactly, and the payload is the
// one NewCommand would check (TestNewA2AdmitCommand). The apply decodes and
// checks it strictly, as every command's.
func NewA2AdmitCommand(actor Actor, now time.Time, p *A2AdmitBatch) (*Command, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %s payload: %w", ErrBadCommand, CmdA2Admit, err)
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("command %s payload: %w", CmdA2Admit, err)
	}
	c := &Command{V: EnvelopeVersion, Type: CmdA2Admit, TypeVersion: 1, ID: NewCommandID(), At: now.UnixMilli(), Actor: actor, Payload: raw}
	if _, err := c.checkEnvelope(); err != nil {
		return nil, err
	}
	return c, nil
}

// Validate checks the payload's fields.
func (p *A2AdmitBatch) Validate() error {
	if p.WindowMs < 1000 || p.WindowMs > 3_600_000 {
		return Invalid("window_ms", "must be 1 s to 1 h")
	}
	if len(p.Admissions) == 0 || len(p.Admissions) > MaxAdmissionBatch {
		return Invalid("admissions", fmt.Sprintf("must hold 1 to %d admissions", MaxAdmissionBatch))
	}
	for i, a := range p.Admissions {
		f := func() string { return fmt.Sprintf("admissions[%d].", i) } // only for a refusal
		switch {
		case !admissionIDOK(a.AppID):
			return Invalid(f()+"app_id", "must be an App_ID")
		case !nonceOK(a.Nonce):
			return Invalid(f()+"nonce", "must be an LJ1 nonce")
		case !admissionIDOK(a.APIID):
			return Invalid(f()+"api_id", "must be an API id")
		case !admissionIDOK(a.RequestID):
			return Invalid(f()+"request_id", "must be a request id")
		case !hashOK(a.BodySM3):
			return Invalid(f()+"body_sm3", "must be 64 lower-case hex digits")
		case a.TokenID != "" && !admissionIDOK(a.TokenID):
			return Invalid(f()+"token_id", "must be a consent id")
		case !nodeIDPattern.MatchString(a.Node):
			return Invalid(f()+"node", "must be a node id")
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

// appendJSON appends r as encoding/json writes it: the apply's result of
// every A2 batch, without reflection. The outcomes are this file's
// constants, which need no escaping; anything else is written by
// encoding/json.
func (r A2AdmitResult) appendJSON(b []byte) []byte {
	if r.Outcomes == nil {
		return append(b, `{"outcomes":null}`...)
	}
	b = append(b, `{"outcomes":[`...)
	for i, o := range r.Outcomes {
		if i > 0 {
			b = append(b, ',')
		}
		switch o {
		case Admitted, Replayed, AppFull:
			b = append(append(append(b, '"'), o...), '"')
		default:
			q, _ := json.Marshal(o)
			b = append(b, q...)
		}
	}
	return append(b, "]}"...)
}

func init() {
	HandleUnrecorded(CmdA2Admit, 1, 0, applyA2Admit)
}

// admissionKey is an admission's (app, nonce).
type admissionKey struct{ app, nonce string }

// admKey identifies an (app, nonce) in the in-memory index: the first 128
// bits of SM3(app, 0, nonce). A collision would take about 2^64 work, and
// every node computes the same key.
type admKey [16]byte

func admKeyOf(app, nonce string) admKey {
	var buf [200]byte // an app id has at most 128 bytes, a nonce 64
	b := append(append(append(buf[:0], app...), 0), nonce...)
	sum := sm3.Sum(b)
	return admKey(sum[:16])
}

// reqHash is a request id's FNV-1a hash: the index tells the same call
// proposed again (same request id) from a replay (another one). Request ids
// are the gateway's, not the caller's, so a chance equality is all a
// collision could be.
func reqHash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// admLive is an admission the index holds: its row of a2_admission_log
// (seq), when it expires and its request.
type admLive struct {
	seq, exp int64
	req      uint64
}

// admissionIndex is the state machine's index of a2_admission_log: the
// (app, nonce) pairs it holds, and how many each app holds. It holds the
// table's rows once the table has been written (admissions_behind.go): it
// is loaded from the table when the store opens or restores a snapshot, and
// an apply changes it, and owes the table its writes, only once it has
// decided the whole batch. Only the apply goroutine uses it.
type admissionIndex struct {
	live   map[admKey]admLive
	counts map[string]int64
	seq    int64 // the largest seq used (sqlite_sequence)
	// head is the oldest row held (smallest seq; 0, 0 when none): the
	// prune reads the rows only once it has expired.
	headSeq, headExp int64
	// recent are the rows admitted above the table's known end (the
	// write-behind's tableSeq), in seq order: with the table's rows up to
	// there, every row held. Rows no longer held may be among both.
	recent []admRow
	// peak is the most pairs live has held since it was made: a Go map
	// keeps the room of its largest size, so once a prune has left a
	// quarter of that, live is copied into a map of its present size
	// (compact). A node started on a table of a past burst (loaded whole,
	// then pruned by the first batch) would otherwise hold that room for
	// as long as it runs.
	peak int
}

// compactFloor is the size below which live is never copied smaller: a
// small map's room does not matter. (A variable: the model tests lower it,
// so that their batches compact the index as they go.)
var compactFloor = 4096

// compact copies live into a map of its present size when it has shrunk
// to under a quarter of its peak. Only the map's room changes: what it
// holds, and so every decision, is the same.
func (ix *admissionIndex) compact() {
	n := len(ix.live)
	if n > ix.peak {
		ix.peak = n
	}
	if ix.peak < compactFloor || n*4 >= ix.peak {
		return
	}
	m := make(map[admKey]admLive, n)
	for k, v := range ix.live {
		m[k] = v
	}
	ix.live, ix.peak = m, n
}

// admRow is a row of a2_admission_log as the prune reads it.
type admRow struct {
	seq, exp   int64
	app, nonce string
}

// rowsAfter calls fn with the rows of seq above from, in seq order, until fn
// returns false: the table's up to tableSeq (read through tx, in chunks),
// then the recent rows above it. Rows the index no longer holds (deleted in
// memory, their delete not yet written) come too: fn checks.
func (ix *admissionIndex) rowsAfter(tx *Tx, from, tableSeq int64, fn func(admRow) bool) error {
	const chunk = 256
	for from < tableSeq {
		rows, err := tx.queryPrepared("SELECT seq, app_id, nonce, expires_ms FROM a2_admission_log WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?", from, tableSeq, chunk)
		if err != nil {
			return err
		}
		n := 0
		for rows.Next() {
			var r admRow
			if err := rows.Scan(&r.seq, &r.app, &r.nonce, &r.exp); err != nil {
				rows.Close()
				return err
			}
			n++
			from = r.seq
			if !fn(r) {
				rows.Close()
				return rows.Err()
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if n < chunk {
			break
		}
	}
	for _, r := range ix.recent {
		if r.seq > from && !fn(r) {
			return nil
		}
	}
	return nil
}

// trimRecent drops the recent rows the table holds (seq <= tableSeq).
func (ix *admissionIndex) trimRecent(tableSeq int64) {
	i := 0
	for i < len(ix.recent) && ix.recent[i].seq <= tableSeq {
		i++
	}
	if i > 0 {
		ix.recent = append(ix.recent[:0], ix.recent[i:]...)
	}
}

// loadAdmissionIndex reads the index from the table.
func loadAdmissionIndex(db *sql.DB) (*admissionIndex, error) {
	var n int
	ix := &admissionIndex{counts: map[string]int64{}}
	if err := db.QueryRow("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'a2_admission_log'), 0), (SELECT count(*) FROM a2_admission_log)").Scan(&ix.seq, &n); err != nil {
		return nil, fmt.Errorf("admissions: %w", err)
	}
	ix.live = make(map[admKey]admLive, n)
	// Each row is read as one text, its fields joined by spaces (none of
	// them holds one: Validate): in modernc.org/sqlite every column read
	// is three calls into SQLite through the connection's mutex, and a
	// text column a string of its own.
	rows, err := db.Query("SELECT seq || ' ' || expires_ms || ' ' || app_id || ' ' || nonce || ' ' || request_id FROM a2_admission_log ORDER BY seq")
	if err != nil {
		return nil, fmt.Errorf("admissions: %w", err)
	}
	defer rows.Close()
	apps := map[string]string{} // the app ids, each held once
	for rows.Next() {
		var packed string
		if err := rows.Scan(&packed); err != nil {
			return nil, fmt.Errorf("admissions: %w", err)
		}
		l, app, nonce, ok := splitAdmissionRow(packed)
		if !ok {
			return nil, fmt.Errorf("admissions: %w: a row of a2_admission_log does not read as one (%.40q)", ErrCorrupt, packed)
		}
		held := len(ix.live)
		ix.live[admKeyOf(app, nonce)] = l
		if len(ix.live) == held {
			return nil, fmt.Errorf("admissions: (app, nonce) of row %d held twice", l.seq)
		}
		// A map's key is its last assignment's string: the app id is
		// copied out of the row's text once, or the map would hold every
		// row's text.
		key, ok := apps[app]
		if !ok {
			key = strings.Clone(app)
			apps[key] = key
		}
		ix.counts[key]++
		if ix.headSeq == 0 {
			ix.headSeq, ix.headExp = l.seq, l.exp
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("admissions: %w", err)
	}
	ix.peak = len(ix.live)
	return ix, nil
}

// splitAdmissionRow reads a row as loadAdmissionIndex selects it: "seq
// expires_ms app_id nonce request_id".
func splitAdmissionRow(packed string) (l admLive, app, nonce string, ok bool) {
	seq, rest, ok1 := strings.Cut(packed, " ")
	exp, rest, ok2 := strings.Cut(rest, " ")
	app, rest, ok3 := strings.Cut(rest, " ")
	nonce, req, ok4 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || !ok3 || !ok4 || app == "" || nonce == "" || req == "" || strings.Contains(req, " ") {
		return admLive{}, "", "", false
	}
	var err1, err2 error
	l.seq, err1 = strconv.ParseInt(seq, 10, 64)
	l.exp, err2 = strconv.ParseInt(exp, 10, 64)
	if err1 != nil || err2 != nil || l.seq <= 0 {
		return admLive{}, "", "", false
	}
	l.req = reqHash(req)
	return l, app, nonce, true
}

// admOverlay is one apply's changes to the index, taken by commit once the
// apply's statements succeeded.
type admOverlay struct {
	ix               *admissionIndex
	live             map[admKey]admOverlayEntry
	counts           map[string]int64
	headSeq, headExp int64
}

type admOverlayEntry struct {
	admLive
	gone bool
}

func (o *admOverlay) get(k admKey) (admLive, bool) {
	if e, ok := o.live[k]; ok {
		return e.admLive, !e.gone
	}
	l, ok := o.ix.live[k]
	return l, ok
}

func (o *admOverlay) count(app string) int64 {
	if n, ok := o.counts[app]; ok {
		return n
	}
	return o.ix.counts[app]
}

func (o *admOverlay) remove(k admKey, app string) {
	o.live[k] = admOverlayEntry{gone: true}
	o.counts[app] = max(o.count(app)-1, 0)
}

func (o *admOverlay) put(k admKey, app string, l admLive) {
	o.live[k] = admOverlayEntry{admLive: l}
	o.counts[app] = o.count(app) + 1
}

func (o *admOverlay) commit(seq int64) {
	for k, e := range o.live {
		if e.gone {
			delete(o.ix.live, k)
		} else {
			o.ix.live[k] = e.admLive
		}
	}
	for app, n := range o.counts {
		if n == 0 {
			delete(o.ix.counts, app)
		} else {
			o.ix.counts[app] = n
		}
	}
	o.ix.seq = seq
	o.ix.headSeq, o.ix.headExp = o.headSeq, o.headExp
	o.ix.compact()
}

// admissionChunk bounds the seqs of one DELETE of expired rows met again,
// well under SQLite's bound on a statement's parameters.
const admissionChunk = 100

// applyA2Admit decides a batch in its order, as if each admission were
// applied alone: an unexpired (app, nonce) is the same call again (its
// request id) or a replay; an expired one is deleted and admitted anew; an
// app at MaxAdmissionsPerApp is full. The decisions read the in-memory
// index (and the prune the rows in seq order: the table's, then the recent
// ones); the table's writes are owed (tx.admOps: the rows, appended in seq
// order, the prune's delete of the oldest rows, and the expired rows met
// again, rare) and written behind (admissions_behind.go). Every node decides
// the same: the index is the rows, and the decisions follow the batch's
// order.
func applyA2Admit(tx *Tx, c *Command, p *A2AdmitBatch) (any, error) {
	if tx.adm == nil || tx.admOps == nil {
		return nil, errors.New("a2.admit: the store has no admission index")
	}
	now := c.At
	tx.adm.trimRecent(tx.tableSeq)
	o := &admOverlay{ix: tx.adm, live: make(map[admKey]admOverlayEntry, len(p.Admissions)), counts: map[string]int64{}, headSeq: tx.adm.headSeq, headExp: tx.adm.headExp}
	var ops admOps
	var rows []any
	if err := pruneAdmissions(tx, o, now, &ops); err != nil {
		return nil, err
	}
	out := make([]string, len(p.Admissions))
	seq := o.ix.seq
	var added []admRow
	headGone := false
	for i, a := range p.Admissions {
		k := admKeyOf(a.AppID, a.Nonce)
		if l, ok := o.get(k); ok {
			if l.exp > now {
				if l.req == reqHash(a.RequestID) {
					out[i] = Admitted // the same call, proposed again
				} else {
					out[i] = Replayed
				}
				continue
			}
			// Expired but not yet pruned: it goes, whatever comes next.
			ops.stale = append(ops.stale, l.seq)
			headGone = headGone || l.seq == o.headSeq
			o.remove(k, a.AppID)
		}
		if o.count(a.AppID) >= MaxAdmissionsPerApp {
			out[i] = AppFull
			continue
		}
		seq++
		o.put(k, a.AppID, admLive{seq: seq, exp: now + p.WindowMs, req: reqHash(a.RequestID)})
		rows = append(rows, seq, a.AppID, a.Nonce, a.RequestID, a.APIID, a.BodySM3, a.TokenID, a.Node, now, now+p.WindowMs)
		added = append(added, admRow{seq: seq, exp: now + p.WindowMs, app: a.AppID, nonce: a.Nonce})
		out[i] = Admitted
	}
	if headGone {
		// The oldest row held was an expired one met again: the next row
		// still held before this batch's is the head.
		from := o.headSeq
		o.headSeq, o.headExp = 0, 0
		if err := o.ix.rowsAfter(tx, from, tx.tableSeq, func(r admRow) bool {
			if l, ok := o.get(admKeyOf(r.app, r.nonce)); ok && l.seq == r.seq {
				o.headSeq, o.headExp = r.seq, r.exp
				return false
			}
			return true
		}); err != nil {
			return nil, err
		}
	}
	if o.headSeq == 0 && len(added) > 0 {
		o.headSeq, o.headExp = added[0].seq, added[0].exp
	}
	if len(added) > 0 {
		ops.addRows(rows)
		ops.maxSeq = seq
	}
	o.commit(seq)
	o.ix.recent = append(o.ix.recent, added...)
	tx.admOps.merge(&ops)
	return A2AdmitResult{Outcomes: out}, nil
}

// admissionInsertRows is the most rows of one INSERT of admissions (a power
// of two), and admissionColumns the parameters of a row.
const (
	admissionInsertRows = 64
	admissionColumns    = 10
)

// admissionInserts are the INSERTs of 1, 2, 4, …, admissionInsertRows rows,
// by their rows.
var admissionInserts = func() map[int]string {
	out := map[int]string{}
	for n := 1; n <= admissionInsertRows; n *= 2 {
		out[n] = `INSERT INTO a2_admission_log (seq, app_id, nonce, request_id, api_id, body_sm3, token_id, node, admitted_ms, expires_ms)
			VALUES ` + placeholders(n, admissionColumns)
	}
	return out
}()

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

// pruneAdmissions takes the oldest rows held, in seq order, up to the first
// unexpired one and at most admissionPruneBatch of them, out of the overlay,
// and owes their delete (one statement: every row up to the last one taken);
// it reads the rows only when the oldest one has expired. With one window
// the rows expire in about the order they were admitted (a proposer's clock
// sets a batch's time); a row of a longer window holds back the rows after
// it until it expires, and an expired row met again is deleted then
// (applyA2Admit).
func pruneAdmissions(tx *Tx, o *admOverlay, now int64, ops *admOps) error {
	if o.headSeq == 0 || o.headExp > now {
		return nil
	}
	var last int64
	n := 0
	from := o.headSeq - 1
	o.headSeq, o.headExp = 0, 0
	err := o.ix.rowsAfter(tx, from, tx.tableSeq, func(r admRow) bool {
		k := admKeyOf(r.app, r.nonce)
		if l, ok := o.get(k); !ok || l.seq != r.seq {
			return true // deleted already: its delete is owed
		}
		if r.exp > now || n == admissionPruneBatch {
			// The first row kept is the new head.
			o.headSeq, o.headExp = r.seq, r.exp
			return false
		}
		n++
		last = r.seq
		o.remove(k, r.app)
		return true
	})
	if err != nil {
		return err
	}
	ops.delUpTo = max(ops.delUpTo, last)
	return nil
}

// AdmissionOf returns the admission of request id, if the state holds it
// (within its window): for tests and the audit's questions. It reads the
// whole table (no index by request id: an admission would pay for it).
func (s *Store) AdmissionOf(requestID string) (a A2Admission, ok bool, err error) {
	if err := s.flushAdmissions(); err != nil {
		return a, false, err
	}
	err = s.read(func(db *sql.DB) error {
		err := db.QueryRow("SELECT app_id, nonce, api_id, request_id, body_sm3, token_id, node FROM a2_admission_log WHERE request_id = ?", requestID).
			Scan(&a.AppID, &a.Nonce, &a.APIID, &a.RequestID, &a.BodySM3, &a.TokenID, &a.Node)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		ok = err == nil
		return err
	})
	return a, ok, err
}
