package uio

import (
	"errors"
	"fmt"
	"syscall"
)

// Error is the one error type of this package: the operation, the device it
// acted on, the cause and, where tcmsh knows one, a hint the user can act on.
// errors.Is(err, syscall.EBUSY), errors.Is(err, fs.ErrNotExist) and the
// package's sentinel errors work through Unwrap.
type Error struct {
	Op     string // "scan", "parse name", "open", "mmap", "check version", "wait", "notify", "close", "reattach", "read attributes", "find runners"
	Device string // "uio0", "/dev/uio0" or a uio name; may be empty
	Err    error  // the cause
	Hint   string // what to do about it; may be empty
}

func (e *Error) Error() string {
	msg := "uio: " + e.Op
	if e.Device != "" {
		msg += " " + e.Device
	}
	msg += ": " + fmt.Sprint(e.Err)
	if e.Hint != "" {
		msg += ": " + e.Hint
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

var (
	// ErrNotTCMU is returned (wrapped) by ParseName for a uio name that does
	// not start with "tcm-user/": the device belongs to another uio driver.
	ErrNotTCMU = errors.New("not a TCMU device")
	// ErrMalformedName is returned (wrapped) by ParseName for a "tcm-user/"
	// name that does not have the form tcm-user/<hba>/<device>[/<dev_config>].
	ErrMalformedName = errors.New("malformed tcm-user name")
	// ErrVersion is returned (wrapped) when the uio version file or the
	// mailbox version is not the one this package speaks (2).
	ErrVersion = errors.New("unsupported TCMU interface version")
	// ErrRemoved is returned (wrapped) by Wait and Notify once the kernel
	// has removed the device (the backstore was disabled or deleted).
	ErrRemoved = errors.New("device removed")
)

// hintFor returns advice for an errno met while opening a device node.
func hintFor(errno syscall.Errno) string {
	switch errno {
	case syscall.EBUSY:
		return "served by another handler, for example tcmu-runner; stop it or choose another device"
	case syscall.ENOENT:
		return "no device node; is devtmpfs mounted on /dev (or udev running)?"
	case syscall.EACCES, syscall.EPERM:
		return "opening a TCMU device needs root"
	}
	return ""
}

func errnoOf(err error) syscall.Errno {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return 0
}
