package portal

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"lijiang/platform"
)

// DefaultPlatformKeyOverlap is Config.PlatformKeyOverlap's default.
const DefaultPlatformKeyOverlap = 30 * 24 * time.Hour

// platformKeyCheck is how often the leader looks for platform keys that
// need a successor or have expired.
const platformKeyCheck = time.Minute

// Validity states of a platform key in the admin listing (its status says
// what the platform does with it, its state whether its period allows it).
const (
	keyStatePending  = "pending"  // before not_before: it may not be used yet
	keyStateValid    = "valid"    // within its period
	keyStateExpiring = "expiring" // within the overlap before not_after: its successor is due
	keyStateExpired  = "expired"  // after not_after: it neither signs nor decrypts
)

func init() {
	adminMounts = append(adminMounts, func(s *Server, g *echo.Group) {
		g.GET("/platform-keys", s.listPlatformKeys, s.requireAdmin())
		s.doc("admin", "GET", "/platform-keys", "The platform's SM2 signing and encryption keys (public parts) with their validity: "+
			"days_left until not_after, and state pending, valid, expiring (within the overlap before not_after, when the successor is made) or expired", nil, []platformKeyJSON{})
		g.POST("/platform-keys/rotate", s.rotatePlatformKey, s.requireAdmin(platform.RoleAdmin))
		s.doc("admin", "POST", "/platform-keys/rotate", "Make a new key for a use (sig or enc) and activate it; the previous one keeps verifying and decrypting as retiring (admin)", rotateKeyRequest{}, platformKeyJSON{})
		g.POST("/platform-keys/:serial/retire", s.retirePlatformKey, s.requireAdmin(platform.RoleAdmin))
		s.doc("admin", "POST", "/platform-keys/{serial}/retire", "End a retiring key's overlap (admin)", nil, platformKeyJSON{})
	})
	backgroundWork = append(backgroundWork, (*Server).platformKeyLoop)
}

type platformKeyJSON struct {
	Serial    string    `json:"serial"`
	Use       string    `json:"use"`
	Alg       string    `json:"alg"`
	PublicKey string    `json:"public_key"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	Status    string    `json:"status"`
	// DaysLeft is the number of whole days until NotAfter (0 once expired).
	DaysLeft int `json:"days_left"`
	// State is the key's validity: pending, valid, expiring or expired.
	State string `json:"state"`
}

type rotateKeyRequest struct {
	Use string `json:"use" oa:"required" doc:"sig: the key signing answers; enc: the key A2 requests are encrypted to"`
}

func (s *Server) keyJSON(k platform.PlatformKey) platformKeyJSON {
	now := s.now()
	out := platformKeyJSON{Serial: k.Serial, Use: k.Use, Alg: k.Alg, PublicKey: k.PublicPEM, NotBefore: k.NotBefore, NotAfter: k.NotAfter, Status: k.Status}
	if left := k.NotAfter.Sub(now); left > 0 {
		out.DaysLeft = int(left / (24 * time.Hour))
	}
	switch {
	case now.Before(k.NotBefore):
		out.State = keyStatePending
	case !now.Before(k.NotAfter):
		out.State = keyStateExpired
	case !now.Before(k.NotAfter.Add(-s.cfg.PlatformKeyOverlap)):
		out.State = keyStateExpiring
	default:
		out.State = keyStateValid
	}
	return out
}

func (s *Server) listPlatformKeys(c echo.Context) error {
	out := []platformKeyJSON{}
	for _, k := range s.store.Registry().PlatformKeys {
		out = append(out, s.keyJSON(k))
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) rotatePlatformKey(c echo.Context) error {
	var req rotateKeyRequest
	if err := s.bind(c, &req); err != nil {
		return err
	}
	if req.Use != "sig" && req.Use != "enc" {
		return badRequest("use", `must be "sig" or "enc"`)
	}
	p, err := platform.NewPlatformKey(s.cfg.Sealer, req.Use, s.now())
	if err != nil {
		return err
	}
	if _, err := s.exec(c, platform.CmdPlatformKeyCreate, 1, p); err != nil {
		return err
	}
	k, _ := s.store.Registry().PlatformKey(p.Serial)
	return c.JSON(http.StatusCreated, s.keyJSON(k))
}

func (s *Server) retirePlatformKey(c echo.Context) error {
	serial := c.Param("serial")
	if _, ok := s.store.Registry().PlatformKey(serial); !ok {
		return notFound("platform key")
	}
	if _, err := s.exec(c, platform.CmdPlatformKeyRetire, 1, platform.PlatformKeyRetire{Serial: serial}); err != nil {
		return err
	}
	k, _ := s.store.Registry().PlatformKey(serial)
	return c.JSON(http.StatusOK, s.keyJSON(k))
}

// ---- keys' lifecycle ---------------------------------------------------------

var platformKeyActor = platform.Actor{Kind: platform.ActorSystem, ID: "platform-keys"}

// platformKeyLoop keeps the platform's keys valid until ctx ends; it works
// only while this node leads the cluster, at once and then every
// platformKeyCheck.
func (s *Server) platformKeyLoop(ctx context.Context) {
	t := time.NewTicker(platformKeyCheck)
	defer t.Stop()
	for {
		if s.cfg.IsLeader() {
			s.renewPlatformKeys(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// renewPlatformKeys makes and activates the successor of each active key
// that is within Config.PlatformKeyOverlap of its not_after (or past it), so
// that the successor is published at /.well-known/lijiang/keys and used
// while the old key, now retiring, still verifies and decrypts for clients
// that cached it; and it retires the retiring keys that have expired, which
// are of no use to anyone. The command ids are derived from the old key's
// serial, so that a re-proposal (a new leader, a retry) is applied once.
func (s *Server) renewPlatformKeys(ctx context.Context) {
	if s.cfg.Sealer == nil {
		return
	}
	reg := s.store.Registry()
	now := s.now()
	actor := platformKeyActor
	actor.Node = s.cfg.NodeID
	for _, use := range []string{"sig", "enc"} {
		old, ok := reg.ActivePlatformKey(use)
		if !ok || now.Before(old.NotAfter.Add(-s.cfg.PlatformKeyOverlap)) {
			continue
		}
		p, err := platform.NewPlatformKey(s.cfg.Sealer, use, now)
		if err != nil {
			s.log.Error("platform keys: making a successor", "use", use, "old", old.Serial, "err", err)
			continue
		}
		res, err := s.execAs(ctx, actor, "platform_key.successor:"+old.Serial, platform.CmdPlatformKeyCreate, 1, p)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("platform keys: proposing a successor", "use", use, "old", old.Serial, "err", err)
			}
			continue
		}
		if !res.Duplicate {
			s.log.Info("platform keys: successor made and activated ahead of expiry", "use", use, "old", old.Serial,
				"old_not_after", old.NotAfter, "serial", p.Serial)
		}
	}
	for _, k := range reg.PlatformKeys {
		if k.Status != platform.KeyRetiring || now.Before(k.NotAfter) {
			continue
		}
		_, err := s.execAs(ctx, actor, "platform_key.retire-expired:"+k.Serial, platform.CmdPlatformKeyRetire, 1, platform.PlatformKeyRetire{Serial: k.Serial})
		var ce *platform.CommandError
		if err != nil && ctx.Err() == nil && (!errors.As(err, &ce) || ce.Code != platform.CodeConflict) {
			s.log.Warn("platform keys: retiring an expired key", "serial", k.Serial, "err", err)
		}
	}
}
