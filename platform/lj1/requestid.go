package lj1

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"lijiang/platform/smcrypto"
)

// Request ids (LJ-Request-Id, the transaction serial number) are 128-bit
// values written as 26 characters of Crockford base32 (alphabet
// 0123456789ABCDEFGHJKMNPQRSTVWXYZ, upper case), most significant bits
// first, like a ULID:
//
//	bits 127..80  48-bit Unix time in milliseconds
//	bits  79..64  16-bit node number (NodeNumber of the node id)
//	bits  63..0   64 bits: random for the first id of a millisecond, then
//	              incremented by one for each further id in that millisecond
//
// The time comes first, so ids sort by time as strings and as bytes. The
// node bits keep nodes apart; uniqueness does not rest on them alone (two
// nodes may hash to the same number) but on the 64 random bits as well.
// Within one RequestIDGenerator ids are strictly increasing, even when the
// clock steps back.
const RequestIDLen = 26

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// maxMillis is the largest timestamp a request id can hold (year 10889).
const maxMillis = 1<<48 - 1

// errBadRequestID reports a string that is not a request id.
var errBadRequestID = errors.New("malformed request id")

// NodeNumber maps a node id (any stable string naming a cluster node) to the
// 16 node bits of its request ids: the first two bytes of
// SM3("lijiang-node" || nodeID).
func NodeNumber(nodeID string) uint16 {
	d := smcrypto.SM3([]byte("lijiang-node" + nodeID))
	return binary.BigEndian.Uint16(d[:2])
}

func encodeRequestID(ms uint64, node uint16, lo uint64) string {
	hi := ms<<16 | uint64(node)
	var out [RequestIDLen]byte
	for i := RequestIDLen - 1; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// ParseRequestID returns the time and node number encoded in a request id.
func ParseRequestID(id string) (time.Time, uint16, error) {
	if len(id) != RequestIDLen {
		return time.Time{}, 0, fmt.Errorf("request id: length: %w", errBadRequestID)
	}
	var hi, lo uint64
	for i := 0; i < len(id); i++ {
		v := crockfordValue(id[i])
		if v < 0 || (i == 0 && v > 7) { // 26*5 = 130 bits: the top two must be 0
			return time.Time{}, 0, fmt.Errorf("request id: character %d: %w", i, errBadRequestID)
		}
		hi = hi<<5 | lo>>59
		lo = lo<<5 | uint64(v)
	}
	return time.UnixMilli(int64(hi >> 16)), uint16(hi), nil
}

func crockfordValue(c byte) int {
	for i := 0; i < len(crockford); i++ {
		if crockford[i] == c {
			return i
		}
	}
	return -1
}

func clampMillis(now time.Time) uint64 {
	ms := now.UnixMilli()
	if ms < 0 {
		return 0
	}
	if ms > maxMillis {
		return maxMillis
	}
	return uint64(ms)
}

func readUint64(r io.Reader) (uint64, error) {
	if r == nil {
		r = rand.Reader
	}
	var b [8]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, fmt.Errorf("reading randomness: %w", err)
	}
	return binary.BigEndian.Uint64(b[:]), nil
}

// NewRequestID returns a request id for node at time now with 64 random bits
// from r (crypto/rand when nil). It keeps no state, so ids made in the same
// millisecond are unordered; servers use a RequestIDGenerator.
func NewRequestID(node uint16, now time.Time, r io.Reader) (string, error) {
	lo, err := readUint64(r)
	if err != nil {
		return "", fmt.Errorf("request id: %w", err)
	}
	return encodeRequestID(clampMillis(now), node, lo), nil
}

// RequestIDGenerator makes strictly increasing request ids for one node. It
// is safe for concurrent use.
type RequestIDGenerator struct {
	node    uint16
	rand    io.Reader
	mu      sync.Mutex
	started bool
	lastMS  uint64
	lastLo  uint64
}

// NewRequestIDGenerator returns a generator for node drawing randomness from
// r (crypto/rand when nil).
func NewRequestIDGenerator(node uint16, r io.Reader) *RequestIDGenerator {
	if r == nil {
		r = rand.Reader
	}
	return &RequestIDGenerator{node: node, rand: r}
}

// Next returns the next id for time now. In a new millisecond the low 64 bits
// are fresh randomness with the top bit clear (leaving 2^63 increments of
// headroom); within the same millisecond, or if the clock went back, the
// previous id's time is kept and the low bits are incremented, moving on to
// the next millisecond in the (astronomically unlikely) case of overflow.
// If the randomness source fails, the generator counts on from its last
// value instead, which keeps ids unique within the process.
func (g *RequestIDGenerator) Next(now time.Time) string {
	ms := clampMillis(now)
	g.mu.Lock()
	defer g.mu.Unlock()
	var lo uint64
	switch {
	case !g.started || ms > g.lastMS:
		r, err := readUint64(g.rand)
		if err != nil {
			r = g.lastLo + 1
		}
		lo = r &^ (1 << 63)
	case g.lastLo == ^uint64(0):
		if g.lastMS < maxMillis {
			ms = g.lastMS + 1
		} else {
			ms = g.lastMS
		}
		lo = 0
	default:
		ms = g.lastMS
		lo = g.lastLo + 1
	}
	g.started, g.lastMS, g.lastLo = true, ms, lo
	return encodeRequestID(ms, g.node, lo)
}

// nonceBytes is the randomness in a generated nonce: 24 bytes, 32 base64url
// characters, within the 16–64 character rule and [A-Za-z0-9_-].
const nonceBytes = 24

// NewNonce returns a fresh nonce (32 characters of [A-Za-z0-9_-]) for a
// request or an LJ-Nonce response header, from r (crypto/rand when nil).
func NewNonce(r io.Reader) (string, error) {
	b, err := smcrypto.RandomBytes(r, nonceBytes)
	if err != nil {
		return "", fmt.Errorf("nonce: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
