package platform

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const testCAPEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

func clusterInit(token string) ClusterInit {
	return ClusterInit{CACertPEM: testCAPEM, CAKeySealed: bytes.Repeat([]byte{1}, 64),
		TokenHash: ClusterTokenHash(token), TokenSealed: bytes.Repeat([]byte{2}, 48)}
}

func TestClusterPayloadValidation(t *testing.T) {
	good := clusterInit("tok")
	tests := []struct {
		name  string
		typ   string
		p     any
		field string
	}{
		{"init ok", CmdClusterInit, good, ""},
		{"init no PEM", CmdClusterInit, ClusterInit{CACertPEM: "x", CAKeySealed: good.CAKeySealed, TokenHash: good.TokenHash, TokenSealed: good.TokenSealed}, "ca_cert_pem"},
		{"init short key", CmdClusterInit, ClusterInit{CACertPEM: testCAPEM, CAKeySealed: []byte{1}, TokenHash: good.TokenHash, TokenSealed: good.TokenSealed}, "ca_key_sealed"},
		{"init hash upper case", CmdClusterInit, ClusterInit{CACertPEM: testCAPEM, CAKeySealed: good.CAKeySealed, TokenHash: strings.ToUpper(good.TokenHash), TokenSealed: good.TokenSealed}, "token_hash"},
		{"rotate no sealed token", CmdClusterTokenRotate, ClusterTokenRotate{TokenHash: good.TokenHash}, "token_sealed"},
		{"register ok", CmdClusterNodeRegister, ClusterNodeRegister{NodeID: "n1", RaftAddr: "[::1]:7000", AdminAddr: "db1.bank.example:9443"}, ""},
		{"register bad id", CmdClusterNodeRegister, ClusterNodeRegister{NodeID: "-n", RaftAddr: "127.0.0.1:7000", AdminAddr: "127.0.0.1:9443"}, "node_id"},
		{"register wildcard raft", CmdClusterNodeRegister, ClusterNodeRegister{NodeID: "n1", RaftAddr: "0.0.0.0:7000", AdminAddr: "127.0.0.1:9443"}, "raft_addr"},
		{"register no port", CmdClusterNodeRegister, ClusterNodeRegister{NodeID: "n1", RaftAddr: "127.0.0.1:7000", AdminAddr: "127.0.0.1"}, "admin_addr"},
		{"register port 0", CmdClusterNodeRegister, ClusterNodeRegister{NodeID: "n1", RaftAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:9443"}, "raft_addr"},
		{"remove bad id", CmdClusterNodeRemove, ClusterNodeRemove{NodeID: ""}, "node_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewCommand(tt.typ, 1, "", Actor{Kind: ActorSystem, ID: "t"}, time.Now(), tt.p)
			var ce *CommandError
			switch {
			case tt.field == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.field != "" && (!errors.As(err, &ce) || ce.Field != tt.field):
				t.Fatalf("err = %v, want a refusal of %s", err, tt.field)
			}
		})
	}
	// Unknown fields are refused too.
	if _, err := DecodeCommand([]byte(`{"v":1,"type":"cluster.node.remove","tv":1,"id":"abcdefgh1","at":1,"actor":{"kind":"system","id":"x"},"payload":{"node_id":"n1","extra":1}}`)); err == nil {
		t.Fatal("unknown payload field accepted")
	}
}

func TestClusterCommands(t *testing.T) {
	s := mustStore(t, filepath.Join(t.TempDir(), "state.db"))
	var idx uint64
	apply := func(typ, id string, p any) Result {
		t.Helper()
		idx++
		return s.Apply([]Entry{{Index: idx, Term: 1, Data: mustEncode(t, mustCommand(t, typ, 1, id, p))}})[0]
	}
	code := func(r Result) string {
		if r.Err == nil {
			return ""
		}
		return r.Err.Code
	}
	if v := s.Registry().Cluster; v == nil || v.Initialized || v.CheckToken("tok") {
		t.Fatalf("fresh store: %+v", v)
	}
	steps := []struct {
		name, typ, id string
		p             any
		wantCode      string
		wantDup       bool
	}{
		{"rotate before init", CmdClusterTokenRotate, "", ClusterTokenRotate{TokenHash: ClusterTokenHash("x"), TokenSealed: bytes.Repeat([]byte{3}, 48)}, CodeNotFound, false},
		{"init", CmdClusterInit, ClusterInitCommandID, clusterInit("tok"), "", false},
		{"init retried", CmdClusterInit, ClusterInitCommandID, clusterInit("other"), "", true},
		{"second init", CmdClusterInit, "", clusterInit("other"), CodeConflict, false},
		{"register n1", CmdClusterNodeRegister, "", ClusterNodeRegister{NodeID: "n1", RaftAddr: "127.0.0.1:7001", AdminAddr: "127.0.0.1:9001"}, "", false},
		{"register n2", CmdClusterNodeRegister, "", ClusterNodeRegister{NodeID: "n2", RaftAddr: "[::1]:7002", AdminAddr: "127.0.0.1:9002"}, "", false},
		{"n3 takes n1's raft address", CmdClusterNodeRegister, "", ClusterNodeRegister{NodeID: "n3", RaftAddr: "127.0.0.1:7001", AdminAddr: "127.0.0.1:9003"}, CodeConflict, false},
		{"n1 moves", CmdClusterNodeRegister, "", ClusterNodeRegister{NodeID: "n1", RaftAddr: "127.0.0.1:7101", AdminAddr: "127.0.0.1:9101"}, "", false},
		{"remove n2", CmdClusterNodeRemove, "", ClusterNodeRemove{NodeID: "n2"}, "", false},
		{"remove n2 again", CmdClusterNodeRemove, "", ClusterNodeRemove{NodeID: "n2"}, CodeNotFound, false},
		{"rotate", CmdClusterTokenRotate, "", ClusterTokenRotate{TokenHash: ClusterTokenHash("tok2"), TokenSealed: bytes.Repeat([]byte{4}, 48)}, "", false},
	}
	for _, st := range steps {
		r := apply(st.typ, st.id, st.p)
		if code(r) != st.wantCode || r.Duplicate != st.wantDup {
			t.Fatalf("%s: result %+v (error %v), want code %q duplicate %v", st.name, r, r.Err, st.wantCode, st.wantDup)
		}
	}
	v := s.Registry().Cluster
	if !v.Initialized || v.CACertPEM != testCAPEM || !bytes.Equal(v.CAKeySealed, bytes.Repeat([]byte{1}, 64)) {
		t.Fatalf("cluster view: %+v", v)
	}
	if v.CheckToken("tok") || !v.CheckToken("tok2") || !bytes.Equal(v.TokenSealed, bytes.Repeat([]byte{4}, 48)) {
		t.Fatal("the rotated token is not the one checked")
	}
	nodes := v.NodeList()
	if len(nodes) != 1 || nodes[0].ID != "n1" || nodes[0].RaftAddr != "127.0.0.1:7101" || nodes[0].AdminAddr != "127.0.0.1:9101" {
		t.Fatalf("nodes: %+v", nodes)
	}
	// The sealed columns are re-sealed by a KEK rotation, with their AAD.
	var aads []string
	if _, err := s.Reseal(func(aad string, blob []byte) ([]byte, error) { aads = append(aads, aad); return blob, nil }); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(aads, " "); !strings.Contains(got, "cluster/ca.key") || !strings.Contains(got, "cluster/join-token") {
		t.Fatalf("resealed %s", got)
	}
	// The view survives a reopen (a registry built from SQL alone).
	s.Close()
	s2 := mustStore(t, s.cfg.Path)
	if n, ok := s2.Registry().Cluster.Node("n1"); !ok || n.RaftAddr != "127.0.0.1:7101" {
		t.Fatalf("after reopen: %+v", s2.Registry().Cluster)
	}
}
