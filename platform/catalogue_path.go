package platform

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Limits of path templates.
const (
	maxTemplateLen      = 512
	maxTemplateSegments = 32
	maxParamNameLen     = 64
	maxLiteralLen       = 128
)

// pathTemplate is a parsed API path template such as
// /v1/accounts/{account_no}/balance.
//
// Grammar: "/" segment *("/" segment); a segment is either a literal of
// unreserved URL characters [A-Za-z0-9._~-] or a whole-segment parameter
// "{" name "}" with name [a-z_][a-z0-9_]*. No empty segments, no trailing
// slash, no partial-segment parameters, no parameter named twice.
type pathTemplate struct {
	segs   []tmplSeg
	params []string // parameter names, in path order
	key    string   // the template with every parameter written "{}"
}

type tmplSeg struct {
	lit   string
	param bool
}

var errTemplate = errors.New("bad path template")

func isParamNameStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' }
func isParamNameChar(c byte) bool  { return isParamNameStart(c) || c >= '0' && c <= '9' }
func isUnreservedChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '~' || c == '-'
}

// parsePathTemplate parses and checks a path template. Errors say what is
// wrong without echoing more of the input than the offending segment's
// position.
func parsePathTemplate(s string) (pathTemplate, error) {
	var t pathTemplate
	if len(s) > maxTemplateLen {
		return t, fmt.Errorf("%w: longer than %d characters", errTemplate, maxTemplateLen)
	}
	if !strings.HasPrefix(s, "/") {
		return t, fmt.Errorf("%w: must start with /", errTemplate)
	}
	var key strings.Builder
	rest := s[1:]
	for i := 1; ; i++ {
		if i > maxTemplateSegments {
			return t, fmt.Errorf("%w: more than %d segments", errTemplate, maxTemplateSegments)
		}
		seg := rest
		next := strings.IndexByte(rest, '/')
		if next >= 0 {
			seg, rest = rest[:next], rest[next+1:]
		}
		if seg == "" {
			return t, fmt.Errorf("%w: segment %d is empty", errTemplate, i)
		}
		key.WriteByte('/')
		if seg[0] == '{' {
			if len(seg) < 3 || seg[len(seg)-1] != '}' {
				return t, fmt.Errorf("%w: segment %d: a parameter is a whole segment {name}", errTemplate, i)
			}
			name := seg[1 : len(seg)-1]
			if len(name) > maxParamNameLen || !isParamNameStart(name[0]) {
				return t, fmt.Errorf("%w: segment %d: parameter names are [a-z_][a-z0-9_]*, at most %d characters", errTemplate, i, maxParamNameLen)
			}
			for j := 1; j < len(name); j++ {
				if !isParamNameChar(name[j]) {
					return t, fmt.Errorf("%w: segment %d: parameter names are [a-z_][a-z0-9_]*", errTemplate, i)
				}
			}
			for _, p := range t.params {
				if p == name {
					return t, fmt.Errorf("%w: parameter %q appears twice", errTemplate, name)
				}
			}
			t.params = append(t.params, name)
			t.segs = append(t.segs, tmplSeg{lit: name, param: true})
			key.WriteString("{}")
		} else {
			if len(seg) > maxLiteralLen {
				return t, fmt.Errorf("%w: segment %d is longer than %d characters", errTemplate, i, maxLiteralLen)
			}
			for j := 0; j < len(seg); j++ {
				if !isUnreservedChar(seg[j]) {
					return t, fmt.Errorf("%w: segment %d: literals are made of A-Z a-z 0-9 . _ ~ -", errTemplate, i)
				}
			}
			if seg == "." || seg == ".." {
				return t, fmt.Errorf("%w: segment %d: dot segments are not allowed", errTemplate, i)
			}
			t.segs = append(t.segs, tmplSeg{lit: seg})
			key.WriteString(seg)
		}
		if next < 0 {
			break
		}
	}
	t.key = key.String()
	return t, nil
}

// routeNode is a node of the matcher's segment trie: literal children are
// tried before the parameter child, so /v1/accounts/summary beats
// /v1/accounts/{account_no}.
type routeNode struct {
	lit   map[string]*routeNode
	param *routeNode
	api   *API // the API whose route ends here, if any
}

func (n *routeNode) insert(t pathTemplate, a *API) {
	for _, s := range t.segs {
		if s.param {
			if n.param == nil {
				n.param = &routeNode{}
			}
			n = n.param
			continue
		}
		if n.lit == nil {
			n.lit = map[string]*routeNode{}
		}
		c := n.lit[s.lit]
		if c == nil {
			c = &routeNode{}
			n.lit[s.lit] = c
		}
		n = c
	}
	if n.api == nil || routePrefers(a, n.api) {
		n.api = a
	}
}

// routePrefers reports whether a should answer a route rather than b (the two
// have the same method and route): a live API beats a retired one; between
// retired ones the latest retired wins, then the smaller id.
func routePrefers(a, b *API) bool {
	ar, br := a.Status == APIRetired, b.Status == APIRetired
	if ar != br {
		return br
	}
	if a.RetiredMs != b.RetiredMs {
		return a.RetiredMs > b.RetiredMs
	}
	return a.ID < b.ID
}

// maxMatchParams bounds the parameters captured while matching (templates
// have at most maxTemplateSegments segments).
const maxMatchParams = maxTemplateSegments

// match walks path (after its leading "/") and returns the API found and the
// raw parameter values in path order.
func (n *routeNode) match(path string, vals []string) (*API, []string) {
	if path == "" {
		// Reached the end of the path: only exact routes match.
		return n.api, vals
	}
	seg, rest, more := strings.Cut(path, "/")
	if more && rest == "" {
		return nil, nil // trailing slash: not a route
	}
	if c := n.lit[seg]; c != nil {
		if more {
			if a, v := c.match(rest, vals); a != nil {
				return a, v
			}
		} else if c.api != nil {
			return c.api, vals
		}
	}
	if n.param != nil && seg != "" && len(vals) < maxMatchParams {
		vals = append(vals, seg)
		if more {
			return n.param.match(rest, vals)
		}
		if n.param.api != nil {
			return n.param.api, vals
		}
	}
	return nil, nil
}

// Mask rule field paths.

// Kinds of MaskStep.
const (
	MaskStepField = iota // an object member: Field
	MaskStepIndex        // one array element: Index
	MaskStepAny          // every array element: [*]
)

// MaskStep is one step of a masking rule's field path.
type MaskStep struct {
	Kind  int
	Field string
	Index int
}

const (
	maxMaskPathLen   = 256
	maxMaskPathSteps = 16
)

// parseMaskPath parses a masking rule's field path: "$.a.b[*].c",
// "$.items[0].card_no" or plain dotted "a.b.c". Member names are
// [A-Za-z_][A-Za-z0-9_-]* (at most 64 characters); indices are [*] or [n].
func parseMaskPath(s string) ([]MaskStep, error) {
	if len(s) > maxMaskPathLen {
		return nil, fmt.Errorf("longer than %d characters", maxMaskPathLen)
	}
	rest := s
	if strings.HasPrefix(rest, "$") {
		rest = rest[1:]
		if !strings.HasPrefix(rest, ".") {
			return nil, errors.New(`after "$" comes ".name"`)
		}
		rest = rest[1:]
	}
	var steps []MaskStep
	for {
		// a member name
		n := 0
		for n < len(rest) && (rest[n] == '_' || rest[n] == '-' || rest[n] >= 'a' && rest[n] <= 'z' || rest[n] >= 'A' && rest[n] <= 'Z' || rest[n] >= '0' && rest[n] <= '9') {
			n++
		}
		if n == 0 || n > 64 || rest[0] == '-' || rest[0] >= '0' && rest[0] <= '9' {
			return nil, errors.New("member names are [A-Za-z_][A-Za-z0-9_-]*, at most 64 characters")
		}
		steps = append(steps, MaskStep{Kind: MaskStepField, Field: rest[:n]})
		rest = rest[n:]
		for strings.HasPrefix(rest, "[") {
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, errors.New("unclosed [")
			}
			idx := rest[1:end]
			rest = rest[end+1:]
			if idx == "*" {
				steps = append(steps, MaskStep{Kind: MaskStepAny})
				continue
			}
			if idx == "" || len(idx) > 6 || idx[0] == '0' && len(idx) > 1 {
				return nil, errors.New("indices are [*] or [n]")
			}
			i, err := strconv.Atoi(idx)
			if err != nil || i < 0 {
				return nil, errors.New("indices are [*] or [n]")
			}
			steps = append(steps, MaskStep{Kind: MaskStepIndex, Index: i})
		}
		if len(steps) > maxMaskPathSteps {
			return nil, fmt.Errorf("more than %d steps", maxMaskPathSteps)
		}
		if rest == "" {
			return steps, nil
		}
		if rest[0] != '.' {
			return nil, errors.New(`steps are separated by "."`)
		}
		rest = rest[1:]
	}
}

// unescapeParam decodes one path segment captured for a parameter.
func unescapeParam(seg string) (string, bool) {
	if strings.IndexByte(seg, '%') < 0 {
		return seg, true
	}
	v, err := url.PathUnescape(seg)
	return v, err == nil
}
