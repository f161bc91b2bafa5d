package serve_test

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/scsi"
	"github.com/tcmsh/tcmsh/serve"
	"github.com/tcmsh/tcmsh/sim"
	"github.com/tcmsh/tcmsh/sim/ring"
)

// The shell and the daemon are two processes sharing the simulated
// kernel's state directory: a backstore and a LUN the shell creates
// through its own view of the kernel are served by the daemon when the
// shell asks (Serve through the socket), and a workload runs on them.
func TestShellProcessCreatesDaemonServes(t *testing.T) {
	e := newEnv(t, serve.Options{}, true)
	shellKernel, err := sim.Open(filepath.Join(e.dir, "sim"), sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer shellKernel.Close()
	shellLIO, err := configfs.Open(shellKernel, "/sys/kernel/config", configfs.Options{Kind: "sim"})
	if err != nil {
		t.Fatal(err)
	}
	eng := e.dial()
	so, err := shellLIO.CreateStorageObject(configfs.StorageSpec{
		Plugin: "user", Name: "fromshell",
		Control: []configfs.KV{
			{Key: "dev_config", Value: "ram/"},
			{Key: "dev_size", Value: strconv.Itoa(8 << 20)},
			{Key: "nl_reply_supported", Value: "-1"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Serve(context.Background(), so.Path()); err != nil {
		t.Fatalf("Serve through the socket of a backstore another process created: %v", err)
	}
	tgt, err := shellLIO.CreateTarget("loopback", "")
	if err != nil {
		t.Fatal(err)
	}
	tpg, err := shellLIO.CreateTPG(tgt, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := shellLIO.SetNexus(tpg, ""); err != nil {
		t.Fatal(err)
	}
	lun, err := shellLIO.CreateLUN(tpg, 0, so, "")
	if err != nil {
		t.Fatal(err)
	}
	res, err := eng.Workload(context.Background(), lun.Path(), engine.WorkloadSpec{RW: "randrw", Count: 500, Verify: true})
	if err != nil || res.Errors != 0 || res.VerifyErrors != 0 {
		t.Fatalf("workload on a LUN another process created: %+v, %v", res, err)
	}
}

// otherProcess is a second process's view of the daemon's simulated
// kernel (its own sim.Kernel on the same state directory, no hooks, not
// talking to the daemon): rtslib-fb next to a daemon on the real kernel.
func (e *env) otherProcess() *configfs.LIO {
	e.t.Helper()
	k, err := sim.Open(filepath.Join(e.dir, "sim"), sim.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { k.Close() })
	lio, err := configfs.Open(k, "/sys/kernel/config", configfs.Options{Kind: "sim"})
	if err != nil {
		e.t.Fatal(err)
	}
	return lio
}

func ramSpec(name string, size int64) configfs.StorageSpec {
	return configfs.StorageSpec{
		Plugin: "user", Name: name,
		Control: []configfs.KV{
			{Key: "dev_config", Value: "ram/"},
			{Key: "dev_size", Value: strconv.FormatInt(size, 10)},
			{Key: "nl_reply_supported", Value: "-1"},
		},
	}
}

// waitStats polls the daemon's Stats until ok holds; the deadline only
// bounds a broken run.
func waitStats(t *testing.T, eng engine.Engine, what string, ok func([]engine.DeviceStats) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		all, err := eng.Stats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if ok(all) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 20 s (Stats: %+v)", what, all)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func servedUp(path string) func([]engine.DeviceStats) bool {
	return func(all []engine.DeviceStats) bool {
		for _, s := range all {
			if s.ConfigPath == path && s.Up {
				return true
			}
		}
		return false
	}
}

// AutoServe across processes: a user backstore another process enables
// is served by the daemon without being asked, as on the real kernel
// (where the netlink ADDED_DEVICE event reaches the daemon): the simulated
// kernel's watcher hears the other process's records (F-150).
func TestDaemonAutoServesBackstoreOfAnotherProcess(t *testing.T) {
	e := newEnv(t, serve.Options{}, true)
	other := e.otherProcess()
	eng := e.dial()
	so, err := other.CreateStorageObject(ramSpec("auto", 8<<20))
	if err != nil {
		t.Fatal(err)
	}
	waitStats(t, eng, "the daemon serves "+so.Path()+" on its own", func(all []engine.DeviceStats) bool {
		return len(all) == 1 && all[0].ConfigPath == so.Path() && all[0].Up
	})
}

// REMOVED across processes: the daemon lets go of a served device another
// process deletes, and stays up (80-netlink's REMOVED on the real kernel).
func TestDaemonReleasesBackstoreAnotherProcessDeletes(t *testing.T) {
	e := newEnv(t, serve.Options{}, true)
	other := e.otherProcess()
	eng := e.dial()
	so, err := other.CreateStorageObject(ramSpec("gone", 8<<20))
	if err != nil {
		t.Fatal(err)
	}
	waitStats(t, eng, "served", servedUp(so.Path()))
	minor, err := strconv.Atoi(strings.TrimPrefix(statsOf(t, eng, so.Path()).UIO, "uio"))
	if err != nil {
		t.Fatal(err)
	}
	if err := other.FS().Rmdir(so.Path()); err != nil {
		t.Fatal(err)
	}
	waitStats(t, eng, "the daemon forgets the deleted "+so.Path(), func(all []engine.DeviceStats) bool { return len(all) == 0 })
	if _, ok := e.local.SimRing().Device(minor); ok {
		t.Errorf("the daemon's ring of the deleted device (uio%d) is still there", minor)
	}
	// The daemon still follows the other process: a new device is served.
	so2, err := other.CreateStorageObject(ramSpec("again", 8<<20))
	if err != nil {
		t.Fatal(err)
	}
	waitStats(t, eng, "served after a removal", servedUp(so2.Path()))
}

// RECONFIG across processes: another process grows dev_size of a device
// the daemon serves; the write succeeds (the daemon listens, so the
// kernel's multicast has a listener) and the served disk's capacity
// follows: READ CAPACITY reports the new last LBA, after the UNIT
// ATTENTION for CAPACITY DATA HAS CHANGED (80-netlink's RECONFIG).
func TestDaemonFollowsDevSizeOfAnotherProcess(t *testing.T) {
	e := newEnv(t, serve.Options{}, true)
	other := e.otherProcess()
	eng := e.dial()
	so, err := other.CreateStorageObject(ramSpec("grow", 8<<20))
	if err != nil {
		t.Fatal(err)
	}
	waitStats(t, eng, "served", servedUp(so.Path()))
	st := statsOf(t, eng, so.Path())
	minor, err := strconv.Atoi(strings.TrimPrefix(st.UIO, "uio"))
	if err != nil {
		t.Fatalf("uio name %q: %v", st.UIO, err)
	}
	dev, ok := e.local.SimRing().Device(minor)
	if !ok {
		t.Fatalf("no simulated ring for %s", st.UIO)
	}
	lastLBA := func() uint32 {
		t.Helper()
		for range 3 { // a UNIT ATTENTION comes first after a change
			in := make([]byte, 8)
			res, err := dev.Submit(context.Background(), &ring.Request{CDB: make10(0x25), DataIn: in})
			if err != nil {
				t.Fatal(err)
			}
			if res.Status == scsi.StatusGood {
				return binary.BigEndian.Uint32(in)
			}
		}
		t.Fatal("READ CAPACITY keeps failing")
		return 0
	}
	if got := lastLBA(); got != 8<<20/512-1 {
		t.Fatalf("last LBA before = %d", got)
	}
	if err := other.WriteAttr(so.Path()+"/attrib/dev_size", strconv.Itoa(16<<20)); err != nil {
		t.Fatalf("dev_size from another process while the daemon listens: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second) // bounds a broken run only
	for lastLBA() != 16<<20/512-1 {
		if time.Now().After(deadline) {
			t.Fatalf("the served disk did not grow: last LBA %d", lastLBA())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := e.local.SimRing().Attributes(minor)["dev_size"]; got != strconv.Itoa(16<<20) {
		t.Errorf("the daemon's ring heard dev_size %q", got)
	}
	// emulate_write_cache follows the same way.
	if err := other.WriteAttr(so.Path()+"/attrib/emulate_write_cache", "1"); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(20 * time.Second)
	for e.local.SimRing().Attributes(minor)["emulate_write_cache"] != "1" {
		if time.Now().After(deadline) {
			t.Fatal("the daemon did not hear emulate_write_cache")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func make10(op byte) []byte { return []byte{op, 0, 0, 0, 0, 0, 0, 0, 0, 0} }

// A device another process enables and deletes at once is not served
// (the watcher folds the pair when it sees both; if it saw the enable, the
// auto-serve finds the device gone) and leaves no error in the log; the
// next device is served. Then the other process compacts the journal into
// a snapshot many times over while the daemon follows it.
func TestDaemonFollowsBriefDevicesAndCompaction(t *testing.T) {
	logFile := filepath.Join(t.TempDir(), "serve.log")
	e := newEnv(t, serve.Options{LogFile: logFile}, true)
	k, err := sim.Open(filepath.Join(e.dir, "sim"), sim.Options{CompactBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	other, err := configfs.Open(k, "/sys/kernel/config", configfs.Options{Kind: "sim"})
	if err != nil {
		t.Fatal(err)
	}
	eng := e.dial()
	for i := range 5 {
		so, err := other.CreateStorageObject(ramSpec("brief"+strconv.Itoa(i), 8<<20))
		if err != nil {
			t.Fatal(err)
		}
		if err := other.FS().Rmdir(so.Path()); err != nil {
			t.Fatal(err)
		}
	}
	var kept []string
	for i := range 4 {
		so, err := other.CreateStorageObject(ramSpec("kept"+strconv.Itoa(i), 8<<20))
		if err != nil {
			t.Fatal(err)
		}
		kept = append(kept, so.Path())
	}
	waitStats(t, eng, "the kept devices served", func(all []engine.DeviceStats) bool {
		up := 0
		for _, s := range all {
			if s.Up && strings.Contains(s.ConfigPath, "/kept") {
				up++
			}
		}
		return up == len(kept)
	})
	if _, err := os.Stat(filepath.Join(e.dir, "sim", "snapshot")); err != nil {
		t.Errorf("the other process never compacted its journal: %v", err)
	}
	// Stopping the daemon waits for its auto-serves: the log is complete.
	if err := e.daemon.Stop(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, "brief") {
			t.Errorf("the daemon logged about a device deleted at once: %s", line)
		}
	}
	if t.Failed() {
		t.Logf("daemon log:\n%s", b)
	}
}
