//go:build realkernel

package engine_test

// The engine against a real kernel with LIO, TCMU and tcm_loop: run as
// root in a guest made by test/vm (see test/vm/gotest/README.md):
//
//	test/vm/gotest/run ./test/engine/

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/engine"
)

const configfsRoot = "/sys/kernel/config"

func realLIO(t *testing.T) *configfs.LIO {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := os.Stat(filepath.Join(configfsRoot, "target", "core")); err != nil {
		t.Skipf("no LIO in configfs: %v", err)
	}
	lio, err := configfs.Open(configfs.NewRealFS(configfsRoot), configfsRoot, configfs.Options{Kind: "real"})
	if err != nil {
		t.Fatal(err)
	}
	return lio
}

// diskOf waits for the block device of a tcm_loop LUN to appear.
func diskOf(t *testing.T, lio *configfs.LIO, tpg configfs.TPG, lun int) string {
	t.Helper()
	addr, err := lio.ReadAttr(path.Join(tpg.Path(), "address"))
	if err != nil {
		t.Fatal(err)
	}
	dir := fmt.Sprintf("/sys/class/scsi_device/%s:%d/device/block", addr, lun)
	var disk string
	eventually(t, "the LUN's block device", func() bool {
		es, err := os.ReadDir(dir)
		if err == nil && len(es) > 0 {
			disk = es[0].Name()
		}
		if disk == "" {
			return false
		}
		fi, err := os.Stat("/dev/" + disk)
		return err == nil && fi.Mode()&os.ModeDevice != 0
	})
	return disk
}

func sectors(t *testing.T, disk string) int64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/sys/block", disk, "size"))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// TestRealKernelServeWorkloadResize: a user:ram backstore served by
// engine.Local through /dev/uioN, exported by tcm_loop, exercised through
// its /dev/sdX with O_DIRECT by the workload engine; a dev_size written
// while served reaches the SCSI layer (over netlink RECONFIG) and the
// kernel sees the new capacity on rescan; Release and delete leave
// nothing.
func TestRealKernelServeWorkloadResize(t *testing.T) {
	lio := realLIO(t)
	var logs []string
	eng, err := engine.NewLocal(engine.Options{LIO: lio, Logf: func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) }})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := eng.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		t.Logf("engine log: %q", logs)
	}()
	so, err := lio.CreateStorageObject(configfsSpec("rk1", "ram/", 32*mib, false))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	defer lio.DeleteStorageObject(so)
	ctx := context.Background()
	// Served before the LUN exists: the initiator's scan goes through the
	// ring as soon as the LUN is linked.
	if err := eng.Serve(ctx, so.Path()); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	tgt, err := lio.CreateTarget("loopback", "")
	if err != nil {
		t.Fatal(err)
	}
	defer lio.DeleteTarget(tgt)
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
	disk := diskOf(t, lio, tpg, 0)
	t.Logf("LUN %s is /dev/%s", lun.Path(), disk)
	if got := sectors(t, disk); got != 32*mib/512 {
		t.Errorf("/dev/%s has %d sectors, want %d", disk, got, 32*mib/512)
	}

	res, err := eng.Workload(ctx, lun.Path(), engine.WorkloadSpec{RW: "randrw", BlockSize: 4096, QueueDepth: 16, Duration: 3 * time.Second, Verify: true})
	if err != nil {
		t.Fatalf("Workload: %v", err)
	}
	t.Logf("workload through /dev/%s: %d ops, %.0f IOPS, p50 %.0fµs p99 %.0fµs, %d retries", disk, res.Ops, res.IOPS, res.LatP50us, res.LatP99us, res.Retries)
	if res.Ops == 0 || res.Errors != 0 || res.VerifyErrors != 0 {
		t.Fatalf("workload: ops %d errors %d verify errors %d (%s)", res.Ops, res.Errors, res.VerifyErrors, res.FirstError)
	}
	// The ring accounts a command just after it notifies the kernel: wait
	// for the last completions to be counted.
	var st engine.DeviceStats
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		all, err := eng.Stats(ctx)
		if err != nil || len(all) != 1 {
			t.Fatalf("Stats: %v %+v", err, all)
		}
		if st = all[0]; st.Commands >= uint64(res.Ops) || time.Now().After(deadline) {
			break
		}
	}
	t.Logf("stats: %s %s up=%v commands=%d read=%d written=%d ring %d/%d data %d/%d inflight max %d p50 %.0fµs opcodes %v",
		st.Path, st.UIO, st.Up, st.Commands, st.ReadBytes, st.WriteBytes, st.RingUsedMaxBytes, st.RingSizeBytes, st.DataUsedMaxBytes, st.DataSizeBytes, st.InflightMax, st.LatP50us, st.ByOpcode)
	if !st.Up || st.Commands < uint64(res.Ops) || st.ReadBytes == 0 || st.WriteBytes == 0 || st.RingSizeBytes != 8*mib-128 {
		t.Errorf("stats do not show the traffic: %+v", st)
	}
	// The sd driver's scan went through the handler too.
	seen := map[string]bool{}
	for _, o := range st.ByOpcode {
		seen[o.Name] = true
	}
	for _, want := range []string{"INQUIRY", "READ CAPACITY(10)", "MODE SENSE(6)"} {
		if !seen[want] && !(want == "READ CAPACITY(10)" && seen["SERVICE ACTION IN(16)"]) && !(want == "MODE SENSE(6)" && seen["MODE SENSE(10)"]) {
			t.Errorf("no %s in the device's statistics (the initiator's scan): %v", want, st.ByOpcode)
		}
	}

	// RECONFIG: a bigger dev_size reaches the disk; a rescan shows it.
	if err := lio.WriteAttr(path.Join(so.Path(), "attrib", "dev_size"), strconv.Itoa(48*mib)); err != nil {
		t.Fatalf("write dev_size: %v", err)
	}
	addr, _ := lio.ReadAttr(path.Join(tpg.Path(), "address"))
	rescan := fmt.Sprintf("/sys/class/scsi_device/%s:0/device/rescan", addr)
	eventually(t, "the kernel to see the new capacity", func() bool {
		_ = os.WriteFile(rescan, []byte("1"), 0o200)
		return sectors(t, disk) == 48*mib/512
	})

	// Release: the device is left blocked and the ring reset; a second
	// Serve attaches it again.
	if err := eng.Release(ctx, so.Path()); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if err := eng.Serve(ctx, so.Path()); err != nil {
		t.Fatalf("Serve after Release: %v", err)
	}
	res, err = eng.Workload(ctx, lun.Path(), engine.WorkloadSpec{RW: "randrw", BlockSize: 4096, QueueDepth: 4, Count: 500, Verify: true})
	if err != nil || res.Errors != 0 || res.VerifyErrors != 0 {
		t.Fatalf("workload after re-serving: %v %+v", err, res)
	}
	if err := eng.Release(ctx, so.Path()); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if err := lio.DeleteTarget(tgt); err != nil {
		t.Fatalf("delete target: %v", err)
	}
	if err := lio.DeleteStorageObject(so); err != nil {
		t.Fatalf("delete backstore: %v", err)
	}
}

// TestRealKernelBusyNamesTheHolder: a uio device held open by another
// process (here: this one, outside the engine) is refused with a message
// that names the likely holder, and the ring is not reset under it.
func TestRealKernelBusyNamesTheHolder(t *testing.T) {
	lio := realLIO(t)
	eng, err := engine.NewLocal(engine.Options{LIO: lio, NoNetlink: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	so, err := lio.CreateStorageObject(configfsSpec("rk2", "ram/", 8*mib, false))
	if err != nil {
		t.Fatal(err)
	}
	defer lio.DeleteStorageObject(so)
	var minor = -1
	es, _ := os.ReadDir("/sys/class/uio")
	for _, e := range es {
		b, _ := os.ReadFile(filepath.Join("/sys/class/uio", e.Name(), "name"))
		if strings.Contains(string(b), "/rk2/") {
			minor, _ = strconv.Atoi(strings.TrimPrefix(e.Name(), "uio"))
		}
	}
	if minor < 0 {
		t.Fatal("no uio device for rk2")
	}
	fd, err := unix.Open(fmt.Sprintf("/dev/uio%d", minor), unix.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	err = eng.Serve(context.Background(), so.Path())
	unix.Close(fd)
	if err == nil || !errors.Is(err, syscall.EBUSY) || !strings.Contains(err.Error(), "tcmu-runner") {
		t.Fatalf("Serve of a device held elsewhere: %v", err)
	}
	if err := eng.Serve(context.Background(), so.Path()); err != nil {
		t.Fatalf("Serve once released: %v", err)
	}
	if err := eng.Release(context.Background(), so.Path()); err != nil {
		t.Fatal(err)
	}
}

// childEnv tells a re-executed test binary to serve one backstore and wait
// to be killed.
const childEnv = "TCMSH_ENGINE_TEST_SERVE"

// TestMain turns the binary into the serving process of
// TestRealKernelReattachAfterKill when it re-executes itself with childEnv
// set: it serves that backstore until it is killed.
func TestMain(m *testing.M) {
	if configPath := os.Getenv(childEnv); configPath != "" {
		os.Exit(childServer(configPath))
	}
	os.Exit(m.Run())
}

func childServer(configPath string) int {
	lio, err := configfs.Open(configfs.NewRealFS(configfsRoot), configfsRoot, configfs.Options{Kind: "real"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	eng, err := engine.NewLocal(engine.Options{LIO: lio, NoNetlink: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := eng.Serve(context.Background(), configPath); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("SERVING")
	select {} // until SIGKILL
}

// TestRealKernelReattachAfterKill: a process serving a file backstore is
// killed (SIGKILL) in the middle of a verifying workload; this process
// serves the device next, through the reattach recipe, and the workload
// finishes without an error or a wrong byte: the commands the dead
// process held are answered BUSY by reset_ring and retried by the SCSI
// layer.
func TestRealKernelReattachAfterKill(t *testing.T) {
	lio := realLIO(t)
	img := filepath.Join(t.TempDir(), "disk.img")
	so, err := lio.CreateStorageObject(configfsSpec("rk3", "file/"+img+";grow=true", 16*mib, false))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	defer lio.DeleteStorageObject(so)
	tgt, err := lio.CreateTarget("loopback", "")
	if err != nil {
		t.Fatal(err)
	}
	defer lio.DeleteTarget(tgt)
	tpg, err := lio.CreateTPG(tgt, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lio.SetNexus(tpg, ""); err != nil {
		t.Fatal(err)
	}

	child := exec.Command(os.Args[0])
	child.Env = append(os.Environ(), childEnv+"="+so.Path())
	child.Stderr = os.Stderr
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	line := make([]byte, 0, 64)
	for !strings.Contains(string(line), "SERVING") {
		var b [1]byte
		if _, err := out.Read(b[:]); err != nil {
			t.Fatalf("the child never served: %v (%q)", err, line)
		}
		line = append(line, b[0])
	}

	lun, err := lio.CreateLUN(tpg, 0, so, "")
	if err != nil {
		t.Fatal(err)
	}
	disk := diskOf(t, lio, tpg, 0)
	eng, err := engine.NewLocal(engine.Options{LIO: lio})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	ctx := context.Background()
	type result struct {
		res engine.WorkloadResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := eng.Workload(ctx, lun.Path(), engine.WorkloadSpec{RW: "randrw", BlockSize: 4096, QueueDepth: 16, Duration: 4 * time.Second, Verify: true})
		done <- result{res, err}
	}()
	time.Sleep(time.Second) // a schedule, not an assertion: kill mid-workload
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	t.Logf("killed the serving process; /dev/%s waits for a handler", disk)
	if err := eng.Serve(ctx, so.Path()); err != nil {
		t.Fatalf("Serve after the kill: %v", err)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("Workload: %v", r.err)
	}
	t.Logf("workload across the kill: %d ops, %d errors, %d verify errors, p99 %.0fµs max %.0fµs", r.res.Ops, r.res.Errors, r.res.VerifyErrors, r.res.LatP99us, r.res.LatMaxus)
	if r.res.Ops == 0 || r.res.Errors != 0 || r.res.VerifyErrors != 0 {
		t.Fatalf("workload across the kill: %+v", r.res)
	}
	st, _ := eng.Stats(ctx)
	if len(st) != 1 || !st[0].Up || st[0].Commands == 0 {
		t.Fatalf("stats after the reattach: %+v", st)
	}
	if err := eng.Release(ctx, so.Path()); err != nil {
		t.Fatal(err)
	}
}

// TestRealKernelAutoServe: with AutoServe, a backstore enabled after the
// engine started is served from its netlink ADDED event, and one of a
// subtype tcmsh has no handler for is left alone.
func TestRealKernelAutoServe(t *testing.T) {
	lio := realLIO(t)
	eng, err := engine.NewLocal(engine.Options{LIO: lio, AutoServe: true, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	so, err := lio.CreateStorageObject(configfsSpec("rk4", "ram/", 8*mib, false))
	if err != nil {
		t.Fatal(err)
	}
	defer lio.DeleteStorageObject(so)
	foreign, err := lio.CreateStorageObject(configfsSpec("rk5", "qcow/x", 8*mib, false))
	if err != nil {
		t.Fatal(err)
	}
	defer lio.DeleteStorageObject(foreign)
	eventually(t, "the new backstore to be served", func() bool {
		st, _ := eng.Stats(context.Background())
		return len(st) == 1 && st[0].ConfigPath == so.Path() && st[0].Up
	})
	if err := eng.Release(context.Background(), so.Path()); err != nil {
		t.Fatal(err)
	}
}
