package platform

import (
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"
)

// Typed reads of the state database, for the admin and portal APIs (the
// gateway reads the registry instead). They are the only way other packages
// read SQL: no *sql.DB leaves this package. Each runs on the open store and
// returns ErrClosed after Close. Not-found is a *CommandError of CodeNotFound,
// so the APIs render it as they render a refused command.

// Applicant reads one applicant.
func (s *Store) Applicant(id string) (a Applicant, err error) {
	err = s.read(func(db *sql.DB) error { a, err = getApplicant(db, id); return err })
	return a, err
}

// ListApplicants reads a page of the applicants f selects, newest first, and
// their total.
func (s *Store) ListApplicants(f ApplicantFilter) (items []Applicant, total int, err error) {
	err = s.read(func(db *sql.DB) error { items, total, err = listApplicants(db, f); return err })
	return items, total, err
}

// ApplicantIDsOwnedBy returns the ids of the applicants the developer owns,
// in id order.
func (s *Store) ApplicantIDsOwnedBy(developerID string) (ids []string, err error) {
	err = s.read(func(db *sql.DB) error {
		ids, err = queryStrings(db, "SELECT id FROM applicants WHERE owner_developer_id = ? ORDER BY id", developerID)
		return err
	})
	return ids, err
}

// App reads one app.
func (s *Store) App(id string) (a App, err error) {
	err = s.read(func(db *sql.DB) error { a, err = getApp(db, id); return err })
	return a, err
}

// ListApps reads a page of the apps f selects, newest first, and their total.
func (s *Store) ListApps(f AppFilter) (items []App, total int, err error) {
	err = s.read(func(db *sql.DB) error { items, total, err = listApps(db, f); return err })
	return items, total, err
}

// Credential reads one credential (never its secret); its State is its state
// at now.
func (s *Store) Credential(id string, now time.Time) (c Credential, err error) {
	err = s.read(func(db *sql.DB) error { c, err = getCredential(db, id, now); return err })
	return c, err
}

// ListCredentials reads a page of the credentials f selects (never secrets),
// newest first, and their total; State is each one's state at now.
func (s *Store) ListCredentials(f CredentialFilter, now time.Time) (items []Credential, total int, err error) {
	err = s.read(func(db *sql.DB) error { items, total, err = listCredentials(db, f, now); return err })
	return items, total, err
}

// ExpiringCredentials returns the active credentials of active apps that
// expire after now and no later than now+within, soonest first: the portal
// warns their applicants.
func (s *Store) ExpiringCredentials(now time.Time, within time.Duration) (items []Credential, err error) {
	err = s.read(func(db *sql.DB) error { items, err = expiringCredentials(db, now, within); return err })
	return items, err
}

// ProductionRequest reads one production request.
func (s *Store) ProductionRequest(id string) (r ProductionRequest, err error) {
	err = s.read(func(db *sql.DB) error { r, err = getProductionRequest(db, id); return err })
	return r, err
}

// ListProductionRequests reads a page of the production requests f selects,
// newest first, and their total.
func (s *Store) ListProductionRequests(f RequestFilter) (items []ProductionRequest, total int, err error) {
	err = s.read(func(db *sql.DB) error { items, total, err = listProductionRequests(db, f); return err })
	return items, total, err
}

// Agreement reads one agreement version with its text.
func (s *Store) Agreement(version string) (a Agreement, err error) {
	err = s.read(func(db *sql.DB) error { a, err = getAgreement(db, version); return err })
	return a, err
}

// CurrentAgreement reads the agreement applicants must accept now.
func (s *Store) CurrentAgreement() (a Agreement, err error) {
	err = s.read(func(db *sql.DB) error { a, err = currentAgreement(db); return err })
	return a, err
}

// ListAgreements reads a page of agreement versions (without their texts),
// newest first, and their total.
func (s *Store) ListAgreements(limit, offset int) (items []Agreement, total int, err error) {
	err = s.read(func(db *sql.DB) error { items, total, err = listAgreements(db, limit, offset); return err })
	return items, total, err
}

// ListAPIChanges reads a page of an API's change log, newest first, and its
// total.
func (s *Store) ListAPIChanges(apiID string, limit, offset int) (items []APIChange, total int, err error) {
	err = s.read(func(db *sql.DB) error { items, total, err = listAPIChanges(db, apiID, limit, offset); return err })
	return items, total, err
}

// ListNotices reads a page of the notices f selects, newest first, with their
// delivery state, and their total.
func (s *Store) ListNotices(f NoticeFilter, limit, offset int) (items []NoticeWithDelivery, total int, err error) {
	err = s.read(func(db *sql.DB) error { items, total, err = listNotices(db, f, limit, offset); return err })
	return items, total, err
}

// DueDeliveries returns up to limit pending webhook deliveries due at nowMs
// (Unix milliseconds), the longest-waiting first.
func (s *Store) DueDeliveries(nowMs int64, limit int) (items []DueDelivery, err error) {
	err = s.read(func(db *sql.DB) error { items, err = dueDeliveries(db, nowMs, limit); return err })
	return items, err
}

// NoticesWithoutDelivery returns up to limit ids of notices that have no
// webhook delivery yet, oldest first.
func (s *Store) NoticesWithoutDelivery(limit int) (ids []string, err error) {
	err = s.read(func(db *sql.DB) error { ids, err = noticesWithoutDelivery(db, limit); return err })
	return ids, err
}

// AdminUserIDs returns the ids of the admin users of role and status (either
// empty for any), in username order.
func (s *Store) AdminUserIDs(role, status string) (ids []string, err error) {
	err = s.read(func(db *sql.DB) error {
		ids, err = queryStrings(db, "SELECT id FROM admin_users WHERE (? = '' OR role = ?) AND (? = '' OR status = ?) ORDER BY username",
			role, role, status, status)
		return err
	})
	return ids, err
}

// Change is one record of the change log: a command the log applied,
// accepted or refused.
type Change struct {
	Index     int64     // the log index it was applied at
	CommandID string    // the command's id
	Type      string    // the command's type
	At        time.Time // when it was proposed, UTC
	ActorKind string
	ActorID   string
	ActorAddr string // the client address it came from, if any
	Node      string // the node that proposed it
	OK        bool   // whether it was accepted
	ErrorCode string // why it was refused (a Code* of CommandError), if it was
	// Digest is SM3 over the whole change record, result included, hex
	// (ChangesAfter only).
	Digest string
	// Target names what the change made or changed, from its result (an
	// id, serial or node), when the result names one (ChangesAfter only).
	Target string
	// Summary says what was asked: the payload's field names and the values
	// of its enumerated fields (changesummary.go; ChangesAfter only).
	Summary string
}

// ChangeFilter selects change records; empty fields and nil pointers match
// everything.
type ChangeFilter struct {
	Type       string
	TypePrefix string // types starting with it (taken literally: no wildcards)
	ActorKind  string
	ActorID    string
	OK         *bool  // accepted (true) or refused (false) commands
	SinceMs    *int64 // at or after this Unix millisecond
	UntilMs    *int64 // before this Unix millisecond
	// Limit and Offset are the page, taken as given.
	Limit, Offset int
}

// ListChanges reads a page of the change records f selects, newest (highest
// log index) first, and their total.
func (s *Store) ListChanges(f ChangeFilter) (items []Change, total int, err error) {
	w := &sqlWhere{}
	w.match("type = ?", f.Type)
	w.match("actor_id = ?", f.ActorID)
	w.match("actor_kind = ?", f.ActorKind)
	if f.TypePrefix != "" {
		w.add("type LIKE ? ESCAPE '\\'", strings.NewReplacer("%", "\\%", "_", "\\_").Replace(f.TypePrefix)+"%")
	}
	if f.OK != nil {
		if *f.OK {
			w.add("ok = 1")
		} else {
			w.add("ok = 0")
		}
	}
	if f.SinceMs != nil {
		w.add("at_ms >= ?", *f.SinceMs)
	}
	if f.UntilMs != nil {
		w.add("at_ms < ?", *f.UntilMs)
	}
	err = s.read(func(db *sql.DB) error {
		if total, err = countWhere(db, "changes", w); err != nil {
			return err
		}
		items, err = queryAll(db, func(row rowScanner) (ch Change, err error) {
			var at int64
			err = row.Scan(&ch.Index, &ch.CommandID, &ch.Type, &at, &ch.ActorKind, &ch.ActorID, &ch.ActorAddr, &ch.Node, &ch.OK, &ch.ErrorCode)
			ch.At = time.UnixMilli(at).UTC()
			return ch, err
		}, "SELECT log_index, command_id, type, at_ms, actor_kind, actor_id, actor_addr, actor_node, ok, error_code FROM changes"+
			w.String()+" ORDER BY log_index DESC LIMIT ? OFFSET ?", append(w.args, f.Limit, f.Offset)...)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return items, total, nil
}

// ChangesAfter returns up to limit change records after log index after, in
// log order, each with its Digest: what every node's audit chain records of
// the replicated change log.
func (s *Store) ChangesAfter(after int64, limit int) ([]Change, error) {
	var items []Change
	err := s.read(func(db *sql.DB) error {
		var err error
		items, err = queryAll(db, func(row rowScanner) (ch Change, err error) {
			var at int64
			var result []byte
			err = row.Scan(&ch.Index, &ch.CommandID, &ch.Type, &at, &ch.ActorKind, &ch.ActorID, &ch.ActorAddr, &ch.Node, &ch.OK, &ch.ErrorCode, &result, &ch.Summary)
			ch.At = time.UnixMilli(at).UTC()
			ch.Digest = changeDigest(ch, at, result)
			ch.Target = changeTarget(result)
			return ch, err
		}, "SELECT log_index, command_id, type, at_ms, actor_kind, actor_id, actor_addr, actor_node, ok, error_code, result, summary FROM changes WHERE log_index > ? ORDER BY log_index LIMIT ?", after, limit)
		return err
	})
	return items, err
}

// changeDigest is SM3 over a change record's fields, each length-prefixed,
// in hex: what an admin audit record carries of the change.
func changeDigest(ch Change, atMs int64, result []byte) string {
	h := sm3.New()
	field := func(b []byte) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	ok := "0"
	if ch.OK {
		ok = "1"
	}
	for _, f := range []string{strconv.FormatInt(ch.Index, 10), ch.CommandID, ch.Type, strconv.FormatInt(atMs, 10), ch.ActorKind, ch.ActorID, ch.ActorAddr, ch.Node, ok, ch.ErrorCode} {
		field([]byte(f))
	}
	field(result)
	field([]byte(ch.Summary))
	return hex.EncodeToString(h.Sum(nil))
}

// ChangeDigest returns the Digest of the change applied at log index, as
// ChangesAfter computes it; ok is false when there is none.
func (s *Store) ChangeDigest(index int64) (digest string, ok bool, err error) {
	err = s.read(func(db *sql.DB) error {
		digest, ok, err = changeDigestAt(db, index)
		return err
	})
	return digest, ok, err
}

func changeDigestAt(db queryer, index int64) (string, bool, error) {
	var ch Change
	var at int64
	var result []byte
	err := db.QueryRow("SELECT log_index, command_id, type, at_ms, actor_kind, actor_id, actor_addr, actor_node, ok, error_code, result, summary FROM changes WHERE log_index = ?", index).
		Scan(&ch.Index, &ch.CommandID, &ch.Type, &at, &ch.ActorKind, &ch.ActorID, &ch.ActorAddr, &ch.Node, &ch.OK, &ch.ErrorCode, &result, &ch.Summary)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return changeDigest(ch, at, result), true, nil
}

// changeTarget is what a change's result names: the first of its "id",
// "serial", "app_id", "applicant_id", "api_id", "node" members that is a
// string, or "".
func changeTarget(result []byte) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(result, &m) != nil {
		return ""
	}
	for _, k := range []string{"id", "serial", "app_id", "applicant_id", "api_id", "node"} {
		var v string
		if json.Unmarshal(m[k], &v) == nil && v != "" && len(v) <= 128 {
			return v
		}
	}
	return ""
}
