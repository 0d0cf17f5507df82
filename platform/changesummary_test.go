package platform

import (
	"strings"
	"testing"
)

func TestChangeSummary(t *testing.T) {
	cases := []struct{ payload, want string }{
		{`{"id":"api_1","status":"published","name":"余额查询","level":"A2"}`, "id, level=A2, name, status=published"},
		{`{"customer_id":"cus_secret","password_hash":"x","scope":"accounts:read"}`, "customer_id, password_hash, scope"},
		{`{"role":"auditor","username":"zhang"}`, "role=auditor, username"},
		{`{"status":"a,b=c"}`, "status"},
		{`{"rate_per_second":20,"activate":true}`, "activate=true, rate_per_second=20"},
		{`not json`, ""},
	}
	for _, c := range cases {
		if got := changeSummary([]byte(c.payload)); got != c.want {
			t.Errorf("%s: %q, want %q", c.payload, got, c.want)
		}
	}
	var long strings.Builder
	long.WriteString("{")
	for i := 0; i < 200; i++ {
		if i > 0 {
			long.WriteString(",")
		}
		long.WriteString(`"field_` + strings.Repeat("x", 10) + string(rune('a'+i%26)) + strings.Repeat("y", i%7) + `":1`)
	}
	long.WriteString("}")
	if got := changeSummary([]byte(long.String())); len(got) > maxSummary+5 || !strings.HasSuffix(got, "…") {
		t.Errorf("long summary: %d bytes %q", len(got), got[len(got)-10:])
	}
}
