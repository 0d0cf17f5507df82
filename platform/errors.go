package platform

import (
	"errors"
	"fmt"
)

// Sentinel errors of the platform package.
var (
	// ErrBadCommand: a command's envelope or payload is malformed.
	ErrBadCommand = errors.New("malformed command")
	// ErrUnknownCommand: the command's type is not known to this node.
	ErrUnknownCommand = errors.New("unknown command type")
	// ErrCommandVersion: the envelope or payload version is not known to this node.
	ErrCommandVersion = errors.New("unsupported command version")
	// ErrCommandTooLarge: an encoded command exceeds MaxCommandSize.
	ErrCommandTooLarge = errors.New("command too large")
	// ErrSchemaNewer: state.db was written by a newer version of lijiang.
	ErrSchemaNewer = errors.New("state database schema is newer than this binary")
	// ErrSchemaOlder: state.db has not been migrated to this binary's schema
	// yet (ReadState does not migrate; Store.Open does).
	ErrSchemaOlder = errors.New("state database schema is older than this binary")
	// ErrCorrupt: state.db is not a readable Lijiang database.
	ErrCorrupt = errors.New("state database is corrupt")
	// ErrClosed: the store is not open.
	ErrClosed = errors.New("store is closed")
	// ErrUnavailable: the cluster cannot take writes now (no leader, no
	// quorum); the caller may retry. Executors wrap it.
	ErrUnavailable = errors.New("cluster unavailable for writes")
)

// Codes of CommandError: why the state refused a command. They map onto HTTP
// statuses in the API packages.
const (
	CodeInvalid  = "INVALID"   // a field fails validation (400)
	CodeNotFound = "NOT_FOUND" // a referenced record does not exist (404)
	CodeConflict = "CONFLICT"  // duplicate or stale (409)
	CodeDenied   = "DENIED"    // the rules forbid it, e.g. separation of duties (403)
	CodeInternal = "INTERNAL"  // the node could not apply it (500)
)

// CommandError is the typed error a command's apply returns to its proposer.
// It is part of the command's recorded result, so its text must never carry a
// secret or personal data.
type CommandError struct {
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func (e *CommandError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", e.Code, e.Field, e.Message)
	}
	return e.Code + ": " + e.Message
}

// Invalid returns a CodeInvalid error naming the field.
func Invalid(field, msg string) *CommandError {
	return &CommandError{Code: CodeInvalid, Field: field, Message: msg}
}

// NotFound returns a CodeNotFound error.
func NotFound(msg string) *CommandError { return &CommandError{Code: CodeNotFound, Message: msg} }

// Conflict returns a CodeConflict error.
func Conflict(msg string) *CommandError { return &CommandError{Code: CodeConflict, Message: msg} }

// Denied returns a CodeDenied error.
func Denied(msg string) *CommandError { return &CommandError{Code: CodeDenied, Message: msg} }
