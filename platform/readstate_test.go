package platform

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// mustClusterStore returns an open store holding a cluster (CA, join token,
// two nodes) and a setting, at applied index 4.
func mustClusterStore(t *testing.T, path string) *Store {
	t.Helper()
	s := mustStore(t, path)
	cmds := []struct {
		typ, id string
		p       any
	}{
		{CmdClusterInit, ClusterInitCommandID, clusterInit("tok")},
		{CmdClusterNodeRegister, "", ClusterNodeRegister{NodeID: "n1", RaftAddr: "127.0.0.1:7001", AdminAddr: "127.0.0.1:9001"}},
		{CmdClusterNodeRegister, "", ClusterNodeRegister{NodeID: "n2", RaftAddr: "127.0.0.1:7002", AdminAddr: "127.0.0.1:9002"}},
		{CmdSettingSet, "", SettingSet{Key: "a", Value: "1"}},
	}
	for i, c := range cmds {
		r := s.Apply([]Entry{{Index: uint64(i + 1), Term: 1, Data: mustEncode(t, mustCommand(t, c.typ, 1, c.id, c.p))}})[0]
		if r.Err != nil {
			t.Fatalf("%s: %v", c.typ, r.Err)
		}
	}
	return s
}

// checkClusterRegistry checks that reg is mustClusterStore's state.
func checkClusterRegistry(t *testing.T, reg *Registry) {
	t.Helper()
	if reg.AppliedIndex != 4 || reg.Settings["a"] != "1" {
		t.Fatalf("applied index %d, settings %v", reg.AppliedIndex, reg.Settings)
	}
	c := reg.Cluster
	if !c.Initialized || c.CACertPEM != testCAPEM || !c.CheckToken("tok") || !bytes.Equal(c.TokenSealed, bytes.Repeat([]byte{2}, 48)) {
		t.Fatalf("cluster view %+v", c)
	}
	nodes := c.NodeList()
	if len(nodes) != 2 || nodes[0].ID != "n1" || nodes[1].AdminAddr != "127.0.0.1:9002" {
		t.Fatalf("nodes %+v", nodes)
	}
	if reg.Auth == nil || reg.Applicants == nil || reg.Catalogue == nil || reg.Consent == nil {
		t.Fatalf("a part is not loaded: %+v", reg)
	}
}

func TestReadState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s := mustClusterStore(t, path)

	t.Run("running", func(t *testing.T) {
		reg, err := ReadState(path)
		if err != nil {
			t.Fatal(err)
		}
		checkClusterRegistry(t, reg)
		// The same registry as the store's own, built from the same file.
		s2 := NewStore(StoreConfig{Path: path})
		if err := s2.Open(); err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		if !reflect.DeepEqual(reg, s2.Registry()) {
			t.Fatalf("ReadState's registry differs from the store's:\n%+v\n%+v", reg, s2.Registry())
		}
		// The store still applies while (and after) the file is read.
		if r := s.Apply([]Entry{settingEntry(t, 5, "cmd-read-00005", "a", "2")})[0]; r.Err != nil {
			t.Fatal(r.Err)
		}
		if reg, err = ReadState(path); err != nil || reg.AppliedIndex != 5 || reg.Settings["a"] != "2" {
			t.Fatalf("after a write: %v, %+v", err, reg)
		}
	})

	t.Run("stopped", func(t *testing.T) {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		before := fileHash(t, path)
		reg, err := ReadState(path)
		if err != nil {
			t.Fatal(err)
		}
		if reg.AppliedIndex != 5 || reg.Settings["a"] != "2" || !reg.Cluster.CheckToken("tok") {
			t.Fatalf("registry %+v", reg)
		}
		if fileHash(t, path) != before {
			t.Fatal("ReadState changed the file")
		}
	})
}

// TestReadStateIsOneIndex reads the state while the store applies: each
// registry must be the state at its AppliedIndex, never parts of two.
func TestReadStateIsOneIndex(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s := mustStore(t, path)
	const n = 200
	// Batches of two entries changing two parts: a setting and the
	// cluster's node registry.
	var batches [][]Entry
	for i := uint64(1); i <= n; i++ {
		batches = append(batches, []Entry{
			settingEntry(t, 2*i-1, fmt.Sprintf("cmd-one-%05d", 2*i-1), "at", strconv.FormatUint(2*i-1, 10)),
			{Index: 2 * i, Term: 1, Data: mustEncode(t, mustCommand(t, CmdClusterNodeRegister, 1, fmt.Sprintf("cmd-one-%05d", 2*i),
				ClusterNodeRegister{NodeID: "n1", RaftAddr: "127.0.0.1:7001", AdminAddr: "127.0.0.1:" + strconv.FormatUint(2*i, 10)}))},
		})
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for _, b := range batches {
			for _, r := range s.Apply(b) {
				if r.Err != nil {
					t.Errorf("apply: %v", r.Err)
					return
				}
			}
		}
	}()
	reads := 0
	for done := false; !done && !t.Failed(); reads++ {
		reg, err := ReadState(path)
		if err != nil {
			t.Error(err)
			break
		}
		if reg.AppliedIndex == 0 {
			continue
		}
		node, _ := reg.Cluster.Node("n1")
		if reg.AppliedIndex%2 != 0 || reg.Settings["at"] != strconv.FormatUint(reg.AppliedIndex-1, 10) ||
			node.AdminAddr != "127.0.0.1:"+strconv.FormatUint(reg.AppliedIndex, 10) {
			t.Errorf("registry at index %d has setting %q and node %+v", reg.AppliedIndex, reg.Settings["at"], node)
			break
		}
		done = reg.AppliedIndex == 2*n
	}
	wg.Wait()
	t.Logf("%d reads", reads)
}

func TestReadStateRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	withVersion := func(name string, ver int) string {
		path := filepath.Join(dir, name)
		s := mustStore(t, path)
		s.Close()
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(fmt.Sprintf("PRAGMA user_version = %d", ver)); err != nil {
			t.Fatal(err)
		}
		return path
	}
	newer := withVersion("newer.db", SchemaVersion()+1)
	older := withVersion("older.db", SchemaVersion()-1)
	garbage := filepath.Join(dir, "garbage.db")
	os.WriteFile(garbage, []byte("hello, this is not SQLite\n"), 0o600)
	empty := filepath.Join(dir, "empty.db")
	os.WriteFile(empty, nil, 0o600)

	tests := []struct {
		name string
		path string
		want error
	}{
		{"missing", filepath.Join(dir, "missing.db"), fs.ErrNotExist},
		{"newer schema", newer, ErrSchemaNewer},
		{"older schema", older, ErrSchemaOlder},
		{"not sqlite", garbage, ErrCorrupt},
		{"empty", empty, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, err := ReadState(tt.path)
			if !errors.Is(err, tt.want) || reg != nil {
				t.Fatalf("ReadState = %v, %v; want %v", reg, err, tt.want)
			}
			if !strings.Contains(err.Error(), filepath.Base(tt.path)) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.db")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadState created the missing file: %v", err)
	}
}
