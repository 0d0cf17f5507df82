package portal

import (
	"context"
	"sync"
	"testing"

	"lijiang/platform"
)

// fakeCluster is a ClusterControl that records what it was asked.
type fakeCluster struct {
	mu      sync.Mutex
	token   string
	changes []string
}

func (f *fakeCluster) Status(context.Context) (platform.ClusterStatus, error) {
	return platform.ClusterStatus{NodeStatus: platform.NodeStatus{LeaderID: "n1"}, LagReference: 42, Members: []platform.MemberStatus{
		{ClusterMember: platform.ClusterMember{ID: "n1", Suffrage: "voter", Leader: true}, Reachable: true, State: "Leader", AppliedIndex: 42},
		{ClusterMember: platform.ClusterMember{ID: "n2", Suffrage: "nonvoter"}, Reachable: true, State: "Follower", AppliedIndex: 40, Lag: 2, LastContactMS: 12},
		{ClusterMember: platform.ClusterMember{ID: "n3", Suffrage: "voter"}, Error: "connection refused"},
	}}, nil
}

func (f *fakeCluster) Change(_ context.Context, op, id string) error {
	if id == "ghost" {
		return platform.NotFound("no such cluster member")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.changes = append(f.changes, op+" "+id)
	return nil
}

func (f *fakeCluster) Token(context.Context) (string, error) { return f.token, nil }

func (f *fakeCluster) RotateToken(_ context.Context, actor platform.Actor) (string, error) {
	if actor.Kind != platform.ActorAdmin {
		return "", platform.Denied("not an admin")
	}
	f.token = "LJT1.rotated"
	return f.token, nil
}

func TestClusterAdminAPI(t *testing.T) {
	fc := &fakeCluster{token: "LJT1.first"}
	env := newTestEnv(t, func(c *Config) { c.Cluster = fc })
	admin := env.admin(platform.RoleAdmin)
	auditor := env.admin(platform.RoleAuditor)
	operator := env.admin(platform.RoleOperator)

	for _, c := range []*client{admin, auditor, operator} {
		st := mustStatus(t, c.do("GET", "/cluster", nil), 200).Map(t)
		if st["leader_id"] != "n1" {
			t.Fatalf("status %v", st)
		}
		members, _ := st["members"].([]any)
		if len(members) != 3 {
			t.Fatalf("members %v", st["members"])
		}
		for _, m := range members {
			m := m.(map[string]any)
			if m["reachable"] == false {
				if m["id"] != "n3" || m["error"] == "" {
					t.Fatalf("unreachable member %v", m)
				}
				continue
			}
			if lag, ok := m["lag"].(float64); !ok || lag < 0 || m["applied_index"] == nil || m["last_contact_ms"] == nil || m["state"] == nil {
				t.Fatalf("member without applied index, lag, last contact or state: %v", m)
			}
		}
	}
	tests := []struct {
		name   string
		c      *client
		method string
		path   string
		want   int
	}{
		{"auditor cannot remove", auditor, "POST", "/cluster/nodes/n2/remove", 403},
		{"operator cannot see the token", operator, "GET", "/cluster/token", 403},
		{"operator cannot rotate", operator, "POST", "/cluster/token/rotate", 403},
		{"admin removes", admin, "POST", "/cluster/nodes/n2/remove", 200},
		{"admin demotes", admin, "POST", "/cluster/nodes/n3/demote", 200},
		{"admin promotes", admin, "POST", "/cluster/nodes/n3/promote", 200},
		{"unknown node", admin, "POST", "/cluster/nodes/ghost/remove", 404},
		{"unknown operation", admin, "POST", "/cluster/nodes/n3/explode", 404},
		{"admin reads the token", admin, "GET", "/cluster/token", 200},
		{"admin rotates", admin, "POST", "/cluster/token/rotate", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { mustStatus(t, tt.c.do(tt.method, tt.path, nil), tt.want) })
	}
	if got := mustStatus(t, admin.do("GET", "/cluster/token", nil), 200).Map(t)["token"]; got != "LJT1.rotated" {
		t.Fatalf("token after rotation %v", got)
	}
	if len(fc.changes) != 3 || fc.changes[0] != "remove n2" {
		t.Fatalf("changes %v", fc.changes)
	}
}
