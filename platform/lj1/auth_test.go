package lj1_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"lijiang/platform/lj1"
	"lijiang/platform/smcrypto"
)

const (
	goodSig  = "MEUCIQCPXSwwOycHYYO7pWHzxxwv9+i8JtxdjtEEf3gbJwiAmwIgYQ/Z25IqpAEFKMuLDuFckQCpGhYZkbuKwCVoKlMJ5sI="
	goodAuth = `LJ1-SM2-SM3 app_id="LJ2026TESTAPP001",serial="app-sig-1",timestamp="1764210000",nonce="n0nce-Abc_1234567",signature="` + goodSig + `"`
)

func TestParseAuthorizationAccepts(t *testing.T) {
	want := lj1.Authorization{Scheme: lj1.SchemeSM2, AppID: "LJ2026TESTAPP001", Serial: "app-sig-1",
		Timestamp: "1764210000", Unix: 1764210000, Nonce: "n0nce-Abc_1234567", Signature: goodSig}
	tests := []struct {
		name, in string
		edit     func(*lj1.Authorization)
	}{
		{"canonical", goodAuth, nil},
		{"other order", `LJ1-SM2-SM3 signature="` + goodSig + `",nonce="n0nce-Abc_1234567",timestamp="1764210000",serial="app-sig-1",app_id="LJ2026TESTAPP001"`, nil},
		{"space after commas", strings.ReplaceAll(goodAuth, `",`, `", `), nil},
		{"tabs and spaces after commas", strings.ReplaceAll(goodAuth, `",`, "\",\t  "), nil},
		{"hmac scheme", strings.Replace(goodAuth, lj1.SchemeSM2, lj1.SchemeHMAC, 1), func(a *lj1.Authorization) { a.Scheme = lj1.SchemeHMAC }},
		{"nonce 16 chars", strings.Replace(goodAuth, "n0nce-Abc_1234567", strings.Repeat("a", 16), 1), func(a *lj1.Authorization) { a.Nonce = strings.Repeat("a", 16) }},
		{"nonce 64 chars", strings.Replace(goodAuth, "n0nce-Abc_1234567", strings.Repeat("Z", 64), 1), func(a *lj1.Authorization) { a.Nonce = strings.Repeat("Z", 64) }},
		{"timestamp leading zero kept as sent", strings.Replace(goodAuth, `"1764210000"`, `"01764210000"`, 1), func(a *lj1.Authorization) { a.Timestamp = "01764210000" }},
		{"timestamp zero", strings.Replace(goodAuth, `"1764210000"`, `"0"`, 1), func(a *lj1.Authorization) { a.Timestamp, a.Unix = "0", 0 }},
		{"hmac-length signature", strings.Replace(goodAuth, goodSig, "bUj7OE41UMLUqWbKlMolqqcnUi2qcLK3Ft8ObKYSaRc=", 1), func(a *lj1.Authorization) { a.Signature = "bUj7OE41UMLUqWbKlMolqqcnUi2qcLK3Ft8ObKYSaRc=" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := lj1.ParseAuthorization(tc.in)
			if err != nil {
				t.Fatalf("ParseAuthorization: %v", err)
			}
			w := want
			if tc.edit != nil {
				tc.edit(&w)
			}
			if a != w {
				t.Fatalf("got  %+v\nwant %+v", a, w)
			}
			// String() is canonical: it re-parses to the same value.
			b, err := lj1.ParseAuthorization(a.String())
			if err != nil || b != a {
				t.Fatalf("String() does not round-trip: %q, %v", a.String(), err)
			}
		})
	}
}

func TestParseAuthorizationRejects(t *testing.T) {
	rep := func(old, new string) string { return strings.Replace(goodAuth, old, new, 1) }
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"scheme only", lj1.SchemeSM2},
		{"scheme and space", lj1.SchemeSM2 + " "},
		{"unknown scheme", rep("LJ1-SM2-SM3", "LJ1-RSA-SHA256")},
		{"lower-case scheme", rep("LJ1-SM2-SM3", "lj1-sm2-sm3")},
		{"Bearer", "Bearer abc"},
		{"two spaces after scheme", rep("LJ1-SM2-SM3 ", "LJ1-SM2-SM3  ")},
		{"tab after scheme", rep("LJ1-SM2-SM3 ", "LJ1-SM2-SM3\t")},
		{"leading space", " " + goodAuth},
		{"trailing space", goodAuth + " "},
		{"trailing comma", goodAuth + ","},
		{"empty element", rep(`",serial`, `",,serial`)},
		{"space before comma", rep(`",serial`, `" ,serial`)},
		{"space before =", rep(`serial=`, `serial =`)},
		{"space after =", rep(`serial="`, `serial= "`)},
		{"no comma", rep(`",serial`, `" serial`)},
		{"unquoted value", rep(`serial="app-sig-1"`, `serial=app-sig-1`)},
		{"single quotes", rep(`serial="app-sig-1"`, `serial='app-sig-1'`)},
		{"unterminated quote", strings.TrimSuffix(goodAuth, `"`)},
		{"quote inside", rep(`app-sig-1`, `app"sig-1`)},
		{"comma inside", rep(`app-sig-1`, `app,sig-1`)},
		{"backslash inside", rep(`app-sig-1`, `app\sig-1`)},
		{"space inside", rep(`app-sig-1`, `app sig-1`)},
		{"non-ASCII inside", rep(`app-sig-1`, `app-签名-1`)},
		{"control char inside", rep(`app-sig-1`, "app\x00sig-1")},
		{"missing app_id", rep(`app_id="LJ2026TESTAPP001",`, ``)},
		{"missing signature", rep(`,signature="`+goodSig+`"`, ``)},
		{"duplicate serial", rep(`serial="app-sig-1"`, `serial="app-sig-1",serial="app-sig-1"`)},
		{"duplicate with different value", rep(`serial="app-sig-1"`, `serial="app-sig-1",serial="app-sig-2"`)},
		{"unknown parameter", goodAuth + `,extra="x"`},
		{"upper-case name", rep(`app_id=`, `APP_ID=`)},
		{"empty name", rep(`app_id=`, `=`)},
		{"empty app_id", rep(`"LJ2026TESTAPP001"`, `""`)},
		{"empty serial", rep(`"app-sig-1"`, `""`)},
		{"long app_id", rep(`LJ2026TESTAPP001`, strings.Repeat("A", 129))},
		{"nonce 15 chars", rep("n0nce-Abc_1234567", strings.Repeat("a", 15))},
		{"nonce 65 chars", rep("n0nce-Abc_1234567", strings.Repeat("a", 65))},
		{"nonce with dot", rep("n0nce-Abc_1234567", "n0nce.Abc_1234567")},
		{"nonce with plus", rep("n0nce-Abc_1234567", "n0nce+Abc_1234567")},
		{"empty timestamp", rep(`"1764210000"`, `""`)},
		{"negative timestamp", rep(`"1764210000"`, `"-1764210000"`)},
		{"plus timestamp", rep(`"1764210000"`, `"+1764210000"`)},
		{"fractional timestamp", rep(`"1764210000"`, `"1764210000.5"`)},
		{"hex timestamp", rep(`"1764210000"`, `"0x69"`)},
		{"timestamp overflow", rep(`"1764210000"`, `"9223372036854775808"`)},
		{"timestamp 20 digits", rep(`"1764210000"`, `"00000000001764210000"`)},
		{"empty signature", rep(goodSig, "")},
		{"signature not base64", rep(goodSig, "not*base64")},
		{"signature unpadded", rep(goodSig, strings.TrimRight(goodSig, "="))},
		{"signature base64url", rep(goodSig, strings.NewReplacer("+", "-", "/", "_").Replace(goodSig))},
		{"signature non-canonical padding bits", rep(goodSig, "bUj7OE41UMLUqWbKlMolqqcnUi2qcLK3Ft8ObKYSaRd=")},
		{"signature too long", rep(goodSig, strings.Repeat("AAAA", 65))},
		{"header too long", goodAuth + strings.Repeat(" ", lj1.MaxAuthorizationLen)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := lj1.ParseAuthorization(tc.in)
			if err == nil {
				t.Fatalf("accepted %q as %+v", tc.in, a)
			}
			if !errors.Is(err, lj1.ErrAuthRequired) || lj1.As(err).Code != lj1.CodeAuthRequired || lj1.As(err).Status != 401 {
				t.Fatalf("error %v does not map to AUTH_REQUIRED", err)
			}
			if a != (lj1.Authorization{}) {
				t.Fatalf("partial result returned: %+v", a)
			}
		})
	}
}

func TestStringsToSign(t *testing.T) {
	got := lj1.RequestStringToSign(lj1.SchemeHMAC, "get", "/v1/a?b=1", "APP", "17", "nonce", lj1.BodyDigest(nil))
	want := "LJ1-HMAC-SM3\nGET\n/v1/a?b=1\nAPP\n17\nnonce\n1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b\n"
	if got != want {
		t.Fatalf("RequestStringToSign = %q", got)
	}
	tests := []struct {
		status int
		want   string
	}{
		{200, "LJ1-RESPONSE\n200\nID\n\n5\nn\nd\n"},
		{404, "LJ1-RESPONSE\n404\nID\n\n5\nn\nd\n"},
		{99, "LJ1-RESPONSE\n099\nID\n\n5\nn\nd\n"},
	}
	for _, tc := range tests {
		// An empty request nonce leaves an empty line (PROTOCOL.md).
		if got := lj1.ResponseStringToSign(tc.status, "ID", "", "5", "n", "d"); got != tc.want {
			t.Errorf("ResponseStringToSign(%d) = %q, want %q", tc.status, got, tc.want)
		}
	}
}

func TestHMACSignature(t *testing.T) {
	sts := lj1.RequestStringToSign(lj1.SchemeHMAC, "GET", "/", "A", "1", "nonce-nonce-nonce", lj1.BodyDigest(nil))
	sig := lj1.SignHMAC("secret", sts)
	if !lj1.VerifyHMAC("secret", sts, sig) {
		t.Fatal("own HMAC does not verify")
	}
	for _, bad := range []string{"", "x", sig[:len(sig)-2], sig[:8] + "\n" + sig[8:], strings.ToLower(sig)} {
		if lj1.VerifyHMAC("secret", sts, bad) {
			t.Errorf("VerifyHMAC accepted %q", bad)
		}
	}
}

// TestVerifyHMACKey: the precomputed key decides as VerifyHMAC does, from
// many goroutines at once.
func TestVerifyHMACKey(t *testing.T) {
	secret := "s3cr3t-App_Secret-0123456789"
	key := smcrypto.NewHMACKey([]byte(secret))
	done := make(chan bool)
	for g := 0; g < 4; g++ {
		go func() {
			ok := true
			for i := 0; i < 200; i++ {
				sts := lj1.RequestStringToSign(lj1.SchemeHMAC, "GET", "/v1/x?i="+strconv.Itoa(i), "app", "1700000000", "0123456789abcdef", lj1.BodyDigest(nil))
				sig := lj1.SignHMAC(secret, sts)
				bad := lj1.SignHMAC(secret+"x", sts)
				ok = ok && lj1.VerifyHMACKey(key, sts, sig) && lj1.VerifyHMAC(secret, sts, sig) &&
					!lj1.VerifyHMACKey(key, sts, bad) && !lj1.VerifyHMACKey(key, sts, sig+"=") && !lj1.VerifyHMACKey(key, sts+"x", sig)
			}
			done <- ok
		}()
	}
	for g := 0; g < 4; g++ {
		if !<-done {
			t.Fatal("lj1.VerifyHMACKey disagrees with VerifyHMAC")
		}
	}
}
