package platform

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"lijiang/platform/smcrypto"
)

// Change notices and their webhook deliveries.
//
// A notice is a message to an applicant, kept in its portal feed. Every
// notice gets one webhook_deliveries row, made in the same transaction by
// enqueueNoticeDelivery (or, for a notice inserted without it, by the
// webhook.enqueue command the leader's delivery worker proposes): "pending"
// to the applicant's callback URL, or "skipped" when it has none. The
// leader's worker POSTs each due pending delivery and records every attempt
// with a webhook.attempt command, so every node agrees on the state and a
// delivery recorded as delivered is never sent again. Delivery is
// at-least-once: a leader that fails between sending and recording leaves the
// delivery pending, and the next leader sends it again; receivers deduplicate
// by the notice id.

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
	DeliverySkipped   = "skipped" // the applicant has no callback URL
)

// WebhookMaxAttempts is how many times a delivery is tried before it fails.
const WebhookMaxAttempts = 8

// Webhook commands.
const (
	CmdWebhookEnqueue = "webhook.enqueue"
	CmdWebhookAttempt = "webhook.attempt"
)

// Notice is a message to an applicant, as the admin and portal APIs show
// it.
type Notice struct {
	ID          string    `json:"id"`
	ApplicantID string    `json:"applicant_id"`
	Kind        string    `json:"kind"`
	APIID       string    `json:"api_id,omitempty"`
	Title       string    `json:"title"`
	Body        string    `json:"body"`
	Created     time.Time `json:"created"` // UTC, to the millisecond
}

// WebhookDelivery is the delivery state of one notice.
type WebhookDelivery struct {
	NoticeID      string `json:"notice_id"`
	ApplicantID   string `json:"applicant_id"`
	URL           string `json:"url"`
	Status        string `json:"status"`
	Attempts      int    `json:"attempts"`
	NextAttemptMs int64  `json:"next_attempt_ms"`
	LastAttemptMs int64  `json:"last_attempt_ms,omitempty"`
	LastStatus    int    `json:"last_status,omitempty"`
	LastError     string `json:"last_error,omitempty"`
	DeliveredMs   int64  `json:"delivered_ms,omitempty"`
	CreatedMs     int64  `json:"created_ms"`
}

// derivedNoticeID makes the id of a notice that apply creates: "ntc_" and 20
// lower-case base32 characters of SM3(command id, applicant id), the same on
// every node and unique per command and applicant.
func derivedNoticeID(commandID, applicantID string) string {
	h := smcrypto.SM3([]byte("lijiang-notice\x00" + commandID + "\x00" + applicantID))
	return "ntc_" + strings.ToLower(idEncoding.EncodeToString(h[:13]))[:20]
}

// insertNotice inserts a notice and enqueues its webhook delivery; for use
// inside apply by any domain of the package.
func insertNotice(tx *Tx, n Notice) error {
	var apiID any
	if n.APIID != "" {
		apiID = n.APIID
	}
	if _, err := tx.Exec(`INSERT INTO notices (id, applicant_id, kind, api_id, title, body, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		n.ID, n.ApplicantID, n.Kind, apiID, n.Title, n.Body, n.Created.UnixMilli()); err != nil {
		return err
	}
	return enqueueNoticeDelivery(tx, n.ID, n.Created.UnixMilli())
}

// enqueueNoticeDelivery creates the webhook delivery of a notice inserted in
// this transaction: pending from at to the applicant's callback URL, or
// skipped when it has none. Calling it again for the same notice changes
// nothing.
func enqueueNoticeDelivery(tx *Tx, noticeID string, at int64) error {
	var applicant, callback string
	err := tx.QueryRow(`SELECT n.applicant_id, coalesce(a.callback_url, '') FROM notices n JOIN applicants a ON a.id = n.applicant_id
		WHERE n.id = ?`, noticeID).Scan(&applicant, &callback)
	if errors.Is(err, sql.ErrNoRows) {
		return NotFound("no such notice")
	}
	if err != nil {
		return err
	}
	status := DeliveryPending
	if callback == "" {
		status = DeliverySkipped
	}
	_, err = tx.Exec(`INSERT INTO webhook_deliveries (notice_id, applicant_id, url, status, attempts, next_attempt_ms, created_ms)
		VALUES (?, ?, ?, ?, 0, ?, ?) ON CONFLICT (notice_id) DO NOTHING`, noticeID, applicant, callback, status, at, at)
	return err
}

// noticeAPIChange sends a notice of kind about API a to every applicant that
// has an app granted it, one per applicant.
func noticeAPIChange(tx *Tx, c *Command, a *API, kind, summary string) error {
	applicants, err := queryStrings(tx, `SELECT DISTINCT ap.applicant_id FROM grants g JOIN apps ap ON ap.id = g.app_id
		WHERE g.api_id = ? ORDER BY ap.applicant_id`, a.ID)
	if err != nil {
		return err
	}
	title, body := apiNoticeText(kind, a, summary)
	for _, app := range applicants {
		if err := insertNotice(tx, Notice{ID: derivedNoticeID(c.ID, app), ApplicantID: app, Kind: kind, APIID: a.ID,
			Title: title, Body: body, Created: c.Time()}); err != nil {
			return err
		}
	}
	return nil
}

// chinaTime is UTC+8, the zone of dates in notices (fixed, so every node
// writes the same text).
var chinaTime = time.FixedZone("UTC+8", 8*3600)

// apiNoticeText returns the title and body, in Chinese then English, of a
// notice about an API.
func apiNoticeText(kind string, a *API, summary string) (title, body string) {
	zh := fmt.Sprintf("「%s」（%s %s，%s）", a.Name, a.Method, a.Path, a.APIVersion)
	en := fmt.Sprintf("%q (%s %s, %s)", a.Name, a.Method, a.Path, a.APIVersion)
	short := a.Name + " " + a.APIVersion
	switch kind {
	case NoticeAPIPublished:
		title = "接口发布：" + short + " / API published: " + short
		body = "接口" + zh + "已发布，获授权的应用可以调用。\nThe API " + en + " is published; granted apps may call it."
	case NoticeAPIChanged:
		title = "接口变更：" + short + " / API changed: " + short
		body = "接口" + zh + "已变更，请核对接入。\nThe API " + en + " has changed; please check your integration."
	case NoticeAPIDeprecated:
		sunset := time.UnixMilli(a.SunsetMs).In(chinaTime).Format("2006-01-02 15:04")
		title = "接口弃用：" + short + " / API deprecated: " + short
		body = "接口" + zh + "已弃用，将于北京时间 " + sunset + " 下线，请在此之前完成迁移。\nThe API " + en +
			" is deprecated and will be retired on " + sunset + " (UTC+8); please migrate before then."
	case NoticeAPIRetired:
		title = "接口下线：" + short + " / API retired: " + short
		body = "接口" + zh + "已下线，调用将返回 API_RETIRED。\nThe API " + en + " is retired; calls are answered with API_RETIRED."
	}
	if s := strings.TrimSpace(summary); s != "" {
		body += "\n说明 / Details: " + s
	}
	return title, body
}

// WebhookEnqueue is the payload of CmdWebhookEnqueue (version 1): create the
// deliveries of notices that were inserted without one. Ids of notices that
// do not exist or already have a delivery are ignored.
type WebhookEnqueue struct {
	NoticeIDs []string `json:"notice_ids"`
}

var anyNoticeIDPattern = regexp.MustCompile(`^[a-z]{2,8}_[A-Za-z0-9]{4,60}$`)

// Validate checks the payload's fields.
func (p *WebhookEnqueue) Validate() error {
	if len(p.NoticeIDs) == 0 || len(p.NoticeIDs) > 500 {
		return Invalid("notice_ids", "must list 1-500 notice ids")
	}
	for _, id := range p.NoticeIDs {
		if !anyNoticeIDPattern.MatchString(id) {
			return Invalid("notice_ids", "must be notice ids")
		}
	}
	return nil
}

func applyWebhookEnqueue(tx *Tx, c *Command, p *WebhookEnqueue) (any, error) {
	n := 0
	for _, id := range p.NoticeIDs {
		var have int
		if err := tx.QueryRow("SELECT COUNT(*) FROM webhook_deliveries WHERE notice_id = ?", id).Scan(&have); err != nil {
			return nil, err
		}
		if have > 0 {
			continue
		}
		var created int64
		switch err := tx.QueryRow("SELECT created_ms FROM notices WHERE id = ?", id).Scan(&created); {
		case errors.Is(err, sql.ErrNoRows):
			continue
		case err != nil:
			return nil, err
		}
		if err := enqueueNoticeDelivery(tx, id, c.At); err != nil {
			return nil, err
		}
		n++
	}
	return map[string]int{"enqueued": n}, nil
}

// WebhookAttempt is the payload of CmdWebhookAttempt (version 1): the result
// of one delivery attempt, proposed by the node that made it. Attempt is the
// number of this attempt (the delivery's attempts so far plus one); a
// delivery that is no longer pending, or whose attempts have moved on, is
// not changed (CodeConflict), so a stale or repeated report cannot undo a
// delivered notice.
type WebhookAttempt struct {
	NoticeID string `json:"notice_id"`
	Attempt  int    `json:"attempt"`
	OK       bool   `json:"ok"`
	// HTTPStatus is the receiver's status (0 when there was no response).
	HTTPStatus int `json:"http_status"`
	// Error classifies a failure ("timeout", "status 500", ...); it must not
	// carry the URL or any secret.
	Error string `json:"error,omitempty"`
	// NextAttemptMs is when to try again after a failure; 0 gives up. The
	// delivery fails anyway after WebhookMaxAttempts attempts.
	NextAttemptMs int64 `json:"next_attempt_ms,omitempty"`
}

// Validate checks the payload's fields.
func (p *WebhookAttempt) Validate() error {
	if !anyNoticeIDPattern.MatchString(p.NoticeID) {
		return Invalid("notice_id", "must be a notice id")
	}
	return validateAttempt(p.Attempt, p.HTTPStatus, p.Error, p.OK, p.NextAttemptMs)
}

// validateAttempt checks the fields every webhook delivery attempt has
// (notices' and alerts').
func validateAttempt(attempt, httpStatus int, errText string, ok bool, nextAttemptMs int64) error {
	switch {
	case attempt < 1 || attempt > WebhookMaxAttempts:
		return Invalid("attempt", fmt.Sprintf("must be from 1 to %d", WebhookMaxAttempts))
	case httpStatus < 0 || httpStatus > 999:
		return Invalid("http_status", "must be an HTTP status or 0")
	case !catText(errText, 200, false):
		return Invalid("error", "must be text of at most 200 bytes")
	case ok && (errText != "" || nextAttemptMs != 0):
		return Invalid("ok", "a successful attempt has no error and no next attempt")
	case nextAttemptMs < 0:
		return Invalid("next_attempt_ms", "must not be negative")
	}
	return nil
}

const deliveryColumns = `notice_id, applicant_id, url, status, attempts, next_attempt_ms, last_attempt_ms, last_status, last_error, delivered_ms, created_ms`

func scanDelivery(r rowScanner) (WebhookDelivery, error) {
	var d WebhookDelivery
	err := r.Scan(&d.NoticeID, &d.ApplicantID, &d.URL, &d.Status, &d.Attempts, &d.NextAttemptMs, &d.LastAttemptMs, &d.LastStatus,
		&d.LastError, &d.DeliveredMs, &d.CreatedMs)
	return d, err
}

func applyWebhookAttempt(tx *Tx, c *Command, p *WebhookAttempt) (any, error) {
	d, err := scanDelivery(tx.QueryRow("SELECT "+deliveryColumns+" FROM webhook_deliveries WHERE notice_id = ?", p.NoticeID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, NotFound("no such delivery")
	}
	if err != nil {
		return nil, err
	}
	if d.Status != DeliveryPending {
		return nil, Conflict("the delivery is " + d.Status + ", not pending")
	}
	if p.Attempt != d.Attempts+1 {
		return nil, Conflict(fmt.Sprintf("stale attempt %d: the delivery has had %d", p.Attempt, d.Attempts))
	}
	d.Attempts = p.Attempt
	d.LastAttemptMs, d.LastStatus, d.LastError = c.At, p.HTTPStatus, p.Error
	switch {
	case p.OK:
		d.Status, d.DeliveredMs = DeliveryDelivered, c.At
	case p.NextAttemptMs == 0 || d.Attempts >= WebhookMaxAttempts:
		d.Status = DeliveryFailed
	default:
		d.NextAttemptMs = max(p.NextAttemptMs, c.At)
	}
	if _, err := tx.Exec(`UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_ms = ?, last_attempt_ms = ?,
		last_status = ?, last_error = ?, delivered_ms = ? WHERE notice_id = ?`,
		d.Status, d.Attempts, d.NextAttemptMs, d.LastAttemptMs, d.LastStatus, d.LastError, d.DeliveredMs, d.NoticeID); err != nil {
		return nil, err
	}
	// The result goes into the change record: status and attempts only, never
	// the callback URL (it may carry the applicant's token).
	return map[string]any{"notice_id": d.NoticeID, "status": d.Status, "attempts": d.Attempts}, nil
}

func init() {
	Handle(CmdWebhookEnqueue, 1, 0, applyWebhookEnqueue)
	Handle(CmdWebhookAttempt, 1, 0, applyWebhookAttempt)
}

// ---- reads (for the portal, through the Store's typed reads in reads.go) ---------------

// APIChange is one row of an API's change log, as the admin API shows it.
type APIChange struct {
	Seq         int64     `json:"seq"`
	CommandID   string    `json:"command_id"`
	At          time.Time `json:"at"` // UTC
	ActorKind   string    `json:"actor_kind"`
	ActorID     string    `json:"actor_id"`
	Action      string    `json:"action"`
	Summary     string    `json:"summary"`
	FromVersion int64     `json:"from_version"`
	ToVersion   int64     `json:"to_version"`
	FromStatus  string    `json:"from_status"`
	ToStatus    string    `json:"to_status"`
	// Spec is the API's spec after the change.
	Spec json.RawMessage `json:"spec"`
}

// listAPIChanges returns a page of an API's change log, newest first, and
// the total number of rows.
func listAPIChanges(db *sql.DB, apiID string, limit, offset int) ([]APIChange, int, error) {
	var total int
	if err := db.QueryRow("SELECT COUNT(*) FROM api_changes WHERE api_id = ?", apiID).Scan(&total); err != nil {
		return nil, 0, err
	}
	out, err := queryAll(db, func(row rowScanner) (ch APIChange, err error) {
		var at int64
		var spec string
		err = row.Scan(&ch.Seq, &ch.CommandID, &at, &ch.ActorKind, &ch.ActorID, &ch.Action, &ch.Summary,
			&ch.FromVersion, &ch.ToVersion, &ch.FromStatus, &ch.ToStatus, &spec)
		ch.At, ch.Spec = time.UnixMilli(at).UTC(), json.RawMessage(spec)
		return ch, err
	}, `SELECT seq, command_id, at_ms, actor_kind, actor_id, action, summary, from_version, to_version,
		from_status, to_status, spec FROM api_changes WHERE api_id = ? ORDER BY seq DESC LIMIT ? OFFSET ?`, apiID, limit, offset)
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// NoticeWithDelivery is a notice with its delivery state (nil if it has no
// delivery row yet).
type NoticeWithDelivery struct {
	Notice
	Delivery *WebhookDelivery `json:"delivery,omitempty"`
}

// NoticeFilter selects notices for ListNotices.
type NoticeFilter struct {
	// ApplicantIDs are the applicants whose notices to list; empty lists
	// none, unless AllApplicants.
	ApplicantIDs  []string
	AllApplicants bool
	Kind          string // exact kind, if set
	APIID         string // notices about this API, if set
	// DeliveryStatus selects by delivery status (pending, delivered, failed,
	// skipped), if set.
	DeliveryStatus string
}

// listNotices returns a page of the notices the filter selects, newest
// first (by time, then by insertion), with their delivery state, and the
// total number.
func listNotices(db *sql.DB, f NoticeFilter, limit, offset int) ([]NoticeWithDelivery, int, error) {
	w := &sqlWhere{}
	if !f.AllApplicants {
		if len(f.ApplicantIDs) == 0 {
			return []NoticeWithDelivery{}, 0, nil
		}
		ids := make([]any, len(f.ApplicantIDs))
		for i, id := range f.ApplicantIDs {
			ids[i] = id
		}
		w.add("n.applicant_id IN ("+strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",")+")", ids...)
	}
	w.match("n.kind = ?", f.Kind)
	w.match("n.api_id = ?", f.APIID)
	w.match("d.status = ?", f.DeliveryStatus)
	const from = "notices n LEFT JOIN webhook_deliveries d ON d.notice_id = n.id"
	total, err := countWhere(db, from, w)
	if err != nil {
		return nil, 0, err
	}
	out, err := queryAll(db, func(row rowScanner) (n NoticeWithDelivery, err error) {
		var d WebhookDelivery
		var has bool
		var created int64
		if err := row.Scan(&n.ID, &n.ApplicantID, &n.Kind, &n.APIID, &n.Title, &n.Body, &created, &has, &d.URL, &d.Status,
			&d.Attempts, &d.NextAttemptMs, &d.LastAttemptMs, &d.LastStatus, &d.LastError, &d.DeliveredMs, &d.CreatedMs); err != nil {
			return n, err
		}
		n.Created = time.UnixMilli(created).UTC()
		if has {
			d.NoticeID, d.ApplicantID = n.ID, n.ApplicantID
			n.Delivery = &d
		}
		return n, nil
	}, `SELECT n.id, n.applicant_id, n.kind, coalesce(n.api_id, ''), n.title, n.body, n.created_ms,
		d.notice_id IS NOT NULL, coalesce(d.url, ''), coalesce(d.status, ''), coalesce(d.attempts, 0), coalesce(d.next_attempt_ms, 0),
		coalesce(d.last_attempt_ms, 0), coalesce(d.last_status, 0), coalesce(d.last_error, ''), coalesce(d.delivered_ms, 0),
		coalesce(d.created_ms, 0)
		FROM `+from+w.String()+` ORDER BY n.created_ms DESC, n.rowid DESC LIMIT ? OFFSET ?`, append(w.args, limit, offset)...)
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// DueDelivery is a pending delivery whose time has come, with its notice.
type DueDelivery struct {
	WebhookDelivery
	Notice Notice
}

// dueDeliveries returns up to limit pending deliveries due at nowMs, the
// longest-waiting first.
func dueDeliveries(db *sql.DB, nowMs int64, limit int) ([]DueDelivery, error) {
	return queryAll(db, func(row rowScanner) (x DueDelivery, err error) {
		d := &x.WebhookDelivery
		var created int64
		err = row.Scan(&d.NoticeID, &d.ApplicantID, &d.URL, &d.Status, &d.Attempts, &d.NextAttemptMs, &d.LastAttemptMs,
			&d.LastStatus, &d.LastError, &d.DeliveredMs, &d.CreatedMs,
			&x.Notice.Kind, &x.Notice.APIID, &x.Notice.Title, &x.Notice.Body, &created)
		x.Notice.ID, x.Notice.ApplicantID, x.Notice.Created = d.NoticeID, d.ApplicantID, time.UnixMilli(created).UTC()
		return x, err
	}, `SELECT d.notice_id, d.applicant_id, d.url, d.status, d.attempts, d.next_attempt_ms, d.last_attempt_ms,
		d.last_status, d.last_error, d.delivered_ms, d.created_ms,
		n.kind, coalesce(n.api_id, ''), n.title, n.body, n.created_ms
		FROM webhook_deliveries d JOIN notices n ON n.id = d.notice_id
		WHERE d.status = 'pending' AND d.next_attempt_ms <= ? ORDER BY d.next_attempt_ms, d.notice_id LIMIT ?`, nowMs, limit)
}

// noticesWithoutDelivery returns up to limit ids of notices that have no
// delivery row (inserted without enqueueNoticeDelivery), oldest first.
func noticesWithoutDelivery(db *sql.DB, limit int) ([]string, error) {
	return queryStrings(db, `SELECT n.id FROM notices n LEFT JOIN webhook_deliveries d ON d.notice_id = n.id
		WHERE d.notice_id IS NULL ORDER BY n.created_ms, n.id LIMIT ?`, limit)
}

// noticeDelivery returns the delivery of a notice.
func noticeDelivery(db *sql.DB, noticeID string) (WebhookDelivery, bool, error) {
	d, err := scanDelivery(db.QueryRow("SELECT "+deliveryColumns+" FROM webhook_deliveries WHERE notice_id = ?", noticeID))
	if errors.Is(err, sql.ErrNoRows) {
		return d, false, nil
	}
	return d, err == nil, err
}

// APINoticeText is the title and body of the notice of kind (NoticeAPI…)
// that a change of API a, as it will be after the change, sends its
// applicants: what the console previews before the change is made. It
// writes nothing.
func APINoticeText(kind string, a *API, summary string) (title, body string) {
	return apiNoticeText(kind, a, summary)
}
