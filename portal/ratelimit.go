package portal

import (
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"
)

// ipLimiter bounds unauthenticated, costly requests (log-ins, sign-ups: a
// slow password hash and a replicated write each) per client address, against
// brute force and exhaustion. Its table is bounded: when full it is
// cleared, which at worst grants a burst again.
type ipLimiter struct {
	mu    sync.Mutex
	per   rate.Limit
	burst int
	m     map[string]*rate.Limiter
}

const ipLimiterMax = 100_000

func newIPLimiter(perMinute, burst int) *ipLimiter {
	return &ipLimiter{per: rate.Limit(float64(perMinute) / 60), burst: burst, m: map[string]*rate.Limiter{}}
}

func (l *ipLimiter) allow(ip string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.m[ip]
	if !ok {
		if len(l.m) >= ipLimiterMax {
			l.m = map[string]*rate.Limiter{}
		}
		lim = rate.NewLimiter(l.per, l.burst)
		l.m[ip] = lim
	}
	return lim.AllowN(now, 1)
}

var errTooManyRequests = &Error{Status: http.StatusTooManyRequests, Code: CodeTooManyAttempts, Message: "too many attempts from your address; wait a minute"}

// throttle applies the per-address limit to a route.
func (s *Server) throttle(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !s.logins.allow(clientAddr(c), time.Now()) {
			c.Response().Header().Set("Retry-After", "60")
			return errTooManyRequests
		}
		return next(c)
	}
}
