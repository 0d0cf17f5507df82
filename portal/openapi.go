package portal

import (
	"encoding"
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"lijiang/platform"
)

// routeDoc describes one route for the OpenAPI documents.
type routeDoc struct {
	api, method, path, summary string
	request, response          reflect.Type
}

// doc records a route's description for the OpenAPI document of api
// ("admin" or "portal"); path is relative to the API's prefix, with
// {param} for path parameters. request and response are example values of
// the body types (nil for none).
func (s *Server) doc(api, method, path, summary string, request, response any) {
	s.docsMu.Lock()
	defer s.docsMu.Unlock()
	d := routeDoc{api: api, method: strings.ToLower(method), path: path, summary: summary}
	if request != nil {
		d.request = reflect.TypeOf(request)
	}
	if response != nil {
		d.response = reflect.TypeOf(response)
	}
	s.docs = append(s.docs, d)
}

var pathParamPattern = regexp.MustCompile(`\{([a-zA-Z_][a-zA-Z0-9_]*)\}`)

// OpenAPI builds the OpenAPI 3.1 document of api ("admin" or "portal").
func (s *Server) OpenAPI(api string) map[string]any {
	s.docsMu.Lock()
	docs := append([]routeDoc(nil), s.docs...)
	s.docsMu.Unlock()
	prefix, title, cookie := AdminPrefix, "Lijiang admin API", AdminCookie
	if api == "portal" {
		prefix, title, cookie = PortalPrefix, "Lijiang developer-portal API", DeveloperCookie
	}
	errorSchema := map[string]any{"type": "object", "required": []string{"code", "message"}, "properties": map[string]any{
		"code": map[string]any{"type": "string", "enum": errorCodeEnum(), "description": "one of x-error-codes (docs/errors.md)"}, "message": map[string]any{"type": "string"},
		"field": map[string]any{"type": "string"}, "request_id": map[string]any{"type": "string", "description": "the answer's LJ-Request-Id"},
	}, "x-error-codes": errorCodesExtension()}
	paths := map[string]any{}
	for _, d := range docs {
		if d.api != api {
			continue
		}
		op := map[string]any{"summary": d.summary, "operationId": operationID(d.method, d.path), "responses": map[string]any{
			"default": map[string]any{"description": "error", "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}},
		}}
		var params []any
		for _, m := range pathParamPattern.FindAllStringSubmatch(d.path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, name := range routeQuery[d.api+" "+strings.ToUpper(d.method)+" "+d.path] {
			if p, ok := routeQueryDocs[d.api+" "+strings.ToUpper(d.method)+" "+d.path][name]; ok {
				params = append(params, p)
				continue
			}
			params = append(params, queryParamDoc(name))
		}
		if d.method == "patch" || d.method == "put" {
			params = append(params, map[string]any{"name": "If-Match", "in": "header", "required": true, "schema": map[string]any{"type": "string"}, "description": `"<version>" last read`})
		}
		if d.method != "get" && d.method != "delete" {
			params = append(params, map[string]any{"name": "Idempotency-Key", "in": "header", "schema": map[string]any{"type": "string"}, "description": "retry safely: the change is applied once; a replayed answer carries Idempotent-Replayed: true"})
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if d.request != nil {
			body := routeBody[d.api+" "+strings.ToUpper(d.method)+" "+d.path]
			sch := jsonSchema(d.request, 0, false)
			if len(body.required) > 0 {
				req, _ := sch["required"].([]string)
				sch["required"] = sortedUnique(append(slices.Clone(req), body.required...))
			}
			if body.change {
				sch["minProperties"] = 1
			}
			if ex, ok := requestExamples[d.request]; ok {
				sch["examples"] = []any{ex}
			}
			op["requestBody"] = map[string]any{"required": !body.optional, "content": map[string]any{"application/json": map[string]any{"schema": sch}}}
		}
		ok := map[string]any{"description": "success"}
		if d.response != nil {
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": jsonSchema(d.response, 0, true)}}
		}
		if content, found := routeContent[d.api+" "+strings.ToUpper(d.method)+" "+d.path]; found {
			ok["content"] = content
		}
		op["responses"].(map[string]any)["2XX"] = ok
		if d.path != "/login" && d.path != "/signup" {
			op["security"] = []any{map[string]any{"session": []any{}}}
		}
		item, _ := paths[prefix+d.path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[prefix+d.path] = item
		}
		item[d.method] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info":    map[string]any{"title": title, "version": "v1"},
		"paths":   paths,
		// Every code an error of this API may carry (ErrorCodes).
		"x-error-codes": errorCodesExtension(),
		"components": map[string]any{
			"schemas":         map[string]any{"Error": errorSchema},
			"securitySchemes": map[string]any{"session": map[string]any{"type": "apiKey", "in": "cookie", "name": cookie}},
		},
	}
}

// bodyDoc is what a route's documentation says of its request body beyond
// its type: whether it may be absent (the handler reads it with
// bindOptional), whether it must change something (a PATCH refusing
// "nothing to change": at least one field), and the fields this route
// requires of a type that other routes share (reasonRequest: a reason is
// needed to suspend, exit or reject, not to resume or approve).
type bodyDoc struct {
	optional bool
	change   bool
	required []string
}

// routeBody is the one table of bodyDoc, keyed "api METHOD /path" as
// routeQuery; a route not named here needs its body, with the fields its
// type tags oa:"required".
var routeBody = map[string]bodyDoc{
	"admin POST /applicants/{id}/suspend":                {required: []string{"reason"}},
	"admin POST /applicants/{id}/resume":                 {optional: true},
	"admin POST /applicants/{id}/exit":                   {required: []string{"reason"}},
	"admin POST /production-requests/{id}/approve":       {optional: true},
	"admin POST /production-requests/{id}/reject":        {required: []string{"reason"}},
	"admin POST /credentials/{id}/revoke":                {optional: true},
	"admin POST /apis/{id}/publish":                      {optional: true},
	"admin POST /apis/{id}/retire":                       {optional: true},
	"admin PUT /apps/{app_id}/grants/{api_id}":           {optional: true},
	"admin POST /grant-proposals/{id}/approve":           {optional: true},
	"admin POST /grant-proposals/{id}/reject":            {required: []string{"reason"}},
	"admin PATCH /risk/rules/{id}":                       {change: true},
	"admin POST /risk/proposals/{id}/approve":            {optional: true},
	"admin POST /risk/proposals/{id}/reject":             {required: []string{"reason"}},
	"portal POST /apps/{app_id}/secrets":                 {optional: true},
	"portal PATCH /applicants/{id}":                      {change: true},
	"portal PATCH /production-requests/{id}":             {change: true},
	"admin PATCH /production-requests/{id}":              {change: true},
	"portal POST /apps/{app_id}/credentials/{id}/revoke": {optional: true},
}

// operationID names an operation for code generators: the method, then
// each segment of the path capitalised, a parameter as "By" and its name
// (POST /apis/{id}/publish: postApisByIdPublish).
func operationID(method, path string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for _, seg := range strings.Split(path, "/") {
		if m := pathParamPattern.FindStringSubmatch(seg); m != nil {
			b.WriteString("By")
			seg = m[1]
		}
		for _, w := range strings.FieldsFunc(seg, func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return b.String()
}

// sortedUnique sorts list and drops repeats (a JSON Schema's required
// names each field once).
func sortedUnique(list []string) []string {
	sort.Strings(list)
	return slices.Compact(list)
}

// routeContent is the success answer's content of a route that does not
// answer JSON (keyed as routeQuery).
var routeContent = map[string]map[string]any{}

// routeQueryDocs describe the query parameters of a route (keyed as
// routeQuery) where they differ from queryParamDoc's.
var routeQueryDocs = map[string]map[string]map[string]any{}

// queryParamDoc describes a query parameter of routeQuery; any other query
// parameter is refused.
func queryParamDoc(name string) map[string]any {
	switch name {
	case "limit":
		return map[string]any{"name": name, "in": "query", "schema": map[string]any{"type": "integer", "minimum": 1, "maximum": 500, "default": 50}}
	case "offset":
		return map[string]any{"name": name, "in": "query", "schema": map[string]any{"type": "integer", "minimum": 0, "default": 0}}
	}
	return map[string]any{"name": name, "in": "query", "schema": map[string]any{"type": "string"}}
}

func (s *Server) openAPIHandler(api string) echo.HandlerFunc {
	return func(c echo.Context) error {
		return c.JSON(http.StatusOK, s.OpenAPI(api))
	}
}

// fieldEnums are the known value sets of string fields, by the struct that
// declares the field and its JSON name.
var fieldEnums = map[reflect.Type]map[string][]string{
	reflect.TypeOf(platform.APIContract{}): {"level": {platform.LevelA1, platform.LevelA2},
		"method": {"GET", "POST", "PUT", "PATCH", "DELETE"}},
	reflect.TypeOf(platform.APISpec{}):       {"retention": {platform.RetentionNone, platform.RetentionMasked, platform.RetentionSealed}},
	reflect.TypeOf(apiJSON{}):                {"status": {platform.APIDraft, platform.APIPublished, platform.APIDeprecated, platform.APIRetired}},
	reflect.TypeOf(adminMe{}):                {"role": platform.Roles},
	reflect.TypeOf(adminUserJSON{}):          {"role": platform.Roles, "status": {"active", "disabled"}},
	reflect.TypeOf(createAdminUserRequest{}): {"role": platform.Roles},
	reflect.TypeOf(updateAdminUserRequest{}): {"role": platform.Roles, "status": {"active", "disabled"}},
	reflect.TypeOf(platform.MaskRule{}): {"kind": {platform.MaskCardNo, platform.MaskAccountNo, platform.MaskName, platform.MaskIDNo,
		platform.MaskPhone, platform.MaskEmail, platform.MaskCustom}},
	reflect.TypeOf(uploadKeyRequest{}): {"kind": {platform.CredentialSM2Sign, platform.CredentialSM2Enc}},
	reflect.TypeOf(rotateKeyRequest{}): {"use": {"sig", "enc"}},
}

var (
	timeType = reflect.TypeOf(time.Time{})
	// textMarshalerType: a type that marshals itself as text is a string.
	textMarshalerType = reflect.TypeOf((*encoding.TextMarshaler)(nil)).Elem()
	rawType           = reflect.TypeOf(json.RawMessage(nil))
)

// jsonSchema describes t as JSON Schema, following encoding/json's rules.
// In a response (out), a field without omitempty is always present, so it
// is required (and may be null when it is a pointer, slice or map). A
// field's doc:"…" tag is its description, its format:"…" tag its format,
// its pattern:"…" tag its pattern (for strings the server refuses unless
// they match it); in a request, a field tagged oa:"required" is required.
func jsonSchema(t reflect.Type, depth int, out bool) map[string]any {
	if depth > 8 {
		return map[string]any{}
	}
	if t.Kind() == reflect.Pointer {
		return jsonSchema(t.Elem(), depth+1, out)
	}
	if t == timeType {
		return map[string]any{"type": "string", "format": "date-time"}
	}
	if t == rawType {
		return map[string]any{}
	}
	if t.Implements(textMarshalerType) {
		// Written as text (e.g. platform.AlertDuration's "5m0s").
		return map[string]any{"type": "string"}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Uint16:
		return map[string]any{"type": "integer", "format": "int32"}
	case reflect.Int, reflect.Int64, reflect.Uint, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer", "format": "int64"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "contentEncoding": "base64"}
		}
		return map[string]any{"type": "array", "items": jsonSchema(t.Elem(), depth+1, out)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": jsonSchema(t.Elem(), depth+1, out)}
	case reflect.Struct:
		props := map[string]any{}
		var required []string
		collectFields(t, props, &required, depth, out)
		// An outer field hides an embedded one of the same name (as in
		// encoding/json), which may have been required too.
		required = sortedUnique(required)
		m := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if len(required) > 0 {
			m["required"] = required
		}
		return m
	}
	return map[string]any{}
}

func collectFields(t reflect.Type, props map[string]any, required *[]string, depth int, out bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				collectFields(ft, props, required, depth, out)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		sch := jsonSchema(f.Type, depth+1, out)
		if e := fieldEnums[t][name]; e != nil {
			sch["enum"] = e
		}
		if d := f.Tag.Get("doc"); d != "" {
			sch["description"] = d
		}
		omit := false
		for _, o := range strings.Split(opts, ",") {
			omit = omit || o == "omitempty" || o == "omitzero"
		}
		if f.Tag.Get("format") != "" {
			sch["format"] = f.Tag.Get("format")
		}
		if p := f.Tag.Get("pattern"); p != "" {
			sch["pattern"] = p
		}
		if !out && f.Tag.Get("oa") == "required" {
			*required = append(*required, name)
		}
		if out && !omit {
			*required = append(*required, name)
			switch f.Type.Kind() {
			case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
				if typ, ok := sch["type"].(string); ok && !(f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Uint8) {
					sch["type"] = []any{typ, "null"}
				}
			}
		}
		props[name] = sch
	}
}

// fmtSscan parses a decimal int64.
func fmtSscan(s string, n *int64) (int, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, err
	}
	*n = v
	return 1, nil
}
