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
