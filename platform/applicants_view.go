package platform

import (
	"bytes"
	"crypto/ecdsa"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/emmansun/gmsm/sm2"
)

// AppEntry is an app as the gateway sees it in the registry: the app, its
// applicant's status and access rules, and its credentials by serial.
//
// It keeps what the gateway and consent use of the App: ID, ApplicantID,
// Env and Status (the store's App reads have the rest). The view builds
// one for each look-up from its packed tables (aplTable); its strings are
// parts of the table's text.
type AppEntry struct {
	ID, ApplicantID, Env, Status string
	rules                        *aplRules // its applicant's, shared by the applicant's apps

	t *aplTable // the table it was read from; nil for an entry built elsewhere
	e uint32    // its index in t.ents
}

// aplRules is an applicant's status and IP allow-list as its apps' entries
// share them: every applicant with the same (most have no list) shares one.
// Nobody modifies them once loaded.
type aplRules struct {
	status  string
	ipAllow []netip.Prefix // empty allows any address
}

// aplNoRules are the rules of an entry built without an applicant.
var aplNoRules = &aplRules{}

func (a *AppEntry) applicant() *aplRules {
	if a.rules == nil {
		return aplNoRules
	}
	return a.rules
}

// ApplicantStatus is the status of the app's applicant.
func (a *AppEntry) ApplicantStatus() string { return a.applicant().status }

// IPAllow is the applicant's IP allow-list; empty allows any address.
func (a *AppEntry) IPAllow() []netip.Prefix { return a.applicant().ipAllow }

// Active reports whether the app may call: the app is active and its
// applicant neither suspended nor exited.
func (a *AppEntry) Active() bool {
	st := a.ApplicantStatus()
	return a.Status == AppActive && st != ApplicantSuspended && st != ApplicantExited
}

// AllowsAddr reports whether addr is in the app's IP allow-list (an empty
// list allows any address).
func (a *AppEntry) AllowsAddr(addr netip.Addr) bool {
	allow := a.IPAllow()
	if len(allow) == 0 {
		return true
	}
	addr = addr.Unmap().WithZone("")
	for _, p := range allow {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// creds is the range of the entry's credentials in its table, newest first.
func (a *AppEntry) creds() (from, to uint32) {
	if a.t == nil {
		return 0, 0
	}
	e := &a.t.ents[a.e]
	return e.cred0, e.cred0 + e.ncred
}

// credential returns the index in a.t of the app's credential with serial.
func (a *AppEntry) credential(serial string) (uint32, bool) {
	from, to := a.creds()
	if to-from > aplSerialMapMin {
		i, ok := a.t.many[aplSerialKey(a.ID, serial)]
		return i, ok
	}
	for i := from; i < to; i++ {
		if a.t.credSerial(i) == serial {
			return i, true
		}
	}
	return 0, false
}

// The applicants view's tables.
//
// A registry of 100,000 apps keeps some 300,000 apps and credentials. Held
// as Go objects with strings (as they were), each collection followed
// about a dozen pointers an app, some 45 ms of CPU a cycle, the collector's
// largest share of a call (docs/performance.md: A1 with 100,000 apps). A
// table now keeps them in a few arrays without pointers (aplEnt, aplCred,
// their strings and keys in one byte array), which the collector does not
// scan: only the few slices of each of the 1,024 tables, and the parsed
// keys and rarely set columns beside them.

// aplEnt is an app in a table.
type aplEnt struct {
	text          uint32 // offset in the table's text of its App_ID, then its applicant's id
	idLen, aplLen uint16
	env, status   uint8  // in aplAppEnvs, aplAppStatuses
	rules         uint32 // index in the table's rules
	cred0, ncred  uint32 // its credentials in the table's creds, newest first
}

// aplCred is a credential in a table: what the gateway needs of it, without
// its app and applicant (the entry's), its creator or its PEM text; the SM2
// key as its point (aplCompactKey).
type aplCred struct {
	text             uint32 // offset in the table's text of its id, serial, then blob
	idLen, serialLen uint16
	// blob is an sm2 kind's public key, its point 04||X||Y when the stored
	// PEM is the SubjectPublicKeyInfo of one (as registration writes it),
	// else the stored text; or a secret's sealed App_Secret.
	blobLen      uint32
	nb, na       int64  // Unix ms
	more         uint32 // 1 + index in the table's more; 0 when none
	kind, status uint8  // in aplCredKinds, aplCredStatuses
}

// aplTable is one shard's apps: their entries and credentials, and an index
// of the entries by App_ID (open addressing with linear probing over a
// power-of-two number of slots, at most half of them used). It is
// immutable once built (aplBuilder): an update builds the shard's table
// again.
type aplTable struct {
	slots []uint32 // 1 + index in ents; 0 when free
	ents  []aplEnt
	creds []aplCred
	// text holds the entries' and credentials' strings and byte strings:
	// never written once built, so the strings handed out alias it.
	text  []byte
	rules []*aplRules
	more  []*credMore
	// keys are the credentials' SM2 keys (by index in creds), parsed the
	// first time the gateway needs them rather than when the registry is
	// loaded (parsing and checking 100,000 points was a tenth of a full
	// load, and most keys of a large registry are not used between two
	// loads); aplBadKey when one does not parse. The next table takes them
	// over.
	keys []atomic.Pointer[ecdsa.PublicKey]
	// many indexes the credentials of apps with more than aplSerialMapMin
	// of them, by aplSerialKey; most apps have two or three.
	many map[string]uint32
}

// aplSerialMapMin is how many credentials an app has before its table
// indexes them by serial.
const aplSerialMapMin = 8

// aplSerialKey is the key of an app's credential in aplTable.many.
func aplSerialKey(appID, serial string) string { return appID + "\x00" + serial }

// str returns n bytes of the table's text at off as a string.
func (t *aplTable) str(off uint32, n int) string {
	if n == 0 {
		return ""
	}
	return unsafe.String(&t.text[off], n)
}

func (t *aplTable) entID(i uint32) string {
	e := &t.ents[i]
	return t.str(e.text, int(e.idLen))
}

func (t *aplTable) credID(i uint32) string {
	c := &t.creds[i]
	return t.str(c.text, int(c.idLen))
}

func (t *aplTable) credSerial(i uint32) string {
	c := &t.creds[i]
	return t.str(c.text+uint32(c.idLen), int(c.serialLen))
}

// credBlob returns the credential's blob (nil when empty); nobody modifies
// it.
func (t *aplTable) credBlob(i uint32) []byte {
	c := &t.creds[i]
	if c.blobLen == 0 {
		return nil
	}
	off := c.text + uint32(c.idLen) + uint32(c.serialLen)
	return t.text[off : off+c.blobLen : off+c.blobLen]
}

// find returns the index of the app appID, of hash h, in t.
func (t *aplTable) find(appID string, h uint32) (uint32, bool) {
	if t == nil || len(t.slots) == 0 {
		return 0, false
	}
	mask := uint32(len(t.slots) - 1)
	for i := (h / aplShards) & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s == 0 {
			return 0, false
		}
		if t.entID(s-1) == appID {
			return s - 1, true
		}
	}
}

// entry builds the AppEntry of the app at index i.
func (t *aplTable) entry(i uint32) *AppEntry {
	a := new(AppEntry)
	t.fill(a, i)
	return a
}

// fill sets a to the app at index i.
func (t *aplTable) fill(a *AppEntry, i uint32) {
	e := &t.ents[i]
	*a = AppEntry{ID: t.str(e.text, int(e.idLen)), ApplicantID: t.str(e.text+uint32(e.idLen), int(e.aplLen)),
		Env: aplAppEnvs[e.env], Status: aplAppStatuses[e.status], rules: t.rules[e.rules], t: t, e: i}
}

// credential builds the Credential at index i, of app a: without its
// creator, creation time and PEM text, which the view does not keep (the
// store's credential reads have them).
func (t *aplTable) credential(a *AppEntry, i uint32) Credential {
	c := &t.creds[i]
	out := Credential{ID: t.credID(i), AppID: a.ID, ApplicantID: a.ApplicantID, Kind: aplCredKinds[c.kind], Serial: t.credSerial(i),
		Status: aplCredStatuses[c.status], NotBefore: time.UnixMilli(c.nb).UTC(), NotAfter: time.UnixMilli(c.na).UTC(), vt: t, vi: i}
	if out.Kind == CredentialSecret {
		out.SecretSealed = t.credBlob(i)
	}
	if c.more != 0 {
		m := t.more[c.more-1]
		out.CertPEM, out.CertSHA256, out.CertSM3, out.CertSubject = m.certPEM, m.certSHA256, m.certSM3, m.certSubject
		out.RevokedBy, out.RevokeReason = m.revokedBy, m.revokeReason
		out.CertNotAfter, out.RevokedAt, out.ExpiryWarnedAt = msTime(m.certNA), msTime(m.revoked), msTime(m.warned)
	}
	return out
}

// publicKey returns the SM2 key of the credential at index i, parsed on
// first use, or nil. Two goroutines may parse it at once; both store the
// same key.
func (t *aplTable) publicKey(i uint32) *ecdsa.PublicKey {
	p := t.keys[i].Load()
	if p == nil {
		p = aplParseStoredKey(t.creds[i].kind, t.credBlob(i))
		t.keys[i].Store(p)
	}
	if p == aplBadKey {
		return nil
	}
	return p
}

// aplParseStoredKey parses what the view keeps of a credential's key (see
// aplCred.blob), or returns aplBadKey: for another kind, or a stored key
// that does not parse.
func aplParseStoredKey(kind uint8, blob []byte) *ecdsa.PublicKey {
	if !aplIsSM2(kind) {
		return aplBadKey
	}
	var pub *ecdsa.PublicKey
	var err error
	if len(blob) == 65 && blob[0] == 0x04 {
		pub, err = sm2.NewPublicKey(blob)
	} else {
		pub, err = aplParsePublicKey(string(blob))
	}
	if err != nil {
		return aplBadKey
	}
	return pub
}

// aplBadKey marks a stored key that does not parse.
var aplBadKey = new(ecdsa.PublicKey)

// aplCredKinds and aplCredStatuses are the values the credentials table
// allows (its CHECK constraints), aplAppEnvs and aplAppStatuses the apps
// table's, as the view numbers them.
var (
	aplCredKinds    = []string{CredentialSecret, CredentialSM2Sign, CredentialSM2Enc, CredentialClientCert}
	aplCredStatuses = []string{CredentialActive, CredentialRevoked}
	aplAppEnvs      = []string{EnvSandbox, EnvProduction}
	aplAppStatuses  = []string{AppActive, AppExited}
)

func aplEnum(values []string, s string) (uint8, bool) {
	for i, v := range values {
		if v == s {
			return uint8(i), true
		}
	}
	return 0, false
}

// aplIsSM2 reports whether a credential of kind is an SM2 key.
func aplIsSM2(kind uint8) bool {
	k := aplCredKinds[kind]
	return k == CredentialSM2Sign || k == CredentialSM2Enc
}

// aplBuilder builds a table.
type aplBuilder struct {
	t     aplTable
	keys  []*ecdsa.PublicKey // by credential, the parsed keys taken over
	rules map[*aplRules]uint32
}

// newAplBuilder returns a builder for about apps apps, creds credentials
// and text bytes of their strings.
func newAplBuilder(apps, creds, text int) *aplBuilder {
	return &aplBuilder{
		t: aplTable{ents: make([]aplEnt, 0, apps), creds: make([]aplCred, 0, creds),
			text: make([]byte, 0, text)},
		keys:  make([]*ecdsa.PublicKey, 0, creds),
		rules: map[*aplRules]uint32{},
	}
}

// text appends x, y and z to the table's text and returns their offset.
func (b *aplBuilder) text(x, y string, z []byte) uint32 {
	off := len(b.t.text)
	b.t.text = append(append(append(b.t.text, x...), y...), z...)
	return uint32(off)
}

// app appends an app, before its credentials (cred).
func (b *aplBuilder) app(id, applicantID string, env, status uint8, rules *aplRules) error {
	if len(id) > math.MaxUint16 || len(applicantID) > math.MaxUint16 || len(b.t.text) > math.MaxUint32-(1<<20) {
		return fmt.Errorf("%w: app %.40q: an id too long, or too many for one table", ErrCorrupt, id)
	}
	if rules == nil {
		rules = aplNoRules
	}
	r, ok := b.rules[rules]
	if !ok {
		r = uint32(len(b.t.rules))
		b.t.rules = append(b.t.rules, rules)
		b.rules[rules] = r
	}
	b.t.ents = append(b.t.ents, aplEnt{text: b.text(id, applicantID, nil), idLen: uint16(len(id)), aplLen: uint16(len(applicantID)),
		env: env, status: status, rules: r, cred0: uint32(len(b.t.creds))})
	return nil
}

// cred appends a credential of the last app, its key when already parsed.
func (b *aplBuilder) cred(id, serial string, blob []byte, nb, na int64, more *credMore, kind, status uint8, key *ecdsa.PublicKey) error {
	if len(id) > math.MaxUint16 || len(serial) > math.MaxUint16 || len(blob) > math.MaxInt32 ||
		uint64(len(b.t.text))+uint64(len(id)+len(serial)+len(blob)) > math.MaxUint32 {
		return fmt.Errorf("%w: credential %.40q: an id, serial or key too long, or too many for one table", ErrCorrupt, id)
	}
	c := aplCred{text: b.text(id, serial, blob), idLen: uint16(len(id)), serialLen: uint16(len(serial)), blobLen: uint32(len(blob)),
		nb: nb, na: na, kind: kind, status: status}
	if more != nil {
		b.t.more = append(b.t.more, more)
		c.more = uint32(len(b.t.more))
	}
	b.t.creds = append(b.t.creds, c)
	b.keys = append(b.keys, key)
	b.t.ents[len(b.t.ents)-1].ncred++
	return nil
}

// copyApp appends the app at index i of old, as it is there.
func (b *aplBuilder) copyApp(old *aplTable, i uint32) error {
	e := &old.ents[i]
	if err := b.app(old.entID(i), old.str(e.text+uint32(e.idLen), int(e.aplLen)), e.env, e.status, old.rules[e.rules]); err != nil {
		return err
	}
	for j := e.cred0; j < e.cred0+e.ncred; j++ {
		c := &old.creds[j]
		var more *credMore
		if c.more != 0 {
			more = old.more[c.more-1]
		}
		if err := b.cred(old.credID(j), old.credSerial(j), old.credBlob(j), c.nb, c.na, more, c.kind, c.status, old.keys[j].Load()); err != nil {
			return err
		}
	}
	return nil
}

// loadedApp appends an app as aplLoadApps read it, taking over the keys
// prev has parsed of the same credentials (a credential's key never
// changes).
func (b *aplBuilder) loadedApp(a *aplLoaded, prev *ApplicantsView) error {
	if err := b.app(a.id, a.applicantID, a.env, a.status, a.rules); err != nil {
		return err
	}
	for i := range a.creds {
		c := &a.creds[i]
		var key *ecdsa.PublicKey
		if aplIsSM2(c.kind) {
			key = prev.aplCachedKey(a.id, c.serial, c.id, c.blob)
		}
		if err := b.cred(c.id, c.serial, c.blob, c.nb, c.na, c.more, c.kind, c.status, key); err != nil {
			return err
		}
	}
	return nil
}

// finish returns the table, its index built.
func (b *aplBuilder) finish() *aplTable {
	t := &b.t
	t.text = slices.Clip(t.text)
	t.slots = make([]uint32, aplTableSize(len(t.ents)))
	mask := uint32(len(t.slots) - 1)
	for i := range t.ents {
		h := aplHash(t.entID(uint32(i)))
		j := (h / aplShards) & mask
		for t.slots[j] != 0 {
			j = (j + 1) & mask
		}
		t.slots[j] = uint32(i) + 1
	}
	t.keys = make([]atomic.Pointer[ecdsa.PublicKey], len(t.creds))
	for i, k := range b.keys {
		if k != nil {
			t.keys[i].Store(k)
		}
	}
	for i := range t.ents {
		e := &t.ents[i]
		if e.ncred <= aplSerialMapMin {
			continue
		}
		if t.many == nil {
			t.many = map[string]uint32{}
		}
		id := t.entID(uint32(i))
		// Newest first: of two credentials with one serial (which
		// registration refuses), the newest is found, as in a scan.
		for j := e.cred0 + e.ncred; j > e.cred0; j-- {
			t.many[aplSerialKey(id, t.credSerial(j-1))] = j - 1
		}
	}
	return t
}

// aplTableSize is the slots of a table for n apps.
func aplTableSize(n int) int {
	size := 8
	for size < 2*n {
		size <<= 1
	}
	return size
}

// ApplicantsView is the registry's view of applicants' apps and credentials,
// for the gateway's hot path: look-ups only, keys parsed once. It is
// immutable once published in a Registry.
//
// The apps are held in aplShards tables by a hash of the App_ID, so that a
// batch of commands touching a few applicants builds again the few tables
// holding their apps, not a table of every app: with 100,000 apps, copying
// one map per applied batch cost more than the batch itself.
type ApplicantsView struct {
	shards [aplShards]*aplTable // by App_ID, in shard aplShard(App_ID); nil when empty
	n      int
}

// aplShards is how many tables an ApplicantsView's apps are spread over:
// about 100 apps each at 100,000 apps.
const aplShards = 1024

// aplHash is the hash of an App_ID: FNV-1a, over a string of any length
// (the gateway looks up App_IDs as clients send them). Its low bits choose
// the shard, the others the slot in the shard's table.
func aplHash(appID string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(appID); i++ {
		h ^= uint32(appID[i])
		h *= 16777619
	}
	return h
}

// aplShard is the shard of an App_ID.
func aplShard(appID string) int { return int(aplHash(appID) % aplShards) }

// App returns the app with the given App_ID.
func (v *ApplicantsView) App(appID string) (*AppEntry, bool) {
	t, i, ok := v.lookup(appID)
	if !ok {
		return nil, false
	}
	return t.entry(i), true
}

// AppInto sets *a to the app with the given App_ID and reports whether it
// is known: App without an allocation, for a caller that holds an
// AppEntry already (the gateway's call).
func (v *ApplicantsView) AppInto(appID string, a *AppEntry) bool { return v.app(appID, a) }

// lookup returns the table and index of the app appID.
func (v *ApplicantsView) lookup(appID string) (*aplTable, uint32, bool) {
	if v == nil {
		return nil, 0, false
	}
	h := aplHash(appID)
	t := v.shards[h%aplShards]
	i, ok := t.find(appID, h)
	return t, i, ok
}

// app sets a to the app appID, for the view's own methods: a, on their
// stack, costs no allocation as App's entry does.
func (v *ApplicantsView) app(appID string, a *AppEntry) bool {
	t, i, ok := v.lookup(appID)
	if ok {
		t.fill(a, i)
	}
	return ok
}

// each calls fn with every app of the view.
func (v *ApplicantsView) each(fn func(*AppEntry)) {
	for _, t := range v.shards {
		if t == nil {
			continue
		}
		for i := range t.ents {
			fn(t.entry(uint32(i)))
		}
	}
}

// Credential returns the credential serial of app appID if it may be used
// at now. Otherwise the error is, in this order of checks: ErrAppUnknown,
// ErrAppInactive (app exited or applicant suspended or exited),
// ErrCredentialUnknown, ErrCredentialRevoked, ErrCredentialNotYetValid or
// ErrCredentialExpired. The valid interval is [NotBefore, NotAfter).
func (v *ApplicantsView) Credential(appID, serial string, now time.Time) (Credential, error) {
	var entry AppEntry
	a := &entry
	if !v.app(appID, a) {
		return Credential{}, ErrAppUnknown
	}
	if !a.Active() {
		return Credential{}, ErrAppInactive
	}
	i, ok := a.credential(serial)
	if !ok {
		return Credential{}, ErrCredentialUnknown
	}
	c := a.t.credential(a, i)
	if aplIsSM2(a.t.creds[i].kind) && a.t.publicKey(i) == nil {
		return Credential{}, ErrCredentialUnknown
	}
	if c.Status != CredentialActive {
		return Credential{}, ErrCredentialRevoked
	}
	if now.Before(c.NotBefore) {
		return Credential{}, ErrCredentialNotYetValid
	}
	if !now.Before(c.NotAfter) {
		return Credential{}, ErrCredentialExpired
	}
	return c, nil
}

// ValidCredentials returns the app's credentials of kind that are usable at
// now (app active, credential active and within its validity), newest
// first: e.g. the encryption key to seal a response to, or the certificates
// a client may present.
func (v *ApplicantsView) ValidCredentials(appID, kind string, now time.Time) []Credential {
	var entry AppEntry
	a := &entry
	if !v.app(appID, a) || !a.Active() {
		return nil
	}
	var out []Credential
	from, to := a.creds()
	for i := from; i < to; i++ {
		k := a.t.creds[i].kind
		if aplCredKinds[k] != kind {
			continue
		}
		if c := a.t.credential(a, i); c.StateAt(now) == CredentialActive && (!aplIsSM2(k) || a.t.publicKey(i) != nil) {
			out = append(out, c)
		}
	}
	return out
}

// Credentials returns every credential of the app, newest first, whatever
// its state, as the view keeps them (without creator, creation time and
// PEM text).
func (v *ApplicantsView) Credentials(appID string) []Credential {
	var entry AppEntry
	a := &entry
	if !v.app(appID, a) {
		return nil
	}
	from, to := a.creds()
	out := make([]Credential, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, a.t.credential(a, i))
	}
	return out
}

// Len is the number of apps in the view.
func (v *ApplicantsView) Len() int {
	if v == nil {
		return 0
	}
	return v.n
}

// aplCachedKey returns the parsed key of the same credential in a previous
// view (a credential's key never changes), or nil when it was not parsed.
func (v *ApplicantsView) aplCachedKey(appID, serial, id string, key []byte) *ecdsa.PublicKey {
	var entry AppEntry
	a := &entry
	if !v.app(appID, a) {
		return nil
	}
	if i, ok := a.credential(serial); ok && a.t.credID(i) == id && bytes.Equal(a.t.credBlob(i), key) {
		return a.t.keys[i].Load()
	}
	return nil
}

func init() {
	registerIncrementalPart(PartApplicants, aplLoadView, aplUpdateView)
}

// aplLoadView rebuilds the view. Public keys are parsed once per
// credential: the previous view's parsed keys are reused (a credential's
// key never changes).
func aplLoadView(db queryer, r *Registry) error {
	var count int
	if err := db.QueryRow("SELECT COUNT(*) FROM apps").Scan(&count); err != nil {
		return fmt.Errorf("applicants view: %w", err)
	}
	loaded, err := aplLoadApps(db, count, nil)
	if err != nil {
		return err
	}
	var per [aplShards][]*aplLoaded
	for id, a := range loaded {
		s := aplShard(id)
		if per[s] == nil {
			per[s] = make([]*aplLoaded, 0, 2*len(loaded)/aplShards+1)
		}
		per[s] = append(per[s], a)
	}
	// The tables are built on every core: with 100,000 apps, copying their
	// strings in was a twentieth of the load.
	v := &ApplicantsView{n: len(loaded)}
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		errs = make([]error, aplShards)
	)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := int(next.Add(1) - 1); s < aplShards; s = int(next.Add(1) - 1) {
				v.shards[s], errs[s] = aplBuildTable(per[s], r.Applicants, nil, nil)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("applicants view: %w", err)
	}
	r.Applicants = v
	return nil
}

// aplBuildTable builds the table of apps, taking over the keys prev has
// parsed, and of old's apps that are not in loaded as they are there (an
// update's shard; old may be nil). It is nil when there are no apps.
func aplBuildTable(apps []*aplLoaded, prev *ApplicantsView, old *aplTable, loaded map[string]*aplLoaded) (*aplTable, error) {
	n, creds, text := len(apps), 0, 0
	for _, a := range apps {
		creds, text = creds+len(a.creds), text+a.textSize()
	}
	if old != nil {
		n, creds, text = n+len(old.ents), creds+len(old.creds), text+len(old.text)
	}
	if n == 0 {
		return nil, nil
	}
	b := newAplBuilder(n, creds, text)
	if old != nil {
		for i := range old.ents {
			if _, again := loaded[old.entID(uint32(i))]; !again {
				if err := b.copyApp(old, uint32(i)); err != nil {
					return nil, err
				}
			}
		}
	}
	for _, a := range apps {
		if err := b.loadedApp(a, prev); err != nil {
			return nil, err
		}
	}
	return b.finish(), nil
}

// aplMaxTouched is how many touched applicants aplUpdateView reloads one by
// one; beyond it, a full reload is about as cheap.
const aplMaxTouched = 2000

// aplUpdateView updates prev's view for the touched applicants only: it
// loads their apps again, with their applicant's status and rules and their
// credentials, and builds again the tables that hold them (their other apps
// copied as they are), sharing every other table, which is immutable. Apps
// are never deleted, so every app of a touched applicant is reloaded.
func aplUpdateView(db queryer, r *Registry, prev *Registry, touched []string) error {
	if len(touched) == 0 {
		return nil
	}
	old := prev.Applicants
	if old == nil || len(touched) > aplMaxTouched {
		return aplLoadView(db, r)
	}
	loaded, err := aplLoadApps(db, len(touched), touched)
	if err != nil {
		return err
	}
	per := map[int][]*aplLoaded{}
	for id, a := range loaded {
		per[aplShard(id)] = append(per[aplShard(id)], a)
	}
	v := &ApplicantsView{shards: old.shards, n: old.n}
	for s, apps := range per {
		ot := old.shards[s]
		for _, a := range apps {
			if _, known := ot.find(a.id, aplHash(a.id)); !known {
				v.n++
			}
		}
		if v.shards[s], err = aplBuildTable(apps, old, ot, loaded); err != nil {
			return fmt.Errorf("applicants view: %w", err)
		}
	}
	r.Applicants = v
	return nil
}

// aplLoaded is an app as aplLoadApps reads it, before a table packs it.
type aplLoaded struct {
	id, applicantID string
	env, status     uint8
	rules           *aplRules
	creds           []credFields // newest first
	ncreds          int          // counted before creds are set
}

// textSize is the bytes of a table's text the app takes.
func (a *aplLoaded) textSize() int {
	n := len(a.id) + len(a.applicantID)
	for i := range a.creds {
		c := &a.creds[i]
		n += len(c.id) + len(c.serial) + len(c.blob)
	}
	return n
}

// credFields are a credential's columns, as aplLoadApps reads them.
type credFields struct {
	id, serial string
	blob       []byte // as aplCred.blob; a part of a block (aplArena)
	nb, na     int64  // Unix ms
	created    int64  // Unix ms, for the order of an app's credentials
	more       *credMore
	kind       uint8 // in aplCredKinds
	status     uint8 // in aplCredStatuses
}

func (c *credFields) kindName() string { return aplCredKinds[c.kind] }

// aplCompactKey returns what the view keeps of a stored public key, in
// arena: the point, when text is one PUBLIC KEY block of base64 lines whose
// DER is the SM2 SubjectPublicKeyInfo up to the point (aplParsePublicKey's
// fast path takes the same texts for the same keys), else text.
func aplCompactKey(arena *aplArena, text string) []byte {
	if point, ok := aplSPKIPoint(text); ok {
		return arena.add(point[:])
	}
	return arena.add([]byte(text))
}

// aplArena holds the byte strings of a load's credentials (keys, sealed
// secrets) in shared blocks: one object per block rather than one per
// string, until the tables copy them.
type aplArena struct {
	block []byte
	size  int // of a new block
}

// newAplArena returns an arena for about n byte strings.
func newAplArena(n int) *aplArena { return &aplArena{size: min(max(n*100, 256), 64<<10)} }

// add copies b into the arena (nil stays nil).
func (a *aplArena) add(b []byte) []byte {
	if b == nil {
		return nil
	}
	if len(b) > cap(a.block)-len(a.block) {
		if len(b) > a.size/4 {
			return bytes.Clone(b)
		}
		a.block = make([]byte, 0, a.size)
	}
	n := len(a.block)
	a.block = append(a.block, b...)
	return a.block[n : n+len(b) : n+len(b)]
}

// str copies s into the arena.
func (a *aplArena) str(s string) string {
	if s == "" {
		return ""
	}
	b := a.add(unsafe.Slice(unsafe.StringData(s), len(s)))
	// Nobody writes to a block's bytes once added.
	return unsafe.String(&b[0], len(b))
}

// credMore holds a credential's rarely set columns: a certificate's, a
// revocation's, an expiry notice's.
type credMore struct {
	certPEM, certSHA256, certSM3, certSubject string
	revokedBy, revokeReason                   string
	certNA, revoked, warned                   int64 // Unix ms, 0 when unset
}

// aplLoadApps loads the apps of the applicants ids (every app when ids is
// nil) with their credentials; about size of them are expected.
//
// Each table is read on its own, and joined in maps here: a whole registry's
// load (ids nil) reads every row anyway, and SQL joins would look up each
// applicant and each sealed secret in an index, page by page, which cost
// more than the reading at 100,000 apps.
func aplLoadApps(db queryer, size int, ids []string) (map[string]*aplLoaded, error) {
	var args []any
	whereApplicant, whereApp, whereCred := "", "", ""
	if ids != nil {
		list, _ := json.Marshal(ids)
		args = []any{string(list)}
		whereApplicant = " WHERE p.id IN (SELECT value FROM json_each(?))"
		whereApp = " WHERE a.applicant_id IN (SELECT value FROM json_each(?))"
		whereCred = " WHERE c.app_id IN (SELECT a.id FROM apps a" + whereApp + ")"
	}
	// A whole load reads the credentials (half of its rows) on a second
	// connection when db offers one, beside the applicants and apps.
	var (
		creds   []credFields
		credApp []string // creds[i]'s App_ID
		credErr error
		wg      sync.WaitGroup
	)
	second := aplSecondReader(db)
	// The second connection reads the credentials up to split (by rowid),
	// this one the rest after its own three tables: the two take about as
	// long (aplCredSplit).
	var split int64
	if ids == nil && second != nil {
		var maxID sql.NullInt64
		if err := db.QueryRow("SELECT MAX(rowid) FROM credentials").Scan(&maxID); err != nil {
			return nil, fmt.Errorf("applicants view: %w", err)
		}
		split = maxID.Int64 * aplCredSplit / 100
		wg.Add(1)
		go func() {
			defer wg.Done()
			creds, credApp, credErr = aplLoadCreds(second, true, 2*size, " WHERE c.rowid <= ?", []any{split})
		}()
		// Every return below waits for it: it must not outlive the
		// transaction it reads in.
		defer wg.Wait()
	}
	// Applicants with the same status and IP allow-list share their rules.
	type applicant struct {
		id    string
		rules *aplRules
	}
	applicants := make(map[string]applicant, size)
	rules := map[string]*aplRules{}
	// Packed as the apps are; the allow-list (JSON) comes last.
	err := queryRows(db, `SELECT p.id || char(31) || p.status || char(31) || p.ip_allow FROM applicants p`+whereApplicant, args, func(row rowScanner) error {
		var packed string
		if err := row.Scan(&packed); err != nil {
			return err
		}
		var f [3]string
		if !aplSplitFields(packed, f[:], true) {
			return fmt.Errorf("%w: an applicant's row not of %d fields", ErrCorrupt, len(f))
		}
		id, status, ipAllow := f[0], f[1], f[2]
		if ipAllow == "null" || ipAllow == "" {
			ipAllow = "[]"
		}
		// The rules' key: the status alone for the usual empty list (no
		// string made for it).
		key := status
		if ipAllow != "[]" {
			key = status + "\x00" + ipAllow
		}
		r, ok := rules[key]
		if !ok {
			r = &aplRules{status: status}
			if ipAllow != "[]" { // most applicants have none: no decoding
				var cidrs []string
				if json.Unmarshal([]byte(ipAllow), &cidrs) == nil {
					r.ipAllow, _ = ParseCIDRList(cidrs)
				}
				if len(r.ipAllow) == 0 {
					// Unreadable stored list: fail closed rather than allow any address.
					r.ipAllow = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/32")}
				}
			}
			rules[key] = r
		}
		applicants[id] = applicant{id: id, rules: r}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("applicants view: %w", err)
	}
	loaded := make(map[string]*aplLoaded, size)
	var block []aplLoaded
	// Packed as the credentials are (aplViewCredentialColumns).
	err = queryRows(db, `SELECT a.id || char(31) || a.applicant_id || char(31) || a.env || char(31) || a.status FROM apps a`+whereApp, args, func(row rowScanner) error {
		var packed string
		if err := row.Scan(&packed); err != nil {
			return err
		}
		var f [4]string
		if !aplSplitFields(packed, f[:], false) {
			return fmt.Errorf("%w: an app's row not of %d fields", ErrCorrupt, len(f))
		}
		r, ok := applicants[f[1]]
		if !ok {
			return nil // cannot be: apps.applicant_id references applicants
		}
		env, okEnv := aplEnum(aplAppEnvs, f[2])
		status, okStatus := aplEnum(aplAppStatuses, f[3])
		if !okEnv || !okStatus {
			return fmt.Errorf("%w: app %.40q: env %.20q or status %.20q unknown", ErrCorrupt, f[0], f[2], f[3])
		}
		if len(block) == 0 {
			block = make([]aplLoaded, min(max(size, 1), 1024))
		}
		e := &block[0]
		block = block[1:]
		// The tables copy the strings: parts of the row's will do.
		e.id, e.applicantID, e.env, e.status, e.rules = f[0], r.id, env, status, r.rules
		loaded[e.id] = e
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("applicants view: %w", err)
	}
	var secrets map[string][]byte
	if ids == nil {
		if secrets, err = aplLoadSecrets(db, size); err != nil {
			return nil, fmt.Errorf("applicants view: %w", err)
		}
	}
	if ids == nil && second != nil {
		rest, restApp, err := aplLoadCreds(db, true, 2*size-2*size*aplCredSplit/100, " WHERE c.rowid > ?", []any{split})
		wg.Wait()
		if err != nil {
			return nil, fmt.Errorf("applicants view: %w", err)
		}
		creds, credApp = append(creds, rest...), append(credApp, restApp...)
	} else {
		creds, credApp, credErr = aplLoadCreds(db, ids == nil, 2*size, whereCred, args)
	}
	if credErr != nil {
		return nil, fmt.Errorf("applicants view: %w", credErr)
	}
	// Each app's credentials are a part of one block, newest first.
	ents := make([]*aplLoaded, len(creds))
	for i := range creds {
		if e, ok := loaded[credApp[i]]; ok {
			ents[i] = e
			e.ncreds++
		}
	}
	credBlock := make([]credFields, len(creds))
	for i := range creds {
		e := ents[i]
		if e == nil {
			continue
		}
		if e.creds == nil {
			e.creds, credBlock = credBlock[:0:e.ncreds], credBlock[e.ncreds:]
		}
		if secrets != nil && creds[i].kindName() == CredentialSecret {
			creds[i].blob = secrets[creds[i].id]
		}
		e.creds = append(e.creds, creds[i])
	}
	for _, e := range loaded {
		aplSortCreds(e.creds)
	}
	return loaded, nil
}

// aplSortCreds orders an app's credentials newest first (by creation, then
// id): most apps have two or three.
func aplSortCreds(cs []credFields) {
	if len(cs) > 16 {
		sort.Sort(aplCredsByAge(cs))
		return
	}
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && aplCredsByAge(cs).Less(j, j-1); j-- {
			aplCredsByAge(cs).Swap(j, j-1)
		}
	}
}

type aplCredsByAge []credFields

func (s aplCredsByAge) Len() int { return len(s) }
func (s aplCredsByAge) Less(i, j int) bool {
	if s[i].created != s[j].created {
		return s[i].created > s[j].created
	}
	return s[i].id > s[j].id
}
func (s aplCredsByAge) Swap(i, j int) {
	s[i], s[j] = s[j], s[i]
}

// aplCredSplit is the percentage of the credentials (by rowid) a whole load
// reads on its second connection: the first reads the applicants, apps and
// sealed secrets, then the rest. Measured with 100,000 apps once the rows were
// packed (BenchmarkLoadRegistry): 85 % 0.66 s, 95 % 0.63–0.64 s, all 0.65–
// 0.67 s, 70 % 0.69 s. Once the applicants' rows were packed too (a lighter
// first connection), alternating on the same file: 88 % 559–586 ms, 82 %
// 579–611 ms, 95 % 618–741 ms (before both, 603–688 ms).
const aplCredSplit = 88

// aplLoadCreds reads the credentials of the apps whereCred selects: every
// app's when whole, without their sealed secrets (aplLoadSecrets reads those
// and aplLoadApps joins them, which costs less than SQL's join page by page),
// else with them; about hint of them are expected.
func aplLoadCreds(db queryer, whole bool, hint int, whereCred string, args []any) ([]credFields, []string, error) {
	credFrom, sealedColumn := ` FROM credentials c LEFT JOIN credential_secrets s ON s.credential_id = c.id`, "s.sealed"
	if whole {
		credFrom, sealedColumn = ` FROM credentials c`, "NULL"
	}
	var (
		out    = make([]credFields, 0, hint)
		appIDs = make([]string, 0, hint)
		arena  = newAplArena(hint)
	)
	err := queryRows(db, `SELECT `+strings.Replace(aplViewCredentialColumns, "s.sealed", sealedColumn, 1)+credFrom+whereCred, args, func(row rowScanner) error {
		var c credFields
		appID, err := aplScanViewCredential(row, &c, arena)
		if err != nil {
			return err
		}
		out = append(out, c)
		appIDs = append(appIDs, appID)
		return nil
	})
	return out, appIDs, err
}

// interner shares equal strings: the few distinct kinds, statuses and
// creators of a registry's hundreds of thousands of rows.
type interner map[string]string

func (in interner) of(s string) string {
	if v, ok := in[s]; ok {
		return v
	}
	s = strings.Clone(s) // s may be a part of a longer string
	in[s] = s
	return s
}

// aplLoadSecrets reads every sealed App_Secret, by credential id, into an
// arena.
func aplLoadSecrets(db queryer, size int) (map[string][]byte, error) {
	secrets := make(map[string][]byte, size)
	arena := newAplArena(size)
	err := queryRows(db, `SELECT credential_id, sealed FROM credential_secrets`, nil, func(row rowScanner) error {
		var id string
		var sealed sql.RawBytes // valid until the next row: copied
		if err := row.Scan(&id, &sealed); err != nil {
			return err
		}
		secrets[id] = arena.add(sealed)
		return nil
	})
	return secrets, err
}

// aplScanViewCredential scans aplViewCredentialColumns into c. Of the packed
// text it keeps copies of the id and App_ID only, so the row's text is
// garbage once the key is compacted.
func aplScanViewCredential(row rowScanner, c *credFields, arena *aplArena) (appID string, err error) {
	var packed string
	var sealed []byte
	if err := row.Scan(&packed, &sealed); err != nil {
		return "", err
	}
	var f [aplViewCredentialFields]string
	if !aplSplitFields(packed, f[:], true) {
		return "", fmt.Errorf("%w: a credential's row of fewer than %d fields", ErrCorrupt, len(f))
	}
	c.id, appID = arena.str(f[0]), arena.str(f[1])
	kind, status, more, pemText := f[2], f[4], f[8], f[9]
	for i, dst := range []*int64{&c.nb, &c.na, &c.created} {
		if *dst, err = strconv.ParseInt(f[5+i], 10, 64); err != nil {
			return "", fmt.Errorf("%w: credential %s: a time that is not an integer", ErrCorrupt, c.id)
		}
	}
	var okKind, okStatus bool
	c.kind, okKind = aplEnum(aplCredKinds, kind)
	c.status, okStatus = aplEnum(aplCredStatuses, status)
	if !okKind || !okStatus {
		return "", fmt.Errorf("%w: credential %s: kind %q or status %q unknown", ErrCorrupt, c.id, kind, status)
	}
	c.serial = arena.str(f[3])
	switch {
	case aplIsSM2(c.kind) && pemText != "":
		c.blob = aplCompactKey(arena, pemText)
	case kind == CredentialSecret:
		c.blob = arena.add(sealed)
	}
	if more == "" {
		return appID, nil
	}
	m := &credMore{}
	if err := json.Unmarshal([]byte(more), &[]any{&m.certPEM, &m.certSHA256, &m.certSM3, &m.certSubject, &m.certNA,
		&m.revoked, &m.revokedBy, &m.revokeReason, &m.warned}); err != nil {
		return "", fmt.Errorf("credential %s: %w", c.id, err)
	}
	c.more = m
	return appID, nil
}
