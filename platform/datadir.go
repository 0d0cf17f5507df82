package platform

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"lijiang/platform/fsutil"
	"lijiang/platform/tlscert"
)

// The data directory's layout: every file a node keeps, relative to its data
// directory. The packages that write them take these names from here, so
// that the list of sealed files below cannot drift from what is on disk.
const (
	StateFile      = "state.db"     // the replicated state (SQLite, WAL)
	RaftDir        = "raft"         // the Raft log, stable store and snapshots
	TLSDir         = "tls"          // the self-signed server certificate
	LockFile       = "lijiang.lock" // held while a process uses the directory
	NodeIDFile     = "node-id"      // the node's stable id
	DevKEKFile     = "dev-kek.hex"  // demo mode only: the development KEK
	AuditFile      = "audit.db"     // this node's audit chain
	DemoDir        = "demo"         // demo mode only: logins, keys, profiles
	ReadyFile      = "ready.json"   // written once the node serves: its addresses
	ClusterTLSDir  = "tls"          // under RaftDir: the node's cluster TLS material
	ClusterKeyFile = "node.key.sealed"
	// ClusterInitFile holds, sealed, the CA key a first node made until
	// cluster.init has recorded it in the replicated state.
	ClusterInitFile = "cluster-init.key.sealed"
)

// Additional data of the secrets sealed in files (the state's own sealed
// columns are listed in SealedColumns).
const (
	ClusterNodeKeyAAD = "raft/node.key"
)

// Prefixes of the additional data of the secrets sealed in the state (the
// row's key follows), one function per kind below, so that nobody types a
// label by hand.
const (
	platformKeyAADPrefix = "platform_key/"
	adminUserAADPrefix   = "admin_user/"
	credentialAADPrefix  = "credential/"
)

// PlatformKeyAAD is the additional data of a platform key's sealed private key.
func PlatformKeyAAD(serial string) string { return platformKeyAADPrefix + serial }

// AdminUserAAD is the additional data of an admin user's sealed TOTP seed.
func AdminUserAAD(id string) string { return adminUserAADPrefix + id }

// CredentialAAD is the additional data of an App_Secret sealed in the
// state: "credential/<credential id>".
func CredentialAAD(credentialID string) string { return credentialAADPrefix + credentialID }

// ClusterSecretAAD is the additional data of a sealed cluster secret.
func ClusterSecretAAD(name string) string { return ClusterSecretAADPrefix + name }

// SealedFile is a secret sealed in a file of the data directory.
type SealedFile struct {
	Path string // relative to the data directory
	AAD  string
}

// SealedFiles lists every file of a data directory that holds a sealed
// secret; with SealedColumns it is the whole list of what a change of
// key-encryption key re-seals.
var SealedFiles = []SealedFile{
	{filepath.Join(TLSDir, tlscert.SealedKeyFileName), tlscert.SealedKeyAAD},
	{filepath.Join(RaftDir, ClusterTLSDir, ClusterKeyFile), ClusterNodeKeyAAD},
	{filepath.Join(RaftDir, ClusterTLSDir, ClusterInitFile), ClusterSecretAAD(ClusterSecretCAKey)},
}

// ResealFiles re-seals every SealedFiles entry present in dataDir with
// reseal, each replaced atomically, and returns how many it rewrote.
func ResealFiles(dataDir string, reseal func(aad string, blob []byte) ([]byte, error)) (int, error) {
	n := 0
	for _, f := range SealedFiles {
		path := filepath.Join(dataDir, f.Path)
		blob, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return n, err
		}
		nb, err := reseal(f.AAD, blob)
		if err != nil {
			return n, fmt.Errorf("%s: %w", path, err)
		}
		if err := fsutil.WriteFileAtomic(path, nb, 0o600); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

var nodeIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidNodeID tells whether id is a node id: 1-64 characters of A-Z, a-z,
// 0-9, '.', '_', '-', starting with a letter or digit.
func ValidNodeID(id string) bool { return nodeIDPattern.MatchString(id) }

// NodeIDRule says ValidNodeID's rule in words, for error messages.
const NodeIDRule = "use 1-64 characters of A-Z, a-z, 0-9, '.', '_', '-'"

// ErrDataDirInUse: another process holds the data directory's lock.
var ErrDataDirInUse = errors.New("in use by another lijiang process")

// CheckDataDir refuses a data directory path that exists but is not a
// directory, before anything is created.
func CheckDataDir(dir string) error {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("data directory %s: %w", dir, err)
	case !st.IsDir():
		return fmt.Errorf("data directory %s: not a directory", dir)
	}
	return nil
}

// DirLock is the exclusive lock a process holds on a data directory.
type DirLock struct{ f *os.File }

// LockDataDir takes an exclusive lock on the data directory, so that two
// processes never share one; the lock file names the holder's pid.
func LockDataDir(dir string) (*DirLock, error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock file %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := io.ReadAll(io.LimitReader(f, 32))
		f.Close()
		holder := strings.TrimSpace(string(b))
		if holder == "" {
			holder = "unknown"
		}
		return nil, fmt.Errorf("data directory %s is %w (pid %s)", dir, ErrDataDirInUse, holder)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return &DirLock{f}, nil
}

// Unlock releases the lock and removes the lock file.
func (l *DirLock) Unlock() {
	if l == nil || l.f == nil {
		return
	}
	os.Remove(l.f.Name())
	l.f.Close()
	l.f = nil
}

// ErrNodeIDMismatch: the data directory belongs to another node id.
var ErrNodeIDMismatch = errors.New("the data directory belongs to another node")

// ResolveNodeID returns the node's stable id: the one recorded in the data
// directory, which want must match if given; on first start want, or "node1",
// recorded for later starts.
func ResolveNodeID(dir, want string) (string, error) {
	path := filepath.Join(dir, NodeIDFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		recorded := strings.TrimSpace(string(b))
		if !ValidNodeID(recorded) {
			return "", fmt.Errorf("%s: not a valid node id", path)
		}
		if want != "" && want != recorded {
			return "", fmt.Errorf("%w: node id %s asked for, this data directory belongs to node %s", ErrNodeIDMismatch, want, recorded)
		}
		return recorded, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("%s: %w", path, err)
	}
	id := want
	if id == "" {
		id = "node1"
	}
	return id, fsutil.WriteFileAtomic(path, []byte(id+"\n"), 0o600)
}

// RecordedNodeID reads the node id recorded in a data directory.
func RecordedNodeID(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, NodeIDFile))
	if err != nil {
		return "", fmt.Errorf("%s: not a node's data directory: %w", dir, errors.Unwrap(err))
	}
	id := strings.TrimSpace(string(b))
	if !ValidNodeID(id) {
		return "", fmt.Errorf("%s: not a valid node id", filepath.Join(dir, NodeIDFile))
	}
	return id, nil
}

// ResealDataDir re-seals every secret of a stopped node's data directory
// with reseal (open with whichever key sealed it, seal with the current
// key): the state's sealed columns in one transaction, then the sealed
// files, each replaced atomically. It holds the directory's lock meanwhile
// and returns how many values and files it rewrote.
func ResealDataDir(dataDir string, reseal func(aad string, blob []byte) ([]byte, error)) (values, files int, err error) {
	path := filepath.Join(dataDir, StateFile)
	if _, err := os.Stat(path); err != nil {
		return 0, 0, fmt.Errorf("%s: no state database there", dataDir)
	}
	lock, err := LockDataDir(dataDir)
	if err != nil {
		return 0, 0, err
	}
	defer lock.Unlock()
	store := NewStore(StoreConfig{Path: path})
	if err := store.Open(); err != nil {
		return 0, 0, err
	}
	defer store.Close()
	if values, err = store.Reseal(reseal); err != nil {
		return 0, 0, err
	}
	files, err = ResealFiles(dataDir, reseal)
	return values, files, err
}
