package client

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"time"

	"lijiang/platform/lj1"
	"lijiang/platform/smcrypto"
)

// KeysPath is where the platform publishes its public keys, without
// authentication.
const KeysPath = lj1.KeysPath

// Key uses and statuses of the platform keys list.
const (
	UseSig         = "sig"
	UseEnc         = "enc"
	StatusActive   = "active"
	StatusRetiring = "retiring"
)

// maxKeysBytes bounds the keys document.
const maxKeysBytes = 1 << 20

// keysMaxAge is how long a fetched list is used to choose the encryption key
// before it is fetched again (verification uses the cache regardless of age
// and refetches on an unknown serial).
const keysMaxAge = time.Hour

// PlatformKey is one of the platform's SM2 public keys.
type PlatformKey struct {
	// Serial names the key (LJ-Serial, the envelope's serial).
	Serial string
	// Use is UseSig (verifies response signatures) or UseEnc (request
	// bodies are encrypted to it).
	Use string
	// Alg is "SM2".
	Alg string
	// PublicKey is the key. When pinning keys in Config, set either it or
	// PublicKeyPEM.
	PublicKey *ecdsa.PublicKey
	// PublicKeyPEM is the PEM "PUBLIC KEY" form as published.
	PublicKeyPEM string
	// NotBefore and NotAfter bound the key's validity (zero: unbounded).
	NotBefore, NotAfter time.Time
	// Status is StatusActive or StatusRetiring; requests are encrypted only
	// to an active key, signatures verify with either.
	Status string
}

// keySet is an immutable snapshot of the platform keys.
type keySet struct {
	list    []PlatformKey
	bySer   map[string]PlatformKey
	fetched time.Time
}

func newKeySet(list []PlatformKey, at time.Time) (*keySet, error) {
	ks := &keySet{list: list, bySer: make(map[string]PlatformKey, len(list)), fetched: at}
	for _, k := range list {
		if _, dup := ks.bySer[k.Serial]; dup {
			return nil, fmt.Errorf("duplicate platform key serial %q", k.Serial)
		}
		ks.bySer[k.Serial] = k
	}
	return ks, nil
}

// checkPlatformKey validates a key and fills in whichever of PublicKey and
// PublicKeyPEM is missing.
func checkPlatformKey(k PlatformKey) (PlatformKey, error) {
	if !validID(k.Serial) {
		return k, fmt.Errorf("platform key: invalid serial")
	}
	if k.Use != UseSig && k.Use != UseEnc {
		return k, fmt.Errorf("platform key %s: use must be %q or %q", k.Serial, UseSig, UseEnc)
	}
	if k.Alg == "" {
		k.Alg = "SM2"
	}
	if k.Alg != "SM2" {
		return k, fmt.Errorf("platform key %s: alg must be SM2", k.Serial)
	}
	if k.Status == "" {
		k.Status = StatusActive
	}
	if k.Status != StatusActive && k.Status != StatusRetiring {
		return k, fmt.Errorf("platform key %s: status must be %q or %q", k.Serial, StatusActive, StatusRetiring)
	}
	if k.PublicKey == nil {
		pub, err := smcrypto.ParsePublicKey([]byte(k.PublicKeyPEM))
		if err != nil {
			return k, fmt.Errorf("platform key %s: %w", k.Serial, err)
		}
		k.PublicKey = pub
	}
	pemBytes, err := smcrypto.MarshalPublicKeyPEM(k.PublicKey)
	if err != nil {
		return k, fmt.Errorf("platform key %s: %w", k.Serial, err)
	}
	if k.PublicKeyPEM != "" {
		// A PEM given together with a key must be the same key.
		pub, err := smcrypto.ParsePublicKey([]byte(k.PublicKeyPEM))
		if err != nil || !smcrypto.PublicKeysEqual(pub, k.PublicKey) {
			return k, fmt.Errorf("platform key %s: PublicKey and PublicKeyPEM differ", k.Serial)
		}
	} else {
		k.PublicKeyPEM = string(pemBytes)
	}
	if !k.NotBefore.IsZero() && !k.NotAfter.IsZero() && !k.NotAfter.After(k.NotBefore) {
		return k, fmt.Errorf("platform key %s: not_after is not after not_before", k.Serial)
	}
	return k, nil
}

// validAt reports whether t lies within the key's validity, allowing skew.
func (k PlatformKey) validAt(t time.Time, skew time.Duration) bool {
	if !k.NotBefore.IsZero() && t.Add(skew).Before(k.NotBefore) {
		return false
	}
	if !k.NotAfter.IsZero() && t.Add(-skew).After(k.NotAfter) {
		return false
	}
	return true
}

// parseKeysDoc decodes the keys list. Entries of another alg, use or status
// than this client knows are skipped (forward compatibility); a malformed SM2
// entry fails the whole list.
func parseKeysDoc(b []byte) ([]PlatformKey, error) {
	var doc lj1.KeysDoc // unknown members are ignored
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("malformed keys document")
	}
	if doc.Keys == nil {
		return nil, fmt.Errorf("keys document without keys")
	}
	var out []PlatformKey
	for _, e := range doc.Keys {
		if e.Alg != "SM2" || (e.Use != UseSig && e.Use != UseEnc) ||
			(e.Status != StatusActive && e.Status != StatusRetiring) {
			continue
		}
		k := PlatformKey{Serial: e.Serial, Use: e.Use, Alg: e.Alg, PublicKeyPEM: e.PublicKey, Status: e.Status}
		var err error
		if k.NotBefore, err = parseKeyTime(e.NotBefore); err != nil {
			return nil, fmt.Errorf("platform key %s: not_before: %w", e.Serial, err)
		}
		if k.NotAfter, err = parseKeyTime(e.NotAfter); err != nil {
			return nil, fmt.Errorf("platform key %s: not_after: %w", e.Serial, err)
		}
		if k, err = checkPlatformKey(k); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}

// parseKeyTime parses an RFC 3339 time; empty is the zero time.
func parseKeyTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339, s)
}

// PlatformKeys returns the platform's public keys, fetching them if the
// client has none yet (or returning the pinned ones).
func (c *Client) PlatformKeys(ctx context.Context) ([]PlatformKey, error) {
	ks, err := c.keySet(ctx)
	if err != nil {
		return nil, err
	}
	return append([]PlatformKey(nil), ks.list...), nil
}

// RefreshPlatformKeys fetches the platform keys now, replacing the cache. It
// is an error with pinned keys.
func (c *Client) RefreshPlatformKeys(ctx context.Context) error {
	if c.pinned {
		return fmt.Errorf("refreshing platform keys: keys are pinned: %w", ErrConfig)
	}
	_, err := c.refetch(ctx, c.keys.Load(), true)
	return err
}

// keySet returns the cached keys, fetching them the first time.
func (c *Client) keySet(ctx context.Context) (*keySet, error) {
	if ks := c.keys.Load(); ks != nil {
		return ks, nil
	}
	return c.refetch(ctx, nil, false)
}

// refetch fetches the keys unless another caller replaced seen meanwhile
// (then its result is used), so concurrent callers that found the same
// unknown serial cause one fetch. force fetches even then.
func (c *Client) refetch(ctx context.Context, seen *keySet, force bool) (*keySet, error) {
	select {
	case c.fetchSem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("fetching platform keys: %w", ctx.Err())
	}
	defer func() { <-c.fetchSem }()
	if cur := c.keys.Load(); cur != seen && cur != nil && !force {
		return cur, nil
	}
	list, err := c.fetchKeys(ctx)
	if err != nil {
		return nil, err
	}
	ks, err := newKeySet(list, c.now())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPlatformKeys, err)
	}
	c.keys.Store(ks)
	c.keysStale.Store(false)
	return ks, nil
}

// fetchKeys performs GET {BaseURL}/.well-known/lijiang/keys. Its trust rests
// on the TLS server certificate (the list cannot be signed by a key the
// client does not have yet); pin the keys in Config to avoid the fetch.
func (c *Client) fetchKeys(ctx context.Context) ([]PlatformKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base.String()+KeysPath, http.NoBody)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPlatformKeys, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPlatformKeys, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxKeysBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading: %w", ErrPlatformKeys, err)
	}
	if len(b) > maxKeysBytes {
		return nil, fmt.Errorf("%w: keys document too large", ErrPlatformKeys)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: status %d", ErrPlatformKeys, resp.StatusCode)
	}
	list, err := parseKeysDoc(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPlatformKeys, err)
	}
	return list, nil
}

// signingKey returns the platform signing key named serial, refetching the
// list once when the serial is unknown (a rotation), unless keys are pinned.
func (c *Client) signingKey(ctx context.Context, serial string) (PlatformKey, error) {
	ks, err := c.keySet(ctx)
	if err != nil {
		return PlatformKey{}, err
	}
	k, ok := ks.bySer[serial]
	if !ok && !c.pinned {
		if ks, err = c.refetch(ctx, ks, false); err != nil {
			return PlatformKey{}, err
		}
		k, ok = ks.bySer[serial]
	}
	if !ok {
		return PlatformKey{}, fmt.Errorf("%w: %w", ErrResponseSignature, ErrUnknownSerial)
	}
	if k.Use != UseSig {
		return PlatformKey{}, fmt.Errorf("%w: LJ-Serial names a key that is not a signing key", ErrResponseSignature)
	}
	return k, nil
}

// encryptionKey returns the platform's active encryption key valid now (the
// most recent one if several are), refreshing a list that is older than
// keysMaxAge, that the gateway refused an envelope for, or that has no such
// key. A failed refresh falls back to the cached key when it is still valid.
func (c *Client) encryptionKey(ctx context.Context) (PlatformKey, error) {
	ks, err := c.keySet(ctx)
	if err != nil {
		return PlatformKey{}, err
	}
	now := c.now()
	k, ok := activeEnc(ks, now)
	if !c.pinned && (!ok || c.keysStale.Load() || now.Sub(ks.fetched) > keysMaxAge) {
		fresh, ferr := c.refetch(ctx, ks, false)
		switch {
		case ferr == nil:
			k, ok = activeEnc(fresh, now)
		case !ok:
			return PlatformKey{}, ferr
		}
	}
	if !ok {
		return PlatformKey{}, ErrNoEncryptionKey
	}
	return k, nil
}

func activeEnc(ks *keySet, now time.Time) (PlatformKey, bool) {
	var cands []PlatformKey
	for _, k := range ks.list {
		if k.Use == UseEnc && k.Status == StatusActive && k.validAt(now, 0) {
			cands = append(cands, k)
		}
	}
	if len(cands) == 0 {
		return PlatformKey{}, false
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].NotBefore.After(cands[j].NotBefore) })
	return cands[0], true
}
