package audit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Day is 24 hours: retention is counted in days of the records' clock.
const Day = 24 * time.Hour

// Retention is how long records of each kind stay in the node's store
// before they may be archived (and then pruned from the store). The
// product never deletes an archive segment: what happens to segments after
// that is the bank's records management.
type Retention struct {
	Access time.Duration // access records: the calls, the transaction log
	Admin  time.Duration // admin records: applied changes of the replicated state
	System time.Duration // system events of the node
}

// RetentionFloor is what the product refuses to go below (Q/GLB 04—2024):
//   - access records ≥ 183 days: 9.3.3 asks logs to be kept at least 6
//     months (R-9.3.3); 10.1.1 asks transaction logs to be kept "per the
//     national accounting rules", a period the bank sets above this floor;
//   - admin records ≥ 366 days: they are the log of the system's
//     administration, system logs in 10.1.1's sense (≥ 1 year, R-10.1.1);
//   - system events ≥ 366 days: system logs, ≥ 1 year.
var RetentionFloor = Retention{Access: 183 * Day, Admin: 366 * Day, System: 366 * Day}

// DefaultRetention is the retention when none is configured: above every
// floor, with margin for a late archive.
var DefaultRetention = Retention{Access: 400 * Day, Admin: 400 * Day, System: 400 * Day}

// ErrBelowFloor: a retention is shorter than the standard allows.
var ErrBelowFloor = errors.New("retention below the floor")

// For returns the retention of a record kind; an unknown kind is kept
// forever (0 means: never archived).
func (r Retention) For(kind string) time.Duration {
	switch kind {
	case KindAccess:
		return r.Access
	case KindAdmin:
		return r.Admin
	case KindSystem:
		return r.System
	}
	return 0
}

// Check refuses a retention below its floor, naming the kind and the floor.
func (r Retention) Check() error {
	for _, k := range []string{KindAccess, KindAdmin, KindSystem} {
		if got, floor := r.For(k), RetentionFloor.For(k); got < floor {
			return fmt.Errorf("%w: %s records are kept at least %s, not %s", ErrBelowFloor, k, FormatRetention(floor), FormatRetention(got))
		}
	}
	return nil
}

// ParseRetention reads a retention: whole days ("400d") or a Go duration
// ("9600h"). Years and months are not accepted: their length varies.
func ParseRetention(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(d, 10, 32)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("retention %q: give whole days, e.g. 400d", s)
		}
		return time.Duration(n) * Day, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("retention %q: give days (400d) or hours (9600h)", s)
	}
	return v, nil
}

// FormatRetention writes a retention as ParseRetention reads it: days when
// whole, otherwise a Go duration.
func FormatRetention(d time.Duration) string {
	if d > 0 && d%Day == 0 {
		return fmt.Sprintf("%dd", d/Day)
	}
	return d.String()
}

// RetentionValue is a flag.Value for a retention.
type RetentionValue struct{ D *time.Duration }

// String implements flag.Value.
func (v RetentionValue) String() string {
	if v.D == nil {
		return ""
	}
	return FormatRetention(*v.D)
}

// Set implements flag.Value.
func (v RetentionValue) Set(s string) error {
	d, err := ParseRetention(s)
	if err != nil {
		return err
	}
	*v.D = d
	return nil
}
