package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"unicode/utf8"
)

// FormatVersion is the version of the canonical record encoding. The hash
// chain depends on it byte for byte: a change of the encoding is a new
// version, and a verifier reads every version it ever wrote
// (docs/audit.md; frozen by the golden files in testdata/).
const FormatVersion = 1

// Record kinds.
const (
	KindAccess = "access" // one applicant call, accepted or refused
	KindAdmin  = "admin"  // one applied change of replicated state
	KindSystem = "system" // a node's own event: start, stop, failures, logins
)

// Record is one entry of a node's audit chain. Which fields a record has
// depends on its Kind; empty fields are left out of the encoding. It never
// holds a secret, and personal identifiers only as keyed hashes (Customer).
type Record struct {
	// Seq is the record's place in its node's chain, from 1; the store
	// assigns it.
	Seq    uint64 `json:"seq"`
	Kind   string `json:"kind"`
	Node   string `json:"node"`
	TimeMs int64  `json:"time_ms"`

	// Access records.
	RequestID  string   `json:"request_id,omitempty"`
	AppID      string   `json:"app,omitempty"`
	Serial     string   `json:"serial,omitempty"` // the credential that signed the call
	Env        string   `json:"env,omitempty"`
	APIID      string   `json:"api,omitempty"`
	Level      string   `json:"level,omitempty"`
	Method     string   `json:"method,omitempty"`
	Scheme     string   `json:"scheme,omitempty"`
	ClientAddr string   `json:"client,omitempty"`
	Proto      string   `json:"proto,omitempty"`
	Status     int      `json:"status,omitempty"`
	Code       string   `json:"code,omitempty"`
	LatencyUS  int64    `json:"latency_us,omitempty"`
	Customer   string   `json:"customer,omitempty"` // HMAC-SM3 of the customer id with the audit key, hex
	Rules      []string `json:"rules,omitempty"`    // limit and risk rules that decided
	Admission  string   `json:"admission,omitempty"`
	// BodyKind says what Body holds: "masked" (the masked bodies, JSON) or
	// "sealed" (the clear bodies sealed with the audit key, base64), as the
	// API's retention says; empty when nothing is kept.
	BodyKind string `json:"body_kind,omitempty"`
	Body     string `json:"body,omitempty"`

	// Admin records: one applied change of replicated state.
	ChangeIndex uint64 `json:"change_index,omitempty"` // its Raft log index
	CommandID   string `json:"command_id,omitempty"`
	Action      string `json:"action,omitempty"` // the command type
	Actor       *Actor `json:"actor,omitempty"`
	Target      string `json:"target,omitempty"`
	Result      string `json:"result,omitempty"`  // "ok" or the refusal's code
	Digest      string `json:"digest,omitempty"`  // SM3 of the change as applied, hex
	Summary     string `json:"summary,omitempty"` // a short before/after summary, no secrets

	// System events.
	Event  string            `json:"event,omitempty"`
	Detail map[string]string `json:"detail,omitempty"`
}

// Actor is who made a change, and from where.
type Actor struct {
	Kind string `json:"kind"`
	ID   string `json:"id,omitempty"`
	Role string `json:"role,omitempty"`
	Addr string `json:"addr,omitempty"`
	Node string `json:"node,omitempty"`
}

// Limits of a record's fields, so that one record stays small and a hostile
// store cannot make the verifier allocate without bound.
const (
	MaxRecordSize = 1 << 20 // an encoded record, body included
	maxField      = 4096    // any other string field
	maxRules      = 64
	maxDetail     = 64
)

// What a record's Body holds (Record.BodyKind), as the API's retention says.
const (
	BodyMasked = "masked" // the masked bodies, JSON {"request":…,"response":…}
	BodySealed = "sealed" // the clear bodies, sealed with the audit key (Keys.SealBody)
)

// detailKey is the form of a system event's detail names (ASCII, so that
// their byte order is RFC 8785's order).
var detailKey = regexp.MustCompile(`^[a-z][a-z0-9_.]{0,63}$`)

// ErrBadRecord: a record is malformed or not in canonical form.
var ErrBadRecord = errors.New("bad audit record")

// check validates what Canonical would encode.
func (r *Record) check() error {
	switch r.Kind {
	case KindAccess, KindAdmin, KindSystem:
	default:
		return fmt.Errorf("%w: kind %q", ErrBadRecord, r.Kind)
	}
	if r.Seq == 0 || r.Node == "" || r.TimeMs <= 0 {
		return fmt.Errorf("%w: seq, node and time are required", ErrBadRecord)
	}
	strs := []string{r.Node, r.RequestID, r.AppID, r.Serial, r.Env, r.APIID, r.Level, r.Method, r.Scheme, r.ClientAddr,
		r.Proto, r.Code, r.Customer, r.Admission, r.BodyKind, r.CommandID, r.Action, r.Target, r.Result, r.Digest, r.Summary, r.Event}
	if r.Actor != nil {
		strs = append(strs, r.Actor.Kind, r.Actor.ID, r.Actor.Role, r.Actor.Addr, r.Actor.Node)
	}
	strs = append(strs, r.Rules...)
	for k, v := range r.Detail {
		strs = append(strs, k, v)
	}
	for _, s := range strs {
		if len(s) > maxField || !utf8.ValidString(s) {
			return fmt.Errorf("%w: a field is too long or not UTF-8", ErrBadRecord)
		}
	}
	if len(r.Rules) > maxRules || len(r.Detail) > maxDetail {
		return fmt.Errorf("%w: too many rules or details", ErrBadRecord)
	}
	for k := range r.Detail {
		if !detailKey.MatchString(k) {
			return fmt.Errorf("%w: detail name %q", ErrBadRecord, k)
		}
	}
	if len(r.Body) > MaxRecordSize/2 || !utf8.ValidString(r.Body) {
		return fmt.Errorf("%w: body too large or not UTF-8", ErrBadRecord)
	}
	if r.Status < 0 || r.LatencyUS < 0 {
		return fmt.Errorf("%w: negative number", ErrBadRecord)
	}
	if r.Actor != nil && r.Actor.Kind == "" {
		return fmt.Errorf("%w: an actor needs a kind", ErrBadRecord)
	}
	return nil
}

// Canonical returns the record's canonical encoding: the JSON Canonicalization
// Scheme (RFC 8785) of the record as an object, with "v" = FormatVersion,
// empty fields left out. Only strings, integers and nested objects or arrays
// of strings occur, so the scheme reduces to: members sorted by name (all
// names are ASCII), no white space, integers in decimal, strings escaped
// with \" \\ \b \f \n \r \t and \u00XX for other control characters, every
// other character as UTF-8.
func (r *Record) Canonical() ([]byte, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	// Members are written in sorted order by hand (the names are fixed);
	// TestCanonicalGolden and TestCanonicalSorted hold the order.
	w := writer{b: make([]byte, 0, 256+len(r.Body))}
	w.b = append(w.b, '{')
	w.str("action", r.Action)
	if a := r.Actor; a != nil {
		w.name("actor")
		aw := writer{b: append(w.b, '{')}
		aw.str("addr", a.Addr)
		aw.str("id", a.ID)
		aw.str("kind", a.Kind)
		aw.str("node", a.Node)
		aw.str("role", a.Role)
		w.b = append(aw.b, '}')
	}
	w.str("admission", r.Admission)
	w.str("api", r.APIID)
	w.str("app", r.AppID)
	w.str("body", r.Body)
	w.str("body_kind", r.BodyKind)
	w.int("change_index", int64(r.ChangeIndex))
	w.str("client", r.ClientAddr)
	w.str("code", r.Code)
	w.str("command_id", r.CommandID)
	w.str("customer", r.Customer)
	if len(r.Detail) > 0 {
		keys := make([]string, 0, len(r.Detail))
		for k := range r.Detail {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		w.name("detail")
		dw := writer{b: append(w.b, '{')}
		for _, k := range keys {
			dw.name(k)
			dw.b = appendQuote(dw.b, r.Detail[k])
		}
		w.b = append(dw.b, '}')
	}
	w.str("digest", r.Digest)
	w.str("env", r.Env)
	w.str("event", r.Event)
	w.str("kind", r.Kind)
	w.int("latency_us", r.LatencyUS)
	w.str("level", r.Level)
	w.str("method", r.Method)
	w.str("node", r.Node)
	w.str("proto", r.Proto)
	w.str("request_id", r.RequestID)
	w.str("result", r.Result)
	if len(r.Rules) > 0 {
		w.name("rules")
		w.b = append(w.b, '[')
		for i, rule := range r.Rules {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.b = appendQuote(w.b, rule)
		}
		w.b = append(w.b, ']')
	}
	w.str("scheme", r.Scheme)
	w.int("seq", int64(r.Seq))
	w.str("serial", r.Serial)
	w.int("status", int64(r.Status))
	w.str("summary", r.Summary)
	w.str("target", r.Target)
	w.int("time_ms", r.TimeMs)
	w.int("v", FormatVersion)
	return append(w.b, '}'), nil
}

// writer appends an object's members: a comma before all but the first.
type writer struct {
	b []byte
	n int
}

func (w *writer) name(n string) {
	if w.n > 0 {
		w.b = append(w.b, ',')
	}
	w.n++
	w.b = appendQuote(w.b, n)
	w.b = append(w.b, ':')
}

// str writes a string member unless it is empty.
func (w *writer) str(n, v string) {
	if v != "" {
		w.name(n)
		w.b = appendQuote(w.b, v)
	}
}

// int writes an integer member unless it is zero.
func (w *writer) int(n string, v int64) {
	if v != 0 {
		w.name(n)
		w.b = strconv.AppendInt(w.b, v, 10)
	}
}

// ParseCanonical decodes a record's canonical encoding and checks that it is
// canonical: decoding and encoding again gives the same bytes. It never
// panics, whatever the input.
func ParseCanonical(b []byte) (*Record, error) {
	if len(b) > MaxRecordSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrBadRecord, len(b))
	}
	var wire struct {
		V int `json:"v"`
		Record
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&wire); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadRecord, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data", ErrBadRecord)
	}
	if wire.V != FormatVersion {
		return nil, fmt.Errorf("%w: format version %d (this binary reads %d)", ErrBadRecord, wire.V, FormatVersion)
	}
	r := wire.Record
	again, err := r.Canonical()
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(again, b) {
		return nil, fmt.Errorf("%w: not in canonical form", ErrBadRecord)
	}
	return &r, nil
}

// appendQuote appends s as an RFC 8785 string (s is valid UTF-8: check
// ensures it).
func appendQuote(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
