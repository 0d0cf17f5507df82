package portal

import (
	"encoding/json"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"lijiang/platform"
)

// Operators' controls over HTTP (issue 12, R-7.3.2, R-8a, R-10.1.2):
// pausing and resuming an API or an app (no If-Match: an emergency
// control), the global IP deny-list, and limit policies of the global, app,
// API and app+API scopes. Operators (and admins) change them, every admin
// role reads them; relaxing the global policy is a proposal another reviewer
// approves (maker-checker, as grants to production apps). Each change is a
// replicated command, in the change log, in force on every node once
// applied there.

func init() {
	adminMounts = append(adminMounts, mountAdminControls)
	for _, k := range []string{"admin POST /apis/{id}/pause", "admin POST /apis/{id}/resume", "admin POST /apps/{app_id}/pause", "admin POST /apps/{app_id}/resume",
		"admin POST /limit-proposals/{id}/approve"} {
		routeBody[k] = bodyDoc{optional: true}
	}
	routeQuery["admin GET /limit-proposals"] = paged("status")
	routeBody["admin POST /limit-proposals/{id}/reject"] = bodyDoc{required: []string{"reason"}}
	requestExamples[reflect.TypeOf(pauseRequest{})] = pauseRequest{Reason: "上游核心系统升级 / core banking upgrade", ResumeAt: ptr(exampleTime.Add(2 * time.Hour))}
	requestExamples[reflect.TypeOf(resumeRequest{})] = resumeRequest{Reason: "升级完成 / upgrade done"}
	requestExamples[reflect.TypeOf(denylistRequest{})] = denylistRequest{Entries: []string{"198.51.100.0/24", "2001:db8:bad::/48", "203.0.113.7"}}
	requestExamples[reflect.TypeOf(platform.LimitPolicy{})] = platform.LimitPolicy{
		RatePerSecond: &platform.LimitRule{Limit: 50, Action: platform.ActionReject},
		DailyQuota:    &platform.LimitRule{Limit: 100000, Action: platform.ActionAlert},
	}
}

func mountAdminControls(s *Server, g *echo.Group) {
	op := s.requireAdmin(platform.RoleOperator)
	read := s.requireAdmin()
	review := s.requireReviewer()

	g.POST("/apis/:id/pause", s.pause(platform.PauseTargetAPI, "id"), op)
	s.doc("admin", "POST", "/apis/{id}/pause", "Pause an API: every call answers API_PAUSED (with Retry-After the seconds to resume_at, when set) on every node within a second; no If-Match (an emergency control); optional body {reason, resume_at} (operator)", pauseRequest{}, pauseJSON{})
	g.POST("/apis/:id/resume", s.resume(platform.PauseTargetAPI, "id"), op)
	s.doc("admin", "POST", "/apis/{id}/resume", "Resume a paused API; optional body {reason} (operator)", resumeRequest{}, pauseJSON{})
	g.POST("/apps/:app_id/pause", s.pause(platform.PauseTargetApp, "app_id"), op)
	s.doc("admin", "POST", "/apps/{app_id}/pause", "Pause an app: every call of it answers API_PAUSED (with Retry-After when resume_at is set); no If-Match; optional body {reason, resume_at} (operator)", pauseRequest{}, pauseJSON{})
	g.POST("/apps/:app_id/resume", s.resume(platform.PauseTargetApp, "app_id"), op)
	s.doc("admin", "POST", "/apps/{app_id}/resume", "Resume a paused app; optional body {reason} (operator)", resumeRequest{}, pauseJSON{})
	g.GET("/pauses", s.listPauses, read)
	s.doc("admin", "GET", "/pauses", "The pauses in force (APIs and apps), by an operator or a limit's pause action", nil, pausesJSON{})

	g.GET("/ip-denylist", s.getDenylist, read)
	s.doc("admin", "GET", "/ip-denylist", "The global IP deny-list: canonical IPv4 and IPv6 prefixes", nil, denylistJSON{})
	g.PUT("/ip-denylist", s.putDenylist, op)
	s.doc("admin", "PUT", "/ip-denylist", "Replace the global IP deny-list: addresses or CIDR prefixes, at most 10000, stored canonical (masked, sorted, without duplicates); calls from a listed address answer IP_DENIED (operator)", denylistRequest{}, denylistJSON{})

	g.GET("/apps/:app_id/ip-allowlist", s.getAppAllowlist, read)
	s.doc("admin", "GET", "/apps/{app_id}/ip-allowlist", "The app's own IP allow-list (its applicant's list applies too; both must allow a caller)", nil, denylistJSON{})
	g.PUT("/apps/:app_id/ip-allowlist", s.putAppAllowlist, op)
	s.doc("admin", "PUT", "/apps/{app_id}/ip-allowlist", "Replace the app's own IP allow-list: addresses or CIDR prefixes, stored canonical; an empty list removes it; calls from elsewhere answer IP_DENIED (operator)", denylistRequest{}, denylistJSON{})

	g.GET("/limits/global", s.getLimits(platform.ScopeGlobal), read)
	s.doc("admin", "GET", "/limits/global", "The global limit policy: every call counts", nil, limitsJSON{})
	g.PUT("/limits/global", s.putLimits(platform.ScopeGlobal), op)
	s.doc("admin", "PUT", "/limits/global", "Replace the global limit policy (operator): a tightening takes effect at once (200); a relaxation (a limit raised or removed, an action weakened to alert) answers 202 with a proposal another reviewer approves", platform.LimitPolicy{}, limitsJSON{})
	g.GET("/apps/:app_id/limits", s.getLimits(platform.ScopeApp), read)
	s.doc("admin", "GET", "/apps/{app_id}/limits", "The app's limit policy: all its calls together", nil, limitsJSON{})
	g.PUT("/apps/:app_id/limits", s.putLimits(platform.ScopeApp), op)
	s.doc("admin", "PUT", "/apps/{app_id}/limits", "Replace the app's limit policy; an empty object removes it (operator)", platform.LimitPolicy{}, limitsJSON{})
	g.GET("/apis/:id/limits", s.getLimits(platform.ScopeAPI), read)
	s.doc("admin", "GET", "/apis/{id}/limits", "The API's limit policy: all apps' calls of it together", nil, limitsJSON{})
	g.PUT("/apis/:id/limits", s.putLimits(platform.ScopeAPI), op)
	s.doc("admin", "PUT", "/apis/{id}/limits", "Replace the API's limit policy; an empty object removes it (operator)", platform.LimitPolicy{}, limitsJSON{})
	g.GET("/apps/:app_id/apis/:api_id/limits", s.getLimits(platform.ScopeAppAPI), read)
	s.doc("admin", "GET", "/apps/{app_id}/apis/{api_id}/limits", "The app's limit policy for one API; each kind it sets replaces the grant's (or API's) limit field of that kind", nil, limitsJSON{})
	g.PUT("/apps/:app_id/apis/:api_id/limits", s.putLimits(platform.ScopeAppAPI), op)
	s.doc("admin", "PUT", "/apps/{app_id}/apis/{api_id}/limits", "Replace the app's limit policy for one API; an empty object removes it (operator)", platform.LimitPolicy{}, limitsJSON{})

	g.GET("/limit-proposals", s.listLimitProposals, read)
	s.doc("admin", "GET", "/limit-proposals", "Proposed relaxations of the global limits, newest first; filter status (pending, approved, rejected)", nil, List[platform.LimitsProposal]{})
	g.GET("/limit-proposals/:id", s.getLimitProposal, read)
	s.doc("admin", "GET", "/limit-proposals/{id}", "One proposal of the global limits", nil, platform.LimitsProposal{})
	g.POST("/limit-proposals/:id/approve", s.decideLimitProposal(true), review)
	s.doc("admin", "POST", "/limit-proposals/{id}/approve", "Approve a pending proposal: the global policy becomes the proposed one; optional body {reason} (the reviewer role only; a reviewer who did not propose it)", reasonRequest{}, platform.LimitsProposal{})
	g.POST("/limit-proposals/:id/reject", s.decideLimitProposal(false), review)
	s.doc("admin", "POST", "/limit-proposals/{id}/reject", "Reject a pending proposal with a reason (the reviewer role only; a reviewer who did not propose it)", reasonRequest{}, platform.LimitsProposal{})
}

type pauseRequest struct {
	Reason   string     `json:"reason,omitempty" doc:"why, up to 500 bytes; kept in the change log, never shown to callers"`
	ResumeAt *time.Time `json:"resume_at,omitempty" doc:"when the pause ends by itself (RFC 3339), in the future and at most 30 days ahead; absent: until resumed"`
}

type resumeRequest struct {
	Reason string `json:"reason,omitempty" doc:"why, up to 500 bytes"`
}

// pauseJSON is the pause state of an API or app.
type pauseJSON struct {
	Paused bool            `json:"paused" doc:"whether calls are paused now"`
	Pause  *platform.Pause `json:"pause,omitempty" doc:"the pause in force"`
}

type pausesJSON struct {
	Items []platform.Pause `json:"items" doc:"the pauses in force"`
}

type denylistRequest struct {
	Entries []string `json:"entries" oa:"required" doc:"IPv4 or IPv6 addresses or CIDR prefixes (at most 10000 in the deny-list, 100 in an app's allow-list); an empty list clears it"`
}

type denylistJSON struct {
	Entries []string `json:"entries" doc:"canonical prefixes, sorted"`
}

// limitsJSON is the limit policy of a scope.
type limitsJSON struct {
	Scope  string               `json:"scope" doc:"global, app, api or app_api"`
	AppID  string               `json:"app_id,omitempty"`
	APIID  string               `json:"api_id,omitempty"`
	Policy platform.LimitPolicy `json:"policy" doc:"the limits; an absent kind is no limit of this scope"`
	// Proposal is the proposal a relaxation of the global policy made.
	Proposal *platform.LimitsProposal `json:"proposal,omitempty" doc:"a relaxation of the global policy: the proposal awaiting another reviewer"`
}

func (s *Server) pauseState(target, id string) pauseJSON {
	v, ok := s.store.Registry().Settings[platform.PauseSettingKey(target, id)]
	if !ok {
		return pauseJSON{}
	}
	var p platform.Pause
	if json.Unmarshal([]byte(v), &p) != nil || !p.Active(s.now()) {
		return pauseJSON{}
	}
	return pauseJSON{Paused: true, Pause: &p}
}

func (s *Server) pause(target, param string) echo.HandlerFunc {
	return func(c echo.Context) error {
		var req pauseRequest
		if err := s.bindOptional(c, &req); err != nil {
			return err
		}
		p := platform.ControlPause{Target: target, ID: c.Param(param), Reason: req.Reason}
		if req.ResumeAt != nil {
			now := s.now()
			switch {
			case !req.ResumeAt.After(now):
				return badRequest("resume_at", "must be in the future")
			case req.ResumeAt.Sub(now) > 30*24*time.Hour:
				return badRequest("resume_at", "must be at most 30 days ahead; leave it out to pause until resumed")
			}
			p.ResumeAtMs = req.ResumeAt.UnixMilli()
		}
		if err := p.Validate(); err != nil {
			return err
		}
		ps, err := execResult[platform.Pause](s, c, platform.CmdControlPause, 1, p)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, pauseJSON{Paused: true, Pause: &ps})
	}
}

func (s *Server) resume(target, param string) echo.HandlerFunc {
	return func(c echo.Context) error {
		var req resumeRequest
		if err := s.bindOptional(c, &req); err != nil {
			return err
		}
		p := platform.ControlResume{Target: target, ID: c.Param(param), Reason: req.Reason}
		if err := p.Validate(); err != nil {
			return err
		}
		if _, err := s.exec(c, platform.CmdControlResume, 1, p); err != nil {
			return err
		}
		return c.JSON(http.StatusOK, pauseJSON{})
	}
}

func (s *Server) listPauses(c echo.Context) error {
	ctl := platform.ParseControls(s.store.Registry().Settings)
	now := s.now()
	out := pausesJSON{Items: []platform.Pause{}}
	for _, p := range ctl.Pauses {
		if p.Active(now) {
			out.Items = append(out.Items, *p)
		}
	}
	sort.Slice(out.Items, func(i, j int) bool { return out.Items[i].At.After(out.Items[j].At) })
	return c.JSON(http.StatusOK, out)
}

func (s *Server) getDenylist(c echo.Context) error {
	v := s.store.Registry().Settings[platform.SettingDenylist]
	out := denylistJSON{Entries: []string{}}
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' }) {
		out.Entries = append(out.Entries, f)
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) putDenylist(c echo.Context) error {
	var req denylistRequest
	if err := s.bind(c, &req); err != nil {
		return err
	}
	if req.Entries == nil {
		return badRequest("entries", "is required (an empty list clears the deny-list)")
	}
	p := platform.ControlDenylist{Entries: req.Entries}
	if err := p.Validate(); err != nil {
		return err
	}
	entries, err := execResult[[]string](s, c, platform.CmdControlDenylist, 1, p)
	if err != nil {
		return err
	}
	if entries == nil {
		entries = []string{}
	}
	return c.JSON(http.StatusOK, denylistJSON{Entries: entries})
}

func (s *Server) getAppAllowlist(c echo.Context) error {
	if _, err := s.store.App(c.Param("app_id")); err != nil {
		return notFoundAs(err, "app")
	}
	out := denylistJSON{Entries: []string{}}
	if v := s.store.Registry().Settings[platform.AllowlistSettingKey(c.Param("app_id"))]; v != "" {
		out.Entries = strings.Split(v, ",")
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) putAppAllowlist(c echo.Context) error {
	var req denylistRequest
	if err := s.bind(c, &req); err != nil {
		return err
	}
	if req.Entries == nil {
		return badRequest("entries", "is required (an empty list removes the app's allow-list)")
	}
	p := platform.AppAllowlist{AppID: c.Param("app_id"), Entries: req.Entries}
	if err := p.Validate(); err != nil {
		return err
	}
	entries, err := execResult[[]string](s, c, platform.CmdAppAllowlist, 1, p)
	if err != nil {
		return err
	}
	if entries == nil {
		entries = []string{}
	}
	return c.JSON(http.StatusOK, denylistJSON{Entries: entries})
}

// scopeIDs reads the scope's ids from the path.
func scopeIDs(c echo.Context, scope string) (appID, apiID string) {
	switch scope {
	case platform.ScopeApp:
		return c.Param("app_id"), ""
	case platform.ScopeAPI:
		return "", c.Param("id")
	case platform.ScopeAppAPI:
		return c.Param("app_id"), c.Param("api_id")
	}
	return "", ""
}

func (s *Server) currentPolicy(scope, appID, apiID string) platform.LimitPolicy {
	var p platform.LimitPolicy
	if v, ok := s.store.Registry().Settings[platform.LimitsSettingKey(scope, appID, apiID)]; ok {
		_ = json.Unmarshal([]byte(v), &p)
	}
	return p
}

func (s *Server) getLimits(scope string) echo.HandlerFunc {
	return func(c echo.Context) error {
		appID, apiID := scopeIDs(c, scope)
		if appID != "" {
			if _, err := s.store.App(appID); err != nil {
				return notFoundAs(err, "app")
			}
		}
		if apiID != "" {
			if _, ok := s.catalogue().API(apiID); !ok {
				return notFoundAs(platform.NotFound("no such API"), "API")
			}
		}
		return c.JSON(http.StatusOK, limitsJSON{Scope: scope, AppID: appID, APIID: apiID, Policy: s.currentPolicy(scope, appID, apiID)})
	}
}

func (s *Server) putLimits(scope string) echo.HandlerFunc {
	return func(c echo.Context) error {
		var pol platform.LimitPolicy
		if err := s.bind(c, &pol); err != nil {
			return err
		}
		appID, apiID := scopeIDs(c, scope)
		p := platform.LimitsSet{Scope: scope, AppID: appID, APIID: apiID, Policy: pol}
		if err := p.Validate(); err != nil {
			return err
		}
		if scope == platform.ScopeGlobal {
			old := s.currentPolicy(scope, "", "")
			if old.Relaxes(&pol) {
				lp, err := execResult[platform.LimitsProposal](s, c, platform.CmdLimitsPropose, 1,
					platform.LimitsPropose{ProposalID: platform.NewID("lpr"), Policy: pol})
				if err != nil {
					return err
				}
				c.Response().Header().Set("Location", AdminPrefix+"/limit-proposals/"+lp.ID)
				return c.JSON(http.StatusAccepted, limitsJSON{Scope: scope, Policy: old, Proposal: &lp})
			}
		}
		out, err := execResult[platform.LimitPolicy](s, c, platform.CmdLimitsSet, 1, p)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, limitsJSON{Scope: scope, AppID: appID, APIID: apiID, Policy: out})
	}
}

func (s *Server) listLimitProposals(c echo.Context) error {
	return listPage(s, c, func(pg Page) ([]platform.LimitsProposal, int, error) {
		st := c.QueryParam("status")
		switch st {
		case "", platform.GrantProposalPending, platform.GrantProposalApproved, platform.GrantProposalRejected:
		default:
			return nil, 0, badRequest("status", "must be pending, approved or rejected")
		}
		return s.store.ListLimitsProposals(st, pg.Limit, pg.Offset)
	})
}

func (s *Server) getLimitProposal(c echo.Context) error {
	lp, err := s.store.LimitsProposal(c.Param("id"))
	if err != nil {
		return notFoundAs(err, "limits proposal")
	}
	return c.JSON(http.StatusOK, lp)
}

func (s *Server) decideLimitProposal(approve bool) echo.HandlerFunc {
	typ := platform.CmdLimitsReject
	if approve {
		typ = platform.CmdLimitsApprove
	}
	return func(c echo.Context) error {
		var req reasonRequest
		if err := s.bindOptional(c, &req); err != nil {
			return err
		}
		if _, err := s.store.LimitsProposal(c.Param("id")); err != nil {
			return notFoundAs(err, "limits proposal")
		}
		p := platform.LimitsDecision{ProposalID: c.Param("id"), Reason: req.Reason}
		if err := p.Validate(); err != nil {
			return err
		}
		lp, err := execResult[platform.LimitsProposal](s, c, typ, 1, p)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, lp)
	}
}
