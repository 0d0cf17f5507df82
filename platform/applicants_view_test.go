package platform

import (
	"fmt"
	"reflect"
	"testing"
)

// TestAplTablePointerFree checks that the applicants view's per-app and
// per-credential records hold no pointer, so that the collector does not
// scan the arrays of a large registry (docs/performance.md: A1 with
// 100,000 apps). A string, slice, map, pointer or interface field added to
// one of them would bring that cost back.
func TestAplTablePointerFree(t *testing.T) {
	var hasPointers func(reflect.Type) bool
	hasPointers = func(ty reflect.Type) bool {
		switch ty.Kind() {
		case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
			return false
		case reflect.Array:
			return hasPointers(ty.Elem())
		case reflect.Struct:
			for i := range ty.NumField() {
				if hasPointers(ty.Field(i).Type) {
					return true
				}
			}
			return false
		}
		return true
	}
	for _, v := range []any{aplEnt{}, aplCred{}} {
		if ty := reflect.TypeOf(v); hasPointers(ty) {
			t.Errorf("%s holds a pointer", ty)
		}
	}
}

// TestAplBuilderLimits checks that a table refuses an id or serial too long
// for its records' lengths, as corrupt, rather than cut it.
func TestAplBuilderLimits(t *testing.T) {
	long := string(make([]byte, 1<<16))
	b := newAplBuilder(1, 1, 0)
	if err := b.app(long, "apl", 0, 0, nil); err == nil {
		t.Error("an App_ID of 65,536 bytes was taken")
	}
	if err := b.app("LJ1", "apl", 0, 0, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.cred("crd", long, nil, 0, 0, nil, 0, 0, nil); err == nil {
		t.Error("a serial of 65,536 bytes was taken")
	}
	if err := b.cred("crd", "s1", []byte("sealed"), 1, 2, nil, 0, 0, nil); err != nil {
		t.Fatal(err)
	}
	tbl := b.finish()
	i, ok := tbl.find("LJ1", aplHash("LJ1"))
	if !ok {
		t.Fatal("the app is not found")
	}
	e := tbl.entry(i)
	if e.ID != "LJ1" || e.ApplicantID != "apl" || e.Env != EnvSandbox || e.Status != AppActive {
		t.Errorf("entry %+v", e)
	}
	c, ok := e.CredentialBySerial("s1")
	if !ok || c.ID != "crd" || string(c.SecretSealed) != "sealed" || c.NotBefore.UnixMilli() != 1 || c.NotAfter.UnixMilli() != 2 {
		t.Errorf("credential %+v %v", c, ok)
	}
	if _, ok := tbl.find("LJ2", aplHash("LJ2")); ok {
		t.Error("an unknown app is found")
	}
}

// TestAplManyCredentials checks the look-up by serial of an app with more
// credentials than a scan is kept for (aplSerialMapMin), beside one with
// fewer, and that a table copied from it (an update) finds the same.
func TestAplManyCredentials(t *testing.T) {
	for _, n := range []int{1, aplSerialMapMin, aplSerialMapMin + 1, 40} {
		b := newAplBuilder(2, n+1, 0)
		if err := b.app("LJ-many", "apl", 1, 0, nil); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if err := b.cred(fmt.Sprintf("crd%d", i), fmt.Sprintf("s%d", i), nil, 0, 1, nil, 0, 0, nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.app("LJ-one", "apl", 1, 0, nil); err != nil {
			t.Fatal(err)
		}
		if err := b.cred("other", "s0", nil, 0, 1, nil, 0, 0, nil); err != nil {
			t.Fatal(err)
		}
		tbl := b.finish()
		copied := newAplBuilder(2, n+1, 0)
		for i := range tbl.ents {
			if err := copied.copyApp(tbl, uint32(i)); err != nil {
				t.Fatal(err)
			}
		}
		for name, tb := range map[string]*aplTable{"built": tbl, "copied": copied.finish()} {
			i, ok := tb.find("LJ-many", aplHash("LJ-many"))
			if !ok {
				t.Fatalf("%d %s: the app is not found", n, name)
			}
			e := tb.entry(i)
			for j := range n {
				c, ok := e.CredentialBySerial(fmt.Sprintf("s%d", j))
				if !ok || c.ID != fmt.Sprintf("crd%d", j) || c.AppID != "LJ-many" {
					t.Errorf("%d %s: serial s%d: %+v %v", n, name, j, c, ok)
				}
			}
			if _, ok := e.CredentialBySerial(fmt.Sprintf("s%d", n)); ok {
				t.Errorf("%d %s: an unknown serial is found", n, name)
			}
			i, _ = tb.find("LJ-one", aplHash("LJ-one"))
			if c, ok := tb.entry(i).CredentialBySerial("s0"); !ok || c.ID != "other" {
				t.Errorf("%d %s: the other app's s0: %+v", n, name, c)
			}
		}
	}
}
