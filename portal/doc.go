// Package portal is Lijiang's control plane over HTTP: the admin API (admin port
// only), the developer-portal API and the customers' authorise and consent pages
// (public port).
package portal
