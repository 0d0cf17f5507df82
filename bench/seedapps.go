package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"lijiang/platform"
	"lijiang/platform/smcrypto"
	"lijiang/raftstore"
)

// benchEmailDomain marks the developers (and so the applicants and apps)
// SeedApps registers, so that a second run can count them.
const benchEmailDomain = "@bench.example.com"

// seedWorkers is how many applicants SeedApps registers at once: enough
// concurrent proposals that Raft batches them and the state machine applies
// each batch in one transaction.
const seedWorkers = 128

// appsPerDeveloper is how many applicants one benchmark developer registers
// (an integrator's developer working for several): creating a developer
// reloads every developer into the registry (the registry's developer part
// is reloaded whole), so 100,000 developers would take most of the seeding
// time.
const appsPerDeveloper = 20

// uscc31 are the characters of an organisation code (GB 11714) that
// SeedApps's unified social credit codes use.
const uscc31 = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// SeedApps registers apps on the stopped one-node cluster in dataDir (its
// Raft address raftAddr, its secrets sealed by sealer) until it holds n apps
// of benchmark applicants, for the memory and start-up targets, which are
// stated for a registry of 100,000 apps. It counts the apps of earlier runs
// and returns at once when there are n already; it prints progress lines to
// progress.
//
// Each app is what the developer portal makes: a developer account
// (appsPerDeveloper applicants share one), its applicant (with a unique, well-formed unified social credit code) and the
// applicant's sandbox app, with an SM2 signing public key of its own and a
// sealed App_Secret, all through the same commands the portal proposes. The
// apps are sandbox apps: a production app is issued by an approval, which
// also queues a webhook notice to the applicant's callback URL, and a
// benchmark node would spend its run delivering (and retrying through Raft)
// tens of thousands of notices to hosts that do not exist. In the registry a
// production app differs only in its environment and grants.
//
// Every app gets a freshly generated key: the platform refuses a public key
// already registered to another app, so a pool of reused keys is not
// possible (generating 100,000 SM2 keys takes a few seconds over all cores).
// The developers share one password hash, computed once: the hash is
// deliberately slow (PBKDF2), and nobody logs in as them.
func SeedApps(ctx context.Context, dataDir, raftAddr string, sealer platform.Sealer, n int, progress io.Writer) error {
	if progress == nil {
		progress = io.Discard
	}
	progress = &lockedWriter{w: progress}
	statePath := filepath.Join(dataDir, platform.StateFile)
	have, err := countBenchApps(statePath)
	if err != nil {
		return err
	}
	if have >= n {
		fmt.Fprintf(progress, "apps: %d benchmark apps registered already\n", have)
		return nil
	}
	want := n - have
	hash, err := platform.HashPassword("bench-" + platform.NewID("pw"))
	if err != nil {
		return err
	}
	// A run's own prefix keeps its e-mail addresses and credit codes apart
	// from those of an earlier, interrupted run.
	var nonce [2]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return err
	}
	run := string(uscc31[int(nonce[0])%len(uscc31)]) + string(uscc31[int(nonce[1])%len(uscc31)])
	fmt.Fprintf(progress, "apps: registering %d apps (%d there already)\n", want, have)
	return raftstore.WithOffline(ctx, dataDir, raftAddr, func(nodeID string, exec platform.Executor, _ func() *platform.Registry) error {
		s := &seeder{ctx: ctx, exec: exec, sealer: sealer, nodeID: nodeID, hash: hash, run: run, now: time.Now(), devs: make([]string, (want+appsPerDeveloper-1)/appsPerDeveloper)}
		t0 := time.Now()
		// The developers first: creating one reloads every developer into
		// the registry, so a batch of them costs about what one costs.
		if err := s.parallel("developers", len(s.devs), s.developer, progress); err != nil {
			return err
		}
		if err := s.parallel("apps", want, s.applicant, progress); err != nil {
			return err
		}
		fmt.Fprintf(progress, "apps: %d registered in %s\n", want, time.Since(t0).Round(time.Millisecond))
		// A node that registered its apps over months has snapshotted
		// since (every SnapshotThreshold entries): without one, its start-up
		// would read the seeding's burst of entries twice (Raft's scan for
		// its configuration, then the replay the store skips).
		if sn, ok := exec.(interface{ Snapshot() error }); ok {
			if err := sn.Snapshot(); err != nil {
				return fmt.Errorf("snapshot after seeding: %w", err)
			}
		}
		return nil
	})
}

// parallel calls fn(i) for i in [0, n) from seedWorkers goroutines, and
// stops at the first error.
func (s *seeder) parallel(what string, n int, fn func(i int) error, progress io.Writer) error {
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	next := make(chan int)
	var (
		wg      sync.WaitGroup
		errOnce sync.Once
		first   error
		done    atomic.Int64
	)
	t0 := time.Now()
	step := int64(max(n/10, 1))
	for w := 0; w < seedWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					errOnce.Do(func() { first = err; cancel() })
					return
				}
				if d := done.Add(1); d%step == 0 {
					fmt.Fprintf(progress, "apps: %d/%d %s, %.0f/s\n", d, n, what, float64(d)/time.Since(t0).Seconds())
				}
			}
		}()
	}
feed:
	for i := 0; i < n; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if first != nil {
		return fmt.Errorf("%s, after %d: %w", what, done.Load(), first)
	}
	return s.ctx.Err()
}

// countBenchApps counts the apps of benchmark applicants in the state
// database at path, read-only.
func countBenchApps(path string) (int, error) {
	return platform.CountAppsByContactDomain(path, strings.TrimPrefix(benchEmailDomain, "@"))
}

// seeder registers benchmark applicants.
type seeder struct {
	ctx    context.Context
	exec   platform.Executor
	sealer platform.Sealer
	nodeID string
	hash   string // every developer's password hash
	run    string // this run's two-character prefix
	now    time.Time
	devs   []string // the developer of the i-th applicant is devs[i/appsPerDeveloper]
}

func (s *seeder) do(actor platform.Actor, typ string, payload any) error {
	actor.Node = s.nodeID
	cmd, err := platform.NewCommand(typ, 1, "", actor, time.Now(), payload)
	if err != nil {
		return err
	}
	if _, err := s.exec.Execute(s.ctx, cmd); err != nil {
		return fmt.Errorf("%s: %w", typ, err)
	}
	return nil
}

// developer creates the i-th developer account of this run.
func (s *seeder) developer(i int) error {
	tag := s.run + orgCode(i)
	id := platform.NewID("dev")
	s.devs[i] = id
	return s.do(platform.Actor{Kind: platform.ActorDeveloper, ID: id}, platform.CmdDeveloperCreate, platform.DeveloperCreate{ID: id,
		Email: "dev-" + strings.ToLower(tag) + benchEmailDomain, Name: "Bench developer " + tag, PasswordHash: s.hash})
}

// applicant registers the i-th applicant of this run, with its sandbox app,
// and gives the app an SM2 signing key and an App_Secret.
func (s *seeder) applicant(i int) error {
	tag := s.run + orgCode(i)
	devID := s.devs[i/appsPerDeveloper]
	asDev := platform.Actor{Kind: platform.ActorDeveloper, ID: devID}
	uscc, err := platform.CompleteUSCC("91450300" + tag) // 450300: Guilin
	if err != nil {
		return fmt.Errorf("credit code of %s: %w", tag, err)
	}
	appID := platform.NewAppID(s.now)
	host := "app-" + strings.ToLower(tag) + ".bench.example.com"
	if err := s.do(asDev, platform.CmdApplicantRegister, platform.ApplicantRegister{
		ApplicantID: platform.NewID("apl"), SandboxAppID: appID, OwnerDeveloperID: devID,
		ApplicantDetails: platform.ApplicantDetails{Name: "基准应用方 / Bench applicant " + tag, USCC: uscc,
			ContactName: "基准联系人", ContactEmail: "contact-" + strings.ToLower(tag) + benchEmailDomain,
			ContactPhone: fmt.Sprintf("138%08d", i%100_000_000), CallbackURL: "https://" + host + "/lijiang/notices",
			RedirectURIs: []string{"https://" + host + "/callback"}}}); err != nil {
		return err
	}
	notAfter := s.now.Add(300 * 24 * time.Hour).UnixMilli()
	priv, err := smcrypto.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	pub, err := smcrypto.MarshalPublicKeyPEM(&priv.PublicKey)
	if err != nil {
		return err
	}
	if err := s.do(asDev, platform.CmdCredentialCreate, platform.CredentialCreate{CredentialID: platform.NewID("crd"), AppID: appID,
		Kind: platform.CredentialSM2Sign, NotAfterMs: notAfter, PublicKey: string(pub)}); err != nil {
		return err
	}
	credID := platform.NewID("crd")
	sealed, err := s.sealer.Seal(platform.CredentialAAD(credID), []byte(platform.NewAppSecret()))
	if err != nil {
		return err
	}
	return s.do(asDev, platform.CmdCredentialCreate, platform.CredentialCreate{CredentialID: credID, AppID: appID,
		Kind: platform.CredentialSecret, NotAfterMs: notAfter, SecretSealed: sealed})
}

// orgCode is i as six characters of uscc31 (up to 31^6, about 887 million).
func orgCode(i int) string {
	var b [6]byte
	for k := len(b) - 1; k >= 0; k-- {
		b[k] = uscc31[i%len(uscc31)]
		i /= len(uscc31)
	}
	return string(b[:])
}

// lockedWriter serialises the workers' progress lines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
