package report

import (
	"sort"
	"time"

	"lijiang/platform"
)

// unusedAfter is how long a grant may go without a call before the review
// lists it.
const unusedAfter = 90 * 24 * time.Hour

// AccessReview is who may do what: the bank's users and the
// applicants' grants.
type AccessReview struct {
	Users        []UserReview  `json:"users"`
	Apps         []AppReview   `json:"apps"`
	GrantCount   int           `json:"grants"`
	A2Grants     int           `json:"a2_grants"`
	Unused90     []GrantReview `json:"grants_unused_90_days"`
	ExpiredCreds []string      `json:"apps_with_expired_credentials"`
	ExitedActive []string      `json:"exited_applicants_with_active_access"`
	LastUseNote  string        `json:"last_use_note"`
}

// UserReview is one bank user: no display name, no password, no second
// factor's secret.
type UserReview struct {
	ID           string     `json:"id"`
	Username     string     `json:"username"`
	Role         string     `json:"role"`
	Status       string     `json:"status"`
	LastLogin    *time.Time `json:"last_login,omitempty"`
	SecondFactor bool       `json:"second_factor"`
	FailedLogins int        `json:"failed_logins"`
	Locked       bool       `json:"locked"`
	Sessions     int        `json:"open_sessions"`
}

// AppReview is one app and its grants.
type AppReview struct {
	AppID           string        `json:"app_id"`
	ApplicantID     string        `json:"applicant_id"`
	ApplicantStatus string        `json:"applicant_status"`
	Env             string        `json:"env"`
	Status          string        `json:"status"`
	LastUse         *time.Time    `json:"last_use,omitempty"`
	Credentials     int           `json:"active_credentials"`
	Grants          []GrantReview `json:"grants"`
}

// GrantReview is one grant and its last use on this node.
type GrantReview struct {
	AppID     string     `json:"app_id"`
	APIID     string     `json:"api_id"`
	Level     string     `json:"level"`
	GrantedBy string     `json:"granted_by"`
	Granted   time.Time  `json:"granted"`
	LastUse   *time.Time `json:"last_use,omitempty"`
}

func ts(ms int64) *time.Time {
	if ms == 0 {
		return nil
	}
	t := time.UnixMilli(ms).UTC()
	return &t
}

func accessReview(in Input, scan *auditScan) AccessReview {
	st := in.State
	reg := st.Registry
	ar := AccessReview{Users: []UserReview{}, Apps: []AppReview{}, Unused90: []GrantReview{}, ExpiredCreds: []string{}, ExitedActive: []string{},
		LastUseNote: "last use is this node's: calls answered by other nodes are in their audit stores"}
	for _, u := range st.Admins {
		r := UserReview{ID: u.ID, Username: u.Username, Role: u.Role, Status: u.Status, SecondFactor: len(u.TOTPSealed) > 0,
			FailedLogins: u.FailedLogins, Locked: u.LockedUntil.After(in.Now)}
		if !u.LastLogin.IsZero() {
			t := u.LastLogin.UTC()
			r.LastLogin = &t
		}
		for _, s := range reg.Auth.Sessions(u.ID) {
			if s.Valid(in.Now) {
				r.Sessions++
			}
		}
		ar.Users = append(ar.Users, r)
	}
	applicants := map[string]platform.Applicant{}
	for _, a := range st.Applicants {
		applicants[a.ID] = a
	}
	active, expired := map[string]int{}, map[string]int{}
	for _, c := range st.Credentials {
		switch c.State {
		case platform.CredentialActive:
			active[c.AppID]++
		case "expired":
			expired[c.AppID]++
		}
	}
	exited := map[string][]string{}
	for _, a := range st.Apps {
		app := AppReview{AppID: a.ID, ApplicantID: a.ApplicantID, ApplicantStatus: applicants[a.ApplicantID].Status, Env: a.Env, Status: a.Status,
			LastUse: ts(scan.appLastUse[a.ID]), Credentials: active[a.ID], Grants: []GrantReview{}}
		for _, g := range reg.Catalogue.GrantsOf(a.ID) {
			gr := GrantReview{AppID: g.AppID, APIID: g.APIID, GrantedBy: g.GrantedBy, Granted: time.UnixMilli(g.GrantedMs).UTC(), LastUse: ts(scan.lastUse[[2]string{g.AppID, g.APIID}])}
			if api, ok := reg.Catalogue.API(g.APIID); ok {
				gr.Level = api.Level
			}
			if gr.Level == "A2" {
				ar.A2Grants++
			}
			ar.GrantCount++
			since := g.GrantedMs
			if l := scan.lastUse[[2]string{g.AppID, g.APIID}]; l > since {
				since = l
			}
			if in.Now.Sub(time.UnixMilli(since)) > unusedAfter {
				ar.Unused90 = append(ar.Unused90, gr)
			}
			app.Grants = append(app.Grants, gr)
		}
		if a.Status == platform.AppActive && expired[a.ID] > 0 {
			ar.ExpiredCreds = append(ar.ExpiredCreds, a.ID)
		}
		if applicants[a.ApplicantID].Status == platform.ApplicantExited {
			if a.Status == platform.AppActive {
				exited[a.ApplicantID] = append(exited[a.ApplicantID], "app "+a.ID+" active")
			}
			if active[a.ID] > 0 {
				exited[a.ApplicantID] = append(exited[a.ApplicantID], "app "+a.ID+" has active credentials")
			}
			if len(app.Grants) > 0 {
				exited[a.ApplicantID] = append(exited[a.ApplicantID], "app "+a.ID+" keeps grants")
			}
		}
		ar.Apps = append(ar.Apps, app)
	}
	for id, what := range exited {
		for _, w := range what {
			ar.ExitedActive = append(ar.ExitedActive, "applicant "+id+": "+w)
		}
	}
	sort.Strings(ar.ExitedActive)
	return ar
}

// reviewChecks turn the access review's findings into checks: an exited
// applicant with anything active fails, grants unused for 90 days
// and active apps with expired credentials warn (R-7.3.1: review them).
func reviewChecks(ar AccessReview) []Check {
	exited := Check{ID: "review.exited_applicants", Title: "Exited applicants with anything still active", TitleZH: "已退出应用方仍有有效应用、凭证或授权",
		Affects: []string{"R-9.4"}, Action: "revoke the credentials and grants and suspend the apps of exited applicants (the exit command does; check what was added since)"}
	exited = result(exited, ar.ExitedActive, nil, []string{"no exited applicant has an active app, credential or grant"})
	grants := Check{ID: "review.grants", Title: "Grants unused for 90 days, apps with expired credentials", TitleZH: "90 天未使用的授权与凭证已过期的应用",
		Affects: []string{"R-7.3.1"}, Action: "review each with the applicant: revoke grants no longer needed (least privilege); have expired credentials replaced or revoked"}
	var warn []string
	for _, g := range ar.Unused90 {
		warn = append(warn, "grant "+g.AppID+" → "+g.APIID+" ("+g.Level+") unused for 90 days")
	}
	for _, a := range ar.ExpiredCreds {
		warn = append(warn, "app "+a+" is active with an expired credential")
	}
	grants = result(grants, nil, warn, []string{"every grant was used or made within 90 days; no active app holds an expired credential"})
	return []Check{exited, grants}
}
