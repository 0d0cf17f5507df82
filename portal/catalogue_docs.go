package portal

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"lijiang/platform"
	"lijiang/platform/lj1"
)

// What the published catalogue's OpenAPI document says an API answers (issue
// 10): the 200 body's schema and example, the request example, the business
// error codes of the API's service, and the servers (the gateway's public
// base URLs).

// CheckPublicURL validates a public base URL of the gateway: https://, a
// host and an optional port, nothing else (no user info, path, query or
// fragment): LJ1 signs the request path as sent, so the gateway must be at
// the root of its address.
func CheckPublicURL(s string) error {
	if s == "" || len(s) > 512 {
		return errors.New("give the gateway's base URL, e.g. https://api.bank.example")
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return errors.New("not a URL")
	case u.Scheme != "https":
		return errors.New("must be an https:// URL")
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return errors.New("must name a host")
	case u.User != nil:
		return errors.New("must not carry user info")
	case u.Path != "" && u.Path != "/", u.RawPath != "":
		return errors.New("must not have a path: the gateway serves the API paths (/v1/…) at the root of its address")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(s, "#"):
		return errors.New("must not have a query or fragment")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return errors.New("the port must be from 1 to 65535")
		}
	}
	host := u.Hostname()
	if net.ParseIP(host) == nil && !validHostName(host) {
		return errors.New("the host must be a DNS name or an IP address")
	}
	return nil
}

// validHostName reports whether h is a DNS name of letters, digits and
// hyphens (labels of 1-63 characters).
func validHostName(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, l := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// SetPublicURLs sets the gateway's public base URLs the catalogue lists as
// its servers: production, and sandbox ("" = the production one). Both ""
// lists the relative server "/". Safe for concurrent use; the callers
// (main's wiring) have checked them with CheckPublicURL.
func (s *Server) SetPublicURLs(production, sandbox string) {
	production = strings.TrimSuffix(production, "/")
	sandbox = strings.TrimSuffix(sandbox, "/")
	if sandbox == "" {
		sandbox = production
	}
	s.publicURLs.Store(&[2]string{production, sandbox})
}

// catalogueServers lists the catalogue's servers.
func catalogueServers(production, sandbox string) []any {
	const how = "The same base URL may serve both environments: the calling app's credentials choose it (a sandbox app's calls are served by the sandbox core bank, a production app's by the bank)."
	if production == "" {
		return []any{map[string]any{"url": "/", "description": "the gateway's base URL (relative to this document), for sandbox and production. " + how}}
	}
	if sandbox == "" {
		sandbox = production
	}
	return []any{
		map[string]any{"url": production, "description": "production: call with a production app's credentials. " + how, "x-lijiang-environment": "production"},
		map[string]any{"url": sandbox, "description": "sandbox (joint debugging against the sandbox core bank): call with a sandbox app's credentials. " + how, "x-lijiang-environment": "sandbox"},
	}
}

// decodeExample decodes an example for embedding, keeping numbers exact.
func decodeExample(raw json.RawMessage) (any, bool) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil, false
	}
	return v, true
}

// serviceErrorSchema is the body of a service's 4xx answer, which the
// gateway forwards as it is: the service's code and message (the request
// id is in the LJ-Request-Id header).
var serviceErrorSchema = map[string]any{"type": "object", "required": []string{"code", "message"},
	"description": "a 4xx answer of the API's service, forwarded as it is (signed with LJ-Signature; for A2 APIs sealed in an LJ1 envelope like the 200 answer): one of the operation's x-lijiang-business-errors, or an LJ1 code the service uses with its LJ1 status (e.g. PARAM_INVALID). Its request id is in the LJ-Request-Id header. A service's 5xx reaches the caller as the LJ1 error UPSTREAM_UNAVAILABLE.",
	"properties": map[string]any{
		"code":    map[string]any{"type": "string", "description": "the business error code"},
		"message": map[string]any{"type": "string", "description": "what went wrong, for the developer (never personal data)"},
	}}

// documentAnswers adds what a catalogue operation answers: the 200 body's
// schema and example, the request example, and the business errors with the
// statuses they use. responses already holds "200" and "default".
func documentAnswers(op map[string]any, a *platform.API, responses map[string]any) {
	a2 := a.Level == platform.LevelA2
	if sch := decodeSchema(a.ResponseSchema); sch != nil {
		media := map[string]any{"schema": sch}
		if ex, ok := decodeExample(a.ResponseExample); ok {
			media["example"] = ex
		}
		ok := responses["200"].(map[string]any)
		ok["content"] = map[string]any{"application/json": media}
		if a2 {
			ok["description"] = ok["description"].(string) + ". The schema and example are of the plaintext inside the LJ1 envelope, after the gateway's masking"
		} else {
			ok["description"] = ok["description"].(string) + ". The schema and example are of the body after the gateway's masking"
		}
	}
	if a.Method == "POST" {
		// The gateway passes the service's status on: a creation may answer
		// 201 (the sandbox's new transfer does; its idempotent replay 200).
		created := map[string]any{"description": "the service's answer when the call creates something: as 200"}
		for k, v := range responses["200"].(map[string]any) {
			if k != "description" {
				created[k] = v
			}
		}
		responses["201"] = created
	}
	if ex, ok := decodeExample(a.RequestExample); ok {
		if rb, _ := op["requestBody"].(map[string]any); rb != nil {
			rb["content"].(map[string]any)["application/json"].(map[string]any)["example"] = ex
		} else if q, _ := ex.(map[string]any); q != nil {
			// An API without a body: the example is of its query parameters.
			params, _ := op["parameters"].([]any)
			for _, p := range params {
				m := p.(map[string]any)
				if v, ok := q[m["name"].(string)]; ok && m["in"] == "query" {
					m["example"] = v
				}
			}
		}
	}
	if len(a.BusinessErrors) == 0 {
		return
	}
	list := make([]any, len(a.BusinessErrors))
	byStatus := map[int][]platform.BusinessError{}
	for i, e := range a.BusinessErrors {
		list[i] = map[string]any{"code": e.Code, "status": e.Status, "description": e.Description}
		byStatus[e.Status] = append(byStatus[e.Status], e)
	}
	op["x-lijiang-business-errors"] = list
	for status, errs := range byStatus {
		codes := make([]string, len(errs))
		var desc strings.Builder
		desc.WriteString("a business error of the service (ServiceError): ")
		for i, e := range errs {
			codes[i] = e.Code
			if i > 0 {
				desc.WriteString("; ")
			}
			desc.WriteString(e.Code + ": " + e.Description)
		}
		desc.WriteString(". Or an LJ1 error with this status (LJ1Error), from the gateway or the service.")
		for c, st := range lj1.Codes() {
			if st == status {
				codes = append(codes, c) // a service may answer them too
			}
		}
		sort.Strings(codes)
		business := map[string]any{"allOf": []any{map[string]any{"$ref": "#/components/schemas/ServiceError"}},
			"properties": map[string]any{"code": map[string]any{"enum": codes}}}
		responses[strconv.Itoa(status)] = map[string]any{"description": desc.String(), "content": map[string]any{"application/json": map[string]any{
			"schema": map[string]any{"anyOf": []any{map[string]any{"$ref": "#/components/schemas/LJ1Error"}, business}}}}}
	}
}
