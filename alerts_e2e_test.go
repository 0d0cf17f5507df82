package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"lijiang/gateway/client"
	"lijiang/platform"
	"lijiang/platform/smcrypto"
)

// badSignatureClient is the demo app's client on node m signing with a key
// that is not the app's: every call fails its signature.
func badSignatureClient(t *testing.T, profile string, m *clusterMember) *client.Client {
	t.Helper()
	cfg := nodeConfig(t, profile, m)
	var err error
	if cfg.SignKey != nil {
		if cfg.SignKey, err = smcrypto.GenerateKey(nil); err != nil {
			t.Fatal(err)
		}
	} else {
		cfg.Secret = []byte("not-the-app-secret")
	}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestAlertsFromTheGateway: on a three-node cluster, the leader's success
// rate rule sees failing calls made on another node only (the cluster's
// series), signature failures on that node raise its own alert, and the
// demo app's credentials raise the expiry rule; each is listed by the
// admin API with its subject.
func TestAlertsFromTheGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three nodes")
	}
	nodes, _ := startDemoCluster(t)
	op := loginAs(t, nodes[0], platform.RoleOperator)
	profile := nodes[0].p.ready.DemoSeed.SandboxProfile
	prof, _ := client.LoadProfile(profile, client.Profile{})
	products := apiID(t, op, "/v1/products")
	var status struct {
		Members []struct {
			ID     string `json:"id"`
			Leader bool   `json:"leader"`
		} `json:"members"`
	}
	json.Unmarshal(loginAs(t, nodes[0], platform.RoleAdmin).must("GET", "/cluster", nil, 200), &status)
	var caller *clusterMember
	for _, n := range nodes {
		for _, m := range status.Members {
			if m.ID == n.id && !m.Leader {
				caller = n
			}
		}
	}
	if caller == nil {
		t.Fatalf("no follower: %+v", status)
	}
	good := demoClients(t, []*clusterMember{nodes[0], caller})[1]
	eventuallyT(t, 10*time.Second, "a call on "+caller.id, func() bool { return callCode(good, "/v1/products") == "" })

	op.must("PUT", "/alert-rules", map[string]any{"rules": []map[string]any{
		{"id": "success-rate", "kind": "success_rate", "enabled": true, "window": "1m", "min_rate": 0.9, "min_calls": 5},
		{"id": "signature-failures", "kind": "signature_failures", "enabled": true, "window": "1m", "count": 5},
		{"id": "expiring", "kind": "expiring", "enabled": true, "days": 365},
	}}, 200)

	// Failing calls, all on the follower: the API paused.
	op.must("POST", "/apis/"+products+"/pause", map[string]any{"reason": "alert test"}, 200)
	eventuallyT(t, 5*time.Second, "paused on "+caller.id, func() bool { return callCode(good, "/v1/products") == "API_PAUSED" })
	for range 6 {
		callCode(good, "/v1/products")
	}
	op.must("POST", "/apis/"+products+"/resume", map[string]any{}, 200)
	eventuallyT(t, 5*time.Second, "resumed on "+caller.id, func() bool { return callCode(good, "/v1/products") == "" })
	bad := badSignatureClient(t, profile, caller)
	for range 6 {
		if code := callCode(bad, "/v1/products"); code != "SIGNATURE_INVALID" {
			t.Fatalf("a bad signature: %s", code)
		}
	}

	want := [][2]string{ // rule, subject prefix
		{"success-rate", products},
		{"signature-failures", caller.id + "/addr:127.0.0.1"},
		{"signature-failures", caller.id + "/app:" + prof.AppID}, // a registered App_ID is named
		{"expiring", "credential/" + prof.AppID + "/"},
	}
	var open []platform.AlertRecord
	deadline := time.Now().Add(30 * time.Second)
	for {
		var list struct {
			Items []platform.AlertRecord `json:"items"`
		}
		json.Unmarshal(op.must("GET", "/alerts", nil, 200), &list)
		open = list.Items
		for _, w := range want {
			rule, subj := w[0], w[1]
			found := false
			for _, a := range open {
				found = found || (a.Rule == rule && strings.HasPrefix(a.Subject, subj))
			}
			if !found && time.Now().After(deadline) {
				t.Fatalf("no %s alert for %s: open %+v\ncaller log:\n%s", rule, subj, open, caller.p.errput())
			}
			if !found {
				goto wait
			}
		}
		break
	wait:
		time.Sleep(200 * time.Millisecond)
	}
}
