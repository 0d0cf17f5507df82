package platform

import (
	"database/sql"
	"encoding/json"
	"errors"
	"sort"
	"time"
)

// ReportState is what the self-check report (package report) reads of the
// replicated state, at one applied index: the registry and the lists the
// registry does not hold in full (applicants, apps, credentials, alert
// rules). Secrets stay sealed: the report counts and dates them, never
// opens them.
type ReportState struct {
	Registry    *Registry
	Checkpoints []AuditCheckpoint // every node's
	Applicants  []Applicant
	Apps        []App
	// Credentials are every app's credentials, State at the read's time.
	Credentials []Credential
	// Admins are the bank's users, by username.
	Admins []AdminUser
	// AlertRules is the replicated rule set; AlertRulesSet is false
	// before any was set.
	AlertRules    []AlertRule
	AlertRulesSet bool
}

// ReadReportState reads the state database at path read-only, as ReadState
// does (the node may be running or stopped), with everything the report
// needs, in one read transaction.
func ReadReportState(path string, now time.Time) (*ReportState, error) {
	st := &ReportState{}
	reg, err := readState(path, func(tx queryer, reg *Registry) error {
		var err error
		if st.Checkpoints, err = auditCheckpoints(tx, ""); err != nil {
			return err
		}
		if st.Applicants, err = queryAll(tx, aplScanApplicant, "SELECT "+aplApplicantColumns+" FROM applicants ORDER BY created_ms, id"); err != nil {
			return err
		}
		if st.Apps, err = queryAll(tx, aplScanApp, "SELECT "+aplAppColumns+" FROM apps a ORDER BY a.created_ms, a.id"); err != nil {
			return err
		}
		if st.Credentials, err = queryAll(tx, aplScanCredentialAt(now), "SELECT "+aplCredentialColumns+", a.applicant_id FROM credentials c JOIN apps a ON a.id = c.app_id ORDER BY c.created_ms, c.id"); err != nil {
			return err
		}
		var js string
		switch err := tx.QueryRow(`SELECT rules_json FROM alert_rules WHERE id = 1`).Scan(&js); {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		default:
			st.AlertRulesSet = true
			if err := json.Unmarshal([]byte(js), &st.AlertRules); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	st.Registry = reg
	st.Admins = reg.Auth.Admins()
	return st, nil
}

// Admins returns every bank user, by username.
func (v *AuthView) Admins() []AdminUser {
	out := make([]AdminUser, 0, len(v.adminsByID))
	for _, u := range v.adminsByID {
		out = append(out, *u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Username < out[j].Username })
	return out
}
