package rbd

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/tcmsh/tcmsh/backends"
)

// cephLike mimics go-ceph's errors: a negative errno behind ErrorCode.
type cephLike int

func (e cephLike) Error() string  { return fmt.Sprintf("ceph error %d", int(e)) }
func (e cephLike) ErrorCode() int { return int(e) }

func TestIOError(t *testing.T) {
	tests := []struct {
		errno     syscall.Errno
		sense     *backends.SenseError // nil: no sense of its own
		noSpace   bool
		lost      bool
		wantError string
	}{
		{errno: syscall.ETIMEDOUT, sense: &senseTimeout, lost: true},
		{errno: syscall.ESHUTDOWN, sense: &senseLost, lost: true},
		{errno: syscall.ENOTCONN, sense: &senseLost, lost: true},
		{errno: syscall.ECONNREFUSED, sense: &senseLost, lost: true},
		{errno: syscall.EROFS, sense: &senseReadOnly},
		{errno: syscall.ENOSPC, noSpace: true},
		{errno: syscall.EDQUOT, noSpace: true},
		{errno: syscall.EIO, wantError: "rbd read at offset 4096: input/output error"},
		{errno: syscall.EINVAL, wantError: "rbd read at offset 4096: invalid argument"},
	}
	for _, tt := range tests {
		t.Run(tt.errno.Error(), func(t *testing.T) {
			err := ioError("read", 4096, tt.errno)
			if !errors.Is(err, tt.errno) {
				t.Errorf("%v does not wrap %v", err, tt.errno)
			}
			if got := lostConnection(tt.errno); got != tt.lost {
				t.Errorf("lostConnection = %v, want %v", got, tt.lost)
			}
			var se *backends.SenseError
			if isSense := errors.As(err, &se); isSense != (tt.sense != nil) {
				t.Fatalf("%v: sense %v, want %v", err, isSense, tt.sense != nil)
			}
			if tt.sense != nil && (se.Key != tt.sense.Key || se.ASC != tt.sense.ASC || se.ASCQ != tt.sense.ASCQ) {
				t.Errorf("sense %x/%x/%x, want %x/%x/%x", se.Key, se.ASC, se.ASCQ, tt.sense.Key, tt.sense.ASC, tt.sense.ASCQ)
			}
			if got := errors.Is(err, syscall.ENOSPC); got != tt.noSpace {
				t.Errorf("%v: is ENOSPC %v, want %v", err, got, tt.noSpace)
			}
			if tt.wantError != "" && err.Error() != tt.wantError {
				t.Errorf("error %q, want %q", err, tt.wantError)
			}
		})
	}
}

func TestErrnoOf(t *testing.T) {
	tests := []struct {
		err  error
		want syscall.Errno
		ok   bool
	}{
		{syscall.ENOENT, syscall.ENOENT, true},
		{fmt.Errorf("open: %w", syscall.ETIMEDOUT), syscall.ETIMEDOUT, true},
		{cephLike(-2), syscall.ENOENT, true},
		{fmt.Errorf("connect: %w", cephLike(-110)), syscall.ETIMEDOUT, true},
		{cephLike(0), 0, false},
		{errors.New("plain"), 0, false},
	}
	for _, tt := range tests {
		got, ok := errnoOf(tt.err)
		if got != tt.want || ok != tt.ok {
			t.Errorf("errnoOf(%v) = %v, %v; want %v, %v", tt.err, got, ok, tt.want, tt.ok)
		}
	}
}
