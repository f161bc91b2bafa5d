package configfs_test

import (
	"path/filepath"
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
