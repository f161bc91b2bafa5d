package netlink

import (
	"errors"
	"fmt"
)

// Error is the one error type of this package: the operation, the cause
// and, where tcmsh knows one, a hint the user can act on. The cause stays
// reachable through Unwrap (errors.Is(err, os.ErrNotExist) when the family
// is absent, errors.Is(err, syscall.EPERM) without CAP_NET_ADMIN, …).
type Error struct {
	Op   string // "dial", "get family", "join group", "receive", "decode …", "reply to …", "set features"
	Err  error
	Hint string // may be empty
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("tcmu/netlink: %s: %v", e.Op, e.Err)
	if e.Hint != "" {
		msg += ": " + e.Hint
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// ErrNotLoaded is returned (wrapped, beside the os.ErrNotExist of the
// family lookup) when the TCM-USER family does not exist: target_core_user
// is not loaded. A caller can go on without events by scanning uio devices.
var ErrNotLoaded = errors.New("target_core_user is not loaded")

// ErrEventsLost is reported (wrapped) to Config.Errors when the kernel
// dropped events because the listener's socket buffer overflowed (ENOBUFS).
// The device list must then be rebuilt by scanning /sys/class/uio.
var ErrEventsLost = errors.New("events were lost")
