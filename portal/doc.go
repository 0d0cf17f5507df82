// Package portal is Lijiang's control plane over HTTP: the admin API (admin
// port only) for the bank's administrators, reviewers, operators and auditors,
// the developer-portal API (public port) for applicants' developers, and the
// customers' authorise and consent pages (public port). Every change it makes
// is a replicated platform command; it reads from the node's registry
// snapshot and local SQLite.
package portal
