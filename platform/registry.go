package platform

import (
	"database/sql"
	"fmt"
	"time"
)

// Parts is a set of registry parts; a command declares the parts it may
// change so that only those are reloaded after it is applied.
type Parts uint32

// Registry parts.
const (
	PartSettings Parts = 1 << iota
	PartPlatformKeys
	PartAuth       // admin users and developer accounts (auth.go)
	PartApplicants // applicants, production requests, apps, credentials (applicants.go)
	PartCatalogue  // APIs, grants, notices (catalogue.go)
	PartConsent    // customer sessions, consents, user tokens (consent.go)
	PartCluster    // the cluster CA, join token and node registry (cluster.go)

	// PartAll is every part.
	PartAll Parts = 1<<iota - 1
)

// Registry is an immutable, in-memory view of the replicated state that the
// gateway reads on its hot path without SQL and without locks. A new Registry
// is built after each applied batch and swapped in atomically; a reader keeps
// the one it loaded for the whole of its request. Nobody modifies a Registry
// once it is published.
type Registry struct {
	// AppliedIndex is the log index this view reflects.
	AppliedIndex uint64
	// Settings are the platform's replicated settings.
	Settings map[string]string
	// PlatformKeys are the bank's signing and encryption keys, newest first.
	PlatformKeys []PlatformKey
	// AuditKey is the sealed audit key (audit.go), nil before it is made.
	AuditKey *AuditKey
	// Auth is the view of admin users and developer accounts.
	Auth *AuthView
	// Applicants is the view of applicants, their apps and credentials.
	Applicants *ApplicantsView
	// Catalogue is the view of the API catalogue and the grants.
	Catalogue *CatalogueView
	// Consent is the view of customers' consents and user tokens.
	Consent *ConsentView
	// Cluster is the view of the cluster's CA, join token and nodes.
	Cluster *ClusterView
	// Risk is the view of the risk rules and their proposals (risk.go).
	Risk *RiskView
}

// queryer is what the registry is loaded with: the database, or one read
// transaction for a consistent view of a database another process may be
// writing (ReadState).
type queryer interface {
	Query(query string, args ...any) (*sql.Rows, error)
	QueryRow(query string, args ...any) *sql.Row
}

// partLoader reloads one registry part into r from db.
type partLoader struct {
	part Parts
	load func(db queryer, r *Registry) error
	// incr, if set, updates the part of prev into r for the touched keys
	// only (r starts as a copy of prev). It must not change anything prev
	// holds: it builds new maps and entries and shares the untouched ones.
	incr func(db queryer, r *Registry, prev *Registry, touched []string) error
}

var partLoaders []partLoader

// registerPart registers the loader of a registry part; called from init
// functions of the files that own the part.
func registerPart(part Parts, load func(db queryer, r *Registry) error) {
	partLoaders = append(partLoaders, partLoader{part: part, load: load})
}

// registerIncrementalPart registers the loader of a registry part that can
// also be updated for the keys commands named with Tx.Touch.
func registerIncrementalPart(part Parts, load func(db queryer, r *Registry) error,
	incr func(db queryer, r *Registry, prev *Registry, touched []string) error) {
	partLoaders = append(partLoaders, partLoader{part: part, load: load, incr: incr})
}

// change is what a batch of commands changed: the parts to reload, those of
// them to reload fully, and the keys touched in the others.
type change struct {
	parts   Parts
	full    Parts
	touched map[Parts][]string
}

// PlatformKey is one of the bank's SM2 key pairs. The private key stays
// sealed; whoever needs it opens it with the key-encryption key.
type PlatformKey struct {
	Serial        string
	Use           string // "sig" or "enc"
	Alg           string // "SM2"
	PublicPEM     string
	PrivateSealed []byte
	NotBefore     time.Time
	NotAfter      time.Time
	Status        string // "active", "retiring" or "retired"
}

// ActivePlatformKey returns the active key for use ("sig" or "enc").
func (r *Registry) ActivePlatformKey(use string) (PlatformKey, bool) {
	for _, k := range r.PlatformKeys {
		if k.Use == use && k.Status == KeyActive {
			return k, true
		}
	}
	return PlatformKey{}, false
}

// PlatformKey returns the platform key with the given serial.
func (r *Registry) PlatformKey(serial string) (PlatformKey, bool) {
	for _, k := range r.PlatformKeys {
		if k.Serial == serial {
			return k, true
		}
	}
	return PlatformKey{}, false
}

// loadRegistry builds a registry, reloading the given parts fully from db
// and sharing the others with prev (which is immutable, so sharing is safe).
func loadRegistry(db queryer, parts Parts, prev *Registry) (*Registry, error) {
	return loadRegistryChange(db, change{parts: parts, full: parts}, prev)
}

// loadRegistryChange builds a registry after ch: parts with an incremental
// loader that were changed only for named keys are updated from prev for
// those keys, the other changed parts are reloaded fully, and the unchanged
// ones are shared with prev. Without prev, everything is loaded.
func loadRegistryChange(db queryer, ch change, prev *Registry) (*Registry, error) {
	parts := ch.parts
	r := &Registry{}
	if prev != nil {
		*r = *prev
	} else {
		parts = PartAll
		ch.full = PartAll
	}
	if parts&PartSettings != 0 {
		m := map[string]string{}
		err := queryRows(db, "SELECT key, value FROM settings", nil, func(row rowScanner) error {
			var k, v string
			if err := row.Scan(&k, &v); err != nil {
				return err
			}
			m[k] = v
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("settings: %w", err)
		}
		r.Settings = m
	}
	if parts&PartPlatformKeys != 0 {
		var keys []PlatformKey
		err := queryRows(db, `SELECT serial, use, alg, public_pem, private_sealed, not_before_ms, not_after_ms, status
			FROM platform_keys ORDER BY created_ms DESC, serial DESC`, nil, func(row rowScanner) error {
			var k PlatformKey
			var nb, na int64
			if err := row.Scan(&k.Serial, &k.Use, &k.Alg, &k.PublicPEM, &k.PrivateSealed, &nb, &na, &k.Status); err != nil {
				return err
			}
			k.NotBefore, k.NotAfter = time.UnixMilli(nb).UTC(), time.UnixMilli(na).UTC()
			keys = append(keys, k)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("platform keys: %w", err)
		}
		r.PlatformKeys = keys
	}
	for _, l := range partLoaders {
		if parts&l.part == 0 {
			continue
		}
		if l.incr != nil && ch.full&l.part == 0 {
			if err := l.incr(db, r, prev, ch.touched[l.part]); err != nil {
				return nil, err
			}
			continue
		}
		if err := l.load(db, r); err != nil {
			return nil, err
		}
	}
	return r, nil
}
