package configfs

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The read side of RealFS (open, read, getdents, fstatat, readlinkat,
// close on configfs) calls the kernel without telling Go's scheduler
// (RawSyscall). A configfs read or listing never waits for anything
// outside the kernel (no device I/O, no reply from user space), yet under
// a slow CPU (a guest under software emulation) each took long enough for
// the runtime's monitor to hand the goroutine's processor to another
// thread and take it back after: a futex wake-up, clock reads and a
// thread switch per attribute, several times the cost of the read
// itself. Changes (write, mkdir, rmdir, symlink, unlink) keep the
// ordinary calls: a user backstore's may wait for its handler's netlink
// reply, which may come from this very process.

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
