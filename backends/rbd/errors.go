package rbd

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/tcmsh/tcmsh/backends"
)

// Sense of the cluster errors an initiator should retry: ABORTED COMMAND is
// retried by Linux's sd (and by ESXi and Windows) without failing the I/O.
var (
	// senseTimeout is LOGICAL UNIT COMMUNICATION TIME-OUT (0b/08/01).
	senseTimeout = backends.SenseError{Key: backends.SenseKeyAbortedCommand, ASC: 0x08, ASCQ: 0x01}
	// senseLost is LOGICAL UNIT COMMUNICATION FAILURE (0b/08/00).
	senseLost = backends.SenseError{Key: backends.SenseKeyAbortedCommand, ASC: 0x08, ASCQ: 0x00}
	// senseReadOnly is WRITE PROTECTED (07/27/00).
	senseReadOnly = backends.SenseError{Key: backends.SenseKeyDataProtect, ASC: 0x27, ASCQ: 0x00}
)

// errnoOf extracts the errno of an error from librbd, librados or go-ceph
// (whose errors carry a negative ErrorCode).
func errnoOf(err error) (syscall.Errno, bool) {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e, true
	}
	var coded interface{ ErrorCode() int }
	if errors.As(err, &coded) {
		n := coded.ErrorCode()
		if n < 0 {
			n = -n
		}
		return syscall.Errno(n), n != 0
	}
	return 0, false
}

// lostConnection reports whether an errno means the cluster is unreachable
// or has shut this client out: the connection is then reported down and
// recovered in the background. ESHUTDOWN is also what Ceph returns to a
// blocklisted client (EBLOCKLISTED).
func lostConnection(errno syscall.Errno) bool {
	switch errno {
	case syscall.ETIMEDOUT, syscall.ESHUTDOWN, syscall.ENOTCONN, syscall.ECONNRESET,
		syscall.ECONNREFUSED, syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.ECONNABORTED:
		return true
	}
	return false
}

// ioError turns the errno of a failed librbd call into the error the SCSI
// layer reports: a retryable ABORTED COMMAND for a timeout or a lost
// cluster, DATA PROTECT for a read-only image, ENOSPC (SPACE ALLOCATION
// FAILED) for a full pool or quota, and otherwise the errno itself, which
// the SCSI layer reports as a medium error.
func ioError(op string, off int64, errno syscall.Errno) error {
	cause := fmt.Errorf("rbd %s at offset %d: %w", op, off, errno)
	var s backends.SenseError
	switch {
	case errno == syscall.ETIMEDOUT:
		s = senseTimeout
	case lostConnection(errno):
		s = senseLost
	case errno == syscall.EROFS:
		s = senseReadOnly
	case errno == syscall.ENOSPC || errno == syscall.EDQUOT:
		return fmt.Errorf("rbd %s at offset %d: %w (%w)", op, off, syscall.ENOSPC, errno)
	default:
		return cause
	}
	s.Err = cause
	return &s
}
