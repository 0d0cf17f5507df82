package sandbox

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"lijiang/platform/checkdigit"
)

// testNow is the fixed clock of the tests: a Monday morning in Guilin.
var testNow = time.Date(2025, 6, 30, 10, 0, 0, 0, cst)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	b   *Bank
	srv *httptest.Server
	clk *fakeClock
}

func mustBank(t *testing.T) *fixture {
	t.Helper()
	clk := &fakeClock{t: testNow}
	b := New(Config{Now: clk.Now})
	srv := httptest.NewServer(b.Handler())
	t.Cleanup(srv.Close)
	return &fixture{b: b, srv: srv, clk: clk}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

// code returns the "code" member of an error body.
func (r resp) code() string {
	var e struct{ Code string }
	json.Unmarshal(r.body, &e)
	return e.Code
}

// do sends a request; hdr is alternating names and values.
func (f *fixture) do(t *testing.T, method, path, body string, hdr ...string) resp {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp{res.StatusCode, res.Header, b}
}

// get is a GET as customer cust ("" for none).
func (f *fixture) get(t *testing.T, path, cust string) resp {
	t.Helper()
	if cust == "" {
		return f.do(t, http.MethodGet, path, "")
	}
	return f.do(t, http.MethodGet, path, "", HeaderCustomerID, cust, HeaderAppID, "LJAPPTEST0001")
}

func mustJSON[T any](t *testing.T, r resp, status int) T {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q", ct)
	}
	var v T
	dec := json.NewDecoder(strings.NewReader(string(r.body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
	return v
}

// demo returns the demo customer with username u and their accounts.
func (f *fixture) demo(t *testing.T, u string) (DemoCustomer, []string) {
	t.Helper()
	for _, d := range DemoCustomers() {
		if d.Username == u {
			return d, f.b.AccountNumbers(d.ID)
		}
	}
	t.Fatalf("no demo customer %s", u)
	return DemoCustomer{}, nil
}

func TestHealthz(t *testing.T) {
	f := mustBank(t)
	v := mustJSON[map[string]string](t, f.get(t, "/healthz", ""), 200)
	if v["status"] != "ok" {
		t.Fatalf("healthz %v", v)
	}
}

func TestProducts(t *testing.T) {
	f := mustBank(t)
	tests := []struct {
		name, query string
		total, n    int
		typ         string
	}{
		{"all", "", len(products), defaultPageSize, ""},
		{"deposit", "?type=deposit", 6, 6, ProductDeposit},
		{"loan", "?type=loan", 3, 3, ProductLoan},
		{"wealth", "?type=wealth", 5, 5, ProductWealth},
		{"paged", "?page=3&page_size=5", len(products), len(products) - 10, ""},
		{"past the end", "?page=9&page_size=5", len(products), 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustJSON[productPage](t, f.get(t, "/v1/products"+tt.query, ""), 200)
			if p.Total != tt.total || len(p.Products) != min(tt.n, tt.total) {
				t.Fatalf("total %d, %d products; want %d, %d", p.Total, len(p.Products), tt.total, min(tt.n, tt.total))
			}
			for _, pr := range p.Products {
				if tt.typ != "" && pr.Type != tt.typ {
					t.Errorf("%s has type %s", pr.ProductID, pr.Type)
				}
				if pr.Currency != "CNY" || pr.Name == "" || pr.Status != "ON_SALE" {
					t.Errorf("incomplete product %+v", pr)
				}
				if pr.Type == ProductWealth && (len(pr.RiskLevel) != 2 || pr.RiskLevel[0] != 'R') {
					t.Errorf("%s: risk level %q", pr.ProductID, pr.RiskLevel)
				}
			}
		})
	}
	levels := map[string]bool{}
	for _, p := range products {
		levels[p.RiskLevel] = true
	}
	for _, l := range []string{"R1", "R2", "R3", "R4", "R5"} {
		if !levels[l] {
			t.Errorf("no wealth product of risk level %s", l)
		}
	}

	p := mustJSON[product](t, f.get(t, "/v1/products/DEP-FIX-1Y", ""), 200)
	if p.Type != ProductDeposit || p.AnnualRate != "1.25" || p.TermMonths != 12 {
		t.Fatalf("DEP-FIX-1Y = %+v", p)
	}
	if r := f.get(t, "/v1/products/NOPE", ""); r.status != 404 || r.code() != CodeProductNotFound {
		t.Fatalf("unknown product: %d %s", r.status, r.body)
	}
}

func TestDepositRates(t *testing.T) {
	f := mustBank(t)
	s := mustJSON[rateSheet](t, f.get(t, "/v1/rates/deposit", ""), 200)
	var terms []string
	for _, r := range s.Rates {
		terms = append(terms, r.Term)
		if _, err := parseAmount(r.AnnualRate); err != nil {
			t.Errorf("%s: rate %q", r.Term, r.AnnualRate)
		}
	}
	if want := []string{"demand", "3m", "6m", "1y", "2y", "3y", "5y"}; !slices.Equal(terms, want) || s.Currency != "CNY" {
		t.Fatalf("terms %v, want %v", terms, want)
	}
}

func TestBranches(t *testing.T) {
	f := mustBank(t)
	type page struct {
		Total    int      `json:"total"`
		Branches []branch `json:"branches"`
	}
	tests := []struct {
		query string
		n     int
		city  string
	}{
		{"", len(branches), ""},
		{"?city=%E6%A1%82%E6%9E%97", 4, "桂林市"}, // 桂林
		{"?city=Guilin", 4, "桂林市"},
		{"?city=%E5%8D%97%E5%AE%81%E5%B8%82", 3, "南宁市"}, // 南宁市
		{"?city=nanning", 3, "南宁市"},
		{"?city=beijing", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			p := mustJSON[page](t, f.get(t, "/v1/branches"+tt.query, ""), 200)
			if p.Total != tt.n || len(p.Branches) != tt.n {
				t.Fatalf("%d branches, want %d", len(p.Branches), tt.n)
			}
			for _, br := range p.Branches {
				if tt.city != "" && br.City != tt.city || br.Address == "" || br.Phone == "" {
					t.Errorf("branch %+v", br)
				}
			}
		})
	}
}

type accountsPage struct {
	CustomerID string        `json:"customer_id"`
	Accounts   []accountView `json:"accounts"`
}

func TestAccounts(t *testing.T) {
	f := mustBank(t)
	for _, d := range DemoCustomers() {
		t.Run(d.Username, func(t *testing.T) {
			p := mustJSON[accountsPage](t, f.get(t, "/v1/accounts", d.ID), 200)
			if p.CustomerID != d.ID || len(p.Accounts) < 2 || len(p.Accounts) > 3 {
				t.Fatalf("customer %s: %d accounts", p.CustomerID, len(p.Accounts))
			}
			low := false
			for _, a := range p.Accounts {
				if len(a.AccountNo) != 19 || !strings.HasPrefix(a.AccountNo, "6222") || !checkdigit.LuhnValid(a.AccountNo) {
					t.Errorf("account number %s", a.AccountNo)
				}
				if a.HolderName != d.Name || a.Currency != "CNY" || a.TypeName == "" || a.Status != "NORMAL" {
					t.Errorf("account %+v", a)
				}
				if len(a.IDNo) != 18 || checkdigit.IDNo(a.IDNo[:17]) != a.IDNo[17] || len(a.Phone) != 11 {
					t.Errorf("id_no %s phone %s", a.IDNo, a.Phone)
				}
				bal := mustJSON[balanceView](t, f.get(t, "/v1/accounts/"+a.AccountNo+"/balance", d.ID), 200)
				av, _ := parseAmount(bal.Available)
				low = low || av < 100_00
			}
			if !low {
				t.Errorf("%s has no low-balance account", d.Username)
			}
		})
	}
}

func TestBalance(t *testing.T) {
	f := mustBank(t)
	d, accts := f.demo(t, "zhangsan")
	bal := mustJSON[balanceView](t, f.get(t, "/v1/accounts/"+accts[0]+"/balance", d.ID), 200)
	ledger, err1 := parseAmount(bal.Ledger)
	avail, err2 := parseAmount(bal.Available)
	frozen, err3 := parseAmount(bal.Frozen)
	if err := errors.Join(err1, err2, err3); err != nil || avail != ledger-frozen || frozen != 500_00 {
		t.Fatalf("balance %+v", bal)
	}
	if bal.AsOf != "2025-06-30T10:00:00+08:00" || bal.Currency != "CNY" {
		t.Fatalf("as_of %s", bal.AsOf)
	}
	// The ledger is the balance after the latest transaction.
	tx := mustJSON[txnPage](t, f.get(t, "/v1/accounts/"+accts[0]+"/transactions?page_size=1", d.ID), 200)
	if len(tx.Transactions) != 1 || tx.Transactions[0].BalanceAfter != bal.Ledger {
		t.Fatalf("latest transaction %+v, ledger %s", tx.Transactions, bal.Ledger)
	}
}

func TestTransactions(t *testing.T) {
	f := mustBank(t)
	d, accts := f.demo(t, "zhangsan")
	base := "/v1/accounts/" + accts[0] + "/transactions"

	all := mustJSON[txnPage](t, f.get(t, base+"?from=2025-04-01&to=2025-06-30&page_size=100", d.ID), 200)
	if all.Total < 40 || all.Total > 100 || len(all.Transactions) != all.Total {
		t.Fatalf("%d transactions in 60 days", all.Total)
	}
	oldest, _ := time.Parse(time.RFC3339, all.Transactions[len(all.Transactions)-1].BookedAt)
	if days := testNow.Sub(oldest).Hours() / 24; days < 55 || days > 61 {
		t.Errorf("history reaches back %.0f days", days)
	}
	// Newest first, and each balance follows from the one before.
	for i := 0; i+1 < len(all.Transactions); i++ {
		cur, prev := all.Transactions[i], all.Transactions[i+1]
		if cur.BookedAt < prev.BookedAt {
			t.Fatalf("not newest first at %d", i)
		}
		after, _ := parseAmount(cur.BalanceAfter)
		before, _ := parseAmount(prev.BalanceAfter)
		amt, _ := parseAmount(cur.Amount)
		if cur.Direction == "DEBIT" {
			amt = -amt
		}
		if before+amt != after || after < 0 {
			t.Fatalf("balance chain broken at %s: %s %s%s → %s", cur.TransactionID, prev.BalanceAfter, cur.Direction, cur.Amount, cur.BalanceAfter)
		}
		if !strings.HasPrefix(cur.BookedAt[10:], "T") || !strings.HasSuffix(cur.BookedAt, "+08:00") || cur.Currency != "CNY" || cur.Summary == "" {
			t.Fatalf("transaction %+v", cur)
		}
	}
	salary := false
	for _, x := range all.Transactions {
		if x.Summary == "代发工资" && x.Direction == "CREDIT" && x.CounterpartyName != "" && x.CounterpartyAccount != "" {
			salary = true
		}
	}
	if !salary {
		t.Error("no salary in the debit card's history")
	}

	t.Run("default range is the last 30 days", func(t *testing.T) {
		p := mustJSON[txnPage](t, f.get(t, base, d.ID), 200)
		if p.From != "2025-06-01" || p.To != "2025-06-30" || p.Page != 1 || p.PageSize != defaultPageSize {
			t.Fatalf("default %s..%s page %d/%d", p.From, p.To, p.Page, p.PageSize)
		}
		for _, x := range p.Transactions {
			if x.BookedAt < "2025-06-01" {
				t.Fatalf("%s outside the range", x.BookedAt)
			}
		}
	})
	t.Run("pages cover the range exactly once", func(t *testing.T) {
		var got []txnView
		for page := 1; ; page++ {
			p := mustJSON[txnPage](t, f.get(t, base+"?from=2025-04-01&to=2025-06-30&page_size=7&page="+strconv.Itoa(page), d.ID), 200)
			if len(p.Transactions) == 0 {
				break
			}
			got = append(got, p.Transactions...)
		}
		if !reflect.DeepEqual(got, all.Transactions) {
			t.Fatalf("paging gave %d transactions, want %d", len(got), len(all.Transactions))
		}
	})
	t.Run("one day", func(t *testing.T) {
		p := mustJSON[txnPage](t, f.get(t, base+"?from=2025-06-10&to=2025-06-10", d.ID), 200)
		for _, x := range p.Transactions {
			if !strings.HasPrefix(x.BookedAt, "2025-06-10T") {
				t.Fatalf("%s is not on 2025-06-10", x.BookedAt)
			}
		}
		if p.Total == 0 {
			t.Fatal("no salary day transactions")
		}
	})
}

func TestCustomerRequired(t *testing.T) {
	f := mustBank(t)
	_, accts := f.demo(t, "zhangsan")
	paths := []string{"/v1/accounts", "/v1/accounts/" + accts[0] + "/balance", "/v1/accounts/" + accts[0] + "/transactions", "/v1/transfers/TR2025063000000001"}
	for _, p := range paths {
		for _, cust := range []string{"", "cus_nosuchcustomer0000"} {
			t.Run(p+"/"+cust, func(t *testing.T) {
				r := f.get(t, p, cust)
				if r.status != 403 || r.code() != CodeConsentRequired {
					t.Fatalf("%d %s", r.status, r.body)
				}
			})
		}
	}
	r := f.do(t, http.MethodPost, "/v1/transfers", `{}`, HeaderAppID, "LJAPPTEST0001", HeaderIdempotencyKey, "key-00000001")
	if r.status != 403 || r.code() != CodeConsentRequired {
		t.Fatalf("transfer without customer: %d %s", r.status, r.body)
	}
}

// Another customer's account is indistinguishable from one that does not
// exist: same status, same body.
func TestOtherCustomersAccount(t *testing.T) {
	f := mustBank(t)
	zhang, _ := f.demo(t, "zhangsan")
	_, liAccts := f.demo(t, "lisi")
	missing := "6222077300000000000"
	for _, suffix := range []string{"/balance", "/transactions"} {
		t.Run(suffix, func(t *testing.T) {
			other := f.get(t, "/v1/accounts/"+liAccts[0]+suffix, zhang.ID)
			none := f.get(t, "/v1/accounts/"+missing+suffix, zhang.ID)
			if other.status != 404 || other.code() != CodeAccountNotFound || string(other.body) != string(none.body) || none.status != 404 {
				t.Fatalf("other: %d %s; missing: %d %s", other.status, other.body, none.status, none.body)
			}
			if strings.Contains(string(other.body), liAccts[0]) {
				t.Fatal("the error echoes the account number")
			}
		})
	}
}

func TestRouting(t *testing.T) {
	f := mustBank(t)
	d, _ := f.demo(t, "zhangsan")
	tests := []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/", 404, CodeAPINotFound},
		{"GET", "/v1", 404, CodeAPINotFound},
		{"GET", "/v1/", 404, CodeAPINotFound},
		{"GET", "/v1/products/", 404, CodeAPINotFound},
		{"GET", "/v1//products", 404, CodeAPINotFound},
		{"GET", "/v2/products", 404, CodeAPINotFound},
		{"GET", "/v1/accounts/1/balance/x", 404, CodeAPINotFound},
		{"GET", "/v1/rates/loan", 404, CodeAPINotFound},
		{"POST", "/v1/products", 405, CodeMethodNotAllowed},
		{"DELETE", "/v1/transfers/TR1", 405, CodeMethodNotAllowed},
		{"GET", "/v1/transfers", 405, CodeMethodNotAllowed},
		{"GET", "/v1/products?type=card", 400, CodeParamInvalid},
		{"GET", "/v1/products?page=0", 400, CodeParamInvalid},
		{"GET", "/v1/products?page_size=101", 400, CodeParamInvalid},
		{"GET", "/v1/products?page=x", 400, CodeParamInvalid},
		{"GET", "/v1/products?sort=name", 400, CodeParamInvalid},
		{"GET", "/v1/products?type=loan&type=deposit", 400, CodeParamInvalid},
		{"GET", "/v1/products?%zz", 400, CodeParamInvalid},
		{"GET", "/v1/rates/deposit?x=1", 400, CodeParamInvalid},
		{"GET", "/v1/branches?city=", 400, CodeParamInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := f.do(t, tt.method, tt.path, "", HeaderCustomerID, d.ID)
			if r.status != tt.status || r.code() != tt.code {
				t.Fatalf("%d %s, want %d %s", r.status, r.body, tt.status, tt.code)
			}
		})
	}
}

func TestTransactionsQueryErrors(t *testing.T) {
	f := mustBank(t)
	d, accts := f.demo(t, "zhangsan")
	for _, q := range []string{
		"from=2025-6-1", "from=2025-06-31", "to=20250630", "from=2025-06-30&to=2025-06-01",
		"from=2024-01-01&to=2025-06-30", "page_size=0", "page=-1", "account=1", "from=2025-06-01&from=2025-06-02",
	} {
		t.Run(q, func(t *testing.T) {
			r := f.get(t, "/v1/accounts/"+accts[0]+"/transactions?"+q, d.ID)
			if r.status != 400 || r.code() != CodeParamInvalid {
				t.Fatalf("%d %s", r.status, r.body)
			}
		})
	}
}

func TestSeedDeterministic(t *testing.T) {
	now := func() time.Time { return testNow }
	a, b := New(Config{Seed: 7, Now: now}), New(Config{Seed: 7, Now: now})
	if !reflect.DeepEqual(a.accounts, b.accounts) || !reflect.DeepEqual(a.customers, b.customers) || a.txnSeq != b.txnSeq {
		t.Fatal("two banks with the same seed differ")
	}
	c := New(Config{Seed: 8, Now: now})
	for _, d := range DemoCustomers() {
		if slices.Equal(a.AccountNumbers(d.ID), c.AccountNumbers(d.ID)) {
			t.Fatalf("seeds 7 and 8 give %s the same accounts", d.Username)
		}
	}
	// Zero is the default seed.
	if !reflect.DeepEqual(New(Config{Now: now}).accounts, New(Config{Seed: DefaultSeed, Now: now}).accounts) {
		t.Fatal("seed 0 is not DefaultSeed")
	}
}

func TestStartClose(t *testing.T) {
	b := New(Config{})
	for _, addr := range []string{"0.0.0.0:0", "[::]:0", "192.0.2.1:0", "example.com:0", "nonsense"} {
		if err := b.Start(addr); err == nil {
			b.Close()
			t.Fatalf("Start(%q) succeeded", addr)
		}
	}
	if err := b.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if err := b.Start("127.0.0.1:0"); !errors.Is(err, ErrStarted) {
		t.Fatalf("second Start: %v", err)
	}
	if !errors.Is(b.Start("0.0.0.0:0"), ErrNotLoopback) {
		t.Fatal("want ErrNotLoopback")
	}
	res, err := http.Get("http://" + b.Addr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("healthz %d", res.StatusCode)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil || b.Addr() != "" {
		t.Fatalf("second Close: %v, addr %q", err, b.Addr())
	}
}
