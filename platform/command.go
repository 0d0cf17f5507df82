package platform

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"
)

// EnvelopeVersion is the version of the command envelope format. A node
// refuses a command of any other version rather than guess at its meaning.
const EnvelopeVersion = 1

// MaxCommandSize bounds an encoded command; nothing the platform proposes comes
// near it, so anything larger is refused before it reaches the log.
const MaxCommandSize = 4 << 20

// Actor kinds: who made a change.
const (
	ActorSystem    = "system"    // the platform itself (start-up, schedulers)
	ActorAdmin     = "admin"     // a bank user on the admin port
	ActorDeveloper = "developer" // an applicant's developer on the portal
	ActorCustomer  = "customer"  // a bank customer (consents)
	ActorCLI       = "cli"       // an operator at the command line
)

// Actor says who made a change and from where; it is kept in the change record.
type Actor struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
	Addr string `json:"addr,omitempty"`
	Node string `json:"node,omitempty"`
}

// Command is a typed, versioned change of replicated state. Everything apply
// needs that is not already in the state travels in the command: its id, its
// time and every random value (ids, keys, sealed secrets) are made by the
// proposer, so that every node applying it reaches the same state.
type Command struct {
	V           int             `json:"v"`       // envelope version, EnvelopeVersion
	Type        string          `json:"type"`    // e.g. "setting.set"
	TypeVersion int             `json:"tv"`      // version of the payload's schema for Type
	ID          string          `json:"id"`      // unique id; also the idempotency key
	At          int64           `json:"at"`      // proposer's clock, Unix milliseconds
	Actor       Actor           `json:"actor"`   // who and from where
	Payload     json.RawMessage `json:"payload"` // the Type's payload, a JSON object
}

// Time is the command's time: the only "now" that apply may use.
func (c *Command) Time() time.Time { return time.UnixMilli(c.At).UTC() }

// Executor proposes commands and returns their results once applied; the
// raftstore's Node is the one in production. A refused command comes back as
// its *CommandError.
type Executor interface {
	Execute(ctx context.Context, c *Command) (Result, error)
}

// applyFunc applies a decoded command inside the apply transaction and returns
// the value to answer the proposer with.
type applyFunc func(tx *Tx, c *Command, payload any) (any, error)

// commandSpec describes one version of one command type.
type commandSpec struct {
	decode func(raw json.RawMessage) (any, error)
	apply  applyFunc
	parts  Parts // registry parts the command may change
	// unrecorded commands are not written to the change log (see
	// HandleUnrecorded).
	unrecorded bool
}

var commandSpecs = map[string]map[int]commandSpec{}

// Validator is implemented by payloads that check their own fields.
type Validator interface{ Validate() error }

// Handle registers version ver of command type typ with payload type P. It is
// called from init functions only; registering the same type and version
// twice is a programming error.
func Handle[P any](typ string, ver int, parts Parts, apply func(tx *Tx, c *Command, p *P) (any, error)) {
	if commandSpecs[typ] == nil {
		commandSpecs[typ] = map[int]commandSpec{}
	}
	if _, dup := commandSpecs[typ][ver]; dup {
		panic("platform: command " + typ + " registered twice")
	}
	commandSpecs[typ][ver] = commandSpec{
		decode: func(raw json.RawMessage) (any, error) {
			p := new(P)
			if err := decodeStrict(raw, p); err != nil {
				return nil, err
			}
			if v, ok := any(p).(Validator); ok {
				if err := v.Validate(); err != nil {
					return nil, err
				}
			}
			return p, nil
		},
		apply: func(tx *Tx, c *Command, p any) (any, error) { return apply(tx, c, p.(*P)) },
		parts: parts,
	}
}

// HandleUnrecorded registers a command type as Handle does, except that its
// applications are not written to the change log (table changes): for the
// data plane's high-volume records that keep a table of their own (A2
// admissions), which would otherwise grow the change log by a row per
// batch of calls. Such a command's apply must be idempotent by its data,
// since a retried command is not recognised by its id.
func HandleUnrecorded[P any](typ string, ver int, parts Parts, apply func(tx *Tx, c *Command, p *P) (any, error)) {
	Handle(typ, ver, parts, apply)
	spec := commandSpecs[typ][ver]
	spec.unrecorded = true
	commandSpecs[typ][ver] = spec
}

// CommandTypes lists the registered command types and their versions, sorted.
func CommandTypes() []string {
	var out []string
	for typ, vers := range commandSpecs {
		for v := range vers {
			out = append(out, fmt.Sprintf("%s/%d", typ, v))
		}
	}
	sort.Strings(out)
	return out
}

var (
	commandIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{8,128}$`)
	typePattern      = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)
)

// NewCommandID returns a fresh random command id (128 bits, hex).
func NewCommandID() string {
	var b [16]byte
	if _, err := io.ReadFull(rand.Reader, b[:]); err != nil {
		panic("platform: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// idEncoding is lower-case base32 (RFC 4648 without padding), for ids that
// appear in URLs and logs.
var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewID returns prefix + "_" + 20 lower-case base32 characters of 100 random
// bits: ids of records, made by proposers (never inside apply).
func NewID(prefix string) string {
	var b [13]byte
	if _, err := io.ReadFull(rand.Reader, b[:]); err != nil {
		panic("platform: crypto/rand failed: " + err.Error())
	}
	return prefix + "_" + strings.ToLower(idEncoding.EncodeToString(b[:]))[:20]
}

// NewCommand builds a command of the given type and payload version. An empty
// id gets a fresh random one; the time is now's, in milliseconds.
func NewCommand(typ string, ver int, id string, actor Actor, now time.Time, payload any) (*Command, error) {
	raw, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("command %s payload: %w", typ, err)
	}
	if id == "" {
		id = NewCommandID()
	}
	c := &Command{V: EnvelopeVersion, Type: typ, TypeVersion: ver, ID: id, At: now.UnixMilli(), Actor: actor, Payload: raw}
	if _, err := c.check(); err != nil {
		return nil, err
	}
	return c, nil
}

// Encode returns the command's wire form, as written to the Raft log.
func (c *Command) Encode() ([]byte, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encoding command: %w", err)
	}
	if len(b) > MaxCommandSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrCommandTooLarge, len(b))
	}
	return b, nil
}

// DecodeCommand parses and fully validates a command's wire form: the envelope,
// its version, its type and type version, and its payload (strictly, unknown
// fields rejected). It never panics, whatever the input.
func DecodeCommand(b []byte) (*Command, error) {
	c, _, err := decodeCommand(b)
	return c, err
}

func decodeCommand(b []byte) (*Command, any, error) {
	if len(b) > MaxCommandSize {
		return nil, nil, fmt.Errorf("%w: %d bytes", ErrCommandTooLarge, len(b))
	}
	// The commands of A2 calls first, in the one layout they are written
	// in (admissions_decode.go); checked as every command's.
	if c, p, ok := decodeA2AdmitFast(b); ok {
		if _, err := c.checkEnvelope(); err != nil {
			return nil, nil, err
		}
		if err := p.Validate(); err != nil {
			return nil, nil, fmt.Errorf("%w: %s payload: %w", ErrBadCommand, c.Type, err)
		}
		return c, p, nil
	}
	var c Command
	if err := decodeStrict(b, &c); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrBadCommand, err)
	}
	p, err := c.check()
	if err != nil {
		return nil, nil, err
	}
	return &c, p, nil
}

// check validates the envelope and decodes the payload.
func (c *Command) check() (any, error) {
	spec, err := c.checkEnvelope()
	if err != nil {
		return nil, err
	}
	p, err := spec.decode(c.Payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %s payload: %w", ErrBadCommand, c.Type, err)
	}
	return p, nil
}

// checkEnvelope checks the command's fields other than its payload, and
// returns the spec of its type and version.
func (c *Command) checkEnvelope() (commandSpec, error) {
	var spec commandSpec
	if c.V != EnvelopeVersion {
		return spec, fmt.Errorf("%w: envelope version %d (this node knows %d)", ErrCommandVersion, c.V, EnvelopeVersion)
	}
	if !typePattern.MatchString(c.Type) {
		return spec, fmt.Errorf("%w: bad type", ErrBadCommand)
	}
	vers, ok := commandSpecs[c.Type]
	if !ok {
		return spec, fmt.Errorf("%w: %s", ErrUnknownCommand, c.Type)
	}
	spec, ok = vers[c.TypeVersion]
	if !ok {
		return spec, fmt.Errorf("%w: %s version %d", ErrCommandVersion, c.Type, c.TypeVersion)
	}
	if !commandIDPattern.MatchString(c.ID) {
		return spec, fmt.Errorf("%w: bad id", ErrBadCommand)
	}
	if c.At <= 0 {
		return spec, fmt.Errorf("%w: bad time", ErrBadCommand)
	}
	if c.Actor.Kind == "" || len(c.Actor.Kind) > 32 || len(c.Actor.ID) > 128 || len(c.Actor.Addr) > 64 || len(c.Actor.Node) > 64 {
		return spec, fmt.Errorf("%w: bad actor", ErrBadCommand)
	}
	return spec, nil
}

// decodeStrict decodes exactly one JSON value into v, rejecting unknown fields
// and trailing data.
func decodeStrict(b []byte, v any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return errors.New("empty")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data")
	}
	return nil
}
