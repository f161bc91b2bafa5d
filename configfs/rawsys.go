package configfs

import (
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// RealFS calls the kernel without telling Go's scheduler (RawSyscall)
// for reads, listings and the changes that cannot wait on user space
// (waitsOnUserSpace). Under a slow CPU (a guest under software emulation)
// each configfs call took long enough for the runtime's monitor to hand
// the goroutine's processor to another thread and take it back after (a
// futex wake-up, clock reads and a thread switch per call), and the
// monitor, kept busy by it, woke every 20 µs: a third of a batch's CPU
// time went to it. Removals (rmdir, unlink) keep the ordinary calls: a
// LUN's waits for its commands in flight, which this process's engine
// may be serving.

// atFDCWD is unix.AT_FDCWD (-100) as a system call argument.
var atFDCWD = uintptr(^uintptr(99))

func rawErr(e syscall.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

// rawOpenat opens name relative to dirfd (unix.AT_FDCWD for a path).
func rawOpenat(dirfd int, name string, flags int) (int, error) {
	p, err := unix.BytePtrFromString(name)
	if err != nil {
		return -1, err
	}
	for {
		fd, _, e := syscall.RawSyscall6(unix.SYS_OPENAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)), uintptr(flags|unix.O_CLOEXEC), 0, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return -1, e
		}
		return int(fd), nil
	}
}

// rawRead reads into b (len(b) > 0).
func rawRead(fd int, b []byte) (int, error) {
	for {
		n, _, e := syscall.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		if e == unix.EINTR {
			continue
		}
		return int(n), rawErr(e)
	}
}

// rawGetdents reads linux_dirent64 records into b (len(b) > 0).
func rawGetdents(fd int, b []byte) (int, error) {
	for {
		n, _, e := syscall.RawSyscall(unix.SYS_GETDENTS64, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		if e == unix.EINTR {
			continue
		}
		return int(n), rawErr(e)
	}
}

// rawClose closes a descriptor the raw calls opened.
func rawClose(fd int) error {
	_, _, e := syscall.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
	return rawErr(e)
}

// rawFstatat describes name relative to dirfd without following a link.
func rawFstatat(dirfd int, name string, st *unix.Stat_t) error {
	p, err := unix.BytePtrFromString(name)
	if err != nil {
		return err
	}
	for {
		_, _, e := syscall.RawSyscall6(unix.SYS_NEWFSTATAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(st)), unix.AT_SYMLINK_NOFOLLOW, 0, 0)
		if e != unix.EINTR {
			return rawErr(e)
		}
	}
}

// rawReadlink returns the target of the link at p.
func rawReadlink(p string) (string, error) {
	bp, err := unix.BytePtrFromString(p)
	if err != nil {
		return "", err
	}
	buf := make([]byte, 512)
	for {
		n, _, e := syscall.RawSyscall6(unix.SYS_READLINKAT, atFDCWD, uintptr(unsafe.Pointer(bp)), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return "", e
		}
		if int(n) < len(buf) {
			return string(buf[:n]), nil
		}
		buf = make([]byte, 2*len(buf))
	}
}

// waitsOnUserSpace reports whether a change to configfs path p (relative
// to the mount point) may wait for a reply from user space: a user
// backstore's (TCMU) enable, control, attributes and removal send its
// handler a netlink event and may wait for the answer, which may come
// from this process's own engine. Those changes keep the ordinary system
// calls (the runtime runs the engine meanwhile); the rest (fileio, block,
// ramdisk and pscsi objects, fabric groups, links and attributes) never
// wait on user space and are made with raw ones.
func waitsOnUserSpace(p string) bool {
	return strings.HasPrefix(p, Root+"/core/user_")
}

// rawWrite writes data to fd in one call.
func rawWrite(fd int, data []byte) (int, error) {
	var p unsafe.Pointer
	if len(data) > 0 {
		p = unsafe.Pointer(&data[0])
	}
	for {
		n, _, e := syscall.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(p), uintptr(len(data)))
		if e == unix.EINTR {
			continue
		}
		return int(n), rawErr(e)
	}
}

// rawMkdir makes the directory at absolute path p.
func rawMkdir(p string, mode uint32) error {
	bp, err := unix.BytePtrFromString(p)
	if err != nil {
		return err
	}
	for {
		_, _, e := syscall.RawSyscall(unix.SYS_MKDIRAT, atFDCWD, uintptr(unsafe.Pointer(bp)), uintptr(mode))
		if e != unix.EINTR {
			return rawErr(e)
		}
	}
}

// rawSymlink makes link (absolute) point at target.
func rawSymlink(target, link string) error {
	tp, err := unix.BytePtrFromString(target)
	if err != nil {
		return err
	}
	lp, err := unix.BytePtrFromString(link)
	if err != nil {
		return err
	}
	for {
		_, _, e := syscall.RawSyscall(unix.SYS_SYMLINKAT, uintptr(unsafe.Pointer(tp)), atFDCWD, uintptr(unsafe.Pointer(lp)))
		if e != unix.EINTR {
			return rawErr(e)
		}
	}
}
