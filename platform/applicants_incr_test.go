package platform

import (
	"database/sql"
	"fmt"
	"lijiang/platform/smcrypto"
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"
	"time"
)

// aplViewDump is a deep, comparable copy of an applicants view.
type aplViewDump map[string]aplAppDump

type aplAppDump struct {
	Entry string
	Creds []string // newest first, as the view orders them
	Keys  []string // serials found by serial, sorted
}

func aplDumpView(v *ApplicantsView) aplViewDump {
	d := aplViewDump{}
	if v == nil {
		return d
	}
	// The count is part of the dump: an incremental update must keep it.
	d["#len"] = aplAppDump{Entry: fmt.Sprint(v.Len())}
	n := 0
	for i, t := range v.shards {
		if t == nil {
			continue
		}
		for j := range t.ents {
			e := t.entry(uint32(j))
			n++
			if aplShard(e.ID) != i {
				d[e.ID+"#shard"] = aplAppDump{Entry: "in the wrong shard"}
			}
			if got, ok := v.App(e.ID); !ok || got.t != t || got.e != uint32(j) {
				d[e.ID+"#lookup"] = aplAppDump{Entry: "not found by its App_ID"}
			}
			if _, dup := d[e.ID]; dup {
				d[e.ID+"#twice"] = aplAppDump{Entry: "in the view twice"}
			}
			d[e.ID] = aplDumpApp(e)
		}
	}
	if n != v.Len() {
		d["#count"] = aplAppDump{Entry: fmt.Sprintf("%d apps in the tables, Len %d", n, v.Len())}
	}
	return d
}

func aplDumpApp(e *AppEntry) aplAppDump {
	{
		a := aplAppDump{Entry: fmt.Sprintf("%s|%s|%s|%s|%s|%v|%v", e.ID, e.ApplicantID, e.Env, e.Status, e.ApplicantStatus(), e.IPAllow(), e.Active())}
		from, to := e.creds()
		for i := from; i < to; i++ {
			cc := e.t.credential(e, i)
			key := "<nil>"
			if pub := cc.PublicKey(); pub != nil {
				key = pub.X.Text(16) + "," + pub.Y.Text(16)
			}
			cc.vt, cc.vi = nil, 0
			a.Creds = append(a.Creds, fmt.Sprintf("%+v|key=%s|sealed=%x|ra=%v|wa=%v|cna=%v", cc, key, cc.SecretSealed,
				deref(cc.RevokedAt), deref(cc.ExpiryWarnedAt), deref(cc.CertNotAfter)))
		}
		for i := from; i < to; i++ {
			if got, ok := e.credential(e.t.credSerial(i)); ok {
				a.Keys = append(a.Keys, e.t.credSerial(i)+"="+e.t.credID(got))
			}
		}
		sort.Strings(a.Keys)
		return a
	}
}

func deref(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.String()
}

// TestApplicantsViewIncrementalEqualsFull applies a random sequence of
// applicant, request, app and credential commands, in batches of one to
// three, and checks after each batch that the incrementally updated view
// equals a full reload, and that the previous view was left unchanged.
func TestApplicantsViewIncrementalEqualsFull(t *testing.T) {
	e := newAplEnv(t)
	rng := rand.New(rand.NewPCG(1, 2))
	steps := 400
	if testing.Short() {
		steps = 120
	}
	type cmd struct {
		actor   Actor
		typ     string
		payload any
	}
	var keys []string // a few SM2 public keys, reused across apps
	for range 4 {
		_, pem, _ := aplSM2Key(t)
		keys = append(keys, pem)
	}
	pick := func(db *sql.DB, q string, args ...any) []string {
		rows, err := db.Query(q, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return out
	}
	one := func(xs []string) (string, bool) {
		if len(xs) == 0 {
			return "", false
		}
		return xs[rng.IntN(len(xs))], true
	}
	db := e.s.db
	next := func() (cmd, bool) {
		switch rng.IntN(12) {
		case 0, 1:
			uscc := aplMakeUSCC(t, fmt.Sprintf("91110000%08d", rng.IntN(1e8)))
			return cmd{e.dev, CmdApplicantRegister, e.registration(e.dev, uscc)}, true
		case 2:
			id, ok := one(pick(db, "SELECT id FROM applicants"))
			if !ok {
				return cmd{}, false
			}
			a := e.applicant(id)
			u := &ApplicantUpdate{ApplicantID: id, ExpectedVersion: a.Version}
			switch rng.IntN(3) {
			case 0:
				u.IPAllow = &[]string{fmt.Sprintf("198.51.100.%d/32", rng.IntN(250))}
			case 1:
				u.RedirectURIs = &[]string{fmt.Sprintf("https://app%d.example.com/cb", rng.IntN(100))}
			default:
				u.CallbackURL = ptr(fmt.Sprintf("https://hooks%d.example.com/x", rng.IntN(100)))
			}
			return cmd{e.dev, CmdApplicantUpdate, u}, true
		case 3:
			id, ok := one(pick(db, "SELECT id FROM applicants WHERE status IN (?, ?)", ApplicantSandbox, ApplicantRejected))
			if !ok {
				return cmd{}, false
			}
			return cmd{e.dev, CmdProductionRequestSubmit, &ProductionRequestSubmit{RequestID: NewID("prq"), ApplicantID: id, APIIDs: e.apis[:1], AgreementVersion: "2025.1"}}, true
		case 4:
			id, ok := one(pick(db, "SELECT id FROM production_requests WHERE status = ?", RequestPendingReview))
			if !ok {
				return cmd{}, false
			}
			r := e.request(id)
			if rng.IntN(3) == 0 {
				return cmd{e.reviewer, CmdProductionRequestReject, &ProductionRequestDecision{RequestID: id, ExpectedVersion: r.Version, Reason: "no", NoticeID: NewID("ntc")}}, true
			}
			return cmd{e.reviewer, CmdProductionRequestApprove, &ProductionRequestDecision{RequestID: id, ExpectedVersion: r.Version, ProductionAppID: NewAppID(e.now), NoticeID: NewID("ntc")}}, true
		case 5:
			id, ok := one(pick(db, "SELECT id FROM applicants WHERE status IN (?, ?)", ApplicantApproved, ApplicantSuspended))
			if !ok {
				return cmd{}, false
			}
			a := e.applicant(id)
			if a.Status == ApplicantApproved {
				return cmd{e.operator, CmdApplicantSuspend, &ApplicantStatusChange{ApplicantID: id, ExpectedVersion: a.Version, Reason: "audit", NoticeID: NewID("ntc")}}, true
			}
			return cmd{e.operator, CmdApplicantResume, &ApplicantStatusChange{ApplicantID: id, ExpectedVersion: a.Version, NoticeID: NewID("ntc")}}, true
		case 6:
			if rng.IntN(4) != 0 {
				return cmd{}, false
			}
			id, ok := one(pick(db, "SELECT id FROM applicants WHERE status <> ?", ApplicantExited))
			if !ok {
				return cmd{}, false
			}
			a := e.applicant(id)
			return cmd{e.operator, CmdApplicantExit, &ApplicantStatusChange{ApplicantID: id, ExpectedVersion: a.Version, Reason: "gone", NoticeID: NewID("ntc")}}, true
		case 7, 8, 9:
			app, ok := one(pick(db, "SELECT id FROM apps"))
			if !ok {
				return cmd{}, false
			}
			p := &CredentialCreate{CredentialID: NewID("crd"), AppID: app}
			switch rng.IntN(3) {
			case 0:
				_, p = e.secret(app)
			case 1:
				p.Kind, p.PublicKey = CredentialSM2Sign, keys[rng.IntN(len(keys))]
			default:
				p.Kind, p.PublicKey = CredentialSM2Enc, keys[rng.IntN(len(keys))]
			}
			if rng.IntN(3) == 0 {
				p.NotBeforeMs = e.now.UnixMilli()
				p.NotAfterMs = e.now.Add(time.Duration(1+rng.IntN(40)) * 24 * time.Hour).UnixMilli()
			}
			return cmd{e.dev, CmdCredentialCreate, p}, true
		case 10:
			id, ok := one(pick(db, "SELECT id FROM credentials WHERE status = ?", CredentialActive))
			if !ok {
				return cmd{}, false
			}
			return cmd{e.dev, CmdCredentialRevoke, &CredentialRevoke{CredentialID: id, Reason: "rotated"}}, true
		default:
			id, ok := one(pick(db, "SELECT id FROM credentials"))
			if !ok {
				return cmd{}, false
			}
			return cmd{e.operator, CmdCredentialWarnExpiry, &CredentialWarnExpiry{CredentialID: id, NoticeID: NewID("ntc"), WithinDays: 60}}, true
		}
	}
	ok, refused := 0, 0
	for step := 0; step < steps; step++ {
		var batch []Entry
		for range 1 + rng.IntN(3) {
			c, have := next()
			if !have {
				continue
			}
			cm, err := NewCommand(c.typ, 1, "", c.actor, e.now, c.payload)
			if err != nil {
				continue // refused by Validate on the proposer's side
			}
			e.idx++
			batch = append(batch, Entry{Index: e.idx, Term: 1, Data: mustEncode(t, cm)})
		}
		if len(batch) == 0 {
			continue
		}
		prev := e.s.Registry()
		prevDump := aplDumpView(prev.Applicants)
		for _, r := range e.s.Apply(batch) {
			if r.Err != nil {
				refused++
			} else {
				ok++
			}
		}
		if err := e.s.Healthy(); err != nil {
			t.Fatal(err)
		}
		if got := aplDumpView(prev.Applicants); !reflect.DeepEqual(got, prevDump) {
			t.Fatalf("step %d: the previous, published view was changed", step)
		}
		full, err := loadRegistry(db, PartAll, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, want := aplDumpView(e.s.Registry().Applicants), aplDumpView(full.Applicants)
		if !reflect.DeepEqual(got, want) {
			for id := range want {
				if !reflect.DeepEqual(got[id], want[id]) {
					t.Errorf("app %s:\n incremental %+v\n full        %+v", id, got[id], want[id])
				}
			}
			for id := range got {
				if _, in := want[id]; !in {
					t.Errorf("app %s only in the incremental view", id)
				}
			}
			t.Fatalf("step %d: incremental view differs from a full reload", step)
		}
		e.now = e.now.Add(time.Duration(rng.IntN(36)) * time.Hour)
	}
	if ok < steps/2 || e.s.Registry().Applicants.Len() < 10 {
		t.Fatalf("too few commands applied: %d applied, %d refused, %d apps", ok, refused, e.s.Registry().Applicants.Len())
	}
	t.Logf("%d commands applied, %d refused, %d apps", ok, refused, e.s.Registry().Applicants.Len())

	// The view's credentials hold what the credential reads from SQL do
	// (the view reads the rarely set columns packed into one).
	var revoked, warned int
	var ids []string
	e.s.Registry().Applicants.each(func(a *AppEntry) { ids = append(ids, a.ID) })
	for _, id := range ids {
		{
			for _, c := range e.s.Registry().Applicants.Credentials(id) {
				want, err := e.s.Credential(c.ID, e.now)
				if err != nil {
					t.Fatal(err)
				}
				// The view keeps the key, not its PEM, and not the creator.
				if want.PublicKeyPEM != "" {
					pub, err := smcrypto.ParsePublicKey([]byte(want.PublicKeyPEM))
					if got := c.PublicKey(); err != nil || got == nil || !pub.Equal(got) {
						t.Errorf("credential %s: view's key %v, SQL's %s (%v)", c.ID, got, want.PublicKeyPEM, err)
					}
				}
				want.PublicKeyPEM, want.CreatedAt, want.CreatedBy = "", time.Time{}, ""
				c.vt, c.vi, c.SecretSealed, c.State = nil, 0, nil, want.State
				if !reflect.DeepEqual(c, want) {
					t.Errorf("credential %s:\n view %+v\n SQL  %+v", c.ID, c, want)
				}
				if c.RevokedAt != nil {
					revoked++
				}
				if c.ExpiryWarnedAt != nil {
					warned++
				}
			}
		}
	}
	if revoked == 0 {
		t.Errorf("no revoked credential: the comparison misses the packed columns")
	}
	t.Logf("%d revoked and %d warned credentials compared with SQL", revoked, warned)
}

// TestRegistryFullReloadWithoutTouch checks the safe default: a command that
// changes an incrementally loaded part without naming its keys makes the
// whole part reload.
func TestRegistryFullReloadWithoutTouch(t *testing.T) {
	e := newAplEnv(t)
	a := e.register(e.dev, aplUSCC)
	// Change the state behind the commands' back, then apply a command that
	// names nothing: the change shows only after a full reload.
	if _, err := e.s.db.Exec("UPDATE apps SET status = ? WHERE id = ?", AppExited, a.SandboxAppID); err != nil {
		t.Fatal(err)
	}
	tx := &Tx{parts: PartApplicants}
	tx.Touch(PartApplicants) // touches nothing
	r, err := loadRegistryChange(e.s.db, tx.change(), e.s.Registry())
	if err != nil {
		t.Fatal(err)
	}
	if app, _ := r.Applicants.App(a.SandboxAppID); app.Status != AppActive {
		t.Fatalf("a change naming no applicant reloaded it")
	}
	tx = &Tx{parts: PartApplicants, full: PartApplicants}
	r, err = loadRegistryChange(e.s.db, tx.change(), e.s.Registry())
	if err != nil {
		t.Fatal(err)
	}
	if app, _ := r.Applicants.App(a.SandboxAppID); app.Status != AppExited {
		t.Fatalf("a change without touched keys did not reload the part")
	}
	tx = &Tx{parts: PartApplicants}
	tx.Touch(PartApplicants, a.ApplicantID)
	r, err = loadRegistryChange(e.s.db, tx.change(), e.s.Registry())
	if err != nil {
		t.Fatal(err)
	}
	if app, _ := r.Applicants.App(a.SandboxAppID); app.Status != AppExited {
		t.Fatalf("touching the applicant did not reload its apps")
	}
}
