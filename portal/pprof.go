package portal

import (
	"net/http"
	"net/http/pprof"
	"regexp"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"lijiang/platform"
)

// Profiling: the Go runtime's profiles of this node (CPU, heap, allocations,
// goroutines, blocking, mutexes) and its execution trace on the admin port,
// for the admin role only, each taking recorded in the audit chain first.
// They hold code locations, sizes and timings, never request data; a
// goroutine dump is given in its compact form only (no argument words).
// docs/performance.md says how to use them.

// EventProfileTaken is the system event of a profile taken.
const EventProfileTaken = "profile.taken"

// profiles are the profiles served; "profile" is the CPU profile, "trace"
// the execution trace (`go tool trace`: what ran on which core and what
// waited, where a CPU profile only says what ran).
var profiles = regexp.MustCompile(`^(profile|trace|heap|allocs|goroutine|block|mutex|threadcreate)$`)

// timed are the profiles taken over a time (?seconds=), with their default.
var timed = map[string]int{"profile": 10, "trace": 1}

// maxProfileSeconds bounds a CPU profile and a trace.
const maxProfileSeconds = 60

func init() {
	adminMounts = append(adminMounts, mountProfiling)
	routeQuery["admin GET /debug/pprof/{name}"] = []string{"seconds"}
	routeQueryDocs["admin GET /debug/pprof/{name}"] = map[string]map[string]any{
		"seconds": {"name": "seconds", "in": "query", "description": "how long a CPU profile samples (default 10) or a trace records (default 1); profile and trace only",
			"schema": map[string]any{"type": "integer", "minimum": 1, "maximum": maxProfileSeconds}},
	}
}

func mountProfiling(s *Server, g *echo.Group) {
	g.GET("/debug/pprof/:name", s.profile, s.requireAdmin(platform.RoleAdmin))
	s.doc("admin", "GET", "/debug/pprof/{name}", "A Go runtime profile of this node, for `go tool pprof`: profile (CPU, ?seconds=1-60, default 10), heap, allocs, goroutine, block, mutex or threadcreate; or its execution trace, for `go tool trace` (trace, ?seconds=1-60, default 1); recorded in the audit chain first (admin)", nil, nil)
}

func (s *Server) profile(c echo.Context) error {
	name := c.Param("name")
	if !profiles.MatchString(name) {
		return badRequest("name", "must be profile, trace, heap, allocs, goroutine, block, mutex or threadcreate")
	}
	seconds, isTimed := timed[name]
	if v := c.QueryParam("seconds"); v != "" && isTimed {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxProfileSeconds {
			return badRequest("seconds", "must be from 1 to 60")
		}
		seconds = n
	}
	t, err := s.trail()
	if err != nil {
		return err
	}
	if err := s.recordAccess(c, t, EventProfileTaken, map[string]string{"profile": name}); err != nil {
		return err
	}
	r := c.Request()
	// Only the parameters this route documents reach the runtime's handler:
	// no debug=2 goroutine dump with argument words.
	q := r.URL.Query()
	q.Del("debug")
	q.Del("gc")
	if isTimed {
		q.Set("seconds", strconv.Itoa(seconds))
		http.NewResponseController(c.Response()).SetWriteDeadline(time.Now().Add(time.Duration(seconds+30) * time.Second))
	}
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = q.Encode()
	c.Response().Header().Set("Cache-Control", "no-store")
	switch name {
	case "profile":
		pprof.Profile(c.Response(), r2)
		return nil
	case "trace":
		pprof.Trace(c.Response(), r2)
		return nil
	}
	pprof.Handler(name).ServeHTTP(c.Response(), r2)
	return nil
}
