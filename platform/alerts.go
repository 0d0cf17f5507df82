package platform

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"time"

	"lijiang/platform/smcrypto"
)

// Alert commands (issue 12): the rule set, the alert webhook, and the alerts
// themselves, replicated so that every node's admin API lists the same alerts
// and every raise and acknowledgement is in the change log.
const (
	// CmdAlertRulesSet replaces the rule set (IfEmpty: only when there is
	// none, for the defaults at first start).
	CmdAlertRulesSet = "alert.rules.set"
	// CmdAlertWebhookSet sets (or clears) the alert webhook URL.
	CmdAlertWebhookSet = "alert.webhook.set"
	// CmdAlertRaise opens an alert, unless one is open for the rule and
	// subject (then the result is the open one's id, Deduplicated set).
	CmdAlertRaise = "alert.raise"
	// CmdAlertResolve resolves the unresolved alert of a rule and subject.
	CmdAlertResolve = "alert.resolve"
	// CmdAlertAck acknowledges an open alert.
	CmdAlertAck = "alert.ack"
	// CmdAlertDeliveryAttempt records one attempt to deliver an alert to
	// the alert webhook (proposed by the leader's delivery worker).
	CmdAlertDeliveryAttempt = "alert.delivery.attempt"
)

// AlertRulesInitCommandID is the fixed id of the defaults' alert.rules.set,
// so that every node may propose it at start and it is applied once.
const AlertRulesInitCommandID = "bootstrap.alert.rules"

// Alert states.
const (
	AlertOpen     = "open"
	AlertAcked    = "acked"
	AlertResolved = "resolved"
)

// AlertRulesSet is CmdAlertRulesSet's payload.
type AlertRulesSet struct {
	Rules   []AlertRule `json:"rules"`
	IfEmpty bool        `json:"if_empty,omitempty"`
}

// Validate checks the rules strictly.
func (p *AlertRulesSet) Validate() error {
	if p.Rules == nil {
		return Invalid("rules", "is required")
	}
	if len(p.Rules) > 200 {
		return Invalid("rules", "at most 200 rules")
	}
	if err := ValidateAlertRules(p.Rules); err != nil {
		return Invalid("rules", err.Error())
	}
	return nil
}

// AlertWebhookSet is CmdAlertWebhookSet's payload; an empty URL turns
// delivery off.
type AlertWebhookSet struct {
	URL string `json:"url"`
}

// Validate checks the URL is absolute https (or http, for tests and internal
// receivers) without credentials.
func (p *AlertWebhookSet) Validate() error {
	if p.URL == "" {
		return nil
	}
	u, err := url.Parse(p.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || len(p.URL) > 2048 {
		return Invalid("url", "must be an absolute http(s) URL without credentials, at most 2048 characters")
	}
	return nil
}

// AlertRaise is CmdAlertRaise's payload. ID is made by the proposer.
type AlertRaise struct {
	ID      string    `json:"id"`
	Rule    string    `json:"rule"`
	Kind    AlertKind `json:"kind"`
	Subject string    `json:"subject"`
	Message string    `json:"message"`
	Node    string    `json:"node"`
}

// Validate bounds the fields.
func (p *AlertRaise) Validate() error {
	switch {
	case p.ID == "" || len(p.ID) > 64:
		return Invalid("id", "is required, at most 64 characters")
	case !alertRuleID.MatchString(p.Rule):
		return Invalid("rule", "is not a rule id")
	case p.Subject == "" || len(p.Subject) > 256:
		return Invalid("subject", "is required, at most 256 characters")
	case p.Message == "" || len(p.Message) > 1024:
		return Invalid("message", "is required, at most 1024 characters")
	case p.Node == "" || len(p.Node) > 64:
		return Invalid("node", "is required")
	}
	for _, k := range AlertKinds {
		if k == p.Kind {
			return nil
		}
	}
	return Invalid("kind", "unknown kind")
}

// AlertResolve is CmdAlertResolve's payload.
type AlertResolve struct {
	Rule    string `json:"rule"`
	Subject string `json:"subject"`
}

// AlertAck is CmdAlertAck's payload; who is the command's actor.
type AlertAck struct {
	ID   string `json:"id"`
	Note string `json:"note,omitempty"`
}

// Validate bounds the note.
func (p *AlertAck) Validate() error {
	if p.ID == "" || len(p.ID) > 64 {
		return Invalid("id", "is required")
	}
	if len(p.Note) > 1024 {
		return Invalid("note", "at most 1024 characters")
	}
	return nil
}

// AlertRaised is CmdAlertRaise's result.
type AlertRaised struct {
	ID           string `json:"id"`
	Deduplicated bool   `json:"deduplicated"`
}

// AlertRecord is one alert as stored.
type AlertRecord struct {
	ID         string     `json:"id"`
	Rule       string     `json:"rule"`
	Kind       AlertKind  `json:"kind"`
	Subject    string     `json:"subject"`
	Message    string     `json:"message"`
	State      string     `json:"state"`
	RaisedAt   time.Time  `json:"raised_at"`
	RaisedBy   string     `json:"raised_by"`
	AckedAt    *time.Time `json:"acked_at,omitempty"`
	AckedBy    string     `json:"acked_by,omitempty"`
	AckNote    string     `json:"ack_note,omitempty"`
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
	// Delivery is the alert's webhook delivery; nil when no alert webhook
	// URL was set when it was raised.
	Delivery *AlertDelivery `json:"delivery,omitempty" doc:"the webhook delivery of the raise; absent when no alert webhook URL was set at the raise"`
}

// Alert webhook deliveries (replicated, like notices' webhook_deliveries):
// alert.raise makes a pending delivery in its own transaction when an alert
// webhook URL is set, to that URL; the leader's delivery worker (portal)
// POSTs each due one and records every attempt with alert.delivery.attempt,
// whose command id is derived from the alert and the attempt number, so a
// re-proposal is applied once and a new leader resumes where the old one
// stopped. Only raises are delivered: acknowledgements are made by people
// through the admin API, and both they and resolutions are in the alert list
// and the change log.

// AlertDelivery is the delivery state of an alert's raise to the alert
// webhook. The URL is not shown (it may carry a token).
type AlertDelivery struct {
	Status        string     `json:"status" doc:"pending, delivered or failed"`
	Attempts      int        `json:"attempts" doc:"attempts made so far"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty" doc:"when the next attempt is due (pending only)"`
	LastAttemptAt *time.Time `json:"last_attempt_at,omitempty" doc:"when the last attempt was recorded"`
	LastStatus    int        `json:"last_status,omitempty" doc:"the receiver's HTTP status at the last attempt (absent: no response)"`
	LastError     string     `json:"last_error,omitempty" doc:"why the last attempt failed (timeout, status 503, ...)"`
	DeliveredAt   *time.Time `json:"delivered_at,omitempty" doc:"when the receiver accepted it"`
}

// DueAlertDelivery is a pending alert delivery whose time has come: the
// alert as raised (state open, no acknowledgement) and where it goes.
type DueAlertDelivery struct {
	Alert    AlertRecord
	URL      string
	Attempts int // attempts made so far
}

// AlertDeliveryAttempt is CmdAlertDeliveryAttempt's payload: the result of
// one attempt. Attempt is the delivery's attempts so far plus one; a
// delivery no longer pending, or whose attempts have moved on, is not
// changed (CodeConflict), so a stale or repeated report cannot undo a
// delivered alert.
type AlertDeliveryAttempt struct {
	AlertID string `json:"alert_id"`
	Attempt int    `json:"attempt"`
	OK      bool   `json:"ok"`
	// HTTPStatus is the receiver's status (0 when there was no response).
	HTTPStatus int `json:"http_status"`
	// Error classifies a failure; it must not carry the URL or any secret.
	Error string `json:"error,omitempty"`
	// NextAttemptMs is when to try again after a failure; 0 gives up. The
	// delivery fails anyway after WebhookMaxAttempts attempts.
	NextAttemptMs int64 `json:"next_attempt_ms,omitempty"`
}

// Validate checks the payload's fields.
func (p *AlertDeliveryAttempt) Validate() error {
	if p.AlertID == "" || len(p.AlertID) > 64 {
		return Invalid("alert_id", "is required, at most 64 characters")
	}
	return validateAttempt(p.Attempt, p.HTTPStatus, p.Error, p.OK, p.NextAttemptMs)
}

// AlertDeliveryCommandID is the id of the alert.delivery.attempt command
// recording attempt n of an alert's delivery: the same for every proposer,
// so the attempt is applied once. An alert id that a command id may not
// carry (ids from NewID always may) is replaced by its SM3 digest.
func AlertDeliveryCommandID(alertID string, n int) string {
	if !commandIDSafe.MatchString(alertID) {
		alertID = smcrypto.SM3Hex([]byte(alertID))[:32]
	}
	return fmt.Sprintf("alert.delivery.attempt:%s:%d", alertID, n)
}

var commandIDSafe = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// enqueueAlertDelivery makes the pending delivery of an alert raised in this
// transaction, when an alert webhook URL is set.
func enqueueAlertDelivery(tx *Tx, alertID string, at int64) error {
	var u string
	switch err := tx.QueryRow(`SELECT webhook_url FROM alert_settings WHERE id = 1`).Scan(&u); {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return err
	}
	if u == "" {
		return nil
	}
	_, err := tx.Exec(`INSERT INTO alert_deliveries (alert_id, url, status, attempts, next_attempt_ms, created_ms)
		VALUES (?, ?, 'pending', 0, ?, ?) ON CONFLICT (alert_id) DO NOTHING`, alertID, u, at, at)
	return err
}

func applyAlertDeliveryAttempt(tx *Tx, c *Command, p *AlertDeliveryAttempt) (any, error) {
	if c.Actor.Kind != ActorSystem {
		return nil, Denied("alert deliveries are recorded by the platform only")
	}
	var status string
	var attempts int
	var next, last, delivered int64
	var lastStatus int
	var lastErr string
	switch err := tx.QueryRow(`SELECT status, attempts FROM alert_deliveries WHERE alert_id = ?`, p.AlertID).Scan(&status, &attempts); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, NotFound("no such alert delivery")
	case err != nil:
		return nil, err
	}
	if status != DeliveryPending {
		return nil, Conflict("the delivery is " + status + ", not pending")
	}
	if p.Attempt != attempts+1 {
		return nil, Conflict(fmt.Sprintf("stale attempt %d: the delivery has had %d", p.Attempt, attempts))
	}
	attempts, last, lastStatus, lastErr = p.Attempt, c.At, p.HTTPStatus, p.Error
	switch {
	case p.OK:
		status, delivered = DeliveryDelivered, c.At
	case p.NextAttemptMs == 0 || attempts >= WebhookMaxAttempts:
		status = DeliveryFailed
	default:
		next = max(p.NextAttemptMs, c.At)
	}
	if _, err := tx.Exec(`UPDATE alert_deliveries SET status = ?, attempts = ?, next_attempt_ms = ?, last_attempt_ms = ?,
		last_status = ?, last_error = ?, delivered_ms = ? WHERE alert_id = ?`,
		status, attempts, next, last, lastStatus, lastErr, delivered, p.AlertID); err != nil {
		return nil, err
	}
	// Status and attempts only in the change record, never the URL.
	return map[string]any{"alert_id": p.AlertID, "status": status, "attempts": attempts}, nil
}

func init() {
	Handle(CmdAlertRulesSet, 1, 0, func(tx *Tx, c *Command, p *AlertRulesSet) (any, error) {
		if err := aplRequireRole(tx, c, RoleAdmin, RoleOperator); err != nil {
			return nil, err
		}
		if p.IfEmpty {
			var n int
			if err := tx.QueryRow(`SELECT COUNT(*) FROM alert_rules`).Scan(&n); err != nil {
				return nil, err
			}
			if n > 0 {
				return nil, nil
			}
		}
		b, err := json.Marshal(p.Rules)
		if err != nil {
			return nil, err
		}
		_, err = tx.Exec(`INSERT INTO alert_rules (id, rules_json, updated_ms, updated_by) VALUES (1, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET rules_json = excluded.rules_json, updated_ms = excluded.updated_ms, updated_by = excluded.updated_by`,
			string(b), c.At, c.Actor.ID)
		return nil, err
	})
	Handle(CmdAlertWebhookSet, 1, 0, func(tx *Tx, c *Command, p *AlertWebhookSet) (any, error) {
		if err := aplRequireRole(tx, c, RoleAdmin); err != nil {
			return nil, err
		}
		_, err := tx.Exec(`INSERT INTO alert_settings (id, webhook_url, updated_ms) VALUES (1, ?, ?)
			ON CONFLICT (id) DO UPDATE SET webhook_url = excluded.webhook_url, updated_ms = excluded.updated_ms`, p.URL, c.At)
		return nil, err
	})
	Handle(CmdAlertRaise, 1, 0, func(tx *Tx, c *Command, p *AlertRaise) (any, error) {
		if c.Actor.Kind != ActorSystem {
			return nil, Denied("alerts are raised by the platform only")
		}
		var id string
		switch err := tx.QueryRow(`SELECT id FROM alerts WHERE rule = ? AND subject = ? AND state <> 'resolved'`, p.Rule, p.Subject).Scan(&id); {
		case err == nil:
			return AlertRaised{ID: id, Deduplicated: true}, nil
		case !errors.Is(err, sql.ErrNoRows):
			return nil, err
		}
		if _, err := tx.Exec(`INSERT INTO alerts (id, rule, kind, subject, message, state, raised_ms, raised_by) VALUES (?, ?, ?, ?, ?, 'open', ?, ?)`,
			p.ID, p.Rule, string(p.Kind), p.Subject, p.Message, c.At, p.Node); err != nil {
			return nil, err
		}
		if err := enqueueAlertDelivery(tx, p.ID, c.At); err != nil {
			return nil, err
		}
		return AlertRaised{ID: p.ID}, nil
	})
	Handle(CmdAlertResolve, 1, 0, func(tx *Tx, c *Command, p *AlertResolve) (any, error) {
		if c.Actor.Kind != ActorSystem {
			return nil, Denied("alerts are resolved by the platform only")
		}
		res, err := tx.Exec(`UPDATE alerts SET state = 'resolved', resolved_ms = ? WHERE rule = ? AND subject = ? AND state <> 'resolved'`,
			c.At, p.Rule, p.Subject)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, NotFound("no unresolved alert for this rule and subject")
		}
		return nil, nil
	})
	Handle(CmdAlertAck, 1, 0, func(tx *Tx, c *Command, p *AlertAck) (any, error) {
		if err := aplRequireRole(tx, c, RoleAdmin, RoleOperator); err != nil {
			return nil, err
		}
		var state string
		switch err := tx.QueryRow(`SELECT state FROM alerts WHERE id = ?`, p.ID).Scan(&state); {
		case errors.Is(err, sql.ErrNoRows):
			return nil, NotFound("no such alert")
		case err != nil:
			return nil, err
		}
		if state != AlertOpen {
			return nil, Conflict("the alert is " + state + ", not open")
		}
		_, err := tx.Exec(`UPDATE alerts SET state = 'acked', acked_ms = ?, acked_by = ?, ack_note = ? WHERE id = ?`,
			c.At, c.Actor.Kind+":"+c.Actor.ID, p.Note, p.ID)
		return nil, err
	})
	Handle(CmdAlertDeliveryAttempt, 1, 0, applyAlertDeliveryAttempt)
}

// AlertRules returns the replicated rule set; ok is false before any was set.
func (s *Store) AlertRules() (rules []AlertRule, ok bool, err error) {
	err = s.read(func(db *sql.DB) error {
		var js string
		switch err := db.QueryRow(`SELECT rules_json FROM alert_rules WHERE id = 1`).Scan(&js); {
		case errors.Is(err, sql.ErrNoRows):
			return nil
		case err != nil:
			return err
		}
		ok = true
		return json.Unmarshal([]byte(js), &rules)
	})
	return rules, ok, err
}

// AlertWebhookURL returns the configured alert webhook URL ("" for none).
func (s *Store) AlertWebhookURL() (string, error) {
	var u string
	err := s.read(func(db *sql.DB) error {
		err := db.QueryRow(`SELECT webhook_url FROM alert_settings WHERE id = 1`).Scan(&u)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	})
	return u, err
}

// ListAlerts lists alerts in a state ("" or "all": every state), newest
// first, at most limit (1..1000), each with its webhook delivery.
func (s *Store) ListAlerts(state string, limit int) ([]AlertRecord, error) {
	if limit < 1 || limit > 1000 {
		limit = 1000
	}
	q, args := `SELECT `+alertColumns+`, d.status, d.attempts, d.next_attempt_ms, d.last_attempt_ms, d.last_status, d.last_error, d.delivered_ms
		FROM alerts a LEFT JOIN alert_deliveries d ON d.alert_id = a.id`, []any{}
	if state != "" && state != "all" {
		q += ` WHERE a.state = ?`
		args = append(args, state)
	}
	q += ` ORDER BY a.raised_ms DESC, a.id LIMIT ?`
	args = append(args, limit)
	var out []AlertRecord
	err := s.read(func(db *sql.DB) error {
		return queryRows(db, q, args, func(row rowScanner) error {
			var a AlertRecord
			var raised, acked, resolved int64
			var dStatus, dError sql.NullString
			var dAttempts, dNext, dLast, dLastStatus, dDelivered sql.NullInt64
			if err := row.Scan(append(alertDest(&a, &raised, &acked, &resolved),
				&dStatus, &dAttempts, &dNext, &dLast, &dLastStatus, &dError, &dDelivered)...); err != nil {
				return err
			}
			alertTimes(&a, raised, acked, resolved)
			if dStatus.Valid {
				d := &AlertDelivery{Status: dStatus.String, Attempts: int(dAttempts.Int64), LastStatus: int(dLastStatus.Int64), LastError: dError.String}
				if d.Status == DeliveryPending {
					d.NextAttemptAt = msTime(dNext.Int64)
				}
				d.LastAttemptAt, d.DeliveredAt = msTime(dLast.Int64), msTime(dDelivered.Int64)
				a.Delivery = d
			}
			out = append(out, a)
			return nil
		})
	})
	return out, err
}

const alertColumns = `a.id, a.rule, a.kind, a.subject, a.message, a.state, a.raised_ms, a.raised_by, a.acked_ms, a.acked_by, a.ack_note, a.resolved_ms`

// alertDest is the scan destinations of alertColumns.
func alertDest(a *AlertRecord, raised, acked, resolved *int64) []any {
	return []any{&a.ID, &a.Rule, (*string)(&a.Kind), &a.Subject, &a.Message, &a.State, raised, &a.RaisedBy, acked, &a.AckedBy, &a.AckNote, resolved}
}

func alertTimes(a *AlertRecord, raised, acked, resolved int64) {
	a.RaisedAt = time.UnixMilli(raised).UTC()
	a.AckedAt, a.ResolvedAt = msTime(acked), msTime(resolved)
}

// msTime is the UTC time of Unix milliseconds ms, nil for 0.
func msTime(ms int64) *time.Time {
	if ms <= 0 {
		return nil
	}
	t := time.UnixMilli(ms).UTC()
	return &t
}

// DueAlertDeliveries returns up to limit pending alert deliveries due at
// nowMs (Unix milliseconds), the longest-waiting first, each with its alert
// as raised (state open, without acknowledgement or resolution).
func (s *Store) DueAlertDeliveries(nowMs int64, limit int) (items []DueAlertDelivery, err error) {
	err = s.read(func(db *sql.DB) error {
		items, err = queryAll(db, func(row rowScanner) (x DueAlertDelivery, err error) {
			var raised, acked, resolved int64
			err = row.Scan(append(alertDest(&x.Alert, &raised, &acked, &resolved), &x.URL, &x.Attempts)...)
			x.Alert.State, x.Alert.RaisedAt = AlertOpen, time.UnixMilli(raised).UTC()
			x.Alert.AckedBy, x.Alert.AckNote = "", ""
			return x, err
		}, `SELECT `+alertColumns+`, d.url, d.attempts FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id
			WHERE d.status = 'pending' AND d.next_attempt_ms <= ? ORDER BY d.next_attempt_ms, d.alert_id LIMIT ?`, nowMs, limit)
		return err
	})
	return items, err
}

// Alert returns one alert.
func (s *Store) Alert(id string) (AlertRecord, bool, error) {
	all, err := s.ListAlerts("all", 1000)
	if err != nil {
		return AlertRecord{}, false, err
	}
	for _, a := range all {
		if a.ID == id {
			return a, true, nil
		}
	}
	return AlertRecord{}, false, nil
}
