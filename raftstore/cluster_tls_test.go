package raftstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func TestTLSClusterAndMembership(t *testing.T) {
	c := newCluster(t, 3, withTLS())
	c.write("cmd-tls-0001", "tls.k", "v")
	for _, cn := range c.nodes {
		eventually(t, time.Second, "replication over TLS to "+cn.id, func() bool { return registryHas(cn, "tls.k", "v") })
		if st, _ := cn.node.Status(); !st.TLS {
			t.Fatalf("%s does not report TLS", cn.id)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	members := func() map[string]Member {
		t.Helper()
		ms, err := c.WaitForLeader().node.Members()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]Member{}
		for _, m := range ms {
			out[m.ID] = m
		}
		return out
	}
	before := members()

	t.Run("node of another CA is refused", func(t *testing.T) {
		otherCert, otherKey := mustCA(t)
		rogue := &cnode{id: "n4", addr: freeAddrOn(t, "127.0.0.1"), dir: t.TempDir()}
		c.nodes = append(c.nodes, rogue)
		c.issue(rogue, otherCert, otherKey)
		c.start(len(c.nodes)-1, true)
		err := c.WaitForLeader().node.AddVoter(ctx, rogue.id, rogue.addr)
		if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("adding a node of another CA: %v", err)
		}
		// Nor can it reach the cluster: it cannot verify a member, and a member
		// refuses its certificate (TestTLSStreamLayerAuthenticatesBothSides
		// shows that side alone).
		conn, err := rogue.node.stream.Dial(raft.ServerAddress(c.nodes[0].node.Addr()), time.Second)
		if err == nil {
			conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			_, err = conn.Read(make([]byte, 1))
			conn.Close()
		}
		if err == nil {
			t.Fatal("a member accepted a connection from a node of another CA")
		}
		t.Logf("refused: %v", err)
		if got := members(); len(got) != len(before) {
			t.Fatalf("membership changed: %v", got)
		}
		c.Kill(len(c.nodes) - 1)
		c.nodes = c.nodes[:len(c.nodes)-1]
	})

	t.Run("duplicate id and taken address are refused", func(t *testing.T) {
		l := c.WaitForLeader()
		f := c.Followers()[0]
		// Another node claims f's id while f is alive at its address.
		err := l.node.AddVoter(ctx, f.id, freeAddrOn(t, "127.0.0.1"))
		if !errors.Is(err, ErrDuplicateID) || !strings.Contains(err.Error(), f.id) || !strings.Contains(err.Error(), f.addr) {
			t.Fatalf("duplicate id: %v", err)
		}
		err = l.node.AddVoter(ctx, l.id, freeAddrOn(t, "127.0.0.1"))
		if !errors.Is(err, ErrDuplicateID) {
			t.Fatalf("the leader's own id: %v", err)
		}
		// A new id at f's address.
		err = l.node.AddVoter(ctx, "n9", f.addr)
		if !errors.Is(err, ErrAddressTaken) || !strings.Contains(err.Error(), f.id) {
			t.Fatalf("taken address: %v", err)
		}
		if err := l.node.AddVoter(ctx, "n9", "0.0.0.0:7000"); !errors.Is(err, ErrBadMember) {
			t.Fatalf("wildcard address: %v", err)
		}
		if err := l.node.AddVoter(ctx, "bad id", "127.0.0.1:7000"); !errors.Is(err, ErrBadMember) {
			t.Fatalf("bad id: %v", err)
		}
		// Same id, same address: nothing to do.
		if err := l.node.AddVoter(ctx, f.id, f.addr); err != nil {
			t.Fatalf("re-adding a member as it is: %v", err)
		}
		if got := members(); fmt.Sprint(got) != fmt.Sprint(before) {
			t.Fatalf("membership changed: %v, was %v", got, before)
		}
	})

	t.Run("a node whose address changed is re-registered", func(t *testing.T) {
		i := indexOf(c, c.Followers()[0])
		cn := c.nodes[i]
		c.Kill(i)
		oldAddr := cn.addr
		cn.addr = freeAddrOn(t, hostOf(oldAddr))
		c.Restart(i)
		c.retry("re-registering "+cn.id, func(l *cnode) error { return l.node.AddVoter(ctx, cn.id, cn.addr) })
		got := members()
		if len(got) != 3 || got[cn.id].Address != cn.node.Addr() || got[cn.id].Suffrage != Voter {
			t.Fatalf("after re-registration: %v", got)
		}
		c.write("cmd-tls-moved", "tls.moved", "yes")
		eventually(t, 5*time.Second, "write to the moved node", func() bool { return registryHas(cn, "tls.moved", "yes") })
	})

	t.Run("demote, promote, remove", func(t *testing.T) {
		f := c.Followers()[0]
		c.retry("demote", func(l *cnode) error { return l.node.Demote(ctx, f.id) })
		if m := members()[f.id]; m.Suffrage != NonVoter {
			t.Fatalf("demoted: %+v", m)
		}
		c.write("cmd-tls-nonvoter", "tls.nv", "yes")
		eventually(t, time.Second, "write to a non-voter", func() bool { return registryHas(f, "tls.nv", "yes") })
		c.retry("promote", func(l *cnode) error { return l.node.Promote(ctx, f.id) })
		if m := members()[f.id]; m.Suffrage != Voter {
			t.Fatalf("promoted: %+v", m)
		}
		if err := c.WaitForLeader().node.Promote(ctx, "nobody"); !errors.Is(err, ErrUnknownNode) {
			t.Fatalf("promote unknown: %v", err)
		}
		c.retry("remove", func(l *cnode) error { return l.node.RemoveServer(ctx, f.id) })
		if got := members(); len(got) != 2 {
			t.Fatalf("after remove: %v", got)
		}
		c.write("cmd-tls-removed", "tls.removed", "yes")
		time.Sleep(300 * time.Millisecond)
		if registryHas(f, "tls.removed", "yes") {
			t.Fatal("a removed node still receives the log")
		}
		if err := c.WaitForLeader().node.RemoveServer(ctx, f.id); !errors.Is(err, ErrUnknownNode) {
			t.Fatalf("removing twice: %v", err)
		}
		// It can be added back (it kept its data).
		c.retry("add back", func(l *cnode) error { return l.node.AddNonVoter(ctx, f.id, f.node.Addr()) })
		eventually(t, 5*time.Second, "re-added node catches up", func() bool { return registryHas(f, "tls.removed", "yes") })
	})
}
