package masking

import (
	"unicode/utf16"
	"unicode/utf8"
)

// Kinds of value masker, the Kind of a Rule and the kind argument of Value.
// They are the same strings as the catalogue's masking kinds.
const (
	KindCardNo    = "card_no"    // keep the first 6 and last 4 digits
	KindAccountNo = "account_no" // keep the first 6 and last 4 digits
	KindName      = "name"       // 2 characters: keep the last; 3 or more: keep the first and last
	KindIDNo      = "id_no"      // keep the first 3 and last 4 characters
	KindPhone     = "phone"      // keep a +86/0086 prefix, then the first 3 and last 4 digits
	KindEmail     = "email"      // keep the first character of the local part and the whole domain
	KindCustom    = "custom"     // keep KeepFirst and KeepLast characters
)

// MaskChar is the character that replaces every masked character.
const MaskChar = '*'

// maxKeep bounds KeepFirst and KeepLast of custom rules.
const maxKeep = 64

// op codes of a spec.
const (
	kDigits = iota // card_no, account_no, id_no: separators kept, kf/kl fixed
	kPhone         // like kDigits after an optional country-code prefix
	kName          // kf/kl depend on the length
	kEmail         // local part and domain
	kChars         // custom and full masking: every character counts
)

// spec is a compiled value masker.
type spec struct {
	op     uint8
	kf, kl int
}

var (
	specCard  = spec{op: kDigits, kf: 6, kl: 4}
	specID    = spec{op: kDigits, kf: 3, kl: 4}
	specPhone = spec{op: kPhone, kf: 3, kl: 4}
	specName  = spec{op: kName}
	specEmail = spec{op: kEmail}
	specFull  = spec{op: kChars}
)

// specFor returns the masker of a kind; kf and kl count only for KindCustom.
func specFor(kind string, kf, kl int) (spec, bool) {
	switch kind {
	case KindCardNo, KindAccountNo:
		return specCard, true
	case KindIDNo:
		return specID, true
	case KindPhone:
		return specPhone, true
	case KindName:
		return specName, true
	case KindEmail:
		return specEmail, true
	case KindCustom:
		return spec{op: kChars, kf: clampKeep(kf), kl: clampKeep(kl)}, true
	}
	return specFull, false
}

// clampKeep bounds a keep count to [0, 1<<30] so that sums cannot overflow.
func clampKeep(n int) int { return min(max(n, 0), 1<<30) }

// Value masks one value s by kind. Characters are Unicode code points (an
// invalid UTF-8 byte counts as one character); every masked character becomes
// MaskChar, so the result has as many characters as s (not as many bytes: 张三
// is 6 bytes, *三 is 4). A value too short to keep both ends is masked whole.
// keepFirst and keepLast are used by KindCustom only (negative means 0). An
// unknown kind masks the whole value: masking fails closed.
//
// The kinds in detail:
//   - card_no, account_no: spaces and '-' are kept as they are and do not
//     count; of the other characters the first 6 and last 4 are kept, so
//     6222020200112233445 → 622202*********3445 and
//     6222 0202 0011 2233 → 6222 02** **** 2233. 10 or fewer: masked whole.
//   - id_no: as card_no but keeping 3 and 4: 11010519491231002X →
//     110***********002X.
//   - phone: a leading "+86" or "0086" (and one space or '-' after it) is
//     kept, then as id_no: 13812345678 → 138****5678,
//     +86 13812345678 → +86 138****5678, 010-62345678 → 010-****5678.
//   - name: every character counts, spaces and '·' included; one character
//     is masked, two keep the last (张三 → *三), three or more keep the first
//     and the last (欧阳娜娜 → 欧**娜, John Smith → J********h).
//   - email: the part from the last '@' on is kept, and the first character
//     of the local part unless the local part is a single character:
//     zhang@example.com → z****@example.com, a@example.com → *@example.com.
//     Without an '@' that has characters on both sides: masked whole.
//   - custom: every character counts; keepFirst and keepLast are kept; a
//     value of keepFirst+keepLast characters or fewer is masked whole.
//
// Masking is idempotent: masking a masked value returns it unchanged.
func Value(kind string, keepFirst, keepLast int, s string) string {
	sp, _ := specFor(kind, keepFirst, keepLast)
	return string(sp.appendMasked(make([]byte, 0, len(s)), []byte(s), false))
}

// isSep reports whether r is a separator that digit kinds keep and do not count.
func isSep(r rune) bool { return r == ' ' || r == '-' }

// appendMasked appends the masked form of src to dst. When esc is true, src
// is the validated content of a JSON string (between the quotes) and each
// escape sequence is one character; a kept character is copied as it was
// written (escape included) and a masked one becomes MaskChar, so the result
// is valid JSON string content whenever src was.
func (sp spec) appendMasked(dst, src []byte, esc bool) []byte {
	sep := sp.op == kDigits || sp.op == kPhone
	pre := 0
	if sp.op == kPhone {
		pre = phonePrefix(src, esc)
	}
	// Pass 1: count the characters that count, find the last '@'.
	n, at := 0, -1
	for i := pre; i < len(src); {
		c := src[i]
		r, size := rune(c), 1
		if c >= utf8.RuneSelf || c == '\\' && esc {
			r, size = unitAt(src, i, esc)
		}
		i += size
		if sep && isSep(r) {
			continue
		}
		if r == '@' {
			at = n
		}
		n++
	}
	kf, kl := sp.kf, sp.kl
	switch sp.op {
	case kName:
		kf, kl = 0, 1
		if n >= 3 {
			kf = 1
		}
	case kEmail:
		if at <= 0 || at == n-1 {
			kf, kl = 0, n // masked whole below
		} else {
			kf, kl = 0, n-at
			if at > 1 {
				kf = 1
			}
		}
	}
	if n <= kf+kl {
		kf, kl = 0, 0 // masked whole
	}
	// Pass 2: emit, copying runs of kept bytes in one append.
	run := 0 // src[run:i] is kept and not yet appended
	j := 0
	for i := pre; i < len(src); {
		c := src[i]
		r, size := rune(c), 1
		if c >= utf8.RuneSelf || c == '\\' && esc {
			r, size = unitAt(src, i, esc)
		}
		if !sep || !isSep(r) {
			if j >= kf && j < n-kl {
				dst = append(dst, src[run:i]...)
				dst = append(dst, MaskChar)
				run = i + size
			}
			j++
		}
		i += size
	}
	return append(dst, src[run:]...)
}

// phonePrefix returns the byte length of a leading "+86" or "0086" country
// code and one separator after it, or 0 if there is none or nothing follows it.
func phonePrefix(src []byte, esc bool) int {
	i := 0
	want := "+86"
	if r, _ := unitAt0(src, 0, esc); r == '0' {
		want = "0086"
	}
	for k := 0; k < len(want); k++ {
		r, size := unitAt0(src, i, esc)
		if r != rune(want[k]) {
			return 0
		}
		i += size
	}
	if r, size := unitAt0(src, i, esc); isSep(r) {
		i += size
	}
	if i >= len(src) {
		return 0
	}
	return i
}

// unitAt0 is unitAt that returns -1 past the end.
func unitAt0(src []byte, i int, esc bool) (rune, int) {
	if i >= len(src) {
		return -1, 0
	}
	return unitAt(src, i, esc)
}

// unitAt decodes the character at src[i] and returns it and its length in
// bytes (at least 1). With esc, a JSON escape is one character: a surrogate
// pair written as two \u escapes is one character, a lone surrogate is
// utf8.RuneError, as encoding/json decodes them. An invalid UTF-8 byte is one
// character, utf8.RuneError.
func unitAt(src []byte, i int, esc bool) (rune, int) {
	c := src[i]
	if c >= utf8.RuneSelf {
		return utf8.DecodeRune(src[i:])
	}
	if c != '\\' || !esc || i+1 >= len(src) {
		return rune(c), 1
	}
	switch src[i+1] {
	case 'u':
		r, ok := hex4(src, i+2)
		if !ok {
			return utf8.RuneError, 1 // not produced by a validated string
		}
		if utf16.IsSurrogate(r) {
			if r < 0xdc00 && i+11 < len(src) && src[i+6] == '\\' && src[i+7] == 'u' {
				if r2, ok := hex4(src, i+8); ok {
					if rr := utf16.DecodeRune(r, r2); rr != utf8.RuneError {
						return rr, 12
					}
				}
			}
			return utf8.RuneError, 6
		}
		return r, 6
	case 'b':
		return '\b', 2
	case 'f':
		return '\f', 2
	case 'n':
		return '\n', 2
	case 'r':
		return '\r', 2
	case 't':
		return '\t', 2
	default: // '"', '\\', '/'
		return rune(src[i+1]), 2
	}
}

// hex4 decodes the four hex digits at src[i:].
func hex4(src []byte, i int) (rune, bool) {
	if i+4 > len(src) {
		return 0, false
	}
	var r rune
	for _, c := range src[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
