package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"lijiang/platform/checkdigit"
)

// Transfer limits (R-10.2: amount limits at the business system; the
// gateway's risk rules may add their own).
const (
	MaxTransferAmount = 50_000_00  // fen, per transfer
	MaxDailyAmount    = 200_000_00 // fen, per customer per calendar day in +08:00
)

// Bounds on remembered state, so that a load test cannot exhaust memory.
const (
	idempotencyTTL     = 24 * time.Hour
	maxIdempotencyKeys = 200_000
	maxTransfers       = 200_000
	maxTxnsPerAccount  = 20_000
	maxRemarkRunes     = 64
)

// Transfer statuses: a transfer is ACCEPTED (受理) when created; the sandbox
// books it at once, so reading it back shows SUCCEEDED.
const (
	TransferAccepted  = "ACCEPTED"
	TransferSucceeded = "SUCCEEDED"
)

// transferOrder is a validated transfer request, the form in which two
// requests are compared for idempotency (amounts by value).
type transferOrder struct {
	from, to string
	amount   int64
	currency string
	remark   string
}

// decodeTransferRequest decodes and validates the body of POST /v1/transfers:
// a JSON object with string members from_account, to_account, amount,
// currency (required) and remark (optional). It is strict: unknown or
// duplicate members, other types, and anything after the object are refused.
func decodeTransferRequest(body []byte) (transferOrder, *apiError) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return transferOrder{}, errInvalid("the body must be a JSON object")
	}
	var f [5]string
	var seen [5]bool
	names := [5]string{"from_account", "to_account", "amount", "currency", "remark"}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return transferOrder{}, errInvalid("the body is not valid JSON")
		}
		key, _ := t.(string)
		i := 0
		for i < len(names) && names[i] != key {
			i++
		}
		if i == len(names) {
			if safeName(key) {
				return transferOrder{}, errInvalid("unknown field " + strconv.Quote(key))
			}
			return transferOrder{}, errInvalid("unknown field")
		}
		if seen[i] {
			return transferOrder{}, errInvalid("field " + key + " is given more than once")
		}
		seen[i] = true
		v, err := dec.Token()
		if err != nil {
			return transferOrder{}, errInvalid("the body is not valid JSON")
		}
		s, ok := v.(string)
		if !ok {
			if i == 2 {
				return transferOrder{}, &apiError{http.StatusBadRequest, CodeInvalidAmount, errAmount.Error()}
			}
			return transferOrder{}, errInvalid(key + " must be a string")
		}
		f[i] = s
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return transferOrder{}, errInvalid("the body is not valid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return transferOrder{}, errInvalid("the body must hold one JSON object only")
	}
	for i := range 4 {
		if !seen[i] || f[i] == "" {
			return transferOrder{}, errInvalid(names[i] + " is required")
		}
	}
	o := transferOrder{from: f[0], to: f[1], currency: f[3], remark: f[4]}
	if (len(o.from) > 32 || !allDigits(o.from)) && !validAccountID(o.from) {
		return transferOrder{}, errInvalid("from_account must be an account number or an account_id")
	}
	if !checkdigit.CardNumber(o.to) {
		return transferOrder{}, errInvalid("to_account must be a valid account number (13-19 digits, Luhn check)")
	}
	if o.from == o.to {
		return transferOrder{}, errInvalid("to_account must differ from from_account")
	}
	amount, err := parseAmount(f[2])
	if err != nil {
		return transferOrder{}, &apiError{http.StatusBadRequest, CodeInvalidAmount, err.Error()}
	}
	if amount <= 0 {
		return transferOrder{}, &apiError{http.StatusBadRequest, CodeInvalidAmount, "amount must be greater than 0.00"}
	}
	o.amount = amount
	if o.currency != "CNY" {
		return transferOrder{}, errInvalid("currency must be CNY")
	}
	if utf8.RuneCountInString(o.remark) > maxRemarkRunes || !utf8.ValidString(o.remark) ||
		strings.ContainsFunc(o.remark, func(r rune) bool { return unicode.IsControl(r) || r == utf8.RuneError }) {
		return transferOrder{}, errInvalid("remark must be at most 64 characters without control characters")
	}
	return o, nil
}

// validIdempotencyKey: 8-64 visible ASCII characters.
func validIdempotencyKey(k string) bool {
	if len(k) < 8 || len(k) > 64 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// transferView is a transfer in its wire form.
type transferView struct {
	TransferID    string `json:"transfer_id"`
	Status        string `json:"status"`
	FromAccount   string `json:"from_account"`
	ToAccount     string `json:"to_account"`
	ToBank        string `json:"to_bank"`
	IntraBank     bool   `json:"intra_bank"`
	Amount        string `json:"amount"`
	Fee           string `json:"fee"`
	Currency      string `json:"currency"`
	Remark        string `json:"remark,omitempty"`
	TransactionID string `json:"transaction_id"`
	CreatedAt     string `json:"created_at"`
	CompletedAt   string `json:"completed_at,omitempty"`
}

// transfer is a booked transfer; immutable once stored.
type transfer struct {
	customerID string
	view       transferView
}

// dailyUsage is a customer's transferred total on one day.
type dailyUsage struct {
	day string
	sum int64
}

// book applies a transfer for customer c: the checks and the debit and
// credit happen under one write lock, so concurrent transfers cannot
// overdraw an account or pass the daily limit together.
func (b *Bank) book(c *customer, o transferOrder) (transferView, *apiError) {
	now := b.now().In(cst)
	day := now.Format(time.DateOnly)
	b.mu.Lock()
	defer b.mu.Unlock()
	from, ok := b.accounts[o.from]
	if !ok || from.customerID != c.ID {
		return transferView{}, errAccountNotFound
	}
	if o.amount > MaxTransferAmount {
		return transferView{}, &apiError{http.StatusUnprocessableEntity, CodeLimitExceeded, "the amount exceeds the per-transfer limit of " + formatAmount(MaxTransferAmount)}
	}
	u := b.daily[c.ID]
	if u.day != day {
		u = dailyUsage{day: day}
	}
	if u.sum+o.amount > MaxDailyAmount {
		return transferView{}, &apiError{http.StatusUnprocessableEntity, CodeLimitExceeded,
			"the amount exceeds today's remaining transfer limit (" + formatAmount(MaxDailyAmount) + " per day)"}
	}
	if o.amount > from.ledger-from.frozen {
		return transferView{}, &apiError{http.StatusUnprocessableEntity, CodeInsufficientFunds, "the available balance is insufficient"}
	}
	to := b.accounts[o.to]
	b.trSeq++
	id := fmt.Sprintf("TR%s%08d", now.Format("20060102"), b.trSeq)
	v := transferView{TransferID: id, Status: TransferAccepted, FromAccount: o.from, ToAccount: o.to, ToBank: "他行",
		IntraBank: to != nil, Amount: formatAmount(o.amount), Fee: "0.00", Currency: "CNY", Remark: o.remark,
		CreatedAt: now.Format(time.RFC3339)}
	debit := txn{at: now, amount: o.amount, cpAccount: o.to, cpBank: "他行", summary: "转账", channel: "开放银行",
		remark: o.remark, transferID: id}
	if to != nil {
		v.ToBank, debit.cpBank, debit.cpName = bankName, bankName, to.holderName
	}
	from.ledger -= o.amount
	debit.balanceAfter = from.ledger
	b.txnSeq++
	debit.id = txnID(now, b.txnSeq)
	v.TransactionID = debit.id
	appendTxn(from, debit)
	if to != nil {
		to.ledger += o.amount
		b.txnSeq++
		appendTxn(to, txn{id: txnID(now, b.txnSeq), at: now, credit: true, amount: o.amount, balanceAfter: to.ledger,
			cpName: from.holderName, cpAccount: from.no, cpBank: bankName, summary: "转账", channel: "开放银行", remark: o.remark, transferID: id})
	}
	u.sum += o.amount
	b.daily[c.ID] = u
	b.transfers[id] = &transfer{customerID: c.ID, view: v}
	b.trOrder = append(b.trOrder, id)
	if len(b.trOrder) > maxTransfers {
		delete(b.transfers, b.trOrder[0])
		b.trOrder = b.trOrder[1:]
	}
	return v, nil
}

// appendTxn books t on a, keeping at most maxTxnsPerAccount (the oldest
// tenth goes when full). Callers hold b.mu.
func appendTxn(a *account, t txn) {
	if len(a.txns) >= maxTxnsPerAccount {
		a.txns = append([]txn(nil), a.txns[maxTxnsPerAccount/10:]...)
	}
	a.txns = append(a.txns, t)
}

func (b *Bank) createTransfer(w http.ResponseWriter, r *http.Request, _ string) {
	c, e := b.customerOf(r)
	if e != nil {
		writeError(w, e)
		return
	}
	appID := r.Header.Get(HeaderAppID)
	if appID == "" || len(appID) > 64 {
		writeError(w, &apiError{http.StatusForbidden, CodePermissionDenied, "the calling app is not identified"})
		return
	}
	if _, e := queryParams(r.URL.RawQuery); e != nil {
		writeError(w, e)
		return
	}
	key := r.Header.Get(HeaderIdempotencyKey)
	if !validIdempotencyKey(key) {
		writeError(w, errInvalid("the Idempotency-Key header is required: 8-64 visible ASCII characters"))
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			writeError(w, &apiError{http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "the body must be application/json"})
			return
		}
	}
	if r.ContentLength > MaxBodyBytes {
		writeError(w, &apiError{http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "the body exceeds 64 KiB"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, &apiError{http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "the body exceeds 64 KiB"})
			return
		}
		writeError(w, errInvalid("the body could not be read"))
		return
	}
	o, e := decodeTransferRequest(body)
	if e == nil && validAccountID(o.from) {
		// An account id (under the call's consent) stands for the number,
		// resolved before the idempotency check so that a retry naming
		// the account either way is the same request.
		var a *account
		if a, e = b.ownAccount(c, r, o.from); e == nil {
			if o.from = a.no; o.from == o.to {
				e = errInvalid("to_account must differ from from_account")
			}
		}
	}
	if e != nil {
		writeError(w, e)
		return
	}

	scope := appID + "\x00" + c.ID + "\x00" + key
	for {
		ent, owner := b.idem.claim(scope, o, b.now())
		if owner {
			b.runTransfer(w, c, o, scope, ent)
			return
		}
		if ent.order != o {
			writeError(w, &apiError{http.StatusConflict, CodeIdempotencyKeyReused, "this Idempotency-Key was used for a different request"})
			return
		}
		select {
		case <-ent.done:
		case <-r.Context().Done():
			return
		}
		if ent.body != nil {
			w.Header().Set(HeaderReplayed, "true")
			writeBody(w, http.StatusOK, ent.body)
			return
		}
		// The first attempt was refused and released the key: try again.
	}
}

// runTransfer books the transfer as the owner of an idempotency entry and
// publishes the outcome to any retries waiting on it.
func (b *Bank) runTransfer(w http.ResponseWriter, c *customer, o transferOrder, scope string, ent *idemEntry) {
	published := false
	defer func() {
		if !published { // a panic: free the key so that a retry can proceed
			b.idem.release(scope, ent)
			close(ent.done)
		}
	}()
	v, e := b.book(c, o)
	if e != nil {
		b.idem.release(scope, ent)
		published = true
		close(ent.done)
		writeError(w, e)
		return
	}
	body, err := json.Marshal(v)
	if err != nil {
		panic(err) // cannot happen: a struct of strings
	}
	ent.body = body
	published = true
	close(ent.done)
	writeBody(w, http.StatusCreated, body)
}

func (b *Bank) getTransfer(w http.ResponseWriter, r *http.Request, id string) {
	c, e := b.customerNoQuery(r)
	if e != nil {
		writeError(w, e)
		return
	}
	b.mu.RLock()
	t, ok := b.transfers[id]
	b.mu.RUnlock()
	if !ok || t.customerID != c.ID {
		writeError(w, &apiError{http.StatusNotFound, CodeTransferNotFound, "no such transfer"})
		return
	}
	v := t.view
	v.Status, v.CompletedAt = TransferSucceeded, v.CreatedAt
	writeJSON(w, http.StatusOK, v)
}
