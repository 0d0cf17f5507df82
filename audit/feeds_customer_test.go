package audit

import (
	"errors"
	"testing"
	"time"

	"lijiang/platform"
)

// A change a customer made (a consent) is chained with the keyed hash of
// the customer's id as its actor and customer, never the id in clear; when
// the hash cannot be made, the id is left out.
func TestChangeFeedHashesCustomers(t *testing.T) {
	ch := platform.Change{Index: 7, Type: "consent.grant", At: time.UnixMilli(1764806400000), ActorKind: platform.ActorCustomer, ActorID: "cus_secret", OK: true}
	f := NewChangeFeed(ChangeFeedConfig{Node: "n1", Customer: func(id string) (string, error) { return "h(" + id + ")", nil }})
	r := f.record(ch)
	if r.Actor.ID != "h(cus_secret)" || r.Customer != "h(cus_secret)" {
		t.Errorf("hashed: actor %q, customer %q", r.Actor.ID, r.Customer)
	}
	f = NewChangeFeed(ChangeFeedConfig{Node: "n1", Customer: func(string) (string, error) { return "", errors.New("no key") }})
	if r := f.record(ch); r.Actor.ID != "" || r.Customer != "" {
		t.Errorf("unhashed: actor %q, customer %q", r.Actor.ID, r.Customer)
	}
	if r := NewChangeFeed(ChangeFeedConfig{Node: "n1"}).record(ch); r.Actor.ID != "" {
		t.Errorf("without a hash: actor %q", r.Actor.ID)
	}
	ch.ActorKind, ch.ActorID = platform.ActorAdmin, "u_1"
	if r := f.record(ch); r.Actor.ID != "u_1" || r.Customer != "" {
		t.Errorf("admin: %+v", r.Actor)
	}
}
