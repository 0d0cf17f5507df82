package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"lijiang/platform"
	"lijiang/portal"
)

// TestConsoleOperatorCatalogueAndAlerts: the demo operator edits a
// published API in the catalogue editor (a bad schema is refused beside
// its field; the description and a limit are saved after the notice
// preview), deprecates it with a sunset after seeing the notice preview,
// adds a CIDR to the global deny-list and removes it, and acknowledges an
// admin-lockout alert (raised here by failing the demo auditor's logins)
// with a note. Each step is checked through the admin API.
func TestConsoleOperatorCatalogueAndAlerts(t *testing.T) {
	needBrowser(t)
	n := startConsoleNode(t)
	base := "https://127.0.0.1:" + n.p.adminPort
	// The checks log in as the demo admin: the operator's one-time code is
	// the browser's (a code is good for one login).
	adm := n.logins[platform.RoleAdmin]
	op := adminClient(t, base, adm.Username, adm.Password, adm.TOTPSecret)
	get := func(path string, v any) {
		t.Helper()
		st, b := doJSON(t, op, "GET", base+portal.AdminPrefix+path, nil, "")
		if st != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, st, b)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}

	// A published API of the demo catalogue other than the one other
	// tests call.
	var apis struct{ Items []struct{ ID, Path string } }
	get("/apis?status=published&limit=500", &apis)
	apiID := ""
	for _, a := range apis.Items {
		if a.Path != "/v1/products" {
			apiID = a.ID
			break
		}
	}
	if apiID == "" {
		t.Fatalf("no published demo API: %+v", apis.Items)
	}

	// An alert: the demo auditor locked out by wrong passwords.
	aud := n.logins[platform.RoleAuditor]
	for i := 0; i < 20; i++ {
		st, _ := doJSON(t, httpsClient(0), "POST", base+portal.AdminPrefix+"/login",
			map[string]string{"username": aud.Username, "password": "wrong-" + aud.Password, "totp": "000000"}, "")
		if st == http.StatusTooManyRequests {
			break
		}
	}
	eventuallyT(t, 15*time.Second, "an admin-lockout alert", func() bool {
		var open struct{ Items []platform.AlertRecord }
		get("/alerts", &open)
		return slices.ContainsFunc(open.Items, func(a platform.AlertRecord) bool { return a.Kind == platform.AlertKindAdminLockout })
	})

	type apiState struct {
		Status      string          `json:"status"`
		Description string          `json:"description"`
		Sunset      *time.Time      `json:"sunset"`
		Limits      platform.Limits `json:"limits"`
	}
	runFlow(t, n, "operator-catalogue", append(n.loginEnv(t, platform.RoleOperator), "LJ_API_ID="+apiID), func(name, data string) error {
		switch name {
		case "edited":
			var a apiState
			get("/apis/"+data, &a)
			if !strings.Contains(a.Description, "edited in the browser test") || a.Limits.RatePerSecond != 42 || a.Status != platform.APIPublished {
				return fmt.Errorf("after the edit the API is %+v", a)
			}
		case "deprecated":
			var a apiState
			get("/apis/"+data, &a)
			if a.Status != platform.APIDeprecated || a.Sunset == nil || a.Sunset.Before(time.Now().Add(80*24*time.Hour)) {
				return fmt.Errorf("after deprecating the API is %+v", a)
			}
			var notices struct {
				Items []struct {
					Kind string `json:"kind"`
					Body string `json:"body"`
				} `json:"items"`
			}
			get("/notices?kind="+platform.NoticeAPIDeprecated+"&api_id="+data, &notices)
			if len(notices.Items) == 0 || !strings.Contains(notices.Items[0].Body, "请迁移到新版本") {
				return fmt.Errorf("deprecation notices %+v", notices.Items)
			}
		case "published":
			var a struct{ Status, Path, Level string }
			get("/apis/"+data, &a)
			if a.Status != platform.APIPublished || a.Path != "/v1/browser-test" || a.Level != platform.LevelA1 {
				return fmt.Errorf("the new API is %+v", a)
			}
		case "denied", "undenied":
			var d struct{ Entries []string }
			get("/ip-denylist", &d)
			if slices.Contains(d.Entries, data) != (name == "denied") {
				return fmt.Errorf("the deny-list is %v after %s %s", d.Entries, name, data)
			}
		case "acked":
			var a struct {
				State   string `json:"state"`
				AckNote string `json:"ack_note"`
			}
			get("/alerts/"+data, &a)
			if a.State != platform.AlertAcked || !strings.Contains(a.AckNote, "the auditor mistyped") {
				return fmt.Errorf("the alert is %+v", a)
			}
		case "limits-proposed":
			var pending struct{ Items []platform.LimitsProposal }
			get("/limit-proposals?status=pending", &pending)
			var global struct{ Policy platform.LimitPolicy }
			get("/limits/global", &global)
			if len(pending.Items) != 1 || pending.Items[0].Policy.RatePerSecond != nil || global.Policy.RatePerSecond == nil || global.Policy.RatePerSecond.Limit != 1000 {
				return fmt.Errorf("limit proposals %+v, global policy %+v", pending.Items, global.Policy)
			}
		case "risk-proposed":
			var rules struct{ Items []platform.RiskRule }
			get("/risk/rules", &rules)
			var pending struct{ Items []platform.RiskProposal }
			get("/risk/proposals?status=pending", &pending)
			if len(rules.Items) != 1 || rules.Items[0].MaxAmount != "20000.00" || len(pending.Items) != 1 || pending.Items[0].Spec == nil || pending.Items[0].Spec.MaxAmount != "90000.00" {
				return fmt.Errorf("risk rules %+v, proposals %+v", rules.Items, pending.Items)
			}
		default:
			return &stepError{"unknown step " + name}
		}
		return nil
	})
}
