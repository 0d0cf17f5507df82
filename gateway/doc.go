// Package gateway is Lijiang's data plane: the TLS 1.3 (TCP) and HTTP/3 (QUIC)
// listeners and, on top of them, the LJ1 request pipeline that authenticates,
// authorises, limits and proxies applicants' calls to the bank's business systems.
package gateway
