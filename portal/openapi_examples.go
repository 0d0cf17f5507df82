package portal

import (
	"encoding/json"
	"reflect"
	"time"

	"lijiang/platform"
)

// requestExamples are the example request bodies of the OpenAPI documents,
// by the body's type: each request schema carries its type's example
// (schema "examples"), for code generators and try-it consoles. The test
// checks that each is valid against its schema and decodes strictly into
// its type. Values that a body may leave out are left out.
var requestExamples = map[reflect.Type]any{
	reflect.TypeOf(adminLoginRequest{}):         adminLoginRequest{Username: "alice", Password: "correct-horse-42-battery", TOTP: "123456"},
	reflect.TypeOf(createAdminUserRequest{}):    createAdminUserRequest{Username: "li.wei", DisplayName: "李伟", Role: platform.RoleReviewer},
	reflect.TypeOf(updateAdminUserRequest{}):    json.RawMessage(`{"role":"operator","unlock":true}`),
	reflect.TypeOf(signupRequest{}):             signupRequest{Email: "dev@example.com", Name: "张三", Password: "correct-horse-42-battery"},
	reflect.TypeOf(developerLoginRequest{}):     developerLoginRequest{Email: "dev@example.com", Password: "correct-horse-42-battery"},
	reflect.TypeOf(createMetricsTokenRequest{}): createMetricsTokenRequest{Name: "prometheus-sh-01"},

	reflect.TypeOf(platform.ApplicantDetails{}): platform.ApplicantDetails{Name: "示例科技有限公司", USCC: "91330100716105852F",
		ContactName: "张三", ContactEmail: "zhangsan@example.com", ContactPhone: "+86 13800138000",
		CallbackURL: "https://hooks.example.com/lijiang", RedirectURIs: []string{"https://app.example.com/oauth/cb"},
		IPAllow: []string{"203.0.113.0/24", "2001:db8::/32"}},
	reflect.TypeOf(platform.ApplicantChanges{}): platform.ApplicantChanges{ContactPhone: ptr("+86 13900139000"),
		CallbackURL: ptr("https://hooks.example.com/lijiang/v2")},
	reflect.TypeOf(platform.RiskRuleSpec{}): platform.RiskRuleSpec{Name: "转账单笔上限 / transfers over 50000", Kind: platform.RiskAmount,
		Decision: platform.RiskReject, APIs: []string{"api_k7q2m4x3b5n6p2r4s7tw"}, AmountPaths: []string{"$.amount"}, MaxAmount: "50000.00"},
	reflect.TypeOf(riskRulePatch{}): json.RawMessage(`{"max_amount":"20000.00"}`),
	reflect.TypeOf(reasonRequest{}): reasonRequest{Reason: "营业执照副本缺失 / the copy of the business licence is missing"},
	reflect.TypeOf(submitRequestRequest{}): submitRequestRequest{APIIDs: []string{"api_k7q2m4x3b5n6p2r4s7tw", "api_d3f5h7j2k4m6n3p5q7rs"},
		AgreementVersion: "2026.1", Note: "上线计划：2027 年 1 月 / going live in January 2027"},
	reflect.TypeOf(updateRequestRequest{}): updateRequestRequest{Note: ptr("上线推迟到 2 月 / going live in February")},
	reflect.TypeOf(createAgreementRequest{}): createAgreementRequest{Version: "2026.2", Title: "开放银行服务协议 / Open banking service agreement",
		Text: "第一条 …… / Article 1. …"},
	reflect.TypeOf(createSecretRequest{}): createSecretRequest{credentialWindow{NotAfter: ptr(exampleTime.AddDate(0, 6, 0))}},
	reflect.TypeOf(uploadKeyRequest{}): uploadKeyRequest{Kind: platform.CredentialSM2Sign, PublicKey: "-----BEGIN PUBLIC KEY-----\n" +
		"MFkwEwYHKoZIzj0CAQYIKoEcz1UBgi0DQgAE+UpKVXnZnmJJDCj/w6ARXE9pmmt7\n" +
		"aBatKMSid36OUErKAhdAmQxlEriKS7IF620Yy2pWv0NZU6tioxQL5jPVAA==\n-----END PUBLIC KEY-----\n",
		credentialWindow: credentialWindow{Serial: "sig-2026a"}},
	reflect.TypeOf(uploadCertificateRequest{}): uploadCertificateRequest{Certificate: "-----BEGIN CERTIFICATE-----\nMIIB…\n-----END CERTIFICATE-----\n"},

	reflect.TypeOf(apiCreateRequest{}): apiCreateRequest{APISpec: exampleSpec, Upstream: exampleUpstream},
	reflect.TypeOf(apiUpdateRequest{}): apiUpdateRequest{Summary: "余额增加可用余额字段 / the balance now has available_amount",
		APISpec: exampleSpec, Upstream: exampleUpstream},
	reflect.TypeOf(noticePreviewRequest{}): noticePreviewRequest{Kind: "deprecated", Sunset: ptr(exampleTime.AddDate(0, 6, 0)),
		Summary: "请迁移到 v2 / please move to v2"},
	reflect.TypeOf(transitionRequest{}): transitionRequest{Summary: "v1 继续提供 / v1 stays available"},
	reflect.TypeOf(deprecateRequest{}): deprecateRequest{Sunset: exampleTime.AddDate(0, 6, 0),
		Summary: "请迁移到 v2 / please move to v2"},
	reflect.TypeOf(grantRequest{}):     grantRequest{Limits: &platform.LimitsOverride{RatePerSecond: ptr[int64](5), DailyQuota: ptr[int64](500)}},
	reflect.TypeOf(rotateKeyRequest{}): rotateKeyRequest{Use: "sig"},
}

// exampleTime is the examples' "now".
var exampleTime = time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)

// exampleSpec is the example API of the catalogue's create and update.
var exampleSpec = platform.APISpec{
	APIContract: platform.APIContract{Name: "账户余额 / Account balance", Description: "一个账户的余额 / one account's balance",
		APIVersion: "v1", Method: "GET", Path: "/v1/accounts/{account_no}/balance", Level: platform.LevelA2,
		ActsForUser: true, ConsentScope: "accounts:read",
		Params: platform.ParamSchemas{Path: json.RawMessage(`{"type":"object","properties":{"account_no":{"type":"string","format":"account_no"}},"required":["account_no"]}`),
			Query: json.RawMessage(`{"type":"object","properties":{"currency":{"type":"string","format":"currency"}}}`)}},
	Masking:   []platform.MaskRule{{Field: "$.account_no", Kind: platform.MaskAccountNo}},
	Retention: platform.RetentionMasked,
	Limits:    platform.Limits{RatePerSecond: 10, Burst: 20, Concurrency: 5, DailyQuota: 10000},
}

var exampleUpstream = upstreamRequest{Upstream: platform.Upstream{Targets: []string{"https://core.bank.example/open"}, TimeoutMs: 3000}}

func ptr[T any](v T) *T { return &v }
