package configfs_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/sim"
)

// openSim returns the model over a fresh simulated kernel in dir.
func openSim(t testing.TB, dir string) *configfs.LIO {
	t.Helper()
	k, err := sim.Open(dir, sim.Options{})
	if err != nil {
		t.Fatalf("sim.Open: %v", err)
	}
	t.Cleanup(func() { k.Close() })
	l, err := configfs.Open(k, "/sys/kernel/config", configfs.Options{Kind: "sim", LockPath: filepath.Join(dir, "hba.lock")})
	if err != nil {
		t.Fatalf("configfs.Open: %v", err)
	}
	return l
}

func mustSO(t *testing.T, l *configfs.LIO, spec configfs.StorageSpec) configfs.StorageObject {
	t.Helper()
	so, err := l.CreateStorageObject(spec)
	if err != nil {
		t.Fatalf("create %s %s: %v", spec.Plugin, spec.Name, err)
	}
	return so
}

func fileioSpec(t *testing.T, name string) configfs.StorageSpec {
	f := filepath.Join(t.TempDir(), name+".img")
	return configfs.StorageSpec{Plugin: "fileio", Name: name, UdevPath: f,
		Control: []configfs.KV{{Key: "fd_dev_name", Value: f}, {Key: "fd_dev_size", Value: "1048576"}}}
}

// blockDevice makes a block device node for iblock tests (the simulated
// kernel, like the real one, wants udev_path to be a block device).
func blockDevice(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "blk")
	if err := unix.Mknod(p, unix.S_IFBLK|0o600, int(unix.Mkdev(7, 0))); err != nil {
		t.Skipf("cannot make a block device node (needs root): %v", err)
	}
	return p
}

func TestStorageObjectsEveryPlugin(t *testing.T) {
	l := openSim(t, t.TempDir())
	dev := blockDevice(t)
	specs := []configfs.StorageSpec{
		fileioSpec(t, "f1"),
		{Plugin: "rd_mcp", Name: "r1", Control: []configfs.KV{{Key: "rd_pages", Value: "256"}}},
		{Plugin: "iblock", Name: "b1", UdevPath: dev, Control: []configfs.KV{{Key: "udev_path", Value: dev}}},
		{Plugin: "user", Name: "u1", Control: []configfs.KV{{Key: "dev_config", Value: "ram/"}, {Key: "dev_size", Value: "67108864"}, {Key: "nl_reply_supported", Value: "-1"}}},
	}
	var made []configfs.StorageObject
	for _, s := range specs {
		made = append(made, mustSO(t, l, s))
	}
	// One HBA each, lowest free index across plugins: 0, 1, 2, 3.
	for i, so := range made {
		if so.HBA != i {
			t.Errorf("%s got HBA %d, want %d", so.Name, so.HBA, i)
		}
	}
	all, err := l.StorageObjects()
	if err != nil || len(all) != len(specs) {
		t.Fatalf("StorageObjects = %v, %v", all, err)
	}
	for _, so := range made {
		si, err := l.StorageObjectInfo(so)
		if err != nil {
			t.Fatalf("info %s: %v", so.Name, err)
		}
		serial, err := l.UnitSerial(so)
		if !si.Enabled || err != nil || !configfs.ValidUnitSerial(serial) {
			t.Errorf("%s: enabled=%v serial=%q (%v)", so.Name, si.Enabled, serial, err)
		}
	}
	if si, _ := l.StorageObjectInfo(made[3]); si.Kind() != "user:ram" || si.Size != 67108864 {
		t.Errorf("user object reads as kind %q size %d", si.Kind(), si.Size)
	}
	if si, _ := l.StorageObjectInfo(made[0]); si.Size != 1048576 {
		t.Errorf("fileio size %d", si.Size)
	}
	// Deleting the second frees index 1, which the next object takes.
	if err := l.DeleteStorageObject(made[1]); err != nil {
		t.Fatal(err)
	}
	if so := mustSO(t, l, fileioSpec(t, "f2")); so.HBA != 1 {
		t.Errorf("reused HBA %d, want 1", so.HBA)
	}
	// Duplicate names are refused before touching the kernel.
	if _, err := l.CreateStorageObject(fileioSpec(t, "f1")); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("duplicate create: %v", err)
	}
}

func TestCreateStorageObjectRollsBack(t *testing.T) {
	l := openSim(t, t.TempDir())
	// fileio without fd_dev_name cannot be enabled: nothing may be left.
	_, err := l.CreateStorageObject(configfs.StorageSpec{Plugin: "fileio", Name: "broken"})
	if err == nil {
		t.Fatal("enable of an incomplete fileio object succeeded")
	}
	if !strings.Contains(err.Error(), "enable") {
		t.Errorf("error does not say what failed: %v", err)
	}
	es, err := l.FS().ReadDir("target/core")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if strings.HasPrefix(e.Name, "fileio_") {
			t.Errorf("left behind %s", e.Name)
		}
	}
	for _, bad := range []string{"", "..", "a/b", "x\x01"} {
		if _, err := l.CreateStorageObject(configfs.StorageSpec{Plugin: "rd_mcp", Name: bad}); err == nil {
			t.Errorf("name %q accepted", bad)
		}
	}
	if _, err := l.CreateStorageObject(configfs.StorageSpec{Plugin: "user", Name: "a:b"}); err == nil || !strings.Contains(err.Error(), "':'") {
		t.Errorf("user name with ':' : %v", err)
	}
}

func TestISCSITargetTree(t *testing.T) {
	l := openSim(t, t.TempDir())
	so := mustSO(t, l, fileioSpec(t, "disk"))
	tgt, err := l.CreateTarget("iscsi", "")
	if err != nil {
		t.Fatal(err)
	}
	if configfs.ClassifyWWN(tgt.WWN) != configfs.WWNIQN {
		t.Errorf("generated iscsi WWN %q is not an IQN", tgt.WWN)
	}
	if _, err := l.CreateTarget("iscsi", "iqn.bad_name"); err == nil {
		t.Error("bad IQN accepted")
	}
	tpg, err := l.CreateTPG(tgt, 0)
	if err != nil || tpg.Tag != 1 {
		t.Fatalf("CreateTPG = %v, %v", tpg, err)
	}
	tpg2, err := l.CreateTPG(tgt, 0)
	if err != nil || tpg2.Tag != 2 {
		t.Fatalf("second CreateTPG = %v, %v", tpg2, err)
	}
	lun, err := l.CreateLUN(tpg, -1, so, "")
	if err != nil || lun.Index != 0 {
		t.Fatalf("CreateLUN = %v, %v", lun, err)
	}
	luns, err := l.LUNs(tpg)
	if err != nil || len(luns) != 1 || !luns[0].Linked || luns[0].Storage != so {
		t.Fatalf("LUNs = %+v, %v", luns, err)
	}
	acl, err := l.CreateACL(tpg, "iqn.1994-05.com.redhat:client1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.CreateMappedLUN(acl, 0, 0, true); err != nil {
		t.Fatal(err)
	}
	if _, err := l.CreateMappedLUN(acl, 1, 7, false); err == nil {
		t.Error("mapped LUN to a missing TPG LUN accepted")
	}
	mls, err := l.MappedLUNs(acl)
	if err != nil || len(mls) != 1 || mls[0].TPGLUN != 0 || !mls[0].WriteProtect {
		t.Fatalf("MappedLUNs = %+v, %v", mls, err)
	}
	if _, err := l.CreatePortal(tpg, "0.0.0.0", 3260); err != nil {
		t.Fatal(err)
	}
	if _, err := l.CreatePortal(tpg, "::1", 3260); err != nil {
		t.Fatal(err)
	}
	if _, err := l.CreatePortal(tpg, "not-an-ip", 3260); err == nil {
		t.Error("bad portal address accepted")
	}
	ps, err := l.Portals(tpg)
	if err != nil || len(ps) != 2 {
		t.Fatalf("Portals = %v, %v", ps, err)
	}
	if got, _ := l.LUNsOf(so); len(got) != 1 {
		t.Errorf("LUNsOf = %v", got)
	}
	// Deleting the storage object takes its LUN and the mapped LUN with it.
	if err := l.DeleteStorageObject(so); err != nil {
		t.Fatal(err)
	}
	if luns, _ := l.LUNs(tpg); len(luns) != 0 {
		t.Errorf("LUNs left: %v", luns)
	}
	if mls, _ := l.MappedLUNs(acl); len(mls) != 0 {
		t.Errorf("mapped LUNs left: %v", mls)
	}
	if err := l.DeleteTarget(tgt); err != nil {
		t.Fatal(err)
	}
	if ts, _ := l.Targets("iscsi"); len(ts) != 0 {
		t.Errorf("targets left: %v", ts)
	}
}

func TestLoopbackNexusAndLUN(t *testing.T) {
	l := openSim(t, t.TempDir())
	so := mustSO(t, l, configfs.StorageSpec{Plugin: "rd_mcp", Name: "r", Control: []configfs.KV{{Key: "rd_pages", Value: "16"}}})
	tgt, err := l.CreateTarget("loopback", "")
	if err != nil {
		t.Fatal(err)
	}
	if configfs.ClassifyWWN(tgt.WWN) != configfs.WWNNAA {
		t.Errorf("loopback WWN %q", tgt.WWN)
	}
	tpg, err := l.CreateTPG(tgt, 1)
	if err != nil {
		t.Fatal(err)
	}
	nx, err := l.SetNexus(tpg, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Nexus(tpg); got != nx {
		t.Errorf("nexus reads %q, wrote %q", got, nx)
	}
	if _, err := l.CreateLUN(tpg, 0, so, "r"); err != nil {
		t.Fatal(err)
	}
	if err := l.DeleteTarget(tgt); err != nil {
		t.Fatalf("delete loopback target with nexus and LUN: %v", err)
	}
}

func TestLUNToDisabledObjectRefused(t *testing.T) {
	l := openSim(t, t.TempDir())
	so := mustSO(t, l, configfs.StorageSpec{Plugin: "rd_mcp", Name: "off", NoEnable: true, Control: []configfs.KV{{Key: "rd_pages", Value: "16"}}})
	tgt, err := l.CreateTarget("iscsi", "")
	if err != nil {
		t.Fatal(err)
	}
	tpg, _ := l.CreateTPG(tgt, 1)
	_, err = l.CreateLUN(tpg, 0, so, "")
	if err == nil {
		t.Fatal("LUN to a disabled storage object accepted")
	}
	var ce *configfs.Error
	if !errors.As(err, &ce) || ce.Op != "symlink" {
		t.Errorf("error %v is not a configfs symlink error", err)
	}
	if luns, _ := l.LUNs(tpg); len(luns) != 0 {
		t.Errorf("half-made LUN left: %v", luns)
	}
}

func TestExplainedErrors(t *testing.T) {
	l := openSim(t, t.TempDir())
	so := mustSO(t, l, fileioSpec(t, "f"))
	err := l.WriteAttr(so.Path()+"/attrib/block_size", "123")
	if err == nil {
		t.Fatal("block_size=123 accepted")
	}
	if configfs.Errno(err) != syscall.EINVAL || !strings.Contains(err.Error(), "512, 1024, 2048, 4096") {
		t.Errorf("error %q does not name the allowed values", err)
	}

	// A value the kernel takes, refused because the object is exported:
	// the message says so, not that the value is outside the list.
	tgt, err := l.CreateTarget("loopback", "")
	if err != nil {
		t.Fatal(err)
	}
	tpg, err := l.CreateTPG(tgt, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.CreateLUN(tpg, 0, so, ""); err != nil {
		t.Fatal(err)
	}
	err = l.WriteAttr(so.Path()+"/attrib/block_size", "4096")
	if configfs.Errno(err) != syscall.EINVAL || !strings.Contains(err.Error(), "refuses to change block_size while the storage object is exported (1 LUN)") ||
		strings.Contains(err.Error(), "allowed:") {
		t.Errorf("block_size=4096 on an exported object: %v", err)
	}
	err = l.WriteAttr(so.Path()+"/attrib/block_size", "123")
	if !strings.Contains(err.Error(), "allowed: 512, 1024, 2048, 4096") {
		t.Errorf("block_size=123 on an exported object: %v", err)
	}
}

// TestHBAAllocationTwoProcesses runs two processes that create storage
// objects in one simulated kernel at once: no index may be used twice and
// no object may be lost.
func TestHBAAllocationTwoProcesses(t *testing.T) {
	if dir := os.Getenv("TCMSH_HBA_CHILD_DIR"); dir != "" {
		return // the child's work is in TestHBAChild
	}
	dir := t.TempDir()
	openSim(t, dir) // create the state
	const perChild = 15
	var wg sync.WaitGroup
	errs := make([]error, 2)
	outs := make([][]byte, 2)
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^TestHBAChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), "TCMSH_HBA_CHILD_DIR="+dir, "TCMSH_HBA_CHILD_ID="+strconv.Itoa(i), "TCMSH_HBA_CHILD_N="+strconv.Itoa(perChild))
			outs[i], errs[i] = cmd.CombinedOutput()
		}(i)
	}
	wg.Wait()
	for i := range errs {
		if errs[i] != nil {
			t.Fatalf("child %d: %v\n%s", i, errs[i], outs[i])
		}
	}
	l := openSim(t, dir)
	all, err := l.StorageObjects()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2*perChild {
		t.Fatalf("%d objects after two children made %d each", len(all), perChild)
	}
	seen := map[int]string{}
	for _, so := range all {
		if other, dup := seen[so.HBA]; dup {
			t.Errorf("HBA %d used by %s and %s", so.HBA, other, so.Name)
		}
		seen[so.HBA] = so.Name
	}
	for i := 0; i < 2*perChild; i++ {
		if _, ok := seen[i]; !ok {
			t.Errorf("HBA index %d skipped: allocation is not lowest-free", i)
		}
	}
}

func TestHBAChild(t *testing.T) {
	dir := os.Getenv("TCMSH_HBA_CHILD_DIR")
	if dir == "" {
		t.Skip("helper process of TestHBAAllocationTwoProcesses")
	}
	l := openSim(t, dir)
	n, _ := strconv.Atoi(os.Getenv("TCMSH_HBA_CHILD_N"))
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("c%s_%d", os.Getenv("TCMSH_HBA_CHILD_ID"), i)
		if _, err := l.CreateStorageObject(configfs.StorageSpec{Plugin: "rd_mcp", Name: name, Control: []configfs.KV{{Key: "rd_pages", Value: "1"}}}); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
	}
}

// identityAtAdd records what a TCMU handler would read when the kernel
// announces a new user device.
type identityAtAdd struct {
	fs              configfs.FS
	serial, product string
}

func (h *identityAtAdd) Added(d sim.UIODevice) error {
	s, _ := h.fs.ReadFile(d.ConfigPath + "/wwn/vpd_unit_serial")
	p, _ := h.fs.ReadFile(d.ConfigPath + "/wwn/product_id")
	h.serial, h.product = string(s), string(p)
	return nil
}
func (h *identityAtAdd) Removed(sim.UIODevice)                        {}
func (h *identityAtAdd) Reconfig(sim.UIODevice, string, string) error { return nil }
func (h *identityAtAdd) Action(sim.UIODevice, string, int) error      { return nil }

// A user backstore's identity is in place when it is enabled: a handler
// that serves it on the kernel's ADDED event (the serve daemon) reads it
// then, not after the shell's later writes.
func TestUserIdentityWrittenBeforeEnable(t *testing.T) {
	dir := t.TempDir()
	k, err := sim.Open(dir, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	h := &identityAtAdd{fs: k}
	k.SetHooks(h)
	l, err := configfs.Open(k, "/sys/kernel/config", configfs.Options{Kind: "sim", LockPath: filepath.Join(dir, "hba.lock")})
	if err != nil {
		t.Fatal(err)
	}
	serial := "0b5a9c1e-3d2f-4a61-9e7b-2f0c8d1a4b5c"
	_, err = l.CreateStorageObject(configfs.StorageSpec{Plugin: "user", Name: "u", UnitSerial: serial,
		WWN:     map[string]string{"product_id": "u-model"},
		Control: []configfs.KV{{Key: "dev_config", Value: "ram/"}, {Key: "dev_size", Value: "1048576"}, {Key: "nl_reply_supported", Value: "-1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h.serial, serial) || !strings.Contains(h.product, "u-model") {
		t.Errorf("at ADDED the handler read serial %q, product %q", h.serial, h.product)
	}
}
