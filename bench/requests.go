package bench

import (
	"crypto/ecdsa"
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"lijiang/gateway/client"
	"lijiang/platform/lj1"
	"lijiang/platform/smcrypto"
)

// Scenarios.
const (
	ScenarioA1HMAC = "a1-hmac" // A1 GET signed with HMAC-SM3
	ScenarioA1SM2  = "a1-sm2"  // A1 GET signed with SM2
	ScenarioA2Get  = "a2-get"  // A2 GET with a user token, answer encrypted
	ScenarioA2Post = "a2-post" // A2 POST with an encrypted body and a user token
)

// AllScenarios in the order the report lists them.
var AllScenarios = []string{ScenarioA1HMAC, ScenarioA1SM2, ScenarioA2Get, ScenarioA2Post}

// app is the calling app's credentials, as its profile holds them.
type app struct {
	id                   string
	secret, secretSerial string
	sign                 *sm2.PrivateKey
	signSerial           string
	enc                  *sm2.PrivateKey
	encSerial            string
	redirectURI          string
}

// loadApp reads an app's profile and its keys.
func loadApp(profile string) (*app, error) {
	p, err := client.LoadProfile(profile, client.Profile{})
	if err != nil {
		return nil, err
	}
	a := &app{id: p.AppID, secretSerial: p.SecretSerial, signSerial: p.SignSerial, encSerial: p.EncSerial, redirectURI: p.RedirectURI}
	if a.sign, err = client.ReadPrivateKey(p.SignKeyFile); err != nil {
		return nil, err
	}
	if a.enc, err = client.ReadPrivateKey(p.EncKeyFile); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p.SecretFile)
	if err != nil {
		return nil, err
	}
	a.secret = strings.TrimSpace(string(b))
	return a, nil
}

// encKey is a platform encryption key requests are sealed to.
type encKey struct {
	pub    *ecdsa.PublicKey
	serial string
}

// buildRequests prepares n calls of a scenario, each with its own nonce,
// spread over the servers' base URLs in turn; with enc the A2 POST bodies
// are sealed to that key.
func buildRequests(scenario string, bases []string, a *app, enc encKey, userToken string, n int) ([]request, error) {
	out := make([]request, n)
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	errs := make([]error, workers)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += workers {
				r, err := buildRequest(scenario, bases[i%len(bases)], a, enc, userToken, ts)
				if err != nil {
					errs[w] = err
					return
				}
				out[i] = r
			}
		}(w)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func buildRequest(scenario, base string, a *app, enc encKey, userToken, ts string) (request, error) {
	nonce, err := lj1.NewNonce(rand.Reader)
	if err != nil {
		return request{}, err
	}
	r := request{method: http.MethodGet, header: http.Header{}}
	target := pathA1
	scheme, serial := lj1.SchemeSM2, a.signSerial
	switch scenario {
	case ScenarioA1HMAC:
		scheme, serial = lj1.SchemeHMAC, a.secretSerial
	case ScenarioA1SM2:
	case ScenarioA2Get:
		target = pathA2Balance
	case ScenarioA2Post:
		target, r.method = pathA2Stmt, http.MethodPost
		if r.body, err = lj1.SealEnvelope(rand.Reader, enc.pub, enc.serial, a.id, "application/json", stmtBody); err != nil {
			return request{}, err
		}
		r.header.Set("Content-Type", lj1.EnvelopeContentType)
	default:
		return request{}, fmt.Errorf("unknown scenario %q (%s)", scenario, strings.Join(AllScenarios, ", "))
	}
	if scenario == ScenarioA2Get || scenario == ScenarioA2Post {
		r.header.Set("LJ-User-Token", userToken)
		r.header.Set("LJ-Encrypt-Serial", a.encSerial)
	}
	auth := lj1.Authorization{Scheme: scheme, AppID: a.id, Serial: serial, Timestamp: ts, Nonce: nonce}
	sts := auth.StringToSign(r.method, target, lj1.BodyDigest(r.body))
	if scheme == lj1.SchemeHMAC {
		auth.Signature = lj1.SignHMAC(a.secret, sts)
	} else if auth.Signature, err = lj1.SignSM2(a.sign, sts); err != nil {
		return request{}, err
	}
	r.header.Set("Authorization", auth.String())
	r.url = base + target
	return r, nil
}

// sm2Costs measures, on one goroutine, what an SM2 verify plus an SM2 sign
// of a string to sign costs on this machine: the floor of the A1 SM2 target.
func sm2Costs(a *app) (verify, sign time.Duration, err error) {
	msg := []byte(lj1.RequestStringToSign(lj1.SchemeSM2, "GET", pathA1, a.id, "1764806400", "0123456789abcdef0123456789abcdef", lj1.BodyDigest(nil)))
	sig, err := smcrypto.SignBase64(a.sign, msg)
	if err != nil {
		return 0, 0, err
	}
	const n = 2000
	t0 := time.Now()
	for i := 0; i < n; i++ {
		if _, err := smcrypto.SignBase64(a.sign, msg); err != nil {
			return 0, 0, err
		}
	}
	sign = time.Since(t0) / n
	t0 = time.Now()
	for i := 0; i < n; i++ {
		if !smcrypto.VerifyBase64(&a.sign.PublicKey, msg, sig) {
			return 0, 0, fmt.Errorf("SM2 verify failed")
		}
	}
	return time.Since(t0) / n, sign, nil
}

// scenarioOf names the scenario of prepared calls (for file names).
func scenarioOf(reqs []request) string {
	if len(reqs) == 0 {
		return "none"
	}
	r := reqs[0]
	switch {
	case r.method == http.MethodPost:
		return ScenarioA2Post
	case strings.Contains(r.url, "/accounts/"):
		return ScenarioA2Get
	case strings.HasPrefix(r.header.Get("Authorization"), lj1.SchemeHMAC):
		return ScenarioA1HMAC
	}
	return ScenarioA1SM2
}
