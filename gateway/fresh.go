package gateway

import (
	"context"
	"time"

	"lijiang/platform"
)

// FreshWait is the node's Config.FreshWait: four of Raft's commit
// timeouts (hashicorp/raft's default, 50 ms, within which an idle leader
// tells its followers what it has committed), and the apply after.
const FreshWait = 200 * time.Millisecond

// fresher waits, at most Config.FreshWait, for a registry newer than reg
// in which known holds, and returns it; nil when none came in time (or the
// gateway does not wait). A call that names state this node has not
// applied yet (a user token issued through another node moments ago) is so
// answered from that state instead of being refused; a name that stays
// unknown is refused after the wait, as before. Only authenticated calls
// get here: an unauthenticated caller cannot make a node wait.
func (g *Gateway) fresher(ctx context.Context, reg *platform.Registry, known func(*platform.Registry) bool) *platform.Registry {
	if g.cfg.FreshWait <= 0 || g.cfg.RegistryChanged == nil {
		return nil
	}
	timer := time.NewTimer(g.cfg.FreshWait)
	defer timer.Stop()
	for {
		changed := g.cfg.RegistryChanged()
		if cur := g.cfg.Registry(); cur != reg {
			if known(cur) {
				return cur
			}
			reg = cur
		}
		select {
		case <-changed:
		case <-timer.C:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}
