package masking_test

import (
	"testing"
	"unicode/utf8"

	"lijiang/platform/masking"
)

func TestValue(t *testing.T) {
	tests := []struct {
		name   string
		kind   string
		kf, kl int
		in     string
		want   string
	}{
		// card_no, account_no: first 6, last 4 (R-7.2.2c)
		{"card 19", "card_no", 0, 0, "6222020200112233445", "622202*********3445"},
		{"card 16", "card_no", 0, 0, "4111111111111111", "411111******1111"},
		{"card spaced", "card_no", 0, 0, "6222 0202 0011 2233", "6222 02** **** 2233"},
		{"card dashed", "card_no", 0, 0, "6222-0202-0011-2233", "6222-02**-****-2233"},
		{"card 11", "card_no", 0, 0, "12345678901", "123456*8901"},
		{"card short 10", "card_no", 0, 0, "1234567890", "**********"},
		{"card short 1", "card_no", 0, 0, "1", "*"},
		{"card empty", "card_no", 0, 0, "", ""},
		{"card masked already", "card_no", 0, 0, "622202*********3445", "622202*********3445"},
		{"card fullwidth digits", "card_no", 0, 0, "６２２２０２０２００１１", "６２２２０２**００１１"},
		{"account", "account_no", 0, 0, "6222020200112233445", "622202*********3445"},
		{"account letters", "account_no", 0, 0, "GL0012345678901", "GL0012*****8901"},
		{"card keep args ignored", "card_no", 9, 9, "6222020200112233445", "622202*********3445"},
		// name: 2 → last; 3+ → first and last
		{"name 2 zh", "name", 0, 0, "张三", "*三"},
		{"name 3 zh", "name", 0, 0, "王小明", "王*明"},
		{"name 4 zh", "name", 0, 0, "欧阳娜娜", "欧**娜"},
		{"name 1 zh", "name", 0, 0, "张", "*"},
		{"name minority dot", "name", 0, 0, "阿依古丽·买买提", "阿******提"},
		{"name en", "name", 0, 0, "John Smith", "J********h"},
		{"name en short", "name", 0, 0, "Al", "*l"},
		{"name masked already", "name", 0, 0, "*三", "*三"},
		{"name masked already 4", "name", 0, 0, "欧**娜", "欧**娜"},
		{"name emoji", "name", 0, 0, "😀张😀", "😀*😀"},
		{"name invalid utf8", "name", 0, 0, "a\xffb", "a*b"},
		// id_no: first 3, last 4
		{"id 18", "id_no", 0, 0, "11010519491231002X", "110***********002X"},
		{"id 15", "id_no", 0, 0, "110105491231002", "110********1002"},
		{"id short", "id_no", 0, 0, "1234567", "*******"},
		{"id masked already", "id_no", 0, 0, "110***********002X", "110***********002X"},
		// phone: first 3, last 4, +86 kept
		{"phone", "phone", 0, 0, "13812345678", "138****5678"},
		{"phone +86", "phone", 0, 0, "+8613812345678", "+86138****5678"},
		{"phone +86 space", "phone", 0, 0, "+86 13812345678", "+86 138****5678"},
		{"phone +86 dash", "phone", 0, 0, "+86-138-1234-5678", "+86-138-****-5678"},
		{"phone 0086", "phone", 0, 0, "008613812345678", "0086138****5678"},
		{"phone landline", "phone", 0, 0, "010-62345678", "010-****5678"},
		{"phone +86 alone", "phone", 0, 0, "+86", "***"},
		{"phone short", "phone", 0, 0, "1234567", "*******"},
		{"phone masked already", "phone", 0, 0, "+86 138****5678", "+86 138****5678"},
		// email: first character of the local part, domain kept
		{"email", "email", 0, 0, "zhang@example.com", "z****@example.com"},
		{"email 4", "email", 0, 0, "zhan@example.com", "z***@example.com"},
		{"email 1", "email", 0, 0, "a@example.com", "*@example.com"},
		{"email zh", "email", 0, 0, "张三@例子.中国", "张*@例子.中国"},
		{"email last at", "email", 0, 0, `"a@b"@example.com`, `"****@example.com`},
		{"email no at", "email", 0, 0, "zhang.example.com", "*****************"},
		{"email at first", "email", 0, 0, "@example.com", "************"},
		{"email at last", "email", 0, 0, "zhang@", "******"},
		{"email masked already", "email", 0, 0, "z****@example.com", "z****@example.com"},
		// custom
		{"custom 2 2", "custom", 2, 2, "ABCDEFGH", "AB****GH"},
		{"custom 0 4", "custom", 0, 4, "ABCDEFGH", "****EFGH"},
		{"custom 0 0", "custom", 0, 0, "ABC", "***"},
		{"custom short", "custom", 2, 2, "ABCD", "****"},
		{"custom zh", "custom", 1, 1, "中国工商银行", "中****行"},
		{"custom negative", "custom", -1, 1, "ABCD", "***D"},
		// unknown kind fails closed
		{"unknown kind", "nope", 3, 3, "secret value", "************"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := masking.Value(tt.kind, tt.kf, tt.kl, tt.in)
			if got != tt.want {
				t.Fatalf("Value(%q, %d, %d, %q) = %q, want %q", tt.kind, tt.kf, tt.kl, tt.in, got, tt.want)
			}
			if utf8.RuneCountInString(got) != utf8.RuneCountInString(tt.in) {
				t.Fatalf("length changed: %q → %q", tt.in, got)
			}
			if again := masking.Value(tt.kind, tt.kf, tt.kl, got); again != got {
				t.Fatalf("not idempotent: %q → %q", got, again)
			}
		})
	}
}

func FuzzValue(f *testing.F) {
	for _, s := range []string{"6222020200112233445", "张三", "欧阳娜娜", "+86 13812345678", "a@b.c", "", "\xff\xfe", "--  --"} {
		f.Add("card_no", 0, 0, s)
		f.Add("email", 0, 0, s)
	}
	f.Add("custom", 3, 70, "abcdef")
	f.Add("name", 0, 0, "John Smith")
	f.Add("phone", 0, 0, "0086")
	f.Fuzz(func(t *testing.T, kind string, kf, kl int, s string) {
		got := masking.Value(kind, kf, kl, s)
		if utf8.RuneCountInString(got) != utf8.RuneCountInString(s) {
			t.Fatalf("length changed: %q → %q", s, got)
		}
		if masking.Value(kind, kf, kl, got) != got {
			t.Fatalf("not idempotent: %q → %q", s, got)
		}
		// Something is masked unless nothing can be: a long run of digits
		// never survives whole (no kind keeps more than 10 digits in a row
		// except email's domain and custom's kept ends).
		if kind != "email" && kind != "custom" {
			if run := longestDigitRun(s); len(run) > 10 && containsString(got, run) {
				t.Fatalf("%s: digits %q survive in %q", kind, run, got)
			}
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("valid UTF-8 in, invalid out: %q → %q", s, got)
		}
	})
}

// longestDigitRun returns the longest run of ASCII digits in s.
func longestDigitRun(s string) string {
	best, start := "", -1
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 && i-start > len(best) {
			best = s[start:i]
		}
		start = -1
	}
	return best
}

func containsString(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
