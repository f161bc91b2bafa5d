package uio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tcmsh/tcmsh/tcmu"
	"golang.org/x/sys/unix"
)

// mailboxSize is the size of struct tcmu_mailbox: the smallest region that
// can be a TCMU shared region.
const mailboxSize = 128

// Device is an opened TCMU uio device: /dev/uioN held exclusively and its
// shared region mapped MAP_SHARED. It implements tcmu.Device.
//
// Wait, Notify and Close may be called from different goroutines. Wait may
// be called by one goroutine at a time (a uio read consumes the event
// count, so two waiters would share events unpredictably). Close unblocks a
// waiting Wait, waits for Wait and Notify calls in progress to return, then
// unmaps the region: nobody may touch the slice Region returned once Close
// has been called (the pages are gone and an access faults). Stop the ring
// loop before calling Close, or let the ring loop call it.
type Device struct {
	info   Info
	path   string
	region []byte

	// Exactly one of the two waiting mechanisms is in use. Open's is
	// poll(2) on fd and on the eventfd wake, then a 4-byte read: the
	// waiting thread sleeps in the kernel and runs on as soon as it
	// wakes, as a C handler's does; Close and StopWaiting write to wake.
	// With the Go runtime poller (polled; tests), Wait is a 4-byte Read
	// of file, which parks the goroutine until the poller's thread hears
	// of the event and wakes another: Close of file ends it, a read
	// deadline in the past stops it.
	file   *os.File
	polled bool
	fd     int
	wake   int
	fds    [2]unix.PollFd // Wait's, kept here so that waiting allocates nothing

	closed  atomic.Bool
	stopped atomic.Bool // StopWaiting was called
	// waiter is the thread BindWaiter bound (0: none). Wait is then a
	// blocking read on that thread, and ending it takes O_NONBLOCK on
	// the descriptor and a signal to the thread.
	waiter    atomic.Int32
	mu        sync.RWMutex // held shared by Wait and Notify, exclusively by Close's teardown
	closeOnce sync.Once
	closeErr  error
}

var (
	_ tcmu.Device          = (*Device)(nil)
	_ tcmu.StoppableWaiter = (*Device)(nil)
)

// Open opens the TCMU device info describes: an exclusive open of
// <devDir>/uioN (devDir "" means DefaultDev), a MAP_SHARED mapping of
// exactly info.MapSize bytes, and checks that both the uio version file and
// the mailbox version say 2. A device already open elsewhere fails with an
// error wrapping syscall.EBUSY whose text says that another handler, for
// example tcmu-runner, serves it.
//
// Open leaves the ring as it finds it. A ring that may hold commands of an
// earlier handler is attached with Reattach.
//
// Open is safe for concurrent use (the kernel lets one opener win).
func Open(info Info, devDir string) (*Device, error) {
	fd, path, err := openNode(info, devDir)
	if err != nil {
		return nil, err
	}
	region, err := mapRegion(fd, info)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	d, err := newDevice(info, fd, path, region, true)
	if err != nil {
		unix.Munmap(region)
		unix.Close(fd)
		return nil, err
	}
	return d, nil
}

// openNode checks what sysfs said and opens the device node.
func openNode(info Info, devDir string) (int, string, error) {
	path := info.DevPath(devDir)
	label := path
	if info.RawName != "" {
		label += " (" + info.RawName + ")"
	}
	if info.Err != nil {
		return -1, path, &Error{Op: "open", Device: label, Err: info.Err}
	}
	if info.Version != strconv.Itoa(InterfaceVersion) {
		return -1, path, &Error{Op: "open", Device: label,
			Err:  fmt.Errorf("%w: the uio version file says %q, tcmsh speaks %d", ErrVersion, info.Version, InterfaceVersion),
			Hint: "this kernel's target_core_user is not supported"}
	}
	if err := checkMapSize(info.MapSize); err != nil {
		return -1, path, &Error{Op: "open", Device: label, Err: err}
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		errno := errnoOf(err)
		hint := hintFor(errno)
		if errno == unix.EBUSY {
			hint = busyHint(DefaultProc, devDir, info.Minor)
		}
		return -1, path, &Error{Op: "open", Device: label, Err: err, Hint: hint}
	}
	return fd, path, nil
}

func checkMapSize(size uint64) error {
	if size < mailboxSize {
		return fmt.Errorf("map size %d is smaller than the %d-byte mailbox", size, mailboxSize)
	}
	if size > math.MaxInt {
		return fmt.Errorf("map size %#x does not fit this process's address space", size)
	}
	return nil
}

// mapRegion maps the whole region and checks the mailbox version.
func mapRegion(fd int, info Info) ([]byte, error) {
	if err := checkMapSize(info.MapSize); err != nil {
		return nil, &Error{Op: "mmap", Device: info.UIO, Err: err}
	}
	region, err := unix.Mmap(fd, 0, int(info.MapSize), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, &Error{Op: "mmap", Device: info.UIO, Err: fmt.Errorf("%d bytes: %w", info.MapSize, err)}
	}
	// The mailbox version is the u16 at offset 0, little-endian on every
	// architecture TCMU runs on here.
	if v := binary.LittleEndian.Uint16(region[0:2]); v != InterfaceVersion {
		unix.Munmap(region)
		return nil, &Error{Op: "check version", Device: info.UIO,
			Err:  fmt.Errorf("%w: mailbox version %d, tcmsh speaks %d", ErrVersion, v, InterfaceVersion),
			Hint: "this kernel's target_core_user is not supported"}
	}
	return region, nil
}

// newDevice wraps an open, non-blocking descriptor and its mapped region.
// It takes ownership of fd. forcePoll selects the poll(2) path even where
// the runtime poller would accept fd (Open does: see Device.fds).
func newDevice(info Info, fd int, path string, region []byte, forcePoll bool) (*Device, error) {
	// os.NewFile adds a descriptor it finds in non-blocking mode to the
	// runtime poller's epoll set, where it stays whatever Fd does later:
	// the poller's thread would then wake at every event of the device
	// (one per command on a busy ring) for a descriptor nobody waits on
	// through it. The poll(2) path hands it over in blocking mode.
	if err := unix.SetNonblock(fd, !forcePoll); err != nil {
		return nil, &Error{Op: "open", Device: path, Err: err}
	}
	d := &Device{info: info, path: path, region: region, fd: fd, wake: -1}
	d.file = os.NewFile(uintptr(fd), path)
	// SetReadDeadline fails with os.ErrNoDeadline exactly when the runtime
	// poller did not accept the descriptor; then a Read would not be
	// interrupted by Close, so Wait uses poll(2) with an eventfd instead.
	if !forcePoll && d.file.SetReadDeadline(time.Time{}) == nil {
		d.polled = true
		return d, nil
	}
	// Fd puts a descriptor the poller took back into blocking mode; undo
	// that. d.file keeps owning the descriptor (and closes it).
	d.fd = int(d.file.Fd())
	if err := unix.SetNonblock(d.fd, true); err != nil {
		return nil, &Error{Op: "open", Device: path, Err: err}
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, &Error{Op: "open", Device: path, Err: fmt.Errorf("eventfd: %w", err)}
	}
	d.wake = wake
	return d, nil
}

// Info returns what sysfs said about the device when it was opened.
// It is safe for concurrent use.
func (d *Device) Info() Info { return d.info }

// Region returns the whole shared mapping, exactly maps/map0/size bytes, or
// nil after Close. The slice is valid until Close. It is safe for concurrent
// use.
func (d *Device) Region() []byte {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.region
}

// Wait blocks until the kernel signals new work (a 4-byte read of the uio
// device returns the event count). Events that arrived since the last Wait
// (or since Open) make it return at once; the kernel does not count events
// from before Open, so a ring loop looks at the ring once before its first
// Wait. After Close, Wait returns an error wrapping os.ErrClosed; once the
// kernel removed the device, one wrapping ErrRemoved.
func (d *Device) Wait() error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed.Load() {
		return d.opErr("wait", os.ErrClosed)
	}
	if d.stopped.Load() {
		return d.opErr("wait", tcmu.ErrWaitStopped)
	}
	var b [4]byte
	if d.polled {
		n, err := d.file.Read(b[:])
		if errors.Is(err, os.ErrDeadlineExceeded) && d.stopped.Load() && !d.closed.Load() {
			return d.opErr("wait", tcmu.ErrWaitStopped)
		}
		if err != nil {
			return d.ioErr("wait", err)
		}
		if n != len(b) {
			return d.opErr("wait", fmt.Errorf("read %d bytes of the 4-byte event count: %w", n, io.ErrUnexpectedEOF))
		}
		return nil
	}
	if d.waiter.Load() != 0 {
		for !d.closed.Load() && !d.stopped.Load() {
			n, err := unix.Read(d.fd, b[:])
			switch {
			case errors.Is(err, unix.EINTR):
				continue
			case errors.Is(err, unix.EAGAIN):
				if d.closed.Load() || d.stopped.Load() {
					continue // the loop's condition ends it
				}
				// Not ours: wait in poll rather than spin.
				return d.pollWait()
			case err != nil:
				return d.ioErr("wait", err)
			case n != len(b):
				return d.opErr("wait", fmt.Errorf("read %d bytes of the 4-byte event count: %w", n, io.ErrUnexpectedEOF))
			default:
				return nil
			}
		}
		if d.closed.Load() {
			return d.opErr("wait", os.ErrClosed)
		}
		return d.opErr("wait", tcmu.ErrWaitStopped)
	}
	return d.pollWait()
}

// pollWait is Wait by poll(2) on the device and the eventfd, then a read.
func (d *Device) pollWait() error {
	var b [4]byte
	for {
		fds := d.fds[:]
		fds[0] = unix.PollFd{Fd: int32(d.fd), Events: unix.POLLIN}
		fds[1] = unix.PollFd{Fd: int32(d.wake), Events: unix.POLLIN}
		_, err := unix.Poll(fds, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return d.opErr("wait", fmt.Errorf("poll: %w", err))
		}
		if fds[1].Revents != 0 || d.closed.Load() {
			if d.stopped.Load() && !d.closed.Load() {
				return d.opErr("wait", tcmu.ErrWaitStopped)
			}
			return d.opErr("wait", os.ErrClosed)
		}
		if fds[0].Revents&unix.POLLNVAL != 0 {
			return d.opErr("wait", os.ErrClosed)
		}
		if fds[0].Revents == 0 {
			continue
		}
		// POLLIN, or POLLERR/POLLHUP: the read says which.
		n, err := unix.Read(d.fd, b[:])
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return d.ioErr("wait", err)
		}
		if n != len(b) {
			return d.opErr("wait", fmt.Errorf("read %d bytes of the 4-byte event count: %w", n, io.ErrUnexpectedEOF))
		}
		return nil
	}
}

// StopWaiting makes a Wait in progress, and every later one, return an
// error wrapping tcmu.ErrWaitStopped, without closing the device. It is
// safe for concurrent use and does nothing after Close.
func (d *Device) StopWaiting() {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed.Load() || d.stopped.Swap(true) {
		return
	}
	if d.polled {
		_ = d.file.SetReadDeadline(time.Unix(1, 0))
		return
	}
	// The eventfd stays readable: every later poll returns at once.
	one := []byte{1, 0, 0, 0, 0, 0, 0, 0}
	_, _ = unix.Write(d.wake, one)
	d.wakeBoundWaiter()
}

// BindWaiter makes the calling thread the device's only waiter: from now
// on Wait is a blocking 4-byte read, one system call where poll and read
// are two, and must be called on this thread only (the caller holds it
// with runtime.LockOSThread). StopWaiting and Close end such a read by
// putting the descriptor into non-blocking mode and signalling the
// thread: the read, restarted after the signal, then fails with EAGAIN.
// It does nothing with the runtime poller or after Close.
func (d *Device) BindWaiter() { _ = d.bindWaiter() }

// bindWaiter is BindWaiter, saying why it did not bind.
func (d *Device) bindWaiter() error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	switch {
	case d.polled:
		return errors.New("waits through the runtime poller")
	case d.closed.Load() || d.stopped.Load():
		return errors.New("closed or stopped")
	case d.waiter.Load() != 0:
		return errors.New("already bound")
	}
	if err := unix.SetNonblock(d.fd, false); err != nil {
		return fmt.Errorf("blocking mode: %w", err)
	}
	d.waiter.Store(int32(unix.Gettid()))
	reserveProc()
	return nil
}

// MoveWaiter makes the calling thread the bound waiter in place of the
// one named before (BindWaiter's, or the last MoveWaiter's); without a
// bound waiter it does nothing. The caller holds the thread locked and
// waits on it only after this returns. No stop is missed: StopWaiting sets
// stopped before it looks at the waiter, and Wait looks at stopped after
// the move, so either the signal reaches this thread or Wait does not
// block.
func (d *Device) MoveWaiter() {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if old := d.waiter.Load(); old != 0 {
		d.waiter.CompareAndSwap(old, int32(unix.Gettid()))
	}
}

// wakeBoundWaiter ends a blocking read of BindWaiter's thread; the caller
// has set closed or stopped.
func (d *Device) wakeBoundWaiter() {
	tid := d.waiter.Load()
	if tid == 0 {
		return
	}
	_ = unix.SetNonblock(d.fd, true)
	// SIGURG is the Go runtime's own preemption signal: a thread that is
	// not in the read takes it as a spurious one and goes on.
	_ = unix.Tgkill(unix.Getpid(), int(tid), unix.SIGURG)
}

// Notify tells the kernel that the tail moved: a 4-byte write to the uio
// device, upon which the kernel reaps completions. It is safe for
// concurrent use; after Close it returns an error wrapping os.ErrClosed.
func (d *Device) Notify() error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed.Load() {
		return d.opErr("notify", os.ErrClosed)
	}
	var b [4]byte
	var n int
	var err error
	if d.polled {
		n, err = d.file.Write(b[:])
	} else {
		for {
			n, err = unix.Write(d.fd, b[:])
			if !errors.Is(err, unix.EINTR) {
				break
			}
		}
	}
	if err != nil {
		return d.ioErr("notify", err)
	}
	if n != len(b) {
		return d.opErr("notify", fmt.Errorf("wrote %d of 4 bytes: %w", n, io.ErrShortWrite))
	}
	return nil
}

// Close releases the device: a waiting Wait returns, calls in progress
// finish, the region is unmapped and the descriptor closed (which lets the
// next opener in). The ring state stays in the kernel. Close is idempotent
// and safe for concurrent use; see Device about Region.
func (d *Device) Close() error {
	d.closeOnce.Do(func() {
		d.closed.Store(true)
		var errs []error
		if d.polled {
			// Evicts a blocked Read; Close returns once it has.
			if err := d.file.Close(); err != nil {
				errs = append(errs, err)
			}
		} else {
			one := []byte{1, 0, 0, 0, 0, 0, 0, 0}
			if _, err := unix.Write(d.wake, one); err != nil && !errors.Is(err, unix.EAGAIN) {
				errs = append(errs, fmt.Errorf("wake waiter: %w", err))
			}
			d.wakeBoundWaiter()
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.waiter.Load() != 0 {
			releaseProc()
		}
		if !d.polled {
			if err := d.file.Close(); err != nil {
				errs = append(errs, err)
			}
			unix.Close(d.wake)
		}
		if d.region != nil {
			if err := unix.Munmap(d.region); err != nil {
				errs = append(errs, fmt.Errorf("munmap: %w", err))
			}
			d.region = nil
		}
		if len(errs) > 0 {
			d.closeErr = d.opErr("close", errors.Join(errs...))
		}
	})
	return d.closeErr
}

func (d *Device) opErr(op string, err error) error {
	return &Error{Op: op, Device: d.path, Err: err}
}

// ioErr turns a read or write error into an Error. After the kernel removed
// the device, a read fails with EIO and a write with EINVAL (seen on 6.1);
// ENODEV and ENXIO are taken to mean the same.
func (d *Device) ioErr(op string, err error) error {
	if d.closed.Load() || errors.Is(err, os.ErrClosed) {
		return d.opErr(op, os.ErrClosed)
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	removed := false
	switch errnoOf(err) {
	case syscall.EIO, syscall.ENODEV, syscall.ENXIO:
		removed = true
	case syscall.EINVAL:
		// uio refuses a write with EINVAL once its device is gone; the
		// write is always 4 bytes, so nothing else makes it invalid.
		removed = op == "notify"
	}
	if removed {
		return &Error{Op: op, Device: d.path, Err: fmt.Errorf("%w (%w)", ErrRemoved, err),
			Hint: "the backstore was disabled or deleted"}
	}
	return d.opErr(op, err)
}
