package sandbox

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"lijiang/platform/checkdigit"
)

// DefaultSeed is the seed used when Config.Seed is zero.
const DefaultSeed int64 = 20240601

// historyDays is how far back the seeded transaction history reaches.
const historyDays = 60

// cst is China Standard Time; fixed so that no tzdata is needed.
var cst = time.FixedZone("CST", 8*3600)

// Account types.
const (
	AccountDebitCard = "DEBIT_CARD" // 借记卡（I类户）
	AccountSavings   = "SAVINGS"    // 活期储蓄账户
	AccountEAccount  = "E_ACCOUNT"  // II类电子账户
)

var accountTypeNames = map[string]string{
	AccountDebitCard: "借记卡（I类户）",
	AccountSavings:   "活期储蓄账户",
	AccountEAccount:  "II类电子账户",
}

// DemoCustomer is a fixed demo customer of the sandbox bank, with the
// credentials `serve --demo` prints so that a developer can walk through the
// authorisation flow. They are sandbox-only, public by design.
type DemoCustomer struct {
	ID         string // the customer id the gateway forwards as X-LJ-Customer-Id
	Username   string
	Name       string
	Password   string
	TOTPSecret string // base32, for an authenticator app or platform.TOTPCode
}

// demoSpec describes a demo customer and the accounts to seed for them.
type demoSpec struct {
	DemoCustomer
	region   string // first six digits of the ID number (行政区划代码)
	birth    string // YYYYMMDD
	male     bool
	branchID string
	employer string
	accounts []string // account types, in order
}

var demoSpecs = []demoSpec{
	{DemoCustomer: DemoCustomer{Username: "zhangsan", Name: "张三", Password: "Zhangsan-2024-demo", TOTPSecret: "TIWKCDIODHAIHS5A7PQ7MPJIB3KNRWWQ"},
		region: "450303", birth: "19880512", male: true, branchID: "GL0001", employer: "桂林漓江智造科技有限公司",
		accounts: []string{AccountDebitCard, AccountSavings, AccountEAccount}},
	{DemoCustomer: DemoCustomer{Username: "lisi", Name: "李四", Password: "Lisi-2024-demo-pw", TOTPSecret: "HJ7YWJE47QIFYPSP6VC7G37PZRWUEAZJ"},
		region: "450103", birth: "19920803", male: false, branchID: "NN0001", employer: "广西北部湾物流有限公司",
		accounts: []string{AccountDebitCard, AccountEAccount}},
	{DemoCustomer: DemoCustomer{Username: "wangwu", Name: "王五", Password: "Wangwu-2024-demo", TOTPSecret: "ZR2G24GCSO7YSPWATUEXGIB3RS64Z4VR"},
		region: "450305", birth: "19751120", male: true, branchID: "GL0003", employer: "桂林山水文旅集团有限公司",
		accounts: []string{AccountDebitCard, AccountSavings, AccountEAccount}},
}

func init() {
	for i := range demoSpecs {
		demoSpecs[i].ID = customerID(demoSpecs[i].Username)
	}
}

// DemoCustomers returns the fixed demo customers (the same for every seed).
func DemoCustomers() []DemoCustomer {
	out := make([]DemoCustomer, len(demoSpecs))
	for i, s := range demoSpecs {
		out[i] = s.DemoCustomer
	}
	return out
}

// customerID derives a stable customer id from a username, in the form of
// the platform's ids ("cus_" and 20 base32 characters).
func customerID(username string) string {
	h := sha256.Sum256([]byte("lijiang-sandbox-customer:" + username))
	return "cus_" + strings.ToLower(base32.StdEncoding.EncodeToString(h[:15]))[:20]
}

// account is an account of the bank. Its mutable fields (ledger, frozen,
// txns) are guarded by Bank.mu.
type account struct {
	no, typ, customerID, holderName, idNo, phone, branchID, openDate string
	ledger, frozen                                                   int64
	txns                                                             []txn // ascending by time
}

// txn is one booked transaction (交易明细) of an account.
type txn struct {
	id                        string
	at                        time.Time
	credit                    bool
	amount, balanceAfter      int64
	cpName, cpAccount, cpBank string
	summary, channel, remark  string
	transferID                string
}

// customer is a customer of the bank: the exported view and what the
// directory needs. Auth state (failures, lockedUntil, lastStep) is guarded
// by Bank.authMu.
type customer struct {
	Customer
	idNo, totpSecret string
	accounts         []string

	failures    int
	lockedUntil time.Time
	lastStep    int64
}

// seedRand returns a deterministic generator for one purpose.
func seedRand(seed int64, purpose string) *rand.Rand {
	h := sha256.Sum256([]byte(fmt.Sprintf("lijiang-sandbox:%d:%s", seed, purpose)))
	return rand.New(rand.NewPCG(binary.BigEndian.Uint64(h[:8]), binary.BigEndian.Uint64(h[8:16])))
}

// between returns a uniformly chosen amount in [lo, hi] yuan, in fen.
func between(r *rand.Rand, lo, hi int64) int64 {
	return lo*100 + r.Int64N((hi-lo)*100+1)
}

// cardNumber returns a 19-digit Luhn-valid number with the given prefix.
func cardNumber(r *rand.Rand, prefix string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for b.Len() < 18 {
		b.WriteByte(byte('0' + r.IntN(10)))
	}
	s := b.String()
	return s + string(checkdigit.Luhn(s))
}

// seedData is everything New derives from the seed.
type seedData struct {
	customers []*customer
	accounts  map[string]*account
	txnSeq    uint64
}

// counterparty of seeded transactions.
type party struct{ name, account, bank string }

var (
	merchants = []struct {
		party
		summary, channel string
	}{
		{party{"财付通支付科技有限公司", "", "财付通"}, "快捷支付", "微信支付"},
		{party{"支付宝（中国）网络技术有限公司", "", "支付宝"}, "快捷支付", "支付宝"},
		{party{"华润万家生活超市（桂林）有限公司", "", bankName}, "消费", "POS"},
		{party{"桂林三金大药房有限公司", "", bankName}, "消费", "POS"},
		{party{"北京三快在线科技有限公司（美团）", "", "网联清算"}, "快捷支付", "网联"},
		{party{"中国石化销售股份有限公司广西桂林石油分公司", "", bankName}, "消费", "POS"},
		{party{"广西桂林米粉餐饮管理有限公司", "", "财付通"}, "快捷支付", "微信支付"},
	}
	persons   = []string{"赵六", "陈静", "刘洋", "黄丽华", "覃海燕", "韦志强", "莫小兰", "蒋文斌"}
	otherBins = []struct{ prefix, bank string }{
		{"621700", "中国建设银行"}, {"622848", "中国农业银行"}, {"621226", "中国工商银行"}, {"621483", "招商银行"}, {"623668", "广西农村信用社"},
	}
)

// seed builds the customers, accounts and history for seed, with the history
// ending the day before today (a date in cst).
func seed(s int64, today time.Time) seedData {
	d := seedData{accounts: map[string]*account{}}
	type pending struct {
		a    *account
		txns []txn
	}
	var all []pending
	used := map[string]bool{}
	for ci, spec := range demoSpecs {
		r := seedRand(s, "customer:"+spec.Username)
		seq := fmt.Sprintf("%03d", 100+r.IntN(800))
		sex := r.IntN(5) * 2 // even: female
		if spec.male {
			sex++
		}
		id17 := spec.region + spec.birth + seq[:2] + fmt.Sprint(sex)
		c := &customer{
			Customer: Customer{ID: spec.ID, Username: spec.Username, Name: spec.Name,
				Phone: fmt.Sprintf("1%d%d%08d", []int{3, 5, 8}[r.IntN(3)], r.IntN(10), r.IntN(100_000_000))},
			idNo:       id17 + string(checkdigit.IDNo(id17)),
			totpSecret: spec.TOTPSecret,
		}
		for ai, typ := range spec.accounts {
			no := ""
			for no == "" || used[no] {
				no = cardNumber(r, "62220773")
			}
			used[no] = true
			open := today.AddDate(-1-r.IntN(8), -r.IntN(12), -r.IntN(28))
			a := &account{no: no, typ: typ, customerID: c.ID, holderName: c.Name, idNo: c.idNo, phone: c.Phone,
				branchID: spec.branchID, openDate: open.Format(time.DateOnly)}
			ar := seedRand(s, fmt.Sprintf("account:%d:%d", ci, ai))
			switch typ {
			case AccountDebitCard:
				a.ledger = between(ar, 20_000, 90_000)
				if ai == 0 && ci == 0 {
					a.frozen = 500_00 // a pre-authorisation hold, so that available ≠ ledger somewhere
				}
			case AccountSavings:
				a.ledger = between(ar, 250_000, 450_000)
			case AccountEAccount:
				a.ledger = between(ar, 3, 95) // low: for INSUFFICIENT_FUNDS
			}
			all = append(all, pending{a, history(ar, a, spec, c.accounts, today)})
			c.accounts = append(c.accounts, no)
			d.accounts[no] = a
		}
		d.customers = append(d.customers, c)
	}
	// Transaction ids in booking order across the bank.
	var flat []*txn
	for i := range all {
		for j := range all[i].txns {
			flat = append(flat, &all[i].txns[j])
		}
	}
	slices.SortStableFunc(flat, func(x, y *txn) int { return x.at.Compare(y.at) })
	for _, t := range flat {
		d.txnSeq++
		t.id = txnID(t.at, d.txnSeq)
	}
	for _, p := range all {
		p.a.txns = p.txns
	}
	return d
}

// ownFirst is the customer's first (debit card) account, the source of
// monthly savings, or "" if there is none yet.
func ownFirst(own []string) string {
	if len(own) == 0 {
		return ""
	}
	return own[0]
}

// txnID formats a transaction id: T, the booking date, a sequence number.
func txnID(at time.Time, seq uint64) string {
	return fmt.Sprintf("T%s%010d", at.In(cst).Format("20060102"), seq)
}

// history generates about historyDays days of transactions for a, ending with
// its current ledger balance. Events are drawn forward in time, then balances
// are computed backwards from the current balance; a credit that would make
// an earlier balance negative is dropped.
func history(r *rand.Rand, a *account, spec demoSpec, own []string, today time.Time) []txn {
	var ev []txn
	at := func(day time.Time, h0, h1 int) time.Time {
		return day.Add(time.Duration(h0)*time.Hour + time.Duration(r.IntN((h1-h0)*3600))*time.Second)
	}
	other := func() party {
		b := otherBins[r.IntN(len(otherBins))]
		return party{persons[r.IntN(len(persons))], cardNumber(r, b.prefix), b.bank}
	}
	employer := party{spec.employer, fmt.Sprintf("7731%014d", r.Int64N(1e14)), bankName}
	salary := between(r, 6_500, 18_000)
	family := other()
	for i := historyDays; i >= 1; i-- {
		day := today.AddDate(0, 0, -i)
		add := func(t txn) { ev = append(ev, t) }
		if day.Day() == 21 && day.Month()%3 == 0 { // quarterly interest settlement (结息)
			// About a quarter of 0.10% a year on the balance, at least 0.01.
			add(txn{at: at(day, 0, 1), credit: true, amount: max(1, a.ledger/4000+r.Int64N(100)-50), cpName: bankName, cpBank: bankName, summary: "结息", channel: "批量"})
		}
		switch a.typ {
		case AccountDebitCard:
			if day.Day() == 10 {
				add(txn{at: at(day, 9, 10), credit: true, amount: salary, cpName: employer.name, cpAccount: employer.account, cpBank: employer.bank,
					summary: "代发工资", channel: "批量代发", remark: fmt.Sprintf("%d月工资", int(day.AddDate(0, -1, 0).Month()))})
			}
			if day.Day() == 1 {
				add(txn{at: at(day, 8, 12), amount: between(r, 50, 128), cpName: "中国移动通信集团广西有限公司", cpBank: bankName, summary: "话费", channel: "代扣"})
			}
			if day.Day() == 15 {
				add(txn{at: at(day, 8, 12), amount: between(r, 80, 260), cpName: "广西电网有限责任公司桂林供电局", cpBank: bankName, summary: "电费", channel: "代扣"})
			}
			if day.Day() == 18 {
				add(txn{at: at(day, 8, 12), amount: between(r, 25, 60), cpName: "桂林市自来水有限公司", cpBank: bankName, summary: "水费", channel: "代扣"})
			}
			if day.Day() == 20 {
				add(txn{at: at(day, 19, 22), amount: between(r, 10, 30) * 100, cpName: family.name, cpAccount: family.account, cpBank: family.bank,
					summary: "转账", channel: "手机银行", remark: "生活费"})
			}
			for n := r.IntN(3); n > 0; n-- {
				m := merchants[r.IntN(len(merchants))]
				add(txn{at: at(day, 7, 23), amount: between(r, 8, 680), cpName: m.name, cpBank: m.bank, summary: m.summary, channel: m.channel})
			}
			if r.IntN(20) == 0 {
				add(txn{at: at(day, 8, 22), amount: int64(1+r.IntN(3)) * 500_00, summary: "ATM取款", channel: "ATM", cpName: bankName + "自助银行", cpBank: bankName})
			}
			if r.IntN(15) == 0 {
				p := other()
				add(txn{at: at(day, 8, 23), credit: true, amount: between(r, 200, 1_500), cpName: p.name, cpAccount: p.account, cpBank: p.bank,
					summary: "转账", channel: "网银"})
			}
		case AccountSavings:
			if day.Day() == 11 {
				add(txn{at: at(day, 9, 18), credit: true, amount: between(r, 30, 80) * 100, cpName: spec.Name, cpAccount: ownFirst(own), cpBank: bankName,
					summary: "转存", channel: "手机银行", remark: "每月储蓄"})
			}
			if r.IntN(40) == 0 {
				p := other()
				add(txn{at: at(day, 9, 17), amount: between(r, 50, 200) * 100, cpName: p.name, cpAccount: p.account, cpBank: p.bank,
					summary: "转账", channel: "柜面"})
			}
		case AccountEAccount:
			if r.IntN(9) == 0 {
				add(txn{at: at(day, 8, 23), credit: true, amount: between(r, 1, 88), cpName: "财付通支付科技有限公司", cpBank: "财付通",
					summary: "红包", channel: "微信支付"})
			}
			if r.IntN(7) == 0 {
				m := merchants[r.IntN(len(merchants))]
				add(txn{at: at(day, 7, 23), amount: between(r, 3, 45), cpName: m.name, cpBank: m.bank, summary: m.summary, channel: m.channel})
			}
		}
	}
	slices.SortStableFunc(ev, func(x, y txn) int { return x.at.Compare(y.at) })
	// Backwards from the current balance.
	bal := a.ledger
	keep := ev[:0:0]
	for i := len(ev) - 1; i >= 0; i-- {
		t := ev[i]
		if t.credit && t.amount > bal {
			continue
		}
		t.balanceAfter = bal
		if t.credit {
			bal -= t.amount
		} else {
			bal += t.amount
		}
		keep = append(keep, t)
	}
	slices.Reverse(keep)
	return keep
}
