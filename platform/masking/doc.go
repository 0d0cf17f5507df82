// Package masking masks (脱敏) personal financial information in the JSON
// responses the gateway returns to applicants (R-7.2.2c): card and account
// numbers, names, ID numbers, phone numbers, e-mail addresses.
//
// Value masks one value by kind; see it for the exact rule of each kind. The
// mask character is '*', one per masked character, so a masked value has as
// many characters (Unicode code points) as the original: its length still
// tells the reader what kind of value it was, and masking a masked value
// changes nothing. A value too short to keep both ends is masked whole.
//
// Compile turns Rules (a path and a kind) into a Masker; Masker.MaskJSON
// rewrites a body in one pass over its tokens, without decoding it: bytes that
// are not masked are copied through unchanged (key order, white space, number
// spelling, escapes), and the work is done without allocating beyond the
// output buffer (AppendMaskJSON into a pooled buffer does not allocate at all).
// The rewriter validates the body as encoding/json does and rejects nesting
// deeper than MaxDepth, so a hostile upstream cannot make it recurse without
// bound (it does not recurse at all).
//
// # Numbers
//
// A selected number is masked as text and emitted as a JSON string, since '*'
// cannot appear in a number: {"card_no": 6222020200112233445} becomes
// {"card_no": "622202*********3445"}. An applicant that reads such a field as
// a number sees a type change, which is better than a clear card number.
//
// # Precedence
//
// For each string or number: a rule that selects it (the first such rule in
// the slice), else a rule that selected an enclosing object or array, else
// (with detection) its member name, else (with detection) the card-number
// check. true, false and null are never masked; member names are never
// masked.
//
// # Detection
//
// Compile(rules, true) adds two detectors, in addition to the rules:
//
// 1. Member names. A string or number that is the value of an object member
// whose name, in ASCII lower case with '_', '-' and ' ' removed, is one of
// the following is masked by the kind shown (so card_no, cardNo, CardNo,
// CARD-NO and "card no" are one name). The names are matched whole, at any
// depth; only a string or number value is masked, an object or array value is
// not (its own members are examined by name in turn).
//
//	card_no:  card_no card_number card_num bank_card_no bank_card_number pan
//	          primary_account_number
//	          account_no account_number account_num acct_no acct_number acct_num
//	          acc_no bank_account_no bank_account_number   (masked as card_no)
//	id_no:    id_no id_number id_card id_card_no id_card_number identity_no
//	          identity_number cert_no certificate_no
//	phone:    phone phone_no phone_number mobile mobile_no mobile_number
//	          mobile_phone cellphone cell_phone tel telephone
//	name:     name holder_name account_name acct_name account_holder card_holder
//	          cardholder_name customer_name cust_name real_name full_name
//	          first_name last_name given_name family_name payer_name payee_name
//	email:    email email_address e_mail mail
//	whole:    card_expiry card_expiry_date card_exp_date valid_thru (card expiry)
//	          cvv cvv2 cvc cvc2 cvn cvn2 pin password passwd otp (R-7.2.2d:
//	          should never be in a response; masked whole if they are)
//
// "name" is broad on purpose (it also masks, say, a product's name): use
// rules alone, without detection, for APIs where that is wrong.
//
// 2. Card numbers anywhere. A JSON string (not a number, not a member name)
// anywhere in the body whose whole content is 16 to 19 ASCII digits (escaped
// or not; no spaces or dashes) that pass the Luhn check is masked as card_no.
// About one in ten random digit strings passes Luhn, so a 16-19 digit
// identifier (a serial number, a timestamp in nanoseconds) sent as a string is
// sometimes masked too; an API that returns such identifiers should be masked
// by rules only. Numbers are not checked, because large identifiers are often
// sent as numbers and turning them into strings would break applicants.
package masking
