package uio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcmsh/tcmsh/tcmu"
	"golang.org/x/sys/unix"
)

// regionFile writes a stand-in for a TCMU region: size bytes with the
// mailbox version at offset 0.
func regionFile(t *testing.T, dir, name string, size int, version uint16) string {
	t.Helper()
	b := make([]byte, size)
	binary.LittleEndian.PutUint16(b, version)
	binary.LittleEndian.PutUint32(b[4:], 128) // cmdr_off
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func testInfo(size uint64) Info {
	n, _ := ParseName("tcm-user/0/disk/ram/x")
	return Info{Name: n, UIO: "uio0", Minor: 0, RawName: n.String(), MapSize: size, Version: "2"}
}

func TestOpenMapsRegionShared(t *testing.T) {
	dev := t.TempDir()
	p := regionFile(t, dev, "uio0", 2*4096, 2)
	d, err := Open(testInfo(2*4096), dev)
	if err != nil {
		t.Fatal(err)
	}
	r := d.Region()
	if len(r) != 2*4096 {
		t.Fatalf("region is %d bytes", len(r))
	}
	if v := binary.LittleEndian.Uint16(r); v != 2 {
		t.Fatalf("mailbox version %d", v)
	}
	// MAP_SHARED: a store through the region reaches the file.
	copy(r[64:], "tail")
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b[64:68], []byte("tail")) {
		t.Fatalf("store did not reach the shared file: %q", b[64:68])
	}
	if d.Region() != nil {
		t.Error("Region still set after Close")
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := d.Wait(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Wait after Close = %v", err)
	}
	if err := d.Notify(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Notify after Close = %v", err)
	}
}

func TestOpenRefuses(t *testing.T) {
	dev := t.TempDir()
	regionFile(t, dev, "uio0", 4096, 2)
	regionFile(t, dev, "uio1", 4096, 1)

	bad := testInfo(4096)
	bad.Version = "1"
	if _, err := Open(bad, dev); !errors.Is(err, ErrVersion) || !strings.Contains(err.Error(), `says "1"`) {
		t.Errorf("uio version 1: %v", err)
	}

	old := testInfo(4096)
	old.UIO = "uio1"
	if _, err := Open(old, dev); !errors.Is(err, ErrVersion) || !strings.Contains(err.Error(), "mailbox version 1") {
		t.Errorf("mailbox version 1: %v", err)
	}

	small := testInfo(64)
	if _, err := Open(small, dev); err == nil || !strings.Contains(err.Error(), "smaller than") {
		t.Errorf("64-byte map: %v", err)
	}

	incomplete := testInfo(4096)
	incomplete.Err = errors.New("maps/map0/size: missing")
	if _, err := Open(incomplete, dev); err == nil || !strings.Contains(err.Error(), "maps/map0/size") {
		t.Errorf("incomplete info: %v", err)
	}

	gone := testInfo(4096)
	gone.UIO = "uio7"
	_, err := Open(gone, dev)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "devtmpfs") || !strings.Contains(err.Error(), "tcm-user/0/disk/ram/x") {
		t.Errorf("missing node: %v", err)
	}
}

func TestBusyErrorNamesDeviceAndRunner(t *testing.T) {
	e := &Error{Op: "open", Device: "/dev/uio3 (tcm-user/0/disk/file/x)", Err: syscall.EBUSY, Hint: hintFor(syscall.EBUSY)}
	msg := e.Error()
	for _, want := range []string{"/dev/uio3", "tcm-user/0/disk/file/x", "another handler", "tcmu-runner"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}
	if !errors.Is(e, syscall.EBUSY) {
		t.Error("not errors.Is EBUSY")
	}
}

// socketDevice stands in for /dev/uioN: one end of a socket pair carries
// the 4-byte reads and writes; the test holds the other (the "kernel").
func socketDevice(t *testing.T, forcePoll bool) (*Device, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[1]) })
	rf := regionFile(t, t.TempDir(), "region", 4096, 2)
	rfd, err := unix.Open(rf, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	info := testInfo(4096)
	region, err := mapRegion(rfd, info)
	unix.Close(rfd)
	if err != nil {
		t.Fatal(err)
	}
	d, err := newDevice(info, fds[0], "/dev/uio0", region, forcePoll)
	if err != nil {
		t.Fatal(err)
	}
	if d.polled == forcePoll {
		t.Fatalf("polled = %v with forcePoll = %v", d.polled, forcePoll)
	}
	t.Cleanup(func() { d.Close() })
	return d, fds[1]
}

func waitAsync(d *Device) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- d.Wait() }()
	return ch
}

func expectBlocked(t *testing.T, ch <-chan error) {
	t.Helper()
	select {
	case err := <-ch:
		t.Fatalf("Wait returned early: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
}

func expect(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return")
		return nil
	}
}

func forBothPaths(t *testing.T, fn func(t *testing.T, forcePoll bool)) {
	t.Run("runtime-poller", func(t *testing.T) { fn(t, false) })
	t.Run("poll-eventfd", func(t *testing.T) { fn(t, true) })
}

func TestWaitNotify(t *testing.T) {
	forBothPaths(t, func(t *testing.T, forcePoll bool) {
		d, kernel := socketDevice(t, forcePoll)
		for i := range 3 {
			ch := waitAsync(d)
			expectBlocked(t, ch)
			var ev [4]byte
			binary.NativeEndian.PutUint32(ev[:], uint32(i+1))
			if _, err := unix.Write(kernel, ev[:]); err != nil {
				t.Fatal(err)
			}
			if err := expect(t, ch); err != nil {
				t.Fatalf("Wait: %v", err)
			}
		}
		if err := d.Notify(); err != nil {
			t.Fatal(err)
		}
		var b [16]byte
		n, err := unix.Read(kernel, b[:])
		if err != nil || n != 4 {
			t.Fatalf("kernel read %d bytes, %v; want the 4-byte notify", n, err)
		}
	})
}

func TestCloseUnblocksWait(t *testing.T) {
	forBothPaths(t, func(t *testing.T, forcePoll bool) {
		d, _ := socketDevice(t, forcePoll)
		ch := waitAsync(d)
		expectBlocked(t, ch)
		done := make(chan error, 1)
		go func() { done <- d.Close() }()
		if err := expect(t, ch); !errors.Is(err, os.ErrClosed) {
			t.Fatalf("Wait after Close = %v, want os.ErrClosed", err)
		}
		if err := expect(t, done); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if d.Region() != nil {
			t.Error("region not released")
		}
	})
}

func TestStopWaitingEndsWaitWithoutClosing(t *testing.T) {
	forBothPaths(t, func(t *testing.T, forcePoll bool) {
		d, kernel := socketDevice(t, forcePoll)
		ch := waitAsync(d)
		expectBlocked(t, ch)
		d.StopWaiting()
		if err := expect(t, ch); !errors.Is(err, tcmu.ErrWaitStopped) {
			t.Fatalf("Wait after StopWaiting = %v, want tcmu.ErrWaitStopped", err)
		}
		// Every later Wait returns at once; the device still notifies.
		if err := expect(t, waitAsync(d)); !errors.Is(err, tcmu.ErrWaitStopped) {
			t.Fatalf("second Wait = %v, want tcmu.ErrWaitStopped", err)
		}
		if err := d.Notify(); err != nil {
			t.Fatalf("Notify after StopWaiting: %v", err)
		}
		var b [16]byte
		if n, err := unix.Read(kernel, b[:]); err != nil || n != 4 {
			t.Fatalf("kernel read %d bytes, %v; want the 4-byte notify", n, err)
		}
		if err := d.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		d.StopWaiting() // after Close: nothing happens
	})
}

// TestWaitNotifyAllocateNothing: an event waited for and a completion
// notified cost no allocation on Open's path (poll(2) and an eventfd), as
// the ring's hot path requires.
func TestWaitNotifyAllocateNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not those of a normal build under -race")
	}
	d, kernel := socketDevice(t, true)
	var ev, got [4]byte
	round := func() {
		if _, err := unix.Write(kernel, ev[:]); err != nil {
			t.Fatal(err)
		}
		if err := d.Wait(); err != nil {
			t.Fatal(err)
		}
		if err := d.Notify(); err != nil {
			t.Fatal(err)
		}
		if _, err := unix.Read(kernel, got[:]); err != nil {
			t.Fatal(err)
		}
	}
	round()
	if allocs := testing.AllocsPerRun(200, round); allocs != 0 {
		t.Fatalf("%v allocations per event and notify", allocs)
	}
}

// TestBoundWaiter: after BindWaiter, Wait on the bound thread takes
// events by a blocking read, and StopWaiting or Close end it.
func TestBoundWaiter(t *testing.T) {
	for _, end := range []string{"StopWaiting", "Close"} {
		t.Run(end, func(t *testing.T) {
			d, kernel := socketDevice(t, true)
			ready := make(chan struct{})
			ch := make(chan error, 2)
			go func() {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				d.BindWaiter()
				close(ready)
				ch <- d.Wait()
				ch <- d.Wait()
			}()
			<-ready
			if d.waiter.Load() == 0 {
				t.Fatal("BindWaiter bound no thread")
			}
			if _, err := unix.Write(kernel, []byte{1, 0, 0, 0}); err != nil {
				t.Fatal(err)
			}
			if err := expect(t, ch); err != nil {
				t.Fatalf("Wait: %v", err)
			}
			expectBlocked(t, ch)
			want := tcmu.ErrWaitStopped
			if end == "Close" {
				want = os.ErrClosed
				go d.Close()
			} else {
				d.StopWaiting()
			}
			if err := expect(t, ch); !errors.Is(err, want) {
				t.Fatalf("Wait after %s = %v, want %v", end, err, want)
			}
		})
	}
}

// TestMovedWaiter: after MoveWaiter on another thread, Wait blocks there
// and StopWaiting ends it (the signal goes to the thread named last).
func TestMovedWaiter(t *testing.T) {
	d, kernel := socketDevice(t, true)
	bound := make(chan int32)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		d.BindWaiter()
		bound <- d.waiter.Load()
	}()
	first := <-bound
	if first == 0 {
		t.Fatal("BindWaiter bound no thread")
	}
	// The first goroutine's thread ended with it (a goroutine that exits
	// locked takes its thread along): the second waits on another one.
	moved := make(chan int32)
	ch := make(chan error, 2)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		d.MoveWaiter()
		moved <- int32(unix.Gettid())
		ch <- d.Wait()
		ch <- d.Wait()
	}()
	tid := <-moved
	if got := d.waiter.Load(); got != tid {
		t.Fatalf("waiter %d after MoveWaiter on thread %d (bound first: %d)", got, tid, first)
	}
	if _, err := unix.Write(kernel, []byte{1, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	if err := expect(t, ch); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	expectBlocked(t, ch)
	d.StopWaiting()
	if err := expect(t, ch); !errors.Is(err, tcmu.ErrWaitStopped) {
		t.Fatalf("Wait after StopWaiting = %v, want %v", err, tcmu.ErrWaitStopped)
	}
}

// TestMoveWaiterUnbound: without a bound waiter MoveWaiter binds nothing
// (Wait stays on the poll path).
func TestMoveWaiterUnbound(t *testing.T) {
	d, _ := socketDevice(t, true)
	d.MoveWaiter()
	if got := d.waiter.Load(); got != 0 {
		t.Fatalf("MoveWaiter without BindWaiter bound thread %d", got)
	}
}

// TestPollPathStaysOutOfRuntimePoller: on the poll(2) path the device's
// descriptor is in no epoll set of the process (the runtime poller's
// included), or the poller's thread would wake at every event of the
// device.
func TestPollPathStaysOutOfRuntimePoller(t *testing.T) {
	d, _ := socketDevice(t, true)
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	want := fmt.Sprintf("tfd: %8d ", d.fd)
	epolls := 0
	for _, e := range entries {
		link, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil || link != "anon_inode:[eventpoll]" {
			continue
		}
		epolls++
		info, err := os.ReadFile("/proc/self/fdinfo/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(info), want) {
			t.Fatalf("the device's descriptor %d is in epoll set %s:\n%s", d.fd, e.Name(), info)
		}
	}
	// The runtime poller exists by now (the test's temporary files and
	// timers use it), so the check above looked at it.
	if epolls == 0 {
		t.Skip("no epoll descriptor in this process to look at")
	}
	flags, err := unix.FcntlInt(uintptr(d.fd), unix.F_GETFL, 0)
	if err != nil || flags&unix.O_NONBLOCK == 0 {
		t.Fatalf("descriptor flags %#x (%v): want O_NONBLOCK until a waiter binds", flags, err)
	}
}

func TestWaitAfterKernelHangup(t *testing.T) {
	forBothPaths(t, func(t *testing.T, forcePoll bool) {
		d, kernel := socketDevice(t, forcePoll)
		ch := waitAsync(d)
		expectBlocked(t, ch)
		unix.Shutdown(kernel, unix.SHUT_RDWR)
		if err := expect(t, ch); err == nil {
			t.Fatal("Wait returned nil after the other end went away")
		}
	})
}

func TestShortEventIsAnError(t *testing.T) {
	forBothPaths(t, func(t *testing.T, forcePoll bool) {
		d, kernel := socketDevice(t, forcePoll)
		if _, err := unix.Write(kernel, []byte{1, 2}); err != nil {
			t.Fatal(err)
		}
		if err := expect(t, waitAsync(d)); err == nil || !strings.Contains(err.Error(), "read 2 bytes") {
			t.Fatalf("Wait = %v", err)
		}
	})
}

func TestRemovedDeviceError(t *testing.T) {
	d := &Device{path: "/dev/uio4"}
	err := d.ioErr("wait", &os.PathError{Op: "read", Path: "/dev/uio4", Err: syscall.EIO})
	if !errors.Is(err, ErrRemoved) || !errors.Is(err, syscall.EIO) || !strings.Contains(err.Error(), "/dev/uio4") {
		t.Fatalf("err = %v", err)
	}
	// A write to a removed uio device fails with EINVAL.
	if err := d.ioErr("notify", syscall.EINVAL); !errors.Is(err, ErrRemoved) {
		t.Fatalf("notify EINVAL = %v", err)
	}
	if err := d.ioErr("wait", syscall.EINVAL); errors.Is(err, ErrRemoved) {
		t.Fatalf("wait EINVAL taken for removal: %v", err)
	}
}
