package platform

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"lijiang/platform/checkdigit"
	"lijiang/platform/lj1"
	"lijiang/platform/masking"
)

// The parameter schemas of an API are documents in a strict subset of JSON
// Schema (draft 2020-12), small enough to review and to render in the
// developer manual and the OpenAPI document:
//
//	type                 required in every schema: object, string, integer, number, boolean or array
//	title, description   annotations (any type)
//	properties, required, additionalProperties (boolean only)       objects
//	minLength, maxLength, pattern (RE2), format, enum               strings
//	minimum, maximum, enum                                          integers and numbers
//	items (required), minItems, maxItems                            arrays
//
// Formats: date, date-time, time, email, uri, uuid, ipv4, ipv6, hostname, and
// Lijiang's own account_no, card_no, amount, currency, id_no and phone (see
// schemaFormats). Any other keyword, or a keyword on a type it does not apply
// to, is refused naming the keyword. A document that passes is also compiled
// with github.com/santhosh-tekuri/jsonschema/v6, which validates calls.

// Limits of schema documents.
const (
	maxSchemaDocSize    = 64 << 10
	maxSchemaDepth      = 16
	maxSchemaProperties = 256
	maxSchemaEnum       = 256
	maxSchemaPattern    = 512
	maxSchemaText       = 4000
	maxSchemaCount      = 1 << 20
	maxBodyJSONDepth    = 64
)

// SchemaError says why a parameter schema document is refused: where in the
// document (a JSON pointer) and which keyword.
type SchemaError struct {
	Pointer string // e.g. "/properties/amount"
	Keyword string // the offending keyword, if any
	Msg     string
}

func (e *SchemaError) Error() string {
	at := e.Pointer
	if at == "" {
		at = "/"
	}
	if e.Keyword != "" {
		return fmt.Sprintf("at %s: keyword %q %s", at, e.Keyword, e.Msg)
	}
	return fmt.Sprintf("at %s: %s", at, e.Msg)
}

// Schema types of the subset.
const (
	schemaObject  = "object"
	schemaString  = "string"
	schemaInteger = "integer"
	schemaNumber  = "number"
	schemaBoolean = "boolean"
	schemaArray   = "array"
)

// schemaKeywords maps each keyword of the subset to the types it applies to
// ("" = every type).
var schemaKeywords = map[string][]string{
	"type":                 {""},
	"title":                {""},
	"description":          {""},
	"properties":           {schemaObject},
	"required":             {schemaObject},
	"additionalProperties": {schemaObject},
	"minLength":            {schemaString},
	"maxLength":            {schemaString},
	"pattern":              {schemaString},
	"format":               {schemaString},
	"enum":                 {schemaString, schemaInteger, schemaNumber},
	"minimum":              {schemaInteger, schemaNumber},
	"maximum":              {schemaInteger, schemaNumber},
	"items":                {schemaArray},
	"minItems":             {schemaArray},
	"maxItems":             {schemaArray},
}

// schemaNode is a checked schema of the subset; the validator uses it to
// coerce path and query strings to the declared types.
type schemaNode struct {
	Type       string
	Properties map[string]*schemaNode
	Required   []string
	Additional *bool
	Items      *schemaNode
}

// decodeJSONDoc decodes exactly one JSON value with numbers as json.Number,
// refusing duplicate object keys, nesting deeper than maxDepth and trailing
// data.
func decodeJSONDoc(data []byte, maxDepth int) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeJSONValue(dec, 0, maxDepth)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON value")
	}
	return v, nil
}

func decodeJSONValue(dec *json.Decoder, depth, maxDepth int) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return nil, errors.New("unexpected end of JSON")
		}
		return nil, errors.New("not valid JSON")
	}
	switch t := tok.(type) {
	case json.Delim:
		if depth >= maxDepth {
			return nil, fmt.Errorf("nested deeper than %d", maxDepth)
		}
		switch t {
		case '{':
			m := map[string]any{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, errors.New("not valid JSON")
				}
				k, ok := kt.(string)
				if !ok {
					return nil, errors.New("not valid JSON")
				}
				if _, dup := m[k]; dup {
					return nil, errors.New("an object has a duplicate member")
				}
				v, err := decodeJSONValue(dec, depth+1, maxDepth)
				if err != nil {
					return nil, err
				}
				m[k] = v
			}
			if _, err := dec.Token(); err != nil {
				return nil, errors.New("not valid JSON")
			}
			return m, nil
		case '[':
			a := []any{}
			for dec.More() {
				v, err := decodeJSONValue(dec, depth+1, maxDepth)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, errors.New("not valid JSON")
			}
			return a, nil
		}
		return nil, errors.New("not valid JSON")
	default:
		return tok, nil
	}
}

// parseSchemaDoc checks a schema document against the subset and returns its
// checked form and its decoded value (for the compiler).
func parseSchemaDoc(data []byte) (*schemaNode, any, error) {
	if len(data) > maxSchemaDocSize {
		return nil, nil, &SchemaError{Msg: fmt.Sprintf("the document is larger than %d bytes", maxSchemaDocSize)}
	}
	doc, err := decodeJSONDoc(data, 2*maxSchemaDepth+2)
	if err != nil {
		return nil, nil, &SchemaError{Msg: err.Error()}
	}
	n, err := checkSchema(doc, "", 0)
	if err != nil {
		return nil, nil, err
	}
	return n, doc, nil
}

func schemaInt(v any, ptr, kw string) (int, error) {
	num, ok := v.(json.Number)
	if !ok {
		return 0, &SchemaError{Pointer: ptr, Keyword: kw, Msg: "must be a non-negative integer"}
	}
	i, err := strconv.ParseInt(string(num), 10, 64)
	if err != nil || i < 0 || i > maxSchemaCount {
		return 0, &SchemaError{Pointer: ptr, Keyword: kw, Msg: fmt.Sprintf("must be an integer from 0 to %d", maxSchemaCount)}
	}
	return int(i), nil
}

// schemaBounds checks a pair of count keywords (minLength/maxLength,
// minItems/maxItems): each a non-negative integer, the lower not above the
// upper.
func schemaBounds(m map[string]any, ptr, minKW, maxKW string) error {
	lo, hi := -1, -1
	var err error
	if x, ok := m[minKW]; ok {
		if lo, err = schemaInt(x, ptr, minKW); err != nil {
			return err
		}
	}
	if x, ok := m[maxKW]; ok {
		if hi, err = schemaInt(x, ptr, maxKW); err != nil {
			return err
		}
	}
	if lo >= 0 && hi >= 0 && lo > hi {
		return &SchemaError{Pointer: ptr, Keyword: minKW, Msg: "is greater than " + maxKW}
	}
	return nil
}

func schemaRat(v any) (*big.Rat, bool) {
	num, ok := v.(json.Number)
	if !ok || len(num) > 64 {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(string(num))
	return r, ok
}

func schemaText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
			return false
		}
	}
	return true
}

func checkSchema(v any, ptr string, depth int) (*schemaNode, error) {
	if depth > maxSchemaDepth {
		return nil, &SchemaError{Pointer: ptr, Msg: fmt.Sprintf("schemas nest deeper than %d", maxSchemaDepth)}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &SchemaError{Pointer: ptr, Msg: "a schema must be a JSON object"}
	}
	// Unknown keywords first, in a stable order, so the error names the
	// keyword whatever else is wrong.
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, ok := schemaKeywords[k]; !ok {
			return nil, &SchemaError{Pointer: ptr, Keyword: trimForMessage(k), Msg: "is not supported (see the schema subset in the developer manual)"}
		}
	}
	tv, ok := m["type"]
	if !ok {
		return nil, &SchemaError{Pointer: ptr, Keyword: "type", Msg: "is required"}
	}
	typ, _ := tv.(string)
	switch typ {
	case schemaObject, schemaString, schemaInteger, schemaNumber, schemaBoolean, schemaArray:
	default:
		return nil, &SchemaError{Pointer: ptr, Keyword: "type", Msg: "must be one of object, string, integer, number, boolean, array"}
	}
	for _, k := range keys {
		types := schemaKeywords[k]
		if types[0] == "" {
			continue
		}
		applies := false
		for _, t := range types {
			applies = applies || t == typ
		}
		if !applies {
			return nil, &SchemaError{Pointer: ptr, Keyword: k, Msg: "does not apply to type " + typ}
		}
	}
	n := &schemaNode{Type: typ}
	for _, k := range []string{"title", "description"} {
		if x, ok := m[k]; ok {
			s, ok := x.(string)
			if !ok || len(s) > maxSchemaText || !schemaText(s) {
				return nil, &SchemaError{Pointer: ptr, Keyword: k, Msg: fmt.Sprintf("must be text of at most %d bytes", maxSchemaText)}
			}
		}
	}
	// objects
	if x, ok := m["properties"]; ok {
		props, ok := x.(map[string]any)
		if !ok {
			return nil, &SchemaError{Pointer: ptr, Keyword: "properties", Msg: "must be an object of schemas"}
		}
		if len(props) > maxSchemaProperties {
			return nil, &SchemaError{Pointer: ptr, Keyword: "properties", Msg: fmt.Sprintf("has more than %d members", maxSchemaProperties)}
		}
		n.Properties = make(map[string]*schemaNode, len(props))
		names := make([]string, 0, len(props))
		for name := range props {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			if name == "" || len(name) > 128 || !schemaText(name) || strings.ContainsAny(name, "\n\t") {
				return nil, &SchemaError{Pointer: ptr, Keyword: "properties", Msg: "member names must be 1-128 printable characters"}
			}
			c, err := checkSchema(props[name], ptr+"/properties/"+escapePointer(name), depth+1)
			if err != nil {
				return nil, err
			}
			n.Properties[name] = c
		}
	}
	if x, ok := m["required"]; ok {
		list, ok := x.([]any)
		if !ok {
			return nil, &SchemaError{Pointer: ptr, Keyword: "required", Msg: "must be an array of property names"}
		}
		seen := map[string]bool{}
		for _, e := range list {
			s, ok := e.(string)
			if !ok {
				return nil, &SchemaError{Pointer: ptr, Keyword: "required", Msg: "must be an array of property names"}
			}
			if seen[s] {
				return nil, &SchemaError{Pointer: ptr, Keyword: "required", Msg: "names a property twice"}
			}
			if _, ok := n.Properties[s]; !ok {
				return nil, &SchemaError{Pointer: ptr, Keyword: "required", Msg: "names a property that is not in properties"}
			}
			seen[s] = true
			n.Required = append(n.Required, s)
		}
	}
	if x, ok := m["additionalProperties"]; ok {
		b, ok := x.(bool)
		if !ok {
			return nil, &SchemaError{Pointer: ptr, Keyword: "additionalProperties", Msg: "must be true or false (schemas are not supported here)"}
		}
		n.Additional = &b
	}
	// strings
	if err := schemaBounds(m, ptr, "minLength", "maxLength"); err != nil {
		return nil, err
	}
	if x, ok := m["pattern"]; ok {
		s, ok := x.(string)
		if !ok || s == "" || len(s) > maxSchemaPattern {
			return nil, &SchemaError{Pointer: ptr, Keyword: "pattern", Msg: fmt.Sprintf("must be a regular expression of 1-%d bytes", maxSchemaPattern)}
		}
		if _, err := regexp.Compile(s); err != nil {
			return nil, &SchemaError{Pointer: ptr, Keyword: "pattern", Msg: "is not a valid RE2 regular expression"}
		}
	}
	if x, ok := m["format"]; ok {
		s, _ := x.(string)
		if _, ok := schemaFormats[s]; !ok {
			return nil, &SchemaError{Pointer: ptr, Keyword: "format", Msg: "must be one of " + strings.Join(SchemaFormats(), ", ")}
		}
	}
	// numbers
	var lo, hi *big.Rat
	if x, ok := m["minimum"]; ok {
		if lo, ok = schemaRat(x); !ok {
			return nil, &SchemaError{Pointer: ptr, Keyword: "minimum", Msg: "must be a number"}
		}
	}
	if x, ok := m["maximum"]; ok {
		if hi, ok = schemaRat(x); !ok {
			return nil, &SchemaError{Pointer: ptr, Keyword: "maximum", Msg: "must be a number"}
		}
	}
	if lo != nil && hi != nil && lo.Cmp(hi) > 0 {
		return nil, &SchemaError{Pointer: ptr, Keyword: "minimum", Msg: "is greater than maximum"}
	}
	if x, ok := m["enum"]; ok {
		list, ok := x.([]any)
		if !ok || len(list) == 0 || len(list) > maxSchemaEnum {
			return nil, &SchemaError{Pointer: ptr, Keyword: "enum", Msg: fmt.Sprintf("must be an array of 1-%d values", maxSchemaEnum)}
		}
		seen := map[string]bool{}
		for _, e := range list {
			var key string
			switch typ {
			case schemaString:
				s, ok := e.(string)
				if !ok {
					return nil, &SchemaError{Pointer: ptr, Keyword: "enum", Msg: "values must be strings"}
				}
				key = s
			default:
				r, ok := schemaRat(e)
				if !ok || typ == schemaInteger && !r.IsInt() {
					return nil, &SchemaError{Pointer: ptr, Keyword: "enum", Msg: "values must be of type " + typ}
				}
				key = r.RatString()
			}
			if seen[key] {
				return nil, &SchemaError{Pointer: ptr, Keyword: "enum", Msg: "has a value twice"}
			}
			seen[key] = true
		}
	}
	// arrays
	if typ == schemaArray {
		x, ok := m["items"]
		if !ok {
			return nil, &SchemaError{Pointer: ptr, Keyword: "items", Msg: "is required for arrays"}
		}
		items, err := checkSchema(x, ptr+"/items", depth+1)
		if err != nil {
			return nil, err
		}
		n.Items = items
	}
	if err := schemaBounds(m, ptr, "minItems", "maxItems"); err != nil {
		return nil, err
	}
	return n, nil
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// trimForMessage shortens outside text for an error message.
func trimForMessage(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.ToValidUTF8(s, "?")
}

// ---- formats ---------------------------------------------------------------------

// schemaFormats are the formats a schema may name: the standard ones the
// compiler knows and Lijiang's own (nil here, defined in lijiangFormats).
var schemaFormats = map[string]bool{
	"date": true, "date-time": true, "time": true, "email": true, "uri": true, "uuid": true,
	"ipv4": true, "ipv6": true, "hostname": true,
	"account_no": true, "card_no": true, "amount": true, "currency": true, "id_no": true, "phone": true,
}

// SchemaFormats lists the formats a parameter schema may use, sorted.
func SchemaFormats() []string {
	out := make([]string, 0, len(schemaFormats))
	for f := range schemaFormats {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// lijiangFormats are Lijiang's own formats. Each checks strings only (JSON
// Schema formats ignore other types; "type" catches those).
var lijiangFormats = map[string]func(string) bool{
	// account_no: a bank account number, 8-32 digits.
	"account_no": func(s string) bool { return len(s) >= 8 && len(s) <= 32 && allDigits(s) },
	// card_no: a bank card number, 13-19 digits with a valid Luhn check digit.
	"card_no": checkdigit.CardNumber,
	// amount: a non-negative decimal amount as a string, at most two
	// decimals, no sign, no exponent, no leading zeros ("0.50", "1200").
	"amount": validAmount,
	// currency: an ISO 4217 alphabetic currency code ("CNY").
	"currency": func(s string) bool { return len(s) == 3 && iso4217[s] },
	// id_no: an 18-character PRC resident identity card number (GB 11643)
	// with a valid birth date and check character.
	"id_no": ValidIDNo,
	// phone: a mainland China mobile number, 11 digits starting 13-19.
	"phone": func(s string) bool { return len(s) == 11 && s[0] == '1' && s[1] >= '3' && allDigits(s) },
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func validAmount(s string) bool {
	intPart, frac, hasFrac := strings.Cut(s, ".")
	if intPart == "" || len(intPart) > 18 || !allDigits(intPart) || len(intPart) > 1 && intPart[0] == '0' {
		return false
	}
	if hasFrac {
		return len(frac) >= 1 && len(frac) <= 2 && allDigits(frac)
	}
	return true
}

// ValidIDNo reports whether s is an 18-character PRC resident identity card
// number (GB 11643-1999): a 6-digit region code not starting with 0, a valid
// birth date YYYYMMDD from 1900 to 2099, a 3-digit sequence and the ISO 7064
// MOD 11-2 check character (0-9 or X).
func ValidIDNo(s string) bool {
	if len(s) != 18 || !allDigits(s[:17]) || s[0] == '0' {
		return false
	}
	y, _ := strconv.Atoi(s[6:10])
	mo, _ := strconv.Atoi(s[10:12])
	d, _ := strconv.Atoi(s[12:14])
	if y < 1900 || y > 2099 || mo < 1 || mo > 12 || d < 1 {
		return false
	}
	if t := time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC); t.Day() != d {
		return false
	}
	return s[17] == checkdigit.IDNo(s[:17])
}

// iso4217 holds the ISO 4217 alphabetic codes (list of 2025, including funds
// and precious-metal codes).
var iso4217 = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range strings.Fields(`AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV
		BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN
		ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS
		KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR
		MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP
		SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED
		VES VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XTS XUA XXX YER ZAR ZMW ZWG ZWL`) {
		m[c] = true
	}
	return m
}()

// ---- compiling and validating ----------------------------------------------------

// Parameter locations, the prefixes of ParamError.Param.
const (
	ParamInPath  = "path"
	ParamInQuery = "query"
	ParamInBody  = "body"
)

// compiledSchema is one checked and compiled schema document.
type compiledSchema struct {
	node *schemaNode
	sch  *jsonschema.Schema
	raw  json.RawMessage // the document, compact (for the OpenAPI rendering)
}

// paramValidator holds an API's compiled parameter schemas. It is built when
// the registry loads the API and shared by every call.
type paramValidator struct {
	path, query, body *compiledSchema // query and body nil: none accepted
	// noPath is, for a path template without parameters, the path
	// schema's verdict on the empty object, the only object such a path
	// has (nil: valid); Validate returns it without validating each call.
	noPath error
	// okQueries holds raw query strings ValidateRequest found valid for
	// a call without path parameters or body (at most okQueriesMax, then
	// emptied), and okN how many it holds.
	okQueries atomic.Pointer[sync.Map]
	okN       atomic.Int32
}

// okQueriesMax bounds the valid raw queries an API keeps, okQueryMax the
// length of one it keeps.
const (
	okQueriesMax = 256
	okQueryMax   = 256
)

// ValidateRequest is Validate of the raw query, parsed as
// url.URL.Query parses it. A call to an API whose path has no parameters,
// without a body, is only its query: one found valid is kept (the same
// query is valid again, against the same compiled schemas) and not parsed
// or validated the next time. An API's calls mostly repeat a few queries
// (currencies, product codes); a caller sending ever new ones empties the
// set every okQueriesMax and gains nothing, as before.
func (a *API) ValidateRequest(pathParams map[string]string, rawQuery string, body []byte) error {
	pv := a.params
	if pv == nil {
		return ErrNotCompiled
	}
	memo := len(a.tmpl.params) == 0 && len(bytes.TrimSpace(body)) == 0 && len(rawQuery) <= okQueryMax
	if memo {
		if m := pv.okQueries.Load(); m != nil {
			if _, ok := m.Load(rawQuery); ok {
				return nil
			}
		}
	}
	q, _ := url.ParseQuery(rawQuery)
	if err := a.Validate(pathParams, q, body); err != nil {
		return err
	}
	if memo {
		m := pv.okQueries.Load()
		if m == nil || pv.okN.Add(1) > okQueriesMax {
			m = &sync.Map{}
			pv.okQueries.Store(m)
			pv.okN.Store(1)
		}
		m.Store(rawQuery, struct{}{})
	}
	return nil
}

// newSchemaCompiler returns a compiler for the subset: draft 2020-12, formats
// asserted, Lijiang's formats registered.
func newSchemaCompiler() *jsonschema.Compiler {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	for name, check := range lijiangFormats {
		c.RegisterFormat(&jsonschema.Format{Name: name, Validate: func(v any) error {
			s, isString := v.(string)
			if !isString || check(s) {
				return nil
			}
			return errors.New("invalid " + name)
		}})
	}
	return c
}

// compileParams checks and compiles an API's parameter schemas for the path
// template's parameters. The path schema, if given, must declare exactly the
// template's parameters (scalars, all required); without one every parameter
// is a non-empty string. The query schema is an object of scalars or arrays of
// scalars; the body schema an object or an array.
func compileParams(p ParamSchemas, pathParams []string) (*paramValidator, error) {
	c := newSchemaCompiler()
	pv := &paramValidator{}
	var err error
	pathDoc := p.Path
	if isAbsent(pathDoc) {
		pathDoc = defaultPathSchema(pathParams)
	}
	if pv.path, err = compileOne(c, "path", pathDoc); err != nil {
		return nil, err
	}
	if err := checkParamsObject("path", pv.path.node, false); err != nil {
		return nil, err
	}
	if len(pv.path.node.Properties) != len(pathParams) {
		return nil, &paramsError{"path", &SchemaError{Keyword: "properties", Msg: "must declare exactly the parameters of the path template"}}
	}
	req := map[string]bool{}
	for _, r := range pv.path.node.Required {
		req[r] = true
	}
	for _, name := range pathParams {
		if _, ok := pv.path.node.Properties[name]; !ok {
			return nil, &paramsError{"path", &SchemaError{Keyword: "properties", Msg: "must declare path parameter " + name}}
		}
		if !req[name] {
			return nil, &paramsError{"path", &SchemaError{Keyword: "required", Msg: "must list every path parameter (" + name + ")"}}
		}
	}
	if len(pathParams) == 0 {
		pv.noPath = validateDoc(pv.path.sch, map[string]any{}, ParamInPath)
	}
	if !isAbsent(p.Query) {
		if pv.query, err = compileOne(c, "query", p.Query); err != nil {
			return nil, err
		}
		if err := checkParamsObject("query", pv.query.node, true); err != nil {
			return nil, err
		}
	}
	if !isAbsent(p.Body) {
		if pv.body, err = compileOne(c, "body", p.Body); err != nil {
			return nil, err
		}
		if t := pv.body.node.Type; t != schemaObject && t != schemaArray {
			return nil, &paramsError{"body", &SchemaError{Keyword: "type", Msg: "must be object or array for a body"}}
		}
	}
	return pv, nil
}

// paramsError is a schema error of one of an API's parameter documents.
type paramsError struct {
	in  string
	err error
}

func (e *paramsError) Error() string { return e.in + " schema: " + e.err.Error() }
func (e *paramsError) Unwrap() error { return e.err }

func isAbsent(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

func defaultPathSchema(params []string) json.RawMessage {
	props := map[string]any{}
	for _, p := range params {
		props[p] = map[string]any{"type": "string", "minLength": 1}
	}
	req := params
	if req == nil {
		req = []string{}
	}
	b, _ := json.Marshal(map[string]any{"type": "object", "properties": props, "required": req, "additionalProperties": false})
	return b
}

func compileOne(c *jsonschema.Compiler, in string, raw json.RawMessage) (*compiledSchema, error) {
	node, doc, err := parseSchemaDoc(raw)
	if err != nil {
		return nil, &paramsError{in, err}
	}
	loc := "mem:///" + in + ".json"
	if err := c.AddResource(loc, doc); err != nil {
		return nil, &paramsError{in, &SchemaError{Msg: "is not a valid schema"}}
	}
	sch, err := c.Compile(loc)
	if err != nil {
		return nil, &paramsError{in, &SchemaError{Msg: "is not a valid JSON Schema"}}
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, &paramsError{in, &SchemaError{Msg: "is not valid JSON"}}
	}
	return &compiledSchema{node: node, sch: sch, raw: buf.Bytes()}, nil
}

var queryNamePattern = regexp.MustCompile(`^[A-Za-z0-9_.\-]{1,64}$`)

// checkParamsObject checks the top of a path or query schema: an object
// whose properties are scalars (or, in a query, arrays of scalars: repeated
// parameters).
func checkParamsObject(in string, n *schemaNode, arrays bool) error {
	if n.Type != schemaObject {
		return &paramsError{in, &SchemaError{Keyword: "type", Msg: "must be object"}}
	}
	for name, p := range n.Properties {
		if !queryNamePattern.MatchString(name) {
			return &paramsError{in, &SchemaError{Pointer: "/properties", Msg: "parameter names are 1-64 characters of A-Z a-z 0-9 _ . -"}}
		}
		t := p.Type
		if arrays && t == schemaArray {
			t = p.Items.Type
		}
		switch t {
		case schemaString, schemaInteger, schemaNumber, schemaBoolean:
		default:
			return &paramsError{in, &SchemaError{Pointer: "/properties/" + escapePointer(name), Keyword: "type", Msg: "must be a scalar type here"}}
		}
	}
	return nil
}

// ParamError says which parameter of a call is invalid and why, never with
// the parameter's value. It unwraps to an lj1 PARAM_INVALID error whose
// message is the same text, so the gateway can answer it as it is.
type ParamError struct {
	Param  string // "path.account_no", "query.currency", "body.payee.amount", "body"
	Reason string // "is required", "must be a valid amount", ...
}

func (e *ParamError) Error() string { return e.Param + ": " + e.Reason }

// Unwrap returns the protocol error to answer with.
func (e *ParamError) Unwrap() error { return lj1.New(lj1.CodeParamInvalid, e.Error()) }

// ErrNotCompiled: an API's schemas could not be compiled by this binary, so
// its calls are refused rather than let through unchecked.
var ErrNotCompiled = errors.New("the API's parameter schemas are not compiled")

// Validate checks a call's parameters against the API's schemas (R-7.2.2a):
// the path parameters the matcher captured, the query parameters and the
// body (JSON, already decrypted). Path and query strings are converted to the
// declared types first. A query parameter declared as an array may repeat;
// any other may appear once. Without a query schema no query parameter is
// accepted; without a body schema no body is. The error is a *ParamError
// naming the first invalid parameter (in a stable order) and never echoes
// its value. Validate compiles nothing and is safe for concurrent use.
func (a *API) Validate(pathParams map[string]string, query url.Values, body []byte) error {
	pv := a.params
	if pv == nil {
		return ErrNotCompiled
	}
	// path
	if len(a.tmpl.params) == 0 {
		if pv.noPath != nil {
			return pv.noPath
		}
	} else {
		obj := make(map[string]any, len(pv.path.node.Properties))
		for _, name := range a.tmpl.params {
			v, ok := pathParams[name]
			if !ok {
				return &ParamError{Param: ParamInPath + "." + name, Reason: "is required"}
			}
			cv, err := coerceParam(v, pv.path.node.Properties[name].Type)
			if err != nil {
				return &ParamError{Param: ParamInPath + "." + name, Reason: err.Error()}
			}
			obj[name] = cv
		}
		if err := validateDoc(pv.path.sch, obj, ParamInPath); err != nil {
			return err
		}
	}
	// query
	if pv.query == nil {
		if len(query) > 0 {
			return &ParamError{Param: ParamInQuery + "." + firstKey(query), Reason: "is not accepted by this API"}
		}
	} else {
		qobj := make(map[string]any, len(query))
		keys := make([]string, 0, len(query))
		for k := range query {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			vals := query[k]
			name := ParamInQuery + "." + safeParamName(k)
			prop := pv.query.node.Properties[k]
			switch {
			case prop == nil:
				if pv.query.node.Additional != nil && !*pv.query.node.Additional {
					return &ParamError{Param: name, Reason: "is not accepted by this API"}
				}
				if len(vals) == 1 {
					qobj[k] = vals[0]
				} else {
					arr := make([]any, len(vals))
					for i, v := range vals {
						arr[i] = v
					}
					qobj[k] = arr
				}
			case prop.Type == schemaArray:
				arr := make([]any, len(vals))
				for i, v := range vals {
					cv, err := coerceParam(v, prop.Items.Type)
					if err != nil {
						return &ParamError{Param: name, Reason: err.Error()}
					}
					arr[i] = cv
				}
				qobj[k] = arr
			default:
				if len(vals) != 1 {
					return &ParamError{Param: name, Reason: "must appear once"}
				}
				cv, err := coerceParam(vals[0], prop.Type)
				if err != nil {
					return &ParamError{Param: name, Reason: err.Error()}
				}
				qobj[k] = cv
			}
		}
		if err := validateDoc(pv.query.sch, qobj, ParamInQuery); err != nil {
			return err
		}
	}
	// body
	empty := len(bytes.TrimSpace(body)) == 0
	if pv.body == nil {
		if !empty {
			return &ParamError{Param: ParamInBody, Reason: "is not accepted by this API"}
		}
		return nil
	}
	if empty {
		return &ParamError{Param: ParamInBody, Reason: "is required"}
	}
	doc, err := decodeJSONDoc(body, maxBodyJSONDepth)
	if err != nil {
		return &ParamError{Param: ParamInBody, Reason: "must be one valid JSON value without duplicate members"}
	}
	return validateDoc(pv.body.sch, doc, ParamInBody)
}

func firstKey(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return safeParamName(keys[0])
}

// safeParamName renders a client-chosen name for an error message: at most
// 64 characters of [A-Za-z0-9_.-], anything else as "?".
func safeParamName(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			b[i] = '?'
		}
	}
	if len(b) == 0 {
		return "?"
	}
	return string(b)
}

// coerceParam converts a path or query string to the declared scalar type.
func coerceParam(s, typ string) (any, error) {
	switch typ {
	case schemaInteger:
		t := strings.TrimPrefix(s, "-")
		if !allDigits(t) || len(t) > 1 && t[0] == '0' || len(t) > 30 {
			return nil, errors.New("must be an integer")
		}
		return json.Number(s), nil
	case schemaNumber:
		if !masking.IsJSONNumber(s) || len(s) > 64 {
			return nil, errors.New("must be a number")
		}
		return json.Number(s), nil
	case schemaBoolean:
		switch s {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, errors.New("must be true or false")
	}
	return s, nil
}

// validateDoc validates v and turns a failure into a ParamError naming the
// first failing location (in a stable order) without the value.
func validateDoc(sch *jsonschema.Schema, v any, in string) error {
	err := sch.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return &ParamError{Param: in, Reason: "is invalid"}
	}
	leaf := firstLeaf(ve)
	param, reason := describeFailure(leaf)
	name := in
	for _, tok := range leaf.InstanceLocation {
		name += "." + safeParamName(tok)
	}
	if param != "" {
		name += "." + safeParamName(param)
	}
	return &ParamError{Param: name, Reason: reason}
}

// firstLeaf returns the failure with the smallest instance location among
// the leaves of the error tree, so the same input always names the same
// parameter.
func firstLeaf(e *jsonschema.ValidationError) *jsonschema.ValidationError {
	if len(e.Causes) == 0 {
		return e
	}
	var best *jsonschema.ValidationError
	var bestKey string
	for _, c := range e.Causes {
		l := firstLeaf(c)
		k := strings.Join(l.InstanceLocation, "\x00") + "\x01" + strings.Join(l.ErrorKind.KeywordPath(), "/")
		if best == nil || k < bestKey {
			best, bestKey = l, k
		}
	}
	return best
}

// describeFailure says why a value failed, from the schema's side only.
func describeFailure(e *jsonschema.ValidationError) (param, reason string) {
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		if len(k.Missing) > 0 {
			return slices.Min(k.Missing), "is required"
		}
		return "", "misses a required member"
	case *kind.AdditionalProperties:
		if len(k.Properties) > 0 {
			return slices.Min(k.Properties), "is not accepted by this API"
		}
		return "", "has members that are not accepted"
	case *kind.Type:
		return "", "must be of type " + strings.Join(k.Want, " or ")
	case *kind.Enum:
		return "", "must be one of the allowed values"
	case *kind.Format:
		return "", "must be a valid " + k.Want
	case *kind.MinLength:
		return "", fmt.Sprintf("must be at least %d characters long", k.Want)
	case *kind.MaxLength:
		return "", fmt.Sprintf("must be at most %d characters long", k.Want)
	case *kind.Pattern:
		return "", "does not have the required form"
	case *kind.Minimum:
		return "", "must be at least " + ratText(k.Want)
	case *kind.Maximum:
		return "", "must be at most " + ratText(k.Want)
	case *kind.MinItems:
		return "", fmt.Sprintf("must have at least %d items", k.Want)
	case *kind.MaxItems:
		return "", fmt.Sprintf("must have at most %d items", k.Want)
	}
	return "", "is invalid"
}

func ratText(r *big.Rat) string {
	if r == nil {
		return "the limit"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	return r.FloatString(6)
}
