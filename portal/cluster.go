package portal

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"lijiang/platform"
)

// ClusterControl is what the admin API needs of the cluster:
// raftstore.Cluster implements it (portal does not import raftstore). Membership
// changes are made on the leader wherever the call arrives.
type ClusterControl interface {
	// Status is this node's view of the cluster (members, roles, leader,
	// term, indexes, registered addresses) with, per member, what the
	// member itself reports (state, term, applied index, lag behind the
	// leader's commit index, last contact with the leader, or that it is
	// unreachable).
	Status(ctx context.Context) (platform.ClusterStatus, error)
	// Change removes, promotes or demotes member id (op "remove",
	// "promote", "demote").
	Change(ctx context.Context, op, id string) error
	// Token returns the current join token.
	Token(ctx context.Context) (string, error)
	// RotateToken replaces the join token and returns the new one.
	RotateToken(ctx context.Context, actor platform.Actor) (string, error)
}

type clusterTokenJSON struct {
	Token string `json:"token"`
}

func init() {
	adminMounts = append(adminMounts, func(s *Server, g *echo.Group) {
		if s.cfg.Cluster == nil {
			return
		}
		g.GET("/cluster", s.clusterStatus, s.requireAdmin())
		s.doc("admin", "GET", "/cluster", "The cluster: members, roles, leader, term, registered addresses and, as each member reports it (or that it is unreachable), state, applied index, lag behind the leader's commit index and last contact with the leader", nil, map[string]any{})
		for _, op := range []string{"remove", "promote", "demote"} {
			g.POST("/cluster/nodes/:id/"+op, s.clusterChange(op), s.requireAdmin(platform.RoleAdmin))
			s.doc("admin", "POST", "/cluster/nodes/{id}/"+op, "Cluster membership: "+op+" a node (admin)", nil, map[string]string{})
		}
		g.GET("/cluster/token", s.clusterToken, s.requireAdmin(platform.RoleAdmin))
		s.doc("admin", "GET", "/cluster/token", "The join token new nodes pass with --join-token (admin)", nil, clusterTokenJSON{})
		g.POST("/cluster/token/rotate", s.clusterTokenRotate, s.requireAdmin(platform.RoleAdmin))
		s.doc("admin", "POST", "/cluster/token/rotate", "Replace the join token; the old one stops working (admin)", nil, clusterTokenJSON{})
	})
}

func (s *Server) clusterStatus(c echo.Context) error {
	st, err := s.cfg.Cluster.Status(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

func (s *Server) clusterChange(op string) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := s.cfg.Cluster.Change(c.Request().Context(), op, c.Param("id")); err != nil {
			return err
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "done"})
	}
}

func (s *Server) clusterToken(c echo.Context) error {
	t, err := s.cfg.Cluster.Token(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, clusterTokenJSON{t})
}

func (s *Server) clusterTokenRotate(c echo.Context) error {
	t, err := s.cfg.Cluster.RotateToken(c.Request().Context(), s.actor(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, clusterTokenJSON{t})
}
