package gateway

import "time"

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
}

// AccessSink receives access records; the audit package makes them durable
// and tamper-evident.
type AccessSink interface {
	Record(r *AccessRecord) error
}

type discardSink struct{}

func (discardSink) Record(*AccessRecord) error { return nil }
