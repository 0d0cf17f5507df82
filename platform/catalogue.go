package platform

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"lijiang/platform/masking"
)

// The API catalogue (R-6.2, R-7.2.2a, R-7.3.1, R-10.3, R-11, R-12.1): every
// API the gateway serves, with its security level, parameter schemas,
// upstream, masking, retention and default limits; its life cycle
// draft → published → deprecated (with a sunset date) → retired, with a change
// log row for every change; the grants of apps to APIs (default deny); and
// the change notices sent to the applicants granted an API when it changes.

// API statuses.
const (
	APIDraft      = "draft"      // being written; not callable, not in the portal
	APIPublished  = "published"  // callable by granted apps, in the portal catalogue
	APIDeprecated = "deprecated" // still callable until its sunset; Deprecation/Sunset headers
	APIRetired    = "retired"    // not callable: API_RETIRED
)

// Security levels (R-6.2, PROTOCOL.md §Security levels).
const (
	LevelA1 = "A1" // product and service information, read-only
	LevelA2 = "A2" // fund transactions and account information
)

// Message-retention policies: what the audit keeps of an API's messages.
const (
	RetentionNone   = "none"   // no message bodies
	RetentionMasked = "masked" // bodies with the masking rules applied
	RetentionSealed = "sealed" // bodies sealed with the key-encryption key
)

// UpstreamSandbox is the upstream target of the in-process sandbox core bank.
const UpstreamSandbox = "sandbox:"

// Masking kinds.
const (
	MaskCardNo    = "card_no"
	MaskAccountNo = "account_no"
	MaskName      = "name"
	MaskIDNo      = "id_no"
	MaskPhone     = "phone"
	MaskEmail     = "email"
	MaskCustom    = "custom" // keep KeepFirst and KeepLast characters
)

// Catalogue commands.
const (
	CmdAPICreate    = "api.create"
	CmdAPIUpdate    = "api.update"
	CmdAPIPublish   = "api.publish"
	CmdAPIDeprecate = "api.deprecate"
	CmdAPIRetire    = "api.retire"
	CmdGrantSet     = "grant.set"
	CmdGrantRevoke  = "grant.revoke"
)

// Notice kinds of API changes.
const (
	NoticeAPIPublished  = "api.published"
	NoticeAPIChanged    = "api.changed"
	NoticeAPIDeprecated = "api.deprecated"
	NoticeAPIRetired    = "api.retired"
)

// Limits are flow-control limits; 0 means unlimited.
type Limits struct {
	RatePerSecond int64 `json:"rate_per_second" doc:"calls per second per app; 0 = no limit"`
	Burst         int64 `json:"burst" doc:"token-bucket burst; 0 = rate_per_second"`
	Concurrency   int64 `json:"concurrency" doc:"calls in flight per app; 0 = no limit"`
	DailyQuota    int64 `json:"daily_quota" doc:"calls per day per app; 0 = no limit"`
}

// LimitsOverride are a grant's own limits: each set field replaces the API's
// default (0 = unlimited), each absent one keeps it.
type LimitsOverride struct {
	RatePerSecond *int64 `json:"rate_per_second,omitempty" doc:"replaces the API's; 0 = no limit; absent keeps the API's"`
	Burst         *int64 `json:"burst,omitempty" doc:"replaces the API's; 0 = rate_per_second; absent keeps the API's"`
	Concurrency   *int64 `json:"concurrency,omitempty" doc:"replaces the API's; 0 = no limit; absent keeps the API's"`
	DailyQuota    *int64 `json:"daily_quota,omitempty" doc:"replaces the API's; 0 = no limit; absent keeps the API's"`
}

// Apply returns l with the override's set fields.
func (o LimitsOverride) Apply(l Limits) Limits {
	if o.RatePerSecond != nil {
		l.RatePerSecond = *o.RatePerSecond
	}
	if o.Burst != nil {
		l.Burst = *o.Burst
	}
	if o.Concurrency != nil {
		l.Concurrency = *o.Concurrency
	}
	if o.DailyQuota != nil {
		l.DailyQuota = *o.DailyQuota
	}
	return l
}

// maxLimit bounds every limit value.
const maxLimit = 1_000_000_000

func (l Limits) validate(field string) error {
	for _, f := range []struct {
		name string
		v    int64
	}{{"rate_per_second", l.RatePerSecond}, {"burst", l.Burst}, {"concurrency", l.Concurrency}, {"daily_quota", l.DailyQuota}} {
		if f.v < 0 || f.v > maxLimit {
			return Invalid(field+"."+f.name, fmt.Sprintf("must be from 0 (unlimited) to %d", maxLimit))
		}
	}
	return nil
}

func (o LimitsOverride) validate(field string) error {
	for _, f := range []struct {
		name string
		v    *int64
	}{{"rate_per_second", o.RatePerSecond}, {"burst", o.Burst}, {"concurrency", o.Concurrency}, {"daily_quota", o.DailyQuota}} {
		if f.v != nil && (*f.v < 0 || *f.v > maxLimit) {
			return Invalid(field+"."+f.name, fmt.Sprintf("must be from 0 (unlimited) to %d", maxLimit))
		}
	}
	return nil
}

// Upstream is where the gateway forwards an API's calls, and how (see
// catalogue_upstream.go).
type Upstream struct {
	// Targets are https:// or http:// base URLs (no user info, query or
	// fragment), tried in turn, or the single target UpstreamSandbox. An A2
	// API's plain http:// targets must be loopback addresses unless
	// TrustedZone is set.
	Targets []string `json:"targets" oa:"required" doc:"1-8 base URLs (https://, or http:// as the level allows) tried in turn, or the single target sandbox:"`
	// TimeoutMs bounds each upstream call, 100 to 60000 ms.
	TimeoutMs int `json:"timeout_ms" oa:"required" doc:"bounds each upstream call: 100 to 60000 ms"`
	// CAPEM is the PEM bundle of the certificate authorities the https://
	// targets' certificates must chain to; empty means the system's roots.
	CAPEM string `json:"ca_pem,omitempty" doc:"PEM certificates of the https:// targets' certificate authorities; absent: the system's roots"`
	// ClientCertPEM is the certificate (then its chain, PEM) the gateway
	// presents to https:// targets that ask for one. Its private key is
	// never part of the spec: it is given once and kept sealed
	// (API.UpstreamKeySealed).
	ClientCertPEM string `json:"client_cert_pem,omitempty" doc:"the PEM certificate (then its chain) the gateway presents to https:// targets"`
	// TrustedZone is the operator's declaration that the plain http://
	// targets are reached over a link inside a trusted network zone, which
	// lets an A2 API use them.
	TrustedZone bool `json:"trusted_zone,omitempty" doc:"the plain http:// targets are reached inside a trusted network zone (lets an A2 API use them)"`
}

// MaskRule masks one field of an API's responses (and of retained messages).
type MaskRule struct {
	// Field is a path into the JSON body: "$.a.b[*].c", "$.items[0].card_no"
	// or plain dotted "a.b.c".
	Field string `json:"field" oa:"required" doc:"a path into the JSON body: $.a.b[*].c or a.b.c"`
	// Kind is one of the Mask constants.
	Kind string `json:"kind" oa:"required"`
	// KeepFirst and KeepLast are the characters kept in clear by MaskCustom.
	KeepFirst int `json:"keep_first,omitempty" doc:"characters kept in clear at the start (kind custom only, 0-32)"`
	KeepLast  int `json:"keep_last,omitempty" doc:"characters kept in clear at the end (kind custom only, 0-32)"`

	steps []MaskStep
}

// Steps returns the parsed field path (nil for a rule not loaded from the
// registry). The slice is shared: do not modify it.
func (m MaskRule) Steps() []MaskStep { return m.steps }

// ParamSchemas are an API's parameter schemas (the subset described in
// catalogue_schema.go); an absent document accepts nothing in that place,
// except that an absent path schema makes every path parameter a non-empty
// string.
type ParamSchemas struct {
	Path  json.RawMessage `json:"path,omitempty" doc:"a JSON Schema object whose properties are the path parameters"`
	Query json.RawMessage `json:"query,omitempty" doc:"a JSON Schema object whose properties are the query parameters"`
	Body  json.RawMessage `json:"body,omitempty" doc:"the JSON Schema of the request body"`
	// Headers are request headers of the API's own, beyond the protocol's
	// (Authorization, LJ-User-Token, Content-Type): the catalogue lists them
	// so that integrators send them. The gateway passes them through and
	// does not check them; the upstream does.
	Headers []HeaderParam `json:"headers,omitempty"`
}

// HeaderParam is a request header an API takes (ParamSchemas.Headers).
type HeaderParam struct {
	Name        string `json:"name" oa:"required" doc:"an HTTP header name, not one of the protocol's (Authorization, LJ-*)"`
	Required    bool   `json:"required,omitempty"`
	Description string `json:"description,omitempty" doc:"up to 500 bytes"`
}

// headerNamePattern is an HTTP field name (RFC 9110 token), at most 64
// characters.
var headerNamePattern = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")

// checkHeaders validates an API's header parameters: at most 8, valid and
// distinct names, none of the protocol's own.
func checkHeaders(hs []HeaderParam) error {
	if len(hs) > 8 {
		return Invalid("params.headers", "must list at most 8 headers")
	}
	seen := map[string]bool{}
	for i, h := range hs {
		field := fmt.Sprintf("params.headers[%d]", i)
		key := http.CanonicalHeaderKey(h.Name)
		switch {
		case !headerNamePattern.MatchString(h.Name):
			return Invalid(field+".name", "must be an HTTP header name of 1-64 characters")
		case key == "Authorization" || key == "Content-Type" || key == "Content-Length" || key == "Host" || strings.HasPrefix(key, "Lj-"):
			return Invalid(field+".name", "must not be a header of the protocol or of HTTP")
		case seen[key]:
			return Invalid(field+".name", "is listed twice")
		case !catText(h.Description, 500, false):
			return Invalid(field+".description", "must be text of at most 500 bytes")
		}
		seen[key] = true
	}
	return nil
}

// APIContract is the part of an API's spec that its callers program
// against, which the published catalogue shows developers as it is.
type APIContract struct {
	Name        string `json:"name" oa:"required" doc:"1-128 characters"`
	Description string `json:"description,omitempty" doc:"up to 4000 bytes"`
	// APIVersion is the API's version, e.g. "v1"; the path template's first
	// segment must be the same, so that the path alone selects the version.
	APIVersion string `json:"api_version" oa:"required" pattern:"^v[0-9]{1,4}(\\.[0-9]{1,4})?$" doc:"the path's first segment"`
	Method     string `json:"method" oa:"required"`
	// Path is the path template, e.g. /v1/accounts/{account_no}/balance.
	Path  string `json:"path" oa:"required" doc:"the path template, starting with /{api_version}/, e.g. /v1/accounts/{account_no}/balance"`
	Level string `json:"level" oa:"required" doc:"A1: public data; A2: a customer's data (SM2 signatures, encrypted bodies)"`
	// ActsForUser: calls need a user token with ConsentScope (A2 only).
	ActsForUser  bool         `json:"acts_for_user" doc:"calls need a customer's user token with consent_scope (A2 only)"`
	ConsentScope string       `json:"consent_scope,omitempty" pattern:"^[a-z][a-z0-9_.:]{0,63}$" doc:"the consent a customer gives (with acts_for_user only)"`
	Params       ParamSchemas `json:"params"`

	// What the API answers (catalogue_docs.go): the developers' reference,
	// checked when the spec is written but not enforced on calls.
	ResponseSchema  json.RawMessage `json:"response_schema,omitempty" doc:"JSON Schema (the parameter schemas' subset, object or array) of the 200 answer's body, after the gateway's masking; absent: not documented"`
	RequestExample  json.RawMessage `json:"request_example,omitempty" doc:"an example request: the body, or for an API without a body the query parameters as an object; must validate against that schema"`
	ResponseExample json.RawMessage `json:"response_example,omitempty" doc:"an example 200 answer body; needs response_schema and must validate against it"`
	BusinessErrors  []BusinessError `json:"business_errors,omitempty" doc:"error codes the API's service may answer besides the LJ1 protocol's, at most 50, each code once"`
}

// APISpec is the part of an API that its owners write (create and update):
// its contract, and how the gateway serves it.
type APISpec struct {
	APIContract
	Upstream  Upstream   `json:"upstream" oa:"required"`
	Masking   []MaskRule `json:"masking,omitempty" doc:"up to 64 rules masking fields of the answers (and of retained messages)"`
	Retention string     `json:"retention" oa:"required" doc:"what the audit keeps of the messages: none, masked or sealed"`
	Limits    Limits     `json:"limits" doc:"the default limits of every app granted the API"`
	// MaxBodyBytes and MaxJSONDepth bound a request body before anything
	// parses it (attack protection, R-7.3.2); 0 takes the defaults.
	MaxBodyBytes int `json:"max_body_bytes,omitempty" doc:"the largest request body, sealed or decrypted, 1-8388608 bytes; 0 or absent: 1048576 (the gateway's own cap still applies)"`
	MaxJSONDepth int `json:"max_json_depth,omitempty" doc:"the deepest nesting of objects and arrays in a JSON request body, 1-64; 0 or absent: 32"`
}

// Defaults and bounds of an API's request body limits.
const (
	DefaultMaxBodyBytes = 1 << 20
	MaxMaxBodyBytes     = 8 << 20
	DefaultMaxJSONDepth = 32
	MaxMaxJSONDepth     = 64
)

// BodyLimit is the largest request body the API takes.
func (s *APISpec) BodyLimit() int {
	if s.MaxBodyBytes > 0 {
		return s.MaxBodyBytes
	}
	return DefaultMaxBodyBytes
}

// JSONDepthLimit is the deepest JSON nesting the API takes.
func (s *APISpec) JSONDepthLimit() int {
	if s.MaxJSONDepth > 0 {
		return s.MaxJSONDepth
	}
	return DefaultMaxJSONDepth
}

// API is one catalogue entry as the registry holds it. It is immutable once
// loaded; the gateway matches, validates and limits calls with it.
type API struct {
	ID string `json:"id"`
	APISpec
	Status string `json:"status"`
	// Version is the row's version for optimistic concurrency (ETag).
	Version      int64  `json:"version"`
	SunsetMs     int64  `json:"sunset_ms,omitempty"`
	CreatedMs    int64  `json:"created_ms"`
	UpdatedMs    int64  `json:"updated_ms"`
	PublishedMs  int64  `json:"published_ms,omitempty"`
	DeprecatedMs int64  `json:"deprecated_ms,omitempty"`
	RetiredMs    int64  `json:"retired_ms,omitempty"`
	CreatedBy    string `json:"created_by"`
	UpdatedBy    string `json:"updated_by"`
	// UpstreamKeySealed is the private key of Upstream.ClientCertPEM, sealed
	// with aad UpstreamKeyAAD(ID) (registry view only); nil without one.
	UpstreamKeySealed []byte `json:"-"`

	tmpl   pathTemplate
	params *paramValidator
	// upstreamErr is why the upstream may not be used, for an API stored
	// before this binary's rules (an A2 API whose upstream is in clear).
	upstreamErr error
}

// UpstreamRefused reports why the gateway must not forward the API's calls
// to its upstream, or nil. Such an API was stored under older rules (an A2
// API whose upstream is plain http:// to another host): its calls fail
// closed until it is updated.
func (a *API) UpstreamRefused() error { return a.upstreamErr }

// Callable reports whether calls may reach the API (published or deprecated).
func (a *API) Callable() bool { return a.Status == APIPublished || a.Status == APIDeprecated }

// Sunset is the deprecated API's retirement date (zero if none).
func (a *API) Sunset() time.Time {
	if a.SunsetMs == 0 {
		return time.Time{}
	}
	return time.UnixMilli(a.SunsetMs).UTC()
}

// PathParams are the path template's parameter names, in path order.
func (a *API) PathParams() []string { return a.tmpl.params }

// ParamSchema returns the compact schema document in effect for "path",
// "query" or "body" (the generated one for a path without its own), or nil.
func (a *API) ParamSchema(in string) json.RawMessage {
	if a.params == nil {
		return nil
	}
	var c *compiledSchema
	switch in {
	case ParamInPath:
		c = a.params.path
	case ParamInQuery:
		c = a.params.query
	case ParamInBody:
		c = a.params.body
	}
	if c == nil {
		return nil
	}
	return c.raw
}

var (
	apiIDPattern       = regexp.MustCompile(`^api_[a-z0-9]{2,40}$`)
	apiVersionPattern  = regexp.MustCompile(`^v[0-9]{1,4}(\.[0-9]{1,4})?$`)
	consentScopePatt   = regexp.MustCompile(`^[a-z][a-z0-9_.:]{0,63}$`)
	noticeIDPattern    = regexp.MustCompile(`^ntc_[a-z0-9]{4,40}$`)
	catalogueMethods   = map[string]bool{"GET": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true}
	catalogueMaskKinds = map[string]bool{MaskCardNo: true, MaskAccountNo: true, MaskName: true, MaskIDNo: true, MaskPhone: true, MaskEmail: true, MaskCustom: true}
)

// catText reports whether s is valid UTF-8 of at most max bytes without
// control characters (newlines allowed when multiline).
func catText(s string, max int, multiline bool) bool {
	if len(s) > max || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r == 0x7f || r < 0x20 && !(multiline && (r == '\n' || r == '\t')) {
			return false
		}
	}
	return true
}

// validUpstreamTarget reports whether t is UpstreamSandbox or an http(s)
// base URL with a host and no user info, query or fragment.
func validUpstreamTarget(t string) bool {
	if t == UpstreamSandbox {
		return true
	}
	if len(t) > 512 || !catText(t, 512, false) {
		return false
	}
	u, err := url.Parse(t)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Hostname() == "" || u.User != nil ||
		u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.Opaque != "" {
		return false
	}
	return true
}

// compiledSpec is what checking a spec produces.
type compiledSpec struct {
	tmpl   pathTemplate
	params *paramValidator
	masks  [][]MaskStep
}

// check validates every field of the spec and compiles its template,
// schemas and masking paths.
func (s *APISpec) check() (*compiledSpec, error) {
	out, err := s.compile()
	if err != nil {
		return nil, err
	}
	if err := s.Upstream.check(s.Level); err != nil {
		return nil, err
	}
	return out, nil
}

// compile is check but for the upstream's links and TLS settings (which
// Upstream.check validates).
func (s *APISpec) compile() (*compiledSpec, error) {
	out := &compiledSpec{}
	switch {
	case strings.TrimSpace(s.Name) == "" || !catText(s.Name, 128, false):
		return nil, Invalid("name", "must be 1-128 characters of text")
	case !catText(s.Description, 4000, true):
		return nil, Invalid("description", "must be text of at most 4000 bytes")
	case !apiVersionPattern.MatchString(s.APIVersion):
		return nil, Invalid("api_version", `must look like "v1" or "v2.1"`)
	case !catalogueMethods[s.Method]:
		return nil, Invalid("method", "must be GET, POST, PUT, PATCH or DELETE")
	}
	t, err := parsePathTemplate(s.Path)
	if err != nil {
		return nil, Invalid("path", err.Error())
	}
	if t.segs[0].param || t.segs[0].lit != s.APIVersion {
		return nil, Invalid("path", "must start with /"+s.APIVersion+"/ (the API version)")
	}
	if len(t.segs) < 2 {
		return nil, Invalid("path", "must have a segment after the version")
	}
	out.tmpl = t
	switch {
	case s.Level != LevelA1 && s.Level != LevelA2:
		return nil, Invalid("level", "must be A1 or A2")
	case s.ActsForUser && s.Level != LevelA2:
		return nil, Invalid("acts_for_user", "only A2 APIs act for a user (A1 APIs never take a user token)")
	case s.ActsForUser && !consentScopePatt.MatchString(s.ConsentScope):
		return nil, Invalid("consent_scope", "is required for an API that acts for a user: 1-64 characters of [a-z0-9_.:], starting with a letter")
	case !s.ActsForUser && s.ConsentScope != "":
		return nil, Invalid("consent_scope", "is only for APIs that act for a user")
	}
	if out.params, err = compileParams(s.Params, t.params); err != nil {
		var pe *paramsError
		if errors.As(err, &pe) {
			return nil, Invalid("params."+pe.in, pe.err.Error())
		}
		return nil, Invalid("params", err.Error())
	}
	if err := checkHeaders(s.Params.Headers); err != nil {
		return nil, err
	}
	if n := len(s.Upstream.Targets); n == 0 || n > 8 {
		return nil, Invalid("upstream.targets", "must list 1-8 targets")
	}
	for i, tg := range s.Upstream.Targets {
		if !validUpstreamTarget(tg) {
			return nil, Invalid(fmt.Sprintf("upstream.targets[%d]", i), `must be an http(s) URL without user info, query or fragment, or "sandbox:"`)
		}
		if tg == UpstreamSandbox && len(s.Upstream.Targets) > 1 {
			return nil, Invalid(fmt.Sprintf("upstream.targets[%d]", i), `"sandbox:" must be the only target`)
		}
	}
	if s.Upstream.TimeoutMs < 100 || s.Upstream.TimeoutMs > 60000 {
		return nil, Invalid("upstream.timeout_ms", "must be from 100 to 60000")
	}
	if len(s.Masking) > 64 {
		return nil, Invalid("masking", "must have at most 64 rules")
	}
	for i, m := range s.Masking {
		f := fmt.Sprintf("masking[%d]", i)
		steps, err := parseMaskPath(m.Field)
		if err != nil {
			return nil, Invalid(f+".field", err.Error())
		}
		if !catalogueMaskKinds[m.Kind] {
			return nil, Invalid(f+".kind", "must be one of card_no, account_no, name, id_no, phone, email, custom")
		}
		if m.Kind == MaskCustom {
			if m.KeepFirst < 0 || m.KeepFirst > 32 || m.KeepLast < 0 || m.KeepLast > 32 {
				return nil, Invalid(f+".keep_first", "keep_first and keep_last must be from 0 to 32")
			}
		} else if m.KeepFirst != 0 || m.KeepLast != 0 {
			return nil, Invalid(f+".keep_first", "keep_first and keep_last are for kind custom only")
		}
		out.masks = append(out.masks, steps)
	}
	// The gateway masks with package masking: what is accepted here must
	// compile there.
	if len(s.Masking) > 0 {
		rules := make([]masking.Rule, len(s.Masking))
		for i, m := range s.Masking {
			rules[i] = masking.Rule{Path: m.Field, Kind: m.Kind, KeepFirst: m.KeepFirst, KeepLast: m.KeepLast}
		}
		if _, err := masking.Compile(rules, false); err != nil {
			var re *masking.RuleError
			if errors.As(err, &re) {
				return nil, Invalid(fmt.Sprintf("masking[%d]", re.Index), re.Reason)
			}
			return nil, Invalid("masking", "the rules do not compile")
		}
	}
	switch s.Retention {
	case RetentionNone, RetentionMasked, RetentionSealed:
	default:
		return nil, Invalid("retention", "must be none, masked or sealed")
	}
	if s.MaxBodyBytes < 0 || s.MaxBodyBytes > MaxMaxBodyBytes {
		return nil, Invalid("max_body_bytes", fmt.Sprintf("must be 1-%d (0: the default, %d)", MaxMaxBodyBytes, DefaultMaxBodyBytes))
	}
	if s.MaxJSONDepth < 0 || s.MaxJSONDepth > MaxMaxJSONDepth {
		return nil, Invalid("max_json_depth", fmt.Sprintf("must be 1-%d (0: the default, %d)", MaxMaxJSONDepth, DefaultMaxJSONDepth))
	}
	if err := s.Limits.validate("limits"); err != nil {
		return nil, err
	}
	if err := s.APIContract.checkDocs(out.params); err != nil {
		return nil, err
	}
	return out, nil
}

// routeKey is the method and the template with parameters written "{}": two
// live APIs may not share one (the template starts with the version, so this
// is also the uniqueness of method, path and version).
func routeKey(method string, t pathTemplate) string { return method + " " + t.key }

// APICreate is the payload of CmdAPICreate (version 1): a new draft API.
type APICreate struct {
	ID string `json:"id"` // "api_…", made by the proposer (NewID("api"))
	APISpec
	// UpstreamKeySealed is the private key of Upstream.ClientCertPEM
	// (required with it), sealed by the proposer with aad UpstreamKeyAAD(ID).
	UpstreamKeySealed []byte `json:"upstream_key_sealed,omitempty"`
}

// Validate checks the id and the spec.
func (p *APICreate) Validate() error {
	if !apiIDPattern.MatchString(p.ID) {
		return Invalid("id", `must be "api_" and 2-40 characters of a-z0-9`)
	}
	return p.APISpec.checkWithKey(p.UpstreamKeySealed, true)
}

// APIUpdate is the payload of CmdAPIUpdate (version 1): the whole new spec.
// Method, path and version cannot change once the API has been published
// (publish a new version instead). A change of a published or deprecated API
// needs a summary, which is sent to the applicants granted it.
//
// The upstream's client key: UpstreamKeySealed replaces it; without one the
// API keeps its key if Upstream.ClientCertPEM is unchanged, and loses it if
// the certificate is removed. A new certificate needs its key.
type APIUpdate struct {
	ID              string `json:"id"`
	ExpectedVersion int64  `json:"expected_version"`
	Summary         string `json:"summary,omitempty"`
	APISpec
	// UpstreamKeySealed is a new private key of Upstream.ClientCertPEM,
	// sealed by the proposer with aad UpstreamKeyAAD(ID).
	UpstreamKeySealed []byte `json:"upstream_key_sealed,omitempty"`
}

// Validate checks the payload's fields.
func (p *APIUpdate) Validate() error {
	if err := checkAPITransition(p.ID, p.ExpectedVersion, p.Summary); err != nil {
		return err
	}
	return p.APISpec.checkWithKey(p.UpstreamKeySealed, false)
}

// APITransition is the payload of CmdAPIPublish and CmdAPIRetire (version 1).
type APITransition struct {
	ID              string `json:"id"`
	ExpectedVersion int64  `json:"expected_version"`
	Summary         string `json:"summary,omitempty"`
}

// Validate checks the payload's fields.
func (p *APITransition) Validate() error {
	return checkAPITransition(p.ID, p.ExpectedVersion, p.Summary)
}

// APIDeprecate is the payload of CmdAPIDeprecate (version 1): the API stays
// callable until SunsetMs, which must be later than the command's time. A
// deprecated API may be deprecated again to move its sunset.
type APIDeprecate struct {
	ID              string `json:"id"`
	ExpectedVersion int64  `json:"expected_version"`
	SunsetMs        int64  `json:"sunset_ms"`
	Summary         string `json:"summary,omitempty"`
}

// Validate checks the payload's fields.
func (p *APIDeprecate) Validate() error {
	if err := checkAPITransition(p.ID, p.ExpectedVersion, p.Summary); err != nil {
		return err
	}
	if p.SunsetMs <= 0 {
		return Invalid("sunset_ms", "is required")
	}
	return nil
}

func checkAPITransition(id string, expected int64, summary string) error {
	switch {
	case !apiIDPattern.MatchString(id):
		return Invalid("id", `must be "api_" and 2-40 characters of a-z0-9`)
	case expected <= 0:
		return Invalid("expected_version", "is required")
	case !catText(summary, 1000, true):
		return Invalid("summary", "must be text of at most 1000 bytes")
	}
	return nil
}

// Grant is an app's permission to call an API, with its own limits.
type Grant struct {
	AppID     string         `json:"app_id"`
	APIID     string         `json:"api_id"`
	Limits    LimitsOverride `json:"limits"`
	GrantedBy string         `json:"granted_by"`
	GrantedMs int64          `json:"granted_ms"`
}

// GrantSet is the payload of CmdGrantSet (version 1): grant an active app an
// API that is published or deprecated, or change the grant's limits.
type GrantSet struct {
	AppID  string          `json:"app_id"`
	APIID  string          `json:"api_id"`
	Limits *LimitsOverride `json:"limits,omitempty"`
}

// Validate checks the payload's fields.
func (p *GrantSet) Validate() error {
	if err := checkGrantIDs(p.AppID, p.APIID); err != nil {
		return err
	}
	if p.Limits != nil {
		return p.Limits.validate("limits")
	}
	return nil
}

// GrantRevoke is the payload of CmdGrantRevoke (version 1).
type GrantRevoke struct {
	AppID string `json:"app_id"`
	APIID string `json:"api_id"`
}

// Validate checks the payload's fields.
func (p *GrantRevoke) Validate() error { return checkGrantIDs(p.AppID, p.APIID) }

func checkGrantIDs(app, api string) error {
	if !ValidAppID(app) {
		return Invalid("app_id", "must be an App_ID")
	}
	if !apiIDPattern.MatchString(api) {
		return Invalid("api_id", "must be an API id")
	}
	return nil
}

// ---- apply ---------------------------------------------------------------------------

const apiColumns = `id, status, spec, version, sunset_ms, created_ms, updated_ms, published_ms, deprecated_ms, retired_ms, created_by, updated_by, upstream_key_sealed`

// scanAPI reads an API row (apiColumns) without compiling it.
func scanAPI(r rowScanner) (*API, error) {
	a := &API{}
	var spec string
	if err := r.Scan(&a.ID, &a.Status, &spec, &a.Version, &a.SunsetMs, &a.CreatedMs, &a.UpdatedMs, &a.PublishedMs,
		&a.DeprecatedMs, &a.RetiredMs, &a.CreatedBy, &a.UpdatedBy, &a.UpstreamKeySealed); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(spec), &a.APISpec); err != nil {
		return nil, fmt.Errorf("api %s: spec: %w", a.ID, err)
	}
	return a, nil
}

func txAPI(tx *Tx, id string) (*API, error) {
	a, err := scanAPI(tx.QueryRow("SELECT "+apiColumns+" FROM apis WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, NotFound("no such API")
	}
	return a, err
}

// catActor renders an actor for *_by columns as "kind:id" (the convention
// of 0003), or the kind alone.
func catActor(a Actor) string {
	if a.ID != "" {
		return a.Kind + ":" + a.ID
	}
	return a.Kind
}

// liveRouteTaken reports whether a live API other than self has the route.
func liveRouteTaken(tx *Tx, key, self string) error {
	var n int
	if err := tx.QueryRow("SELECT COUNT(*) FROM apis WHERE route_key = ? AND status != 'retired' AND id != ?", key, self).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return Conflict("another API that is not retired has this method, path and version")
	}
	return nil
}

// saveAPI writes the API's row and its change log entry.
func saveAPI(tx *Tx, c *Command, a *API, insert bool, action, summary string, fromVersion int64, fromStatus string) error {
	spec, err := json.Marshal(a.APISpec)
	if err != nil {
		return err
	}
	t, err := parsePathTemplate(a.Path)
	if err != nil {
		return Invalid("path", err.Error())
	}
	key := routeKey(a.Method, t)
	if insert {
		_, err = tx.Exec(`INSERT INTO apis (id, name, api_version, method, path, route_key, level, status, spec, version, sunset_ms,
			created_ms, updated_ms, published_ms, deprecated_ms, retired_ms, created_by, updated_by, upstream_key_sealed)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.Name, a.APIVersion, a.Method, a.Path, key, a.Level, a.Status, string(spec), a.Version, a.SunsetMs,
			a.CreatedMs, a.UpdatedMs, a.PublishedMs, a.DeprecatedMs, a.RetiredMs, a.CreatedBy, a.UpdatedBy, nilIfEmpty(a.UpstreamKeySealed))
	} else {
		_, err = tx.Exec(`UPDATE apis SET name = ?, api_version = ?, method = ?, path = ?, route_key = ?, level = ?, status = ?, spec = ?,
			version = ?, sunset_ms = ?, updated_ms = ?, published_ms = ?, deprecated_ms = ?, retired_ms = ?, updated_by = ?,
			upstream_key_sealed = ? WHERE id = ?`,
			a.Name, a.APIVersion, a.Method, a.Path, key, a.Level, a.Status, string(spec), a.Version, a.SunsetMs,
			a.UpdatedMs, a.PublishedMs, a.DeprecatedMs, a.RetiredMs, a.UpdatedBy, nilIfEmpty(a.UpstreamKeySealed), a.ID)
	}
	if err != nil {
		return err
	}
	_, err = tx.Exec(`INSERT INTO api_changes (api_id, command_id, at_ms, actor_kind, actor_id, action, summary,
		from_version, to_version, from_status, to_status, spec) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, c.ID, c.At, c.Actor.Kind, c.Actor.ID, action, summary, fromVersion, a.Version, fromStatus, a.Status, string(spec))
	return err
}

// apiForChange checks the expected version and returns the API to change.
func apiForChange(tx *Tx, id string, expected int64) (*API, error) {
	a, err := txAPI(tx, id)
	if err != nil {
		return nil, err
	}
	if a.Version != expected {
		return nil, Conflict(fmt.Sprintf("the API has changed (version %d, expected %d): reload it", a.Version, expected))
	}
	return a, nil
}

func applyAPICreate(tx *Tx, c *Command, p *APICreate) (any, error) {
	var n int
	if err := tx.QueryRow("SELECT COUNT(*) FROM apis WHERE id = ?", p.ID).Scan(&n); err != nil {
		return nil, err
	}
	if n > 0 {
		return nil, Conflict("an API with this id exists")
	}
	cs, err := p.APISpec.check()
	if err != nil {
		return nil, err
	}
	if err := liveRouteTaken(tx, routeKey(p.Method, cs.tmpl), p.ID); err != nil {
		return nil, err
	}
	a := &API{ID: p.ID, APISpec: p.APISpec, Status: APIDraft, Version: 1, CreatedMs: c.At, UpdatedMs: c.At,
		CreatedBy: catActor(c.Actor), UpdatedBy: catActor(c.Actor), UpstreamKeySealed: p.UpstreamKeySealed}
	if err := saveAPI(tx, c, a, true, "create", "created", 0, ""); err != nil {
		return nil, err
	}
	return a, nil
}

func applyAPIUpdate(tx *Tx, c *Command, p *APIUpdate) (any, error) {
	a, err := apiForChange(tx, p.ID, p.ExpectedVersion)
	if err != nil {
		return nil, err
	}
	if a.Status == APIRetired {
		return nil, Conflict("a retired API cannot change")
	}
	cs, err := p.APISpec.check()
	if err != nil {
		return nil, err
	}
	if a.Status != APIDraft {
		switch {
		case p.Method != a.Method:
			return nil, Invalid("method", "cannot change once the API has been published: create a new version")
		case p.Path != a.Path:
			return nil, Invalid("path", "cannot change once the API has been published: create a new version")
		case p.APIVersion != a.APIVersion:
			return nil, Invalid("api_version", "cannot change once the API has been published: create a new version")
		case strings.TrimSpace(p.Summary) == "":
			return nil, Invalid("summary", "is required for a change of a published API: it is sent to the applicants granted it")
		}
	}
	if err := liveRouteTaken(tx, routeKey(p.Method, cs.tmpl), p.ID); err != nil {
		return nil, err
	}
	switch {
	case len(p.UpstreamKeySealed) > 0:
		a.UpstreamKeySealed = p.UpstreamKeySealed
	case p.Upstream.ClientCertPEM == "":
		a.UpstreamKeySealed = nil
	case p.Upstream.ClientCertPEM != a.Upstream.ClientCertPEM || len(a.UpstreamKeySealed) == 0:
		return nil, Invalid("upstream.client_key_pem", "is required with a new upstream.client_cert_pem")
	}
	from := a.Version
	a.APISpec = p.APISpec
	a.Version++
	a.UpdatedMs, a.UpdatedBy = c.At, catActor(c.Actor)
	summary := p.Summary
	if summary == "" {
		summary = "updated"
	}
	if err := saveAPI(tx, c, a, false, "update", summary, from, a.Status); err != nil {
		return nil, err
	}
	if a.Status != APIDraft {
		if err := noticeAPIChange(tx, c, a, NoticeAPIChanged, p.Summary); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func applyAPIPublish(tx *Tx, c *Command, p *APITransition) (any, error) {
	a, err := apiForChange(tx, p.ID, p.ExpectedVersion)
	if err != nil {
		return nil, err
	}
	if a.Status != APIDraft && a.Status != APIDeprecated {
		return nil, Conflict("only a draft or deprecated API can be published (it is " + a.Status + ")")
	}
	from, fromStatus := a.Version, a.Status
	a.Status, a.Version = APIPublished, a.Version+1
	a.PublishedMs, a.SunsetMs, a.DeprecatedMs = c.At, 0, 0
	a.UpdatedMs, a.UpdatedBy = c.At, catActor(c.Actor)
	if err := saveAPI(tx, c, a, false, "publish", catOrDefault(p.Summary, "published"), from, fromStatus); err != nil {
		return nil, err
	}
	if err := noticeAPIChange(tx, c, a, NoticeAPIPublished, p.Summary); err != nil {
		return nil, err
	}
	return a, nil
}

func applyAPIDeprecate(tx *Tx, c *Command, p *APIDeprecate) (any, error) {
	a, err := apiForChange(tx, p.ID, p.ExpectedVersion)
	if err != nil {
		return nil, err
	}
	if a.Status != APIPublished && a.Status != APIDeprecated {
		return nil, Conflict("only a published or deprecated API can be deprecated (it is " + a.Status + ")")
	}
	if p.SunsetMs <= c.At {
		return nil, Invalid("sunset_ms", "must be in the future")
	}
	from, fromStatus := a.Version, a.Status
	if a.Status == APIPublished {
		a.DeprecatedMs = c.At
	}
	a.Status, a.Version, a.SunsetMs = APIDeprecated, a.Version+1, p.SunsetMs
	a.UpdatedMs, a.UpdatedBy = c.At, catActor(c.Actor)
	if err := saveAPI(tx, c, a, false, "deprecate", catOrDefault(p.Summary, "deprecated"), from, fromStatus); err != nil {
		return nil, err
	}
	if err := noticeAPIChange(tx, c, a, NoticeAPIDeprecated, p.Summary); err != nil {
		return nil, err
	}
	return a, nil
}

func applyAPIRetire(tx *Tx, c *Command, p *APITransition) (any, error) {
	a, err := apiForChange(tx, p.ID, p.ExpectedVersion)
	if err != nil {
		return nil, err
	}
	switch a.Status {
	case APIDraft:
	case APIDeprecated:
		if c.At < a.SunsetMs {
			return nil, Conflict("the API's announced sunset has not come yet: retire it from " + time.UnixMilli(a.SunsetMs).UTC().Format(time.RFC3339))
		}
	case APIPublished:
		return nil, Conflict("deprecate the API with a sunset date first, so that the applicants granted it are told in advance")
	default:
		return nil, Conflict("the API is already retired")
	}
	from, fromStatus := a.Version, a.Status
	a.Status, a.Version, a.RetiredMs = APIRetired, a.Version+1, c.At
	a.UpdatedMs, a.UpdatedBy = c.At, catActor(c.Actor)
	if err := saveAPI(tx, c, a, false, "retire", catOrDefault(p.Summary, "retired"), from, fromStatus); err != nil {
		return nil, err
	}
	if fromStatus != APIDraft {
		if err := noticeAPIChange(tx, c, a, NoticeAPIRetired, p.Summary); err != nil {
			return nil, err
		}
	}
	// The API's identifier is deregistered: nobody keeps a grant on it.
	if _, err := tx.Exec("DELETE FROM grants WHERE api_id = ?", a.ID); err != nil {
		return nil, err
	}
	return a, nil
}

func catOrDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

func applyGrantSet(tx *Tx, c *Command, p *GrantSet) (any, error) {
	var appStatus string
	switch err := tx.QueryRow("SELECT status FROM apps WHERE id = ?", p.AppID).Scan(&appStatus); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, NotFound("no such app")
	case err != nil:
		return nil, err
	}
	if appStatus != AppGrantableStatus {
		return nil, Conflict("the app is not active (it is " + appStatus + ")")
	}
	var apiStatus string
	switch err := tx.QueryRow("SELECT status FROM apis WHERE id = ?", p.APIID).Scan(&apiStatus); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, NotFound("no such API")
	case err != nil:
		return nil, err
	}
	if apiStatus != APIPublished && apiStatus != APIDeprecated {
		return nil, Conflict("only a published or deprecated API can be granted (it is " + apiStatus + ")")
	}
	g := Grant{AppID: p.AppID, APIID: p.APIID, GrantedBy: catActor(c.Actor), GrantedMs: c.At}
	if p.Limits != nil {
		g.Limits = *p.Limits
	}
	lim, err := json.Marshal(g.Limits)
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(`INSERT INTO grants (app_id, api_id, limits, granted_by, granted_ms) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (app_id, api_id) DO UPDATE SET limits = excluded.limits, granted_by = excluded.granted_by, granted_ms = excluded.granted_ms`,
		g.AppID, g.APIID, string(lim), g.GrantedBy, g.GrantedMs); err != nil {
		return nil, err
	}
	return g, nil
}

// AppGrantableStatus is the status an app must have to be granted an API.
const AppGrantableStatus = "active"

func applyGrantRevoke(tx *Tx, c *Command, p *GrantRevoke) (any, error) {
	res, err := tx.Exec("DELETE FROM grants WHERE app_id = ? AND api_id = ?", p.AppID, p.APIID)
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, NotFound("no such grant")
	}
	return map[string]string{"app_id": p.AppID, "api_id": p.APIID}, nil
}

func init() {
	Handle(CmdAPICreate, 1, PartCatalogue, applyAPICreate)
	Handle(CmdAPIUpdate, 1, PartCatalogue, applyAPIUpdate)
	Handle(CmdAPIPublish, 1, PartCatalogue, applyAPIPublish)
	Handle(CmdAPIDeprecate, 1, PartCatalogue, applyAPIDeprecate)
	Handle(CmdAPIRetire, 1, PartCatalogue, applyAPIRetire)
	Handle(CmdGrantSet, 1, PartCatalogue, applyDirectGrantSet) // grant_proposals.go: production apps need an approved proposal
	Handle(CmdGrantRevoke, 1, PartCatalogue, applyGrantRevoke)
	registerPart(PartCatalogue, loadCatalogue)
}

// ---- the registry view ------------------------------------------------------------------

// CatalogueView is the registry's view of the catalogue and the grants: what
// the gateway reads on every call, without SQL. It is immutable once
// published in a Registry; its *API values are shared between registries
// while they do not change.
type CatalogueView struct {
	apis   map[string]*API
	sorted []*API                // by path, method, id
	routes map[string]*routeNode // by method
	// The grants are held once, in one block: byApp's slices are parts of
	// it, byAPI points into it. A 100,000-app registry has grants by the
	// hundred thousand; three copies of each (and a map of them by app and
	// API) were most of its catalogue's memory.
	byApp map[string][]Grant  // sorted by API id
	byAPI map[string][]*Grant // sorted by App_ID
}

// compileAPI compiles a loaded API's template, schemas and masking paths. An
// API this binary cannot compile is kept (so it still matches) but refuses
// every call (Validate returns ErrNotCompiled).
//
// An API whose upstream this binary refuses (Upstream.check) is compiled, so
// that its calls are checked as usual, but UpstreamRefused says why they
// cannot go on.
func compileAPI(a *API) {
	cs, err := a.APISpec.compile()
	if err != nil {
		if t, terr := parsePathTemplate(a.Path); terr == nil {
			a.tmpl = t
		}
		return
	}
	a.upstreamErr = a.Upstream.check(a.Level)
	a.tmpl, a.params = cs.tmpl, cs.params
	masks := make([]MaskRule, len(a.Masking))
	for i, m := range a.Masking {
		m.steps = cs.masks[i]
		masks[i] = m
	}
	a.Masking = masks
}

func loadCatalogue(db queryer, r *Registry) error {
	prev := r.Catalogue
	// The grant maps sized at once: a large registry has grants by the
	// hundred thousand, and growing the maps was a third of their load.
	var nGrants, nApps int
	if err := db.QueryRow("SELECT COUNT(*), COUNT(DISTINCT app_id) FROM grants").Scan(&nGrants, &nApps); err != nil {
		return fmt.Errorf("grants: %w", err)
	}
	v := &CatalogueView{apis: map[string]*API{}, routes: map[string]*routeNode{},
		byApp: make(map[string][]Grant, nApps), byAPI: map[string][]*Grant{}}
	err := queryRows(db, "SELECT "+apiColumns+" FROM apis", nil, func(row rowScanner) error {
		a, err := scanAPI(row)
		if err != nil {
			return err
		}
		if prev != nil {
			if old := prev.apis[a.ID]; old != nil && old.Version == a.Version {
				a = old // unchanged: keep its compiled schemas
			} else {
				compileAPI(a)
			}
		} else {
			compileAPI(a)
		}
		v.apis[a.ID] = a
		v.sorted = append(v.sorted, a)
		return nil
	})
	if err != nil {
		return fmt.Errorf("catalogue: %w", err)
	}
	sort.Slice(v.sorted, func(i, j int) bool {
		a, b := v.sorted[i], v.sorted[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		if a.Method != b.Method {
			return a.Method < b.Method
		}
		return a.ID < b.ID
	})
	for _, a := range v.sorted {
		if len(a.tmpl.segs) == 0 {
			continue
		}
		root := v.routes[a.Method]
		if root == nil {
			root = &routeNode{}
			v.routes[a.Method] = root
		}
		root.insert(a.tmpl, a)
	}
	// Rows come by app: each app's grants are the block's next part.
	block := make([]Grant, 0, nGrants)
	start := 0
	shared := interner{}
	err = queryRows(db, "SELECT app_id, api_id, limits, granted_by, granted_ms FROM grants ORDER BY app_id, api_id", nil, func(row rowScanner) error {
		var g Grant
		var lim string
		if err := row.Scan(&g.AppID, &g.APIID, &lim, &g.GrantedBy, &g.GrantedMs); err != nil {
			return err
		}
		if lim != "{}" { // most grants keep the API's limits: nothing to decode
			if err := json.Unmarshal([]byte(lim), &g.Limits); err != nil {
				return fmt.Errorf("%s/%s: limits: %w", g.AppID, g.APIID, err)
			}
		}
		if start < len(block) && block[start].AppID != g.AppID {
			v.byApp[block[start].AppID] = block[start:len(block):len(block)]
			start = len(block)
		}
		if start < len(block) {
			g.AppID = block[start].AppID // the app's grants share its id
		}
		g.APIID, g.GrantedBy = shared.of(g.APIID), shared.of(g.GrantedBy)
		block = append(block, g)
		return nil
	})
	if err != nil {
		return fmt.Errorf("grants: %w", err)
	}
	if start < len(block) {
		v.byApp[block[start].AppID] = block[start:len(block):len(block)]
	}
	for i := range block {
		g := &block[i]
		v.byAPI[g.APIID] = append(v.byAPI[g.APIID], g)
	}
	r.Catalogue = v
	return nil
}

// API returns the API with the given id, whatever its status.
func (v *CatalogueView) API(id string) (*API, bool) {
	if v == nil {
		return nil, false
	}
	a, ok := v.apis[id]
	return a, ok
}

// APIs returns every API, sorted by path, method and id. The slice is
// shared: do not modify it.
func (v *CatalogueView) APIs() []*API {
	if v == nil {
		return nil
	}
	return v.sorted
}

// Match finds the API for a call's method and path: the escaped path as
// sent (r.URL.EscapedPath()), without the query. Literal segments win over
// parameters; retired APIs still match (the gateway answers API_RETIRED),
// but a live API on the same route wins over them. Parameter values are
// percent-decoded; a segment that does not decode does not match. Draft APIs
// match too: the gateway refuses everything that is not Callable. A route
// without parameters gives a nil (empty, read-only) map.
func (v *CatalogueView) Match(method, path string) (api *API, pathParams map[string]string, ok bool) {
	if v == nil || len(path) < 2 || path[0] != '/' {
		return nil, nil, false
	}
	root := v.routes[method]
	if root == nil {
		return nil, nil, false
	}
	var buf [8]string
	a, vals := root.match(path[1:], buf[:0])
	if a == nil {
		return nil, nil, false
	}
	if len(vals) == 0 {
		return a, nil, true // a route without parameters: no map to allocate
	}
	pathParams = make(map[string]string, len(vals))
	for i, raw := range vals {
		val, ok := unescapeParam(raw)
		if !ok || i >= len(a.tmpl.params) {
			return nil, nil, false
		}
		pathParams[a.tmpl.params[i]] = val
	}
	return a, pathParams, true
}

// Grant returns the app's grant of the API (default deny: false when none).
func (v *CatalogueView) Grant(appID, apiID string) (Grant, bool) {
	if v == nil {
		return Grant{}, false
	}
	gs := v.byApp[appID]
	i, ok := slices.BinarySearchFunc(gs, apiID, func(g Grant, id string) int { return strings.Compare(g.APIID, id) })
	if !ok {
		return Grant{}, false
	}
	return gs[i], true
}

// GrantsOf returns the app's grants, sorted by API id. The slice is shared:
// do not modify it.
func (v *CatalogueView) GrantsOf(appID string) []Grant {
	if v == nil {
		return nil
	}
	return v.byApp[appID]
}

// GrantsFor returns the grants of the API, sorted by App_ID (a copy: for
// the admin API and the portal, not the gateway).
func (v *CatalogueView) GrantsFor(apiID string) []Grant {
	if v == nil {
		return nil
	}
	ps := v.byAPI[apiID]
	if len(ps) == 0 {
		return nil
	}
	out := make([]Grant, len(ps))
	for i, g := range ps {
		out[i] = *g
	}
	return out
}

// EffectiveLimits returns the limits of the app's calls of the API: the API's
// defaults with the grant's overrides. ok is false when there is no grant or
// no such API.
func (v *CatalogueView) EffectiveLimits(appID, apiID string) (Limits, bool) {
	g, ok := v.Grant(appID, apiID)
	if !ok {
		return Limits{}, false
	}
	a, ok := v.API(apiID)
	if !ok {
		return Limits{}, false
	}
	return g.Limits.Apply(a.Limits), true
}
