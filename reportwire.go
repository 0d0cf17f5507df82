package main

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"time"

	"lijiang/audit"
	"lijiang/platform"
	"lijiang/portal"
	"lijiang/report"
)

// complianceMatrix is docs/compliance.md as built: the self-check report's
// list of R-ids and the tests that prove each.
//
//go:embed docs/compliance.md
var complianceMatrix []byte

// Names of node.start's details the report reads back on a stopped node.
const (
	startDemo       = "demo"
	startMinTLS     = "min_tls"
	startKEKSource  = "kek_source"
	startKEKFile    = "kek_file"
	startTLSCert    = "tls_cert"
	startCheckpoint = "checkpoint_interval"
	startRetainPfx  = "retain_"
)

// nodeStartDetail is what the node.start event records of the node's
// configuration (no secret): a report on the stopped node reads it back.
func nodeStartDetail(cfg Config) map[string]string {
	d := map[string]string{"version": version, startDemo: strconv.FormatBool(cfg.Demo), startMinTLS: cfg.MinTLS,
		startKEKSource: kekSource(cfg), startCheckpoint: cfg.AuditCheckpointInterval.String()}
	if cfg.KEKFile != "" {
		if abs, err := filepath.Abs(cfg.KEKFile); err == nil {
			d[startKEKFile] = abs
		}
	}
	if cfg.TLSCert != "" {
		if abs, err := filepath.Abs(cfg.TLSCert); err == nil {
			d[startTLSCert] = abs
		}
	}
	for _, k := range []string{audit.KindAccess, audit.KindAdmin, audit.KindSystem} {
		d[startRetainPfx+k] = audit.FormatRetention(cfg.AuditRetention.For(k))
	}
	return d
}

// kekSource says where loadKeyring takes the key-encryption key from.
func kekSource(cfg Config) string {
	switch {
	case cfg.KEKFile != "":
		return "file"
	case os.Getenv(envKEK) != "":
		return "env"
	case cfg.Demo:
		return "dev"
	}
	return ""
}

// reportSettings are a running node's settings as the report states them.
func reportSettings(cfg Config) report.Settings {
	s := report.Settings{Known: true, Source: "the running node's command line", MinTLS: cfg.MinTLS, Demo: cfg.Demo, KEKSource: kekSource(cfg),
		KEKFile: cfg.KEKFile, TLSCertFile: cfg.TLSCert, Retention: cfg.AuditRetention, RetentionKnown: true, CheckpointInterval: cfg.AuditCheckpointInterval}
	return s
}

// settingsFromStart reads the settings back from a node.start event.
func settingsFromStart(r *audit.Record) report.Settings {
	d := r.Detail
	s := report.Settings{Known: true, Source: "the node's last start, " + time.UnixMilli(r.TimeMs).UTC().Format(time.RFC3339) + " (node.start, record " + strconv.FormatUint(r.Seq, 10) + ")",
		MinTLS: d[startMinTLS], Demo: d[startDemo] == "true", KEKSource: d[startKEKSource], KEKFile: d[startKEKFile], TLSCertFile: d[startTLSCert]}
	s.CheckpointInterval, _ = time.ParseDuration(d[startCheckpoint])
	s.RetentionKnown = true
	for _, k := range []struct {
		kind string
		d    *time.Duration
	}{{audit.KindAccess, &s.Retention.Access}, {audit.KindAdmin, &s.Retention.Admin}, {audit.KindSystem, &s.Retention.System}} {
		v, err := audit.ParseRetention(d[startRetainPfx+k.kind])
		if err != nil {
			s.RetentionKnown = false
		}
		*k.d = v
	}
	return s
}

// lastStart is the newest node.start event of an audit store, nil if none.
func lastStart(ctx context.Context, path string) *audit.Record {
	var out *audit.Record
	audit.Query(ctx, path, audit.Filter{Kind: audit.KindSystem, Descending: true}, func(r *audit.Record) bool {
		if r.Event == "node.start" {
			out = r
			return false
		}
		return true
	})
	return out
}

// buildInfo is the binary's build information, nil without.
func buildInfo() *debug.BuildInfo {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	return bi
}

// render writes r in format.
func renderReport(r *report.Report, format string) ([]byte, error) {
	var b bytes.Buffer
	var err error
	if format == "html" {
		err = r.WriteHTML(&b)
	} else {
		err = r.WriteJSON(&b)
	}
	return b.Bytes(), err
}

// reportSource is the admin API's self-check report of the running node
// (portal.ReportSource): the same report as lijiang report, from the same
// files read read-only, with the node's own settings and cluster status.
type reportSource struct{ n *node }

var _ portal.ReportSource = reportSource{}

// Report builds and renders the report.
func (s reportSource) Report(ctx context.Context, format, recorded string) ([]byte, error) {
	n := s.n
	matrix, err := report.ParseMatrix(complianceMatrix)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	st, err := platform.ReadReportState(filepath.Join(n.cfg.DataDir, platform.StateFile), now)
	if err != nil {
		return nil, err
	}
	in := report.Input{Now: now, Node: n.nodeID, Version: version, DataDir: n.cfg.DataDir, State: st,
		AuditPath: filepath.Join(n.cfg.DataDir, platform.AuditFile), Settings: reportSettings(n.cfg), Matrix: matrix,
		Build: buildInfo(), Generated: recorded, Members: []report.Member{}}
	if cs, err := n.cluster.Status(ctx); err == nil {
		for _, m := range cs.Members {
			in.Members = append(in.Members, report.Member{ID: m.ID, State: m.State, AppliedIndex: m.AppliedIndex, Lag: m.Lag, Reachable: m.Reachable})
		}
	} else {
		in.Members = nil
	}
	r, err := report.Build(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("self-check report: %w", err)
	}
	return renderReport(r, format)
}
