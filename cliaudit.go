package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"lijiang/audit"
	"lijiang/platform"
)

// errDamaged is verify's verdict on a damaged chain: exit 1. A verify that
// could not run exits 2.
type exitCodeError struct {
	code int
	err  error
}

func (e exitCodeError) Error() string { return e.err.Error() }
func (e exitCodeError) Unwrap() error { return e.err }

// cmdAudit runs the audit commands.
func cmdAudit(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "archive" {
		return cmdAuditArchive(args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "verify" {
		return usagef("audit: want verify or archive")
	}
	var cfg Config
	var node, from, to, archive string
	var asJSON bool
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fs.StringVar(&archive, "archive", "", "verify an archive segment file instead of the store: alone, with the keys it carries; with --"+flagDataDir+", against the node's replicated platform keys, checkpoints and anchors")
	fs.StringVar(&cfg.DataDir, flagDataDir, "./data", "the node's data directory (the node may be running or stopped)")
	fs.StringVar(&cfg.KEKFile, flagKEKFile, "", "the key-encryption key (or set "+envKEK+")")
	fs.StringVar(&node, flagNodeID, "", "the node whose chain this is (default: the data directory's node)")
	fs.StringVar(&from, "from", "", "verify records from this time on (RFC 3339), starting at the last checkpoint before it")
	fs.StringVar(&to, "to", "", "verify records up to this time (RFC 3339)")
	fs.BoolVar(&asJSON, flagJSON, false, "print the report as JSON")
	if err := parseFlags(fs, args[1:], stdout); err != nil {
		return err
	}
	if archive != "" {
		dataDir := ""
		fs.Visit(func(f *flag.Flag) {
			if f.Name == flagDataDir {
				dataDir = cfg.DataDir
			}
		})
		return verifyArchiveCLI(archive, dataDir, node, asJSON, stdout, stderr)
	}
	var opts audit.VerifyOptions
	for _, t := range []struct {
		name, v string
		ms      *int64
	}{{"from", from, &opts.FromMs}, {"to", to, &opts.ToMs}} {
		if t.v == "" {
			continue
		}
		tt, err := time.Parse(time.RFC3339, t.v)
		if err != nil {
			return usagef("audit verify --%s %q: give an RFC 3339 time, e.g. 2026-12-01T00:00:00+08:00", t.name, t.v)
		}
		*t.ms = tt.UnixMilli()
	}
	report, err := auditVerify(cfg, node, opts, stderr)
	if err != nil {
		return exitCodeError{code: exitUsage, err: fmt.Errorf("audit verify could not run: %w", err)}
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(report)
	} else {
		printVerifyReport(stdout, report)
	}
	if !report.Intact {
		return exitCodeError{code: exitFailure, err: fmt.Errorf("node %s's audit chain is damaged: %s at record %d", report.Node, report.Damage[0].Kind, report.Damage[0].Seq)}
	}
	return nil
}

// auditVerify verifies a data directory's audit chain against the
// checkpoints and platform keys of its replicated state. The KEK proves the
// operator's right to the data directory: it must open the node's sealed
// secrets, although verify itself needs no secret.
func auditVerify(cfg Config, node string, opts audit.VerifyOptions, progress io.Writer) (*audit.Report, error) {
	keyring, err := loadKeyring(cfg, false)
	if err != nil {
		return nil, err
	}
	if node == "" {
		if node, err = platform.RecordedNodeID(cfg.DataDir); err != nil {
			return nil, err
		}
	}
	// A stopped node's journal holds the records it acknowledged last and
	// has not moved into audit.db: they are verified too, the directory
	// locked meanwhile. A running node's are not (it moves them within
	// its window).
	journal := true
	if lock, err := platform.LockDataDir(cfg.DataDir); err == nil {
		defer lock.Unlock()
	} else if errors.Is(err, platform.ErrDataDirInUse) {
		journal = false
	}
	var report *audit.Report
	err = platform.ReadAuditState(filepath.Join(cfg.DataDir, platform.StateFile), node, func(reg *platform.Registry, cps []platform.AuditCheckpoint, digest func(int64) (string, bool, error)) error {
		if ak := reg.AuditKey; ak != nil {
			if _, err := keyring.Open(platform.AuditKeyAAD(ak.ID), ak.Sealed); err != nil {
				return fmt.Errorf("the key-encryption key does not open this node's secrets: %w", err)
			}
		}
		vo, err := verifyOptions(node, reg, cps)
		if err != nil {
			return err
		}
		vo.FromMs, vo.ToMs, vo.ChangeDigest, vo.ChangesUpTo = opts.FromMs, opts.ToMs, digest, reg.AppliedIndex
		vo.Journal = journal
		start := time.Now()
		vo.Progress = func(done uint64) {
			fmt.Fprintf(progress, "audit verify: %d records checked (%s)\n", done, time.Since(start).Round(time.Second))
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		report, err = audit.VerifyStore(ctx, filepath.Join(cfg.DataDir, platform.AuditFile), vo)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.DataDir, err)
	}
	return report, nil
}

func printVerifyReport(w io.Writer, r *audit.Report) {
	verdict := "INTACT"
	if !r.Intact {
		verdict = "DAMAGED"
	}
	fmt.Fprintf(w, "node %s: audit chain %s\n", r.Node, verdict)
	fmt.Fprintf(w, "  records %d to %d verified (%d), %d checkpoints, last matching checkpoint at %d\n", r.First, r.Last, r.Records, r.Checkpoints, r.LastCheckpoint)
	if r.Unanchored > 0 {
		fmt.Fprintf(w, "  %d records after the last checkpoint: chained, not yet signed\n", r.Unanchored)
	}
	if r.Journal > 0 {
		fmt.Fprintf(w, "  %d of them in the journal (audit.db.jnl): acknowledged, moved into audit.db when the node starts\n", r.Journal)
	}
	for _, d := range r.Damage {
		fmt.Fprintf(w, "  %s at record %d: %s\n", d.Kind, d.Seq, d.Detail)
	}
}

// exitCode maps a command's error to the process's exit code.
func exitCode(err error) int {
	var ec exitCodeError
	if errors.As(err, &ec) {
		return ec.code
	}
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitFailure
}

// bindRetention binds the retention flags (serve and audit archive).
func bindRetention(fs *flag.FlagSet, r *audit.Retention, dir *string) {
	*r = audit.DefaultRetention
	for _, k := range []struct {
		kind, what string
		d          *time.Duration
	}{{audit.KindAccess, "access records (the calls: the transaction log)", &r.Access},
		{audit.KindAdmin, "admin records (applied changes)", &r.Admin},
		{audit.KindSystem, "system events", &r.System}} {
		fs.Var(audit.RetentionValue{D: k.d}, flagRetainPfx+k.kind, fmt.Sprintf("keep %s in the audit store at least this long before they are archived (days, e.g. 400d, or hours; at least %s)",
			k.what, audit.FormatRetention(audit.RetentionFloor.For(k.kind))))
	}
	fs.StringVar(dir, flagArchiveDir, "", "where audit archive segments are written (default <data-dir>/"+auditArchiveDir+")")
}

// checkRetention refuses a retention below the standard's floors, naming
// the flag and the floor.
func checkRetention(r audit.Retention) error {
	for _, k := range []string{audit.KindAccess, audit.KindAdmin, audit.KindSystem} {
		if got, floor := r.For(k), audit.RetentionFloor.For(k); got < floor {
			return usagef("--%s%s %s: %s records are kept at least %s (Q/GLB 04—2024 9.3.3 and 10.1.1; docs/audit.md)", flagRetainPfx, k, audit.FormatRetention(got), k, audit.FormatRetention(floor))
		}
	}
	return nil
}

// envArchiveClockShift moves the clock retention is counted on, for
// `lijiang audit archive` only: a test seam (the end-to-end test archives a
// node it just ran). It grants nothing setting the system clock would not;
// the floors still hold against the shifted clock, a warning is printed and
// the shift is recorded in the chained audit.archived event.
const envArchiveClockShift = "LIJIANG_TEST_ARCHIVE_CLOCK_SHIFT"

// cmdAuditArchive archives and prunes a stopped node's audit store.
func cmdAuditArchive(args []string, stdout, stderr io.Writer) error {
	var cfg Config
	var before string
	var asJSON bool
	fs := flag.NewFlagSet("audit archive", flag.ContinueOnError)
	fs.StringVar(&cfg.DataDir, flagDataDir, "./data", "the stopped node's data directory")
	fs.StringVar(&cfg.KEKFile, flagKEKFile, "", "the key-encryption key (or set "+envKEK+")")
	fs.StringVar(&before, "before", "", "archive only records older than this time (RFC 3339), and past their retention")
	fs.BoolVar(&asJSON, flagJSON, false, "print the segments written as JSON")
	bindRetention(fs, &cfg.AuditRetention, &cfg.AuditArchiveDir)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if err := checkRetention(cfg.AuditRetention); err != nil {
		return err
	}
	var beforeMs int64
	if before != "" {
		t, err := time.Parse(time.RFC3339, before)
		if err != nil {
			return usagef("audit archive --before %q: give an RFC 3339 time, e.g. 2026-01-01T00:00:00+08:00", before)
		}
		beforeMs = t.UnixMilli()
	}
	now := time.Now
	var shift time.Duration
	if v := os.Getenv(envArchiveClockShift); v != "" {
		d, err := audit.ParseRetention(v)
		if err != nil {
			return usagef("$%s: %v", envArchiveClockShift, err)
		}
		shift = d
		now = func() time.Time { return time.Now().Add(shift) }
		fmt.Fprintf(stderr, "lijiang: WARNING: $%s: retention is counted on a clock %s ahead (a test seam; never in production)\n", envArchiveClockShift, audit.FormatRetention(d))
	}
	keyring, err := loadKeyring(cfg, false)
	if err != nil {
		return err
	}
	if err := platform.CheckDataDir(cfg.DataDir); err != nil {
		return err
	}
	lock, err := platform.LockDataDir(cfg.DataDir)
	if err != nil {
		if errors.Is(err, platform.ErrDataDirInUse) {
			return exitCodeError{code: exitUsage, err: fmt.Errorf("%w: a running node archives on its own (at start and hourly); stop it to archive now", err)}
		}
		return err
	}
	defer lock.Unlock()
	node, err := platform.RecordedNodeID(cfg.DataDir)
	if err != nil {
		return err
	}
	reg, cps, err := readAuditState(cfg.DataDir, node)
	if err != nil {
		return fmt.Errorf("%s: %w", cfg.DataDir, err)
	}
	if ak := reg.AuditKey; ak != nil {
		if _, err := keyring.Open(platform.AuditKeyAAD(ak.ID), ak.Sealed); err != nil {
			return fmt.Errorf("the key-encryption key does not open this node's secrets: %w", err)
		}
	}
	vo, err := verifyOptions(node, reg, cps)
	if err != nil {
		return err
	}
	store := audit.New(audit.Config{Path: filepath.Join(cfg.DataDir, platform.AuditFile), Node: node})
	if err := store.Open(); err != nil {
		return err
	}
	defer store.Close()
	detail := map[string]string{"by": "lijiang audit archive"}
	if shift != 0 {
		detail["clock_shift"] = audit.FormatRetention(shift)
	}
	done, err := audit.Archive(context.Background(), audit.ArchiveConfig{Store: store, Dir: archiveDir(cfg), Retention: cfg.AuditRetention, Now: now, BeforeMs: beforeMs,
		Checkpoints: func() ([]audit.Checkpoint, error) { return vo.Checkpoints, nil }, KeyPEM: keyPEM(reg), Detail: detail})
	if err != nil {
		store.Event("audit.archive_failed", map[string]string{"by": "lijiang audit archive", "error": archiveErrorClass(err)})
		return fmt.Errorf("audit archive: %w", err)
	}
	if asJSON {
		if done == nil {
			done = []audit.Archived{}
		}
		return printJSON(stdout, done)
	}
	if len(done) == 0 {
		fmt.Fprintln(stdout, "nothing to archive: no signed prefix of the chain is past its retention")
	}
	for _, a := range done {
		fmt.Fprintf(stdout, "archived records %d to %d (%d) to %s, verified, and pruned from the store\n", a.First, a.Last, a.Records, a.File)
	}
	return nil
}

// archiveDir is where a node's segments go.
func archiveDir(cfg Config) string {
	if cfg.AuditArchiveDir != "" {
		return cfg.AuditArchiveDir
	}
	return filepath.Join(cfg.DataDir, auditArchiveDir)
}

// keyPEM returns the platform signing keys' public PEM by serial.
func keyPEM(reg *platform.Registry) func(serial string) (string, bool) {
	return func(serial string) (string, bool) {
		k, ok := reg.PlatformKey(serial)
		if !ok || k.Use != "sig" {
			return "", false
		}
		return k.PublicPEM, true
	}
}

// archiveErrorClass is a short, secret-free name of an archive failure.
func archiveErrorClass(err error) string {
	switch {
	case errors.Is(err, audit.ErrDamaged):
		return "damaged"
	case errors.Is(err, audit.ErrUnavailable):
		return "unavailable"
	}
	return "io"
}

// verifyArchiveCLI verifies a segment file; with dataDir, against the
// node's replicated platform keys, checkpoints and the store's anchors.
func verifyArchiveCLI(file, dataDir, node string, asJSON bool, stdout, stderr io.Writer) error {
	var opts audit.SegmentVerifyOptions
	if dataDir != "" {
		var err error
		if node == "" {
			if node, err = platform.RecordedNodeID(dataDir); err != nil {
				return exitCodeError{code: exitUsage, err: fmt.Errorf("audit verify could not run: %w", err)}
			}
		}
		reg, cps, err := readAuditState(dataDir, node)
		if err != nil {
			return exitCodeError{code: exitUsage, err: fmt.Errorf("audit verify could not run: %s: %w", dataDir, err)}
		}
		vo, err := verifyOptions(node, reg, cps)
		if err != nil {
			return exitCodeError{code: exitUsage, err: fmt.Errorf("audit verify could not run: %w", err)}
		}
		opts.Node, opts.Checkpoints = node, vo.Checkpoints
		opts.TrustedKeys = map[string]string{}
		for _, k := range reg.PlatformKeys {
			if k.Use == "sig" {
				opts.TrustedKeys[k.Serial] = k.PublicPEM
			}
		}
		if opts.Anchors, err = audit.ReadAnchors(context.Background(), filepath.Join(dataDir, platform.AuditFile)); err != nil {
			fmt.Fprintf(stderr, "audit verify: the store's anchors are not checked: %v\n", err)
			opts.Anchors = nil
		}
	} else if node != "" {
		opts.Node = node
	}
	start := time.Now()
	opts.Progress = func(done uint64) {
		fmt.Fprintf(stderr, "audit verify: %d records checked (%s)\n", done, time.Since(start).Round(time.Second))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := audit.VerifySegmentFile(ctx, file, opts)
	if err != nil {
		return exitCodeError{code: exitUsage, err: fmt.Errorf("audit verify could not run: %w", err)}
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
	} else {
		fmt.Fprintf(stdout, "archive %s\n", rep.File)
		printVerifyReport(stdout, &rep.Report)
		fmt.Fprintf(stdout, "  continues from %s, ends at %s\n", rep.Prev, rep.LastHash)
		if rep.Trusted == "platform" {
			fmt.Fprintf(stdout, "  checkpoints checked with the platform's signing keys from %s\n", dataDir)
		} else {
			fmt.Fprintln(stdout, "  checkpoints checked with the keys the segment carries: compare their fingerprints with the bank's published platform keys")
		}
		for _, k := range rep.Keys {
			fmt.Fprintf(stdout, "  key %s: SM3 fingerprint %s\n", k.Serial, k.Fingerprint)
		}
	}
	if !rep.Intact {
		return exitCodeError{code: exitFailure, err: fmt.Errorf("audit archive %s is damaged: %s at record %d", file, rep.Damage[0].Kind, rep.Damage[0].Seq)}
	}
	return nil
}

// readAuditState reads the registry and node's checkpoints of a data
// directory's replicated state, in one transaction.
func readAuditState(dataDir, node string) (reg *platform.Registry, cps []platform.AuditCheckpoint, err error) {
	err = platform.ReadAuditState(filepath.Join(dataDir, platform.StateFile), node, func(r *platform.Registry, c []platform.AuditCheckpoint, _ func(int64) (string, bool, error)) error {
		reg, cps = r, c
		return nil
	})
	return reg, cps, err
}
