package backends

import (
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// iovBatch is the most buffers one preadv or pwritev call takes here. The
// iovec array is built on the stack (1 KiB), so that a command costs no
// allocation; 64 buffers are 256 KiB or more of a TCMU command (the kernel
// joins the pages of a command that are adjacent in its data area), so a
// 1 MiB command takes at most a few calls.
const iovBatch = 64

// ReadvAt reads into bufs with preadv, iovBatch buffers a call. With
// direct=true, a list with a buffer that O_DIRECT cannot take as it is
// goes through the bounce buffers.
func (b *fileBackend) ReadvAt(bufs [][]byte, off int64) (int, error) {
	if b.cfg.direct && !allAligned(bufs) {
		return b.readvBounced(bufs, off)
	}
	done := 0
	i, skip := 0, 0
	for {
		i, skip = skipEmpty(bufs, i, skip)
		if i == len(bufs) {
			return done, nil
		}
		n, err := rwv(b.fd, bufs[i:], skip, off+int64(done), false, 0)
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case err != nil:
			return done, &os.PathError{Op: "preadv", Path: b.cfg.path, Err: err}
		case n == 0:
			return done, io.EOF
		}
		done += n
		i, skip = advance(bufs, i, skip, n)
	}
}

// WritevAt writes bufs with pwritev, iovBatch buffers a call; with fua,
// pwritev2(RWF_DSYNC), or pwritev then fdatasync on a kernel without it.
// With direct=true, a list with a buffer that O_DIRECT cannot take as it
// is goes through the bounce buffers.
func (b *fileBackend) WritevAt(bufs [][]byte, off int64, fua bool) (int, error) {
	if b.cfg.readonly {
		return 0, writeProtected()
	}
	if err := checkRange(off, int64(buffersLen(bufs)), b.size.Load()); err != nil {
		return 0, err
	}
	if b.cfg.direct && !allAligned(bufs) {
		return b.writevBounced(bufs, off, fua)
	}
	flags := 0
	if fua && !b.noPwritev2.Load() {
		flags = unix.RWF_DSYNC
	}
	done := 0
	i, skip := 0, 0
	for {
		i, skip = skipEmpty(bufs, i, skip)
		if i == len(bufs) {
			break
		}
		var n int
		var err error
		if flags != 0 {
			n, err = b.sys.pwritev2v(b.fd, bufs[i:], skip, off+int64(done), flags)
		} else {
			n, err = rwv(b.fd, bufs[i:], skip, off+int64(done), true, 0)
		}
		if n > 0 {
			done += n
			i, skip = advance(bufs, i, skip, n)
		}
		switch {
		case err == nil && n > 0:
		case err == nil:
			return done, fmt.Errorf("pwritev at offset %d wrote nothing: %w", off+int64(done), io.ErrShortWrite)
		case errors.Is(err, syscall.EINTR) || errors.Is(err, syscall.EAGAIN):
		case flags != 0 && done == 0 && (errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EOPNOTSUPP)):
			// An old kernel without pwritev2 or RWF_DSYNC: write, then
			// sync.
			b.noPwritev2.Store(true)
			flags = 0
		case flags != 0:
			return done, fmt.Errorf("FUA write at offset %d: %w", off+int64(done), err)
		default:
			return done, &os.PathError{Op: "pwritev", Path: b.cfg.path, Err: err}
		}
	}
	if fua && flags == 0 {
		if err := b.sys.fdatasync(b.fd); err != nil {
			return done, fmt.Errorf("fdatasync after FUA write: %w", err)
		}
	}
	return done, nil
}

// readvBounced reads for ReadvAt through an aligned bounce buffer, up to
// bounceSize bytes a call, and scatters them into bufs.
func (b *fileBackend) readvBounced(bufs [][]byte, off int64) (int, error) {
	buf := getBounce()
	defer putBounce(buf)
	total := buffersLen(bufs)
	done := 0
	i, skip := 0, 0
	for done < total {
		n, err := b.f.ReadAt((*buf)[:min(total-done, bounceSize)], off+int64(done))
		i, skip = copyVec(bufs, i, skip, (*buf)[:n], true)
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// writevBounced writes for WritevAt through an aligned bounce buffer,
// gathering up to bounceSize bytes of bufs a call.
func (b *fileBackend) writevBounced(bufs [][]byte, off int64, fua bool) (int, error) {
	buf := getBounce()
	defer putBounce(buf)
	total := buffersLen(bufs)
	done := 0
	i, skip := 0, 0
	for done < total {
		chunk := (*buf)[:min(total-done, bounceSize)]
		i, skip = copyVec(bufs, i, skip, chunk, false)
		n, err := b.writeOnce(chunk, off+int64(done), fua)
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// pwritev2Bufs is the pwritev2 of fileSyscalls for a buffer list.
func pwritev2Bufs(fd int, bufs [][]byte, skip int, off int64, flags int) (int, error) {
	return rwv(fd, bufs, skip, off, true, flags)
}

// rwv is one preadv (write false), pwritev (flags 0) or pwritev2 call on
// bufs from byte skip of bufs[0], at most iovBatch buffers of them. It
// returns the bytes moved, or the call's errno.
func rwv(fd int, bufs [][]byte, skip int, off int64, write bool, flags int) (int, error) {
	var iov [iovBatch]unix.Iovec
	n := 0
	for k, p := range bufs {
		if k == 0 {
			p = p[skip:]
		}
		if len(p) == 0 {
			continue
		}
		if n == len(iov) {
			break
		}
		iov[n].Base = unsafe.SliceData(p)
		iov[n].SetLen(len(p))
		n++
	}
	if n == 0 {
		return 0, nil
	}
	trap := uintptr(unix.SYS_PREADV)
	switch {
	case write && flags != 0:
		trap = unix.SYS_PWRITEV2
	case write:
		trap = unix.SYS_PWRITEV
	}
	// The offset goes as two longs, low then high (the high one is 0 on
	// 64-bit systems, where the low one holds it all).
	lo, hi := uintptr(off), uintptr(uint64(off)>>32>>(bits.UintSize-32))
	r, _, e := unix.Syscall6(trap, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(n), lo, hi, uintptr(flags))
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// skipEmpty moves position (i, skip) in bufs past buffers with nothing
// left; i == len(bufs) at the end.
func skipEmpty(bufs [][]byte, i, skip int) (int, int) {
	for i < len(bufs) && skip >= len(bufs[i]) {
		i, skip = i+1, 0
	}
	return i, skip
}

// copyVec copies flat into bufs from position (i, skip) when scatter,
// else fills flat from there, and returns the position after it.
func copyVec(bufs [][]byte, i, skip int, flat []byte, scatter bool) (int, int) {
	for len(flat) > 0 {
		i, skip = skipEmpty(bufs, i, skip)
		var k int
		if scatter {
			k = copy(bufs[i][skip:], flat)
		} else {
			k = copy(flat, bufs[i][skip:])
		}
		flat = flat[k:]
		i, skip = advance(bufs, i, skip, k)
	}
	return i, skip
}

// advance moves position (i, skip) in bufs n bytes on.
func advance(bufs [][]byte, i, skip, n int) (int, int) {
	for n > 0 && i < len(bufs) {
		left := len(bufs[i]) - skip
		if n < left {
			return i, skip + n
		}
		n -= left
		i, skip = i+1, 0
	}
	return i, skip
}

func buffersLen(bufs [][]byte) int {
	n := 0
	for _, p := range bufs {
		n += len(p)
	}
	return n
}

// allAligned reports whether O_DIRECT can take every buffer as it is.
func allAligned(bufs [][]byte) bool {
	for _, p := range bufs {
		if !aligned(p) {
			return false
		}
	}
	return true
}
