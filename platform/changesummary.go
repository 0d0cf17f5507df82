package platform

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
)

// summaryValues are the payload fields whose values a change summary shows:
// enumerations and small numbers that say what an act did, none of them
// secret or personal. Every other field is named without its value.
var summaryValues = map[string]bool{
	"status": true, "level": true, "role": true, "use": true, "kind": true, "env": true, "method": true,
	"retention": true, "decision": true, "action": true, "activate": true, "acts_for_user": true,
	"rate_per_second": true, "burst": true, "concurrency": true, "daily_quota": true, "api_version": true,
}

// maxSummary bounds a change summary.
const maxSummary = 512

// changeSummary summarises a command's payload for its change record: the
// top-level field names, sorted, with the values of summaryValues' fields
// ("level=A2, name, path, status=published"). Deterministic: every node
// computes the same from the same payload.
func changeSummary(payload json.RawMessage) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(payload, &m) != nil {
		return ""
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		part := k
		if summaryValues[k] {
			if v, ok := scalar(m[k]); ok {
				part += "=" + v
			}
		}
		if b.Len()+len(part)+2 > maxSummary {
			b.WriteString(", …")
			break
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(part)
	}
	return b.String()
}

// scalar renders a short JSON string, number or boolean.
func scalar(raw json.RawMessage) (string, bool) {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return "", false
	}
	switch x := v.(type) {
	case string:
		if len(x) > 32 || strings.ContainsAny(x, ",=\n") {
			return "", false
		}
		return x, true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}
