package platform

import (
	"database/sql"
	"errors"
	"strings"
	"time"
	"unicode/utf8"
)

// Security defect reports: a developer reports a weakness of the
// gateway, the protocol, the SDK or the manual privately to the bank, in the
// developer portal; the bank's users read the reports in the admin API.

// CmdSecurityReportSubmit records a developer's security defect report.
const CmdSecurityReportSubmit = "security_report.submit"

// SecurityReportSubmit is CmdSecurityReportSubmit's payload; the reporter is
// the command's actor (a developer).
type SecurityReportSubmit struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Body  string `json:"body"`
	AppID string `json:"app_id,omitempty"`
}

// Validate bounds the report.
func (p *SecurityReportSubmit) Validate() error {
	switch n := utf8.RuneCountInString(strings.TrimSpace(p.Title)); {
	case !strings.HasPrefix(p.ID, "srp_") || len(p.ID) > 64:
		return Invalid("id", "must be srp_…")
	case n < 3 || n > 200:
		return Invalid("title", "3 to 200 characters")
	case utf8.RuneCountInString(strings.TrimSpace(p.Body)) < 20 || len(p.Body) > 20000:
		return Invalid("body", "20 characters to 20000 bytes: what you did, what you expected, what happened")
	case len(p.AppID) > 64:
		return Invalid("app_id", "at most 64 characters")
	}
	return nil
}

// SecurityReport is one report as stored.
type SecurityReport struct {
	ID          string    `json:"id"`
	DeveloperID string    `json:"developer_id"`
	Title       string    `json:"title"`
	Body        string    `json:"body"`
	AppID       string    `json:"app_id,omitempty"`
	Created     time.Time `json:"created"`
}

func init() {
	Handle(CmdSecurityReportSubmit, 1, 0, func(tx *Tx, c *Command, p *SecurityReportSubmit) (any, error) {
		if c.Actor.Kind != ActorDeveloper || c.Actor.ID == "" {
			return nil, Denied("security reports come from developers in the portal")
		}
		_, err := tx.Exec(`INSERT INTO security_reports (id, developer_id, title, body, app_id, created_ms) VALUES (?, ?, ?, ?, ?, ?)`,
			p.ID, c.Actor.ID, p.Title, p.Body, p.AppID, c.At)
		if err != nil {
			return nil, err
		}
		return map[string]string{"id": p.ID}, nil
	})
}

// SecurityReportByID returns one report; ok is false when there is none.
func (s *Store) SecurityReportByID(id string) (r SecurityReport, ok bool, err error) {
	err = s.read(func(db *sql.DB) error {
		var ms int64
		switch err := db.QueryRow(`SELECT id, developer_id, title, body, app_id, created_ms FROM security_reports WHERE id = ?`, id).
			Scan(&r.ID, &r.DeveloperID, &r.Title, &r.Body, &r.AppID, &ms); {
		case errors.Is(err, sql.ErrNoRows):
			return nil
		case err != nil:
			return err
		}
		ok, r.Created = true, time.UnixMilli(ms).UTC()
		return nil
	})
	return r, ok, err
}

// ListSecurityReports lists reports, newest first: a developer's
// (developerID) or everyone's (""), a page of them and their total.
func (s *Store) ListSecurityReports(developerID string, limit, offset int) ([]SecurityReport, int, error) {
	where, args := "", []any{}
	if developerID != "" {
		where, args = ` WHERE developer_id = ?`, []any{developerID}
	}
	var out []SecurityReport
	total := 0
	err := s.read(func(db *sql.DB) error {
		if err := db.QueryRow(`SELECT COUNT(*) FROM security_reports`+where, args...).Scan(&total); err != nil {
			return err
		}
		return queryRows(db, `SELECT id, developer_id, title, body, app_id, created_ms FROM security_reports`+where+
			` ORDER BY created_ms DESC, id LIMIT ? OFFSET ?`, append(args, limit, offset), func(row rowScanner) error {
			var r SecurityReport
			var ms int64
			if err := row.Scan(&r.ID, &r.DeveloperID, &r.Title, &r.Body, &r.AppID, &ms); err != nil {
				return err
			}
			r.Created = time.UnixMilli(ms).UTC()
			out = append(out, r)
			return nil
		})
	})
	return out, total, err
}
