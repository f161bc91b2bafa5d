package engine_test

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/sim"
)

func openSim(t *testing.T, dir string) (*sim.Kernel, *configfs.LIO) {
	t.Helper()
	k, err := sim.Open(dir, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	lio, err := configfs.Open(k, "/sys/kernel/config", configfs.Options{Kind: "sim"})
	if err != nil {
		t.Fatal(err)
	}
	return k, lio
}

// A shell's engine (no AutoServe) hears of a device another process
// enables after it started: it makes the device's ring, so its own
// RECONFIG writes and Serve work; it hears the removal and drops the ring;
// Close ends its listening.
func TestLocalFollowsDevicesOfAnotherProcess(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sim")
	k, lio := openSim(t, dir)
	l, err := engine.NewLocal(engine.Options{LIO: lio, Sim: k})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, other := openSim(t, dir)
	so, err := other.CreateStorageObject(configfs.StorageSpec{
		Plugin: "user", Name: "o",
		Control: []configfs.KV{{Key: "dev_config", Value: "ram/"}, {Key: "dev_size", Value: strconv.Itoa(4 << 20)}, {Key: "nl_reply_supported", Value: "-1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the ring of the other process's device", func() bool { _, ok := l.SimRing().Device(0); return ok })
	// Written here, on a device this process did not enable.
	if err := lio.WriteAttr(so.Path()+"/attrib/dev_size", strconv.Itoa(8<<20)); err != nil {
		t.Fatalf("dev_size: %v", err)
	}
	if err := l.Serve(context.Background(), so.Path()); err != nil {
		t.Fatal(err)
	}
	if err := other.FS().Rmdir(so.Path()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the device released", func() bool {
		st, err := l.Stats(context.Background())
		_, ring := l.SimRing().Device(0)
		return err == nil && len(st) == 0 && !ring
	})
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second) // bounds a broken run only
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 20 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
