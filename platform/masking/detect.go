package masking

import "lijiang/platform/checkdigit"

// Detection: field names that suggest personal financial information, and
// card numbers anywhere. The lists are fixed (they are part of the masking
// contract documented in doc.go); precise needs are met with Rules.

// Indices of the detection maskers in Masker.specs, after the rules'.
const (
	detCard = iota
	detID
	detPhone
	detName
	detEmail
	detFull
	numDet
)

// detSpecs are the maskers of the detection kinds, indexed by det*.
var detSpecs = [numDet]spec{
	detCard:  specCard,
	detID:    specID,
	detPhone: specPhone,
	detName:  specName,
	detEmail: specEmail,
	detFull:  specFull,
}

// maxDetectKey bounds the normalised length of a detected field name.
const maxDetectKey = 32

// detectNames maps normalised field names (ASCII lower case, without '_', '-'
// and ' ') to their detection kind. Normalising makes card_no, cardNo, CardNo,
// CARD-NO and "card no" one name. Keep doc.go's list in step with this one.
var detectNames = func() map[string]int {
	m := map[string]int{}
	add := func(kind int, names ...string) {
		for _, n := range names {
			k := string(normaliseKey(nil, []byte(n)))
			if len(k) > maxDetectKey {
				panic("masking: detection name too long: " + n)
			}
			m[k] = kind
		}
	}
	add(detCard, "card_no", "card_number", "card_num", "bank_card_no", "bank_card_number",
		"pan", "primary_account_number")
	add(detCard, // account numbers mask like card numbers
		"account_no", "account_number", "account_num", "acct_no", "acct_number", "acct_num",
		"acc_no", "bank_account_no", "bank_account_number")
	add(detID, "id_no", "id_number", "id_card", "id_card_no", "id_card_number",
		"identity_no", "identity_number", "cert_no", "certificate_no")
	add(detPhone, "phone", "phone_no", "phone_number", "mobile", "mobile_no", "mobile_number",
		"mobile_phone", "cellphone", "cell_phone", "tel", "telephone")
	add(detName, "name", "holder_name", "account_name", "acct_name", "account_holder",
		"card_holder", "cardholder_name", "customer_name", "cust_name", "real_name",
		"full_name", "first_name", "last_name", "given_name", "family_name",
		"payer_name", "payee_name")
	add(detEmail, "email", "email_address", "e_mail", "mail")
	add(detFull, // card expiry and payment-sensitive data (R-7.2.2d): masked whole
		"card_expiry", "card_expiry_date", "card_exp_date", "valid_thru",
		"cvv", "cvv2", "cvc", "cvc2", "cvn", "cvn2", "pin", "password", "passwd", "otp")
	return m
}()

// normaliseKey appends the normalised form of key to dst.
func normaliseKey(dst, key []byte) []byte {
	for _, c := range key {
		switch {
		case c == '_' || c == '-' || c == ' ':
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// detectKey returns the index of the detection masker for a field name
// (already unescaped), or -1.
func detectKey(key []byte) int {
	if len(key) > 2*maxDetectKey {
		return -1
	}
	var buf [2 * maxDetectKey]byte
	k := normaliseKey(buf[:0], key)
	if len(k) > maxDetectKey {
		return -1
	}
	if d, ok := detectNames[string(k)]; ok {
		return d
	}
	return -1
}

// isCardNumber reports whether the JSON string content src is 16 to 19 ASCII
// digits (each possibly written as a \u escape) that pass the Luhn check.
func isCardNumber(src []byte, esc bool) bool {
	if len(src) < 16 || !esc && len(src) > 19 || len(src) > 19*6 {
		return false
	}
	var d [19]byte
	n := 0
	for i := 0; i < len(src); {
		r, size := unitAt(src, i, esc)
		if r < '0' || r > '9' || n == len(d) {
			return false
		}
		d[n] = byte(r)
		n++
		i += size
	}
	return n >= 16 && checkdigit.LuhnValid(d[:n])
}
