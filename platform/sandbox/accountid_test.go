package sandbox

import (
	"net/http"
	"regexp"
	"testing"
)

// The account ids of /v1/accounts: per consent, stable, usable in the
// account paths with that consent only, and stable across banks of the same
// seed (restarts) unless the key differs.
func TestAccountIDs(t *testing.T) {
	f := mustBank(t)
	d, accts := f.demo(t, "zhangsan")
	li, _ := f.demo(t, "lisi")
	const consent, other = "cns_01ABCDEFGHJKMNPQRSTVWXYZ00", "cns_01ABCDEFGHJKMNPQRSTVWXYZ11"
	list := func(cust, cns string) accountsPage {
		return mustJSON[accountsPage](t, f.do(t, "GET", "/v1/accounts", "", HeaderCustomerID, cust, HeaderConsentID, cns), 200)
	}
	p := list(d.ID, consent)
	id := p.Accounts[0].AccountID
	if !regexp.MustCompile(`^acc_[0-9a-f]{32}$`).MatchString(id) || p.Accounts[0].AccountNo != accts[0] {
		t.Fatalf("account %+v", p.Accounts[0])
	}
	if list(d.ID, consent).Accounts[0].AccountID != id {
		t.Fatal("the id is not stable")
	}
	if list(d.ID, other).Accounts[0].AccountID == id {
		t.Fatal("two consents share an id")
	}
	if got := mustJSON[accountsPage](t, f.get(t, "/v1/accounts", d.ID), 200); got.Accounts[0].AccountID != "" {
		t.Fatalf("an id without a consent: %+v", got.Accounts[0])
	}
	bal := mustJSON[balanceView](t, f.do(t, "GET", "/v1/accounts/"+id+"/balance", "", HeaderCustomerID, d.ID, HeaderConsentID, consent), 200)
	if bal.AccountNo != accts[0] || bal.AccountID != id {
		t.Fatalf("balance by id %+v", bal)
	}
	tx := mustJSON[txnPage](t, f.do(t, "GET", "/v1/accounts/"+id+"/transactions", "", HeaderCustomerID, d.ID, HeaderConsentID, consent), 200)
	if tx.AccountNo != accts[0] || tx.AccountID != id {
		t.Fatalf("transactions by id: %s %s", tx.AccountNo, tx.AccountID)
	}
	for name, hdr := range map[string][]string{
		"another consent":  {HeaderCustomerID, d.ID, HeaderConsentID, other},
		"no consent":       {HeaderCustomerID, d.ID},
		"another customer": {HeaderCustomerID, li.ID, HeaderConsentID, consent},
	} {
		if r := f.do(t, "GET", "/v1/accounts/"+id+"/balance", "", hdr...); r.status != 404 || r.code() != CodeAccountNotFound {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	same, keyed := New(Config{Seed: f.b.seed, Now: f.b.now}), New(Config{Seed: f.b.seed, Now: f.b.now, AccountIDKey: []byte("another key")})
	if same.AccountID(consent, accts[0]) != id || keyed.AccountID(consent, accts[0]) == id {
		t.Error("the ids do not follow the seed and the key")
	}
}

// A transfer names its from_account by number or by account_id (under the
// call's consent); a retry naming it the other way is the same request.
func TestTransferFromAccountID(t *testing.T) {
	f := mustBank(t)
	d, accts := f.demo(t, "zhangsan")
	const consent = "cns_01ABCDEFGHJKMNPQRSTVWXYZ00"
	id := f.b.AccountID(consent, accts[0])
	post := func(from, key string, hdr ...string) resp {
		return f.do(t, http.MethodPost, "/v1/transfers", transferBody(from, outward, "1.00"), append([]string{HeaderCustomerID, d.ID, HeaderAppID, testApp,
			HeaderIdempotencyKey, key, "Content-Type", "application/json"}, hdr...)...)
	}
	before := f.ledger(t, d.ID, accts[0])
	if r := post(id, "key-by-id-0001", HeaderConsentID, consent); r.status != http.StatusCreated {
		t.Fatalf("by id: %d %s", r.status, r.body)
	}
	if r := post(accts[0], "key-by-id-0001"); r.status >= 300 || r.header.Get(HeaderReplayed) != "true" {
		t.Fatalf("the retry by number: %d %s", r.status, r.body)
	}
	if got := f.ledger(t, d.ID, accts[0]); got != before-100 {
		t.Fatalf("ledger %d, want %d", got, before-100)
	}
	if r := post(id, "key-by-id-0002"); r.status != 404 || r.code() != CodeAccountNotFound {
		t.Fatalf("by id without the consent: %d %s", r.status, r.body)
	}
}
