package fsutil

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		path string
		data string
		perm os.FileMode
	}{
		{"new file", filepath.Join(dir, "a"), "one", 0o600},
		{"replaces", filepath.Join(dir, "a"), "two", 0o600},
		{"creates parents owner-only", filepath.Join(dir, "sub", "deeper", "b"), "x", 0o644},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := WriteFileAtomic(tc.path, []byte(tc.data), tc.perm); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(tc.path)
			if err != nil || string(b) != tc.data {
				t.Fatalf("read %q, %v; want %q", b, err, tc.data)
			}
			st, _ := os.Stat(tc.path)
			if st.Mode().Perm() != tc.perm {
				t.Errorf("mode %v, want %v", st.Mode().Perm(), tc.perm)
			}
			parent, _ := os.Stat(filepath.Dir(tc.path))
			if parent.Mode().Perm()&0o077 != 0 && filepath.Dir(tc.path) != dir {
				t.Errorf("parent %s mode %v: not owner-only", filepath.Dir(tc.path), parent.Mode().Perm())
			}
		})
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name()[0] == '.' {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestWriteFileAtomicRefusesMissingDirParent(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, []byte("x"), 0o600)
	if err := WriteFileAtomic(filepath.Join(f, "child"), []byte("y"), 0o600); err == nil {
		t.Fatal("writing below a regular file succeeded")
	}
}

func TestExists(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if ok, err := Exists(path); ok || err != nil {
		t.Fatalf("before: %v %v", ok, err)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if ok, err := Exists(path); !ok || err != nil {
		t.Fatalf("after: %v %v", ok, err)
	}
	// A path through a file is neither there nor certainly absent.
	if ok, err := Exists(filepath.Join(path, "x")); ok || err == nil {
		t.Fatalf("through a file: %v %v", ok, err)
	}
}

func TestNotOwnerOnly(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o700)
	os.WriteFile(filepath.Join(dir, "ok"), []byte("x"), 0o600)
	os.MkdirAll(filepath.Join(dir, "sub"), 0o700)
	os.WriteFile(filepath.Join(dir, "sub", "loose"), []byte("x"), 0o644)
	loose, seen, err := NotOwnerOnly(dir)
	if err != nil || seen != 4 || len(loose) != 1 || loose[0] != filepath.Join(dir, "sub", "loose")+" (-rw-r--r--)" {
		t.Fatalf("NotOwnerOnly = %v, %d, %v", loose, seen, err)
	}
	if _, _, err := NotOwnerOnly(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("a missing root is not an error")
	}
}
