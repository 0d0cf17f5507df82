package raftstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"lijiang/platform"
)

// ClusterServerName is the TLS server name under which a node's admin port
// presents its cluster certificate (with the CA after it) instead of its
// ordinary admin certificate: node-to-node HTTPS (forwarded writes, joins)
// asks for it and verifies it against the cluster CA. Main issues every node
// certificate for this name besides the node's Raft host.
const ClusterServerName = "cluster.lijiang.internal"

// Paths of the node-to-node HTTP API on the admin port.
const (
	// ApplyPath takes an encoded command from another node (a cluster
	// certificate is required) and answers its platform.Result as JSON.
	ApplyPath = "/cluster/v1/apply"
)

// Forwarded writes are timed from the Raft timeout (the larger of the
// heartbeat and election timeouts): an election takes one to three of them.
const (
	// forwardTimeoutFactor: one forwarded write waits at most this many
	// Raft timeouts for the leader's answer, when no new leader is heard of
	// before (see Forwarder.apply).
	forwardTimeoutFactor = 5
	// forwardRetryFactor: Forwarder.Execute retries a write for at most this
	// many Raft timeouts while the cluster has no leader or the one it knew
	// does not answer.
	forwardRetryFactor = 10
	// forwardRetryPause is the pause between attempts when no change of
	// leader comes first.
	forwardRetryPause = 100 * time.Millisecond
)

// errLeaderMoved is the cause of a forward abandoned because this node heard
// of another leader than the one it forwarded to.
var errLeaderMoved = errors.New("the leader changed")

// AdminServerConfig returns base (the admin port's TLS configuration) made
// cluster-aware: a client asking for ClusterServerName gets this node's
// cluster certificate and the CA, and client certificates, when given, are
// verified against the cluster CA (tls.VerifyClientCertIfGiven), so that the
// cluster's own routes can tell a node from a browser with PeerNodeID.
func (t *TLSConfig) AdminServerConfig(base *tls.Config) *tls.Config {
	cfg := base.Clone()
	cert := t.Server.Certificates[0]
	if ca, err := parseCert(t.CACertPEM); err == nil {
		cert.Certificate = append(append([][]byte(nil), cert.Certificate...), ca.Raw)
	}
	fallback := base.GetCertificate
	cfg.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if strings.EqualFold(hello.ServerName, ClusterServerName) {
			return &cert, nil
		}
		if fallback != nil {
			return fallback(hello)
		}
		return nil, nil // the configured Certificates
	}
	cfg.ClientAuth = tls.VerifyClientCertIfGiven
	cfg.ClientCAs = t.Server.ClientCAs
	return cfg
}

// HTTPClientTLS is the TLS configuration of this node's HTTPS calls to other
// nodes' admin ports: it presents the node's cluster certificate and accepts
// only a cluster node certificate valid for ClusterServerName.
func (t *TLSConfig) HTTPClientTLS() *tls.Config {
	return &tls.Config{
		MinVersion:       tls.VersionTLS13,
		Certificates:     t.Client.Certificates,
		RootCAs:          t.Client.RootCAs,
		ServerName:       ClusterServerName,
		VerifyConnection: t.Client.VerifyConnection,
	}
}

// PinnedClientTLS is the TLS configuration of a joining node's call to a
// member's admin port, before it has the cluster CA: the member must present,
// under ClusterServerName, a node certificate whose chain holds a CA
// certificate with SHA-256 fingerprint caFingerprint (hex, from the join
// token) and which verifies against that CA. Nothing else is trusted.
func PinnedClientTLS(caFingerprint string) *tls.Config {
	want := strings.ToLower(caFingerprint)
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		ServerName: ClusterServerName,
		// The chain is verified below, against the pinned CA alone.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) < 2 {
				return fmt.Errorf("%w: the member did not present the cluster CA", ErrNotNodeCert)
			}
			pool := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				sum := sha256.Sum256(c.Raw)
				if hex.EncodeToString(sum[:]) == want && c.IsCA {
					pool.AddCert(c)
				}
			}
			leaf := cs.PeerCertificates[0]
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: ClusterServerName, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
				return fmt.Errorf("%w: the member's certificate is not of the cluster in the join token: %w", ErrNotNodeCert, err)
			}
			if _, ok := NodeIDFromCert(leaf); !ok {
				return ErrNotNodeCert
			}
			return nil
		},
	}
}

// PeerNodeID returns the node id of the verified cluster certificate a
// request's client presented, and false when it presented none (a browser or
// an operator's tool).
func PeerNodeID(r *http.Request) (string, bool) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return "", false
	}
	return NodeIDFromCert(r.TLS.VerifiedChains[0][0])
}

// ApplyHandler serves ApplyPath on the leader: it takes an encoded command
// from another node (which must present a verified cluster certificate),
// proposes it and answers its platform.Result as JSON with 200, whether the
// state accepted or refused the command. A node that cannot take the write
// answers 503 (not the leader, no leader) or 504 (not committed in time),
// never 200.
func (n *Node) ApplyHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeJSONError(w, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		if _, ok := PeerNodeID(r); !ok {
			writeJSONError(w, http.StatusForbidden, "a cluster node certificate is required")
			return
		}
		data, err := io.ReadAll(io.LimitReader(r.Body, platform.MaxCommandSize+1))
		if err != nil {
			writeJSONError(w, http.StatusBadRequest, "reading the command")
			return
		}
		if _, err := platform.DecodeCommand(data); err != nil {
			writeJSONError(w, http.StatusBadRequest, "command not understood by the leader")
			return
		}
		res, err := n.Apply(r.Context(), data)
		switch {
		case err == nil:
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(res)
		case errors.Is(err, ErrTimeout):
			writeJSONError(w, http.StatusGatewayTimeout, "the write was not committed in time")
		case errors.Is(err, platform.ErrUnavailable):
			w.Header().Set("Retry-After", "1")
			writeJSONError(w, http.StatusServiceUnavailable, "this node is not the leader")
		default:
			n.log.Error("forwarded write failed", "err", err)
			writeJSONError(w, http.StatusInternalServerError, "the leader could not take the write")
		}
	})
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// ForwarderConfig configures a Forwarder.
type ForwarderConfig struct {
	// Node is the local Raft node.
	Node *Node
	// TLS is the node's cluster TLS material: its certificate authenticates
	// forwarded requests and the leader's admin port is verified against
	// the cluster CA.
	TLS *TLSConfig
	// AdminAddr maps a node id to the host:port of its admin port (the
	// replicated node registry).
	AdminAddr func(nodeID string) (string, bool)
	// Timeout bounds one request to another node's admin port other than a
	// forwarded write, which the Raft timeout bounds (default 10 s).
	Timeout time.Duration
}

// Forwarder is the platform.Executor of a cluster node: it proposes on the
// local node and, when another node leads, forwards the encoded command to
// the leader's admin port, then waits until the local node has applied the
// write's index, so that whoever made the change reads it back here. A
// forward follows leadership: it is abandoned as soon as this node hears of
// another leader, and the write is proposed again there. A write retried
// (here, or by a client with the same command id) is applied once: the state
// remembers command ids and answers a repeated one with the first result.
type Forwarder struct {
	cfg    ForwarderConfig
	client *http.Client
	// forwardTimeout bounds one forwarded write; retryFor, the retries of
	// one Execute (forwardTimeoutFactor, forwardRetryFactor).
	forwardTimeout, retryFor time.Duration
}

var _ platform.Executor = (*Forwarder)(nil)

// NewForwarder returns a Forwarder for cfg.
func NewForwarder(cfg ForwarderConfig) *Forwarder {
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	raftTimeout := max(cfg.Node.cfg.HeartbeatTimeout, cfg.Node.cfg.ElectionTimeout)
	f := &Forwarder{cfg: cfg, forwardTimeout: forwardTimeoutFactor * raftTimeout, retryFor: forwardRetryFactor * raftTimeout}
	tr := &http.Transport{TLSClientConfig: cfg.TLS.HTTPClientTLS(), MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute, ForceAttemptHTTP2: true,
		// Every request to a node shares one HTTP/2 connection: one that
		// stopped carrying anything (a frozen or cut-off node) is pinged
		// and closed rather than reused.
		HTTP2: &http.HTTP2Config{SendPingTimeout: f.forwardTimeout, PingTimeout: f.forwardTimeout}}
	f.client = &http.Client{Transport: tr, Timeout: cfg.Timeout}
	return f
}

// Execute proposes c on the leader, wherever it is, and returns its result
// once this node has applied it; a refused command comes back as its
// *platform.CommandError. While there is no leader, or the leader does not
// answer, it retries (at once when another leader is heard of) for up to ten
// Raft timeouts within ctx, and then returns an error wrapping
// platform.ErrUnavailable. It never returns a result for a write that was not
// applied; an error may stand for a write that was (a client retrying it
// with the same command id gets the first result).
func (f *Forwarder) Execute(ctx context.Context, c *platform.Command) (platform.Result, error) {
	data, err := c.Encode()
	if err != nil {
		return platform.Result{}, err
	}
	giveUp := time.Now().Add(f.retryFor)
	for {
		changed := f.cfg.Node.leaderChanged()
		res, err := f.apply(ctx, data)
		if err == nil {
			if res.Err != nil {
				return res, res.Err
			}
			return res, nil
		}
		if !errors.Is(err, ErrNoLeader) && !errors.Is(err, ErrNotLeader) || time.Now().After(giveUp) {
			return res, err
		}
		select {
		case <-ctx.Done():
			return res, err
		case <-changed:
		case <-time.After(forwardRetryPause):
		}
	}
}

// apply makes one attempt: locally, or forwarded to the leader the local
// node knows, until that answers, this node hears of another leader, or the
// forward timeout passes.
func (f *Forwarder) apply(ctx context.Context, data []byte) (platform.Result, error) {
	changed := f.cfg.Node.leaderChanged()
	res, err := f.cfg.Node.Apply(ctx, data)
	var nl *NotLeaderError
	if !errors.As(err, &nl) {
		return res, err
	}
	fctx, cancel := context.WithTimeout(ctx, f.forwardTimeout)
	defer cancel()
	fctx, abandon := context.WithCancelCause(fctx)
	defer abandon(nil)
	go f.abandonOnNewLeader(fctx, changed, nl.LeaderID, abandon)
	status, body, err := f.PostToNode(fctx, nl.LeaderID, ApplyPath, data)
	if err != nil {
		if errors.Is(context.Cause(fctx), errLeaderMoved) {
			// Whatever the old leader did with it, the write is proposed
			// again to the new one: applied once, by its command id.
			return platform.Result{}, fmt.Errorf("%w: forward to %s abandoned: %w", ErrNoLeader, nl.LeaderID, errLeaderMoved)
		}
		return platform.Result{}, err
	}
	switch status {
	case http.StatusOK:
	case http.StatusServiceUnavailable:
		return platform.Result{}, fmt.Errorf("%w: leader %s is not the leader any more", ErrNoLeader, nl.LeaderID)
	case http.StatusGatewayTimeout:
		return platform.Result{}, ErrTimeout
	default:
		return platform.Result{}, fmt.Errorf("forwarding a write to leader %s: status %d", nl.LeaderID, status)
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return platform.Result{}, fmt.Errorf("forwarding a write to leader %s: reading its answer: %w", nl.LeaderID, err)
	}
	wctx, cancelWait := context.WithTimeout(ctx, f.forwardTimeout)
	defer cancelWait()
	if err := f.cfg.Node.WaitForIndex(wctx, res.Index); err != nil {
		return platform.Result{}, fmt.Errorf("%w: the write is committed but this node has not applied it yet: %w", ErrTimeout, err)
	}
	return res, nil
}

// abandonOnNewLeader cancels a forward to leader with errLeaderMoved as soon
// as this node knows another leader (itself included), until ctx ends.
// changed is the node's leaderChanged channel from before the forward's
// leader was read.
func (f *Forwarder) abandonOnNewLeader(ctx context.Context, changed <-chan struct{}, leader string, abandon context.CancelCauseFunc) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
		changed = f.cfg.Node.leaderChanged()
		if _, id := f.cfg.Node.Leader(); id != "" && id != leader {
			abandon(errLeaderMoved)
			return
		}
	}
}

// PostToNode posts body to path on node id's admin port over the cluster's
// mutual TLS and returns the status and the answer (at most 1 MiB). A node
// with no registered admin address, or one that cannot be reached, is an
// error wrapping ErrNoLeader (so platform.ErrUnavailable).
func (f *Forwarder) PostToNode(ctx context.Context, id, path string, body []byte) (int, []byte, error) {
	addr, ok := f.cfg.AdminAddr(id)
	if !ok || addr == "" {
		return 0, nil, fmt.Errorf("%w: node %s has no registered admin address", ErrNoLeader, id)
	}
	return PostCluster(ctx, f.client, addr, path, body)
}

// PostLeader is PostToNode for the node the local node knows as leader.
func (f *Forwarder) PostLeader(ctx context.Context, path string, body []byte) (int, []byte, error) {
	_, id := f.cfg.Node.Leader()
	if id == "" {
		return 0, nil, ErrNoLeader
	}
	return f.PostToNode(ctx, id, path, body)
}

// PostCluster posts a JSON body to https://addr+path with client (whose TLS
// configuration is HTTPClientTLS or PinnedClientTLS) and returns the status
// and the answer (at most 1 MiB). A transport failure wraps ErrNoLeader.
func PostCluster(ctx context.Context, client *http.Client, addr, path string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+addr+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("request to %s: %w", addr, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: calling %s: %w", ErrNoLeader, addr, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("%w: reading the answer of %s: %w", ErrNoLeader, addr, err)
	}
	return resp.StatusCode, b, nil
}
