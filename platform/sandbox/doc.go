// Package sandbox is the sandbox core bank: the business backend of the
// joint-debugging environment (联调环境, R-9.2.3) and of `serve --demo`.
//
// It plays the part of the bank's business systems, the upstream the gateway
// forwards to, so that applicants can run their whole flow (product queries,
// account information, transfers, user authorisation) before production
// access. It holds seeded, realistic and deterministic data: the same Seed
// (and the same day) gives the same customers, accounts, balances and
// transaction history on every start. State lives in memory only; a restart
// goes back to the seeded data.
//
// # Where it runs
//
// The binary runs a Bank in-process and serves it with Start on a loopback
// address (127.0.0.1 or ::1): Start refuses any other address. It is plain
// HTTP and trusts the identity headers the gateway sets, so it must never be
// reachable from anywhere but the gateway on the same host:
//
//	X-LJ-App-Id        the authenticated app (required for transfers: it scopes idempotency keys)
//	X-LJ-Customer-Id   the consenting customer, for user-scoped (A2) APIs
//	X-LJ-Consent-Id    the consent the call is made under (the user token's)
//
// A user-scoped call without a known customer is answered 403
// CONSENT_REQUIRED; another customer's account is answered 404
// ACCOUNT_NOT_FOUND exactly like an account that does not exist.
//
// # Account ids
//
// /v1/accounts answers the numbers in full (the gateway masks them) and,
// under a consent, each account's account_id (AccountID): an opaque id,
// HMAC-SM3 of the consent id and the number, the same for as long as the
// consent lasts and different under another consent. The account paths
// ({account_no} below) take it in place of the number, under that consent
// only; the number keeps working.
//
// # Endpoints (upstream paths)
//
//	GET  /healthz
//	GET  /v1/products?type=deposit|loan|wealth&page=&page_size=      A1
//	GET  /v1/products/{product_id}                                   A1
//	GET  /v1/rates/deposit                                           A1
//	GET  /v1/branches?city=                                          A1
//	GET  /v1/accounts                                                A2, customer
//	GET  /v1/accounts/{account_no}/balance                           A2, customer
//	GET  /v1/accounts/{account_no}/transactions?from=&to=&page=&page_size=   A2, customer
//	POST /v1/transfers            (header Idempotency-Key)           A2, customer
//	GET  /v1/transfers/{transfer_id}                                 A2, customer
//
// Bodies are JSON. Amounts are decimal strings with two decimals ("1234.50"),
// the currency is always "CNY", times are RFC 3339 in +08:00. Personal data
// (account numbers, names, ID numbers, phones) is returned in full: masking
// (脱敏, R-7.2.2c) is the gateway's job, per API.
//
// # Errors
//
// Every error is {"code","message"}; messages never echo account numbers or
// names. Where a refusal means what a gateway refusal means, its code is the
// gateway's (PROTOCOL.md §Errors) with the same status, so one client handles
// both. Statuses: 400 PARAM_INVALID / INVALID_AMOUNT (malformed input,
// unknown JSON fields, unknown query parameters), 403 CONSENT_REQUIRED (no
// known customer) / PERMISSION_DENIED (no calling app), 404 API_NOT_FOUND (no
// such path) / ACCOUNT_NOT_FOUND / PRODUCT_NOT_FOUND /
// TRANSFER_NOT_FOUND, 405 METHOD_NOT_ALLOWED, 409 IDEMPOTENCY_KEY_REUSED,
// 413 BODY_TOO_LARGE (over 64 KiB), 415 UNSUPPORTED_MEDIA_TYPE, 422
// INSUFFICIENT_FUNDS / LIMIT_EXCEEDED (the request is well formed but the
// bank's rules refuse it; 422 keeps these apart from the gateway's 403
// codes), 500 INTERNAL_ERROR. The gateway passes them through unchanged.
//
// # Transfers
//
// A transfer needs an Idempotency-Key header (8-64 visible ASCII characters).
// Keys are scoped to app and customer and kept for 24 hours. The first
// successful request with a key is answered 201; a retry with the same key
// and the same request (compared field by field, amounts by value) gets the
// same body with 200 and `Idempotent-Replayed: true`, and is applied once even
// when retries race; the same key with a different request is 409
// IDEMPOTENCY_KEY_REUSED. A refused transfer (insufficient funds, a limit)
// does not consume its key: a retry is evaluated again. Limits: 50,000.00 per
// transfer and 200,000.00 per customer per calendar day (+08:00). A transfer
// to an account of this bank credits it; any other Luhn-valid account is an
// outward transfer and is only debited. The answer says ACCEPTED (受理); the
// sandbox books at once, so GET /v1/transfers/{transfer_id} (the same
// customer only) shows SUCCEEDED. A transfer is booked on both histories with
// channel 开放银行 and its transfer_id. from_account is the account's number
// or its account_id under the call's consent (a retry may name it either way).
//
// # Customer directory
//
// Bank implements Directory, the customer directory the portal uses for the
// bank-side two-factor login of the authorisation flow (R-7.2.1b, R-9.3.1):
// a PBKDF2-HMAC-SM3 password and a TOTP code, each code usable once, five
// failures lock the customer for 15 minutes. DemoCustomers lists the fixed
// demo customers with their passwords and TOTP seeds for `serve --demo`, and
// AccountNumbers their accounts under the bank's seed. The password hashes
// are computed once per process at platform's normal cost, when Start runs
// or at the first login.
package sandbox
