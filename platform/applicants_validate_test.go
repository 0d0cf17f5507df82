package platform

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"lijiang/platform/smcrypto"
)

// aplMakeUSCC completes 16 characters (authority, category, division code,
// organisation code body) into a valid USCC (CompleteUSCC).
func aplMakeUSCC(t testing.TB, first16 string) string {
	t.Helper()
	s, err := CompleteUSCC(first16)
	if err != nil {
		t.Fatalf("completing %q: %v", first16, err)
	}
	return s
}

func TestParseUSCC(t *testing.T) {
	generated := aplMakeUSCC(t, "9131011512345678")
	tests := []struct {
		name, in, want, errPart string
	}{
		// Published codes of well-known companies: both check characters hold.
		{"Huawei", "914403001922038216", "914403001922038216", ""},
		{"Alibaba (China)", "91330100716105852F", "91330100716105852F", ""},
		{"Tencent (Shenzhen)", "91440300708461136T", "91440300708461136T", ""},
		{"Xiaomi", "91110108551385082Q", "91110108551385082Q", ""},
		{"generated", generated, generated, ""},
		{"lower case and spaces normalized", " 91330100716105852f ", "91330100716105852F", ""},
		{"wrong check character", "914403001922038217", "", "wrong check character"},
		{"wrong organisation code check", "914403001922038226", "", "organisation code"},
		{"17 characters", "91440300192203821", "", "18 characters"},
		{"19 characters", "9144030019220382166", "", "18 characters"},
		{"letter I not in alphabet", "9144030019220382I6", "", "not allowed"},
		{"letter O not in alphabet", "O14403001922038216", "", "not allowed"},
		{"letter S not in alphabet", "914403001922038S16", "", "not allowed"},
		{"division code not digits", "9144A3001922038216", "", "administrative division"},
		{"empty", "", "", "18 characters"},
		{"non-ASCII", "９１４４０３００１９２２０３８２１６", "", "18 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseUSCC(tt.in)
			if tt.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errPart) {
					t.Fatalf("ParseUSCC(%q) = %q, %v; want error containing %q", tt.in, got, err, tt.errPart)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseUSCC(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestUSCCWeightsArePowersOfThree(t *testing.T) {
	p := 1
	for i, w := range aplUSCCWeights {
		if w != p {
			t.Fatalf("weight %d = %d, want 3^%d mod 31 = %d", i+1, w, i, p)
		}
		p = p * 3 % 31
	}
}

func TestOrgCodeCheckChar(t *testing.T) {
	for body, want := range map[string]byte{
		"19220382": '1', // Huawei
		"71610585": '2', // Alibaba (China)
		"70846113": '6', // Tencent
		"55138508": '2', // Xiaomi
	} {
		if got := aplOrgCodeCheckChar(body); got != want {
			t.Errorf("check of %s = %c, want %c", body, got, want)
		}
	}
	// Every check value maps onto the alphabet, 'X' for 10 and '0' for 11.
	seen := map[byte]bool{}
	for i := 0; i < 20000 && len(seen) < 11; i++ {
		seen[aplOrgCodeCheckChar(fmt.Sprintf("%08d", i))] = true
	}
	if len(seen) != 11 || !seen['X'] || !seen['0'] {
		t.Fatalf("check characters seen: %v", seen)
	}
}

func TestParseChinaMobile(t *testing.T) {
	for in, want := range map[string]string{
		"13800138000":     "13800138000",
		"+8613800138000":  "13800138000",
		"+86 13800138000": "13800138000",
		"+86-19912345678": "19912345678",
		"8615912345678":   "15912345678",
		" 18612345678 ":   "18612345678",
	} {
		if got, err := ParseChinaMobile(in); err != nil || got != want {
			t.Errorf("ParseChinaMobile(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "12800138000", "1380013800", "138001380001", "+1 4155550100", "010-12345678", "1380013800a", "+8612800138000"} {
		if got, err := ParseChinaMobile(in); err == nil {
			t.Errorf("ParseChinaMobile(%q) = %q, want an error", in, got)
		}
	}
}

func TestParseContactEmail(t *testing.T) {
	for _, in := range []string{"dev@example.com", "a.b+c@sub.example.cn"} {
		if got, err := ParseContactEmail(in); err != nil || got != in {
			t.Errorf("ParseContactEmail(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "dev", "Dev <dev@example.com>", "dev@localhost", "dev@[127.0.0.1]", strings.Repeat("a", 250) + "@x.cn", "a@b@c.cn"} {
		if _, err := ParseContactEmail(in); err == nil {
			t.Errorf("ParseContactEmail(%q): want an error", in)
		}
	}
}

func TestParseHTTPSURL(t *testing.T) {
	good := []string{
		"https://app.example.com/cb",
		"https://app.example.com:8443/cb?x=1",
		"https://[2001:db8::1]/cb",
		"https://203.0.113.5/cb",
		"https://例子.测试/cb", // rejected below: not LDH
	}
	for _, s := range good[:4] {
		if _, err := ParseHTTPSURL(s); err != nil {
			t.Errorf("ParseHTTPSURL(%q): %v", s, err)
		}
	}
	bad := map[string]string{
		"http":            "http://app.example.com/cb",
		"upper scheme":    "HTTPS://app.example.com/cb",
		"userinfo":        "https://user:pw@app.example.com/cb",
		"user only":       "https://user@app.example.com/cb",
		"fragment":        "https://app.example.com/cb#frag",
		"empty frag":      "https://app.example.com/cb#",
		"no host":         "https:///cb",
		"opaque":          "https:app.example.com",
		"space":           "https://app.example.com/c b",
		"newline":         "https://app.example.com/cb\n",
		"backslash":       "https://app.example.com\\@evil.com/",
		"bad port":        "https://app.example.com:99999/cb",
		"empty port":      "https://app.example.com:/cb",
		"port 0":          "https://app.example.com:0/cb",
		"zone":            "https://[fe80::1%25eth0]/cb",
		"bad host":        "https://app_example.com/cb",
		"non-LDH IDN":     good[4],
		"empty":           "",
		"too long":        "https://a.cn/" + strings.Repeat("a", MaxURLLen),
		"javascript":      "javascript:alert(1)",
		"relative":        "/cb",
		"scheme-relative": "//app.example.com/cb",
	}
	for name, s := range bad {
		if _, err := ParseHTTPSURL(s); err == nil {
			t.Errorf("%s: ParseHTTPSURL(%q) accepted", name, s)
		}
	}
}

func TestParseCallbackURL(t *testing.T) {
	if _, err := ParseCallbackURL("https://hooks.example.com/lijiang"); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"https://localhost/cb", "https://a.localhost/cb", "https://127.0.0.1/cb", "https://10.1.2.3/cb",
		"https://192.168.1.1/cb", "https://169.254.169.254/latest", "https://[::1]/cb", "https://[fd00::1]/cb",
		"https://[::ffff:10.0.0.1]/cb", "https://0.0.0.0/cb", "http://hooks.example.com/cb",
	} {
		if _, err := ParseCallbackURL(s); err == nil {
			t.Errorf("ParseCallbackURL(%q) accepted", s)
		}
	}
}

// TestLoopbackCallbackURL: a demo node's portal (LoopbackCallback) also
// takes http(s) URLs of loopback addresses, and nothing else more; without
// it they are refused.
func TestLoopbackCallbackURL(t *testing.T) {
	tests := []struct {
		url  string
		demo bool // accepted with LoopbackCallback
	}{
		{"http://127.0.0.1:40973/notices", true},
		{"https://127.0.0.1:8444/notices", true},
		{"http://[::1]:9000/", true},
		{"http://localhost:9000/n", true},
		{"http://10.1.2.3/n", false},
		{"http://hooks.example.com/n", false},
		{"http://user:pw@127.0.0.1/n", false},
		{"http://127.0.0.1/n#frag", false},
		{"ftp://127.0.0.1/n", false},
		{"http://169.254.169.254/latest", false},
		{"https://hooks.example.com/n", true}, // as always
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			for _, demo := range []bool{false, true} {
				u := tt.url
				p := ApplicantUpdate{ApplicantID: "apl_abcdefghijklmnopqrst", ExpectedVersion: 1,
					ApplicantChanges: ApplicantChanges{CallbackURL: &u}, LoopbackCallback: demo}
				err := p.Validate()
				want := tt.demo && (demo || strings.HasPrefix(tt.url, "https://hooks"))
				if (err == nil) != want {
					t.Errorf("LoopbackCallback %v: err %v, want accepted %v", demo, err, want)
				}
			}
		})
	}
}

func TestParseRedirectURIs(t *testing.T) {
	got, err := ParseRedirectURIs([]string{"https://a.example.com/cb", "https://a.example.com/cb/"})
	if err != nil || len(got) != 2 {
		t.Fatalf("got %v, %v", got, err)
	}
	var eleven []string
	for i := range 11 {
		eleven = append(eleven, "https://a.example.com/cb"+string(rune('a'+i)))
	}
	for name, in := range map[string][]string{
		"duplicate": {"https://a.example.com/cb", "https://a.example.com/cb"},
		"too many":  eleven,
		"http":      {"http://a.example.com/cb"},
		"fragment":  {"https://a.example.com/cb#x"},
	} {
		if _, err := ParseRedirectURIs(in); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestParseCIDRList(t *testing.T) {
	got, err := ParseCIDRList([]string{"203.0.113.7/24", "2001:db8::1/32", "198.51.100.9", "::ffff:192.0.2.1/120", "203.0.113.0/24", " 2001:db8::5 "})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"192.0.2.0/24", "198.51.100.9/32", "203.0.113.0/24", "2001:db8::/32", "2001:db8::5/128"}
	if g := PrefixStrings(got); strings.Join(g, ",") != strings.Join(want, ",") {
		t.Fatalf("got %v, want %v", g, want)
	}
	if got, err := ParseCIDRList(nil); err != nil || len(got) != 0 {
		t.Fatalf("empty list: %v, %v", got, err)
	}
	var many []string
	for i := range 101 {
		many = append(many, netip.AddrFrom4([4]byte{10, 0, byte(i), 0}).String()+"/24")
	}
	for name, in := range map[string][]string{
		"too many":        many,
		"bad prefix":      {"10.0.0.0/33"},
		"garbage":         {"not-an-ip"},
		"zone":            {"fe80::1%eth0"},
		"zone in prefix":  {"fe80::1%eth0/64"},
		"empty entry":     {""},
		"short 4in6":      {"::ffff:0:0/95"},
		"hostname":        {"example.com"},
		"leading zero v4": {"010.0.0.1/8"},
	} {
		if _, err := ParseCIDRList(in); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestAppEntryAllowsAddr(t *testing.T) {
	ps, _ := ParseCIDRList([]string{"203.0.113.0/24", "2001:db8::/32"})
	e := &AppEntry{rules: &aplRules{ipAllow: ps}}
	for addr, want := range map[string]bool{
		"203.0.113.9": true, "203.0.114.1": false, "2001:db8::7": true, "2001:db9::1": false,
		"::ffff:203.0.113.9": true, "fe80::1%eth0": false,
	} {
		if got := e.AllowsAddr(netip.MustParseAddr(addr)); got != want {
			t.Errorf("AllowsAddr(%s) = %v", addr, got)
		}
	}
	if !(&AppEntry{}).AllowsAddr(netip.MustParseAddr("192.0.2.1")) {
		t.Error("an empty allow-list must allow any address")
	}
}

func aplSM2Key(t testing.TB) (*sm2.PrivateKey, string, string) {
	t.Helper()
	k, err := smcrypto.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := smcrypto.MarshalPublicKeyPEM(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	h, err := smcrypto.PublicKeyHex(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return k, string(p), h
}

func TestParseAppPublicKey(t *testing.T) {
	k, pemText, hexText := aplSM2Key(t)
	for name, in := range map[string]string{"pem": pemText, "hex": hexText, "upper hex": strings.ToUpper(hexText), "spaces": "\n" + pemText + "\n"} {
		pub, norm, err := ParseAppPublicKey(in)
		if err != nil || !smcrypto.PublicKeysEqual(pub, &k.PublicKey) || norm != pemText {
			t.Errorf("%s: %v (normalized %q)", name, err, norm)
		}
	}
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&p256.PublicKey)
	notOnCurve := "04" + strings.Repeat("11", 64)
	for name, in := range map[string]string{
		"P-256 key":      string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
		"not on curve":   notOnCurve,
		"compressed":     "02" + hexText[2:66],
		"empty":          "",
		"private key":    "-----BEGIN " + "PRIVATE KEY-----\nAAAA\n-----END " + "PRIVATE KEY-----\n",
		"too long":       strings.Repeat("a", MaxPublicKeyLen+1),
		"two pem blocks": pemText + pemText,
	} {
		if _, _, err := ParseAppPublicKey(in); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// aplCert makes a self-signed certificate with key (an SM2, ECDSA, RSA or
// Ed25519 private key) valid from nb to na.
func aplCert(t testing.TB, key any, nb, na time.Time) string {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "client.example.com", Organization: []string{"示例科技有限公司"}},
		NotBefore:    nb, NotAfter: na,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	var der []byte
	var err error
	switch k := key.(type) {
	case *sm2.PrivateKey:
		st := &smx509.Certificate{SerialNumber: tmpl.SerialNumber, Subject: tmpl.Subject, NotBefore: nb, NotAfter: na,
			KeyUsage: smx509.KeyUsageDigitalSignature, ExtKeyUsage: []smx509.ExtKeyUsage{smx509.ExtKeyUsageClientAuth}}
		der, err = smx509.CreateCertificate(rand.Reader, st, st, &k.PublicKey, k)
	case *ecdsa.PrivateKey:
		der, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	case *rsa.PrivateKey:
		der, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	case ed25519.PrivateKey:
		der, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	}
	if err != nil {
		t.Fatalf("creating certificate: %v", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func TestParseClientCertificate(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	sm2Key, _, _ := aplSM2Key(t)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	smallRSA, _ := rsa.GenerateKey(rand.Reader, 1024)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	for name, tt := range map[string]struct {
		key any
		alg string
	}{"SM2": {sm2Key, "SM2"}, "ECDSA P-384": {ecKey, "ECDSA"}, "RSA 2048": {rsaKey, "RSA"}} {
		t.Run(name, func(t *testing.T) {
			p := aplCert(t, tt.key, now, now.Add(90*24*time.Hour))
			c, err := ParseClientCertificate(p)
			if err != nil {
				t.Fatal(err)
			}
			block, _ := pem.Decode([]byte(p))
			sum := sha256.Sum256(block.Bytes)
			if c.Algorithm != tt.alg || c.SHA256 != hex.EncodeToString(sum[:]) || c.SM3 != smcrypto.SM3Hex(block.Bytes) ||
				!c.NotAfter.Equal(now.Add(90*24*time.Hour)) || !strings.Contains(c.Subject, "client.example.com") || c.PEM != p {
				t.Fatalf("parsed %+v", c)
			}
		})
	}
	good := aplCert(t, ecKey, now, now.Add(time.Hour))
	for name, in := range map[string]string{
		"RSA 1024":     aplCert(t, smallRSA, now, now.Add(time.Hour)),
		"Ed25519":      aplCert(t, edKey, now, now.Add(time.Hour)),
		"chain":        good + good,
		"not pem":      "hello",
		"wrong type":   strings.ReplaceAll(good, "CERTIFICATE", "PUBLIC KEY"),
		"garbage der":  string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("garbage")})),
		"too long":     good + strings.Repeat(" ", MaxCertificateLen),
		"with headers": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Headers: map[string]string{"a": "b"}, Bytes: []byte{1}})),
	} {
		if _, err := ParseClientCertificate(in); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestNewAppIDAndSecret(t *testing.T) {
	now := time.Date(2025, 11, 27, 0, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	for range 1000 {
		id := NewAppID(now)
		if !ValidAppID(id) || !strings.HasPrefix(id, "LJ2025") || len(id) != 22 || seen[id] {
			t.Fatalf("NewAppID = %q", id)
		}
		seen[id] = true
	}
	for _, bad := range []string{"", "LJ2025", "LJ2025K3F9Q2M7ZX4D1BWT8I", "lj2025K3F9Q2M7ZX4D1BWT8C", "LJ2025K3F9Q2M7ZX4D1BWT8CX"} {
		if ValidAppID(bad) {
			t.Errorf("ValidAppID(%q)", bad)
		}
	}
	s := NewAppSecret()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 32 || len(s) != 43 || s == NewAppSecret() {
		t.Fatalf("NewAppSecret = %q (%v)", s, err)
	}
}

// ---- fuzz targets: every parser of outside input ----

func FuzzParseUSCC(f *testing.F) {
	for _, s := range []string{"914403001922038216", "91330100716105852F", "", "9144030019220382I6", "91330100716105852f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseUSCC(s)
		if err != nil {
			return
		}
		if len(got) != 18 || aplUSCCCheckChar(got[:17]) != got[17] || aplOrgCodeCheckChar(got[8:16]) != got[16] {
			t.Fatalf("accepted %q as %q", s, got)
		}
		if again, err := ParseUSCC(got); err != nil || again != got {
			t.Fatalf("not idempotent: %q → %q, %v", got, again, err)
		}
	})
}

func FuzzParseCIDRList(f *testing.F) {
	f.Add("203.0.113.0/24,2001:db8::/32")
	f.Add("::ffff:1.2.3.4/120,10.0.0.1")
	f.Add("fe80::1%eth0/64")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseCIDRList(strings.Split(s, ","))
		if err != nil {
			return
		}
		// Normalized output parses back to itself.
		again, err := ParseCIDRList(PrefixStrings(got))
		if err != nil || strings.Join(PrefixStrings(again), ",") != strings.Join(PrefixStrings(got), ",") {
			t.Fatalf("not stable: %v → %v, %v", got, again, err)
		}
		for _, p := range got {
			if p != p.Masked() || p.Addr().Zone() != "" || p.Addr().Is4In6() {
				t.Fatalf("not normalized: %v", p)
			}
		}
	})
}

func FuzzParseHTTPSURL(f *testing.F) {
	for _, s := range []string{"https://a.example.com/cb?x=1", "https://u@h/", "https://[::1]:8443/", "https://10.0.0.1/", "https://h:/#"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseHTTPSURL(s)
		if err == nil && (u.Scheme != "https" || u.User != nil || u.Fragment != "" || u.Host == "" || strings.ContainsAny(s, "# \t\r\n")) {
			t.Fatalf("accepted %q", s)
		}
		if _, err := ParseCallbackURL(s); err == nil && u == nil {
			t.Fatalf("callback accepted what ParseHTTPSURL refused: %q", s)
		}
		_, _ = ParseRedirectURIs([]string{s})
	})
}

func FuzzParseAppPublicKey(f *testing.F) {
	_, pemText, hexText := aplSM2Key(f)
	f.Add(pemText)
	f.Add(hexText)
	f.Add("04" + strings.Repeat("00", 64))
	f.Fuzz(func(t *testing.T, s string) {
		pub, norm, err := ParseAppPublicKey(s)
		if err != nil {
			return
		}
		again, norm2, err := ParseAppPublicKey(norm)
		if err != nil || norm2 != norm || !smcrypto.PublicKeysEqual(pub, again) {
			t.Fatalf("normalized key does not round-trip: %v", err)
		}
	})
}

func FuzzParseClientCertificate(f *testing.F) {
	now := time.Now()
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sm2Key, _, _ := aplSM2Key(f)
	f.Add(aplCert(f, ecKey, now, now.Add(time.Hour)))
	f.Add(aplCert(f, sm2Key, now, now.Add(time.Hour)))
	f.Add("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseClientCertificate(s)
		if err != nil {
			return
		}
		if len(c.SHA256) != 64 || len(c.SM3) != 64 || !c.NotAfter.After(c.NotBefore) {
			t.Fatalf("accepted with bad fields: %+v", c)
		}
	})
}
