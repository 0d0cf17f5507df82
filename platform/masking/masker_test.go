package masking_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"lijiang/platform/masking"
)

func mustCompile(t testing.TB, rules []masking.Rule, detect bool) *masking.Masker {
	t.Helper()
	m, err := masking.Compile(rules, detect)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return m
}

func mustMask(t testing.TB, m *masking.Masker, in string) string {
	t.Helper()
	out, err := m.MaskJSON([]byte(in))
	if err != nil {
		t.Fatalf("MaskJSON(%s): %v", in, err)
	}
	if !json.Valid(out) {
		t.Fatalf("MaskJSON(%s) = %s: not valid JSON", in, out)
	}
	return string(out)
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name  string
		rules []masking.Rule
		index int
		field string
	}{
		{"unknown kind", []masking.Rule{{Path: "a", Kind: "card_no"}, {Path: "b", Kind: "cardno"}}, 1, "kind"},
		{"empty kind", []masking.Rule{{Path: "a"}}, 0, "kind"},
		{"keep on card", []masking.Rule{{Path: "a", Kind: "card_no", KeepFirst: 2}}, 0, "keep"},
		{"keep negative", []masking.Rule{{Path: "a", Kind: "custom", KeepLast: -1}}, 0, "keep"},
		{"keep too big", []masking.Rule{{Path: "a", Kind: "custom", KeepFirst: 65}}, 0, "keep"},
		{"empty path", []masking.Rule{{Path: "", Kind: "name"}}, 0, "path"},
		{"dollar alone", []masking.Rule{{Path: "$", Kind: "name"}}, 0, "path"},
		{"dollar name", []masking.Rule{{Path: "$a", Kind: "name"}}, 0, "path"},
		{"trailing dot", []masking.Rule{{Path: "a.", Kind: "name"}}, 0, "path"},
		{"empty member", []masking.Rule{{Path: "a..", Kind: "name"}}, 0, "path"},
		{"triple dot", []masking.Rule{{Path: "a...b", Kind: "name"}}, 0, "path"},
		{"desc index", []masking.Rule{{Path: "$..[*]", Kind: "name"}}, 0, "path"},
		{"member wildcard", []masking.Rule{{Path: "$.a.*", Kind: "name"}}, 0, "path"},
		{"unclosed bracket", []masking.Rule{{Path: "a[", Kind: "name"}}, 0, "path"},
		{"bad index", []masking.Rule{{Path: "a[x]", Kind: "name"}}, 0, "path"},
		{"negative index", []masking.Rule{{Path: "a[-1]", Kind: "name"}}, 0, "path"},
		{"leading zero", []masking.Rule{{Path: "a[01]", Kind: "name"}}, 0, "path"},
		{"unclosed quote", []masking.Rule{{Path: "$['a", Kind: "name"}}, 0, "path"},
		{"space in name", []masking.Rule{{Path: "a b", Kind: "name"}}, 0, "path"},
		{"junk after index", []masking.Rule{{Path: "a[0]b", Kind: "name"}}, 0, "path"},
		{"too long", []masking.Rule{{Path: strings.Repeat("a", 600), Kind: "name"}}, 0, "path"},
		{"too many steps", []masking.Rule{{Path: strings.Repeat("a.", 40) + "a", Kind: "name"}}, 0, "path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := masking.Compile(tt.rules, false)
			if err == nil || m != nil {
				t.Fatalf("Compile = %v, %v; want an error", m, err)
			}
			var re *masking.RuleError
			if !errors.Is(err, masking.ErrInvalidRule) || !errors.As(err, &re) {
				t.Fatalf("error %v is not a RuleError wrapping ErrInvalidRule", err)
			}
			if re.Index != tt.index || re.Field != tt.field {
				t.Fatalf("error %v: index %d field %q, want %d %q", err, re.Index, re.Field, tt.index, tt.field)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("rule %d", tt.index)) {
				t.Fatalf("error %q does not name the rule", err)
			}
		})
	}
	if _, err := masking.Compile(make([]masking.Rule, masking.MaxRules+1), false); !errors.Is(err, masking.ErrInvalidRule) {
		t.Fatalf("too many rules: %v", err)
	}
}

func TestMaskJSONPaths(t *testing.T) {
	const accounts = `{"accounts":[{"account_no":"6222020200112233445","name":"张三"},{"account_no":"6222020200112233446","name":"欧阳娜娜"}],"account_no":"6222020200112233447","name":"王小明"}`
	tests := []struct {
		name  string
		rules []masking.Rule
		in    string
		want  string
	}{
		{"dollar array", []masking.Rule{{Path: "$.accounts[*].account_no", Kind: "account_no"}}, accounts,
			`{"accounts":[{"account_no":"622202*********3445","name":"张三"},{"account_no":"622202*********3446","name":"欧阳娜娜"}],"account_no":"6222020200112233447","name":"王小明"}`},
		{"relative array", []masking.Rule{{Path: "accounts[*].account_no", Kind: "account_no"}}, accounts,
			`{"accounts":[{"account_no":"622202*********3445","name":"张三"},{"account_no":"622202*********3446","name":"欧阳娜娜"}],"account_no":"6222020200112233447","name":"王小明"}`},
		{"index", []masking.Rule{{Path: "accounts[1].name", Kind: "name"}}, accounts,
			`{"accounts":[{"account_no":"6222020200112233445","name":"张三"},{"account_no":"6222020200112233446","name":"欧**娜"}],"account_no":"6222020200112233447","name":"王小明"}`},
		{"bare name top level only", []masking.Rule{{Path: "name", Kind: "name"}}, accounts,
			`{"accounts":[{"account_no":"6222020200112233445","name":"张三"},{"account_no":"6222020200112233446","name":"欧阳娜娜"}],"account_no":"6222020200112233447","name":"王*明"}`},
		{"recursive", []masking.Rule{{Path: "..name", Kind: "name"}}, accounts,
			`{"accounts":[{"account_no":"6222020200112233445","name":"*三"},{"account_no":"6222020200112233446","name":"欧**娜"}],"account_no":"6222020200112233447","name":"王*明"}`},
		{"recursive dollar", []masking.Rule{{Path: "$..account_no", Kind: "account_no"}}, accounts,
			`{"accounts":[{"account_no":"622202*********3445","name":"张三"},{"account_no":"622202*********3446","name":"欧阳娜娜"}],"account_no":"622202*********3447","name":"王小明"}`},
		{"dotted", []masking.Rule{{Path: "data.holder.name", Kind: "name"}},
			`{"data":{"holder":{"name":"张三","id":"x"},"name":"李四"},"holder":{"name":"王五"}}`,
			`{"data":{"holder":{"name":"*三","id":"x"},"name":"李四"},"holder":{"name":"王五"}}`},
		{"recursive then path", []masking.Rule{{Path: "$..holder.name", Kind: "name"}},
			`{"a":[{"b":{"holder":{"name":"张三"}}}],"holder":{"name":"李四"},"name":"王五"}`,
			`{"a":[{"b":{"holder":{"name":"*三"}}}],"holder":{"name":"*四"},"name":"王五"}`},
		{"nested arrays", []masking.Rule{{Path: "$.m[*][*].card_no", Kind: "card_no"}},
			`{"m":[[{"card_no":"6222020200112233445"}],[{"card_no":"4111111111111111"},{"x":1}]]}`,
			`{"m":[[{"card_no":"622202*********3445"}],[{"card_no":"411111******1111"},{"x":1}]]}`},
		{"root array", []masking.Rule{{Path: "$[*].phone", Kind: "phone"}},
			`[{"phone":"13812345678"},{"phone":"+86 13812345678"}]`,
			`[{"phone":"138****5678"},{"phone":"+86 138****5678"}]`},
		{"array of strings", []masking.Rule{{Path: "cards[*]", Kind: "card_no"}},
			`{"cards":["6222020200112233445","4111111111111111"]}`,
			`{"cards":["622202*********3445","411111******1111"]}`},
		{"container selected", []masking.Rule{{Path: "holder", Kind: "custom", KeepFirst: 1}},
			`{"holder":{"name":"张三丰","ids":["AB12",7,true,null]},"other":"x"}`,
			`{"holder":{"name":"张**","ids":["A***","*",true,null]},"other":"x"}`},
		{"specific rule beats container", []masking.Rule{{Path: "holder", Kind: "custom"}, {Path: "holder.name", Kind: "name"}},
			`{"holder":{"name":"张三丰","id":"AB12"}}`,
			`{"holder":{"name":"张*丰","id":"****"}}`},
		{"first rule wins", []masking.Rule{{Path: "..v", Kind: "custom", KeepFirst: 1}, {Path: "v", Kind: "custom"}},
			`{"v":"abcd"}`, `{"v":"a***"}`},
		{"quoted member", []masking.Rule{{Path: "$['a.b'][\"c d\"]", Kind: "custom"}},
			`{"a.b":{"c d":"xyz"},"a":{"b":{"c d":"xyz"}}}`, `{"a.b":{"c d":"***"},"a":{"b":{"c d":"xyz"}}}`},
		{"escaped key", []masking.Rule{{Path: "name", Kind: "name"}},
			`{"na\u006de":"张三"}`, `{"na\u006de":"*三"}`},
		{"not a prefix match", []masking.Rule{{Path: "name", Kind: "name"}},
			`{"names":"张三","nam":"张三"}`, `{"names":"张三","nam":"张三"}`},
		{"booleans and null untouched", []masking.Rule{{Path: "..x", Kind: "custom"}},
			`{"x":true,"y":{"x":null},"z":[{"x":false}]}`, `{"x":true,"y":{"x":null},"z":[{"x":false}]}`},
		{"white space kept", []masking.Rule{{Path: "a", Kind: "custom"}},
			" {\n\t\"a\" : \"xy\" ,\r\n \"b\":[ 1 , 2 ] } \n", " {\n\t\"a\" : \"**\" ,\r\n \"b\":[ 1 , 2 ] } \n"},
		{"empty containers", []masking.Rule{{Path: "..a", Kind: "custom"}},
			`{"a":{},"b":[],"c":[[],{}],"d":{"a":"x"}}`, `{"a":{},"b":[],"c":[[],{}],"d":{"a":"*"}}`},
		{"root scalar", []masking.Rule{{Path: "a", Kind: "custom"}}, `"abc"`, `"abc"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustCompile(t, tt.rules, false)
			if got := mustMask(t, m, tt.in); got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestMaskJSONNumbers(t *testing.T) {
	m := mustCompile(t, []masking.Rule{
		{Path: "card_no", Kind: "card_no"},
		{Path: "account_no", Kind: "account_no"},
		{Path: "phone", Kind: "phone"},
		{Path: "neg", Kind: "account_no"},
		{Path: "frac", Kind: "custom", KeepFirst: 1, KeepLast: 1},
	}, false)
	in := `{"card_no":6222020200112233445,"account_no":12345678901234567890123,"phone":13812345678,"neg":-1234567890123,"frac":1.5e-7,"amount":12345678901234567890.000001,"big":6222020200112233445}`
	want := `{"card_no":"622202*********3445","account_no":"123456*************0123","phone":"138****5678","neg":"-123456***0123","frac":"1****7","amount":12345678901234567890.000001,"big":6222020200112233445}`
	if got := mustMask(t, m, in); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	// Untouched numbers keep their exact spelling and precision.
	d := json.NewDecoder(strings.NewReader(want))
	d.UseNumber()
	var v map[string]any
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	if v["amount"].(json.Number) != "12345678901234567890.000001" {
		t.Fatalf("amount = %v", v["amount"])
	}
}

func TestMaskJSONEscapes(t *testing.T) {
	m := mustCompile(t, []masking.Rule{{Path: "..v", Kind: "custom", KeepFirst: 2, KeepLast: 2}, {Path: "..n", Kind: "name"}, {Path: "..e", Kind: "email"}}, false)
	tests := []struct {
		name, in, want string
		decoded        string // the masked value, decoded
	}{
		{"quote kept", `{"v":"\"abcd\""}`, `{"v":"\"a**d\""}`, `"a**d"`},
		{"quote masked", `{"v":"ab\"\"\"cd"}`, `{"v":"ab***cd"}`, `ab***cd`},
		{"backslash", `{"v":"\\\\xx\\\\"}`, `{"v":"\\\\**\\\\"}`, `\\**\\`},
		{"unicode escape kept", `{"n":"\u5f20\u4e09"}`, `{"n":"*\u4e09"}`, `*三`},
		{"surrogate pair is one character", `{"n":"\ud83d\ude00\u5f20\ud83d\ude00"}`, `{"n":"\ud83d\ude00*\ud83d\ude00"}`, "😀*😀"},
		{"lone surrogate", `{"n":"\ud800ab"}`, `{"n":"\ud800*b"}`, "\ufffd*b"},
		{"control escapes", `{"v":"\n\t\r\b\f\/"}`, `{"v":"\n\t**\f\/"}`, "\n\t**\f/"},
		{"raw utf8", `{"n":"欧阳娜娜"}`, `{"n":"欧**娜"}`, "欧**娜"},
		{"escaped at", `{"e":"zhang\u0040example.com"}`, `{"e":"z****\u0040example.com"}`, "z****@example.com"},
		{"escaped key and value", `{"\u006e":"\"x\""}`, `{"\u006e":"\"*\""}`, `"*"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustMask(t, m, tt.in)
			if got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
			var v map[string]string
			if err := json.Unmarshal([]byte(got), &v); err != nil {
				t.Fatalf("decode %s: %v", got, err)
			}
			for _, s := range v {
				if s != tt.decoded {
					t.Fatalf("decoded %q, want %q", s, tt.decoded)
				}
			}
		})
	}
}

func TestMaskJSONDetect(t *testing.T) {
	m := mustCompile(t, nil, true)
	tests := []struct{ name, in, want string }{
		{"snake", `{"card_no":"6222020200112233445","account_number":"6222020200112233445"}`,
			`{"card_no":"622202*********3445","account_number":"622202*********3445"}`},
		{"camel and upper", `{"cardNo":"6222020200112233445","AcctNo":"12345678901","HOLDER_NAME":"张三","idCardNo":"11010519491231002X","Mobile":"13812345678"}`,
			`{"cardNo":"622202*********3445","AcctNo":"123456*8901","HOLDER_NAME":"*三","idCardNo":"110***********002X","Mobile":"138****5678"}`},
		{"kebab and space", `{"card-number":"6222020200112233445","e mail":"zhang@example.com"}`,
			`{"card-number":"622202*********3445","e mail":"z****@example.com"}`},
		{"deep", `{"a":[{"b":{"email":"zhang@example.com","pan":4111111111111111}}]}`,
			`{"a":[{"b":{"email":"z****@example.com","pan":"411111******1111"}}]}`},
		{"object under a name is not masked", `{"name":{"zh":"张三","en":"Zhang San"}}`,
			`{"name":{"zh":"张三","en":"Zhang San"}}`},
		{"secrets whole", `{"cvv":"123","pin":1234,"card_expiry":"12/29","password":"hunter2"}`,
			`{"cvv":"***","pin":"****","card_expiry":"*****","password":"*******"}`},
		{"luhn string anywhere", `{"memo":"4111111111111111","list":["6222020200112233446"],"x":{"y":"4111111111111111110"}}`,
			`{"memo":"411111******1111","list":["622202*********3446"],"x":{"y":"411111*********1110"}}`},
		{"luhn escaped digits", `{"memo":"\u0034111111111111111"}`, `{"memo":"\u003411111******1111"}`},
		{"luhn fails", `{"memo":"4111111111111112","t":"1718000000000000001"}`, `{"memo":"4111111111111112","t":"1718000000000000001"}`},
		{"luhn too short or long", `{"a":"411111111111116","b":"41111111111111111113","c":"4111 1111 1111 1111"}`,
			`{"a":"411111111111116","b":"41111111111111111113","c":"4111 1111 1111 1111"}`},
		{"luhn not on numbers", `{"id":4111111111111111}`, `{"id":4111111111111111}`},
		{"luhn not on keys", `{"4111111111111111":1}`, `{"4111111111111111":1}`},
		{"root luhn string", `"4111111111111111"`, `"411111******1111"`},
		{"unrelated names", `{"id":"11010519491231002X","username":"zhangsan","named":"x","card":"6222"}`,
			`{"id":"11010519491231002X","username":"zhangsan","named":"x","card":"6222"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustMask(t, m, tt.in); got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	t.Run("off without detect", func(t *testing.T) {
		in := `{"card_no":"6222020200112233445","memo":"4111111111111111"}`
		if got := mustMask(t, mustCompile(t, nil, false), in); got != in {
			t.Fatalf("got %s", got)
		}
	})
	t.Run("rule beats detection", func(t *testing.T) {
		m := mustCompile(t, []masking.Rule{{Path: "name", Kind: "custom"}}, true)
		if got := mustMask(t, m, `{"name":"张三","x":{"name":"张三"}}`); got != `{"name":"**","x":{"name":"*三"}}` {
			t.Fatalf("got %s", got)
		}
	})
}

func TestMaskJSONInvalid(t *testing.T) {
	m := mustCompile(t, []masking.Rule{{Path: "..a", Kind: "custom"}}, true)
	for _, in := range []string{
		" ", "{", "}", "[", "]", `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `[1 2]`, `{"a":1 "b":2}`, `{a:1}`,
		`"abc`, `"a\x"`, `"\u12g4"`, "\"a\x01\"", `01`, `1.`, `.5`, `1e`, `-`, `+1`, `tru`, `nul`, `True`,
		`{"a":"4111111111111111"} x`, `1 2`, `{"a":[}`, `[{]}`, `{"a":1]`, `[1}`, `{,}`, `NaN`, "\x00",
		"\"\\u00", `{"a":"6222020200112233445`, "{\"a\":1}\x00",
	} {
		t.Run(fmt.Sprintf("%q", in), func(t *testing.T) {
			if json.Valid([]byte(in)) {
				t.Fatalf("test case is valid JSON")
			}
			out, err := m.MaskJSON([]byte(in))
			if err == nil || out != nil || !errors.Is(err, masking.ErrInvalidJSON) {
				t.Fatalf("MaskJSON = %q, %v; want ErrInvalidJSON", out, err)
			}
			if len(in) > 3 && strings.Contains(err.Error(), in) {
				t.Fatalf("error quotes the body: %v", err)
			}
		})
	}
	t.Run("empty", func(t *testing.T) {
		out, err := m.MaskJSON(nil)
		if err != nil || out == nil || len(out) != 0 {
			t.Fatalf("MaskJSON(nil) = %q, %v", out, err)
		}
	})
	t.Run("not json", func(t *testing.T) {
		_, err := m.MaskJSON([]byte("<html>6222020200112233445</html>"))
		if !errors.Is(err, masking.ErrInvalidJSON) || strings.Contains(err.Error(), "6222") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestMaskJSONDepth(t *testing.T) {
	m := mustCompile(t, []masking.Rule{{Path: "..a", Kind: "custom"}}, true)
	nest := func(n int) string {
		return strings.Repeat(`{"a":[`, n/2) + strings.Repeat(`{"a":`, n%2) + `"xy"` + strings.Repeat("}", n%2) + strings.Repeat("]}", n/2)
	}
	for _, n := range []int{1, 2, 63, masking.MaxDepth} {
		in := nest(n)
		got := mustMask(t, m, in)
		if want := strings.Replace(in, `"xy"`, `"**"`, 1); got != want {
			t.Fatalf("depth %d: got %s", n, got)
		}
	}
	for _, n := range []int{masking.MaxDepth + 1, 100, 1 << 20} {
		_, err := m.MaskJSON([]byte(nest(n)))
		if !errors.Is(err, masking.ErrTooDeep) {
			t.Fatalf("depth %d: err = %v, want ErrTooDeep", n, err)
		}
	}
	// Arrays only, unterminated: rejected at the limit, not at the end.
	if _, err := m.MaskJSON([]byte(strings.Repeat("[", 1<<20))); !errors.Is(err, masking.ErrTooDeep) {
		t.Fatalf("err = %v", err)
	}
}

// accountsBody builds an accounts-list response with n accounts.
func accountsBody(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"code":"0000","message":"成功","request_id":"20240601123456789012","data":{"total":`)
	fmt.Fprintf(&b, "%d", n)
	b.WriteString(`,"accounts":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"account_no":"62220202001122%05d","account_name":"欧阳娜娜","currency":"CNY","balance":12345.67,"available":12000.00,`+
			`"holder":{"name":"张三","id_no":"11010519491231002X","phone":"+86 13812345678","email":"zhangsan@example.com"},`+
			`"opened":"2019-03-01","branch":"桂林银行七星支行","product":"SAVINGS","status":"ACTIVE","tags":["salary","primary"],"overdraft":false,"memo":null}`, i)
	}
	b.WriteString(`]}}`)
	return b.Bytes()
}

var accountRules = []masking.Rule{
	{Path: "$.data.accounts[*].account_no", Kind: "account_no"},
	{Path: "$.data.accounts[*].account_name", Kind: "name"},
	{Path: "$..holder.name", Kind: "name"},
	{Path: "$..id_no", Kind: "id_no"},
	{Path: "$..phone", Kind: "phone"},
	{Path: "$..email", Kind: "email"},
}

func TestMaskJSONLarge(t *testing.T) {
	m := mustCompile(t, accountRules, true)
	in := accountsBody(30000) // ~10 MB
	if len(in) < 8<<20 {
		t.Fatalf("body is only %d bytes", len(in))
	}
	out, err := m.MaskJSON(in)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(out) {
		t.Fatal("output is not valid JSON")
	}
	var v struct {
		Data struct {
			Accounts []struct {
				AccountNo   string `json:"account_no"`
				AccountName string `json:"account_name"`
				Holder      struct{ Name, IDNo, Phone, Email string }
				Balance     json.Number
			}
		}
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Data.Accounts) != 30000 {
		t.Fatalf("%d accounts", len(v.Data.Accounts))
	}
	for i, a := range v.Data.Accounts {
		if want := fmt.Sprintf("622202*********%04d", i%10000); a.AccountNo[:15] != want[:15] || a.AccountName != "欧**娜" ||
			a.Holder.Name != "*三" || a.Holder.Phone != "+86 138****5678" || a.Holder.Email != "z*******@example.com" || a.Balance != "12345.67" {
			t.Fatalf("account %d: %+v", i, a)
		}
	}
	if bytes.Contains(out, []byte("13812345678")) || bytes.Contains(out, []byte("11010519491231002X")) {
		t.Fatal("clear values left in the output")
	}
}

func TestMaskJSONNoMatchIsIdentity(t *testing.T) {
	m := mustCompile(t, []masking.Rule{{Path: "nothing", Kind: "name"}}, false)
	in := accountsBody(5)
	out, err := m.MaskJSON(in)
	if err != nil || !bytes.Equal(out, in) {
		t.Fatalf("identity failed: %v", err)
	}
}

func TestAppendMaskJSONDoesNotAllocate(t *testing.T) {
	m := mustCompile(t, accountRules, true)
	in := accountsBody(5)
	buf := make([]byte, 0, len(in)+64)
	if _, err := m.AppendMaskJSON(buf, in); err != nil { // warm the pool
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := m.AppendMaskJSON(buf[:0], in); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per call", allocs)
	}
}

func TestMaskJSONConcurrent(t *testing.T) {
	m := mustCompile(t, accountRules, true)
	in := accountsBody(20)
	want, err := m.MaskJSON(in)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				got, err := m.MaskJSON(in)
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("concurrent result differs: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkMaskJSON(b *testing.B) {
	m := mustCompile(b, accountRules, true)
	in := accountsBody(5)
	b.Logf("body %d bytes", len(in))
	b.Run("MaskJSON", func(b *testing.B) {
		b.SetBytes(int64(len(in)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.MaskJSON(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("AppendMaskJSON", func(b *testing.B) {
		buf := make([]byte, 0, len(in)+64)
		b.SetBytes(int64(len(in)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.AppendMaskJSON(buf[:0], in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ValidOnly", func(b *testing.B) { // the cost of json.Valid, for comparison
		b.SetBytes(int64(len(in)))
		b.ReportAllocs()
		for b.Loop() {
			if !json.Valid(in) {
				b.Fatal("invalid")
			}
		}
	})
}
