package raftstore

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestGatherMembers: every member's own report, in the configuration's
// order, lag against the answering leader's commit index (else the highest
// reported), unreachable members marked, each within MemberStatusTimeout.
func TestGatherMembers(t *testing.T) {
	local := Status{ID: "n2", Members: []Member{
		{ID: "n1", Suffrage: Voter, Leader: true}, {ID: "n2", Suffrage: Voter},
		{ID: "n3", Suffrage: NonVoter}, {ID: "n4", Suffrage: Voter},
		{ID: "n5", Suffrage: Voter}, {ID: "n6", Suffrage: Voter},
	}}
	admin := map[string]string{"n1": "a1", "n2": "a2", "n3": "a3", "n4": "a4", "n5": "a5"}
	fetch := func(ctx context.Context, id, addr string) (Status, error) {
		switch id {
		case "n1":
			return Status{ID: "n1", State: "Leader", Term: 3, CommitIndex: 100, AppliedIndex: 100}, nil
		case "n2":
			// Applied beyond the leader's commit index as it was sampled.
			return Status{ID: "n2", State: "Follower", Term: 3, CommitIndex: 101, AppliedIndex: 101, LastContact: 20 * time.Millisecond}, nil
		case "n3":
			return Status{ID: "n3", State: "Follower", Term: 3, CommitIndex: 90, AppliedIndex: 80, LastContact: -1}, nil
		case "n4":
			<-ctx.Done() // hangs
			return Status{}, ctx.Err()
		case "n5":
			return Status{ID: "n9"}, nil
		}
		return Status{}, errors.New("no registered admin address")
	}
	start := time.Now()
	got, ref := gatherMembers(context.Background(), local, admin, fetch)
	if d := time.Since(start); d > MemberStatusTimeout+500*time.Millisecond {
		t.Fatalf("took %v", d)
	}
	if ref != 100 || len(got) != 6 {
		t.Fatalf("ref %d, %d members", ref, len(got))
	}
	want := []struct {
		reachable bool
		lag       uint64
		contact   int64
	}{{true, 0, 0}, {true, 0, 20}, {true, 20, -1}, {false, 0, 0}, {false, 0, 0}, {false, 0, 0}}
	for i, w := range want {
		m := got[i]
		if m.ID != local.Members[i].ID || m.AdminAddr != admin[m.ID] || m.Reachable != w.reachable || m.Lag != w.lag || m.LastContactMS != w.contact || m.Reachable == (m.Error != "") {
			t.Errorf("member %d: %+v, want %+v", i, m, w)
		}
	}
	if got[2].AppliedIndex != 80 || got[2].Suffrage != NonVoter || got[0].State != "Leader" {
		t.Errorf("members %+v", got)
	}
	// Without an answering leader, lag is against the highest commit index.
	delete(admin, "n1")
	fetch0 := fetch
	fetch = func(ctx context.Context, id, addr string) (Status, error) {
		if id == "n1" || id == "n4" {
			return Status{}, errors.New("down")
		}
		return fetch0(ctx, id, addr)
	}
	if got, ref := gatherMembers(context.Background(), local, admin, fetch); ref != 101 || got[2].Lag != 21 || got[0].Reachable {
		t.Fatalf("without a leader: ref %d, %+v", ref, got)
	}
}
