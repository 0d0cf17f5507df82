package gateway

import (
	"context"
	"time"
)

// AccessRecord is the record of one call: the transaction serial
// number, App_ID, API, latency, time and result, with the node, the client's
// address, the scheme and the status. It never holds a body, a secret or
// personal data.
type AccessRecord struct {
	RequestID     string    `json:"request_id"`
	Time          time.Time `json:"time"`
	Node          string    `json:"node"`
	AppID         string    `json:"app_id,omitempty"`
	Env           string    `json:"env,omitempty"`
	APIID         string    `json:"api_id,omitempty"`
	Level         string    `json:"level,omitempty"`
	Method        string    `json:"method"`
	Scheme        string    `json:"scheme,omitempty"`
	ClientAddr    string    `json:"client_addr"`
	Proto         string    `json:"proto"`
	Status        int       `json:"status"`
	Code          string    `json:"code,omitempty"` // the protocol's error code; empty on success
	LatencyMicros int64     `json:"latency_us"`
	// Serial is the credential that signed the call.
	Serial string `json:"serial,omitempty"`
	// Customer is the customer a user token acts for, in clear: the sink
	// keeps only its keyed hash.
	Customer string `json:"-"`
	// Admission is the A2 admission's outcome (admitted, replayed, full), or
	// empty when none was tried.
	Admission string `json:"admission,omitempty"`
	// Rules names the limit and risk rules that decided the call.
	Rules []string `json:"rules,omitempty"`
	// Retention is the API's retention; ReqBody and RespBody are what it
	// keeps: masked bodies ("masked"), or clear ones ("sealed") that the
	// sink seals with the audit key before anything is written.
	Retention         string `json:"-"`
	ReqBody, RespBody []byte `json:"-"`
}

// AccessSink receives access records; the audit package makes them durable
// and tamper-evident.
type AccessSink interface {
	// Record hands r over, to be durable within the audit window (A1).
	Record(r *AccessRecord) error
	// RecordDurable returns once r is durable, or why it is not (A2: the
	// answer waits for its record).
	RecordDurable(ctx context.Context, r *AccessRecord) error
	// Ready reports whether records can be made durable now: an A2 call is
	// not forwarded when they cannot.
	Ready() error
}

type discardSink struct{}

func (discardSink) Record(*AccessRecord) error                         { return nil }
func (discardSink) RecordDurable(context.Context, *AccessRecord) error { return nil }
func (discardSink) Ready() error                                       { return nil }
