package checkdigit

// Luhn returns the Luhn check digit ('0'-'9') to append to digits, a string
// of ASCII digits.
func Luhn[T ~string | ~[]byte](digits T) byte {
	sum := 0
	double := true // the rightmost digit is doubled once the check digit follows
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
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

// LuhnValid reports whether s is two or more ASCII digits whose last one is
// the Luhn check digit of the others.
func LuhnValid[T ~string | ~[]byte](s T) bool {
	if len(s) < 2 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return Luhn(s[:len(s)-1]) == s[len(s)-1]
}

// CardNumber reports whether s can be a bank card number: 13 to 19 ASCII
// digits passing the Luhn check.
func CardNumber(s string) bool {
	return len(s) >= 13 && len(s) <= 19 && LuhnValid(s)
}

// idNoWeights are the ISO 7064 MOD 11-2 weights of an identity card
// number's first 17 digits.
var idNoWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// IDNo returns the check character ('0'-'9' or 'X') of a resident identity
// card number (GB 11643-1999) for its first 17 characters, which must be
// ASCII digits.
func IDNo(first17 string) byte {
	sum := 0
	for i, w := range idNoWeights {
		sum += int(first17[i]-'0') * w
	}
	return "10X98765432"[sum%11]
}
