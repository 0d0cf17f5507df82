package raftstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lijiang/platform"
	"lijiang/platform/smcrypto"
)

// Catch-up by snapshot (issue 5, item 6): a leader holds the state of n apps;
// a node with an empty data directory is added with AddVoter and catches up by
// installing the leader's snapshot. The test measures the snapshot (time to
// take it, size), the new node's timeline from AddVoter to the snapshot being
// received, restored, its applied index reaching the leader's and its
// registry holding every app, and the parts of a restore measured alone.
//
// TestCatchUpOf2000Apps always runs (well under 5 s), so the path stays
// exercised in CI; the measurement for docs is TestCatchUpOf100000Apps:
//
//	LIJIANG_CATCHUP=1 go test ./raftstore/ -run TestCatchUpOf100000Apps -v -count=1 -timeout 30m

func TestCatchUpOf2000Apps(t *testing.T) { testCatchUp(t, 2000, time.Minute) }

func TestCatchUpOf100000Apps(t *testing.T) {
	if os.Getenv("LIJIANG_CATCHUP") != "1" {
		t.Skip("measures catch-up by snapshot of a state of 100,000 apps (about a minute); set LIJIANG_CATCHUP=1 to run it")
	}
	testCatchUp(t, 100_000, 15*time.Minute)
}

// catchUpTimeline is when the joining node reached each step, from AddVoter.
type catchUpTimeline struct {
	transferStarted time.Duration // a snapshot being received appears in its raft/snapshots
	received        time.Duration // the snapshot is complete in its snapshot store
	restoreStarted  time.Duration // the FSM writes state.db.restore (missed when it is brief)
	installed       time.Duration // the store's applied index reaches the snapshot's
	registry        time.Duration // its registry holds every app
	addVoter        time.Duration // AddVoter returned: at once, as hashicorp/raft commits the entry under the old configuration
	caughtUp        time.Duration // its applied index reaches the leader's, AddVoter done
}

func testCatchUp(t *testing.T, n int, limit time.Duration) {
	c := &cluster{t: t, sealer: mustSealer(t)}
	// Automatic snapshots off (huge threshold, default 2 min interval); one
	// trailing log entry, so that the snapshot taken below compacts the log
	// and a new node can only catch up by snapshot. In a real cluster holding
	// 100,000 apps the log is long past the default 10,240 trailing entries,
	// so a new node takes the same path; here the state is seeded outside the
	// log (below), which makes compaction necessary for correctness too.
	c.opts = clusterOptions{tls: true, snapshotThreshold: 1 << 40, trailingLogs: 1}
	c.caCert, c.caKey = mustCA(t)
	leader := &cnode{id: "n1", addr: freeAddrOn(t, "127.0.0.1"), dir: t.TempDir()}
	c.issue(leader, c.caCert, c.caKey)
	c.nodes = append(c.nodes, leader)
	t.Cleanup(c.close)

	start := time.Now()
	sample := seedApps(t, c.sealer, filepath.Join(leader.dir, "state.db"), n)
	seedTime := time.Since(start)

	start = time.Now()
	c.start(0, false)
	leaderOpen := time.Since(start)
	l := c.WaitForLeader()
	if got := l.store.Registry().Applicants.Len(); got != n {
		t.Fatalf("leader's registry has %d apps, want %d", got, n)
	}
	c.write("cmd-catchup-before", "catchup.before", "yes")

	start = time.Now()
	if err := l.node.Snapshot(); err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	snapTime := time.Since(start)
	if first, err := l.node.logs.FirstIndex(); err != nil || first <= 1 {
		t.Fatalf("the leader's log still starts at %d (%v): a new node would replay it instead of installing the snapshot", first, err)
	}
	metas, err := l.node.snaps.List()
	if err != nil || len(metas) == 0 {
		t.Fatalf("leader's snapshots: %v (%d)", err, len(metas))
	}
	snap := metas[0]

	joiner := &cnode{id: "n2", addr: freeAddrOn(t, "127.0.0.1"), dir: t.TempDir()}
	c.issue(joiner, c.caCert, c.caKey)
	c.nodes = append(c.nodes, joiner)
	c.start(1, true)
	js := joiner.store

	type done struct {
		at  time.Time
		err error
	}
	addDone := make(chan done, 1)
	t0 := time.Now()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), limit)
		defer cancel()
		err := l.node.AddVoter(ctx, joiner.id, joiner.addr)
		addDone <- done{time.Now(), err}
	}()

	// A write proposed while the new voter catches up: from the moment the
	// configuration entry is appended the quorum is two of two, so the write
	// commits only once the new node has installed the snapshot and taken the
	// log (a cluster of one growing to two stalls writes for the catch-up; a
	// cluster of three that adds or rejoins a node keeps its quorum).
	writeDone := make(chan done, 1)
	writeStarted := false
	var writeStart time.Time

	var tl catchUpTimeline
	var addVoterReturned bool
	snapDir := filepath.Join(joiner.dir, "raft", "snapshots")
	restoreFile := filepath.Join(joiner.dir, "state.db.restore")
	at := func(d *time.Duration, cond bool) {
		if *d == 0 && cond {
			*d = time.Since(t0)
		}
	}
	for tl.caughtUp == 0 || tl.registry == 0 {
		if time.Since(t0) > limit {
			t.Fatalf("the new node did not catch up within %v: %+v", limit, tl)
		}
		select {
		case d := <-addDone:
			if d.err != nil {
				t.Fatalf("AddVoter: %v", d.err)
			}
			tl.addVoter, addVoterReturned = d.at.Sub(t0), true
		default:
		}
		if entries, err := os.ReadDir(snapDir); err == nil {
			for _, e := range entries {
				tmp := strings.HasSuffix(e.Name(), ".tmp")
				at(&tl.transferStarted, tmp)
				at(&tl.received, !tmp)
			}
		}
		if tl.transferStarted != 0 && !writeStarted {
			writeStarted, writeStart = true, time.Now()
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), limit)
				defer cancel()
				_, err := l.node.Execute(ctx, setting(t, "cmd-catchup-during", "catchup.during", "yes"))
				writeDone <- done{time.Now(), err}
			}()
		}
		if tl.restoreStarted == 0 {
			_, err := os.Stat(restoreFile)
			at(&tl.restoreStarted, err == nil)
		}
		applied := js.AppliedIndex()
		at(&tl.installed, applied >= snap.Index)
		at(&tl.registry, js.Registry().Applicants.Len() == n)
		at(&tl.caughtUp, addVoterReturned && applied >= l.store.AppliedIndex())
		time.Sleep(2 * time.Millisecond)
	}
	var writeLatency time.Duration
	if writeStarted {
		d := <-writeDone
		if d.err != nil {
			t.Fatalf("write during catch-up: %v", d.err)
		}
		writeLatency = d.at.Sub(writeStart)
	}

	// The new node's state is the leader's: the apps, their keys parsed, the
	// sealed App_Secret that opens, the writes before and during catch-up.
	reg := js.Registry()
	cred, err := reg.Applicants.Credential(sample.appID, "sig-1", time.Now())
	if err != nil || cred.PublicKey() == nil {
		t.Fatalf("new node: %s's signing key: %v", sample.appID, err)
	}
	sec, err := reg.Applicants.Credential(sample.appID, "sec-1", time.Now())
	if err != nil {
		t.Fatalf("new node: %s's secret: %v", sample.appID, err)
	}
	if plain, err := c.sealer.Open(platform.CredentialAAD(sec.ID), sec.SecretSealed); err != nil || string(plain) != sample.secret {
		t.Fatalf("new node: %s's App_Secret does not open: %v", sample.appID, err)
	}
	eventually(t, 5*time.Second, "writes replicated", func() bool {
		return registryHas(joiner, "catchup.before", "yes") && registryHas(joiner, "catchup.during", "yes")
	})

	// Writes once caught up, timed until the leader answers and until the new
	// node has applied them (it learns the commit with the next append or
	// heartbeat, tens of milliseconds later): a setting, and
	// an applicant's update, after which every node rebuilds the whole
	// applicants view (parsed keys reused) in its apply loop.
	timeWrite := func(cmd *platform.Command) (leader, follower time.Duration) {
		t.Helper()
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), limit)
		defer cancel()
		res, err := l.node.Execute(ctx, cmd)
		if err != nil {
			t.Fatalf("%s: %v", cmd.Type, err)
		}
		leader = time.Since(start)
		if err := joiner.node.WaitForIndex(ctx, res.Index); err != nil {
			t.Fatal(err)
		}
		return leader, time.Since(start)
	}
	settingLeader, settingFollower := timeWrite(setting(t, "cmd-catchup-after", "catchup.after", "yes"))
	phone := "13900000000"
	update, err := platform.NewCommand(platform.CmdApplicantUpdate, 1, "cmd-catchup-update",
		platform.Actor{Kind: platform.ActorDeveloper, ID: sample.developerID}, time.Now(),
		platform.ApplicantUpdate{ApplicantID: sample.applicantID, ExpectedVersion: 1, ApplicantChanges: platform.ApplicantChanges{ContactPhone: &phone}})
	if err != nil {
		t.Fatal(err)
	}
	applicantLeader, applicantFollower := timeWrite(update)

	// The parts of a restore, alone, on the leader's snapshot file: a quick
	// check (Restore runs two: CheckFile on the received copy, openDB after
	// the rename), Restore as the FSM runs it, and Store.Open of the restored
	// file (quick check, migrate, registry from nothing), whose registry part
	// is Open less a quick check.
	meta, rc, err := l.node.snaps.Open(snap.ID)
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	snapCopy := filepath.Join(work, "snapshot.db")
	if err := writeFile(snapCopy, rc); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	start = time.Now()
	if err := platform.CheckFile(snapCopy); err != nil {
		t.Fatal(err)
	}
	quickCheck := time.Since(start)
	f, err := os.Open(snapCopy)
	if err != nil {
		t.Fatal(err)
	}
	restored := platform.NewStore(platform.StoreConfig{Path: filepath.Join(work, "state.db")})
	start = time.Now()
	err = restored.Restore(f)
	restoreAlone := time.Since(start)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	restored.Close()
	reopened := platform.NewStore(platform.StoreConfig{Path: filepath.Join(work, "state.db")})
	start = time.Now()
	if err := reopened.Open(); err != nil {
		t.Fatal(err)
	}
	openTime := time.Since(start)
	if got := reopened.Registry().Applicants.Len(); got != n {
		t.Fatalf("reopened store has %d apps, want %d", got, n)
	}
	reopened.Close()

	ms := func(d time.Duration) string {
		if d == 0 {
			return "not seen"
		}
		return d.Round(time.Millisecond).String()
	}
	t.Logf("state: %d apps (%d applicants, %d developers, %d credentials, %d change records), seeded in %v",
		n, n, n, 2*n, 4*n, seedTime.Round(time.Millisecond))
	t.Logf("leader start (store open with registry of %d apps, raft open): %v", n, ms(leaderOpen))
	t.Logf("snapshot on the leader: %v, %d bytes (%.1f MiB) at index %d", ms(snapTime), meta.Size, float64(meta.Size)/(1<<20), meta.Index)
	t.Logf("new node, from AddVoter: transfer started %v, snapshot received %v, FSM restore started %v, installed (applied index ≥ snapshot's) %v, registry has %d apps %v, AddVoter returned %v, applied index ≥ leader's %v",
		ms(tl.transferStarted), ms(tl.received), ms(tl.restoreStarted), ms(tl.installed), n, ms(tl.registry), ms(tl.addVoter), ms(tl.caughtUp))
	t.Logf("a write proposed once the transfer started committed after %v (two voters, quorum two: it waits for the new one)", ms(writeLatency))
	t.Logf("writes once caught up (Execute on the leader returned / applied on the new node): setting.set %v / %v, applicant.update %v / %v (each node updates its view of %d apps for the one applicant)",
		ms(settingLeader), ms(settingFollower), ms(applicantLeader), ms(applicantFollower), n)
	t.Logf("restore alone: quick_check %v, Store.Restore %v, Store.Open of the restored file %v (registry rebuild ≈ %v)",
		ms(quickCheck), ms(restoreAlone), ms(openTime), ms(max(openTime-quickCheck, time.Millisecond)))
}

// seeded is one seeded app, to check on the new node.
type seeded struct{ developerID, applicantID, appID, secret string }

// seedApps writes the state of n apps into the store file at path, directly
// with SQL in one transaction, before Raft starts on it: applying the ~4n
// commands that make such a state through Raft would take far longer than the
// measurement (each applied batch rebuilds the applicants view), and catch-up
// copies the resulting file whatever wrote it. Each app is an applicant's
// sandbox app with its developer, an SM2 signing public key (its own key, PEM)
// and an App_Secret sealed with the cluster's sealer as the portal seals it,
// plus the change records the commands would have left (developer.create,
// applicant.register, two credential.create), since the changes table is never
// pruned and so is part of every snapshot. Their log indexes are negative so
// that they never collide with the indexes of this test's real log.
func seedApps(t *testing.T, sealer Sealer, path string, n int) seeded {
	t.Helper()
	// Migrations first, through the store.
	s := platform.NewStore(platform.StoreConfig{Path: path})
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	prep := func(q string) *sql.Stmt {
		st, err := tx.Prepare(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return st
	}
	insDev := prep(`INSERT INTO developers (id, email, name, password_hash, status, created_ms, updated_ms) VALUES (?, ?, ?, ?, 'active', ?, ?)`)
	insApl := prep(`INSERT INTO applicants (id, owner_developer_id, name, uscc, contact_name, contact_email, contact_phone,
		callback_url, redirect_uris, ip_allow, status, status_reason, version, created_ms, created_by, updated_ms, updated_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'sandbox', '', 1, ?, ?, ?, ?)`)
	insApp := prep(`INSERT INTO apps (id, applicant_id, env, status, created_ms, created_by, updated_ms) VALUES (?, ?, 'sandbox', 'active', ?, ?, ?)`)
	insCred := prep(`INSERT INTO credentials (id, app_id, kind, serial, status, not_before_ms, not_after_ms, public_pem, created_ms, created_by)
		VALUES (?, ?, ?, ?, 'active', ?, ?, ?, ?, ?)`)
	insSecret := prep(`INSERT INTO credential_secrets (credential_id, sealed) VALUES (?, ?)`)
	insChange := prep(`INSERT INTO changes (log_index, command_id, type, type_version, at_ms, actor_kind, actor_id, actor_addr, actor_node, ok, error_code, result)
		VALUES (?, ?, ?, 1, ?, ?, ?, ?, 'n1', 1, '', ?)`)
	exec := func(st *sql.Stmt, args ...any) {
		if _, err := st.Exec(args...); err != nil {
			t.Fatalf("seeding: %v", err)
		}
	}
	b64 := base64.RawStdEncoding
	var logIndex int64
	change := func(typ string, at int64, kind, actor, addr, result string) {
		logIndex--
		exec(insChange, logIndex, platform.NewCommandID(), typ, at, kind, actor, addr, result)
	}
	var sample seeded
	base := time.Now().Add(-2 * 365 * 24 * time.Hour).UnixMilli()
	for i := 0; i < n; i++ {
		at := base + int64(i)*600_000 // one registration every 10 minutes
		day := int64(24 * time.Hour / time.Millisecond)
		devID, aplID, appID := platform.NewID("dev"), platform.NewID("apl"), platform.NewAppID(time.UnixMilli(at))
		sigID, secID := platform.NewID("crd"), platform.NewID("crd")
		by := "developer:" + devID
		addr := fmt.Sprintf("198.51.100.%d:%d", i%250+1, 40000+i%20000)
		org := fmt.Sprintf("org%06d.example.cn", i)

		// A password hash of HashPassword's form and size (computing 100,000
		// real ones would take an hour).
		hash := fmt.Sprintf("pbkdf2-sm3$%d$%s$%s", platform.PasswordIterations,
			b64.EncodeToString(randomBytes(t, 16)), b64.EncodeToString(randomBytes(t, 32)))
		exec(insDev, devID, "dev@"+org, fmt.Sprintf("开发者%06d", i), hash, at, at)
		change(platform.CmdDeveloperCreate, at, platform.ActorSystem, "portal", addr, fmt.Sprintf(`{"id":%q}`, devID))

		exec(insApl, aplID, devID, fmt.Sprintf("示例金融科技有限公司%06d", i), fmt.Sprintf("91310000MA%08d", i),
			"张三", "ops@"+org, fmt.Sprintf("138%08d", i), "https://api."+org+"/lijiang/callback",
			`["https://app.`+org+`/oauth/callback"]`, fmt.Sprintf(`["203.0.%d.0/24"]`, i%256), at, by, at, by)
		exec(insApp, appID, aplID, at, by, at)
		change(platform.CmdApplicantRegister, at, platform.ActorDeveloper, devID, addr,
			fmt.Sprintf(`{"applicant_id":%q,"status":"sandbox","version":1,"sandbox_app_id":%q}`, aplID, appID))

		key, err := smcrypto.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := smcrypto.MarshalPublicKeyPEM(&key.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		nb, na := at, at+3*365*day
		exec(insCred, sigID, appID, platform.CredentialSM2Sign, "sig-1", nb, na, string(pub), at, by)
		change(platform.CmdCredentialCreate, at, platform.ActorDeveloper, devID, addr,
			fmt.Sprintf(`{"credential_id":%q,"app_id":%q,"kind":"sm2_sign","serial":"sig-1","status":"active","not_before_ms":%d,"not_after_ms":%d}`, sigID, appID, nb, na))

		secret := platform.NewAppSecret()
		sealed, err := sealer.Seal(platform.CredentialAAD(secID), []byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		exec(insCred, secID, appID, platform.CredentialSecret, "sec-1", nb, na, "", at+1, by)
		exec(insSecret, secID, sealed)
		change(platform.CmdCredentialCreate, at+1, platform.ActorDeveloper, devID, addr,
			fmt.Sprintf(`{"credential_id":%q,"app_id":%q,"kind":"secret","serial":"sec-1","status":"active","not_before_ms":%d,"not_after_ms":%d}`, secID, appID, nb, na))
		if i == n/2 {
			sample = seeded{developerID: devID, applicantID: aplID, appID: appID, secret: secret}
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return sample
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b, err := smcrypto.RandomBytes(nil, n)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(path string, r io.Reader) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
