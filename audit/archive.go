package audit

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/emmansun/gmsm/sm3"

	"lijiang/platform/smcrypto"
)

// An archive segment is a gzip'd file of JSON lines that carries its own
// proof (docs/audit.md, "Retention and archive"):
//
//	{"t":"header","format":"lijiang-audit-archive","version":1,"node":…,"first":…,"last":…,
//	 "prev":<hash of record first-1, hex; zeros when first is 1>,"last_hash":<hash of record last, hex>,
//	 "created_ms":…,"records":…}
//	{"t":"key","serial":…,"public_pem":…}                    one per platform key that signed a checkpoint
//	{"t":"checkpoint","seq":…,"head":…,"time_ms":…,"key_serial":…,"signature":<base64>}
//	{"t":"record","seq":…,"canon":<the canonical bytes, as a JSON string>,"hash":<hex>}
//
// Keys come before checkpoints, checkpoints before records; records are
// first to last in order. A segment always ends at one of the node's
// signed checkpoints, so its whole chain is signed.
const (
	ArchiveFormat  = "lijiang-audit-archive"
	ArchiveVersion = 1
)

// Bounds of what a segment reader holds, whatever a segment says.
const (
	maxArchiveLine        = 8 << 20 // a record line: canon ≤ MaxRecordSize, escaped
	maxArchiveKeys        = 64
	maxArchiveCheckpoints = 1 << 20
	maxKeyPEM             = 8 << 10
	maxSignature          = 256
)

// ErrBadArchive: a file is not a well-formed archive segment.
var ErrBadArchive = errors.New("bad audit archive segment")

// SegmentHeader is a segment's first line.
type SegmentHeader struct {
	Format    string `json:"format"`
	Version   int    `json:"version"`
	Node      string `json:"node"`
	First     uint64 `json:"first"`
	Last      uint64 `json:"last"`
	Prev      string `json:"prev"`
	LastHash  string `json:"last_hash"`
	CreatedMs int64  `json:"created_ms"`
	Records   uint64 `json:"records"`
}

// SegmentKey is a platform signing key's public half, as a segment carries it.
type SegmentKey struct {
	Serial    string `json:"serial"`
	PublicPEM string `json:"public_pem"`
}

type headerLine struct {
	T string `json:"t"`
	SegmentHeader
}

type keyLine struct {
	T string `json:"t"`
	SegmentKey
}

type checkpointLine struct {
	T         string `json:"t"`
	Seq       uint64 `json:"seq"`
	Head      string `json:"head"`
	TimeMs    int64  `json:"time_ms"`
	KeySerial string `json:"key_serial"`
	Signature []byte `json:"signature"`
}

type recordLine struct {
	T     string `json:"t"`
	Seq   uint64 `json:"seq"`
	Canon string `json:"canon"`
	Hash  string `json:"hash"`
}

// writeSegment writes a segment to w: header, keys, checkpoints, then the
// records fn yields (it calls emit for each, in order).
func writeSegment(w io.Writer, h SegmentHeader, keys []SegmentKey, cps []Checkpoint, records func(emit func(seq uint64, canon, hash []byte) error) error) error {
	zw := gzip.NewWriter(w)
	bw := bufio.NewWriterSize(zw, 256<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	h.Format, h.Version = ArchiveFormat, ArchiveVersion
	if err := enc.Encode(headerLine{"header", h}); err != nil {
		return err
	}
	for _, k := range keys {
		if err := enc.Encode(keyLine{"key", k}); err != nil {
			return err
		}
	}
	for _, c := range cps {
		if err := enc.Encode(checkpointLine{"checkpoint", c.Seq, c.HeadHex(), c.TimeMs, c.KeySerial, c.Signature}); err != nil {
			return err
		}
	}
	err := records(func(seq uint64, canon, hash []byte) error {
		return enc.Encode(recordLine{"record", seq, string(canon), hex.EncodeToString(hash)})
	})
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return zw.Close()
}

// SegmentReader reads a segment: OpenSegment reads everything before the
// records, Next the records one by one. Its memory is bounded by the
// limits above, not by what the header claims.
type SegmentReader struct {
	Header      SegmentHeader
	Keys        []SegmentKey
	Checkpoints []Checkpoint
	br          *bufio.Reader
	ahead       []byte // a line read before its turn
	line        int
	buf         []byte
}

// OpenSegment reads a segment's header, keys and checkpoints from r (the
// gzip'd file).
func OpenSegment(r io.Reader) (*SegmentReader, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadArchive, err)
	}
	s := &SegmentReader{br: bufio.NewReaderSize(zr, 64<<10)}
	b, err := s.readLine()
	if err != nil {
		return nil, err
	}
	var h headerLine
	if err := decodeStrict(b, &h); err != nil || h.T != "header" {
		return nil, fmt.Errorf("%w: line 1 is not a header", ErrBadArchive)
	}
	s.Header = h.SegmentHeader
	switch {
	case h.Format != ArchiveFormat:
		return nil, fmt.Errorf("%w: format %q", ErrBadArchive, h.Format)
	case h.Version != ArchiveVersion:
		return nil, fmt.Errorf("%w: version %d (this binary reads %d)", ErrBadArchive, h.Version, ArchiveVersion)
	case h.Node == "" || len(h.Node) > maxField:
		return nil, fmt.Errorf("%w: no node", ErrBadArchive)
	case h.First == 0 || h.Last < h.First:
		return nil, fmt.Errorf("%w: records %d to %d", ErrBadArchive, h.First, h.Last)
	}
	if _, err := parseHash(h.Prev); err != nil {
		return nil, err
	}
	if _, err := parseHash(h.LastHash); err != nil {
		return nil, err
	}
	for {
		b, err := s.readLine()
		if err == io.EOF {
			return s, nil
		}
		if err != nil {
			return nil, err
		}
		var t struct {
			T string `json:"t"`
		}
		if json.Unmarshal(b, &t) != nil {
			return nil, fmt.Errorf("%w: line %d is not JSON", ErrBadArchive, s.line)
		}
		switch t.T {
		case "key":
			var k keyLine
			if err := decodeStrict(b, &k); err != nil || k.Serial == "" || len(k.Serial) > maxField || len(k.PublicPEM) > maxKeyPEM {
				return nil, fmt.Errorf("%w: line %d: bad key", ErrBadArchive, s.line)
			}
			if len(s.Checkpoints) > 0 || len(s.Keys) >= maxArchiveKeys {
				return nil, fmt.Errorf("%w: line %d: a key out of place", ErrBadArchive, s.line)
			}
			s.Keys = append(s.Keys, k.SegmentKey)
		case "checkpoint":
			var c checkpointLine
			if err := decodeStrict(b, &c); err != nil || len(c.KeySerial) > maxField || len(c.Signature) > maxSignature {
				return nil, fmt.Errorf("%w: line %d: bad checkpoint", ErrBadArchive, s.line)
			}
			head, err := parseHash(c.Head)
			if err != nil {
				return nil, fmt.Errorf("%w: line %d: bad checkpoint", ErrBadArchive, s.line)
			}
			if len(s.Checkpoints) >= maxArchiveCheckpoints {
				return nil, fmt.Errorf("%w: more than %d checkpoints", ErrBadArchive, maxArchiveCheckpoints)
			}
			s.Checkpoints = append(s.Checkpoints, Checkpoint{Node: h.Node, Seq: c.Seq, Head: head, TimeMs: c.TimeMs, KeySerial: c.KeySerial, Signature: c.Signature})
		case "record":
			s.ahead = b
			return s, nil
		default:
			return nil, fmt.Errorf("%w: line %d: unknown line type", ErrBadArchive, s.line)
		}
	}
}

// Next returns the next record's sequence, canonical bytes and hash as the
// segment states them; io.EOF after the last. The hash is returned as read
// (a wrong length is the verifier's to judge); the slices are valid until
// the next call.
func (s *SegmentReader) Next() (seq uint64, canon, hash []byte, err error) {
	b := s.ahead
	s.ahead = nil
	if b == nil {
		if b, err = s.readLine(); err != nil {
			return 0, nil, nil, err
		}
	}
	var r recordLine
	if err := decodeStrict(b, &r); err != nil || r.T != "record" {
		return 0, nil, nil, fmt.Errorf("%w: line %d is not a record", ErrBadArchive, s.line)
	}
	hash, _ = hex.DecodeString(r.Hash)
	return r.Seq, []byte(r.Canon), hash, nil
}

// readLine returns the next line without its newline, io.EOF at the end;
// a line longer than maxArchiveLine is an error, not an allocation.
func (s *SegmentReader) readLine() ([]byte, error) {
	s.buf = s.buf[:0]
	for {
		chunk, err := s.br.ReadSlice('\n')
		if len(s.buf)+len(chunk) > maxArchiveLine {
			return nil, fmt.Errorf("%w: line %d is longer than %d bytes", ErrBadArchive, s.line+1, maxArchiveLine)
		}
		s.buf = append(s.buf, chunk...)
		switch {
		case err == nil:
			s.line++
			return s.buf[:len(s.buf)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF && len(s.buf) == 0:
			return nil, io.EOF
		case err == io.EOF:
			return nil, fmt.Errorf("%w: line %d has no end", ErrBadArchive, s.line+1)
		default:
			return nil, fmt.Errorf("%w: %w", ErrBadArchive, err)
		}
	}
}

func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

func parseHash(s string) (Hash, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != HashSize {
		return Hash{}, fmt.Errorf("%w: %q is not a hash", ErrBadArchive, s)
	}
	return Hash(b), nil
}

// SegmentVerifyOptions says what a segment's verify trusts besides the
// segment itself.
type SegmentVerifyOptions struct {
	// Node, when set, is the node the segment must be of.
	Node string
	// TrustedKeys, when set, are the platform's signing keys (serial →
	// public PEM) from the replicated state: checkpoints are checked with
	// them only, and a key the segment carries must be the same. Nil: the
	// segment's own keys are used (compare their fingerprints with the
	// bank's published keys).
	TrustedKeys map[string]string
	// Checkpoints are more of the node's checkpoints (the replicated
	// ones); those inside the segment are checked too.
	Checkpoints []Checkpoint
	// Anchors, when known, are the store's anchors (sequence → hash): the
	// segment must agree with those at its last record and before its
	// first.
	Anchors map[uint64]Hash
	// Progress, if set, is called now and then with the records done.
	Progress func(done uint64)
}

// SegmentReport is the outcome of a segment's verify: the chain report,
// and what the segment is and what the verify trusted.
type SegmentReport struct {
	Report
	File     string             `json:"file,omitempty"`
	Prev     string             `json:"prev,omitempty"`
	LastHash string             `json:"last_hash,omitempty"`
	Keys     []SegmentKeyReport `json:"keys,omitempty"`
	// Trusted says where the keys that checked the checkpoints came from:
	// "segment" or "platform".
	Trusted string `json:"trusted"`
}

// SegmentKeyReport names a key a segment carries, with its fingerprint
// (SM3 of the public key's DER, hex) to compare with the published keys.
type SegmentKeyReport struct {
	Serial      string `json:"serial"`
	Fingerprint string `json:"fingerprint"`
}

// VerifySegmentFile verifies the segment at path. An error means the verify
// could not run (the file cannot be opened); damage is in the report.
func VerifySegmentFile(ctx context.Context, path string, opts SegmentVerifyOptions) (*SegmentReport, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("audit archive: %w", err)
	}
	defer f.Close()
	rep, err := VerifySegment(ctx, f, opts)
	if rep != nil {
		rep.File = path
	}
	return rep, err
}

// VerifySegment recomputes a segment's chain from its continuation hash,
// checks every checkpoint's signature and that the chain hits it, and
// names damage as VerifyStore does. A segment that cannot be read is
// damaged (reported), not an error.
func VerifySegment(ctx context.Context, r io.Reader, opts SegmentVerifyOptions) (*SegmentReport, error) {
	out := &SegmentReport{Trusted: "segment"}
	if opts.TrustedKeys != nil {
		out.Trusted = "platform"
	}
	seg, err := OpenSegment(r)
	if err != nil {
		out.Node = opts.Node
		out.add(DamageModified, 0, "the segment cannot be read: %v", err)
		return out, nil
	}
	h := seg.Header
	if opts.Node != "" && h.Node != opts.Node {
		return nil, fmt.Errorf("%w: the segment is node %q's, not %q's", ErrOtherNode, h.Node, opts.Node)
	}
	out.Prev, out.LastHash = h.Prev, h.LastHash
	prev, _ := parseHash(h.Prev)
	lastHash, _ := parseHash(h.LastHash)

	// The keys: the segment's, or the platform's when trusted.
	var keyDamage []Damage
	segKeys := map[string]*ecdsa.PublicKey{}
	for _, k := range seg.Keys {
		pub, err := smcrypto.ParsePublicKey([]byte(k.PublicPEM))
		if err != nil {
			keyDamage = append(keyDamage, Damage{DamageForgedCheckpoint, 0, fmt.Sprintf("the segment's key %q is not a public key", k.Serial)})
			continue
		}
		segKeys[k.Serial] = pub
		out.Keys = append(out.Keys, SegmentKeyReport{Serial: k.Serial, Fingerprint: keyFingerprint(k.PublicPEM)})
		if opts.TrustedKeys != nil {
			if want, ok := opts.TrustedKeys[k.Serial]; !ok || keyFingerprint(want) != keyFingerprint(k.PublicPEM) {
				keyDamage = append(keyDamage, Damage{DamageForgedCheckpoint, 0, fmt.Sprintf("the segment's key %q is not the platform's key of that serial", k.Serial)})
			}
		}
	}
	publicKey := func(serial string) *ecdsa.PublicKey { return segKeys[serial] }
	if opts.TrustedKeys != nil {
		publicKey = func(serial string) *ecdsa.PublicKey {
			p, ok := opts.TrustedKeys[serial]
			if !ok {
				return nil
			}
			pub, err := smcrypto.ParsePublicKey([]byte(p))
			if err != nil {
				return nil
			}
			return pub
		}
	}
	// The checkpoints inside the segment: its own and the trusted ones.
	var cps []Checkpoint
	seen := map[string]bool{}
	for _, c := range append(append([]Checkpoint(nil), seg.Checkpoints...), opts.Checkpoints...) {
		if c.Node != h.Node || c.Seq < h.First || c.Seq > h.Last {
			continue
		}
		id := fmt.Sprintf("%d/%x/%s/%x", c.Seq, c.Head, c.KeySerial, c.Signature)
		if !seen[id] {
			seen[id] = true
			cps = append(cps, c)
		}
	}
	v := newVerifier(VerifyOptions{Node: h.Node, Checkpoints: cps, PublicKey: publicKey, Progress: opts.Progress})
	v.rep.Damage = append(keyDamage, v.rep.Damage...)
	v.begin(h.First, prev)
	want := h.Last - h.First + 1
	var n uint64
	var badSeq uint64
	var broken func() // the damage that ends the reading, once the held row is checked
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		seq, canon, hash, err := seg.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			broken = func() {
				v.rep.add(DamageModified, v.expected, "the segment cannot be read from record %d on: %v", v.expected, err)
			}
			break
		}
		if n++; n > want {
			broken = func() { v.rep.add(DamageInserted, h.Last+1, "the segment holds records after its last (%d)", h.Last) }
			break
		}
		// A record's place is its line's position; the line's seq is a
		// convenience for readers, checked below.
		pos := h.First + n - 1
		if seq != pos && badSeq == 0 {
			badSeq = pos
		}
		if !v.feed(row{seq: pos, canon: bytes.Clone(canon), hash: bytes.Clone(hash)}) {
			break
		}
	}
	if broken != nil {
		if v.held != nil && !v.stopped {
			cur := *v.held
			v.held = nil
			v.check(cur, nil)
		}
		if !v.stopped {
			broken()
			v.stopped = true
		}
	}
	rep := v.finish()
	if !v.stopped && onlyKind(rep.Damage, DamageForgedCheckpoint) {
		last := v.expected - 1
		switch {
		case last < h.Last:
			rep.add(DamageTruncated, last+1, "records %d to %d are missing: the segment says it ends at %d", last+1, h.Last, h.Last)
		case v.prev != lastHash:
			rep.add(DamageModified, h.Last, "the segment's last hash is not its last record's")
		case v.lastGood != h.Last && len(rep.Damage) == 0:
			rep.add(DamageTruncated, max(v.lastGood+1, h.First), "the segment does not end at a signed checkpoint: records %d to %d are not proven", max(v.lastGood+1, h.First), h.Last)
		}
	}
	if badSeq != 0 && len(rep.Damage) == 0 {
		rep.add(DamageModified, badSeq, "the line of record %d gives another sequence", badSeq)
	}
	if opts.Anchors != nil {
		if a, ok := opts.Anchors[h.Last]; ok && a != lastHash {
			rep.add(DamageModified, h.Last, "the store's anchor at %d has another hash than the segment's last", h.Last)
		}
		if a, ok := opts.Anchors[h.First-1]; ok && h.First > 1 && a != prev {
			rep.add(DamageModified, h.First, "the segment does not continue from the store's anchor at %d", h.First-1)
		}
	}
	rep.Intact = len(rep.Damage) == 0
	out.Report = *rep
	return out, nil
}

func onlyKind(ds []Damage, kind string) bool {
	for _, d := range ds {
		if d.Kind != kind {
			return false
		}
	}
	return true
}

// keyFingerprint is SM3 of a PEM public key's DER, hex; of the text when it
// is not PEM.
func keyFingerprint(p string) string {
	b := []byte(p)
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
	}
	sum := sm3.Sum(b)
	return hex.EncodeToString(sum[:])
}

// ReadAnchors returns the anchors of the store at path (sequence → hash),
// read-only.
func ReadAnchors(ctx context.Context, path string) (map[uint64]Hash, error) {
	db, err := openReadOnly(path)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT seq, hash FROM anchors")
	if err != nil {
		return nil, fmt.Errorf("audit store: %w", err)
	}
	defer rows.Close()
	out := map[uint64]Hash{}
	for rows.Next() {
		var seq uint64
		var h []byte
		if err := rows.Scan(&seq, &h); err != nil {
			return nil, fmt.Errorf("audit store: %w", err)
		}
		var hh Hash
		copy(hh[:], h)
		out[seq] = hh
	}
	return out, rows.Err()
}
