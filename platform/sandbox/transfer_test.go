package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"lijiang/platform/checkdigit"
)

const testApp = "LJAPPTEST0001"

// outward is a Luhn-valid account at another bank.
const outward = "6217000010012345677"

func init() {
	if !checkdigit.CardNumber(outward) {
		panic("test account number is not Luhn-valid")
	}
}

func transferBody(from, to, amount string) string {
	return fmt.Sprintf(`{"from_account":%q,"to_account":%q,"amount":%q,"currency":"CNY","remark":"房租"}`, from, to, amount)
}

func (f *fixture) transfer(t *testing.T, cust, key, body string) resp {
	t.Helper()
	return f.do(t, http.MethodPost, "/v1/transfers", body, HeaderCustomerID, cust, HeaderAppID, testApp,
		HeaderIdempotencyKey, key, "Content-Type", "application/json")
}

func (f *fixture) ledger(t *testing.T, cust, no string) int64 {
	t.Helper()
	b := mustJSON[balanceView](t, f.get(t, "/v1/accounts/"+no+"/balance", cust), 200)
	v, err := parseAmount(b.Ledger)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestTransferIntraBank(t *testing.T) {
	f := mustBank(t)
	zhang, za := f.demo(t, "zhangsan")
	li, la := f.demo(t, "lisi")
	from0, to0 := f.ledger(t, zhang.ID, za[0]), f.ledger(t, li.ID, la[0])

	r := f.transfer(t, zhang.ID, "order-20250630-0001", transferBody(za[0], la[0], "1234.5"))
	v := mustJSON[transferView](t, r, http.StatusCreated)
	if v.Status != TransferAccepted || v.Amount != "1234.50" || !v.IntraBank || v.ToBank != bankName || v.Fee != "0.00" ||
		v.CreatedAt != "2025-06-30T10:00:00+08:00" || !strings.HasPrefix(v.TransferID, "TR20250630") || v.Remark != "房租" {
		t.Fatalf("transfer %+v", v)
	}
	if got := f.ledger(t, zhang.ID, za[0]); got != from0-1234_50 {
		t.Fatalf("debited to %d, want %d", got, from0-1234_50)
	}
	if got := f.ledger(t, li.ID, la[0]); got != to0+1234_50 {
		t.Fatalf("credited to %d, want %d", got, to0+1234_50)
	}
	// Both histories show it, newest first.
	out := mustJSON[txnPage](t, f.get(t, "/v1/accounts/"+za[0]+"/transactions?page_size=1", zhang.ID), 200).Transactions[0]
	in := mustJSON[txnPage](t, f.get(t, "/v1/accounts/"+la[0]+"/transactions?page_size=1", li.ID), 200).Transactions[0]
	if out.TransferID != v.TransferID || out.Direction != "DEBIT" || out.CounterpartyAccount != la[0] || out.CounterpartyName != "李四" ||
		out.TransactionID != v.TransactionID || out.Amount != "1234.50" {
		t.Fatalf("debit %+v", out)
	}
	if in.TransferID != v.TransferID || in.Direction != "CREDIT" || in.CounterpartyAccount != za[0] || in.CounterpartyName != "张三" {
		t.Fatalf("credit %+v", in)
	}

	// Read back: the sandbox books at once.
	g := mustJSON[transferView](t, f.get(t, "/v1/transfers/"+v.TransferID, zhang.ID), 200)
	if g.Status != TransferSucceeded || g.CompletedAt == "" || g.Amount != v.Amount || g.TransferID != v.TransferID {
		t.Fatalf("read back %+v", g)
	}
	// Not by another customer, nor an unknown id.
	for _, c := range []struct{ id, cust string }{{v.TransferID, li.ID}, {"TR2025063099999999", zhang.ID}} {
		if r := f.get(t, "/v1/transfers/"+c.id, c.cust); r.status != 404 || r.code() != CodeTransferNotFound {
			t.Fatalf("transfer %s as %s: %d %s", c.id, c.cust, r.status, r.body)
		}
	}
}

func TestTransferOutward(t *testing.T) {
	f := mustBank(t)
	zhang, za := f.demo(t, "zhangsan")
	before := f.ledger(t, zhang.ID, za[1])
	v := mustJSON[transferView](t, f.transfer(t, zhang.ID, "order-outward-1", transferBody(za[1], outward, "50000.00")), 201)
	if v.IntraBank || v.ToBank != "他行" {
		t.Fatalf("outward transfer %+v", v)
	}
	if got := f.ledger(t, zhang.ID, za[1]); got != before-50_000_00 {
		t.Fatalf("ledger %d, want %d", got, before-50_000_00)
	}
}

func TestTransferIdempotent(t *testing.T) {
	f := mustBank(t)
	zhang, za := f.demo(t, "zhangsan")
	li, la := f.demo(t, "lisi")
	body := transferBody(za[0], la[0], "100.00")
	from0, to0 := f.ledger(t, zhang.ID, za[0]), f.ledger(t, li.ID, la[0])

	first := f.transfer(t, zhang.ID, "retry-key-0001", body)
	if first.status != 201 {
		t.Fatalf("first: %d %s", first.status, first.body)
	}
	t.Run("same request replays", func(t *testing.T) {
		// Same order written differently: the amount compares by value.
		again := f.transfer(t, zhang.ID, "retry-key-0001", transferBody(za[0], la[0], "100"))
		if again.status != 200 || string(again.body) != string(first.body) || again.header.Get(HeaderReplayed) != "true" {
			t.Fatalf("retry: %d %s", again.status, again.body)
		}
	})
	t.Run("different request conflicts", func(t *testing.T) {
		r := f.transfer(t, zhang.ID, "retry-key-0001", transferBody(za[0], la[0], "100.01"))
		if r.status != 409 || r.code() != CodeIdempotencyKeyReused {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("keys are scoped by app", func(t *testing.T) {
		r := f.do(t, http.MethodPost, "/v1/transfers", body, HeaderCustomerID, zhang.ID, HeaderAppID, "LJAPPOTHER002", HeaderIdempotencyKey, "retry-key-0001")
		if r.status != 201 {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	if got := f.ledger(t, zhang.ID, za[0]); got != from0-200_00 {
		t.Fatalf("ledger %d, want %d (two transfers)", got, from0-200_00)
	}
	if got := f.ledger(t, li.ID, la[0]); got != to0+200_00 {
		t.Fatalf("ledger %d, want %d", got, to0+200_00)
	}
}

// Eight concurrent retries of one request apply it once.
func TestTransferIdempotentConcurrent(t *testing.T) {
	f := mustBank(t)
	zhang, za := f.demo(t, "zhangsan")
	li, la := f.demo(t, "lisi")
	from0, to0 := f.ledger(t, zhang.ID, za[0]), f.ledger(t, li.ID, la[0])
	body := transferBody(za[0], la[0], "888.88")

	const n = 8
	results := make([]resp, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			results[i] = f.transfer(t, zhang.ID, "concurrent-key-42", body)
		})
	}
	close(start)
	wg.Wait()
	created := 0
	for i, r := range results {
		switch r.status {
		case 201:
			created++
		case 200:
		default:
			t.Fatalf("attempt %d: %d %s", i, r.status, r.body)
		}
		if string(r.body) != string(results[0].body) {
			t.Fatalf("attempt %d answered %s, attempt 0 %s", i, r.body, results[0].body)
		}
	}
	if created != 1 {
		t.Fatalf("%d attempts created the transfer", created)
	}
	if got := f.ledger(t, zhang.ID, za[0]); got != from0-888_88 {
		t.Fatalf("debited %d times?: ledger %d, want %d", (from0-got)/888_88, got, from0-888_88)
	}
	if got := f.ledger(t, li.ID, la[0]); got != to0+888_88 {
		t.Fatalf("ledger %d, want %d", got, to0+888_88)
	}
}

func TestTransferDailyLimit(t *testing.T) {
	f := mustBank(t)
	wang, wa := f.demo(t, "wangwu")
	savings := wa[1]
	for i := range 4 {
		r := f.transfer(t, wang.ID, fmt.Sprintf("daily-limit-%d", i), transferBody(savings, outward, "50000.00"))
		if r.status != 201 {
			t.Fatalf("transfer %d: %d %s", i, r.status, r.body)
		}
	}
	// 200,000.00 done today: one fen more is refused, from any account.
	for _, from := range []string{savings, wa[0]} {
		r := f.transfer(t, wang.ID, "daily-limit-over-"+from[15:], transferBody(from, outward, "0.01"))
		if r.status != 422 || r.code() != CodeLimitExceeded {
			t.Fatalf("over the daily limit: %d %s", r.status, r.body)
		}
	}
	// Another customer is not affected.
	zhang, za := f.demo(t, "zhangsan")
	if r := f.transfer(t, zhang.ID, "daily-limit-other", transferBody(za[0], outward, "10.00")); r.status != 201 {
		t.Fatalf("other customer: %d %s", r.status, r.body)
	}
	// The limit is per calendar day in +08:00: tomorrow it is free again.
	f.clk.Add(14 * time.Hour) // 2025-07-01 00:00 +08:00
	if r := f.transfer(t, wang.ID, "daily-limit-next-day", transferBody(savings, outward, "0.01")); r.status != 201 {
		t.Fatalf("next day: %d %s", r.status, r.body)
	}
}

func TestTransferErrors(t *testing.T) {
	f := mustBank(t)
	zhang, za := f.demo(t, "zhangsan")
	_, la := f.demo(t, "lisi")
	low := za[2]
	notLuhn := outward[:18] + string('0'+(outward[18]-'0'+1)%10)
	tests := []struct {
		name, key, body string
		hdr             []string
		status          int
		code            string
	}{
		{"no key", "", transferBody(za[0], outward, "1.00"), nil, 400, CodeParamInvalid},
		{"short key", "short", transferBody(za[0], outward, "1.00"), nil, 400, CodeParamInvalid},
		{"long key", strings.Repeat("k", 65), transferBody(za[0], outward, "1.00"), nil, 400, CodeParamInvalid},
		{"key with space", "key with space", transferBody(za[0], outward, "1.00"), nil, 400, CodeParamInvalid},
		{"another's account", "", transferBody(la[0], outward, "1.00"), nil, 404, CodeAccountNotFound},
		{"no such account", "", transferBody("6222077300000000000", outward, "1.00"), nil, 404, CodeAccountNotFound},
		{"insufficient funds", "", transferBody(low, outward, "100.00"), nil, 422, CodeInsufficientFunds},
		{"frozen funds are not available", "", "", nil, 422, CodeInsufficientFunds}, // body set below
		{"over the per-transfer limit", "", transferBody(za[1], outward, "50000.01"), nil, 422, CodeLimitExceeded},
		{"zero", "", transferBody(za[0], outward, "0.00"), nil, 400, CodeInvalidAmount},
		{"negative", "", transferBody(za[0], outward, "-1.00"), nil, 400, CodeInvalidAmount},
		{"three decimals", "", transferBody(za[0], outward, "1.001"), nil, 400, CodeInvalidAmount},
		{"exponent", "", transferBody(za[0], outward, "1e3"), nil, 400, CodeInvalidAmount},
		{"number", "", fmt.Sprintf(`{"from_account":%q,"to_account":%q,"amount":1.00,"currency":"CNY"}`, za[0], outward), nil, 400, CodeInvalidAmount},
		{"huge", "", transferBody(za[0], outward, "99999999999999999999.00"), nil, 400, CodeInvalidAmount},
		{"to not Luhn-valid", "", transferBody(za[0], notLuhn, "1.00"), nil, 400, CodeParamInvalid},
		{"to short", "", transferBody(za[0], "6222", "1.00"), nil, 400, CodeParamInvalid},
		{"to itself", "", transferBody(za[0], za[0], "1.00"), nil, 400, CodeParamInvalid},
		{"currency", "", strings.Replace(transferBody(za[0], outward, "1.00"), "CNY", "USD", 1), nil, 400, CodeParamInvalid},
		{"unknown field", "", `{"from_account":"1","to_account":"2","amount":"1","currency":"CNY","memo":"x"}`, nil, 400, CodeParamInvalid},
		{"duplicate field", "", strings.Replace(transferBody(za[0], outward, "1.00"), `"currency":"CNY"`, `"currency":"CNY","currency":"CNY"`, 1), nil, 400, CodeParamInvalid},
		{"missing field", "", fmt.Sprintf(`{"from_account":%q,"to_account":%q,"currency":"CNY"}`, za[0], outward), nil, 400, CodeParamInvalid},
		{"trailing data", "", transferBody(za[0], outward, "1.00") + `{}`, nil, 400, CodeParamInvalid},
		{"not an object", "", `["x"]`, nil, 400, CodeParamInvalid},
		{"empty body", "", ``, nil, 400, CodeParamInvalid},
		{"control character in remark", "", strings.Replace(transferBody(za[0], outward, "1.00"), "房租", `a\u0007b`, 1), nil, 400, CodeParamInvalid},
		{"remark too long", "", strings.Replace(transferBody(za[0], outward, "1.00"), "房租", strings.Repeat("租", 65), 1), nil, 400, CodeParamInvalid},
		{"text/plain", "", transferBody(za[0], outward, "1.00"), []string{"Content-Type", "text/plain"}, 415, CodeUnsupportedMedia},
		{"no app", "", transferBody(za[0], outward, "1.00"), []string{HeaderAppID, ""}, 403, CodePermissionDenied},
		{"query", "", transferBody(za[0], outward, "1.00"), []string{"path", "/v1/transfers?dry_run=1"}, 400, CodeParamInvalid},
		{"too large", "", `{"remark":"` + strings.Repeat("x", MaxBodyBytes) + `"}`, nil, 413, CodeBodyTooLarge},
	}
	// zhangsan's debit card holds 500.00 frozen: one fen more than the
	// available balance is refused although the ledger would cover it.
	if l := f.ledger(t, zhang.ID, za[0]); l > 40_500_00 {
		if r := f.transfer(t, zhang.ID, "spend-down-0001", transferBody(za[0], za[1], formatAmount(l-40_500_00))); r.status != 201 {
			t.Fatalf("spend down: %d %s", r.status, r.body)
		}
	}
	avail := f.ledger(t, zhang.ID, za[0]) - 500_00
	for i := range tests {
		if tests[i].name == "frozen funds are not available" {
			tests[i].body = transferBody(za[0], outward, formatAmount(avail+1))
		}
	}
	before := map[string]int64{}
	for _, no := range za {
		before[no] = f.ledger(t, zhang.ID, no)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := tt.key
			if key == "" && !strings.HasPrefix(tt.name, "no key") {
				key = fmt.Sprintf("error-case-%03d", i)
			}
			path := "/v1/transfers"
			hdr := []string{HeaderCustomerID, zhang.ID, HeaderAppID, testApp, HeaderIdempotencyKey, key, "Content-Type", "application/json"}
			for j := 0; j+1 < len(tt.hdr); j += 2 {
				if tt.hdr[j] == "path" {
					path = tt.hdr[j+1]
					continue
				}
				hdr = append(hdr, tt.hdr[j], tt.hdr[j+1])
			}
			r := f.do(t, http.MethodPost, path, tt.body, hdr...)
			if r.status != tt.status || r.code() != tt.code {
				t.Fatalf("%d %s, want %d %s", r.status, r.body, tt.status, tt.code)
			}
			var e map[string]string
			if err := json.Unmarshal(r.body, &e); err != nil || e["message"] == "" || len(e) != 2 {
				t.Fatalf("error body %s", r.body)
			}
			for _, secret := range append([]string{zhang.Name, "李四", outward, notLuhn}, append(za, la...)...) {
				if strings.Contains(e["message"], secret) {
					t.Fatalf("message %q echoes personal data", e["message"])
				}
			}
		})
	}
	for _, no := range za {
		if got := f.ledger(t, zhang.ID, no); got != before[no] {
			t.Errorf("a refused transfer changed a balance: %d → %d", before[no], got)
		}
	}
}

// A refused transfer does not consume its key: the retry is evaluated again.
func TestTransferRefusedKeyRetried(t *testing.T) {
	f := mustBank(t)
	zhang, za := f.demo(t, "zhangsan")
	li, la := f.demo(t, "lisi")
	low := la[len(la)-1]
	body := transferBody(low, outward, "500.00")
	if r := f.transfer(t, li.ID, "top-up-then-retry", body); r.status != 422 || r.code() != CodeInsufficientFunds {
		t.Fatalf("first: %d %s", r.status, r.body)
	}
	if r := f.transfer(t, zhang.ID, "top-up-for-lisi", transferBody(za[0], low, "600.00")); r.status != 201 {
		t.Fatalf("top up: %d %s", r.status, r.body)
	}
	if r := f.transfer(t, li.ID, "top-up-then-retry", body); r.status != 201 {
		t.Fatalf("retry: %d %s", r.status, r.body)
	}
}

// Concurrent transfers from one account never overdraw it.
func TestTransferNoOverdraft(t *testing.T) {
	f := mustBank(t)
	li, la := f.demo(t, "lisi")
	low := la[len(la)-1]
	bal := f.ledger(t, li.ID, low)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := range 16 {
		wg.Go(func() {
			r := f.transfer(t, li.ID, fmt.Sprintf("overdraft-%02d", i), transferBody(low, outward, "1.00"))
			mu.Lock()
			defer mu.Unlock()
			if r.status == 201 {
				ok++
			}
		})
	}
	wg.Wait()
	want := min(16, int(bal/100))
	if ok != want || f.ledger(t, li.ID, low) != bal-int64(ok)*100 {
		t.Fatalf("%d transfers of 1.00 from %s succeeded, want %d", ok, formatAmount(bal), want)
	}
}
