package gateway

import (
	"net/http"
	"slices"
	"strings"
)

// APIMux is the API port's handler: a request for one of the port's own
// pages (health, the platform keys, the developer portal, the customers'
// pages), named by controlPaths, goes to control, whose answers Sign signs;
// every other request is an LJ1 call, served by gw. An entry of
// controlPaths that ends in "/" matches every path under it; any other entry
// matches exactly (the patterns of http.ServeMux, without its redirects).
func APIMux(gw *Gateway, control http.Handler, controlPaths ...string) http.Handler {
	paths := slices.Clone(controlPaths)
	signed := gw.Sign(control)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if IsControlPath(r.URL.Path, paths) {
			signed.ServeHTTP(w, r)
			return
		}
		gw.ServeHTTP(w, r)
	})
}

// IsControlPath reports whether the request path p is one of controlPaths,
// as APIMux matches them.
func IsControlPath(p string, controlPaths []string) bool {
	for _, c := range controlPaths {
		if strings.HasSuffix(c, "/") {
			if strings.HasPrefix(p, c) {
				return true
			}
		} else if p == c {
			return true
		}
	}
	return false
}
