package masking

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Limits on rule paths.
const (
	maxPathLen   = 512
	maxPathSteps = 32
	maxNameLen   = 128
)

// Step operations; a rule path compiles to one step per segment.
const (
	opEnd   = iota // no step left: the rule matches here
	opField        // .name or ['name']: an object member
	opDesc         // ..name: an object member at any depth below
	opAny          // [*]: every array element
	opIndex        // [n]: one array element
)

// step is one segment of a compiled rule path.
type step struct {
	op    uint8
	name  string
	index int
}

// parsePath parses a rule path. Accepted forms:
//
//	$.a.b[*].c   a.b[*].c   name   $..c   ..c   $[*].c   [0].c   $['a.b'].c
//
// A path without "$" is relative to the root, so a bare name selects a member
// of the top-level object only. ".." selects the member at any depth below.
func parsePath(p string) ([]step, error) {
	if p == "" {
		return nil, errors.New("empty path")
	}
	if len(p) > maxPathLen {
		return nil, fmt.Errorf("path longer than %d bytes", maxPathLen)
	}
	rest := p
	if rest[0] == '$' {
		rest = rest[1:]
		if rest == "" {
			return nil, errors.New(`"$" alone selects the whole body; name a member`)
		}
		if rest[0] != '.' && rest[0] != '[' {
			return nil, errors.New(`"$" must be followed by ".", ".." or "["`)
		}
	} else if rest[0] != '.' && rest[0] != '[' {
		rest = "." + rest
	}
	var steps []step
	for rest != "" {
		if len(steps) == maxPathSteps {
			return nil, fmt.Errorf("more than %d steps", maxPathSteps)
		}
		var (
			s   step
			err error
		)
		switch {
		case strings.HasPrefix(rest, ".."):
			s.op = opDesc
			s.name, rest, err = parseName(rest[2:])
		case rest[0] == '.':
			s.op = opField
			s.name, rest, err = parseName(rest[1:])
		case rest[0] == '[':
			s, rest, err = parseBracket(rest)
		default:
			err = fmt.Errorf("unexpected %q at offset %d", rest[0], len(p)-len(rest))
		}
		if err != nil {
			return nil, err
		}
		steps = append(steps, s)
	}
	return steps, nil
}

// parseName reads a member name (up to the next '.' or '[') or a
// bracket-quoted name.
func parseName(s string) (name, rest string, err error) {
	if strings.HasPrefix(s, "['") || strings.HasPrefix(s, `["`) {
		st, rest, err := parseBracket(s)
		if err != nil {
			return "", "", err
		}
		if st.op != opField {
			return "", "", errors.New(`".." must be followed by a member name`)
		}
		return st.name, rest, nil
	}
	n := strings.IndexAny(s, ".[")
	if n < 0 {
		n = len(s)
	}
	name, rest = s[:n], s[n:]
	switch {
	case name == "":
		return "", "", errors.New("empty member name")
	case name == "*":
		return "", "", errors.New(`member wildcard "*" is not supported; use ".." or name the member`)
	case len(name) > maxNameLen:
		return "", "", fmt.Errorf("member name longer than %d bytes", maxNameLen)
	case strings.ContainsAny(name, "]'\" \t\r\n"):
		return "", "", fmt.Errorf("member name %q: use ['...'] for names with quotes, spaces or brackets", name)
	}
	return name, rest, nil
}

// parseBracket reads "[*]", "[n]", "['name']" or `["name"]` at the start of s.
func parseBracket(s string) (step, string, error) {
	if len(s) > 1 && (s[1] == '\'' || s[1] == '"') {
		q := s[1]
		end := strings.IndexByte(s[2:], q)
		if end < 0 || 2+end+1 >= len(s) || s[2+end+1] != ']' {
			return step{}, "", errors.New("unclosed quoted member name")
		}
		name := s[2 : 2+end]
		if name == "" || len(name) > maxNameLen {
			return step{}, "", fmt.Errorf("member names are 1 to %d bytes", maxNameLen)
		}
		return step{op: opField, name: name}, s[2+end+2:], nil
	}
	end := strings.IndexByte(s, ']')
	if end < 0 {
		return step{}, "", errors.New(`unclosed "["`)
	}
	in, rest := s[1:end], s[end+1:]
	if in == "*" {
		return step{op: opAny}, rest, nil
	}
	if in == "" || len(in) > 9 || in[0] == '0' && len(in) > 1 || strings.TrimLeft(in, "0123456789") != "" {
		return step{}, "", fmt.Errorf("index %q: indices are [*] or [n], n a non-negative integer", in)
	}
	i, _ := strconv.Atoi(in)
	return step{op: opIndex, index: i}, rest, nil
}
