package platform

import (
	"crypto/rand"
	"math/big"
	"strings"
)

// Sealer seals and opens secrets at rest with the key-encryption key; aad
// binds a sealed value to the record it belongs to (see the *AAD functions).
type Sealer interface {
	Opener
	Seal(aad string, plaintext []byte) ([]byte, error)
}

// NewAdminUser prepares the payload of a new admin user with a generated
// password and TOTP seed (sealed under AdminUserAAD); it returns both in
// clear for showing once. The admin API, `lijiang admin create` and the demo
// use it.
func NewAdminUser(sealer Sealer, username, displayName, role string) (p AdminUserCreate, password, totpSecret string, err error) {
	if password, err = GeneratePassword(); err != nil {
		return AdminUserCreate{}, "", "", err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return AdminUserCreate{}, "", "", err
	}
	if totpSecret, err = NewTOTPSecret(); err != nil {
		return AdminUserCreate{}, "", "", err
	}
	id := NewID("adm")
	sealed, err := sealer.Seal(AdminUserAAD(id), []byte(totpSecret))
	if err != nil {
		return AdminUserCreate{}, "", "", err
	}
	return AdminUserCreate{ID: id, Username: username, DisplayName: displayName, Role: role, PasswordHash: hash, TOTPSealed: sealed}, password, totpSecret, nil
}

// GeneratePassword returns a random 20-character password of letters and
// digits (with at least one of each), without the look-alikes l, I, O, 0, 1.
func GeneratePassword() (string, error) {
	const letters = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
	const digits = "23456789"
	const all = letters + digits
	for {
		b := make([]byte, 20)
		for i := range b {
			n, err := rand.Int(rand.Reader, big.NewInt(int64(len(all))))
			if err != nil {
				return "", err
			}
			b[i] = all[n.Int64()]
		}
		pw := string(b)
		if strings.ContainsAny(pw, digits) && strings.ContainsAny(pw, letters) {
			return pw, nil
		}
	}
}
