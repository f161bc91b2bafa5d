//go:build linux && realkernel

// Tests against a real kernel with LIO, target_core_user and uio loaded and
// configfs mounted (the qemu guest): go test -c -tags realkernel, run as
// root in the guest. They create and remove their own backstore under
// user_<realHBA>.
package uio

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/tcmu"
)

const realHBA = 97

// realBackstore creates an enabled user backstore and removes it when the
// test ends. nl_reply_supported=-1 keeps the enable from waiting for a
// netlink reply whatever the module's reply mode.
func realBackstore(t *testing.T, name, devConfig string) (configfs.FS, string) {
	t.Helper()
	root := "/sys/kernel/config"
	if _, err := os.Stat(path.Join(root, "target", "core")); err != nil {
		t.Skipf("no LIO configfs: %v", err)
	}
	fsys := configfs.NewRealFS(root)
	hba := path.Join("target/core", "user_"+strconv.Itoa(realHBA))
	so := path.Join(hba, name)
	if err := fsys.Mkdir(hba); err != nil && !errors.Is(err, syscall.EEXIST) {
		t.Fatal(err)
	}
	if err := fsys.Mkdir(so); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := fsys.Rmdir(so); err != nil && !errors.Is(err, syscall.ENOENT) {
			t.Errorf("cleanup: %v", err)
		}
		fsys.Rmdir(hba)
	})
	ctl := "dev_size=16777216,dev_config=" + devConfig + ",nl_reply_supported=-1"
	if err := fsys.WriteFile(path.Join(so, "control"), []byte(ctl)); err != nil {
		t.Fatal(err)
	}
	if err := fsys.WriteFile(path.Join(so, "enable"), []byte("1")); err != nil {
		t.Fatal(err)
	}
	return fsys, so
}

func findReal(t *testing.T, device string) Info {
	t.Helper()
	infos, err := Scan("")
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range infos {
		if in.Device == device && in.HBA == realHBA {
			return in
		}
	}
	t.Fatalf("device %s not among %+v", device, infos)
	return Info{}
}

func TestRealKernelDevice(t *testing.T) {
	fsys, so := realBackstore(t, "uiotest", "tcmshtest/some/where")
	info := findReal(t, "uiotest")
	if info.Err != nil || info.Subtype != "tcmshtest" || info.CfgString != "some/where" || info.Version != "2" ||
		info.ConfigPath() != so || info.MapSize < 1<<20 {
		t.Fatalf("info %+v", info)
	}
	t.Logf("%s: %s, map size %#x", info.UIO, info.RawName, info.MapSize)

	attrs, err := ReadAttributes(fsys, info.ConfigPath())
	if err != nil {
		t.Fatal(err)
	}
	if attrs.BlockSize != 512 || attrs.Size != 16777216 || attrs.MaxSectors != 128 || attrs.WriteCache {
		t.Errorf("attributes %+v", attrs)
	}
	t.Logf("attributes %+v", attrs)

	d, err := Open(info, "")
	if err != nil {
		t.Fatal(err)
	}
	if d.polled {
		t.Error("Open chose the runtime poller: the ring's thread should wait in the kernel itself (read or poll(2))")
	}
	if len(d.Region()) != int(info.MapSize) {
		t.Errorf("region %d bytes", len(d.Region()))
	}
	if _, err := Open(info, ""); !errors.Is(err, syscall.EBUSY) {
		t.Errorf("second open: %v, want EBUSY", err)
	} else {
		t.Logf("second open: %v", err)
	}
	if err := d.Notify(); err != nil {
		t.Errorf("Notify: %v", err)
	}
	waited := make(chan error, 1)
	go func() { waited <- d.Wait() }()
	select {
	case err := <-waited:
		t.Fatalf("Wait returned with no command queued: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-waited:
		if !errors.Is(err, os.ErrClosed) {
			t.Errorf("Wait after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock Wait")
	}

	// The device is free again; reattach through the action files.
	d, err = Reattach(fsys, info, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	runners, err := FindRunners("", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("tcmu-runner processes: %+v", runners)
}

func TestRealKernelRemovalWakesWait(t *testing.T) {
	fsys, so := realBackstore(t, "gone", "tcmshtest/gone")
	info := findReal(t, "gone")
	d, err := Open(info, "")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	waited := make(chan error, 1)
	go func() { waited <- d.Wait() }()
	time.Sleep(100 * time.Millisecond)
	if err := fsys.Rmdir(so); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-waited:
		t.Logf("Wait after the backstore was removed: %v", err)
		if !errors.Is(err, ErrRemoved) {
			t.Errorf("want ErrRemoved")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("removing the backstore did not wake Wait")
	}
	if err := d.Notify(); !errors.Is(err, ErrRemoved) {
		t.Errorf("Notify after removal: %v", err)
	}
}

// TestRealKernelBoundWaiter: a thread bound with BindWaiter waits in a
// blocking read of the real uio device; StopWaiting ends it (SIGURG and
// O_NONBLOCK), and so does the removal of the backstore.
func TestRealKernelBoundWaiter(t *testing.T) {
	fsys, so := realBackstore(t, "bound", "tcmshtest/bound")
	info := findReal(t, "bound")
	boundWait := func(d *Device) <-chan error {
		ready := make(chan struct{})
		waited := make(chan error, 1)
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			if err := d.bindWaiter(); err != nil {
				t.Errorf("BindWaiter: %v (fd %d)", err, d.fd)
			}
			close(ready)
			waited <- d.Wait()
		}()
		<-ready
		if d.waiter.Load() == 0 {
			t.Fatal("BindWaiter bound no thread")
		}
		select {
		case err := <-waited:
			t.Fatalf("bound Wait returned with no command queued: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
		return waited
	}

	d, err := Open(info, "")
	if err != nil {
		t.Fatal(err)
	}
	waited := boundWait(d)
	d.StopWaiting()
	select {
	case err := <-waited:
		if !errors.Is(err, tcmu.ErrWaitStopped) {
			t.Errorf("bound Wait after StopWaiting: %v, want tcmu.ErrWaitStopped", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("StopWaiting did not end the blocking read")
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	d, err = Reattach(fsys, info, "")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	waited = boundWait(d)
	if err := fsys.Rmdir(so); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-waited:
		if !errors.Is(err, ErrRemoved) {
			t.Errorf("bound Wait after the backstore was removed: %v, want ErrRemoved", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("removing the backstore did not wake the bound Wait")
	}
}

// TestRealKernelBusyNamesRunner holds a real device open from a process
// named tcmu-runner: Open must fail with EBUSY naming that process.
func TestRealKernelBusyNamesRunner(t *testing.T) {
	realBackstore(t, "busy", "tcmshtest/busy")
	info := findReal(t, "busy")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	link := path.Join(t.TempDir(), RunnerComm)
	if err := os.Symlink(self, link); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(link, "-test.run=^TestHelperHoldDevice$")
	cmd.Env = append(os.Environ(), "TCMSH_HOLD="+info.DevPath(""))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("helper: %q, %v", line, err)
	}
	_, err = Open(info, "")
	t.Logf("open while held: %v", err)
	if !errors.Is(err, syscall.EBUSY) || !strings.Contains(err.Error(), "pid "+strconv.Itoa(cmd.Process.Pid)) {
		t.Errorf("want EBUSY naming pid %d", cmd.Process.Pid)
	}
}
