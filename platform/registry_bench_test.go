package platform

import (
	"crypto/rand"
	"database/sql"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"testing"
	"time"

	"lijiang/platform/smcrypto"
)

// Benchmarks of the registry on the gateway's hot path (map lookups on an
// immutable Registry) and of building it from the database (start-up, and
// after every applied batch). Run with:
//
//	go test -run '^$' -bench 'Registry' -benchmem ./platform/
//	LIJIANG_BENCH_APPS=100000 go test -run '^$' -bench LoadRegistry -benchtime 3x ./platform/

// regBenchAPIs is how many published APIs the benchmark catalogue has; each
// app is granted regBenchGrants of them.
const (
	regBenchAPIs   = 8
	regBenchGrants = 4
)

// regBench is a store seeded with n apps and the registry loaded from it.
type regBench struct {
	s          *Store
	reg        *Registry
	apps       []string // App_IDs
	applicants []string // applicant ids, apps[i]'s at i
	apis       []string
	now        time.Time
}

// regBenchAppID is the App_ID of the i-th seeded app.
func regBenchAppID(i int) string { return fmt.Sprintf("LJ2026%010d", i) }

// seedRegistryBench opens a store and seeds it with n approved applicants,
// each with one active production app holding an App_Secret, an SM2
// signing key, an SM2 encryption key (keys distinct per app, so a full load
// parses n×2 public keys) and a revoked older signing key, and grants of
// regBenchGrants of the catalogue's APIs (one with its own limits). The APIs
// go through commands like production ones; the applicants, apps,
// credentials and grants are written with SQL in one transaction, because
// the command workflow (registration, review, approval) would take minutes
// for 10,000 apps and is not what is measured.
func seedRegistryBench(b *testing.B, n int) *regBench {
	b.Helper()
	s := NewStore(StoreConfig{Path: filepath.Join(b.TempDir(), "state.db")})
	if err := s.Open(); err != nil {
		b.Fatalf("Open: %v", err)
	}
	b.Cleanup(func() { s.Close() })
	e := &regBench{s: s, now: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)}
	cli := Actor{Kind: ActorCLI, ID: "root"}
	idx := uint64(0)
	apply := func(typ string, payload any) {
		c, err := NewCommand(typ, 1, "", cli, e.now.Add(-48*time.Hour), payload)
		if err != nil {
			b.Fatal(err)
		}
		data, err := c.Encode()
		if err != nil {
			b.Fatal(err)
		}
		idx++
		if res := s.Apply([]Entry{{Index: idx, Term: 1, Data: data}})[0]; res.Err != nil {
			b.Fatalf("%s: %v", typ, res.Err)
		}
	}
	for i := range regBenchAPIs {
		id := NewID("api")
		spec := aplAPISpec(i)
		spec.Limits = Limits{RatePerSecond: 100, Burst: 200, Concurrency: 20, DailyQuota: 1_000_000}
		apply(CmdAPICreate, &APICreate{ID: id, APISpec: spec})
		apply(CmdAPIPublish, &APITransition{ID: id, ExpectedVersion: 1})
		e.apis = append(e.apis, id)
	}

	devID := NewID("dev")
	if _, err := s.db.Exec(`INSERT INTO developers (id, email, name, password_hash, status, created_ms, updated_ms)
		VALUES (?, 'bench@example.com', 'Bench', 'x', 'active', 0, 0)`, devID); err != nil {
		b.Fatal(err)
	}
	tx, err := s.db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	prep := func(q string) *sql.Stmt {
		st, err := tx.Prepare(q)
		if err != nil {
			b.Fatal(err)
		}
		return st
	}
	insApplicant := prep(`INSERT INTO applicants (id, owner_developer_id, name, uscc, contact_name, contact_email, contact_phone,
		callback_url, redirect_uris, ip_allow, status, version, created_ms, created_by, updated_ms, updated_by)
		VALUES (?, ?, ?, ?, 'Zhang San', 'ops@example.com', '13800000000', 'https://app.example.com/cb',
		'["https://app.example.com/oauth"]', '[]', 'approved', 3, ?, 'root', ?, 'root')`)
	insApp := prep(`INSERT INTO apps (id, applicant_id, env, status, created_ms, created_by, updated_ms)
		VALUES (?, ?, 'production', 'active', ?, 'root', ?)`)
	insCred := prep(`INSERT INTO credentials (id, app_id, kind, serial, status, not_before_ms, not_after_ms, public_pem,
		created_ms, created_by, revoked_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'root', ?)`)
	insSecret := prep(`INSERT INTO credential_secrets (credential_id, sealed) VALUES (?, ?)`)
	insGrant := prep(`INSERT INTO grants (app_id, api_id, limits, granted_by, granted_ms) VALUES (?, ?, ?, 'root', ?)`)
	created := e.now.Add(-30 * 24 * time.Hour).UnixMilli()
	notAfter := e.now.Add(365 * 24 * time.Hour).UnixMilli()
	sealed := make([]byte, 80)
	if _, err := rand.Read(sealed); err != nil {
		b.Fatal(err)
	}
	pem := func() string {
		k, err := smcrypto.GenerateKey(rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		p, err := smcrypto.MarshalPublicKeyPEM(&k.PublicKey)
		if err != nil {
			b.Fatal(err)
		}
		return string(p)
	}
	exec := func(st *sql.Stmt, args ...any) {
		if _, err := st.Exec(args...); err != nil {
			b.Fatal(err)
		}
	}
	for i := range n {
		apl, app := NewID("apl"), regBenchAppID(i)
		exec(insApplicant, apl, devID, "Applicant "+strconv.Itoa(i), fmt.Sprintf("91%016d", i), created, created)
		exec(insApp, app, apl, created, created)
		secID := NewID("crd")
		exec(insCred, secID, app, CredentialSecret, "sec-1", CredentialActive, created, notAfter, "", created, 0)
		exec(insSecret, secID, sealed)
		exec(insCred, NewID("crd"), app, CredentialSM2Sign, "sig-0", CredentialRevoked, created, notAfter, pem(), created-1, created)
		exec(insCred, NewID("crd"), app, CredentialSM2Sign, "sig-1", CredentialActive, created, notAfter, pem(), created+1, 0)
		exec(insCred, NewID("crd"), app, CredentialSM2Enc, "enc-1", CredentialActive, created, notAfter, pem(), created+2, 0)
		for g := range regBenchGrants {
			lim := "{}"
			if g == 0 {
				lim = `{"rate_per_second":10,"daily_quota":5000}`
			}
			exec(insGrant, app, e.apis[(i+g)%regBenchAPIs], lim, created)
		}
		e.apps = append(e.apps, app)
		e.applicants = append(e.applicants, apl)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if e.reg, err = loadRegistry(s.db, PartAll, nil); err != nil {
		b.Fatal(err)
	}
	if got := e.reg.Applicants.Len(); got != n {
		b.Fatalf("registry has %d apps, want %d", got, n)
	}
	return e
}

// BenchmarkRegistryLookups measures each registry read of one gateway call
// on a registry of 1,000 apps (three credentials and four grants each),
// cycling through the apps so that no single entry stays in cache.
func BenchmarkRegistryLookups(b *testing.B) {
	e := seedRegistryBench(b, 1000)
	reg, n := e.reg, len(e.apps)
	apiOf := func(i int) string { return e.apis[i%regBenchAPIs] } // app i's first grant
	b.Run("Applicants.App", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, ok := reg.Applicants.App(e.apps[i%n]); !ok {
				b.Fatal("no app")
			}
		}
	})
	b.Run("Applicants.App/unknown", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, ok := reg.Applicants.App("LJ2026UNKNOWN0001"); ok {
				b.Fatal("unknown app found")
			}
		}
	})
	b.Run("Applicants.AppInto", func(b *testing.B) {
		b.ReportAllocs()
		var a AppEntry
		for i := 0; i < b.N; i++ {
			if !reg.Applicants.AppInto(e.apps[i%n], &a) {
				b.Fatal("app not found")
			}
		}
	})
	b.Run("AppEntry.CredentialBySerial", func(b *testing.B) {
		apps := make([]*AppEntry, n)
		for i := range apps {
			apps[i], _ = reg.Applicants.App(e.apps[i])
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, ok := apps[i%n].CredentialBySerial("sig-1"); !ok {
				b.Fatal("no credential")
			}
		}
	})
	for _, kind := range []string{CredentialSM2Enc, CredentialClientCert} {
		b.Run("Applicants.ValidCredentials/"+kind, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				_ = reg.Applicants.ValidCredentials(e.apps[i%n], kind, e.now)
			}
		})
	}
	b.Run("Catalogue.Grant", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, ok := reg.Catalogue.Grant(e.apps[i%n], apiOf(i%n)); !ok {
				b.Fatal("no grant")
			}
		}
	})
	b.Run("Catalogue.EffectiveLimits", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, ok := reg.Catalogue.EffectiveLimits(e.apps[i%n], apiOf(i%n)); !ok {
				b.Fatal("no grant")
			}
		}
	})
	// all: the sequence of reads an A1 call makes (app, credential, the
	// client-certificate check, grant, limits) on one registry.
	b.Run("all", func(b *testing.B) {
		b.ReportAllocs()
		var entry AppEntry // as the gateway's call holds it
		for i := 0; i < b.N; i++ {
			appID, apiID := e.apps[i%n], apiOf(i%n)
			app := &entry
			if !reg.Applicants.AppInto(appID, app) {
				b.Fatal("no app")
			}
			if _, ok := app.CredentialBySerial("sec-1"); !ok {
				b.Fatal("no credential")
			}
			_ = reg.Applicants.ValidCredentials(appID, CredentialClientCert, e.now)
			if _, ok := reg.Catalogue.Grant(appID, apiID); !ok {
				b.Fatal("no grant")
			}
			if _, ok := reg.Catalogue.EffectiveLimits(appID, apiID); !ok {
				b.Fatal("no limits")
			}
		}
	})
}

// regBenchSizes are the app counts BenchmarkLoadRegistry runs with: 1,000
// and 10,000, and 100,000 only when LIJIANG_BENCH_APPS=100000 (seeding that
// many takes a while).
// gcCPU is the CPU time a forced collection takes, the least of a few
// (runtime/metrics' GC CPU: its marking and pauses, on every core).
func gcCPU() int64 {
	sample := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}}
	best := int64(math.MaxInt64)
	for range 5 {
		metrics.Read(sample)
		before := sample[0].Value.Float64()
		runtime.GC()
		metrics.Read(sample)
		best = min(best, int64((sample[0].Value.Float64()-before)*1e9))
	}
	return best
}

func regBenchSizes() []int {
	sizes := []int{1000, 10000}
	if v := os.Getenv("LIJIANG_BENCH_APPS"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 && n != 1000 && n != 10000 {
			sizes = append(sizes, n)
		}
	}
	return sizes
}

// BenchmarkLoadRegistry measures building the registry from the database
// for N apps:
//   - full: loadRegistry with no previous registry, what Store.Open does at
//     start-up (every part; public keys are parsed on first use);
//   - full-with-prev: every part reloaded but the previous registry's parsed
//     keys and compiled APIs reused (a reload after a batch that changed
//     everything);
//   - incremental-1-applicant: the applicants part updated for one touched
//     applicant, what follows a typical credential or app command.
func BenchmarkLoadRegistry(b *testing.B) {
	for _, n := range regBenchSizes() {
		b.Run("apps="+strconv.Itoa(n), func(b *testing.B) {
			e := seedRegistryBench(b, n)
			b.Run("full", func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					if _, err := loadRegistry(e.s.db, PartAll, nil); err != nil {
						b.Fatal(err)
					}
				}
				// What a loaded registry keeps, per app (docs/performance.md:
				// the resident memory with 100,000 apps).
				b.StopTimer()
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				reg, err := loadRegistry(e.s.db, PartAll, nil)
				if err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(n), "live-B/app")
				b.ReportMetric(float64(int64(after.HeapObjects)-int64(before.HeapObjects))/float64(n), "live-objs/app")
				// What each collection spends marking it (docs/performance.md:
				// the collector's share of a call with 100,000 apps): a
				// forced collection's CPU with the registry alive, less one
				// without it, per app.
				with := gcCPU()
				runtime.KeepAlive(reg)
				reg = nil
				without := gcCPU()
				b.ReportMetric(float64(with-without)/float64(n), "gc-ns/app")
				// The applicants view's share (the apps, their applicants'
				// rules and their credentials; the harness's 100,000 apps
				// hold no grants).
				apl, err := loadRegistry(e.s.db, PartApplicants, nil)
				if err != nil {
					b.Fatal(err)
				}
				with = gcCPU()
				runtime.KeepAlive(apl)
				b.ReportMetric(float64(with-without)/float64(n), "apl-gc-ns/app")
				runtime.KeepAlive(reg)
			})
			b.Run("full-with-prev", func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					if _, err := loadRegistry(e.s.db, PartAll, e.reg); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("incremental-1-applicant", func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					ch := change{parts: PartApplicants, touched: map[Parts][]string{PartApplicants: {e.applicants[i%n]}}}
					if _, err := loadRegistryChange(e.s.db, ch, e.reg); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
