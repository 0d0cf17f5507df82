package client_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"lijiang/gateway/client"
	"lijiang/platform/smcrypto"
)

// writeKey writes a fresh SM2 private key (PEM) under dir.
func writeKey(t *testing.T, dir, name string) string {
	t.Helper()
	k, err := smcrypto.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := smcrypto.MarshalPrivateKeyPEM(k)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A profile's enc_serial reaches Config.EncSerial (sent as LJ-Encrypt-Serial),
// a flag's value replaces the file's, and an enc_serial without the key it
// names is refused.
func TestProfileConfigEncSerial(t *testing.T) {
	dir := t.TempDir()
	sign, enc := writeKey(t, dir, "sign.pem"), writeKey(t, dir, "enc.pem")
	base := client.Profile{BaseURL: "https://127.0.0.1:8443", AppID: "app-1", SignSerial: "s-1", SignKeyFile: sign}

	withEnc := base
	withEnc.EncKeyFile, withEnc.EncSerial = enc, "enc-1"
	b, _ := json.Marshal(withEnc)
	path := filepath.Join(dir, "app.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	raw := map[string]any{}
	_ = json.Unmarshal(b, &raw)
	if raw["enc_serial"] != "enc-1" {
		t.Fatalf("profile JSON %s lacks enc_serial", b)
	}

	for _, tc := range []struct {
		name string
		over client.Profile
		want string
	}{
		{"from the file", client.Profile{}, "enc-1"},
		{"--enc-serial over the file", client.Profile{EncSerial: "enc-2"}, "enc-2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := client.LoadProfile(path, tc.over)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := client.ProfileConfig(p, false)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.EncSerial != tc.want || cfg.EncKey == nil {
				t.Fatalf("EncSerial %q (key %v), want %q", cfg.EncSerial, cfg.EncKey != nil, tc.want)
			}
			if _, err := client.New(cfg); err != nil {
				t.Fatalf("New: %v", err)
			}
		})
	}
	t.Run("no enc_serial", func(t *testing.T) {
		p := base
		p.EncKeyFile = enc
		cfg, err := client.ProfileConfig(p, false)
		if err != nil || cfg.EncSerial != "" || cfg.EncKey == nil {
			t.Fatalf("EncSerial %q, err %v", cfg.EncSerial, err)
		}
	})
	t.Run("enc_serial without enc_key_file", func(t *testing.T) {
		p := base
		p.EncSerial = "enc-1"
		if _, err := client.ProfileConfig(p, false); !errors.Is(err, client.ErrProfile) {
			t.Fatalf("err %v, want ErrProfile", err)
		}
	})
}
