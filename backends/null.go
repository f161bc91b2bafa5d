package backends

import (
	"fmt"
	"io"
	"sync/atomic"
)

var nullSubtype = subtype{
	Subtype: Subtype{
		Name:    "null",
		Summary: "reads zeroes, discards writes: measures the engine alone",
		Help: `null/ — a device with no storage.

Reads return zeroes; writes, unmaps, zeroing and flushes succeed at once and
keep nothing. Use it to measure the SCSI engine and the ring without any
storage cost. It takes no options and supports resize.

Example:
  null/`,
	},
	validate: func(cfg string, size int64) error { return parseNullConfig(cfg) },
	open: func(cfg string, size int64, blockSize uint32) (Backend, error) {
		if err := parseNullConfig(cfg); err != nil {
			return nil, err
		}
		b := &nullBackend{}
		b.size.Store(size)
		return b, nil
	},
}

func parseNullConfig(cfg string) error {
	opts, err := splitOptions(cfg)
	if err != nil {
		return err
	}
	if len(opts) > 0 {
		return unknownOptionError(opts[0].key, nil)
	}
	return nil
}

// nullBackend stores nothing.
type nullBackend struct {
	size atomic.Int64
}

// NonBlocking is true: nothing is stored.
func (b *nullBackend) NonBlocking() bool { return true }

func (b *nullBackend) ReadAt(p []byte, off int64) (int, error) {
	size := b.size.Load()
	if off < 0 {
		return 0, checkRange(off, int64(len(p)), size)
	}
	n := len(p)
	if off >= size {
		return 0, io.EOF
	}
	if int64(n) > size-off {
		n = int(size - off)
	}
	clear(p[:n])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (b *nullBackend) WriteAt(p []byte, off int64) (int, error) {
	if err := checkRange(off, int64(len(p)), b.size.Load()); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (b *nullBackend) WriteAtFUA(p []byte, off int64) (int, error) { return b.WriteAt(p, off) }

func (b *nullBackend) Unmap(off, length int64) error {
	return checkRange(off, length, b.size.Load())
}

func (b *nullBackend) WriteZeroes(off, length int64) error {
	return checkRange(off, length, b.size.Load())
}

// MappedExtent reports everything deallocated: nothing is stored, and
// reads return zeroes as unmapped blocks do.
func (b *nullBackend) MappedExtent(off int64) (bool, int64, error) {
	size := b.size.Load()
	if off < 0 || off >= size {
		return false, 0, checkRange(off, 1, size)
	}
	return false, size - off, nil
}

func (b *nullBackend) Flush() error { return nil }
func (b *nullBackend) Size() int64  { return b.size.Load() }
func (b *nullBackend) Close() error { return nil }

func (b *nullBackend) Caps() Caps {
	return Caps{Unmap: true, UnmapZeroes: true, WriteZeroes: true, FUA: true, Mapping: true}
}

func (b *nullBackend) Resize(size int64) error {
	if size <= 0 {
		return fmt.Errorf("resize to %d bytes: size must be positive", size)
	}
	b.size.Store(size)
	return nil
}
