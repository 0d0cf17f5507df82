package gateway

import (
	"encoding/json"
	"math/big"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"

	"lijiang/platform"
	"lijiang/platform/lj1"
)

// Settings that steer the gateway (set with the setting.set command).
const (
	// SettingIPDenylist is the global deny-list: IPv4 and IPv6 addresses or
	// CIDR prefixes, separated by commas or spaces (R-8a); set with the
	// control.denylist.set command (PUT /admin/api/v1/ip-denylist).
	SettingIPDenylist = platform.SettingDenylist
	// SettingPausedAPIs lists API ids whose calls are paused (API_PAUSED),
	// the first form of the pause control; the admin API's pauses
	// (control.pause, with a resume time) are read by pauseOf.
	SettingPausedAPIs = "gateway.paused_apis"
	// SettingRiskMaxAmount caps the "amount" of any A2 request (RISK_REJECTED):
	// the first of the risk rules.
	SettingRiskMaxAmount = "risk.max_amount"
)

// policy is the gateway's parsed settings for one registry snapshot.
type policy struct {
	reg       *platform.Registry
	deny      []netip.Prefix
	pausedIDs map[string]bool
	maxAmount *big.Rat
	controls  *platform.Controls // pauses and limit policies

	checksMu sync.RWMutex
	checks   map[checksKey]checksEntry // checksOf's cache
}

// policyCache rebuilds the policy when the registry changes.
type policyCache struct{ p atomic.Pointer[policy] }

func (c *policyCache) get(reg *platform.Registry) *policy {
	if p := c.p.Load(); p != nil && p.reg == reg {
		return p
	}
	p := &policy{reg: reg, pausedIDs: map[string]bool{}, controls: platform.ParseControls(reg.Settings)}
	for _, f := range splitList(reg.Settings[SettingIPDenylist]) {
		if pfx, err := netip.ParsePrefix(f); err == nil {
			p.deny = append(p.deny, pfx.Masked())
		} else if a, err := netip.ParseAddr(f); err == nil {
			a = a.Unmap()
			p.deny = append(p.deny, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	for _, f := range splitList(reg.Settings[SettingPausedAPIs]) {
		p.pausedIDs[f] = true
	}
	if v := strings.TrimSpace(reg.Settings[SettingRiskMaxAmount]); v != "" {
		if r, ok := new(big.Rat).SetString(v); ok {
			p.maxAmount = r
		}
	}
	c.p.Store(p)
	return p
}

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' })
}

func (p *policy) denied(a netip.Addr) bool {
	for _, pfx := range p.deny {
		if pfx.Contains(a) {
			return true
		}
	}
	return false
}

// risk applies the risk rules to a call's (decrypted) body.
func (p *policy) risk(api *platform.API, body []byte) error {
	if p.maxAmount == nil || api.Level != platform.LevelA2 || len(body) == 0 {
		return nil
	}
	var v struct {
		Amount json.RawMessage `json:"amount"`
	}
	if json.Unmarshal(body, &v) != nil || len(v.Amount) == 0 {
		return nil
	}
	s := strings.Trim(string(v.Amount), `"`)
	// Fail closed: an amount the rule cannot read is refused, and only plain
	// decimals are read (no exponents that cost time to expand).
	if len(s) > 40 || strings.Trim(s, "0123456789.") != "" || strings.Count(s, ".") > 1 {
		return errf(lj1.CodeRiskRejected, "the amount cannot be assessed")
	}
	amt, ok := new(big.Rat).SetString(s)
	if !ok || amt.Cmp(p.maxAmount) > 0 {
		return errf(lj1.CodeRiskRejected, "the amount exceeds the risk limit")
	}
	return nil
}
