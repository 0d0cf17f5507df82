package masking_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"lijiang/platform/masking"
)

// FuzzMaskJSON checks MaskJSON against encoding/json: it accepts exactly the
// valid bodies (up to MaxDepth), its output is valid JSON, decodes to the same
// tree except for masked leaves, and a masked leaf keeps its length and loses
// every run of more than 10 digits (no kind keeps more). Card numbers (16-19
// digits passing Luhn) are always masked.
func FuzzMaskJSON(f *testing.F) {
	for _, s := range []string{
		string(accountsBody(2)),
		`{"a":"6222020200112233445","b":["13812345678",13812345678],"c":{"d":"张三"},"e":"abc"}`,
		`{"x":{"a":{"card_no":4111111111111111}},"memo":"4111111111111111","q":"\u0034111111111111111"}`,
		`[{"name":"\"quoted\" \u5f20\u4e09","email":"a\u0040b.c"},{"phone":"+86 138 1234 5678"}]`,
		`{"e":{"f":[1,2,{"g":"h"}]},"a":[[["6222020200112233446"]]]}`,
		`{"n\u0061me":"\ud83d\ude00\ud800x","b":[],"a":{}}`,
		`"4111111111111111"`, `12345678901234567890`, `[true,false,null,-0.5e+10]`, ` {"a" : "x" } `,
		`{"a":"x"`, `[1,]`, `{"a":"\x"}`, strings.Repeat("[", 70) + strings.Repeat("]", 70),
	} {
		f.Add([]byte(s))
	}
	m, err := masking.Compile([]masking.Rule{
		{Path: "..a", Kind: "card_no"},
		{Path: "b[*]", Kind: "phone"},
		{Path: "$..c.d", Kind: "name"},
		{Path: "e", Kind: "custom", KeepFirst: 1, KeepLast: 1},
		{Path: "$[0].x", Kind: "id_no"},
	}, true)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := m.MaskJSON(in)
		valid := json.Valid(in)
		switch {
		case len(in) == 0:
			if err != nil || len(out) != 0 {
				t.Fatalf("empty body: %q, %v", out, err)
			}
			return
		case err != nil:
			if out != nil {
				t.Fatalf("error with output: %v", err)
			}
			if errors.Is(err, masking.ErrTooDeep) {
				if valid && depthOf(in) <= masking.MaxDepth {
					t.Fatalf("ErrTooDeep at depth %d", depthOf(in))
				}
				return
			}
			if valid || !errors.Is(err, masking.ErrInvalidJSON) {
				t.Fatalf("valid=%v, err %v", valid, err)
			}
			return
		case !valid:
			t.Fatalf("invalid body accepted: %q", out)
		}
		if !json.Valid(out) {
			t.Fatalf("output is not valid JSON: %q", out)
		}
		compareTrees(t, "$", "", decode(t, in), decode(t, out))
	})
}

func decode(t *testing.T, b []byte) any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return v
}

// compareTrees walks the decoded input and output together.
func compareTrees(t *testing.T, path, key string, in, out any) {
	t.Helper()
	switch a := in.(type) {
	case map[string]any:
		b, ok := out.(map[string]any)
		if !ok || len(a) != len(b) {
			t.Fatalf("%s: object became %T", path, out)
		}
		for k, v := range a {
			w, ok := b[k]
			if !ok {
				t.Fatalf("%s: member %q lost", path, k)
			}
			compareTrees(t, path+"."+k, k, v, w)
		}
	case []any:
		b, ok := out.([]any)
		if !ok || len(a) != len(b) {
			t.Fatalf("%s: array became %T", path, out)
		}
		for i := range a {
			compareTrees(t, fmt.Sprintf("%s[%d]", path, i), key, a[i], b[i])
		}
	case string, json.Number:
		var s string
		if n, ok := a.(json.Number); ok {
			s = string(n)
		} else {
			s = a.(string)
		}
		if isLuhnCard(in) && reflect.DeepEqual(in, out) {
			t.Fatalf("%s: card number %q not masked", path, s)
		}
		if reflect.DeepEqual(in, out) {
			return
		}
		o, ok := out.(string)
		if !ok {
			t.Fatalf("%s: %v masked into %T", path, in, out)
		}
		if utf8.RuneCountInString(o) != utf8.RuneCountInString(s) {
			t.Fatalf("%s: %q masked into %q: length changed", path, s, o)
		}
		if !strings.Contains(strings.ToLower(key), "mail") { // e-mail keeps its domain
			if run := longestDigitRun(s); len(run) > 10 && strings.Contains(o, run) {
				t.Fatalf("%s: %q masked into %q keeps %q", path, s, o, run)
			}
		}
	default:
		if !reflect.DeepEqual(in, out) {
			t.Fatalf("%s: %v became %v", path, in, out)
		}
	}
}

func isLuhnCard(v any) bool {
	s, ok := v.(string)
	if !ok || len(s) < 16 || len(s) > 19 {
		return false
	}
	sum := 0
	for i := range len(s) {
		c := s[len(s)-1-i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// depthOf returns the deepest nesting of a valid JSON body.
func depthOf(b []byte) int {
	d, deepest, inStr := 0, 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '{' || c == '[':
			d++
			deepest = max(deepest, d)
		case c == '}' || c == ']':
			d--
		}
	}
	return deepest
}

// TestMaskJSONRandomTrees complements FuzzMaskJSON (whose byte mutations
// rarely build deep, well-formed documents): random documents with sensitive
// member names, escapes and white space are masked and checked as the fuzz
// target checks them, and every value of a sensitive member must change.
func TestMaskJSONRandomTrees(t *testing.T) {
	m := mustCompile(t, []masking.Rule{{Path: "..a", Kind: "card_no"}, {Path: "$..b[*]", Kind: "phone"}, {Path: "c", Kind: "custom", KeepFirst: 1, KeepLast: 1}}, true)
	rng := rand.New(rand.NewPCG(1, 2))
	keys := []string{"a", "b", "c", "x", "card_no", "cardNumber", "ACCT_NO", "phone", "mobile", "name", "holderName", "email", "id_no", "idCard", "pin", "memo", "list"}
	sensitive := map[string]bool{"a": true, "card_no": true, "cardNumber": true, "ACCT_NO": true, "phone": true, "mobile": true,
		"name": true, "holderName": true, "email": true, "id_no": true, "idCard": true, "pin": true}
	for n := range 3000 {
		var doc strings.Builder
		genValue(rng, &doc, keys, 0)
		in := []byte(doc.String())
		if !json.Valid(in) {
			t.Fatalf("generator made invalid JSON: %s", in)
		}
		out, err := m.MaskJSON(in)
		if err != nil {
			t.Fatalf("doc %d: %v\n%s", n, err, in)
		}
		if !json.Valid(out) {
			t.Fatalf("doc %d: invalid output %s", n, out)
		}
		a, b := decode(t, in), decode(t, out)
		compareTrees(t, "$", "", a, b)
		checkSensitiveChanged(t, a, b, sensitive)
	}
}

func checkSensitiveChanged(t *testing.T, in, out any, sensitive map[string]bool) {
	t.Helper()
	switch a := in.(type) {
	case map[string]any:
		b := out.(map[string]any)
		for k, v := range a {
			switch v.(type) {
			case string, json.Number:
				if sensitive[k] && reflect.DeepEqual(v, b[k]) {
					t.Fatalf("member %q: %v not masked", k, v)
				}
			}
			checkSensitiveChanged(t, v, b[k], sensitive)
		}
	case []any:
		b := out.([]any)
		for i := range a {
			checkSensitiveChanged(t, a[i], b[i], sensitive)
		}
	}
}

// genValue writes a random JSON value; strings have at least two characters
// that count and no '*', so masking must change them.
func genValue(rng *rand.Rand, w *strings.Builder, keys []string, depth int) {
	ws := func() {
		if rng.IntN(4) == 0 {
			w.WriteString([]string{" ", "\n", "\t ", "\r\n  "}[rng.IntN(4)])
		}
	}
	ws()
	switch r := rng.IntN(10); {
	case depth < 6 && r < 3:
		w.WriteByte('{')
		for i := range rng.IntN(5) {
			if i > 0 {
				w.WriteByte(',')
			}
			ws()
			genString(rng, w, keys[rng.IntN(len(keys))])
			ws()
			w.WriteByte(':')
			genValue(rng, w, keys, depth+1)
		}
		ws()
		w.WriteByte('}')
	case depth < 6 && r < 5:
		w.WriteByte('[')
		for i := range rng.IntN(4) {
			if i > 0 {
				w.WriteByte(',')
			}
			genValue(rng, w, keys, depth+1)
		}
		ws()
		w.WriteByte(']')
	case r < 6:
		w.WriteString([]string{"true", "false", "null"}[rng.IntN(3)])
	case r < 7:
		fmt.Fprintf(w, "%d%d", 1+rng.IntN(9), rng.Int64())
	case r < 8:
		genString(rng, w, []string{"4111111111111111", "6222020200112233446", "4111111111111111110", "5555555555554444"}[rng.IntN(4)])
	default:
		parts := []string{"0", "7", "138", "张", "欧阳", "a", "Z", "@", "-", " ", "\"", "\\", "😀", "\n", "é", "\u2028"}
		var s strings.Builder
		s.WriteString([]string{"1", "张", "x"}[rng.IntN(3)])
		s.WriteString([]string{"2", "三", "y"}[rng.IntN(3)])
		for range rng.IntN(25) {
			s.WriteString(parts[rng.IntN(len(parts))])
		}
		genString(rng, w, s.String())
	}
	ws()
}

// genString writes s as a JSON string, escaping characters at random.
func genString(rng *rand.Rand, w *strings.Builder, s string) {
	w.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			w.WriteByte('\\')
			w.WriteRune(r)
		case r == '\n':
			w.WriteString(`\n`)
		case rng.IntN(5) == 0:
			if r > 0xffff {
				r1, r2 := utf16.EncodeRune(r)
				fmt.Fprintf(w, `\u%04x\u%04X`, r1, r2)
			} else {
				fmt.Fprintf(w, `\u%04x`, r)
			}
		default:
			w.WriteRune(r)
		}
	}
	w.WriteByte('"')
}
