package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"lijiang/platform"
	"lijiang/platform/smcrypto"
)

// Sentinel errors of Start.
var (
	// ErrNotLoopback: Start was given an address that is not a loopback one.
	ErrNotLoopback = errors.New("sandbox: listen address must be a loopback address (127.0.0.1, ::1 or localhost)")
	// ErrStarted: Start was called twice.
	ErrStarted = errors.New("sandbox: already started")
)

// Config configures a Bank.
type Config struct {
	// Seed selects the seeded data; zero means DefaultSeed. The same seed
	// and the same day give the same customers, accounts and history.
	Seed int64
	// Now is the clock (default time.Now). The seeded history ends the day
	// before Now's date at New, in +08:00.
	Now func() time.Time
	// Logger receives the bank's few log lines (default: discarded).
	Logger *slog.Logger
	// AccountIDKey keys the HMAC-SM3 of the accounts' opaque ids (AccountID).
	// Default: a key derived from Seed, so that the ids of the sandbox's test
	// accounts stay the same across restarts; a real core bank keeps its key
	// secret, since account numbers are few enough to be guessed from an id.
	AccountIDKey []byte
}

// Bank is the sandbox core bank. It is safe for concurrent use.
type Bank struct {
	seed    int64
	idKey   []byte
	now     func() time.Time
	log     *slog.Logger
	handler http.Handler

	// Read-only after New.
	customers  map[string]*customer // by id
	byUsername map[string]*customer
	products   map[string]*product

	authMu sync.Mutex // guards the customers' login state

	mu        sync.RWMutex // guards accounts' balances and histories, transfers, daily, sequences
	accounts  map[string]*account
	transfers map[string]*transfer
	trOrder   []string // transfer ids, oldest first, for the cap
	daily     map[string]dailyUsage
	txnSeq    uint64
	trSeq     uint64

	idem idempotencyStore

	srvMu sync.Mutex
	srv   *http.Server
	ln    net.Listener
	done  chan struct{}
}

// New returns a Bank with its seeded data. It has no side effects: nothing
// listens until Start.
func New(cfg Config) *Bank {
	b := &Bank{seed: cfg.Seed, now: cfg.Now, log: cfg.Logger, idKey: bytes.Clone(cfg.AccountIDKey)}
	if b.seed == 0 {
		b.seed = DefaultSeed
	}
	if len(b.idKey) == 0 {
		k := smcrypto.SM3([]byte("lijiang sandbox account ids " + strconv.FormatInt(b.seed, 10)))
		b.idKey = k[:]
	}
	if b.now == nil {
		b.now = time.Now
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	n := b.now().In(cst)
	today := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, cst)
	d := seed(b.seed, today)
	b.customers = make(map[string]*customer, len(d.customers))
	b.byUsername = make(map[string]*customer, len(d.customers))
	for _, c := range d.customers {
		b.customers[c.ID], b.byUsername[c.Username] = c, c
	}
	b.accounts, b.txnSeq = d.accounts, d.txnSeq
	b.products = make(map[string]*product, len(products))
	for i := range products {
		b.products[products[i].ProductID] = &products[i]
	}
	b.transfers = map[string]*transfer{}
	b.daily = map[string]dailyUsage{}
	b.idem.entries = map[string]*idemEntry{}
	b.handler = http.HandlerFunc(b.serveHTTP)
	return b
}

// Handler returns the bank's HTTP handler, for Start or for a test server.
// It trusts X-LJ-App-Id, X-LJ-Customer-Id and X-LJ-Consent-Id: serve it only where the
// gateway alone can reach it.
func (b *Bank) Handler() http.Handler { return b.handler }

// Start serves the bank over plain HTTP on addr, which must be a loopback
// address ("127.0.0.1:0" when empty; port 0 picks a free port, see Addr).
// The sandbox is an upstream of the gateway on the same host and trusts the
// gateway's identity headers, so it is never exposed beyond loopback.
func (b *Bank) Start(addr string) error {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("sandbox listen address: %w", err)
	}
	if !platform.IsLoopbackHost(host) {
		return ErrNotLoopback
	}
	b.srvMu.Lock()
	defer b.srvMu.Unlock()
	if b.srv != nil {
		return ErrStarted
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("sandbox listen: %w", err)
	}
	if ta, ok := ln.Addr().(*net.TCPAddr); !ok || !ta.IP.IsLoopback() { // "localhost" resolved elsewhere
		ln.Close()
		return ErrNotLoopback
	}
	b.srv = &http.Server{
		Handler:           b.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(b.log.Handler(), slog.LevelWarn),
	}
	b.ln = ln
	b.done = make(chan struct{})
	srv, done := b.srv, b.done
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			b.log.Error("sandbox server stopped", "err", err)
		}
	}()
	go demoHashes() // warm the password hashes, so that the first login is not slow
	b.log.Info("sandbox core bank listening", "addr", ln.Addr().String(), "seed", b.seed)
	return nil
}

// Addr returns the address Start listens on ("" before Start).
func (b *Bank) Addr() string {
	b.srvMu.Lock()
	defer b.srvMu.Unlock()
	if b.ln == nil {
		return ""
	}
	return b.ln.Addr().String()
}

// Close stops serving: it lets requests in flight finish for up to five
// seconds, then closes the remaining connections. It is safe to call more
// than once, and before Start; after Close, Start may serve again (the state
// is kept).
func (b *Bank) Close() error {
	b.srvMu.Lock()
	srv, done := b.srv, b.done
	b.srv, b.ln, b.done = nil, nil, nil
	b.srvMu.Unlock()
	if srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(ctx)
	if err != nil {
		err = srv.Close()
	}
	<-done
	return err
}
