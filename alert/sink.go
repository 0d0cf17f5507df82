package alert

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"lijiang/platform"
)

// Notifier is told of every alert this node raised (after it is committed),
// for delivery beyond the replicated list: the webhook.
type Notifier func(ctx context.Context, rec platform.AlertRecord)

// ReplicatedSink raises and resolves alerts through platform commands, so
// that every node lists them and every change is in the change log (and so
// in every node's audit chain).
type ReplicatedSink struct {
	Exec platform.Executor
	Node string
	Now  func() time.Time
	// Notify, if set, is called for each alert newly raised (not for a
	// deduplicated raise).
	Notify Notifier
}

var _ Sink = (*ReplicatedSink)(nil)

func (s *ReplicatedSink) actor() platform.Actor {
	return platform.Actor{Kind: platform.ActorSystem, ID: "alert-engine", Node: s.Node}
}

func (s *ReplicatedSink) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *ReplicatedSink) exec(ctx context.Context, typ string, payload any) (json.RawMessage, error) {
	c, err := platform.NewCommand(typ, 1, "", s.actor(), s.now(), payload)
	if err != nil {
		return nil, err
	}
	res, err := s.Exec.Execute(ctx, c)
	if err != nil {
		return nil, err
	}
	if res.Err != nil {
		return nil, res.Err
	}
	return res.Value, nil
}

// Raise proposes alert.raise.
func (s *ReplicatedSink) Raise(ctx context.Context, a Alert) error {
	id := platform.NewID("alr")
	v, err := s.exec(ctx, platform.CmdAlertRaise, &platform.AlertRaise{ID: id, Rule: a.Rule, Kind: a.Kind,
		Subject: a.Subject, Message: a.Message, Node: s.Node})
	if err != nil {
		return err
	}
	var r platform.AlertRaised
	if err := json.Unmarshal(v, &r); err != nil {
		return err
	}
	if !r.Deduplicated && s.Notify != nil {
		s.Notify(ctx, platform.AlertRecord{ID: r.ID, Rule: a.Rule, Kind: a.Kind, Subject: a.Subject, Message: a.Message,
			State: platform.AlertOpen, RaisedAt: a.At.UTC(), RaisedBy: s.Node})
	}
	return nil
}

// Resolve proposes alert.resolve; an alert already resolved (by another
// node, or acknowledged and resolved) is not an error.
func (s *ReplicatedSink) Resolve(ctx context.Context, rule, subject string, _ time.Time) error {
	_, err := s.exec(ctx, platform.CmdAlertResolve, &platform.AlertResolve{Rule: rule, Subject: subject})
	var ce *platform.CommandError
	if errors.As(err, &ce) && ce.Code == platform.CodeNotFound {
		return nil
	}
	return err
}

// StoreRules reads the replicated rule set for Config.Rules; on a read error
// or before the defaults are committed it evaluates nothing.
func StoreRules(st interface {
	AlertRules() ([]platform.AlertRule, bool, error)
}) func() []Rule {
	return func() []Rule {
		rules, ok, err := st.AlertRules()
		if err != nil || !ok {
			return nil
		}
		return rules
	}
}

// EnsureDefaults proposes the default rules once per cluster (a fixed
// command id and if_empty, so every node may call it at start).
func EnsureDefaults(ctx context.Context, exec platform.Executor, node string, now time.Time) error {
	c, err := platform.NewCommand(platform.CmdAlertRulesSet, 1, platform.AlertRulesInitCommandID,
		platform.Actor{Kind: platform.ActorSystem, ID: "alert-engine", Node: node}, now,
		&platform.AlertRulesSet{Rules: platform.DefaultAlertRules(), IfEmpty: true})
	if err != nil {
		return err
	}
	res, err := exec.Execute(ctx, c)
	if err == nil && res.Err != nil {
		err = res.Err
	}
	return err
}
