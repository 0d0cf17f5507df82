package gateway

import (
	"context"
	"net/http"
	"testing"
	"time"

	"lijiang/gateway/client"
	"lijiang/platform"
	"lijiang/platform/lj1"
)

// TestE2EEncKeyRotation: adding an encryption key does not move the answers
// to it before the client has shown it holds it. Without LJ-Encrypt-Serial
// the older key is used until the new one's not_before (by default
// platform.EncKeyGrace after its upload); a client naming the new key gets
// it at once; a named serial that is not a valid encryption key of the app
// is refused before the call is executed.
func TestE2EEncKeyRotation(t *testing.T) {
	env := e2e(t)
	ctx := context.Background()
	app := env.newProdApp(t, env.apis["GET /v1/test/a2"], env.apis["POST /v1/test/echo2"])
	newKey, newSerial, newCred, err := env.addSM2(app.ID, platform.CredentialSM2Enc, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	withNew := *app
	withNew.Enc, withNew.EncSerial = newKey, newSerial
	named := func(serial string) http.Header { return http.Header{client.HeaderEncryptSerial: {serial}} }

	t.Run("new key uploaded: answers stay on the old key", func(t *testing.T) {
		r := env.call(t, e2eCall{app: app, target: "/v1/test/a2"}) // checks the envelope's serial
		if r.status != http.StatusOK || !r.encrypted {
			t.Fatalf("%d %s", r.status, r.raw)
		}
		for _, c := range env.store.Registry().Applicants.Credentials(app.ID) {
			if c.ID == newCred && !c.NotBefore.After(time.Now().Add(platform.EncKeyGrace-time.Hour)) {
				t.Errorf("the new key's not_before %v is not a grace period away", c.NotBefore)
			}
		}
	})
	t.Run("the client names the new key", func(t *testing.T) {
		r := env.call(t, e2eCall{app: &withNew, target: "/v1/test/a2", header: named(newSerial)})
		if r.status != http.StatusOK || !r.encrypted {
			t.Fatalf("%d %s", r.status, r.raw)
		}
		r = env.call(t, e2eCall{app: app, target: "/v1/test/a2", header: named(app.EncSerial)})
		if r.status != http.StatusOK || !r.encrypted {
			t.Fatalf("naming the old key: %d %s", r.status, r.raw)
		}
	})
	t.Run("the SDK names its key", func(t *testing.T) {
		c := env.client(t, app, false, func(c *client.Config) { c.EncKey, c.EncSerial = newKey, newSerial })
		resp, err := c.PostJSON(ctx, "/v1/test/echo2", map[string]string{"amount": "1.00", "currency": "CNY"}, true)
		if err != nil || !resp.Encrypted {
			t.Fatalf("%v", err)
		}
	})
	t.Run("a bogus serial is refused unexecuted", func(t *testing.T) {
		for _, tt := range []struct{ serial, code string }{
			{"no-such-key", lj1.CodeParamInvalid},
			{app.SignSerial, lj1.CodeParamInvalid}, // a signing key
		} {
			before := env.upstreamCalls()
			r := env.call(t, e2eCall{app: app, method: http.MethodPost, target: "/v1/test/echo2", encrypt: true,
				body: []byte(`{"amount":"1.00","currency":"CNY"}`), header: named(tt.serial)})
			env.wantCode(t, r, tt.code)
			if n := env.upstreamCalls() - before; n != 0 {
				t.Errorf("%s: the upstream was called %d times", tt.serial, n)
			}
		}
	})
	t.Run("after the grace period the new key is used unasked", func(t *testing.T) {
		env.clock.shift(t, platform.EncKeyGrace+time.Minute)
		r := env.call(t, e2eCall{app: &withNew, target: "/v1/test/a2"})
		if r.status != http.StatusOK || !r.encrypted {
			t.Fatalf("%d %s", r.status, r.raw)
		}
	})
}
