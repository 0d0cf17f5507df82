package portal

import (
	"net/http"
	"reflect"

	"github.com/labstack/echo/v4"

	"lijiang/platform"
)

// Alerts over HTTP (issue 12, R-10.1.1, R-10.5): the replicated alert list
// (every node answers the same), acknowledgement by an operator or admin
// (who and when recorded, in the change log and so in every node's audit
// chain), the rule set (operators) and the alert webhook (admins).

func init() {
	adminMounts = append(adminMounts, mountAdminAlerts)
	routeQuery["admin GET /alerts"] = []string{"state"}
	routeBody["admin POST /alerts/{id}/ack"] = bodyDoc{optional: true}
	requestExamples[reflect.TypeOf(alertAckRequest{})] = alertAckRequest{Note: "已联系核心系统值班 / core banking on-call paged"}
	requestExamples[reflect.TypeOf(alertRulesJSON{})] = alertRulesJSON{Rules: platform.DefaultAlertRules()[:2]}
	requestExamples[reflect.TypeOf(alertWebhookJSON{})] = alertWebhookJSON{URL: "https://ops.bank.example/hooks/lijiang-alerts"}
}

func mountAdminAlerts(s *Server, g *echo.Group) {
	read := s.requireAdmin()
	op := s.requireAdmin(platform.RoleOperator)
	admin := s.requireAdmin(platform.RoleAdmin)
	g.GET("/alerts", s.listAlerts, read)
	s.doc("admin", "GET", "/alerts", "Alerts, newest first (at most 1000): state open, acked, resolved or all (default open)", nil, alertsJSON{})
	g.GET("/alerts/:id", s.getAlert, read)
	s.doc("admin", "GET", "/alerts/{id}", "One alert", nil, platform.AlertRecord{})
	g.POST("/alerts/:id/ack", s.ackAlert, op)
	s.doc("admin", "POST", "/alerts/{id}/ack", "Acknowledge an open alert; who and when are recorded; optional body {note} (operator)", alertAckRequest{}, platform.AlertRecord{})
	g.GET("/alert-rules", s.getAlertRules, op)
	s.doc("admin", "GET", "/alert-rules", "The alert rules (operator)", nil, alertRulesJSON{})
	g.PUT("/alert-rules", s.putAlertRules, op)
	s.doc("admin", "PUT", "/alert-rules", "Replace the alert rules; each rule is validated strictly (known kind, thresholds in range, no field of another kind) and a bad one refuses the whole set (operator)", alertRulesJSON{}, alertRulesJSON{})
	g.GET("/alert-webhook", s.getAlertWebhook, admin)
	s.doc("admin", "GET", "/alert-webhook", "The URL alerts are delivered to, signed as change notices are (admin)", nil, alertWebhookJSON{})
	g.PUT("/alert-webhook", s.putAlertWebhook, admin)
	s.doc("admin", "PUT", "/alert-webhook", "Set the alert webhook URL (absolute http(s)); an empty url turns delivery off (admin)", alertWebhookJSON{}, alertWebhookJSON{})
}

type alertsJSON struct {
	Items []platform.AlertRecord `json:"items" doc:"the alerts, newest first"`
}

type alertAckRequest struct {
	Note string `json:"note,omitempty" doc:"what is being done, up to 1024 bytes; kept with the alert"`
}

type alertRulesJSON struct {
	Rules []platform.AlertRule `json:"rules" oa:"required" doc:"the rules: id, kind (success_rate, p99, breaker_open, node_unreachable, node_lagging, expiring, audit_failure, limit_action, signature_failures, admin_lockout, attack_deny, risk_decision), enabled and the kind's thresholds"`
}

type alertWebhookJSON struct {
	URL string `json:"url" oa:"required" doc:"absolute http(s) URL without credentials; empty: no delivery"`
}

func (s *Server) listAlerts(c echo.Context) error {
	st := c.QueryParam("state")
	switch st {
	case "":
		st = platform.AlertOpen
	case platform.AlertOpen, platform.AlertAcked, platform.AlertResolved, "all":
	default:
		return badRequest("state", "must be open, acked, resolved or all")
	}
	items, err := s.store.ListAlerts(st, 1000)
	if err != nil {
		return err
	}
	if items == nil {
		items = []platform.AlertRecord{}
	}
	return c.JSON(http.StatusOK, alertsJSON{Items: items})
}

func (s *Server) getAlert(c echo.Context) error {
	a, ok, err := s.store.Alert(c.Param("id"))
	if err != nil {
		return err
	}
	if !ok {
		return notFoundAs(platform.NotFound("no such alert"), "alert")
	}
	return c.JSON(http.StatusOK, a)
}

func (s *Server) ackAlert(c echo.Context) error {
	var req alertAckRequest
	if err := s.bindOptional(c, &req); err != nil {
		return err
	}
	p := platform.AlertAck{ID: c.Param("id"), Note: req.Note}
	if err := p.Validate(); err != nil {
		return err
	}
	if _, err := s.exec(c, platform.CmdAlertAck, 1, p); err != nil {
		return err
	}
	return s.getAlert(c)
}

func (s *Server) getAlertRules(c echo.Context) error {
	rules, _, err := s.store.AlertRules()
	if err != nil {
		return err
	}
	if rules == nil {
		rules = []platform.AlertRule{}
	}
	return c.JSON(http.StatusOK, alertRulesJSON{Rules: rules})
}

func (s *Server) putAlertRules(c echo.Context) error {
	var req alertRulesJSON
	if err := s.bind(c, &req); err != nil {
		return err
	}
	p := platform.AlertRulesSet{Rules: req.Rules}
	if err := p.Validate(); err != nil {
		return err
	}
	if _, err := s.exec(c, platform.CmdAlertRulesSet, 1, p); err != nil {
		return err
	}
	return s.getAlertRules(c)
}

func (s *Server) getAlertWebhook(c echo.Context) error {
	u, err := s.store.AlertWebhookURL()
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, alertWebhookJSON{URL: u})
}

func (s *Server) putAlertWebhook(c echo.Context) error {
	var req alertWebhookJSON
	if err := s.bind(c, &req); err != nil {
		return err
	}
	p := platform.AlertWebhookSet(req)
	if err := p.Validate(); err != nil {
		return err
	}
	if _, err := s.exec(c, platform.CmdAlertWebhookSet, 1, p); err != nil {
		return err
	}
	return s.getAlertWebhook(c)
}
