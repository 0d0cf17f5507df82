package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"time"

	"lijiang/audit"
	"lijiang/platform"
	"lijiang/platform/fsutil"
	"lijiang/portal"
	"lijiang/report"
)

// cmdReport runs lijiang report: the self-check report of a stopped node's
// data directory, or with --sbom the binary's bill of materials.
func cmdReport(args []string, stdout, stderr io.Writer) error {
	var cfg Config
	var format, out, vulnDB string
	var sbom bool
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.StringVar(&cfg.DataDir, flagDataDir, "./data", "the stopped node's data directory (a running node's report: GET /admin/api/v1/report)")
	fs.StringVar(&cfg.KEKFile, flagKEKFile, "", "the key-encryption key (or set "+envKEK+"): it must open the node's secrets")
	fs.StringVar(&format, "format", "json", "json or html (a self-contained, printable page in Chinese with English)")
	fs.StringVar(&out, flagOut, "", "write the report to this file (mode 0600) instead of standard output")
	fs.StringVar(&vulnDB, "vulndb", "", "a local copy of the Go vulnerability database (OSV, the layout govulncheck reads with -db file://DIR) to check the binary's modules against")
	fs.BoolVar(&sbom, "sbom", false, "print the binary's bill of materials (CycloneDX 1.5 JSON) instead of the report")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	write := func(b []byte) error {
		if out == "" {
			_, err := stdout.Write(b)
			return err
		}
		return fsutil.WriteFileAtomic(out, b, 0o600)
	}
	if sbom {
		bom, err := report.SBOM(buildInfo(), version, time.Now())
		if err != nil {
			return err
		}
		b, _ := json.MarshalIndent(bom, "", "  ")
		return write(append(b, '\n'))
	}
	if format != "json" && format != "html" {
		return usagef("report --format %q: give json or html", format)
	}
	ctx := context.Background()
	in, err := offlineInput(ctx, cfg, vulnDB, format, time.Now())
	if err != nil {
		return err
	}
	r, err := report.Build(ctx, in)
	if err != nil {
		return err
	}
	b, err := renderReport(r, format)
	if err != nil {
		return err
	}
	if err := write(b); err != nil {
		return err
	}
	if out != "" {
		fmt.Fprintf(stderr, "report: %s written (%d requirements: %v; red lines %d)\n", out, len(r.Requirements), r.Summary.ByStatus, len(r.Summary.RedLines))
	}
	return nil
}

// offlineInput gathers the report's input from a stopped node's files. Its
// generation is recorded in the node's audit chain when the data directory
// can be locked (the node is stopped); otherwise the report says it was not.
func offlineInput(ctx context.Context, cfg Config, vulnDB, format string, now time.Time) (report.Input, error) {
	var in report.Input
	matrix, err := report.ParseMatrix(complianceMatrix)
	if err != nil {
		return in, err
	}
	keyring, err := loadKeyring(cfg, false)
	if err != nil {
		return in, err
	}
	node, err := platform.RecordedNodeID(cfg.DataDir)
	if err != nil {
		return in, err
	}
	statePath, auditPath := filepath.Join(cfg.DataDir, platform.StateFile), filepath.Join(cfg.DataDir, platform.AuditFile)
	st, err := platform.ReadReportState(statePath, now)
	if err != nil {
		return in, fmt.Errorf("%s: %w", cfg.DataDir, err)
	}
	if ak := st.Registry.AuditKey; ak != nil {
		if _, err := keyring.Open(platform.AuditKeyAAD(ak.ID), ak.Sealed); err != nil {
			return in, fmt.Errorf("the key-encryption key does not open this node's secrets: %w", err)
		}
	}
	recorded := recordOffline(ctx, cfg.DataDir, node, format)
	settings := report.Settings{Source: "not known: no node.start event in the audit store records the node's configuration; the KEK as given to this command"}
	if start := lastStart(ctx, auditPath); start != nil && start.Detail[startMinTLS] != "" {
		settings = settingsFromStart(start)
	}
	if settings.KEKSource == "" {
		// How this command was given the key: the best evidence left.
		settings.KEKSource, settings.KEKFile = kekSource(cfg), cfg.KEKFile
	}
	return report.Input{Now: now, Node: node, Version: version, Offline: true, DataDir: cfg.DataDir, State: st, AuditPath: auditPath,
		Settings: settings, Matrix: matrix, Build: buildInfo(), VulnDB: vulnDB, Generated: recorded}, nil
}

// recordOffline appends the report's event to the stopped node's audit
// chain, holding the data directory's lock; it returns what the report says
// of it.
func recordOffline(ctx context.Context, dataDir, node, format string) string {
	lock, err := platform.LockDataDir(dataDir)
	if err != nil {
		if errors.Is(err, platform.ErrDataDirInUse) {
			return "generated offline; not recorded in the audit chain: the node is running (its data directory is locked); ask the running node (GET /admin/api/v1/report), which records it"
		}
		return "generated offline; not recorded in the audit chain: " + err.Error()
	}
	defer lock.Unlock()
	st := audit.New(audit.Config{Path: filepath.Join(dataDir, platform.AuditFile), Node: node})
	if err := st.Open(); err != nil {
		return "generated offline; not recorded in the audit chain: the store did not open: " + err.Error()
	}
	defer st.Close()
	r := &audit.Record{Kind: audit.KindSystem, Node: node, TimeMs: time.Now().UnixMilli(), Event: portal.EventReportGenerated,
		Actor: &audit.Actor{Kind: platform.ActorSystem, ID: "lijiang report", Node: node}, Detail: map[string]string{"offline": "true", "format": format}}
	if err := st.AppendDurable(ctx, r); err != nil {
		return "generated offline; not recorded in the audit chain: " + err.Error()
	}
	seq, _ := st.Head()
	return "generated offline from the stopped node's files; recorded in node " + node + "'s audit chain as " + portal.EventReportGenerated + " (record " + strconv.FormatUint(seq, 10) + ")"
}
