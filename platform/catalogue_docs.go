package platform

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"lijiang/platform/lj1"
)

// What an API answers, as the published catalogue documents it (issue 10):
// the schema of its 200 body, an example request and answer, and the
// business error codes its service may answer besides the LJ1 protocol's.
// They are the developers' reference: checked when the spec is written (an
// example must validate against its schema) but not enforced on calls, since
// the answer is the service's.

// Limits of the documentation fields.
const (
	maxExampleSize     = 64 << 10
	maxBusinessErrors  = 50
	maxBusinessErrText = 500
)

// BusinessError is an error code an API's service (its upstream) may
// answer. The gateway forwards a service's 4xx answer as it is (signed, and
// sealed in an envelope for A2 calls); it answers any 5xx of a service with
// LJ1 UPSTREAM_UNAVAILABLE, so a business error's status is a 4xx.
type BusinessError struct {
	Code        string `json:"code" doc:"the code in the answer's body, e.g. INSUFFICIENT_FUNDS: 3-64 characters of A-Z, 0-9 and _, starting with a letter; not an LJ1 code"`
	Status      int    `json:"status" doc:"the HTTP status it comes with, 400-499 (a service's 5xx reaches the caller as UPSTREAM_UNAVAILABLE)"`
	Description string `json:"description" doc:"when the service answers it and what the caller should do, at most 500 bytes"`
}

var businessCodePattern = regexp.MustCompile(`^[A-Z][A-Z0-9_]{2,63}$`)

// checkDocs validates the documentation fields; pv are the spec's compiled
// parameter schemas (for the request example).
func (c *APIContract) checkDocs(pv *paramValidator) error {
	var resp *compiledSchema
	if !isAbsent(c.ResponseSchema) {
		var err error
		if resp, err = compileResponseSchema(c.ResponseSchema); err != nil {
			return err
		}
	}
	if !isAbsent(c.RequestExample) {
		var target *compiledSchema
		var against string
		switch {
		case pv != nil && pv.body != nil:
			target, against = pv.body, "params.body"
		case pv != nil && pv.query != nil:
			target, against = pv.query, "params.query"
		default:
			return Invalid("request_example", "is for an API that takes a body or query parameters (params.body or params.query)")
		}
		if err := checkExample(target, c.RequestExample, against); err != nil {
			return Invalid("request_example", err.Error())
		}
	}
	if !isAbsent(c.ResponseExample) {
		if resp == nil {
			return Invalid("response_example", "needs response_schema, which it must validate against")
		}
		if err := checkExample(resp, c.ResponseExample, "response_schema"); err != nil {
			return Invalid("response_example", err.Error())
		}
	}
	return checkBusinessErrors(c.BusinessErrors)
}

// compileResponseSchema checks and compiles a response schema: a document
// of the parameter schemas' subset whose top is an object or an array.
func compileResponseSchema(raw []byte) (*compiledSchema, error) {
	cs, err := compileOne(newSchemaCompiler(), "response", raw)
	if err != nil {
		var pe *paramsError
		if errors.As(err, &pe) {
			return nil, Invalid("response_schema", pe.err.Error())
		}
		return nil, Invalid("response_schema", "is not a valid schema")
	}
	if t := cs.node.Type; t != schemaObject && t != schemaArray {
		return nil, Invalid("response_schema", (&SchemaError{Keyword: "type", Msg: "must be object or array for a body"}).Error())
	}
	return cs, nil
}

// checkExample decodes an example strictly (one JSON value, no duplicate
// members, bounded size and depth) and validates it against sch, saying
// where it fails (never with the value).
func checkExample(sch *compiledSchema, raw []byte, against string) error {
	if len(raw) > maxExampleSize {
		return fmt.Errorf("must be at most %d bytes", maxExampleSize)
	}
	v, err := decodeJSONDoc(raw, maxBodyJSONDepth)
	if err != nil {
		return errors.New("must be one JSON value without duplicate members: " + err.Error())
	}
	if err := validateDoc(sch.sch, v, "example"); err != nil {
		var pe *ParamError
		if errors.As(err, &pe) {
			return fmt.Errorf("does not validate against %s: %s %s", against, pe.Param, pe.Reason)
		}
		return errors.New("does not validate against " + against)
	}
	return nil
}

// checkBusinessErrors validates an API's business error codes.
func checkBusinessErrors(list []BusinessError) error {
	if len(list) > maxBusinessErrors {
		return Invalid("business_errors", fmt.Sprintf("must list at most %d codes", maxBusinessErrors))
	}
	lj1Codes := lj1.Codes()
	seen := make(map[string]bool, len(list))
	for i, e := range list {
		f := fmt.Sprintf("business_errors[%d]", i)
		switch {
		case !businessCodePattern.MatchString(e.Code):
			return Invalid(f+".code", "must be 3-64 characters of A-Z, 0-9 and _, starting with a letter")
		case lj1Codes[e.Code] != 0:
			return Invalid(f+".code", "is an LJ1 protocol code, which the catalogue documents already")
		case seen[e.Code]:
			return Invalid(f+".code", "is listed twice")
		case e.Status < 400 || e.Status > 499:
			return Invalid(f+".status", "must be from 400 to 499: the gateway answers a service's 5xx with UPSTREAM_UNAVAILABLE")
		case http.StatusText(e.Status) == "":
			return Invalid(f+".status", "must be a registered HTTP status")
		case strings.TrimSpace(e.Description) == "" || !catText(e.Description, maxBusinessErrText, false):
			return Invalid(f+".description", fmt.Sprintf("must be 1-%d bytes of text", maxBusinessErrText))
		}
		seen[e.Code] = true
	}
	return nil
}

// ValidateResponse checks a 200 answer's body (as the caller receives it,
// in clear) against the API's response schema. It compiles the schema on
// every call: it is for tests and tools, not for the gateway's hot path.
func (c *APIContract) ValidateResponse(body []byte) error {
	if isAbsent(c.ResponseSchema) {
		return errors.New("the API has no response schema")
	}
	cs, err := compileResponseSchema(c.ResponseSchema)
	if err != nil {
		return err
	}
	v, err := decodeJSONDoc(body, maxBodyJSONDepth)
	if err != nil {
		return fmt.Errorf("the body: %w", err)
	}
	if err := validateDoc(cs.sch, v, "response"); err != nil {
		return err
	}
	return nil
}
