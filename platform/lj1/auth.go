package lj1

import (
	"crypto/ecdsa"
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/emmansun/gmsm/sm2"

	"lijiang/platform/smcrypto"
)

// The two request authentication schemes of LJ1.
const (
	SchemeSM2  = "LJ1-SM2-SM3"
	SchemeHMAC = "LJ1-HMAC-SM3"
)

// ResponseScheme is the first line of a response string to sign.
const ResponseScheme = "LJ1-RESPONSE"

// Limits on Authorization values. PROTOCOL.md fixes only the nonce length;
// the others are generous bounds that keep a hostile header cheap to reject.
const (
	// MaxAuthorizationLen bounds the whole header value.
	MaxAuthorizationLen = 2048
	// MaxIDLen bounds app_id and serial.
	MaxIDLen = 128
	// MaxSignatureLen bounds the base64 signature (an SM2 DER signature is
	// at most 72 bytes, 96 characters; HMAC-SM3 is 44).
	MaxSignatureLen = 256
	// MinNonceLen and MaxNonceLen are the nonce bounds of PROTOCOL.md.
	MinNonceLen = 16
	MaxNonceLen = 64
	// maxTimestampLen is the most decimal digits an int64 can have.
	maxTimestampLen = 19
)

// Authorization is a parsed LJ1 Authorization header.
type Authorization struct {
	// Scheme is SchemeSM2 or SchemeHMAC.
	Scheme string
	// AppID is the App_ID issued at admission.
	AppID string
	// Serial names the app credential that signed.
	Serial string
	// Timestamp is the timestamp exactly as sent; it is what the string to
	// sign contains.
	Timestamp string
	// Unix is Timestamp parsed, in Unix seconds.
	Unix int64
	// Nonce is the request nonce, 16–64 characters of [A-Za-z0-9_-].
	Nonce string
	// Signature is the base64 signature exactly as sent.
	Signature string
}

// String formats the header value in the canonical order and spacing:
//
//	LJ1-SM2-SM3 app_id="…",serial="…",timestamp="…",nonce="…",signature="…"
func (a Authorization) String() string {
	var b strings.Builder
	b.Grow(len(a.Scheme) + len(a.AppID) + len(a.Serial) + len(a.Timestamp) + len(a.Nonce) + len(a.Signature) + 64)
	b.WriteString(a.Scheme)
	b.WriteString(` app_id="`)
	b.WriteString(a.AppID)
	b.WriteString(`",serial="`)
	b.WriteString(a.Serial)
	b.WriteString(`",timestamp="`)
	b.WriteString(a.Timestamp)
	b.WriteString(`",nonce="`)
	b.WriteString(a.Nonce)
	b.WriteString(`",signature="`)
	b.WriteString(a.Signature)
	b.WriteString(`"`)
	return b.String()
}

// StringToSign returns the request string to sign for this header's scheme,
// app, timestamp (as sent) and nonce.
func (a Authorization) StringToSign(method, target, bodyDigestHex string) string {
	return RequestStringToSign(a.Scheme, method, target, a.AppID, a.Timestamp, a.Nonce, bodyDigestHex)
}

// parameter bits, to enforce "each exactly once".
const (
	pAppID = 1 << iota
	pSerial
	pTimestamp
	pNonce
	pSignature
	pAll = pAppID | pSerial | pTimestamp | pNonce | pSignature
)

// authError is a violation of the Authorization grammar: which rule failed,
// never a value from the header.
type authError struct{ detail string }

func (e *authError) Error() string {
	return "authorization: " + e.detail + ": " + ErrAuthRequired.Error()
}
func (e *authError) Unwrap() error { return ErrAuthRequired }

func authErr(detail string) error { return &authError{detail} }

// AuthProblem returns which rule of the Authorization grammar err (from
// ParseAuthorization) reports, for the AUTH_REQUIRED answer's message: it
// names a rule or a parameter, never a value, so it reveals nothing secret.
// It is "" for any other error.
func AuthProblem(err error) string {
	var e *authError
	if errors.As(err, &e) {
		return e.detail
	}
	return ""
}

// ParseAuthorization parses an Authorization header value per PROTOCOL.md.
// Every violation is an error wrapping ErrAuthRequired (code AUTH_REQUIRED);
// error texts name the offending parameter, never its value.
//
// Grammar:
//
//	header = scheme SP param *( "," *( SP / HTAB ) param )
//	param  = name "=" DQUOTE value DQUOTE
//
// Details, and the one place where it is lenient:
//   - The scheme is exactly "LJ1-SM2-SM3" or "LJ1-HMAC-SM3", case-sensitive
//     (it is also the first line of the string to sign), followed by exactly
//     one space, as WeChat Pay v3 and every LJ1 SDK write it.
//   - Optional spaces or tabs are accepted after a comma only: RFC 9110's list
//     rule allows them and some HTTP libraries emit ", ". No whitespace is
//     accepted anywhere else (around "=", before a comma, at either end), and
//     no empty list elements (",,", trailing comma). Whitespace at the ends
//     of the header as sent never reaches this parser: HTTP strips it from
//     field values (RFC 9110 §5.5), so clients see it accepted.
//   - The five parameters app_id, serial, timestamp, nonce and signature are
//     all required, each exactly once, in any order; names are lower case;
//     unknown parameters are rejected.
//   - Values are quoted; there are no escapes. PROTOCOL.md forbids quote and
//     comma; this parser also rejects backslash, spaces, control and non-ASCII
//     characters (App_IDs and serials are issued by the bank and never
//     contain them). app_id and serial are 1–128 characters.
//   - timestamp is 1–19 decimal digits that fit an int64 (leading zeros are
//     accepted; the string to sign uses the value as sent).
//   - nonce is 16–64 characters of [A-Za-z0-9_-].
//   - signature is canonical standard padded base64, at most 256 characters.
func ParseAuthorization(header string) (Authorization, error) {
	var a Authorization
	if err := a.parse(header); err != nil {
		return Authorization{}, err // never a partial result
	}
	return a, nil
}

func (a *Authorization) parse(header string) error {
	if len(header) > MaxAuthorizationLen {
		return authErr("header too long")
	}
	if header == "" {
		return authErr("no Authorization header")
	}
	sp := strings.IndexByte(header, ' ')
	if sp < 0 {
		return authErr("missing scheme or parameters")
	}
	switch header[:sp] {
	case SchemeSM2, SchemeHMAC:
		a.Scheme = header[:sp]
	default:
		return authErr("unknown scheme: write LJ1-SM2-SM3 or LJ1-HMAC-SM3 exactly (case-sensitive), then one space")
	}
	s := header[sp+1:]
	seen := 0
	for {
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return authErr("malformed parameter")
		}
		name := s[:eq]
		s = s[eq+1:]
		if len(s) == 0 || s[0] != '"' {
			return authErr("parameter value not quoted")
		}
		end := strings.IndexByte(s[1:], '"')
		if end < 0 {
			return authErr("unterminated quoted value")
		}
		value := s[1 : 1+end]
		s = s[end+2:]

		if strings.ContainsAny(name, " \t") {
			return authErr("whitespace at a parameter name (allowed after a comma only; exactly one space after the scheme)")
		}
		var bit int
		var dst *string
		switch name {
		case "app_id":
			bit, dst = pAppID, &a.AppID
		case "serial":
			bit, dst = pSerial, &a.Serial
		case "timestamp":
			bit, dst = pTimestamp, &a.Timestamp
		case "nonce":
			bit, dst = pNonce, &a.Nonce
		case "signature":
			bit, dst = pSignature, &a.Signature
		default:
			return authErr("unknown parameter")
		}
		if seen&bit != 0 {
			return authErr("duplicate parameter " + name)
		}
		seen |= bit
		if !validValueChars(value) {
			return authErr("invalid character in " + name)
		}
		*dst = value

		if len(s) == 0 {
			break
		}
		if s[0] != ',' {
			return authErr("expected a comma after " + name + " (no whitespace before a comma or at the ends)")
		}
		s = strings.TrimLeft(s[1:], " \t")
	}
	if seen != pAll {
		var missing []string
		for i, name := range []string{"app_id", "serial", "timestamp", "nonce", "signature"} {
			if seen&(1<<i) == 0 {
				missing = append(missing, name)
			}
		}
		return authErr("missing parameter " + strings.Join(missing, ", "))
	}
	return a.validate()
}

// validValueChars reports whether v holds only visible ASCII other than
// '"', ',' and '\'.
func validValueChars(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == ',' || c == '\\' {
			return false
		}
	}
	return true
}

func (a *Authorization) validate() error {
	if len(a.AppID) == 0 || len(a.AppID) > MaxIDLen {
		return authErr("app_id length")
	}
	if len(a.Serial) == 0 || len(a.Serial) > MaxIDLen {
		return authErr("serial length")
	}
	if len(a.Timestamp) == 0 || len(a.Timestamp) > maxTimestampLen {
		return authErr("timestamp length")
	}
	for i := 0; i < len(a.Timestamp); i++ {
		if a.Timestamp[i] < '0' || a.Timestamp[i] > '9' {
			return authErr("timestamp not decimal")
		}
	}
	ts, err := strconv.ParseInt(a.Timestamp, 10, 64)
	if err != nil {
		return authErr("timestamp out of range")
	}
	a.Unix = ts
	if !ValidNonce(a.Nonce) {
		return authErr("nonce must be 16-64 characters of [A-Za-z0-9_-] (it has " + strconv.Itoa(len(a.Nonce)) + ")")
	}
	if len(a.Signature) == 0 || len(a.Signature) > MaxSignatureLen {
		return authErr("signature length")
	}
	if _, err := decodeBase64(a.Signature); err != nil {
		return authErr("signature not base64")
	}
	return nil
}

// ValidNonce reports whether n is a valid LJ1 nonce: 16–64 characters of
// [A-Za-z0-9_-].
func ValidNonce(n string) bool {
	if len(n) < MinNonceLen || len(n) > MaxNonceLen {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// BodyDigest returns the LJ1 body digest: lower-case hex SM3 of the body
// bytes as sent (an empty body digests the empty string).
func BodyDigest(body []byte) string {
	if len(body) == 0 {
		return emptyBodyDigest
	}
	return smcrypto.SM3Hex(body)
}

// emptyBodyDigest is the digest of every GET: SM3 of the empty string.
var emptyBodyDigest = smcrypto.SM3Hex(nil)

// RequestStringToSign returns the seven-line request string to sign of
// PROTOCOL.md, each line ended by "\n": scheme, METHOD (upper-cased here),
// request target exactly as sent, app_id, timestamp as sent, nonce, body
// digest. Signers format the timestamp with strconv.FormatInt; verifiers pass
// Authorization.Timestamp. The inputs must not contain "\n" (a parsed
// Authorization and an HTTP request line cannot).
func RequestStringToSign(scheme, method, target, appID, timestamp, nonce, bodyDigestHex string) string {
	return join7(scheme, strings.ToUpper(method), target, appID, timestamp, nonce, bodyDigestHex)
}

// ResponseStringToSign returns the seven-line response string to sign:
// "LJ1-RESPONSE", the three-digit status, request id, the request's nonce
// (empty if it had none), timestamp, response nonce and body digest, each
// line ended by "\n".
func ResponseStringToSign(status int, requestID, requestNonce, timestamp, nonce, bodyDigestHex string) string {
	st := strconv.Itoa(status)
	for len(st) < 3 {
		st = "0" + st
	}
	return join7(ResponseScheme, st, requestID, requestNonce, timestamp, nonce, bodyDigestHex)
}

func join7(l1, l2, l3, l4, l5, l6, l7 string) string {
	var b strings.Builder
	b.Grow(len(l1) + len(l2) + len(l3) + len(l4) + len(l5) + len(l6) + len(l7) + 7)
	for _, l := range [...]string{l1, l2, l3, l4, l5, l6, l7} {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}

// SignSM2 signs a string to sign with an SM2 key and returns the base64 DER
// signature for the Authorization header or LJ-Signature.
func SignSM2(priv *sm2.PrivateKey, stringToSign string) (string, error) {
	sig, err := smcrypto.SignBase64(priv, []byte(stringToSign))
	if err != nil {
		return "", fmt.Errorf("signing: %w", err)
	}
	return sig, nil
}

// VerifySM2 reports whether sigB64 is a valid SM2 signature of stringToSign by pub.
func VerifySM2(pub *ecdsa.PublicKey, stringToSign, sigB64 string) bool {
	return smcrypto.VerifyBase64(pub, []byte(stringToSign), sigB64)
}

// SignHMAC returns base64(HMAC-SM3(secret, stringToSign)), the LJ1-HMAC-SM3
// signature; the key is the App_Secret's UTF-8 bytes.
func SignHMAC(secret, stringToSign string) string {
	return base64.StdEncoding.EncodeToString(smcrypto.HMACSM3([]byte(secret), []byte(stringToSign)))
}

// VerifyHMAC reports, in constant time over the MAC, whether sigB64 is the
// LJ1-HMAC-SM3 signature of stringToSign under secret.
func VerifyHMAC(secret, stringToSign, sigB64 string) bool {
	got, err := decodeBase64(sigB64)
	if err != nil {
		return false
	}
	want := smcrypto.HMACSM3([]byte(secret), []byte(stringToSign))
	return hmac.Equal(got, want)
}

// VerifyHMACKey is VerifyHMAC with the App_Secret's HMAC key states computed
// once (smcrypto.NewHMACKey([]byte(secret))).
func VerifyHMACKey(key *smcrypto.HMACKey, stringToSign, sigB64 string) bool {
	got, err := decodeBase64(sigB64)
	if err != nil {
		return false
	}
	return key.Equal([]byte(stringToSign), got)
}

// decodeBase64 decodes canonical standard padded base64 only: the encoding
// package skips '\r' and '\n' even in strict mode, so the result is also
// re-encoded and compared.
func decodeBase64(s string) ([]byte, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, err
	}
	if base64.StdEncoding.EncodedLen(len(b)) != len(s) {
		return nil, errNotCanonicalBase64
	}
	return b, nil
}
