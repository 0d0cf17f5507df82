package sandbox

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"lijiang/platform"
)

// Lockout policy of the customer login (R-7.3.2: brute force).
const (
	MaxLoginFailures = 5
	LockoutDuration  = 15 * time.Minute
)

// Errors of Authenticate. ErrOTPReused wraps ErrBadCredentials, so a caller
// that only tells the user "wrong credentials" may test for that alone.
var (
	// ErrBadCredentials: unknown username, wrong password or wrong one-time
	// code; deliberately one error, so that a login page cannot tell which.
	ErrBadCredentials = errors.New("sandbox: wrong username, password or one-time code")
	// ErrOTPReused: the one-time code's time step was used already by this
	// customer (a code works once); wait for the next code.
	ErrOTPReused = fmt.Errorf("%w: one-time code already used", ErrBadCredentials)
	// ErrLocked: too many failures; the customer is locked for LockoutDuration.
	ErrLocked = errors.New("sandbox: customer locked after repeated login failures")
)

// Customer is a customer of the bank as the directory shows it to the
// gateway and the portal. Phone is in full: whoever shows it masks it.
type Customer struct {
	ID       string // forwarded upstream as X-LJ-Customer-Id
	Username string
	Name     string
	Phone    string
}

// Directory is the customer directory the portal's authorise page and the
// gateway depend on for the bank-side two-factor login (R-7.2.1b): a password
// and a one-time code. The sandbox Bank is one; production would plug in the
// bank's own customer authentication system behind the same interface.
type Directory interface {
	// Authenticate checks username, password and one-time code at now and
	// returns the customer, or ErrBadCredentials (possibly wrapped, as
	// ErrOTPReused) or ErrLocked.
	Authenticate(username, password, otp string, now time.Time) (Customer, error)
	// Customer returns the customer with id.
	Customer(id string) (Customer, bool)
}

var _ Directory = (*Bank)(nil)

// demoHashes holds the PBKDF2-HMAC-SM3 hashes of the demo customers'
// passwords, by username. They are computed once per process, on the first
// login, with platform.HashPassword at its normal cost, so that New stays
// cheap and a known and an unknown username cost the same (an unknown one is
// checked against platform's dummy hash of that cost).
var demoHashes = sync.OnceValue(func() map[string]string {
	out := make(map[string]string, len(demoSpecs))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, s := range demoSpecs {
		wg.Go(func() {
			h, err := platform.HashPassword(s.Password)
			if err != nil {
				// crypto/rand does not fail on supported platforms; without a
				// hash the customer simply cannot log in.
				return
			}
			mu.Lock()
			out[s.Username] = h
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
})

// Authenticate implements Directory. Both factors are always checked (the
// password with PBKDF2-HMAC-SM3 even for an unknown username), so the time
// taken does not tell whether the username exists.
func (b *Bank) Authenticate(username, password, otp string, now time.Time) (Customer, error) {
	var c *customer
	if len(username) <= 64 {
		c = b.byUsername[username]
	}
	hash := ""
	if c != nil {
		hash = demoHashes()[c.Username]
	}
	pwOK := platform.VerifyPasswordOrDummy(hash, password)
	secret := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" // a dummy, so that the TOTP work is done either way
	if c != nil {
		secret = c.totpSecret
	}
	step, otpOK := platform.VerifyTOTP(secret, otp, now)
	if c == nil {
		return Customer{}, ErrBadCredentials
	}

	b.authMu.Lock()
	defer b.authMu.Unlock()
	if now.Before(c.lockedUntil) {
		return Customer{}, ErrLocked
	}
	var err error
	switch {
	case !pwOK || !otpOK:
		err = ErrBadCredentials
	case step <= c.lastStep:
		err = ErrOTPReused
	}
	if err != nil {
		c.failures++
		if c.failures >= MaxLoginFailures {
			c.failures = 0
			c.lockedUntil = now.Add(LockoutDuration)
			b.log.Warn("sandbox customer locked after repeated login failures", "customer_id", c.ID)
			return Customer{}, ErrLocked
		}
		return Customer{}, err
	}
	c.failures = 0
	c.lastStep = step
	return c.Customer, nil
}

// Customer implements Directory.
func (b *Bank) Customer(id string) (Customer, bool) {
	c, ok := b.customers[id]
	if !ok {
		return Customer{}, false
	}
	return c.Customer, true
}

// AccountNumbers returns the numbers of a customer's accounts, in the
// seeded order (debit card first), e.g. for `serve --demo` to print.
func (b *Bank) AccountNumbers(customerID string) []string {
	c, ok := b.customers[customerID]
	if !ok {
		return nil
	}
	return append([]string(nil), c.accounts...)
}

// AuthenticateCustomer is Authenticate in the shape of the portal's customer
// directory: the customer's id and name.
func (b *Bank) AuthenticateCustomer(username, password, otp string, now time.Time) (id, name string, err error) {
	c, err := b.Authenticate(username, password, otp, now)
	if err != nil {
		return "", "", err
	}
	return c.ID, c.Name, nil
}

// CustomerName returns the name of the customer with id.
func (b *Bank) CustomerName(id string) (string, bool) {
	c, ok := b.Customer(id)
	return c.Name, ok
}
