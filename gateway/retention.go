package gateway

import (
	"bytes"
	"encoding/json"

	"lijiang/platform"
	"lijiang/platform/masking"
)

// Retention: what an access record keeps of a call's bodies, as its API's
// retention says (R-12.3, minimum data): nothing; the bodies masked (by the
// API's rules and by detection of personal data, whatever the level); or the
// clear bodies, which the sink seals with the audit key at once.

// retainRequest keeps the request body (decrypted, validated) for the record.
func (g *Gateway) retainRequest(c *call, reg *platform.Registry, api *platform.API, plain []byte) {
	switch api.Retention {
	case platform.RetentionMasked:
		c.rec.Retention = platform.RetentionMasked
		if len(plain) > 0 {
			c.rec.ReqBody = g.auditMask(reg, api, plain)
		}
	case platform.RetentionSealed:
		c.rec.Retention = platform.RetentionSealed
		c.rec.ReqBody = bytes.Clone(plain)
	}
}

// retainResponse keeps the answer's body: clear is the upstream's, masked
// what the client gets (nil when the answer was not masked).
func (g *Gateway) retainResponse(c *call, reg *platform.Registry, api *platform.API, clear, masked []byte) {
	switch api.Retention {
	case platform.RetentionMasked:
		if masked == nil {
			masked = g.auditMask(reg, api, clear)
		} else {
			masked = bytes.Clone(masked)
		}
		c.rec.RespBody = masked
	case platform.RetentionSealed:
		c.rec.RespBody = bytes.Clone(clear)
	}
}

// auditMask masks a JSON body for a record with the API's rules and
// detection on; what is not JSON is not kept.
func (g *Gateway) auditMask(reg *platform.Registry, api *platform.API, body []byte) []byte {
	if len(body) == 0 {
		return nil
	}
	m, _ := g.auditMaskers.get(reg, api, func() (*masking.Masker, error) {
		rules := make([]masking.Rule, len(api.Masking))
		for i, r := range api.Masking {
			rules[i] = masking.Rule{Path: r.Field, Kind: r.Kind, KeepFirst: r.KeepFirst, KeepLast: r.KeepLast}
		}
		return masking.Compile(rules, true)
	})
	if m == nil || !json.Valid(body) {
		return []byte(`"(not kept: not JSON)"`)
	}
	out, err := m.MaskJSON(body)
	if err != nil {
		return []byte(`"(not kept: not JSON)"`)
	}
	return out
}
