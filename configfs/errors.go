package configfs

import (
	"errors"
	"fmt"
	"syscall"
)

// Error is the one error type of configfs operations: the operation, the
// configfs path it acted on, the cause (usually a syscall.Errno) and, where
// tcmsh knows one, a hint the user can act on.
type Error struct {
	Op   string // "mkdir", "rmdir", "read", "write", "symlink", "unlink", "readlink", "readdir", "stat"
	Path string // configfs path, relative to the mount point
	Err  error  // the cause; errors.Is(err, syscall.EBUSY) and friends work through Unwrap
	Hint string // what to do about it; may be empty
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%s %s: %v", e.Op, e.Path, e.Err)
	if e.Hint != "" {
		msg += ": " + e.Hint
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errno returns the errno inside err, or 0 when there is none.
func Errno(err error) syscall.Errno {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return 0
}

// ErrNotMounted is returned (wrapped) when configfs is not mounted or has no
// target directory.
var ErrNotMounted = errors.New("configfs not mounted")

// ErrModuleNotLoaded is returned (wrapped) when a kernel module that an
// operation needs is not loaded.
var ErrModuleNotLoaded = errors.New("kernel module not loaded")
