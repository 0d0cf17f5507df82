package gateway

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"lijiang/platform"
	"lijiang/platform/lj1"
)

// KeysPath publishes the platform's public keys (PROTOCOL §Response signature).
const KeysPath = lj1.KeysPath

// Ready reports whether the gateway can sign its answers: a node whose
// platform signing key cannot be opened, or has expired, must not serve
// (PROTOCOL: every answer is signed), so /readyz takes it out of rotation.
func (g *Gateway) Ready() error {
	_, _, err := g.pkeys.Signer(g.cfg.Registry(), g.cfg.Now())
	return err
}

// KeysHandler serves the platform's public keys without authentication: the
// active and retiring signing and encryption keys.
func (g *Gateway) KeysHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := lj1.KeysDoc{Keys: []lj1.PublishedKey{}}
		for _, k := range g.cfg.Registry().PlatformKeys {
			if k.Status == platform.KeyRetired {
				continue
			}
			out.Keys = append(out.Keys, lj1.PublishedKey{Serial: k.Serial, Use: k.Use, Alg: k.Alg, PublicKey: k.PublicPEM,
				NotBefore: k.NotBefore.Format(time.RFC3339), NotAfter: k.NotAfter.Format(time.RFC3339), Status: k.Status})
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		json.NewEncoder(w).Encode(out)
	})
}

// Sign wraps the API port's other handlers (health, keys, the developer
// portal, the authorise pages) so that every answer on the port carries the
// platform's signature, as PROTOCOL requires. The answer is buffered to be
// signed; these handlers' answers are small.
func (g *Gateway) Sign(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := g.cfg.Now()
		c := &call{start: now, requestID: g.ids.Next(now)}
		if a, err := lj1.ParseAuthorization(r.Header.Get("Authorization")); err == nil {
			c.reqNonce = a.Nonce
		}
		key, serial, err := g.pkeys.Signer(g.cfg.Registry(), now)
		if err != nil {
			g.log.Error("no platform signing key", "err", err)
		}
		bw := &bufferedWriter{header: http.Header{}, status: http.StatusOK}
		// The page's error bodies name the request (EchoErrorHandler).
		bw.header.Set("LJ-Request-Id", c.requestID)
		next.ServeHTTP(bw, r)
		h := w.Header()
		for k, v := range bw.header {
			h[k] = v
		}
		body := bw.body.Bytes()
		if r.Method == http.MethodHead {
			body = nil
		}
		g.respond(w, c, key, serial, response{status: bw.status, body: body})
	})
}

// bufferedWriter collects an answer to sign it.
type bufferedWriter struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }

func (b *bufferedWriter) WriteHeader(status int) {
	if !b.wrote {
		b.status, b.wrote = status, true
	}
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	b.wrote = true
	return b.body.Write(p)
}
