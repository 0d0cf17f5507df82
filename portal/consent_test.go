package portal

import (
	"errors"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"
)

// testCustomers is a customer directory of one customer, "carol", whose
// password is "pw" and whose one-time code is always 123456.
type testCustomers struct{}

func (testCustomers) AuthenticateCustomer(username, password, otp string, _ time.Time) (string, string, error) {
	if username == "carol" && password == "pw" && otp == "123456" {
		return "cus_carol", "Carol", nil
	}
	return "", "", errors.New("wrong")
}

func (testCustomers) CustomerName(id string) (string, bool) { return "Carol", id == "cus_carol" }

// customer returns a browser on the public port's customer pages, logged in
// as carol on /consents.
func (env *testEnv) customer() *client {
	env.t.Helper()
	c := env.newClient(env.portalSrv.URL, env.portalSrv)
	r, err := c.http.PostForm(c.base+ConsentsPath+"/login", url.Values{"username": {"carol"}, "password": {"pw"}, "otp": {"123456"}})
	if err != nil {
		env.t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 200 || !strings.Contains(string(b), ConsentsPath+"/logout") {
		env.t.Fatalf("customer login: %d %s", r.StatusCode, b)
	}
	return c
}

// loggedIn reports whether the consents page shows the customer's consents
// (rather than the login form).
func (c *client) loggedIn() bool {
	c.env.t.Helper()
	r := c.do("GET", ConsentsPath, nil)
	if r.Status != 200 {
		c.env.t.Fatalf("consents page: %d %s", r.Status, r.Body)
	}
	return strings.Contains(string(r.Body), ConsentsPath+"/logout")
}

// TestCustomerSessionTimeouts: activity within the 5-minute idle window
// keeps a customer's session alive, up to its 30-minute absolute limit
//
func TestCustomerSessionTimeouts(t *testing.T) {
	env := newTestEnv(t, func(c *Config) { c.Customers = testCustomers{} })
	t.Run("activity extends the idle window", func(t *testing.T) {
		c := env.customer()
		for i := 1; i <= 7; i++ { // 28 minutes of use, a request every 4 minutes
			env.clock.Advance(4 * time.Minute)
			if !c.loggedIn() {
				t.Fatalf("session ended after %d minutes of steady use", 4*i)
			}
		}
		env.clock.Advance(3 * time.Minute) // 31 minutes after login
		if c.loggedIn() {
			t.Fatal("a customer session outlived its 30-minute absolute limit")
		}
	})
	t.Run("idle", func(t *testing.T) {
		c := env.customer()
		env.clock.Advance(4*time.Minute + 50*time.Second)
		if !c.loggedIn() {
			t.Fatal("session ended before its idle timeout")
		}
		env.clock.Advance(5*time.Minute + time.Second)
		if c.loggedIn() {
			t.Fatal("session outlived its idle timeout")
		}
	})
	t.Run("many requests within a minute", func(t *testing.T) {
		c := env.customer()
		for i := 0; i < 20; i++ {
			env.clock.Advance(20 * time.Second)
			if !c.loggedIn() {
				t.Fatalf("session ended after %d s of steady use", 20*(i+1))
			}
		}
	})
}
