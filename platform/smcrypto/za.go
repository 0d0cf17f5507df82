package smcrypto

import (
	"crypto/ecdsa"
	"sync"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
)

// maxZA bounds the Z_A cache: the platform's own keys and the applicants'
// keys in use. A full cache is emptied and fills again.
const maxZA = 8192

// zaEntry is a key's Z_A (GB/T 32918.2 §5.5, DefaultUID) with the point it
// was computed for, so a key whose coordinates were changed is not served a
// stale value.
type zaEntry struct {
	x, y [32]byte
	za   [32]byte
}

var (
	zaMu    sync.RWMutex
	zaCache = map[*ecdsa.PublicKey]*zaEntry{}
)

// za returns pub's Z_A for DefaultUID, computed once per key. The key is
// the pointer a caller keeps (the platform's signing key, a credential's
// parsed key); the coordinates are compared on every look-up. gmsm computes
// Z_A (four SM3 blocks) for every signature and verification it hashes.
func za(pub *ecdsa.PublicKey) ([32]byte, error) {
	var x, y [32]byte
	if pub == nil || pub.X == nil || pub.Y == nil || pub.X.BitLen() > 256 || pub.Y.BitLen() > 256 || pub.X.Sign() < 0 || pub.Y.Sign() < 0 {
		return [32]byte{}, ErrInvalidKey
	}
	pub.X.FillBytes(x[:])
	pub.Y.FillBytes(y[:])
	zaMu.RLock()
	e := zaCache[pub]
	zaMu.RUnlock()
	if e != nil && e.x == x && e.y == y {
		return e.za, nil
	}
	z, err := sm2.CalculateZA(pub, []byte(DefaultUID))
	if err != nil || len(z) != 32 {
		return [32]byte{}, ErrInvalidKey
	}
	e = &zaEntry{x: x, y: y}
	copy(e.za[:], z)
	zaMu.Lock()
	if len(zaCache) >= maxZA {
		clear(zaCache)
	}
	zaCache[pub] = e
	zaMu.Unlock()
	return e.za, nil
}

// digest returns e = SM3(Z_A || msg), what an SM2 signature with SM3 and
// DefaultUID signs (GB/T 32918.2 §6.1 A1–A2).
func digest(pub *ecdsa.PublicKey, msg []byte) ([]byte, error) {
	z, err := za(pub)
	if err != nil {
		return nil, err
	}
	h := sm3.New()
	h.Write(z[:])
	h.Write(msg)
	return h.Sum(make([]byte, 0, 32)), nil
}
