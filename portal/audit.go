package portal

import (
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"lijiang/audit"
	"lijiang/platform"
)

// AuditTrail is this node's audit chain as the admin API reads it; main
// implements it over the node's audit.Store (auditapi.go). Only this node's
// chain is reachable: each node keeps its own.
type AuditTrail interface {
	// Node is the id of the node whose chain this is.
	Node() string
	// Event appends a system event naming actor (nil for none) to the
	// chain; durable waits until it is on disk, otherwise it is durable
	// within the store's window.
	Event(ctx context.Context, durable bool, name string, actor *audit.Actor, detail map[string]string) error
	// HashID returns the keyed hash (HMAC-SM3 with the audit key, hex) of
	// an identifier, as records hold customer ids.
	HashID(v string) (string, error)
	// Query reads the records matching f in sequence order; fn false stops.
	Query(ctx context.Context, f audit.Filter, fn func(*audit.Record) bool) error
	// Verify verifies the chain (its time range when fromMs or toMs is not
	// zero) against the node's checkpoints in the replicated state.
	Verify(ctx context.Context, fromMs, toMs int64) (*audit.Report, error)
	// OpenBody opens a record's sealed body.
	OpenBody(r *audit.Record) ([]byte, error)
}

// Codes of the audit trail's errors.
const (
	CodeAuditUnavailable = "AUDIT_UNAVAILABLE"
	CodeNotSealed        = "NOT_SEALED"
	CodeAuditDamaged     = "AUDIT_DAMAGED"
)

var (
	errAuditUnavailable = &Error{Status: http.StatusServiceUnavailable, Code: CodeAuditUnavailable,
		Message: "this node's audit trail is not available now (nothing was read); retry shortly or ask an operator"}
	errAuditDamaged = &Error{Status: http.StatusInternalServerError, Code: CodeAuditDamaged,
		Message: "a record of this node's audit store does not read back as chained; run POST /audit/verify or lijiang audit verify"}
	errVerifyRunning = &Error{Status: http.StatusConflict, Code: CodeConflict, Message: "a verify of this node's chain is running; ask again when it has finished"}
)

// Names of the system events the admin API records.
const (
	EventAuditQuery      = "audit.query"            // an auditor listed records
	EventAuditExport     = "audit.export"           // an auditor started an export
	EventAuditExported   = "audit.exported"         // ... and how many records it carried
	EventAuditVerify     = "audit.verify"           // a verify was asked for
	EventAuditVerified   = "audit.verified"         // ... and its verdict
	EventAuditBodyOpened = "audit.body_opened"      // an auditor opened a sealed body, with the reason
	EventAuditOpenFailed = "audit.body_open_failed" // ... or tried to, and it did not open
	EventLoginFailed     = "auth.login_failed"      // a failed login no command records
	EventLoginRefused    = "auth.login_refused"     // a login refused before any password check (locked account)
	EventAccountLocked   = "auth.account_locked"    // repeated failures locked an account
)

// auditRecordsMaxFilter is the longest value of a filter.
const auditRecordsMaxFilter = 256

// exportStall is how long an export may wait for the client to take the
// next piece; verifyMax is how long a verify through the API may run.
const (
	exportStall = time.Minute
	verifyMax   = 15 * time.Minute
)

// auditorPosts are the routes an auditor may POST to although auditors
// change nothing (adminAuth): they change no replicated state, and add only
// to this node's own audit chain.
var auditorPosts = map[string]bool{
	AdminPrefix + "/audit/verify":            true,
	AdminPrefix + "/audit/records/:seq/open": true,
}

var auditFilters = []string{"request_id", "app_id", "api_id", "customer", "kind", "status", "code", "from", "to", "after_seq"}

func init() {
	adminMounts = append(adminMounts, mountAudit)
	routeQuery["admin GET /audit/records"] = append(append([]string(nil), auditFilters...), "limit")
	routeQuery["admin GET /audit/export"] = append(append([]string(nil), auditFilters...), "format")
	routeBody["admin POST /audit/verify"] = bodyDoc{optional: true}
	requestExamples[reflect.TypeOf(auditVerifyRequest{})] = auditVerifyRequest{From: exampleTime.AddDate(0, -1, 0).Format(time.RFC3339), To: exampleTime.Format(time.RFC3339)}
	requestExamples[reflect.TypeOf(auditOpenRequest{})] = auditOpenRequest{Reason: "投诉 2027-0104-17 的核查 / checking complaint 2027-0104-17"}
	docs := func(extra map[string]map[string]any) map[string]map[string]any {
		str := func(d string) map[string]any {
			return map[string]any{"type": "string", "maxLength": auditRecordsMaxFilter, "description": d}
		}
		m := map[string]map[string]any{
			"request_id": str("the call's LJ-Request-Id"),
			"app_id":     str("the App_ID"),
			"api_id":     str("the API's id"),
			"customer":   str("a customer id as the bank knows it: the server looks for its keyed hash (HMAC-SM3 with the audit key), and records the hash, never the id"),
			"kind":       {"type": "string", "enum": []string{audit.KindAccess, audit.KindAdmin, audit.KindSystem}},
			"status":     {"type": "integer", "minimum": 100, "maximum": 599, "description": "the HTTP status answered"},
			"code":       str("the error code answered (LJ1 or admin)"),
			"from":       {"type": "string", "format": "date-time", "description": "records at or after this time (RFC 3339)"},
			"to":         {"type": "string", "format": "date-time", "description": "records before this time (RFC 3339)"},
			"after_seq":  {"type": "integer", "minimum": 0, "description": "records after this sequence number (the last page's next_after_seq)"},
		}
		for k, v := range extra {
			m[k] = v
		}
		out := map[string]map[string]any{}
		for k, sch := range m {
			out[k] = map[string]any{"name": k, "in": "query", "schema": sch}
		}
		return out
	}
	routeContent["admin GET /audit/export"] = map[string]any{
		"application/jsonl": map[string]any{"schema": map[string]any{"type": "string", "description": "one canonical record (docs/audit.md) a line"}},
		"text/csv":          map[string]any{"schema": map[string]any{"type": "string", "description": "a header line of the columns docs/audit.md lists, then one record a line"}},
	}
	routeQueryDocs["admin GET /audit/records"] = docs(nil)
	routeQueryDocs["admin GET /audit/export"] = docs(map[string]map[string]any{
		"format": {"type": "string", "enum": []string{"jsonl", "csv"}, "default": "jsonl"}})
}

func mountAudit(s *Server, g *echo.Group) {
	g.GET("/audit/records", s.auditRecords, s.requireAuditor())
	s.doc("admin", "GET", "/audit/records", "This node's audit records, filtered; page with after_seq (the answer's next_after_seq) and limit; the query is recorded in the chain (auditor)", nil, auditRecordList{})
	g.GET("/audit/export", s.auditExport, s.requireAuditor())
	s.doc("admin", "GET", "/audit/export", "This node's audit records, filtered, streamed as a file: format=jsonl (the canonical records, one a line) or csv (docs/audit.md lists the columns); the export is recorded in the chain (auditor)", nil, nil)
	g.POST("/audit/verify", s.auditVerify, s.requireAdmin(platform.RoleAuditor))
	s.doc("admin", "POST", "/audit/verify", "Verify this node's audit chain against its signed checkpoints, as lijiang audit verify does; runs while the request waits (auditor, admin)", auditVerifyRequest{}, audit.Report{})
	g.POST("/audit/records/:seq/open", s.auditOpen, s.requireAuditor())
	s.doc("admin", "POST", "/audit/records/{seq}/open", "Open the sealed body of a record, giving the reason; the opening (who, which record, why, never the body) is recorded in the chain first (auditor)", auditOpenRequest{}, auditOpened{})
}

// requireAuditor lets through bank users with the auditor role only: the
// audit trail is read by auditors, not by the admins whose acts it records
// (separation of duties; RoleAdmin is not enough).
func (s *Server) requireAuditor() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p := principalOf(c)
			if p == nil || p.Kind != platform.ActorAdmin {
				return errUnauthenticated
			}
			if p.Role != platform.RoleAuditor {
				return &Error{Status: http.StatusForbidden, Code: CodeForbidden, Message: "only auditors read the audit trail"}
			}
			return next(c)
		}
	}
}

// trail returns the node's audit trail, or the error that answers without one.
func (s *Server) trail() (AuditTrail, error) {
	if s.cfg.Audit == nil {
		return nil, errAuditUnavailable
	}
	return s.cfg.Audit, nil
}

// auditActor is who makes this request, as the audit chain names them.
func (s *Server) auditActor(c echo.Context) *audit.Actor {
	a := &audit.Actor{Kind: ActorAnonymous, Addr: clientAddr(c), Node: s.cfg.NodeID}
	if p := principalOf(c); p != nil {
		a.Kind, a.ID, a.Role = p.Kind, p.ID, p.Role
	}
	return a
}

// recordAccess records an auditor's read durably before anything is read:
// no record of the read, no read (AUDIT_UNAVAILABLE).
func (s *Server) recordAccess(c echo.Context, t AuditTrail, name string, detail map[string]string) error {
	if detail == nil {
		detail = map[string]string{}
	}
	detail["request"] = s.requestID(c)
	if err := t.Event(c.Request().Context(), true, name, s.auditActor(c), detail); err != nil {
		s.log.Warn("an audit read was refused: its event could not be recorded", "event", name, "err", err)
		return errAuditUnavailable
	}
	return nil
}

// ---- filters -----------------------------------------------------------------------

// auditQuery is a parsed filter and its summary for the event (the
// customer as its keyed hash, never as typed).
type auditQuery struct {
	f       audit.Filter
	summary string
}

// parseAuditFilter reads the filters of the records and export routes.
func (s *Server) parseAuditFilter(c echo.Context, t AuditTrail) (auditQuery, error) {
	var q auditQuery
	sum := url.Values{}
	params := c.QueryParams()
	str := func(name string, dst *string) error {
		v := params.Get(name)
		if v == "" {
			return nil
		}
		if len(v) > auditRecordsMaxFilter || !utf8.ValidString(v) {
			return badRequest(name, fmt.Sprintf("must be at most %d bytes of UTF-8", auditRecordsMaxFilter))
		}
		*dst = v
		if name != "customer" {
			sum.Set(name, v)
		}
		return nil
	}
	var customer string
	for _, p := range []struct {
		name string
		dst  *string
	}{{"request_id", &q.f.RequestID}, {"app_id", &q.f.AppID}, {"api_id", &q.f.APIID}, {"customer", &customer}, {"kind", &q.f.Kind}, {"code", &q.f.Code}} {
		if err := str(p.name, p.dst); err != nil {
			return q, err
		}
	}
	switch q.f.Kind {
	case "", audit.KindAccess, audit.KindAdmin, audit.KindSystem:
	default:
		return q, badRequest("kind", "must be access, admin or system")
	}
	if customer != "" {
		// The auditor types the customer id; the records hold its keyed
		// hash, and so do the filter and the event. The id goes no further.
		h, err := t.HashID(customer)
		if err != nil {
			s.log.Warn("hashing a customer id for an audit query", "err", err)
			return q, errAuditUnavailable
		}
		q.f.Customer = h
		sum.Set("customer", h)
	}
	if v := params.Get("status"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 || n > 599 {
			return q, badRequest("status", "must be an HTTP status from 100 to 599")
		}
		q.f.Status = n
		sum.Set("status", v)
	}
	for _, p := range []struct {
		name string
		dst  *int64
	}{{"from", &q.f.FromMs}, {"to", &q.f.ToMs}} {
		v := params.Get(p.name)
		if v == "" {
			continue
		}
		tt, err := time.Parse(time.RFC3339Nano, v)
		if err != nil || tt.UnixMilli() <= 0 {
			return q, badRequest(p.name, "must be an RFC 3339 time, e.g. 2026-12-01T00:00:00+08:00")
		}
		*p.dst = tt.UnixMilli()
		sum.Set(p.name, tt.UTC().Format(time.RFC3339Nano))
	}
	if q.f.FromMs != 0 && q.f.ToMs != 0 && q.f.ToMs <= q.f.FromMs {
		return q, badRequest("to", "must be after from")
	}
	if v := params.Get("after_seq"); v != "" {
		n, err := strconv.ParseUint(v, 10, 63)
		if err != nil {
			return q, badRequest("after_seq", "must be a record sequence number from 0")
		}
		q.f.AfterSeq = n
		sum.Set("after_seq", v)
	}
	q.summary = sum.Encode()
	return q, nil
}

// ---- records -----------------------------------------------------------------------

// auditRecordJSON is a record as the API shows it: the chain's record and
// its time in RFC 3339.
type auditRecordJSON struct {
	audit.Record
	Time time.Time `json:"time" doc:"time_ms as an RFC 3339 time, UTC"`
}

type auditRecordList struct {
	Node  string            `json:"node" doc:"the node whose chain this is: each node keeps its own"`
	Items []auditRecordJSON `json:"items"`
	Limit int               `json:"limit"`
	// NextAfterSeq pages on; 0 when this page is the last.
	NextAfterSeq uint64 `json:"next_after_seq" doc:"pass as after_seq for the next page; 0 when there is none"`
}

func (s *Server) auditRecords(c echo.Context) error {
	t, err := s.trail()
	if err != nil {
		return err
	}
	limit := 50
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return badRequest("limit", "must be a number from 1 to 500")
		}
		limit = n
	}
	q, err := s.parseAuditFilter(c, t)
	if err != nil {
		return err
	}
	if err := s.recordAccess(c, t, EventAuditQuery, map[string]string{"filter": q.summary, "limit": strconv.Itoa(limit)}); err != nil {
		return err
	}
	f := q.f
	f.Limit = limit + 1
	out := auditRecordList{Node: t.Node(), Items: []auditRecordJSON{}, Limit: limit}
	more := false
	err = t.Query(c.Request().Context(), f, func(r *audit.Record) bool {
		if len(out.Items) == limit {
			more = true
			return false
		}
		out.Items = append(out.Items, auditRecordJSON{Record: *r, Time: time.UnixMilli(r.TimeMs).UTC()})
		return true
	})
	if err != nil {
		return s.auditReadError(err)
	}
	if more {
		out.NextAfterSeq = out.Items[len(out.Items)-1].Seq
	}
	return c.JSON(http.StatusOK, out)
}

// auditReadError maps an error of reading the chain to the API's.
func (s *Server) auditReadError(err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	if errors.Is(err, audit.ErrDamaged) {
		s.log.Error("reading the audit store", "err", err)
		return errAuditDamaged
	}
	s.log.Warn("reading the audit store", "err", err)
	return errAuditUnavailable
}

// ---- export ------------------------------------------------------------------------

// AuditCSVColumns are the columns of a CSV export, in order (docs/audit.md).
// Bodies are left out of CSV (JSONL carries them); rules are joined with
// ";"; detail is its JSON object.
var AuditCSVColumns = []string{"seq", "time", "node", "kind", "request_id", "app", "serial", "env", "api", "level", "method", "scheme",
	"client", "proto", "status", "code", "latency_us", "customer", "rules", "admission", "body_kind",
	"change_index", "command_id", "action", "actor_kind", "actor_id", "actor_role", "actor_addr", "actor_node",
	"target", "result", "digest", "summary", "event", "detail"}

func auditCSVRow(r *audit.Record) []string {
	num := func(n int64) string {
		if n == 0 {
			return ""
		}
		return strconv.FormatInt(n, 10)
	}
	var a audit.Actor
	if r.Actor != nil {
		a = *r.Actor
	}
	detail := ""
	if len(r.Detail) > 0 {
		b, _ := json.Marshal(r.Detail)
		detail = string(b)
	}
	row := []string{strconv.FormatUint(r.Seq, 10), time.UnixMilli(r.TimeMs).UTC().Format("2006-01-02T15:04:05.000Z07:00"), r.Node, r.Kind,
		r.RequestID, r.AppID, r.Serial, r.Env, r.APIID, r.Level, r.Method, r.Scheme, r.ClientAddr, r.Proto, num(int64(r.Status)), r.Code,
		num(r.LatencyUS), r.Customer, strings.Join(r.Rules, ";"), r.Admission, r.BodyKind,
		num(int64(r.ChangeIndex)), r.CommandID, r.Action, a.Kind, a.ID, a.Role, a.Addr, a.Node,
		r.Target, r.Result, r.Digest, r.Summary, r.Event, detail}
	for i, v := range row {
		row[i] = csvSafe(v)
	}
	return row
}

// csvSafe keeps a cell from being read as a formula by a spreadsheet
// (CSV injection): a cell starting with = + - @ or a control character is
// prefixed with '.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

func (s *Server) auditExport(c echo.Context) error {
	t, err := s.trail()
	if err != nil {
		return err
	}
	format := c.QueryParam("format")
	switch format {
	case "":
		format = "jsonl"
	case "jsonl", "csv":
	default:
		return badRequest("format", "must be jsonl or csv")
	}
	q, err := s.parseAuditFilter(c, t)
	if err != nil {
		return err
	}
	if err := s.recordAccess(c, t, EventAuditExport, map[string]string{"filter": q.summary, "format": format}); err != nil {
		return err
	}
	ctx := c.Request().Context()
	// The first record is read before the answer starts, so that a store
	// that cannot be read answers an error rather than an empty file.
	var first *audit.Record
	f := q.f
	f.Limit = 1
	if err := t.Query(ctx, f, func(r *audit.Record) bool { first = r; return false }); err != nil {
		return s.auditReadError(err)
	}
	name := fmt.Sprintf("audit-%s-%s.%s", t.Node(), s.now().UTC().Format("20060102T150405Z"), format)
	h := c.Response().Header()
	if format == "csv" {
		h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	} else {
		h.Set(echo.HeaderContentType, "application/jsonl; charset=utf-8")
	}
	h.Set(echo.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	c.Response().WriteHeader(http.StatusOK)
	w := c.Response()
	// The listener's write timeout bounds a whole answer; an export is
	// bounded instead by its progress: each piece sent allows the next
	// exportStall, so a large export streams on and a stalled client is cut.
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Now().Add(exportStall))
	var cw *csv.Writer
	if format == "csv" {
		cw = csv.NewWriter(w)
		cw.Write(AuditCSVColumns)
	}
	n := 0
	var werr error
	write := func(r *audit.Record) bool {
		if cw != nil {
			werr = cw.Write(auditCSVRow(r))
		} else {
			var b []byte
			if b, werr = r.Canonical(); werr == nil {
				_, werr = w.Write(append(b, '\n'))
			}
		}
		if werr != nil {
			return false
		}
		n++
		// Stream: the records go out as they are read, never held whole.
		if n%256 == 0 {
			if cw != nil {
				cw.Flush()
			}
			w.Flush()
			rc.SetWriteDeadline(time.Now().Add(exportStall))
		}
		return true
	}
	if first != nil && write(first) {
		f := q.f
		f.AfterSeq = first.Seq
		err = t.Query(ctx, f, write)
	}
	if cw != nil {
		cw.Flush()
		werr = errors.Join(werr, cw.Error())
	}
	if err == nil && werr == nil {
		w.Flush()
		t.Event(context.WithoutCancel(ctx), false, EventAuditExported, s.auditActor(c), map[string]string{"request": s.requestID(c), "records": strconv.Itoa(n)})
		return nil
	}
	// The status is sent: the only honest signal left is to cut the
	// transfer, so that the client sees a broken download, not a short
	// file it could take for the whole.
	s.log.Warn("audit export cut short", "records", n, "err", errors.Join(err, werr))
	t.Event(context.WithoutCancel(ctx), false, EventAuditExported, s.auditActor(c), map[string]string{"request": s.requestID(c), "records": strconv.Itoa(n), "result": "cut_short"})
	panic(http.ErrAbortHandler)
}

// ---- verify ------------------------------------------------------------------------

type auditVerifyRequest struct {
	Node string `json:"node" doc:"the node whose chain to verify: only this node's (the default) can be verified here; another node's on its own admin port, or with lijiang audit verify on its data directory"`
	From string `json:"from" format:"date-time" doc:"verify the records from this time on (RFC 3339), starting at the last checkpoint before it"`
	To   string `json:"to" format:"date-time" doc:"verify the records up to this time (RFC 3339)"`
}

func (s *Server) auditVerify(c echo.Context) error {
	t, err := s.trail()
	if err != nil {
		return err
	}
	var req auditVerifyRequest
	if err := s.bindOptional(c, &req); err != nil {
		return err
	}
	if req.Node != "" && req.Node != t.Node() {
		return badRequest("node", fmt.Sprintf("only this node's chain (%s) can be verified here: ask node %s's admin port, or run lijiang audit verify on its data directory", t.Node(), req.Node))
	}
	var fromMs, toMs int64
	detail := map[string]string{}
	for _, p := range []struct {
		name, v string
		dst     *int64
	}{{"from", req.From, &fromMs}, {"to", req.To, &toMs}} {
		if p.v == "" {
			continue
		}
		tt, err := time.Parse(time.RFC3339Nano, p.v)
		if err != nil || tt.UnixMilli() <= 0 {
			return badRequest(p.name, "must be an RFC 3339 time, e.g. 2026-12-01T00:00:00+08:00")
		}
		*p.dst = tt.UnixMilli()
		detail[p.name] = tt.UTC().Format(time.RFC3339Nano)
	}
	if fromMs != 0 && toMs != 0 && toMs <= fromMs {
		return badRequest("to", "must be after from")
	}
	// One verify at a time on a node: it reads the whole store.
	select {
	case s.verifying <- struct{}{}:
		defer func() { <-s.verifying }()
	default:
		return errVerifyRunning
	}
	if err := s.recordAccess(c, t, EventAuditVerify, detail); err != nil {
		return err
	}
	// The verify runs while the request waits, up to verifyMax (the
	// listener's write timeout is lifted to it); it reads the store in one
	// read transaction beside the writer, blocking no other call.
	ctx, cancel := context.WithTimeout(c.Request().Context(), verifyMax)
	defer cancel()
	http.NewResponseController(c.Response()).SetWriteDeadline(time.Now().Add(verifyMax + 10*time.Second))
	rep, err := t.Verify(ctx, fromMs, toMs)
	if err != nil {
		if c.Request().Context().Err() != nil {
			return c.Request().Context().Err()
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return &Error{Status: http.StatusServiceUnavailable, Code: CodeAuditUnavailable,
				Message: "the verify did not finish in " + verifyMax.String() + ": verify a time range (from, to), or run lijiang audit verify on the node"}
		}
		s.log.Warn("audit verify could not run", "err", err)
		return errAuditUnavailable
	}
	verdict := map[string]string{"request": s.requestID(c), "intact": strconv.FormatBool(rep.Intact), "records": strconv.FormatUint(rep.Records, 10),
		"last": strconv.FormatUint(rep.Last, 10)}
	if len(rep.Damage) > 0 {
		verdict["damage"] = rep.Damage[0].Kind
		verdict["damage_seq"] = strconv.FormatUint(rep.Damage[0].Seq, 10)
	}
	t.Event(context.WithoutCancel(c.Request().Context()), false, EventAuditVerified, s.auditActor(c), verdict)
	if rep.Damage == nil {
		rep.Damage = []audit.Damage{}
	}
	return c.JSON(http.StatusOK, rep)
}

// ---- opening a sealed body ---------------------------------------------------------

type auditOpenRequest struct {
	Reason string `json:"reason" oa:"required" doc:"why the body is opened, 10 to 500 characters: recorded in the chain with the auditor's name"`
}

type auditOpened struct {
	Seq       uint64 `json:"seq"`
	Node      string `json:"node"`
	RequestID string `json:"request_id"`
	// Body is the clear body as it was sealed; BodyEncoding says how it is
	// written here.
	Body         string `json:"body" doc:"the bodies as sealed: UTF-8 text, or base64 when body_encoding says so"`
	BodyEncoding string `json:"body_encoding" doc:"utf-8 or base64"`
}

func (s *Server) auditOpen(c echo.Context) error {
	t, err := s.trail()
	if err != nil {
		return err
	}
	seq, err := strconv.ParseUint(c.Param("seq"), 10, 63)
	if err != nil || seq == 0 {
		return notFound("audit record")
	}
	var req auditOpenRequest
	if err := s.bind(c, &req); err != nil {
		return err
	}
	reason := strings.TrimSpace(req.Reason)
	if n := utf8.RuneCountInString(reason); n < 10 || n > 500 {
		return badRequest("reason", "must be 10 to 500 characters: say why the body is opened")
	}
	var rec *audit.Record
	if err := t.Query(c.Request().Context(), audit.Filter{AfterSeq: seq - 1, Limit: 1}, func(r *audit.Record) bool {
		if r.Seq == seq {
			rec = r
		}
		return false
	}); err != nil {
		return s.auditReadError(err)
	}
	if rec == nil {
		return notFound("audit record")
	}
	if rec.BodyKind != audit.BodySealed {
		return &Error{Status: http.StatusConflict, Code: CodeNotSealed, Message: "this record keeps no sealed body (its API's retention is none or masked)"}
	}
	detail := map[string]string{"seq": strconv.FormatUint(seq, 10), "record_request_id": rec.RequestID, "reason": reason}
	body, err := t.OpenBody(rec)
	if err != nil {
		detail["request"] = s.requestID(c)
		t.Event(context.WithoutCancel(c.Request().Context()), false, EventAuditOpenFailed, s.auditActor(c), detail)
		if errors.Is(err, audit.ErrDamaged) {
			s.log.Error("a sealed audit body does not open", "seq", seq, "err", err)
			return errAuditDamaged
		}
		s.log.Warn("opening a sealed audit body", "seq", seq, "err", err)
		return errAuditUnavailable
	}
	// The opening is in the chain before the body leaves the node.
	if err := s.recordAccess(c, t, EventAuditBodyOpened, detail); err != nil {
		clear(body)
		return err
	}
	out := auditOpened{Seq: seq, Node: rec.Node, RequestID: rec.RequestID, Body: string(body), BodyEncoding: "utf-8"}
	if !utf8.Valid(body) {
		out.Body, out.BodyEncoding = base64.StdEncoding.EncodeToString(body), "base64"
	}
	return c.JSON(http.StatusOK, out)
}

// ---- events of logins --------------------------------------------------------------

// authEvent records a system event of a login that no command records (an
// unknown account, a locked one, a failure the cluster could not take) on
// this node's chain. It never carries a password, a code or a token; an
// unknown account name is recorded as its keyed hash only, as it may be a
// mistyped password.
func (s *Server) authEvent(c echo.Context, name, kind, principalID, account, reason string, extra ...string) {
	t := s.cfg.Audit
	if t == nil {
		return
	}
	d := map[string]string{"principal_kind": kind, "reason": reason, "request": s.requestID(c)}
	if principalID != "" {
		d["principal_id"] = principalID
	}
	if account != "" {
		if h, err := t.HashID(account); err == nil {
			d["account_hash"] = h
		}
	}
	for i := 0; i+1 < len(extra); i += 2 {
		d[extra[i]] = extra[i+1]
	}
	actor := &audit.Actor{Kind: ActorAnonymous, Addr: clientAddr(c), Node: s.cfg.NodeID}
	if err := t.Event(c.Request().Context(), false, name, actor, d); err != nil {
		s.log.Warn("recording a login event", "event", name, "err", err)
	}
}

// loginFailedResult records what a login.failed command did beyond the
// change record: a lock-out (auth.account_locked), or, when the cluster did
// not take it, the failure itself (auth.login_failed).
func (s *Server) loginFailedResult(c echo.Context, kind, principalID string, res platform.Result, err error) {
	if err != nil {
		s.authEvent(c, EventLoginFailed, kind, principalID, "", "not_replicated")
		return
	}
	var v struct {
		LockedUntilMs int64 `json:"locked_until_ms"`
	}
	if json.Unmarshal(res.Value, &v) == nil && v.LockedUntilMs > 0 {
		s.authEvent(c, EventAccountLocked, kind, principalID, "", "repeated_failures",
			"locked_until", time.UnixMilli(v.LockedUntilMs).UTC().Format(time.RFC3339))
	}
}
