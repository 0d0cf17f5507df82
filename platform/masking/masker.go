package masking

import (
	"errors"
	"fmt"
	"math/bits"
	"sync"
)

// Sentinel errors of the masking package.
var (
	// ErrInvalidRule: a rule does not compile; the error is a *RuleError.
	ErrInvalidRule = errors.New("invalid masking rule")
	// ErrInvalidJSON: the body is not one valid JSON value.
	ErrInvalidJSON = errors.New("invalid JSON")
	// ErrTooDeep: the body nests objects and arrays deeper than MaxDepth.
	ErrTooDeep = errors.New("JSON nested too deeply")
)

// MaxDepth is the deepest nesting of objects and arrays MaskJSON accepts; a
// deeper body is rejected with ErrTooDeep.
const MaxDepth = 64

// MaxRules bounds the number of rules of one Masker.
const MaxRules = 256

// Rule masks the values a path selects.
type Rule struct {
	// Path selects values: "$.accounts[*].account_no", "accounts[*].account_no",
	// "data.holder.name", "name" (a member of the top-level object only),
	// "..account_no" or "$..account_no" (that member at any depth), "[0]",
	// "$['a.b']". See Compile.
	Path string
	// Kind is one of the Kind constants.
	Kind string
	// KeepFirst and KeepLast are the characters kept by KindCustom, 0 to 64;
	// they must be 0 for the other kinds.
	KeepFirst, KeepLast int
}

// RuleError says which rule does not compile and why. It wraps ErrInvalidRule.
type RuleError struct {
	Index  int    // index of the rule in the slice given to Compile
	Field  string // "path", "kind" or "keep"
	Reason string
}

// Error names the rule, the field at fault and the reason.
func (e *RuleError) Error() string {
	return fmt.Sprintf("masking: rule %d: %s: %s", e.Index, e.Field, e.Reason)
}

// Unwrap returns ErrInvalidRule.
func (e *RuleError) Unwrap() error { return ErrInvalidRule }

// state is one NFA state: a rule at one of its steps (opEnd: matched).
type state struct {
	step
	rule int
}

// Masker masks JSON bodies by a fixed set of rules and, optionally, by
// detection. It is immutable and safe for concurrent use.
type Masker struct {
	states []state
	words  int      // uint64 words in a state set
	init   []uint64 // every rule at its first step
	final  []uint64 // the opEnd states
	specs  []spec   // the rules' maskers, then detSpecs
	detect bool
	pool   sync.Pool // *scratch
}

// Compile validates and compiles rules. With detect, MaskJSON also masks
// what detection finds (see the package documentation). Where several rules
// select a value the first one in rules applies.
//
// A path is a sequence of steps, optionally after "$" (the root):
//
//	.name  ['name']  member of an object (a first ".name" may omit the ".")
//	..name           member at any depth below: .name, .x.name, [3].name …
//	[*]              every element of an array
//	[n]              element n (from 0) of an array
//
// A rule that selects a string or number masks it. A rule that selects an
// object or array masks every string and number inside it with its kind
// (unless a more specific rule selects them). true, false and null are never
// masked.
func Compile(rules []Rule, detect bool) (*Masker, error) {
	if len(rules) > MaxRules {
		return nil, &RuleError{Index: MaxRules, Field: "rules", Reason: fmt.Sprintf("more than %d rules", MaxRules)}
	}
	m := &Masker{detect: detect}
	for i, r := range rules {
		sp, ok := specFor(r.Kind, r.KeepFirst, r.KeepLast)
		if !ok {
			return nil, &RuleError{Index: i, Field: "kind", Reason: fmt.Sprintf("unknown kind %q (card_no, account_no, name, id_no, phone, email or custom)", r.Kind)}
		}
		if r.Kind == KindCustom {
			if r.KeepFirst < 0 || r.KeepFirst > maxKeep || r.KeepLast < 0 || r.KeepLast > maxKeep {
				return nil, &RuleError{Index: i, Field: "keep", Reason: fmt.Sprintf("keep_first and keep_last must be from 0 to %d", maxKeep)}
			}
		} else if r.KeepFirst != 0 || r.KeepLast != 0 {
			return nil, &RuleError{Index: i, Field: "keep", Reason: "keep_first and keep_last are for kind custom only"}
		}
		steps, err := parsePath(r.Path)
		if err != nil {
			return nil, &RuleError{Index: i, Field: "path", Reason: fmt.Sprintf("%q: %v", r.Path, err)}
		}
		m.specs = append(m.specs, sp)
		for _, s := range steps {
			m.states = append(m.states, state{step: s, rule: i})
		}
		m.states = append(m.states, state{step: step{op: opEnd}, rule: i})
	}
	m.specs = append(m.specs, detSpecs[:]...)
	m.words = max(1, (len(m.states)+63)/64)
	m.init = make([]uint64, m.words)
	m.final = make([]uint64, m.words)
	first := true
	for s, st := range m.states {
		if first {
			m.init[s/64] |= 1 << (s % 64)
		}
		first = st.op == opEnd
		if st.op == opEnd {
			m.final[s/64] |= 1 << (s % 64)
		}
	}
	m.pool.New = func() any {
		return &scratch{sets: make([]uint64, (MaxDepth+2)*m.words)}
	}
	return m, nil
}

// scratch is the per-call working memory of MaskJSON, pooled.
type scratch struct {
	sets []uint64 // state set of the container at each depth, words each
	live [MaxDepth + 2]bool
	obj  [MaxDepth + 2]bool
	idx  [MaxDepth + 2]int
	inh  [MaxDepth + 2]int // spec inherited from a rule that selected the container, or -1
	key  []byte            // the current member name when it had escapes
}

// step computes into child the states reached from parent over one edge: the
// member key (keyed) or the array element index. It reports whether child is
// not empty.
func (m *Masker) step(parent, child []uint64, keyed bool, key []byte, index int) bool {
	clear(child)
	live := false
	for wi, word := range parent {
		for word != 0 {
			s := wi*64 + bits.TrailingZeros64(word)
			word &= word - 1
			st := &m.states[s]
			next := false
			switch st.op {
			case opField:
				next = keyed && string(key) == st.name
			case opDesc:
				child[s/64] |= 1 << (s % 64)
				live = true
				next = keyed && string(key) == st.name
			case opAny:
				next = !keyed
			case opIndex:
				next = !keyed && index == st.index
			}
			if next {
				child[(s+1)/64] |= 1 << ((s + 1) % 64)
				live = true
			}
		}
	}
	return live
}

// matched returns the rule whose end state is in set, the first rule if
// several, or -1.
func (m *Masker) matched(set []uint64) int {
	for wi, word := range set {
		if f := word & m.final[wi]; f != 0 {
			return m.states[wi*64+bits.TrailingZeros64(f)].rule
		}
	}
	return -1
}

// MaskJSON returns a copy of body with the values selected by the rules (and
// by detection) masked. Everything else is copied byte for byte: white space,
// key order, number spelling, escapes. A masked string keeps its escapes for
// the characters it keeps; a masked number becomes a string (its text masked
// as characters: "6222020200112233445" for 6222020200112233445), since '*'
// cannot appear in a number. An empty body returns an empty body; a body that
// is not exactly one valid JSON value (white space around it allowed) returns
// ErrInvalidJSON, one nested deeper than MaxDepth ErrTooDeep. Errors never
// quote the body.
func (m *Masker) MaskJSON(body []byte) ([]byte, error) {
	if len(body) == 0 {
		return []byte{}, nil
	}
	out, err := m.AppendMaskJSON(make([]byte, 0, len(body)+64), body)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Parser states of AppendMaskJSON.
const (
	psValue  = iota // a value starts at i
	psAfter         // a value ended at i
	psMember        // an object member (its key) starts at i
)

// AppendMaskJSON appends the masked body to dst, as MaskJSON does, and
// returns the extended buffer; with a dst of enough capacity (len(body)+64
// is enough unless many numbers are masked) it does not allocate. On error
// it returns dst unchanged in length.
func (m *Masker) AppendMaskJSON(dst, body []byte) ([]byte, error) {
	if len(body) == 0 {
		return dst, nil
	}
	sc := m.pool.Get().(*scratch)
	defer m.pool.Put(sc)
	out, err := m.mask(sc, dst, body)
	if err != nil {
		return dst, err
	}
	return out, nil
}

// mask is the rewriter: one pass over src that validates it as encoding/json
// does (but with a nesting limit), copies it through in bulk and splices in
// masked values. Nesting is tracked in sc, never on the Go stack.
func (m *Masker) mask(sc *scratch, dst, src []byte) ([]byte, error) {
	w := m.words
	rules := len(m.specs) - numDet
	depth := 0 // open containers
	last := 0  // src[last:] is not yet in dst
	var (
		key   []byte
		keyed bool
		index int
	)
	i := skipWS(src, 0)
	ps := psValue
	for {
		switch ps {
		case psValue:
			if i >= len(src) {
				return nil, syntaxErr(i)
			}
			// The states of this value and what masks it.
			child := sc.sets[(depth+1)*w : (depth+2)*w]
			live, act, ruleAct := false, -1, false
			if depth == 0 {
				copy(child, m.init)
				live = rules > 0
			} else {
				if sc.live[depth] {
					live = m.step(sc.sets[depth*w:(depth+1)*w], child, keyed, key, index)
					if live {
						act = m.matched(child)
					}
				}
				if act < 0 {
					act = sc.inh[depth]
				}
				ruleAct = act >= 0
				if act < 0 && m.detect && keyed {
					if d := detectKey(key); d >= 0 {
						act = rules + d
					}
				}
			}
			c := src[i]
			switch {
			case c == '{' || c == '[':
				if depth == MaxDepth {
					return nil, fmt.Errorf("masking: offset %d: %w", i, ErrTooDeep)
				}
				depth++
				sc.live[depth] = live
				sc.obj[depth] = c == '{'
				sc.idx[depth] = 0
				sc.inh[depth] = -1
				if ruleAct {
					sc.inh[depth] = act
				}
				i = skipWS(src, i+1)
				if i < len(src) && (src[i] == '}' && c == '{' || src[i] == ']' && c == '[') {
					i++
					depth--
					ps = psAfter
				} else if c == '{' {
					ps = psMember
				} else {
					keyed, index = false, 0
				}
				continue
			case c == '"':
				end, esc, ok := scanString(src, i)
				if !ok {
					return nil, syntaxErr(i)
				}
				content := src[i+1 : end-1]
				if act < 0 && m.detect && isCardNumber(content, esc) {
					act = rules + detCard
				}
				if act >= 0 {
					dst = append(dst, src[last:i]...)
					dst = append(dst, '"')
					dst = m.specs[act].appendMasked(dst, content, esc)
					dst = append(dst, '"')
					last = end
				}
				i = end
			case c == '-' || c >= '0' && c <= '9':
				end, ok := scanNumber(src, i)
				if !ok {
					return nil, syntaxErr(i)
				}
				if act >= 0 {
					dst = append(dst, src[last:i]...)
					dst = append(dst, '"')
					dst = m.specs[act].appendMasked(dst, src[i:end], false)
					dst = append(dst, '"')
					last = end
				}
				i = end
			default:
				end, ok := scanLiteral(src, i)
				if !ok {
					return nil, syntaxErr(i)
				}
				i = end
			}
			ps = psAfter

		case psAfter:
			i = skipWS(src, i)
			if depth == 0 {
				if i != len(src) {
					return nil, syntaxErr(i)
				}
				return append(dst, src[last:]...), nil
			}
			if i >= len(src) {
				return nil, syntaxErr(i)
			}
			switch c := src[i]; {
			case c == ',':
				i = skipWS(src, i+1)
				if sc.obj[depth] {
					ps = psMember
				} else {
					sc.idx[depth]++
					keyed, index = false, sc.idx[depth]
					ps = psValue
				}
			case c == '}' && sc.obj[depth] || c == ']' && !sc.obj[depth]:
				i++
				depth--
			default:
				return nil, syntaxErr(i)
			}

		case psMember:
			if i >= len(src) || src[i] != '"' {
				return nil, syntaxErr(i)
			}
			end, esc, ok := scanString(src, i)
			if !ok {
				return nil, syntaxErr(i)
			}
			key, keyed = src[i+1:end-1], true
			if esc && (sc.live[depth] || m.detect) {
				sc.key = unescape(sc.key[:0], key)
				key = sc.key
			}
			i = skipWS(src, end)
			if i >= len(src) || src[i] != ':' {
				return nil, syntaxErr(i)
			}
			i = skipWS(src, i+1)
			ps = psValue
		}
	}
}

// syntaxErr reports invalid JSON at offset i, without quoting the body.
func syntaxErr(i int) error {
	return fmt.Errorf("masking: offset %d: %w", i, ErrInvalidJSON)
}

// unescape appends the decoded content of a validated JSON string to dst.
func unescape(dst, src []byte) []byte {
	for i := 0; i < len(src); {
		if src[i] != '\\' {
			dst = append(dst, src[i])
			i++
			continue
		}
		r, size := unitAt(src, i, true)
		dst = appendRune(dst, r)
		i += size
	}
	return dst
}
