package portal

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"lijiang/platform"
)

func init() {
	adminMounts = append(adminMounts, func(s *Server, g *echo.Group) {
		g.GET("/platform-keys", s.listPlatformKeys, s.requireAdmin())
		s.doc("admin", "GET", "/platform-keys", "The platform's SM2 signing and encryption keys (public parts)", nil, []platformKeyJSON{})
		g.POST("/platform-keys/rotate", s.rotatePlatformKey, s.requireAdmin(platform.RoleAdmin))
		s.doc("admin", "POST", "/platform-keys/rotate", "Make a new key for a use (sig or enc) and activate it; the previous one keeps verifying and decrypting as retiring (admin)", rotateKeyRequest{}, platformKeyJSON{})
		g.POST("/platform-keys/:serial/retire", s.retirePlatformKey, s.requireAdmin(platform.RoleAdmin))
		s.doc("admin", "POST", "/platform-keys/{serial}/retire", "End a retiring key's overlap (admin)", nil, platformKeyJSON{})
	})
}

type platformKeyJSON struct {
	Serial    string    `json:"serial"`
	Use       string    `json:"use"`
	Alg       string    `json:"alg"`
	PublicKey string    `json:"public_key"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	Status    string    `json:"status"`
}

type rotateKeyRequest struct {
	Use string `json:"use"`
}

func keyJSON(k platform.PlatformKey) platformKeyJSON {
	return platformKeyJSON{k.Serial, k.Use, k.Alg, k.PublicPEM, k.NotBefore, k.NotAfter, k.Status}
}

func (s *Server) listPlatformKeys(c echo.Context) error {
	out := []platformKeyJSON{}
	for _, k := range s.store.Registry().PlatformKeys {
		out = append(out, keyJSON(k))
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
	return c.JSON(http.StatusCreated, keyJSON(k))
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
	return c.JSON(http.StatusOK, keyJSON(k))
}
