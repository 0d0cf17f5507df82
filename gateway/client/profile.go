package client

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"lijiang/platform/fsutil"
	"lijiang/platform/lj1"
	"lijiang/platform/smcrypto"
)

// Profile is an app's calling profile (base URL, App_ID, key files): the
// JSON file that `serve --demo` writes per demo app and that
// `lijiang call --app FILE` reads. Its fields are documented on
// lj1.AppProfile.
type Profile = lj1.AppProfile

// ErrProfile: a profile is unreadable or lacks what a call needs.
var ErrProfile = errors.New("app profile")

// LoadProfile reads the profile at path (none when path is empty) and lets
// every non-empty field of over replace its value. Unknown fields in the
// file are refused, so a misspelt key is not silently ignored.
func LoadProfile(path string, over Profile) (Profile, error) {
	var p Profile
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return p, fmt.Errorf("%w %s: %w", ErrProfile, path, errors.Unwrap(err))
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			return p, fmt.Errorf("%w %s: not an app profile: %w", ErrProfile, path, err)
		}
	}
	for _, f := range []struct {
		dst *string
		v   string
	}{
		{&p.BaseURL, over.BaseURL}, {&p.AppID, over.AppID}, {&p.SignSerial, over.SignSerial}, {&p.SignKeyFile, over.SignKeyFile},
		{&p.SecretSerial, over.SecretSerial}, {&p.SecretFile, over.SecretFile}, {&p.EncKeyFile, over.EncKeyFile}, {&p.EncSerial, over.EncSerial},
		{&p.CAFile, over.CAFile}, {&p.RedirectURI, over.RedirectURI},
	} {
		if f.v != "" {
			*f.dst = f.v
		}
	}
	return p, nil
}

// ProfileConfig builds a Config from a profile: it signs with the SM2
// signing key, or with useHMAC the App_Secret (the file's content, surrounding
// white space removed), opens answers with the encryption key when one is
// named (naming it to the gateway by EncSerial when the profile gives
// enc_serial), and trusts CAFile for the gateway's TLS.
func ProfileConfig(p Profile, useHMAC bool) (Config, error) {
	if p.BaseURL == "" || p.AppID == "" {
		return Config{}, fmt.Errorf("%w: no base URL or App_ID", ErrProfile)
	}
	cfg := Config{BaseURL: p.BaseURL, AppID: p.AppID}
	if useHMAC {
		if p.SecretFile == "" || p.SecretSerial == "" {
			return Config{}, fmt.Errorf("%w: HMAC signing needs the App_Secret's file and serial", ErrProfile)
		}
		secret, err := os.ReadFile(p.SecretFile)
		if err != nil {
			return Config{}, fmt.Errorf("App_Secret: %w", err)
		}
		cfg.Serial, cfg.Secret = p.SecretSerial, bytes.TrimSpace(secret)
	} else {
		if p.SignKeyFile == "" || p.SignSerial == "" {
			return Config{}, fmt.Errorf("%w: SM2 signing needs the signing key's file and serial (or sign with the App_Secret)", ErrProfile)
		}
		key, err := ReadPrivateKey(p.SignKeyFile)
		if err != nil {
			return Config{}, err
		}
		cfg.Serial, cfg.SignKey = p.SignSerial, key
	}
	if p.EncKeyFile != "" {
		var err error
		if cfg.EncKey, err = ReadPrivateKey(p.EncKeyFile); err != nil {
			return Config{}, err
		}
		cfg.EncSerial = p.EncSerial
	} else if p.EncSerial != "" {
		return Config{}, fmt.Errorf("%w: enc_serial names an encryption key but no enc_key_file holds it", ErrProfile)
	}
	tlsCfg, err := profileTLS(p)
	if err != nil {
		return Config{}, err
	}
	cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg, ForceAttemptHTTP2: true}}
	return cfg, nil
}

// profileTLS trusts the profile's CA file, else the system's roots.
func profileTLS(p Profile) (*tls.Config, error) {
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if p.CAFile == "" {
		return tlsCfg, nil
	}
	pemBytes, err := os.ReadFile(p.CAFile)
	if err != nil {
		return nil, fmt.Errorf("CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, fmt.Errorf("CA file %s holds no certificate", p.CAFile)
	}
	tlsCfg.RootCAs = pool
	return tlsCfg, nil
}

// ReadPrivateKey reads an SM2 private key (PKCS#8 or SEC 1 PEM) from a file;
// the file's bytes are wiped once parsed.
func ReadPrivateKey(path string) (*sm2.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	defer smcrypto.Wipe(b)
	k, err := smcrypto.ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return k, nil
}

// TokenCache remembers customers' user tokens in a file (mode 0600), so
// that repeated calls of a test or demo do not ask for consent each time. A
// user token is a credential: use a cache only for test and demo customers.
// The zero value (no Path) remembers nothing.
type TokenCache struct{ Path string }

// TokenCachePath is the cache `lijiang call` keeps beside a profile:
// PROFILE without .json, plus .tokens.json.
func TokenCachePath(profilePath string) string {
	return strings.TrimSuffix(profilePath, ".json") + ".tokens.json"
}

type cachedToken struct {
	Token   string    `json:"user_token"`
	Expires time.Time `json:"expires"`
}

func (tc TokenCache) load() map[string]cachedToken {
	m := map[string]cachedToken{}
	if tc.Path == "" {
		return m
	}
	if b, err := os.ReadFile(tc.Path); err == nil {
		_ = json.Unmarshal(b, &m)
	}
	return m
}

// Get returns customer's remembered token if it is valid for more than a
// minute, else "".
func (tc TokenCache) Get(customer string) string {
	if t, ok := tc.load()[customer]; ok && time.Until(t.Expires) > time.Minute {
		return t.Token
	}
	return ""
}

// Put remembers customer's token until it expires.
func (tc TokenCache) Put(customer string, t *UserToken) error {
	if tc.Path == "" {
		return nil
	}
	m := tc.load()
	m[customer] = cachedToken{Token: t.UserToken, Expires: time.Now().Add(time.Duration(t.ExpiresIn) * time.Second)}
	b, _ := json.MarshalIndent(m, "", "  ")
	return fsutil.WriteFileAtomic(tc.Path, b, 0o600)
}
