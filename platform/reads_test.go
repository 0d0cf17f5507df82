package platform

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestListChanges(t *testing.T) {
	s := mustStore(t, filepath.Join(t.TempDir(), "state.db"))
	t0 := time.UnixMilli(1764210000000)
	cli, admin := Actor{Kind: ActorCLI, ID: "test"}, Actor{Kind: ActorAdmin, ID: "adm_1"}
	for i, c := range []struct {
		typ   string
		actor Actor
		p     any
	}{
		{CmdSettingSet, cli, SettingSet{Key: "a", Value: "1"}},
		{CmdSettingSet, admin, SettingSet{Key: "b", Value: "2"}},
		{CmdClusterNodeRemove, cli, ClusterNodeRemove{NodeID: "n9"}},                                                        // refused: not found
		{CmdClusterTokenRotate, admin, ClusterTokenRotate{TokenHash: ClusterTokenHash("x"), TokenSealed: make([]byte, 48)}}, // refused: no cluster
	} {
		cmd, err := NewCommand(c.typ, 1, "", c.actor, t0.Add(time.Duration(i)*time.Second), c.p)
		if err != nil {
			t.Fatal(err)
		}
		s.Apply([]Entry{{Index: uint64(i + 1), Term: 1, Data: mustEncode(t, cmd)}})
	}
	yes, no := true, false
	ms := func(d time.Duration) *int64 { v := t0.Add(d).UnixMilli(); return &v }
	zero := int64(0)
	tests := []struct {
		name      string
		f         ChangeFilter
		want      []int64 // log indexes, in order
		wantTotal int
	}{
		{"all", ChangeFilter{Limit: 50}, []int64{4, 3, 2, 1}, 4},
		{"page", ChangeFilter{Limit: 2, Offset: 1}, []int64{3, 2}, 4},
		{"type", ChangeFilter{Type: CmdSettingSet, Limit: 50}, []int64{2, 1}, 2},
		{"type prefix", ChangeFilter{TypePrefix: "cluster.", Limit: 50}, []int64{4, 3}, 2},
		{"type prefix is literal (_)", ChangeFilter{TypePrefix: "setting_", Limit: 50}, []int64{}, 0},
		{"type prefix is literal (%)", ChangeFilter{TypePrefix: "%", Limit: 50}, []int64{}, 0},
		{"actor kind", ChangeFilter{ActorKind: ActorAdmin, Limit: 50}, []int64{4, 2}, 2},
		{"actor id", ChangeFilter{ActorID: "test", Limit: 50}, []int64{3, 1}, 2},
		{"accepted", ChangeFilter{OK: &yes, Limit: 50}, []int64{2, 1}, 2},
		{"refused", ChangeFilter{OK: &no, Limit: 50}, []int64{4, 3}, 2},
		{"since", ChangeFilter{SinceMs: ms(2 * time.Second), Limit: 50}, []int64{4, 3}, 2},
		{"until", ChangeFilter{UntilMs: ms(2 * time.Second), Limit: 50}, []int64{2, 1}, 2},
		{"until 0", ChangeFilter{UntilMs: &zero, Limit: 50}, []int64{}, 0},
		{"combined", ChangeFilter{ActorKind: ActorCLI, OK: &no, SinceMs: ms(time.Second), Limit: 50}, []int64{3}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, total, err := s.ListChanges(tt.f)
			if err != nil {
				t.Fatal(err)
			}
			got := []int64{}
			for _, c := range items {
				got = append(got, c.Index)
			}
			if !slices.Equal(got, tt.want) || total != tt.wantTotal {
				t.Fatalf("got %v (total %d), want %v (total %d)", got, total, tt.want, tt.wantTotal)
			}
		})
	}
	items, _, _ := s.ListChanges(ChangeFilter{Limit: 1})
	if c := items[0]; c.Type != CmdClusterTokenRotate || c.OK || c.ErrorCode != CodeNotFound || c.ActorID != "adm_1" ||
		!c.At.Equal(t0.Add(3*time.Second)) || c.At.Location() != time.UTC || c.CommandID == "" {
		t.Fatalf("change %+v", c)
	}
}

func TestTypedReadsAfterClose(t *testing.T) {
	s := mustStore(t, filepath.Join(t.TempDir(), "state.db"))
	s.Close()
	reads := map[string]func() error{
		"Applicant":              func() error { _, err := s.Applicant("apl_x"); return err },
		"ListApps":               func() error { _, _, err := s.ListApps(AppFilter{}); return err },
		"Credential":             func() error { _, err := s.Credential("crd_x", time.Now()); return err },
		"CurrentAgreement":       func() error { _, err := s.CurrentAgreement(); return err },
		"NoticesWithoutDelivery": func() error { _, err := s.NoticesWithoutDelivery(1); return err },
		"AdminUserIDs":           func() error { _, err := s.AdminUserIDs("", ""); return err },
		"ListChanges":            func() error { _, _, err := s.ListChanges(ChangeFilter{}); return err },
	}
	for name, read := range reads {
		if err := read(); !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v", name, err)
		}
	}
}
