package raftstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"

	"lijiang/platform"
)

// Paths of the node-to-node API besides ApplyPath, all on the admin port.
const (
	// JoinPath takes a JoinRequest (authenticated by the join token) and
	// answers a JoinResponse: the new node's certificate.
	JoinPath = "/cluster/v1/join"
	// AddPath takes an AddRequest from a node holding a cluster certificate
	// and adds it to the Raft configuration (or re-registers its addresses).
	AddPath = "/cluster/v1/add"
	// MemberPath takes a MemberRequest (remove, promote, demote) from another
	// node, forwarded to the leader.
	MemberPath = "/cluster/v1/member"
	// StatusPath answers this node's Status to a caller with a cluster
	// certificate (`lijiang cluster status` uses the node's own).
	StatusPath = "/cluster/v1/status"
)

// Join tokens look like "LJT1.<ca>.<secret>": <ca> is the SHA-256 of the
// cluster CA certificate (64 hex characters), which the joining node pins
// when it calls a member's admin port, and <secret> is 32 random bytes,
// base64url without padding. The state keeps only the SM3 of the whole token
// (and the token sealed, so that `lijiang cluster token` can show it).
const joinTokenPrefix = "LJT1."

var joinTokenPattern = regexp.MustCompile(`^LJT1\.([0-9a-f]{64})\.([A-Za-z0-9_-]{43})$`)

// ErrBadToken: a join token that is not of the form LJT1.<ca>.<secret>.
var ErrBadToken = errors.New("malformed join token (want LJT1.<64 hex>.<43 base64url>)")

// NewJoinToken returns a fresh join token for the cluster whose CA
// certificate is caCertPEM.
func NewJoinToken(caCertPEM []byte) (string, error) {
	fp, err := CAFingerprint(caCertPEM)
	if err != nil {
		return "", err
	}
	var secret [32]byte
	if _, err := io.ReadFull(rand.Reader, secret[:]); err != nil {
		return "", fmt.Errorf("join token: %w", err)
	}
	return joinTokenPrefix + fp + "." + base64.RawURLEncoding.EncodeToString(secret[:]), nil
}

// ParseJoinToken checks a token's form and returns the CA fingerprint it
// carries.
func ParseJoinToken(token string) (caFingerprint string, err error) {
	m := joinTokenPattern.FindStringSubmatch(token)
	if m == nil {
		return "", ErrBadToken
	}
	return m[1], nil
}

// JoinRequest is what a joining node posts to JoinPath.
type JoinRequest struct {
	NodeID    string `json:"node_id"`
	RaftAddr  string `json:"raft_addr"`
	AdminAddr string `json:"admin_addr,omitempty"`
	// CSR is the node's certificate request (NewNodeKey); its key never
	// leaves the node.
	CSR   string `json:"csr"`
	Token string `json:"token"`
}

// JoinResponse is the answer to a JoinRequest.
type JoinResponse struct {
	CertPEM string `json:"cert_pem"`
	CAPEM   string `json:"ca_pem"`
}

// AddRequest asks the leader to add node NodeID (a voter unless NonVoter) at
// RaftAddr, or to re-register it there, and to record its admin address.
type AddRequest struct {
	NodeID    string `json:"node_id"`
	RaftAddr  string `json:"raft_addr"`
	AdminAddr string `json:"admin_addr,omitempty"`
	NonVoter  bool   `json:"non_voter,omitempty"`
}

// MemberRequest asks the leader to change a member.
type MemberRequest struct {
	Op     string `json:"op"` // "remove", "promote" or "demote"
	NodeID string `json:"node_id"`
}

// apiError is the body of every refusal of the node-to-node API: one line
// for the operator, no secret.
type apiError struct {
	Error string `json:"error"`
}

// ClusterConfig configures a ClusterAPI.
type ClusterConfig struct {
	Node      *Node
	Store     *platform.Store
	Forwarder *Forwarder
	// Sealer opens the CA key from the replicated state (the cluster shares
	// one key-encryption key).
	Sealer Sealer
	// Logger receives the API's log lines; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// ClusterAPI serves the node-to-node API on the admin port: ApplyPath,
// JoinPath, AddPath and MemberPath. A node that is not the leader forwards
// joins, adds and membership changes to the leader.
type ClusterAPI struct {
	cfg ClusterConfig
	mux *http.ServeMux
}

// NewClusterAPI returns the API for cfg.
func NewClusterAPI(cfg ClusterConfig) *ClusterAPI {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &ClusterAPI{cfg: cfg, mux: http.NewServeMux()}
	a.mux.Handle("POST "+ApplyPath, cfg.Node.ApplyHandler())
	a.mux.HandleFunc("POST "+JoinPath, a.join)
	a.mux.HandleFunc("POST "+AddPath, a.add)
	a.mux.HandleFunc("POST "+MemberPath, a.member)
	a.mux.HandleFunc("GET "+StatusPath, a.status)
	return a
}

// ServeHTTP serves the API.
func (a *ClusterAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func refuse(w http.ResponseWriter, status int, format string, args ...any) {
	answer(w, status, apiError{Error: fmt.Sprintf(format, args...)})
}

// readStrict reads a JSON body of at most 64 KiB into v, unknown fields
// refused.
func readStrict(r *http.Request, v any) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data")
	}
	return b, nil
}

// readRequest reads a request body into v (readStrict), answering 400 "bad
// <what> request" when it does not decode.
func readRequest(w http.ResponseWriter, r *http.Request, v any, what string) ([]byte, bool) {
	body, err := readStrict(r, v)
	if err != nil {
		refuse(w, http.StatusBadRequest, "bad %s request", what)
		return nil, false
	}
	return body, true
}

// readOnLeader reads a request body into v (readRequest) and, on a follower,
// relays it to the leader at path; it reports whether this node, the
// leader, must answer the request itself.
func (a *ClusterAPI) readOnLeader(w http.ResponseWriter, r *http.Request, v any, what, path string) bool {
	body, ok := readRequest(w, r, v, what)
	return ok && !a.relay(w, r, path, body)
}

// relay forwards body to the leader and copies its answer; it reports
// whether it did (false: this node is the leader and must answer itself).
func (a *ClusterAPI) relay(w http.ResponseWriter, r *http.Request, path string, body []byte) bool {
	if a.cfg.Node.IsLeader() {
		return false
	}
	status, out, err := a.cfg.Forwarder.PostLeader(r.Context(), path, body)
	if err != nil {
		refuse(w, http.StatusServiceUnavailable, "the cluster has no reachable leader now; try again")
		return true
	}
	w.Header().Set("Content-Type", "application/json")
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(status)
	w.Write(out)
	return true
}

// join signs a joining node's certificate once its token checks out. The
// node is added to the Raft configuration by its AddRequest, made with that
// certificate once its Raft port is listening with it.
func (a *ClusterAPI) join(w http.ResponseWriter, r *http.Request) {
	var req JoinRequest
	if !a.readOnLeader(w, r, &req, "join", JoinPath) {
		return
	}
	cl := a.cfg.Store.Registry().Cluster
	if cl == nil || !cl.Initialized {
		refuse(w, http.StatusServiceUnavailable, "the cluster is not initialised yet; try again")
		return
	}
	if !cl.CheckToken(req.Token) {
		a.cfg.Logger.Warn("join refused: wrong token", "node", req.NodeID, "from", r.RemoteAddr)
		refuse(w, http.StatusForbidden, "join refused: wrong join token")
		return
	}
	if !platform.ValidNodeID(req.NodeID) {
		refuse(w, http.StatusBadRequest, "join refused: bad node id %q", req.NodeID)
		return
	}
	if err := checkAddr(req.RaftAddr); err != nil {
		refuse(w, http.StatusBadRequest, "join refused: %v", err)
		return
	}
	addr := normalizeAddr(req.RaftAddr)
	members, err := a.cfg.Node.Members()
	if err != nil {
		refuse(w, http.StatusServiceUnavailable, "the cluster configuration cannot be read now; try again")
		return
	}
	for _, m := range members {
		switch {
		case m.ID == req.NodeID && !sameAddr(m.Address, addr):
			refuse(w, http.StatusConflict, "join refused: node id %s is already in the cluster at %s (remove it first)", m.ID, m.Address)
			return
		case m.ID != req.NodeID && sameAddr(m.Address, addr):
			refuse(w, http.StatusConflict, "join refused: raft address %s is already node %s's", addr, m.ID)
			return
		}
	}
	for _, n := range cl.NodeList() {
		if n.ID != req.NodeID && sameAddr(n.RaftAddr, addr) {
			refuse(w, http.StatusConflict, "join refused: raft address %s is already registered to node %s", addr, n.ID)
			return
		}
	}
	caKey, err := a.cfg.Sealer.Open(platform.ClusterSecretAADPrefix+platform.ClusterSecretCAKey, cl.CAKeySealed)
	if err != nil {
		a.cfg.Logger.Warn("join: cannot open the cluster CA key", "err", err)
		refuse(w, http.StatusInternalServerError, "the leader cannot open the cluster CA key (key-encryption key differs?)")
		return
	}
	defer clear(caKey)
	host, _, _ := net.SplitHostPort(addr)
	cert, err := SignNodeCSR([]byte(cl.CACertPEM), caKey, []byte(req.CSR), req.NodeID, []string{host, ClusterServerName}, a.cfg.Now())
	if err != nil {
		refuse(w, http.StatusBadRequest, "join refused: %v", err)
		return
	}
	a.cfg.Logger.Info("issued a node certificate for a join", "node", req.NodeID, "raft_addr", addr)
	answer(w, http.StatusOK, JoinResponse{CertPEM: string(cert), CAPEM: cl.CACertPEM})
}

// add adds (or re-registers) a node that presents a cluster certificate, on
// the leader, and records its addresses.
func (a *ClusterAPI) add(w http.ResponseWriter, r *http.Request) {
	peer, ok := PeerNodeID(r)
	if !ok {
		refuse(w, http.StatusForbidden, "a cluster node certificate is required")
		return
	}
	var req AddRequest
	body, ok := readRequest(w, r, &req, "add")
	if !ok {
		return
	}
	if peer != req.NodeID && !a.isMember(peer) {
		refuse(w, http.StatusForbidden, "node %s cannot add node %s", peer, req.NodeID)
		return
	}
	if a.relay(w, r, AddPath, body) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	var err error
	if req.NonVoter {
		err = a.cfg.Node.AddNonVoter(ctx, req.NodeID, req.RaftAddr)
	} else {
		err = a.cfg.Node.AddVoter(ctx, req.NodeID, req.RaftAddr)
	}
	if err != nil {
		status := membershipStatus(err)
		refuse(w, status, "adding node %s: %v", req.NodeID, err)
		return
	}
	if _, _, err := net.SplitHostPort(req.AdminAddr); err == nil && !strings.HasSuffix(req.AdminAddr, ":0") {
		if err := a.register(ctx, req.NodeID, normalizeAddr(req.RaftAddr), req.AdminAddr); err != nil {
			a.cfg.Logger.Warn("node added but its addresses not recorded", "node", req.NodeID, "err", err)
		}
	}
	a.cfg.Logger.Info("node added", "node", req.NodeID, "raft_addr", req.RaftAddr)
	answer(w, http.StatusOK, map[string]string{"status": "added"})
}

// register proposes the node's addresses.
func (a *ClusterAPI) register(ctx context.Context, id, raftAddr, adminAddr string) error {
	cmd, err := platform.NewCommand(platform.CmdClusterNodeRegister, 1, "", platform.Actor{Kind: platform.ActorSystem, ID: "cluster", Node: a.cfg.Node.ID()},
		a.cfg.Now(), platform.ClusterNodeRegister{NodeID: id, RaftAddr: raftAddr, AdminAddr: adminAddr})
	if err != nil {
		return err
	}
	_, err = a.cfg.Forwarder.Execute(ctx, cmd)
	return err
}

func (a *ClusterAPI) isMember(id string) bool {
	ms, err := a.cfg.Node.Members()
	if err != nil {
		return false
	}
	for _, m := range ms {
		if m.ID == id {
			return true
		}
	}
	return false
}

// membershipStatus maps a membership error to an HTTP status.
func membershipStatus(err error) int {
	switch {
	case errors.Is(err, ErrDuplicateID), errors.Is(err, ErrAddressTaken):
		return http.StatusConflict
	case errors.Is(err, ErrBadMember):
		return http.StatusBadRequest
	case errors.Is(err, ErrUnknownNode):
		return http.StatusNotFound
	case errors.Is(err, ErrUnreachable):
		return http.StatusBadGateway
	case errors.Is(err, platform.ErrUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// status answers this node's Status.
func (a *ClusterAPI) status(w http.ResponseWriter, r *http.Request) {
	if _, ok := PeerNodeID(r); !ok {
		refuse(w, http.StatusForbidden, "a cluster node certificate is required")
		return
	}
	st, err := a.cfg.Node.Status()
	if err != nil {
		refuse(w, http.StatusServiceUnavailable, "no status: %v", err)
		return
	}
	answer(w, http.StatusOK, st)
}

// GetStatus asks the node at addr (its admin host:port) for its Status, with
// a cluster certificate.
func GetStatus(ctx context.Context, tc *TLSConfig, addr string) (Status, error) {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tc.HTTPClientTLS()}}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+StatusPath, nil)
	if err != nil {
		return Status{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return Status{}, fmt.Errorf("calling %s: %w", addr, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err := remoteError(resp.StatusCode, b); err != nil {
		return Status{}, err
	}
	var st Status
	if err := json.Unmarshal(b, &st); err != nil {
		return Status{}, fmt.Errorf("status of %s: %w", addr, err)
	}
	return st, nil
}

// member changes a member on the leader, for another node.
func (a *ClusterAPI) member(w http.ResponseWriter, r *http.Request) {
	if _, ok := PeerNodeID(r); !ok {
		refuse(w, http.StatusForbidden, "a cluster node certificate is required")
		return
	}
	var req MemberRequest
	if !a.readOnLeader(w, r, &req, "member", MemberPath) {
		return
	}
	if err := a.changeMember(r.Context(), req); err != nil {
		refuse(w, membershipStatus(err), "%v", err)
		return
	}
	answer(w, http.StatusOK, map[string]string{"status": "done"})
}

func (a *ClusterAPI) changeMember(ctx context.Context, req MemberRequest) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	switch req.Op {
	case "remove":
		if err := a.cfg.Node.RemoveServer(ctx, req.NodeID); err != nil {
			return err
		}
		cmd, err := platform.NewCommand(platform.CmdClusterNodeRemove, 1, "", platform.Actor{Kind: platform.ActorSystem, ID: "cluster", Node: a.cfg.Node.ID()},
			a.cfg.Now(), platform.ClusterNodeRemove{NodeID: req.NodeID})
		if err != nil {
			return err
		}
		var ce *platform.CommandError
		if _, err := a.cfg.Forwarder.Execute(ctx, cmd); err != nil && !(errors.As(err, &ce) && ce.Code == platform.CodeNotFound) {
			return err
		}
		return nil
	case "promote":
		return a.cfg.Node.Promote(ctx, req.NodeID)
	case "demote":
		return a.cfg.Node.Demote(ctx, req.NodeID)
	}
	return fmt.Errorf("%w: unknown operation %q", ErrBadMember, req.Op)
}

// ChangeMember removes, promotes or demotes node id ("remove", "promote",
// "demote"), on the leader: here, or forwarded to it.
func (a *ClusterAPI) ChangeMember(ctx context.Context, op, id string) error {
	req := MemberRequest{Op: op, NodeID: id}
	err := a.changeMember(ctx, req)
	var nl *NotLeaderError
	if !errors.As(err, &nl) {
		return err
	}
	body, _ := json.Marshal(req)
	status, out, err := a.cfg.Forwarder.PostToNode(ctx, nl.LeaderID, MemberPath, body)
	if err != nil {
		return err
	}
	return remoteError(status, out)
}

// remoteError turns a non-200 answer of the node-to-node API into an error
// carrying its one-line message, mapped back onto the package's errors.
func remoteError(status int, body []byte) error {
	if status == http.StatusOK {
		return nil
	}
	var e apiError
	json.Unmarshal(body, &e)
	if e.Error == "" {
		e.Error = http.StatusText(status)
	}
	var base error
	switch status {
	case http.StatusConflict:
		base = ErrDuplicateID
		if strings.Contains(e.Error, "address") {
			base = ErrAddressTaken
		}
	case http.StatusNotFound:
		base = ErrUnknownNode
	case http.StatusBadRequest:
		base = ErrBadMember
	case http.StatusForbidden:
		base = ErrJoinRefused
	case http.StatusServiceUnavailable:
		base = ErrNoLeader
	case http.StatusBadGateway:
		base = ErrUnreachable
	default:
		return fmt.Errorf("status %d: %s", status, e.Error)
	}
	return &RemoteError{Msg: e.Error, Err: base}
}

// ErrJoinRefused: the cluster refused a join (wrong token, or a caller
// without a cluster certificate).
var ErrJoinRefused = errors.New("join refused")

// RemoteError is a refusal answered by another node: its one-line message,
// and the package error it maps to.
type RemoteError struct {
	Msg string
	Err error
}

func (e *RemoteError) Error() string { return e.Msg }

// Unwrap returns the package error the refusal maps to.
func (e *RemoteError) Unwrap() error { return e.Err }

// RequestJoin asks the member at joinAddr (its admin host:port) for a
// certificate: it pins the cluster CA named in req.Token, and returns the
// CA certificate and the node's certificate.
func RequestJoin(ctx context.Context, joinAddr string, req JoinRequest) (JoinResponse, error) {
	fp, err := ParseJoinToken(req.Token)
	if err != nil {
		return JoinResponse{}, err
	}
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: PinnedClientTLS(fp)}}
	defer client.CloseIdleConnections()
	body, _ := json.Marshal(req)
	status, out, err := PostCluster(ctx, client, joinAddr, JoinPath, body)
	if err != nil {
		return JoinResponse{}, fmt.Errorf("joining through %s: %w", joinAddr, err)
	}
	if err := remoteError(status, out); err != nil {
		return JoinResponse{}, err
	}
	var resp JoinResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		return JoinResponse{}, fmt.Errorf("joining through %s: bad answer: %w", joinAddr, err)
	}
	return resp, nil
}

// RequestAdd asks the cluster, through the first of addrs (admin host:port of
// members) that answers, to add this node (or re-register it at new
// addresses), with the node's cluster certificate. It retries while the
// cluster has no leader, until ctx ends.
func RequestAdd(ctx context.Context, tc *TLSConfig, addrs []string, req AddRequest) error {
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: tc.HTTPClientTLS()}}
	defer client.CloseIdleConnections()
	body, _ := json.Marshal(req)
	var last error
	for {
		for _, addr := range addrs {
			status, out, err := PostCluster(ctx, client, addr, AddPath, body)
			if err == nil {
				err = remoteError(status, out)
			}
			if err == nil {
				return nil
			}
			if !errors.Is(err, platform.ErrUnavailable) && !errors.Is(err, ErrUnreachable) {
				return err
			}
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("asking the cluster to add this node: %w", last)
		case <-time.After(300 * time.Millisecond):
		}
	}
}
