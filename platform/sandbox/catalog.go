package sandbox

import "strings"

// The public (A1) data: products, deposit rates and branches. It does not
// depend on the seed: it is the bank's published price list.

// bankName is the name the sandbox bank gives itself in transaction records.
const bankName = "桂林银行"

// Product types.
const (
	ProductDeposit = "deposit"
	ProductLoan    = "loan"
	ProductWealth  = "wealth"
)

// Rate types of a product's annual_rate.
const (
	rateFixed     = "fixed"     // a deposit's listed rate
	rateFrom      = "from"      // a loan's lowest annual rate (年化利率低至)
	rateBenchmark = "benchmark" // a wealth product's performance benchmark (业绩比较基准), not guaranteed
)

// product is one entry of the product catalogue, in its wire form.
type product struct {
	ProductID    string `json:"product_id"`
	Type         string `json:"type"`
	Name         string `json:"name"`
	Description  string `json:"description"`
	Currency     string `json:"currency"`
	AnnualRate   string `json:"annual_rate,omitempty"` // percent per year, e.g. "1.25"
	RateType     string `json:"rate_type,omitempty"`
	Term         string `json:"term"` // demand, 7D, 3M, 1Y, … or FLEXIBLE
	TermMonths   int    `json:"term_months"`
	MinAmount    string `json:"min_amount"`
	MaxAmount    string `json:"max_amount,omitempty"`
	RiskLevel    string `json:"risk_level,omitempty"` // wealth: R1 (lowest) … R5 (highest)
	InterestNote string `json:"interest_note,omitempty"`
	Status       string `json:"status"`
}

var products = []product{
	{ProductID: "DEP-CUR-001", Type: ProductDeposit, Name: "活期储蓄", Description: "随存随取，按季结息（每季末月20日结息）。",
		AnnualRate: "0.10", RateType: rateFixed, Term: "demand", MinAmount: "1.00", InterestNote: "按季结息", Status: "ON_SALE"},
	{ProductID: "DEP-NTC-7D", Type: ProductDeposit, Name: "七天通知存款", Description: "一次存入，提前七天通知方可支取。",
		AnnualRate: "0.45", RateType: rateFixed, Term: "7D", MinAmount: "50000.00", InterestNote: "支取时结息", Status: "ON_SALE"},
	{ProductID: "DEP-FIX-3M", Type: ProductDeposit, Name: "整存整取 3个月", Description: "整笔存入，到期一次支取本息。",
		AnnualRate: "0.85", RateType: rateFixed, Term: "3M", TermMonths: 3, MinAmount: "50.00", InterestNote: "到期一次还本付息", Status: "ON_SALE"},
	{ProductID: "DEP-FIX-1Y", Type: ProductDeposit, Name: "整存整取 1年", Description: "整笔存入，到期一次支取本息，可约定自动转存。",
		AnnualRate: "1.25", RateType: rateFixed, Term: "1Y", TermMonths: 12, MinAmount: "50.00", InterestNote: "到期一次还本付息", Status: "ON_SALE"},
	{ProductID: "DEP-FIX-3Y", Type: ProductDeposit, Name: "整存整取 3年", Description: "整笔存入，到期一次支取本息，可约定自动转存。",
		AnnualRate: "1.65", RateType: rateFixed, Term: "3Y", TermMonths: 36, MinAmount: "50.00", InterestNote: "到期一次还本付息", Status: "ON_SALE"},
	{ProductID: "DEP-LCD-3Y", Type: ProductDeposit, Name: "个人大额存单 3年期", Description: "20万元起存，可转让，可提前支取（按活期计息）。",
		AnnualRate: "2.00", RateType: rateFixed, Term: "3Y", TermMonths: 36, MinAmount: "200000.00", InterestNote: "按月付息，到期还本", Status: "ON_SALE"},
	{ProductID: "LN-CON-001", Type: ProductLoan, Name: "漓江e贷 · 个人消费贷", Description: "线上申请，随借随还，用于日常消费，不得用于购房及投资。",
		AnnualRate: "3.60", RateType: rateFrom, Term: "FLEXIBLE", TermMonths: 36, MinAmount: "1000.00", MaxAmount: "300000.00", InterestNote: "按日计息，等额本息或先息后本", Status: "ON_SALE"},
	{ProductID: "LN-HOU-001", Type: ProductLoan, Name: "个人住房按揭贷款", Description: "购买自住住房，首套房执行当地最低首付比例。",
		AnnualRate: "3.10", RateType: rateFrom, Term: "30Y", TermMonths: 360, MinAmount: "50000.00", MaxAmount: "5000000.00", InterestNote: "等额本息或等额本金", Status: "ON_SALE"},
	{ProductID: "LN-BIZ-001", Type: ProductLoan, Name: "桂银税e贷 · 小微经营贷", Description: "面向个体工商户及小微企业主，凭纳税记录线上申请。",
		AnnualRate: "3.85", RateType: rateFrom, Term: "3Y", TermMonths: 36, MinAmount: "10000.00", MaxAmount: "1000000.00", InterestNote: "按月付息", Status: "ON_SALE"},
	{ProductID: "WM-CSH-001", Type: ProductWealth, Name: "桂银理财 · 天天盈现金管理1号", Description: "现金管理类理财，工作日T+0快速赎回（单日上限1万元）。",
		AnnualRate: "1.85", RateType: rateBenchmark, Term: "FLEXIBLE", MinAmount: "1.00", RiskLevel: "R1", InterestNote: "七日年化收益率，不代表未来表现", Status: "ON_SALE"},
	{ProductID: "WM-FIX-180", Type: ProductWealth, Name: "桂银理财 · 稳享180天", Description: "固定收益类，投资于债券、存款等，封闭期180天。",
		AnnualRate: "2.60", RateType: rateBenchmark, Term: "6M", TermMonths: 6, MinAmount: "10000.00", RiskLevel: "R2", InterestNote: "业绩比较基准不代表实际收益", Status: "ON_SALE"},
	{ProductID: "WM-MIX-1Y", Type: ProductWealth, Name: "桂银理财 · 安享一年混合类", Description: "混合类，权益类资产不超过20%，封闭期一年。",
		AnnualRate: "3.20", RateType: rateBenchmark, Term: "1Y", TermMonths: 12, MinAmount: "10000.00", RiskLevel: "R3", InterestNote: "业绩比较基准不代表实际收益", Status: "ON_SALE"},
	{ProductID: "WM-EQT-001", Type: ProductWealth, Name: "桂银理财 · 漓江成长权益1号", Description: "权益类，主要投资于A股市场，净值波动较大。",
		Term: "FLEXIBLE", MinAmount: "50000.00", RiskLevel: "R4", InterestNote: "净值型，无业绩比较基准承诺", Status: "ON_SALE"},
	{ProductID: "WM-QDI-001", Type: ProductWealth, Name: "代销 · 东盟精选股票型基金(QDII)", Description: "代销公募基金，投资于东盟国家股票市场，含汇率风险。",
		Term: "FLEXIBLE", MinAmount: "1000.00", RiskLevel: "R5", InterestNote: "基金有风险，投资须谨慎", Status: "ON_SALE"},
}

func init() {
	for i := range products {
		products[i].Currency = "CNY"
	}
}

// depositRate is one row of the deposit rate sheet.
type depositRate struct {
	Term       string `json:"term"`
	Name       string `json:"name"`
	TermMonths int    `json:"term_months"`
	AnnualRate string `json:"annual_rate"` // percent per year
}

// rateSheet is the answer of GET /v1/rates/deposit.
type rateSheet struct {
	Currency      string        `json:"currency"`
	EffectiveDate string        `json:"effective_date"`
	Rates         []depositRate `json:"rates"`
}

var depositRates = rateSheet{
	Currency:      "CNY",
	EffectiveDate: "2025-05-20",
	Rates: []depositRate{
		{Term: "demand", Name: "活期", AnnualRate: "0.10"},
		{Term: "3m", Name: "整存整取 三个月", TermMonths: 3, AnnualRate: "0.85"},
		{Term: "6m", Name: "整存整取 半年", TermMonths: 6, AnnualRate: "1.05"},
		{Term: "1y", Name: "整存整取 一年", TermMonths: 12, AnnualRate: "1.25"},
		{Term: "2y", Name: "整存整取 二年", TermMonths: 24, AnnualRate: "1.35"},
		{Term: "3y", Name: "整存整取 三年", TermMonths: 36, AnnualRate: "1.65"},
		{Term: "5y", Name: "整存整取 五年", TermMonths: 60, AnnualRate: "1.65"},
	},
}

// branch is one branch (网点), in its wire form.
type branch struct {
	BranchID      string   `json:"branch_id"`
	Name          string   `json:"name"`
	City          string   `json:"city"`
	District      string   `json:"district"`
	Address       string   `json:"address"`
	Phone         string   `json:"phone"`
	BusinessHours string   `json:"business_hours"`
	Latitude      string   `json:"latitude"`
	Longitude     string   `json:"longitude"`
	Services      []string `json:"services"`
	cityPinyin    string
}

var branches = []branch{
	{BranchID: "GL0001", Name: "桂林银行总行营业部", City: "桂林市", District: "秀峰区", Address: "广西壮族自治区桂林市秀峰区中山中路20号",
		Phone: "0773-2812345", BusinessHours: "周一至周日 09:00-17:00", Latitude: "25.2766", Longitude: "110.2901",
		Services: []string{"个人业务", "对公业务", "外汇", "保管箱"}, cityPinyin: "guilin"},
	{BranchID: "GL0002", Name: "桂林银行象山支行", City: "桂林市", District: "象山区", Address: "广西壮族自治区桂林市象山区民主路8号",
		Phone: "0773-2823456", BusinessHours: "周一至周五 09:00-17:00", Latitude: "25.2671", Longitude: "110.2915",
		Services: []string{"个人业务", "对公业务"}, cityPinyin: "guilin"},
	{BranchID: "GL0003", Name: "桂林银行七星支行", City: "桂林市", District: "七星区", Address: "广西壮族自治区桂林市七星区漓江路36号",
		Phone: "0773-5834567", BusinessHours: "周一至周六 09:00-17:00", Latitude: "25.2722", Longitude: "110.3127",
		Services: []string{"个人业务", "理财", "自助银行"}, cityPinyin: "guilin"},
	{BranchID: "GL0004", Name: "桂林银行临桂支行", City: "桂林市", District: "临桂区", Address: "广西壮族自治区桂林市临桂区世纪大道北段100号",
		Phone: "0773-5845678", BusinessHours: "周一至周五 09:00-17:00", Latitude: "25.2390", Longitude: "110.2050",
		Services: []string{"个人业务", "对公业务", "小微贷款"}, cityPinyin: "guilin"},
	{BranchID: "NN0001", Name: "桂林银行南宁分行营业部", City: "南宁市", District: "青秀区", Address: "广西壮族自治区南宁市青秀区民族大道136号",
		Phone: "0771-5856789", BusinessHours: "周一至周日 09:00-17:00", Latitude: "22.8170", Longitude: "108.3669",
		Services: []string{"个人业务", "对公业务", "外汇", "理财"}, cityPinyin: "nanning"},
	{BranchID: "NN0002", Name: "桂林银行南宁五象支行", City: "南宁市", District: "良庆区", Address: "广西壮族自治区南宁市良庆区五象大道401号",
		Phone: "0771-5867890", BusinessHours: "周一至周五 09:00-17:00", Latitude: "22.7645", Longitude: "108.3890",
		Services: []string{"个人业务", "对公业务"}, cityPinyin: "nanning"},
	{BranchID: "NN0003", Name: "桂林银行南宁西乡塘支行", City: "南宁市", District: "西乡塘区", Address: "广西壮族自治区南宁市西乡塘区大学东路98号",
		Phone: "0771-3878901", BusinessHours: "周一至周六 09:00-17:00", Latitude: "22.8380", Longitude: "108.2920",
		Services: []string{"个人业务", "自助银行"}, cityPinyin: "nanning"},
}

// matchCity reports whether a branch is in the city a query names: the
// Chinese name with or without 市, or its pinyin in any case.
func (b *branch) matchCity(q string) bool {
	return q == b.City || q+"市" == b.City || strings.EqualFold(q, b.cityPinyin)
}
