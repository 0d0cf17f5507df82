package sandbox

import (
	"encoding/json"

	"lijiang/platform"
)

// Consent scopes of the sandbox's user-scoped APIs.
const (
	ScopeAccountsRead   = "accounts:read"
	ScopePaymentsWrite  = "payments:write"
	upstreamTimeoutMs   = 5000
	productsPerPageMax  = 100
	transactionsPageMax = 100
)

func schema(s string) json.RawMessage { return json.RawMessage(s) }

// APIs is the catalogue of the sandbox core bank's endpoints: what `serve
// --demo` publishes, and what a bank's operators start from in the
// joint-debugging environment. Every upstream is the sandbox ("sandbox:").
// Each has its response schema, examples and business errors (apis_docs.go).
func APIs() []platform.APISpec {
	up := platform.Upstream{Targets: []string{platform.UpstreamSandbox}, TimeoutMs: upstreamTimeoutMs}
	page := `"page":{"type":"integer","minimum":1,"maximum":10000},"page_size":{"type":"integer","minimum":1,"maximum":100}`
	// An account path takes the account number or its opaque id under the
	// consent (AccountID), as /v1/accounts lists it.
	accountPath := schema(`{"type":"object","properties":{"account_no":{"type":"string","pattern":"^(?:[0-9]{8,32}|acc_[0-9a-f]{32})$"}},"required":["account_no"]}`)
	accountMasks := []platform.MaskRule{
		{Field: "$.accounts[*].account_no", Kind: platform.MaskAccountNo},
		{Field: "$.accounts[*].holder_name", Kind: platform.MaskName},
		{Field: "$.accounts[*].id_no", Kind: platform.MaskIDNo},
		{Field: "$.accounts[*].phone", Kind: platform.MaskPhone},
	}
	specs := []platform.APISpec{
		{
			APIContract: platform.APIContract{
				Name: "产品列表 / Products", Description: "Deposit, loan and wealth products with their rates.",
				APIVersion: "v1", Method: "GET", Path: "/v1/products", Level: platform.LevelA1,
				Params: platform.ParamSchemas{Query: schema(`{"type":"object","properties":{"type":{"type":"string","enum":["deposit","loan","wealth"]},` + page + `},"additionalProperties":false}`)},
			},
			Upstream: up, Retention: platform.RetentionNone,
			Limits: platform.Limits{RatePerSecond: 200, Burst: 400},
		},
		{
			APIContract: platform.APIContract{
				Name: "产品详情 / Product", Description: "One product.",
				APIVersion: "v1", Method: "GET", Path: "/v1/products/{product_id}", Level: platform.LevelA1,
				Params: platform.ParamSchemas{Path: schema(`{"type":"object","properties":{"product_id":{"type":"string","pattern":"^[A-Za-z0-9_-]{1,32}$"}},"required":["product_id"]}`)},
			},
			Upstream: up, Retention: platform.RetentionNone,
		},
		{
			APIContract: platform.APIContract{
				Name: "存款利率 / Deposit rates", Description: "Demand and time deposit rates.",
				APIVersion: "v1", Method: "GET", Path: "/v1/rates/deposit", Level: platform.LevelA1,
			},
			Upstream: up, Retention: platform.RetentionNone,
		},
		{
			APIContract: platform.APIContract{
				Name: "网点 / Branches", Description: "Branches by city.",
				APIVersion: "v1", Method: "GET", Path: "/v1/branches", Level: platform.LevelA1,
				Params: platform.ParamSchemas{Query: schema(`{"type":"object","properties":{"city":{"type":"string","maxLength":32}},"additionalProperties":false}`)},
			},
			Upstream: up, Retention: platform.RetentionNone,
		},
		{
			APIContract: platform.APIContract{
				Name: "账户列表 / Accounts", Description: "The customer's accounts (masked), each with its account_id for the account paths.",
				APIVersion: "v1", Method: "GET", Path: "/v1/accounts", Level: platform.LevelA2,
				ActsForUser: true, ConsentScope: ScopeAccountsRead,
			},
			Upstream: up, Masking: accountMasks, Retention: platform.RetentionMasked,
		},
		{
			APIContract: platform.APIContract{
				Name: "账户余额 / Balance", Description: "An account's available and ledger balance.",
				APIVersion: "v1", Method: "GET", Path: "/v1/accounts/{account_no}/balance", Level: platform.LevelA2,
				ActsForUser: true, ConsentScope: ScopeAccountsRead,
				Params: platform.ParamSchemas{Path: accountPath},
			},
			Upstream: up, Masking: []platform.MaskRule{{Field: "$.account_no", Kind: platform.MaskAccountNo}}, Retention: platform.RetentionMasked,
		},
		{
			APIContract: platform.APIContract{
				Name: "交易明细 / Transactions", Description: "An account's transactions, newest first.",
				APIVersion: "v1", Method: "GET", Path: "/v1/accounts/{account_no}/transactions", Level: platform.LevelA2,
				ActsForUser: true, ConsentScope: ScopeAccountsRead,
				Params: platform.ParamSchemas{Path: accountPath,
					Query: schema(`{"type":"object","properties":{"from":{"type":"string","format":"date"},"to":{"type":"string","format":"date"},` + page + `},"additionalProperties":false}`)},
			},
			Upstream: up, Retention: platform.RetentionMasked,
			Masking: []platform.MaskRule{
				{Field: "$.account_no", Kind: platform.MaskAccountNo},
				{Field: "$.transactions[*].counterparty_account", Kind: platform.MaskAccountNo},
				{Field: "$.transactions[*].counterparty_name", Kind: platform.MaskName},
			},
		},
		{
			APIContract: platform.APIContract{
				Name: "转账 / Transfer", Description: "A transfer from the customer's account; send an Idempotency-Key.",
				APIVersion: "v1", Method: "POST", Path: "/v1/transfers", Level: platform.LevelA2,
				ActsForUser: true, ConsentScope: ScopePaymentsWrite,
				Params: platform.ParamSchemas{Body: schema(`{"type":"object","properties":{` +
					`"from_account":{"type":"string","pattern":"^(?:[0-9]{8,32}|acc_[0-9a-f]{32})$"},"to_account":{"type":"string","format":"account_no"},` +
					`"amount":{"type":"string","format":"amount"},"currency":{"type":"string","enum":["CNY"]},"remark":{"type":"string","maxLength":64}},` +
					`"required":["from_account","to_account","amount","currency"]}`),
					Headers: []platform.HeaderParam{{Name: HeaderIdempotencyKey, Required: true,
						Description: "8-64 visible ASCII characters, one per transfer: a retry with the same key and transfer is made once"}}},
			},
			Upstream: up, Retention: platform.RetentionSealed,
			Masking: []platform.MaskRule{
				{Field: "$.from_account", Kind: platform.MaskAccountNo},
				{Field: "$.to_account", Kind: platform.MaskAccountNo},
			},
			Limits: platform.Limits{RatePerSecond: 20, Burst: 40, Concurrency: 16},
		},
		{
			APIContract: platform.APIContract{
				Name: "转账查询 / Transfer status", Description: "One transfer.",
				APIVersion: "v1", Method: "GET", Path: "/v1/transfers/{transfer_id}", Level: platform.LevelA2,
				ActsForUser: true, ConsentScope: ScopePaymentsWrite,
				Params: platform.ParamSchemas{Path: schema(`{"type":"object","properties":{"transfer_id":{"type":"string","pattern":"^[A-Za-z0-9_-]{1,40}$"}},"required":["transfer_id"]}`)},
			},
			Upstream: up, Retention: platform.RetentionMasked,
			Masking: []platform.MaskRule{
				{Field: "$.from_account", Kind: platform.MaskAccountNo},
				{Field: "$.to_account", Kind: platform.MaskAccountNo},
			},
		},
	}
	for i := range specs {
		document(&specs[i]) // apis_docs.go
	}
	return specs
}
