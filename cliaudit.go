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
	if len(args) == 0 || args[0] != "verify" {
		return usagef("audit: want verify")
	}
	var cfg Config
	var node, from, to string
	var asJSON bool
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fs.StringVar(&cfg.DataDir, flagDataDir, "./data", "the node's data directory (the node may be running or stopped)")
	fs.StringVar(&cfg.KEKFile, flagKEKFile, "", "the key-encryption key (or set "+envKEK+")")
	fs.StringVar(&node, flagNodeID, "", "the node whose chain this is (default: the data directory's node)")
	fs.StringVar(&from, "from", "", "verify records from this time on (RFC 3339), starting at the last checkpoint before it")
	fs.StringVar(&to, "to", "", "verify records up to this time (RFC 3339)")
	fs.BoolVar(&asJSON, flagJSON, false, "print the report as JSON")
	if err := parseFlags(fs, args[1:], stdout); err != nil {
		return err
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
