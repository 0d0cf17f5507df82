package sandbox

import (
	"crypto/hmac"
	"encoding/hex"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"lijiang/platform/smcrypto"
)

func (b *Bank) healthz(w http.ResponseWriter, r *http.Request, _ string) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// ---- A1: products, rates, branches ------------------------------------------------

type productPage struct {
	Page     int        `json:"page"`
	PageSize int        `json:"page_size"`
	Total    int        `json:"total"`
	Products []*product `json:"products"`
}

func (b *Bank) listProducts(w http.ResponseWriter, r *http.Request, _ string) {
	q, e := queryParams(r.URL.RawQuery, "type", "page", "page_size")
	if e != nil {
		writeError(w, e)
		return
	}
	typ, filtered := q["type"]
	if filtered && typ != ProductDeposit && typ != ProductLoan && typ != ProductWealth {
		writeError(w, errInvalid("type must be deposit, loan or wealth"))
		return
	}
	page, size, e := pageParams(q)
	if e != nil {
		writeError(w, e)
		return
	}
	var match []*product
	for i := range products {
		if !filtered || products[i].Type == typ {
			match = append(match, &products[i])
		}
	}
	lo, hi := pageBounds(len(match), page, size)
	writeJSON(w, http.StatusOK, productPage{Page: page, PageSize: size, Total: len(match), Products: append([]*product{}, match[lo:hi]...)})
}

func (b *Bank) getProduct(w http.ResponseWriter, r *http.Request, id string) {
	if _, e := queryParams(r.URL.RawQuery); e != nil {
		writeError(w, e)
		return
	}
	p, ok := b.products[id]
	if !ok {
		writeError(w, &apiError{http.StatusNotFound, CodeProductNotFound, "no such product"})
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (b *Bank) depositRates(w http.ResponseWriter, r *http.Request, _ string) {
	if _, e := queryParams(r.URL.RawQuery); e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, &depositRates)
}

func (b *Bank) listBranches(w http.ResponseWriter, r *http.Request, _ string) {
	q, e := queryParams(r.URL.RawQuery, "city")
	if e != nil {
		writeError(w, e)
		return
	}
	city, filtered := q["city"]
	if filtered && (city == "" || utf8.RuneCountInString(city) > 32 || !utf8.ValidString(city)) {
		writeError(w, errInvalid("city must be a city name such as 桂林 or nanning"))
		return
	}
	out := []*branch{}
	for i := range branches {
		if !filtered || branches[i].matchCity(city) {
			out = append(out, &branches[i])
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": len(out), "branches": out})
}

// ---- A2: accounts -------------------------------------------------------------------

type accountView struct {
	AccountID  string `json:"account_id,omitempty"`
	AccountNo  string `json:"account_no"`
	Type       string `json:"type"`
	TypeName   string `json:"type_name"`
	Currency   string `json:"currency"`
	HolderName string `json:"holder_name"`
	IDNo       string `json:"id_no"`
	Phone      string `json:"phone"`
	BranchID   string `json:"branch_id"`
	OpenDate   string `json:"open_date"`
	Status     string `json:"status"`
}

func (b *Bank) listAccounts(w http.ResponseWriter, r *http.Request, _ string) {
	c, e := b.customerNoQuery(r)
	if e != nil {
		writeError(w, e)
		return
	}
	consent := r.Header.Get(HeaderConsentID)
	out := make([]accountView, 0, len(c.accounts))
	for _, no := range c.accounts {
		a := b.accounts[no] // the set of accounts and their static fields never change
		out = append(out, accountView{AccountID: b.AccountID(consent, a.no), AccountNo: a.no, Type: a.typ, TypeName: accountTypeNames[a.typ], Currency: "CNY",
			HolderName: a.holderName, IDNo: a.idNo, Phone: a.phone, BranchID: a.branchID, OpenDate: a.openDate, Status: "NORMAL"})
	}
	writeJSON(w, http.StatusOK, map[string]any{"customer_id": c.ID, "accounts": out})
}

// AccountIDPrefix begins every opaque account id.
const AccountIDPrefix = "acc_"

// AccountID is the opaque id of account no under a consent, as /v1/accounts
// lists it and the account paths accept it in place of the number (as UK
// Open Banking's AccountId): "acc_" and 32 hex digits of HMAC-SM3 over the
// consent id and the number. The same account has the same id for as long
// as the consent lasts, and another under another consent, so ids do not
// link a customer across apps. "" without a consent.
func (b *Bank) AccountID(consentID, no string) string {
	if consentID == "" {
		return ""
	}
	m := smcrypto.HMACSM3(b.idKey, []byte(consentID+"\x00"+no))
	return AccountIDPrefix + hex.EncodeToString(m[:16])
}

// validAccountID reports whether s has the form of an AccountID.
func validAccountID(s string) bool {
	if len(s) != len(AccountIDPrefix)+32 || !strings.HasPrefix(s, AccountIDPrefix) {
		return false
	}
	for _, c := range s[len(AccountIDPrefix):] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// ownAccount returns the customer's account named by ref (its number, or
// its id under the call's consent), or 404 ACCOUNT_NOT_FOUND both when it
// does not exist and when it is someone else's.
func (b *Bank) ownAccount(c *customer, r *http.Request, ref string) (*account, *apiError) {
	if strings.HasPrefix(ref, AccountIDPrefix) {
		consent := r.Header.Get(HeaderConsentID)
		for _, no := range c.accounts {
			if consent != "" && hmac.Equal([]byte(b.AccountID(consent, no)), []byte(ref)) {
				return b.accounts[no], nil
			}
		}
		return nil, errAccountNotFound
	}
	a, ok := b.accounts[ref]
	if !ok || a.customerID != c.ID {
		return nil, errAccountNotFound
	}
	return a, nil
}

type balanceView struct {
	AccountID string `json:"account_id,omitempty"`
	AccountNo string `json:"account_no"`
	Currency  string `json:"currency"`
	Available string `json:"available"`
	Ledger    string `json:"ledger"`
	Frozen    string `json:"frozen"`
	AsOf      string `json:"as_of"`
}

func (b *Bank) balance(w http.ResponseWriter, r *http.Request, no string) {
	c, e := b.customerNoQuery(r)
	var a *account
	if e == nil {
		a, e = b.ownAccount(c, r, no)
	}
	if e != nil {
		writeError(w, e)
		return
	}
	b.mu.RLock()
	ledger, frozen := a.ledger, a.frozen
	b.mu.RUnlock()
	writeJSON(w, http.StatusOK, balanceView{AccountID: b.AccountID(r.Header.Get(HeaderConsentID), a.no), AccountNo: a.no, Currency: "CNY", Available: formatAmount(ledger - frozen),
		Ledger: formatAmount(ledger), Frozen: formatAmount(frozen), AsOf: b.now().In(cst).Format(time.RFC3339)})
}

// ---- A2: transactions ---------------------------------------------------------------

// maxQueryDays is the widest date range of one transactions query.
const maxQueryDays = 366

// txnQuery is a parsed transactions query: [from, to) in cst, and a page.
type txnQuery struct {
	from, to   time.Time // to is the day after the last day asked for
	page, size int
}

// parseTxnQuery parses the query of GET …/transactions. from and to are
// dates (YYYY-MM-DD, +08:00), both inclusive; without them the last 30
// days up to today are listed.
func parseTxnQuery(raw string, now time.Time) (txnQuery, *apiError) {
	q, e := queryParams(raw, "from", "to", "page", "page_size")
	if e != nil {
		return txnQuery{}, e
	}
	var tq txnQuery
	if tq.page, tq.size, e = pageParams(q); e != nil {
		return txnQuery{}, e
	}
	n := now.In(cst)
	today := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, cst)
	parse := func(name string) (time.Time, bool, *apiError) {
		s, ok := q[name]
		if !ok {
			return time.Time{}, false, nil
		}
		d, err := time.ParseInLocation(time.DateOnly, s, cst)
		if err != nil || len(s) != len(time.DateOnly) || d.Year() < 1900 {
			return time.Time{}, false, errInvalid(name + " must be a date of the form YYYY-MM-DD")
		}
		return d, true, nil
	}
	from, hasFrom, e := parse("from")
	if e != nil {
		return txnQuery{}, e
	}
	to, hasTo, e := parse("to")
	if e != nil {
		return txnQuery{}, e
	}
	switch {
	case !hasFrom && !hasTo:
		to, from = today, today.AddDate(0, 0, -29)
	case !hasTo:
		to = today
		if from.After(to) {
			to = from
		}
	case !hasFrom:
		from = to.AddDate(0, 0, -29)
	}
	if from.After(to) {
		return txnQuery{}, errInvalid("from must not be after to")
	}
	if to.Sub(from) >= maxQueryDays*24*time.Hour {
		return txnQuery{}, errInvalid("the date range must not exceed 366 days")
	}
	tq.from, tq.to = from, to.AddDate(0, 0, 1)
	return tq, nil
}

type txnView struct {
	TransactionID       string `json:"transaction_id"`
	BookedAt            string `json:"booked_at"`
	Direction           string `json:"direction"` // CREDIT (收入) or DEBIT (支出)
	Amount              string `json:"amount"`
	BalanceAfter        string `json:"balance_after"`
	Currency            string `json:"currency"`
	CounterpartyName    string `json:"counterparty_name,omitempty"`
	CounterpartyAccount string `json:"counterparty_account,omitempty"`
	CounterpartyBank    string `json:"counterparty_bank,omitempty"`
	Summary             string `json:"summary"` // 摘要
	Channel             string `json:"channel"`
	Remark              string `json:"remark,omitempty"`
	TransferID          string `json:"transfer_id,omitempty"`
}

type txnPage struct {
	AccountID    string    `json:"account_id,omitempty"`
	AccountNo    string    `json:"account_no"`
	From         string    `json:"from"`
	To           string    `json:"to"`
	Page         int       `json:"page"`
	PageSize     int       `json:"page_size"`
	Total        int       `json:"total"`
	Transactions []txnView `json:"transactions"`
}

func (t *txn) view() txnView {
	v := txnView{TransactionID: t.id, BookedAt: t.at.In(cst).Format(time.RFC3339), Direction: "DEBIT", Amount: formatAmount(t.amount),
		BalanceAfter: formatAmount(t.balanceAfter), Currency: "CNY", CounterpartyName: t.cpName, CounterpartyAccount: t.cpAccount,
		CounterpartyBank: t.cpBank, Summary: t.summary, Channel: t.channel, Remark: t.remark, TransferID: t.transferID}
	if t.credit {
		v.Direction = "CREDIT"
	}
	return v
}

func (b *Bank) transactions(w http.ResponseWriter, r *http.Request, no string) {
	c, e := b.customerOf(r)
	var a *account
	if e == nil {
		a, e = b.ownAccount(c, r, no)
	}
	var q txnQuery
	if e == nil {
		q, e = parseTxnQuery(r.URL.RawQuery, b.now())
	}
	if e != nil {
		writeError(w, e)
		return
	}
	// Newest first. Copy the page out under the read lock; encode after.
	var page []txn
	total := 0
	b.mu.RLock()
	lo := sort.Search(len(a.txns), func(i int) bool { return !a.txns[i].at.Before(q.from) })
	hi := sort.Search(len(a.txns), func(i int) bool { return !a.txns[i].at.Before(q.to) })
	total = hi - lo
	pl, ph := pageBounds(total, q.page, q.size)
	if ph > pl {
		page = make([]txn, 0, ph-pl)
		for i := hi - 1 - pl; i >= hi-ph; i-- {
			page = append(page, a.txns[i])
		}
	}
	b.mu.RUnlock()
	out := txnPage{AccountID: b.AccountID(r.Header.Get(HeaderConsentID), a.no), AccountNo: a.no, From: q.from.Format(time.DateOnly), To: q.to.AddDate(0, 0, -1).Format(time.DateOnly),
		Page: q.page, PageSize: q.size, Total: total, Transactions: make([]txnView, len(page))}
	for i := range page {
		out.Transactions[i] = page[i].view()
	}
	writeJSON(w, http.StatusOK, out)
}
