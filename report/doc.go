// Package report builds the self-check report of an installation:
// every requirement of the bank's standard with its status on this node, the
// live checks of its configuration and files, the access reviews (R-7.3.1,
// R-14), the periodic figures of its audit store, and, apart, a
// CycloneDX bill of materials of the binary and an offline check of its
// modules against a copy of the Go vulnerability database.
//
// It reads only: the replicated state through platform.ReadReportState, the
// audit store through audit.Query, the data directory's files. It never
// opens a sealed secret and puts no secret and no personal data in the
// report: customers appear only as counts, staff by user id and username.
// It imports platform and audit, nothing above them; the root package wires
// it to the CLI (lijiang report) and to the admin API.
package report
