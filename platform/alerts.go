package platform

import (
	"database/sql"
	"encoding/json"
	"errors"
	"net/url"
	"time"
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
// first, at most limit (1..1000).
func (s *Store) ListAlerts(state string, limit int) ([]AlertRecord, error) {
	if limit < 1 || limit > 1000 {
		limit = 1000
	}
	q, args := `SELECT id, rule, kind, subject, message, state, raised_ms, raised_by, acked_ms, acked_by, ack_note, resolved_ms FROM alerts`, []any{}
	if state != "" && state != "all" {
		q += ` WHERE state = ?`
		args = append(args, state)
	}
	q += ` ORDER BY raised_ms DESC, id LIMIT ?`
	args = append(args, limit)
	var out []AlertRecord
	err := s.read(func(db *sql.DB) error {
		return queryRows(db, q, args, func(row rowScanner) error {
			var a AlertRecord
			var kind string
			var raised, acked, resolved int64
			if err := row.Scan(&a.ID, &a.Rule, &kind, &a.Subject, &a.Message, &a.State, &raised, &a.RaisedBy, &acked, &a.AckedBy, &a.AckNote, &resolved); err != nil {
				return err
			}
			a.Kind = AlertKind(kind)
			a.RaisedAt = time.UnixMilli(raised).UTC()
			if acked > 0 {
				t := time.UnixMilli(acked).UTC()
				a.AckedAt = &t
			}
			if resolved > 0 {
				t := time.UnixMilli(resolved).UTC()
				a.ResolvedAt = &t
			}
			out = append(out, a)
			return nil
		})
	})
	return out, err
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
