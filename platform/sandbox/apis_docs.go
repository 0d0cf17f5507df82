package sandbox

import (
	"encoding/json"
	"net/http"

	"lijiang/platform"
)

// What the sandbox's APIs answer, for the catalogue (issue 10): the schema of
// each 200 (201) body as the caller receives it, after the gateway's masking
// (masked fields are plain strings), an example request and answer, and the
// bank's business error codes. TestSandboxAPIDocs (gateway) checks them
// against real calls.

// Schema fragments shared by the documents.
const (
	docAmount   = `{"type":"string","format":"amount","description":"yuan, two decimals"}`
	docRate     = `{"type":"string","pattern":"^[0-9]+\\.[0-9]{2}$","description":"percent per year"}`
	docMasked   = `{"type":"string","description":"masked by the gateway"}`
	docAcctID   = `{"type":"string","pattern":"^acc_[0-9a-f]{32}$","description":"the account's opaque id under the consent: the account paths take it in place of the number"}`
	docPageInt  = `{"type":"integer","minimum":1}`
	docCount    = `{"type":"integer","minimum":0}`
	docDateTime = `{"type":"string","format":"date-time"}`
	docCNY      = `{"type":"string","enum":["CNY"]}`
	docStr      = `{"type":"string"}`
)

const docProduct = `{"type":"object","additionalProperties":false,` +
	`"required":["product_id","type","name","description","currency","term","term_months","min_amount","status"],"properties":{` +
	`"product_id":{"type":"string","pattern":"^[A-Za-z0-9_-]{1,32}$"},"type":{"type":"string","enum":["deposit","loan","wealth"]},` +
	`"name":` + docStr + `,"description":` + docStr + `,"currency":` + docCNY + `,` +
	`"annual_rate":` + docRate + `,"rate_type":{"type":"string","enum":["fixed","from","benchmark"],"description":"fixed: a deposit's listed rate; from: a loan's lowest rate; benchmark: a wealth product's performance benchmark, not guaranteed"},` +
	`"term":{"type":"string","description":"demand, 7D, 3M, 1Y, … or FLEXIBLE"},"term_months":` + docCount + `,` +
	`"min_amount":` + docAmount + `,"max_amount":` + docAmount + `,"risk_level":{"type":"string","enum":["R1","R2","R3","R4","R5"]},` +
	`"interest_note":` + docStr + `,"status":{"type":"string","enum":["ON_SALE"]}}}`

const docProductExample = `{"product_id":"DEP-FIX-1Y","type":"deposit","name":"整存整取 1年","description":"整笔存入，到期一次支取本息，可约定自动转存。",` +
	`"currency":"CNY","annual_rate":"1.25","rate_type":"fixed","term":"1Y","term_months":12,"min_amount":"50.00","interest_note":"到期一次还本付息","status":"ON_SALE"}`

const docTransfer = `{"type":"object","additionalProperties":false,` +
	`"required":["transfer_id","status","from_account","to_account","to_bank","intra_bank","amount","fee","currency","transaction_id","created_at"],"properties":{` +
	`"transfer_id":{"type":"string","pattern":"^TR[0-9]{16}$"},"status":{"type":"string","enum":["ACCEPTED","SUCCEEDED"],"description":"ACCEPTED when created (the sandbox books it at once), SUCCEEDED when read back"},` +
	`"from_account":` + docMasked + `,"to_account":` + docMasked + `,"to_bank":` + docStr + `,"intra_bank":{"type":"boolean"},` +
	`"amount":` + docAmount + `,"fee":` + docAmount + `,"currency":` + docCNY + `,"remark":{"type":"string","maxLength":64},` +
	`"transaction_id":` + docStr + `,"created_at":` + docDateTime + `,"completed_at":` + docDateTime + `}}`

// Business errors of the sandbox bank (its other refusals use LJ1 codes:
// PARAM_INVALID, CONSENT_REQUIRED, …).
var (
	docErrProduct  = platform.BusinessError{Code: CodeProductNotFound, Status: http.StatusNotFound, Description: "no product has this product_id"}
	docErrAccount  = platform.BusinessError{Code: CodeAccountNotFound, Status: http.StatusNotFound, Description: "the account does not exist or is not the customer's, or its account_id is of another consent"}
	docErrTransfer = platform.BusinessError{Code: CodeTransferNotFound, Status: http.StatusNotFound, Description: "no transfer of the customer has this transfer_id"}
)

// apiDocs are the documentation fields of the sandbox's APIs, by method and
// path.
var apiDocs = map[string]struct {
	response, requestExample, responseExample string
	errors                                    []platform.BusinessError
}{
	"GET /v1/products": {
		response: `{"type":"object","additionalProperties":false,"required":["page","page_size","total","products"],"properties":{` +
			`"page":` + docPageInt + `,"page_size":` + docPageInt + `,"total":` + docCount + `,"products":{"type":"array","items":` + docProduct + `}}}`,
		requestExample:  `{"type":"deposit","page":1,"page_size":2}`,
		responseExample: `{"page":1,"page_size":2,"total":6,"products":[` + docProductExample + `]}`,
	},
	"GET /v1/products/{product_id}": {
		response:        docProduct,
		responseExample: docProductExample,
		errors:          []platform.BusinessError{docErrProduct},
	},
	"GET /v1/rates/deposit": {
		response: `{"type":"object","additionalProperties":false,"required":["currency","effective_date","rates"],"properties":{` +
			`"currency":` + docCNY + `,"effective_date":{"type":"string","format":"date"},"rates":{"type":"array","items":{"type":"object","additionalProperties":false,` +
			`"required":["term","name","term_months","annual_rate"],"properties":{"term":` + docStr + `,"name":` + docStr + `,"term_months":` + docCount + `,"annual_rate":` + docRate + `}}}}}`,
		responseExample: `{"currency":"CNY","effective_date":"2025-05-20","rates":[{"term":"demand","name":"活期","term_months":0,"annual_rate":"0.10"},` +
			`{"term":"1y","name":"整存整取 一年","term_months":12,"annual_rate":"1.25"}]}`,
	},
	"GET /v1/branches": {
		response: `{"type":"object","additionalProperties":false,"required":["total","branches"],"properties":{"total":` + docCount + `,` +
			`"branches":{"type":"array","items":{"type":"object","additionalProperties":false,` +
			`"required":["branch_id","name","city","district","address","phone","business_hours","latitude","longitude","services"],"properties":{` +
			`"branch_id":` + docStr + `,"name":` + docStr + `,"city":` + docStr + `,"district":` + docStr + `,"address":` + docStr + `,` +
			`"phone":` + docStr + `,"business_hours":` + docStr + `,"latitude":` + docStr + `,"longitude":` + docStr + `,` +
			`"services":{"type":"array","items":` + docStr + `}}}}}}`,
		requestExample: `{"city":"桂林"}`,
		responseExample: `{"total":1,"branches":[{"branch_id":"GL0001","name":"桂林银行总行营业部","city":"桂林市","district":"秀峰区",` +
			`"address":"广西壮族自治区桂林市秀峰区中山中路20号","phone":"0773-2812345","business_hours":"周一至周日 09:00-17:00",` +
			`"latitude":"25.2766","longitude":"110.2901","services":["个人业务","对公业务","外汇","保管箱"]}]}`,
	},
	"GET /v1/accounts": {
		response: `{"type":"object","additionalProperties":false,"required":["customer_id","accounts"],"properties":{"customer_id":` + docStr + `,` +
			`"accounts":{"type":"array","items":{"type":"object","additionalProperties":false,` +
			`"required":["account_id","account_no","type","type_name","currency","holder_name","id_no","phone","branch_id","open_date","status"],"properties":{` +
			`"account_id":` + docAcctID + `,"account_no":` + docMasked + `,"type":{"type":"string","enum":["DEBIT_CARD","SAVINGS","E_ACCOUNT"]},` +
			`"type_name":` + docStr + `,"currency":` + docCNY + `,"holder_name":` + docMasked + `,"id_no":` + docMasked + `,"phone":` + docMasked + `,` +
			`"branch_id":` + docStr + `,"open_date":{"type":"string","format":"date"},"status":{"type":"string","enum":["NORMAL"]}}}}}}`,
		responseExample: `{"customer_id":"cus_k4n2q7xw3m5p8r6t1vbz","accounts":[{"account_id":"acc_3f1c9a0e5b7d42e8a6c0f19b2d4e6a8c","account_no":"622202******4567",` +
			`"type":"DEBIT_CARD","type_name":"借记卡（I类户）","currency":"CNY","holder_name":"*三","id_no":"450***********1234","phone":"138****5678",` +
			`"branch_id":"GL0001","open_date":"2019-03-15","status":"NORMAL"}]}`,
	},
	"GET /v1/accounts/{account_no}/balance": {
		response: `{"type":"object","additionalProperties":false,"required":["account_id","account_no","currency","available","ledger","frozen","as_of"],"properties":{` +
			`"account_id":` + docAcctID + `,"account_no":` + docMasked + `,"currency":` + docCNY + `,` +
			`"available":` + docAmount + `,"ledger":` + docAmount + `,"frozen":` + docAmount + `,"as_of":` + docDateTime + `}}`,
		responseExample: `{"account_id":"acc_3f1c9a0e5b7d42e8a6c0f19b2d4e6a8c","account_no":"622202******4567","currency":"CNY",` +
			`"available":"12580.50","ledger":"12580.50","frozen":"0.00","as_of":"2026-03-02T10:15:00+08:00"}`,
		errors: []platform.BusinessError{docErrAccount},
	},
	"GET /v1/accounts/{account_no}/transactions": {
		response: `{"type":"object","additionalProperties":false,"required":["account_id","account_no","from","to","page","page_size","total","transactions"],"properties":{` +
			`"account_id":` + docAcctID + `,"account_no":` + docMasked + `,"from":{"type":"string","format":"date"},"to":{"type":"string","format":"date"},` +
			`"page":` + docPageInt + `,"page_size":` + docPageInt + `,"total":` + docCount + `,` +
			`"transactions":{"type":"array","items":{"type":"object","additionalProperties":false,` +
			`"required":["transaction_id","booked_at","direction","amount","balance_after","currency","summary","channel"],"properties":{` +
			`"transaction_id":` + docStr + `,"booked_at":` + docDateTime + `,"direction":{"type":"string","enum":["CREDIT","DEBIT"],"description":"CREDIT 收入, DEBIT 支出"},` +
			`"amount":` + docAmount + `,"balance_after":` + docAmount + `,"currency":` + docCNY + `,"counterparty_name":` + docMasked + `,` +
			`"counterparty_account":` + docMasked + `,"counterparty_bank":` + docStr + `,"summary":{"type":"string","description":"摘要"},"channel":` + docStr + `,` +
			`"remark":` + docStr + `,"transfer_id":` + docStr + `}}}}}`,
		requestExample: `{"from":"2026-02-01","to":"2026-02-28","page":1,"page_size":20}`,
		responseExample: `{"account_id":"acc_3f1c9a0e5b7d42e8a6c0f19b2d4e6a8c","account_no":"622202******4567","from":"2026-02-01","to":"2026-02-28",` +
			`"page":1,"page_size":20,"total":1,"transactions":[{"transaction_id":"T202602100000000042","booked_at":"2026-02-10T09:30:00+08:00",` +
			`"direction":"CREDIT","amount":"8500.00","balance_after":"12580.50","currency":"CNY","counterparty_name":"桂*********公司",` +
			`"counterparty_account":"451000******0001","counterparty_bank":"桂林银行","summary":"工资","channel":"代发"}]}`,
		errors: []platform.BusinessError{docErrAccount},
	},
	"POST /v1/transfers": {
		response:       docTransfer,
		requestExample: `{"from_account":"acc_3f1c9a0e5b7d42e8a6c0f19b2d4e6a8c","to_account":"6222020200112233445","amount":"100.00","currency":"CNY","remark":"房租"}`,
		responseExample: `{"transfer_id":"TR2026030200000001","status":"ACCEPTED","from_account":"622202******4567","to_account":"622202*********3445",` +
			`"to_bank":"他行","intra_bank":false,"amount":"100.00","fee":"0.00","currency":"CNY","remark":"房租","transaction_id":"T202603020000000043",` +
			`"created_at":"2026-03-02T10:15:00+08:00"}`,
		errors: []platform.BusinessError{
			{Code: CodeInvalidAmount, Status: http.StatusBadRequest, Description: "amount is not a positive amount of yuan with at most two decimals"},
			docErrAccount,
			{Code: CodeIdempotencyKeyReused, Status: http.StatusConflict, Description: "the Idempotency-Key was used for a different transfer: use a new key for a new transfer"},
			{Code: CodeInsufficientFunds, Status: http.StatusUnprocessableEntity, Description: "the available balance of from_account is below the amount"},
			{Code: CodeLimitExceeded, Status: http.StatusUnprocessableEntity, Description: "the amount exceeds the per-transfer limit (50000.00) or today's remaining limit (200000.00 per customer per day)"},
		},
	},
	"GET /v1/transfers/{transfer_id}": {
		response: docTransfer,
		responseExample: `{"transfer_id":"TR2026030200000001","status":"SUCCEEDED","from_account":"622202******4567","to_account":"622202*********3445",` +
			`"to_bank":"他行","intra_bank":false,"amount":"100.00","fee":"0.00","currency":"CNY","remark":"房租","transaction_id":"T202603020000000043",` +
			`"created_at":"2026-03-02T10:15:00+08:00","completed_at":"2026-03-02T10:15:00+08:00"}`,
		errors: []platform.BusinessError{docErrTransfer},
	},
}

// document fills a sandbox API's documentation fields.
func document(spec *platform.APISpec) {
	d, ok := apiDocs[spec.Method+" "+spec.Path]
	if !ok {
		return
	}
	raw := func(s string) json.RawMessage {
		if s == "" {
			return nil
		}
		return json.RawMessage(s)
	}
	spec.ResponseSchema, spec.RequestExample, spec.ResponseExample = raw(d.response), raw(d.requestExample), raw(d.responseExample)
	spec.BusinessErrors = d.errors
}
