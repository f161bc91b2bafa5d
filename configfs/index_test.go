package configfs_test

import (
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/sim"
)

// The name index must never answer with an object that another process
// removed or moved to another HBA.
func TestStorageObjectIndexFollowsOtherProcesses(t *testing.T) {
	dir := t.TempDir()
	k, err := sim.Open(dir, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	open := func() *configfs.LIO {
		l, err := configfs.Open(k, "/sys/kernel/config", configfs.Options{Kind: "sim", LockPath: filepath.Join(dir, "hba.lock")})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	a, b := open(), open() // two tcmsh processes on one kernel
	rd := func(name string) configfs.StorageSpec {
		return configfs.StorageSpec{Plugin: "rd_mcp", Name: name, Control: []configfs.KV{{Key: "rd_pages", Value: "16"}}}
	}
	if _, err := a.CreateStorageObject(rd("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateStorageObject(rd("y")); err != nil {
		t.Fatal(err)
	}
	first, err := a.FindStorageObject("rd_mcp", "x")
	if err != nil {
		t.Fatal(err)
	}
	// b moves x to another HBA; a still finds it, at its new place.
	bx, err := b.FindStorageObject("rd_mcp", "x")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteStorageObject(bx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CreateStorageObject(rd("z")); err != nil { // takes x's old HBA index
		t.Fatal(err)
	}
	moved, err := b.CreateStorageObject(rd("x"))
	if err != nil {
		t.Fatal(err)
	}
	if moved.HBA == first.HBA {
		t.Fatalf("test setup: x kept HBA %d", moved.HBA)
	}
	got, err := a.FindStorageObject("rd_mcp", "x")
	if err != nil || got != moved {
		t.Errorf("a finds x at %+v, %v; want %+v", got, err, moved)
	}
	// b deletes y; a no longer finds it, and may create it again.
	by, _ := b.FindStorageObject("rd_mcp", "y")
	if err := b.DeleteStorageObject(by); err != nil {
		t.Fatal(err)
	}
	if _, err := a.FindStorageObject("rd_mcp", "y"); err == nil {
		t.Error("a still finds y after b deleted it")
	}
	if _, err := a.CreateStorageObject(rd("y")); err != nil {
		t.Errorf("a cannot create y again: %v", err)
	}
	// A duplicate is refused even when a never saw the object.
	if _, err := b.CreateStorageObject(rd("y")); err == nil {
		t.Error("b created a second y")
	}
	all, err := a.StorageObjects()
	if err != nil || len(all) != 3 {
		t.Errorf("StorageObjects = %v, %v; want x, y, z", all, err)
	}
}

// Another process deletes an object and makes a different one in an HBA
// directory of the same name: the index reads the directory again.
func TestStorageObjectIndexReusedHBADirectory(t *testing.T) {
	dir := t.TempDir()
	k, err := sim.Open(dir, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	a, _ := configfs.Open(k, "/sys/kernel/config", configfs.Options{Kind: "sim"})
	b, _ := configfs.Open(k, "/sys/kernel/config", configfs.Options{Kind: "sim"})
	rd := func(name string) configfs.StorageSpec {
		return configfs.StorageSpec{Plugin: "rd_mcp", Name: name, Control: []configfs.KV{{Key: "rd_pages", Value: "16"}}}
	}
	x, err := a.CreateStorageObject(rd("x"))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteStorageObject(x); err != nil {
		t.Fatal(err)
	}
	w, err := b.CreateStorageObject(rd("w"))
	if err != nil || w.HBA != x.HBA {
		t.Fatalf("test setup: w at %+v, %v", w, err)
	}
	if got, err := a.FindStorageObject("rd_mcp", "w"); err != nil || got != w {
		t.Errorf("a finds w at %+v, %v", got, err)
	}
}

// A create takes core/ and lun/ from its last listing while their link
// counts say no group came or went; what another process adds or removes
// changes the count and is seen, and an index another process took unseen
// (one LUN removed, another made) makes the create list lun/ again.
func TestListingsFollowOtherProcesses(t *testing.T) {
	dir := t.TempDir()
	k, err := sim.Open(dir, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	listingsFollowOtherProcesses(t, k, "sim")
}

// listingsFollowOtherProcesses runs TestListingsFollowOtherProcesses on
// fsys (the simulated kernel, or the real one in the realkernel test).
func listingsFollowOtherProcesses(t *testing.T, fsys configfs.FS, kind string) {
	dir := t.TempDir()
	open := func() (*configfs.LIO, *configfs.CountingFS) {
		cfs := configfs.NewCountingFS(fsys)
		l, err := configfs.Open(cfs, "/sys/kernel/config", configfs.Options{Kind: kind, LockPath: filepath.Join(dir, "hba.lock")})
		if err != nil {
			t.Fatal(err)
		}
		return l, cfs
	}
	a, acount := open()
	b, _ := open()
	rd := func(name string) configfs.StorageSpec {
		return configfs.StorageSpec{Plugin: "rd_mcp", Name: name, Control: []configfs.KV{{Key: "rd_pages", Value: "16"}}}
	}
	so, err := a.CreateStorageObject(rd("x"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateStorageObject(rd("y")); err != nil {
		t.Fatal(err)
	}
	// Unchanged core/: a's next check lists nothing.
	before := acount.Counts()
	if has, err := a.HasStorageObject("rd_mcp", "w"); err != nil || has {
		t.Fatalf("HasStorageObject(w) = %v, %v", has, err)
	}
	if got := acount.Counts().Sub(before); got[configfs.OpReadDir] != 0 {
		t.Errorf("name check with core/ unchanged: %v, want no listing", got)
	}
	// b adds an object: a sees it.
	if _, err := b.CreateStorageObject(rd("w")); err != nil {
		t.Fatal(err)
	}
	if has, err := a.HasStorageObject("rd_mcp", "w"); err != nil || !has {
		t.Fatalf("HasStorageObject(w) after b made it = %v, %v", has, err)
	}
	if _, err := a.CreateStorageObject(rd("w")); err == nil {
		t.Fatal("a made a second object named w")
	}

	tgt, err := a.CreateTarget("loopback", "")
	if err != nil {
		t.Fatal(err)
	}
	tpg, err := a.CreateTPG(tgt, 1)
	if err != nil {
		t.Fatal(err)
	}
	lunIndex := func(l *configfs.LIO, index int) int {
		t.Helper()
		lun, err := l.CreateLUN(tpg, index, so, "")
		if err != nil {
			t.Fatal(err)
		}
		return lun.Index
	}
	if got := lunIndex(a, -1); got != 0 {
		t.Fatalf("first LUN %d, want 0", got)
	}
	if got := lunIndex(b, -1); got != 1 {
		t.Fatalf("b's LUN %d, want 1", got)
	}
	if got := lunIndex(a, -1); got != 2 {
		t.Fatalf("a's LUN after b's %d, want 2", got)
	}
	// b removes LUN 1 and makes LUN 3: lun/'s link count is what a saw
	// last, a picks 3 from its listing, meets EEXIST and lists again.
	if err := b.DeleteLUN(configfs.LUN{TPG: tpg, Index: 1}); err != nil {
		t.Fatal(err)
	}
	if got := lunIndex(b, 3); got != 3 {
		t.Fatal(got)
	}
	if got := lunIndex(a, -1); got != 1 {
		t.Fatalf("a's LUN after b's swap %d, want 1 (the lowest free)", got)
	}
	idx, err := a.LUNIndexes(tpg)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(idx) != "[0 1 2 3]" {
		t.Fatalf("LUNs %v, want [0 1 2 3]", idx)
	}
}

// TestALUAGroupNames: an object with only the default ALUA group has it
// named from two stats (or a stat and the read of its state), without a
// listing; one with a group of its own is listed.
func TestALUAGroupNames(t *testing.T) {
	k, err := sim.Open(t.TempDir(), sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	aluaGroupNames(t, k, "sim")
}

// aluaGroupNames runs TestALUAGroupNames on fsys (the simulated kernel, or
// the real one in the realkernel test).
func aluaGroupNames(t *testing.T, fsys configfs.FS, kind string) {
	cfs := configfs.NewCountingFS(fsys)
	l, err := configfs.Open(cfs, "/sys/kernel/config", configfs.Options{Kind: kind, LockPath: filepath.Join(t.TempDir(), "hba.lock")})
	if err != nil {
		t.Fatal(err)
	}
	so, err := l.CreateStorageObject(configfs.StorageSpec{Plugin: "rd_mcp", Name: "alua_names", Control: []configfs.KV{{Key: "rd_pages", Value: "16"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := l.DeleteStorageObject(so); err != nil {
			t.Error(err)
		}
	}()
	before := cfs.Counts()
	names, err := l.ALUAGroupNames(so)
	if err != nil || !slices.Equal(names, []string{configfs.DefaultALUAGroup}) {
		t.Fatalf("ALUAGroupNames of a new object = %v, %v", names, err)
	}
	if got := cfs.Counts().Sub(before); got[configfs.OpReadDir] != 0 || got.Total() != 2 {
		t.Errorf("the default group alone cost %v, want two stats", got)
	}
	before = cfs.Counts()
	names, state, err := l.ALUAGroupNamesAndState(so)
	if err != nil || !slices.Equal(names, []string{configfs.DefaultALUAGroup}) || state != "0" {
		t.Fatalf("ALUAGroupNamesAndState of a new object = %v, %q, %v; want the default group, state 0", names, state, err)
	}
	if got := cfs.Counts().Sub(before); got[configfs.OpReadDir] != 0 || got[configfs.OpStat] != 1 || got[configfs.OpRead] != 1 || got.Total() != 2 {
		t.Errorf("the default group and its state cost %v, want a stat and a read", got)
	}
	east := path.Join(so.Path(), "alua", "east")
	if err := fsys.Mkdir(east); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = fsys.Rmdir(east) }()
	names, err = l.ALUAGroupNames(so)
	slices.Sort(names)
	if err != nil || !slices.Equal(names, []string{configfs.DefaultALUAGroup, "east"}) {
		t.Errorf("ALUAGroupNames with a group of its own = %v, %v", names, err)
	}
	names, state, err = l.ALUAGroupNamesAndState(so)
	slices.Sort(names)
	if err != nil || !slices.Equal(names, []string{configfs.DefaultALUAGroup, "east"}) || state != "" {
		t.Errorf("ALUAGroupNamesAndState with a group of its own = %v, %q, %v; want both groups listed, no state", names, state, err)
	}
}
