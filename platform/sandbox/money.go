package sandbox

import (
	"errors"
	"strconv"
	"strings"
)

// Amounts are held as int64 fen (分, hundredths of a yuan): no floating point
// anywhere near money.

// maxAmountDigits bounds the integer part of an amount in a request: far more
// than any limit, far less than int64 fen can hold.
const maxAmountDigits = 12

var errAmount = errors.New("amount must be a decimal string with at most two decimals, e.g. \"100.00\"")

// parseAmount parses a decimal amount string ("100", "100.5", "100.50") into
// fen. It accepts no sign, exponent, spaces, leading "+" or "." and no more
// than two decimals.
func parseAmount(s string) (int64, error) {
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" || len(intPart) > maxAmountDigits || (hasDot && (frac == "" || len(frac) > 2)) {
		return 0, errAmount
	}
	if len(intPart) > 1 && intPart[0] == '0' {
		return 0, errAmount
	}
	var v int64
	for i := 0; i < len(intPart); i++ {
		c := intPart[i]
		if c < '0' || c > '9' {
			return 0, errAmount
		}
		v = v*10 + int64(c-'0')
	}
	v *= 100
	for i, scale := 0, int64(10); i < len(frac); i, scale = i+1, scale/10 {
		c := frac[i]
		if c < '0' || c > '9' {
			return 0, errAmount
		}
		v += int64(c-'0') * scale
	}
	return v, nil
}

// formatAmount renders fen as a decimal string with two decimals.
func formatAmount(fen int64) string {
	neg := fen < 0
	if neg {
		fen = -fen
	}
	var b [24]byte
	out := strconv.AppendInt(b[:0], fen/100, 10)
	out = append(out, '.', byte('0'+fen%100/10), byte('0'+fen%10))
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// allDigits reports whether s is non-empty and all ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// luhnValid reports whether s is a digit string whose last digit is its
// Luhn (ISO/IEC 7812) check digit, as bank card numbers are.
func luhnValid(s string) bool {
	if len(s) < 2 || !allDigits(s) {
		return false
	}
	return luhnCheckDigit(s[:len(s)-1]) == s[len(s)-1]
}

// luhnCheckDigit returns the Luhn check digit to append to the digits s.
func luhnCheckDigit(s string) byte {
	sum := 0
	double := true // the rightmost digit of s is doubled once the check digit follows
	for i := len(s) - 1; i >= 0; i-- {
		d := int(s[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return byte('0' + (10-sum%10)%10)
}

// validAccountNo reports whether s can be an account (card) number: 13-19
// digits passing the Luhn check.
func validAccountNo(s string) bool {
	return len(s) >= 13 && len(s) <= 19 && luhnValid(s)
}

// idNoCheckChar returns the check character of a resident ID number (GB
// 11643-1999) for its first 17 digits.
func idNoCheckChar(first17 string) byte {
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(first17[i]-'0') * weights[i]
	}
	return "10X98765432"[sum%11]
}
