package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/scsi"
	"github.com/tcmsh/tcmsh/sim"
	"github.com/tcmsh/tcmsh/sim/initiator"
	"github.com/tcmsh/tcmsh/sim/ring"
	"github.com/tcmsh/tcmsh/tcmu"
	"github.com/tcmsh/tcmsh/tcmu/netlink"
)

func TestBucketQuantile(t *testing.T) {
	b := make([]uint64, latencyBucketCount)
	if got := bucketQuantile(b, 0.5); got != 0 {
		t.Errorf("empty: %v", got)
	}
	b[10] = 98 // [512, 1024) ns
	b[20] = 2  // [0.5, 1) ms
	if got := bucketQuantile(b, 0.5); got != 1024 {
		t.Errorf("p50 = %v, want 1.024µs", got)
	}
	if got := bucketQuantile(b, 0.99); got != 1<<20 {
		t.Errorf("p99 = %v, want 1.048576ms", got)
	}
}

func TestStatsTotalAddsRingLoops(t *testing.T) {
	var total statsTotal
	first := tcmu.Snapshot{
		ByOpcode:    []tcmu.OpcodeStats{{Opcode: 0x28, Commands: 10, Bytes: 40960}, {Opcode: 0x2a, Commands: 5, Bytes: 20480}},
		Max:         time.Millisecond,
		InFlightMax: 7, RingBytesMax: 1000, DataBytesInFlightMax: 4096,
	}
	first.LatencyBuckets[12] = 15
	first.CheckConditions[6] = 1
	second := tcmu.Snapshot{ByOpcode: []tcmu.OpcodeStats{{Opcode: 0x28, Commands: 1, Bytes: 4096}}, Max: time.Microsecond, InFlightMax: 3, RingBytesMax: 5000}
	second.LatencyBuckets[12] = 1
	total.add(first)
	total.add(second)
	s := &served{dev: uioDevice{minor: 3, subtype: "ram"}, so: configfs.StorageObject{Plugin: "user", HBA: 2, Name: "x"}, configPath: "target/core/user_2/x", total: total}
	ds := s.stats()
	if ds.Commands != 16 || ds.ReadBytes != 45056 || ds.WriteBytes != 20480 {
		t.Errorf("commands %d read %d write %d", ds.Commands, ds.ReadBytes, ds.WriteBytes)
	}
	if ds.InflightMax != 7 || ds.RingUsedMaxBytes != 5000 || ds.DataUsedMaxBytes != 4096 || ds.LatMaxus != 1000 {
		t.Errorf("maxima: in flight %d ring %d data %d latency %vµs", ds.InflightMax, ds.RingUsedMaxBytes, ds.DataUsedMaxBytes, ds.LatMaxus)
	}
	if ds.Errors != 1 || ds.CheckConditions["unit_attention"] != 1 {
		t.Errorf("check conditions: %d %v", ds.Errors, ds.CheckConditions)
	}
	if ds.Path != "/backstores/user:ram/x" || ds.UIO != "uio3" || ds.Up {
		t.Errorf("identity: %q %q up %v", ds.Path, ds.UIO, ds.Up)
	}
	if ds.LatP50us != 4.096 || len(ds.LatencyBuckets) != latencyBucketCount {
		t.Errorf("p50 %vµs, %d buckets", ds.LatP50us, len(ds.LatencyBuckets))
	}
}

// TestBlockTargetRunsTheWorkload drives a block target over a regular
// file with the same workload generator the simulated kernel uses.
func TestBlockTargetRunsTheWorkload(t *testing.T) {
	const size = 4 << 20
	p := filepath.Join(t.TempDir(), "disk")
	if err := os.WriteFile(p, make([]byte, size), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, direct := range []bool{false, true} {
		t.Run(fmt.Sprintf("direct=%v", direct), func(t *testing.T) {
			bt, err := openBlockTarget(p, 512, direct)
			if errors.Is(err, syscall.EINVAL) {
				t.Skipf("this file system refuses O_DIRECT: %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer bt.Close()
			if bt.size != size {
				t.Fatalf("size %d", bt.size)
			}
			rep, err := initiator.Run(context.Background(), bt, initiator.Config{RW: "randrw", BS: 4096, QD: 4, Count: 2000, Verify: true, BlockSize: 512, Size: size})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Ops != 2000 || rep.Errors != 0 || rep.VerifyErrors != 0 || rep.Reads == 0 || rep.Writes == 0 {
				t.Fatalf("%v", rep)
			}
			ctx := context.Background()
			beyond := []byte{0x28, 0, 0, 0, 0x20, 0, 0, 0, 8, 0} // READ(10) of 8 blocks at LBA 8192: past the end
			res, _ := bt.Submit(ctx, &ring.Request{CDB: beyond, DataIn: make([]byte, 4096)})
			if asc, _ := res.ASC(); res.Status != scsi.StatusCheckCondition || res.SenseKey() != 5 || asc != 0x21 {
				t.Errorf("read past the end: status %#x key %#x asc %#x", res.Status, res.SenseKey(), asc)
			}
			res, _ = bt.Submit(ctx, &ring.Request{CDB: []byte{0x12, 0, 0, 0, 36, 0}})
			if asc, _ := res.ASC(); res.SenseKey() != 5 || asc != 0x20 {
				t.Errorf("INQUIRY: key %#x asc %#x, want INVALID COMMAND OPERATION CODE", res.SenseKey(), asc)
			}
		})
	}
}

// simEnv is a simulated kernel with its configfs model.
func simEnv(t *testing.T) (*sim.Kernel, *configfs.LIO) {
	t.Helper()
	k, err := sim.Open("", sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	lio, err := configfs.Open(k, "/sys/kernel/config", configfs.Options{Kind: "sim"})
	if err != nil {
		t.Fatal(err)
	}
	return k, lio
}

// servedOnSim creates the user backstore name (devConfig, 1 MiB) on a
// simulated kernel and serves it with a Local engine, closed when the test
// ends.
func servedOnSim(t *testing.T, name, devConfig string) (*Local, *configfs.LIO, configfs.StorageObject) {
	t.Helper()
	k, lio := simEnv(t)
	so, err := lio.CreateStorageObject(userSpec(name, devConfig, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLocal(Options{LIO: lio, Sim: k})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	if err := l.Serve(context.Background(), so.Path()); err != nil {
		t.Fatal(err)
	}
	return l, lio, so
}

func userSpec(name, devConfig string, size int64) configfs.StorageSpec {
	return configfs.StorageSpec{Plugin: "user", Name: name, Control: []configfs.KV{
		{Key: "dev_config", Value: devConfig}, {Key: "dev_size", Value: strconv.FormatInt(size, 10)}, {Key: "nl_reply_supported", Value: "-1"}}}
}

// fakeUIO makes a sysfs class/uio/uio0 entry and a /dev/uio0 that is a
// regular file holding a valid mailbox: uio.Open maps it, and the ring
// loop's wait fails once it has read the file to its end, which is how
// this test gets a ring loop that keeps failing.
func fakeUIO(t *testing.T, name string) (sysfs, dev string) {
	t.Helper()
	sysfs, dev = t.TempDir(), t.TempDir()
	const ringSize, mapSize = 64 << 10, 128 << 10
	dir := filepath.Join(sysfs, "class", "uio", "uio0")
	if err := os.MkdirAll(filepath.Join(dir, "maps", "map0"), 0o755); err != nil {
		t.Fatal(err)
	}
	for f, v := range map[string]string{"name": name + "\n", "version": "2\n", "maps/map0/size": fmt.Sprintf("%#x\n", mapSize)} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	region := make([]byte, mapSize)
	tcmu.Mailbox(region[:tcmu.MailboxSize]).SetHeader(tcmu.MailboxVersion, tcmu.FlagCapOOOC|tcmu.FlagCapReadLen, tcmu.MailboxSize, ringSize-tcmu.MailboxSize)
	if err := os.WriteFile(filepath.Join(dev, "uio0"), region, 0o600); err != nil {
		t.Fatal(err)
	}
	return sysfs, dev
}

// TestRealKernelRestartsThenGivesUp serves through tcmu/uio (over fake
// sysfs and /dev trees, and the simulated configfs for the action files):
// a ring loop that keeps failing is reattached MaxRestarts times, then the
// device is reported down with the cause.
func TestRealKernelRestartsThenGivesUp(t *testing.T) {
	_, lio := simEnv(t)
	so, err := lio.CreateStorageObject(userSpec("x", "ram/", 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	sysfs, dev := fakeUIO(t, fmt.Sprintf("tcm-user/%d/x/ram/", so.HBA))
	var logMu sync.Mutex
	var logs []string
	l, err := NewLocal(Options{LIO: lio, Sysfs: sysfs, DevDir: dev, NoNetlink: true,
		RestartBackoff: time.Millisecond, MaxRestarts: 2, Logf: func(f string, a ...any) {
			logMu.Lock()
			logs = append(logs, fmt.Sprintf(f, a...))
			logMu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Serve(context.Background(), so.Path()); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	var st DeviceStats
	for deadline := time.Now().Add(30 * time.Second); ; {
		all, _ := l.Stats(context.Background())
		if len(all) == 1 && !all[0].Up && strings.Contains(all[0].LastError, "failed 2 times") {
			st = all[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the device was not given up: %+v", all)
		}
		time.Sleep(time.Millisecond)
	}
	if st.Restarts != 2 || st.Attaches != 3 || st.UIO != "uio0" || st.Subtype != "ram" {
		t.Errorf("restarts %d attaches %d uio %s subtype %s", st.Restarts, st.Attaches, st.UIO, st.Subtype)
	}
	logMu.Lock()
	if !strings.Contains(strings.Join(logs, "\n"), "giving up") {
		t.Errorf("no report of giving up in the log: %q", logs)
	}
	logMu.Unlock()
	if err := l.SimulateCrash(so.Path()); err == nil || !strings.Contains(err.Error(), "simulated kernel") {
		t.Errorf("SimulateCrash on the real kernel: %v", err)
	}
}

// TestRealKernelWorkloadChecksTheDisk: the /dev entry of a LUN's SCSI
// device must be a block device, or the workload would "pass" against a
// file.
func TestRealKernelWorkloadChecksTheDisk(t *testing.T) {
	_, lio := simEnv(t)
	so, err := lio.CreateStorageObject(userSpec("x", "ram/", 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := lio.CreateTarget("loopback", "")
	if err != nil {
		t.Fatal(err)
	}
	tpg, err := lio.CreateTPG(tgt, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lio.SetNexus(tpg, ""); err != nil {
		t.Fatal(err)
	}
	lun, err := lio.CreateLUN(tpg, 0, so, "")
	if err != nil {
		t.Fatal(err)
	}
	addr, err := lio.ReadAttr(tpg.Path() + "/address")
	if err != nil {
		t.Fatal(err)
	}
	sysfs, dev := t.TempDir(), t.TempDir()
	l, err := NewLocal(Options{LIO: lio, Sysfs: sysfs, DevDir: dev, NoNetlink: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	spec := WorkloadSpec{RW: "randread", BlockSize: 4096, Count: 1}
	if _, err := l.Workload(context.Background(), lun.Path(), spec); err == nil || !strings.Contains(err.Error(), "no SCSI device "+addr+":0") {
		t.Errorf("without a SCSI device: %v", err)
	}
	hctl := filepath.Join(sysfs, "class", "scsi_device", addr+":0", "device")
	if err := os.MkdirAll(hctl, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Workload(context.Background(), lun.Path(), spec); err == nil || !strings.Contains(err.Error(), "sd_mod") {
		t.Errorf("without a block device: %v", err)
	}
	if err := os.MkdirAll(filepath.Join(hctl, "block", "sdq"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dev, "sdq"), make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Workload(context.Background(), lun.Path(), spec); err == nil || !strings.Contains(err.Error(), "not a block device") {
		t.Errorf("with a regular file for /dev/sdq: %v", err)
	}

	// A block device node whose disk the kernel has not (yet) added:
	// open fails with ENXIO; the workload waits diskAddWait for it, then
	// says what it waited for. Major 240 is for local use, never a disk.
	if err := os.Remove(filepath.Join(dev, "sdq")); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mknod(filepath.Join(dev, "sdq"), unix.S_IFBLK|0o600, int(unix.Mkdev(240, 77))); err != nil {
		t.Skipf("cannot make a block device node here: %v", err)
	}
	if f, err := os.OpenFile(filepath.Join(dev, "sdq"), os.O_RDWR, 0); err == nil || !errors.Is(err, unix.ENXIO) {
		if err == nil {
			f.Close()
		}
		t.Skipf("a node of block major 240 opens with %v here, not ENXIO", err)
	}
	defer func(w time.Duration) { diskAddWait = w }(diskAddWait)
	diskAddWait = 100 * time.Millisecond
	start := time.Now()
	_, err = l.Workload(context.Background(), lun.Path(), spec)
	if err == nil || !errors.Is(err, unix.ENXIO) || !strings.Contains(err.Error(), "has not finished adding the disk of SCSI "+addr+":0 after 100ms") {
		t.Errorf("with a disk not yet added: %v", err)
	}
	if waited := time.Since(start); waited < diskAddWait {
		t.Errorf("gave up on a disk being added after %v, want at least %v", waited, diskAddWait)
	}
}

// TestNetlinkEventsReachTheDisk feeds TCM-USER events to the real kernel's
// event handler for a device served on the simulated kernel: RECONFIG of
// dev_size resizes the disk, of emulate_write_cache switches WCE, and
// REMOVED stops serving.
func TestNetlinkEventsReachTheDisk(t *testing.T) {
	l, _, so := servedOnSim(t, "n", "ram/")
	r := &realSide{l: l, tried: map[string]int{}}
	name := fmt.Sprintf("tcm-user/%d/n/ram/", so.HBA)
	ev := netlink.Event{Command: netlink.CmdReconfigDevice, Device: name, Change: netlink.ChangeDevSize, DevSize: 4 << 20}
	if err := r.onEvent(ev); err != nil {
		t.Fatal(err)
	}
	s := l.served(so.Path())
	if got := s.disk.Blocks(); got != 4<<20/512 {
		t.Errorf("blocks after RECONFIG dev_size: %d", got)
	}
	ev = netlink.Event{Command: netlink.CmdReconfigDevice, Device: name, Change: netlink.ChangeWriteCache, WriteCache: true}
	if err := r.onEvent(ev); err != nil || !s.disk.WriteCache() {
		t.Errorf("RECONFIG emulate_write_cache: %v, WCE %v", err, s.disk.WriteCache())
	}
	ev = netlink.Event{Command: netlink.CmdReconfigDevice, Device: name, Change: netlink.ChangeDevConfig, DevConfig: "null/"}
	if err := r.onEvent(ev); err == nil {
		t.Error("RECONFIG dev_config applied to a running disk")
	}
	if err := r.onEvent(netlink.Event{Command: netlink.CmdRemovedDevice, Device: name}); err != nil {
		t.Fatal(err)
	}
	if l.served(so.Path()) != nil {
		t.Error("still served after REMOVED")
	}
}

func TestParseWorkloadSpec(t *testing.T) {
	spec, err := ParseWorkloadSpec([]string{"rw=randrw", "bs=4k", "qd=32", "time=3s", "verify=true", "rate=500"})
	if err != nil {
		t.Fatal(err)
	}
	want := WorkloadSpec{RW: "randrw", BlockSize: 4096, QueueDepth: 32, Duration: 3 * time.Second, Verify: true, Rate: 500}
	if spec != want {
		t.Errorf("got %+v, want %+v", spec, want)
	}
	if spec, err := ParseWorkloadSpec(nil); err != nil || spec.RW != "randread" || spec.BlockSize != 4096 || spec.QueueDepth != 1 {
		t.Errorf("defaults: %+v %v", spec, err)
	}
	for _, bad := range []string{"seed=1", "qd=x", "verify", "bogus=1"} {
		if _, err := ParseWorkloadSpec([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestPathForms(t *testing.T) {
	k, lio := simEnv(t)
	so, err := lio.CreateStorageObject(userSpec("p", "ram/", 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLocal(Options{LIO: lio, Sim: k})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, p := range []string{so.Path(), "/" + so.Path(), "/sys/kernel/config/" + so.Path(), "/backstores/user:ram/p", "backstores/user/p"} {
		got, _, err := l.cleanConfigPath(p)
		if err != nil || got != so.Path() {
			t.Errorf("%q → %q, %v", p, got, err)
		}
	}
	for p, want := range map[string]string{
		"/backstores/user:ram/none": "no user storage object",
		"/backstores/nothing/x":     "not a backstore path",
		"target/core/rd_mcp_1/x":    "only user backstores",
	} {
		if _, _, err := l.cleanConfigPath(p); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", p, err, want)
		}
	}
	if err := l.Serve(context.Background(), "/backstores/user:ram/p"); err != nil {
		t.Fatal(err)
	}
	if st, _ := l.Stats(context.Background()); len(st) != 1 || st[0].ConfigPath != so.Path() {
		t.Errorf("stats: %+v", st)
	}
}

// TestSimTimeoutsFromAttributes: the simulated ring takes cmd_time_out and
// qfull_time_out from the device's attributes when it is attached.
func TestSimTimeoutsFromAttributes(t *testing.T) {
	k, lio := simEnv(t)
	spec := userSpec("to", "ram/", 1<<20)
	spec.NoEnable = true
	so, err := lio.CreateStorageObject(spec)
	if err != nil {
		t.Fatal(err)
	}
	for attr, v := range map[string]string{"cmd_time_out": "7", "qfull_time_out": "0"} {
		if err := lio.WriteAttr(so.Path()+"/attrib/"+attr, v); err != nil {
			t.Fatalf("%s: %v", attr, err)
		}
	}
	if err := lio.WriteAttr(so.Path()+"/enable", "1"); err != nil {
		t.Fatal(err)
	}
	l, err := NewLocal(Options{LIO: lio, Sim: k})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Serve(context.Background(), so.Path()); err != nil {
		t.Fatal(err)
	}
	dev, _ := l.SimRing().Device(0)
	if c := dev.Config(); c.CmdTimeout != 7*time.Second || c.QfullTimeout != ring.QfullNoWait {
		t.Errorf("cmd timeout %v, qfull timeout %v", c.CmdTimeout, c.QfullTimeout)
	}
}

// TestScanningServesNewDevices: without netlink, AutoServe finds devices
// by rescanning the uio class, and does not retry one that failed until
// its minor changes.
func TestScanningServesNewDevices(t *testing.T) {
	_, lio := simEnv(t)
	so, err := lio.CreateStorageObject(userSpec("s", "ram/", 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	sysfs, dev := t.TempDir(), t.TempDir()
	l, err := NewLocal(Options{LIO: lio, Sysfs: sysfs, DevDir: dev, NoNetlink: true, AutoServe: true,
		ScanInterval: time.Millisecond, RestartBackoff: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// The device appears after the engine started.
	fakeSysfs, fakeDev := fakeUIO(t, fmt.Sprintf("tcm-user/%d/s/ram/", so.HBA))
	if err := os.Rename(filepath.Join(fakeSysfs, "class"), filepath.Join(sysfs, "class")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(fakeDev, "uio0"), filepath.Join(dev, "uio0")); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		if st, _ := l.Stats(context.Background()); len(st) == 1 && st[0].ConfigPath == so.Path() && st[0].Attaches >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the scanned device was never served")
		}
	}
}
