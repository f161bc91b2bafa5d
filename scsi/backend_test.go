package scsi

import (
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/tcmsh/tcmsh/backends"
)

// memBackend is the tests' own in-memory backend. It implements every
// optional interface; caps decides which of them the disk may use. Any
// access outside the capacity is recorded as a violation, which the test
// fails on, rather than served.
type memBackend struct {
	mu   sync.Mutex
	data []byte
	caps backends.Caps

	// Injected failures, returned by the next matching call when set.
	readErr, writeErr, flushErr, unmapErr error

	reads, writes, fuaWrites, flushes, unmaps, zeroes int
	unmapped                                          [][2]int64
	violations                                        []string

	// readHook, when set, runs before each read (outside the lock).
	readHook func()

	// dealloc marks the deallocated 512-byte sectors (nil: all mapped):
	// Unmap sets them, writes clear them. extentHook, when set, answers
	// MappedExtent instead.
	dealloc    []bool
	extentHook func(off int64) (bool, int64, error)
	extents    int // MappedExtent calls
}

const memSector = 512

func newMemBackend(size int64, caps backends.Caps) *memBackend {
	return &memBackend{data: make([]byte, size), caps: caps}
}

func (m *memBackend) check(op string, off, n int64) bool {
	if off < 0 || n < 0 || off+n > int64(len(m.data)) || off+n < off {
		m.violations = append(m.violations, fmt.Sprintf("%s off=%d len=%d beyond %d", op, off, n, len(m.data)))
		return false
	}
	return true
}

func (m *memBackend) ReadAt(p []byte, off int64) (int, error) {
	if m.readHook != nil {
		m.readHook()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	if m.readErr != nil {
		return 0, m.readErr
	}
	if !m.check("read", off, int64(len(p))) {
		return 0, io.EOF
	}
	return copy(p, m.data[off:]), nil
}

func (m *memBackend) WriteAt(p []byte, off int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.writes++
	return m.writeLocked(p, off)
}

func (m *memBackend) writeLocked(p []byte, off int64) (int, error) {
	if m.writeErr != nil {
		return 0, m.writeErr
	}
	if m.caps.ReadOnly {
		m.violations = append(m.violations, "write to a read-only backend")
		return 0, fmt.Errorf("read-only")
	}
	if !m.check("write", off, int64(len(p))) {
		return 0, io.ErrShortWrite
	}
	m.setDealloc(off, int64(len(p)), false)
	return copy(m.data[off:], p), nil
}

// setDealloc marks the sectors a range touches (mapping them) or covers
// whole (deallocating them).
func (m *memBackend) setDealloc(off, n int64, dealloc bool) {
	if n <= 0 || (m.dealloc == nil && !dealloc) {
		return
	}
	if m.dealloc == nil {
		m.dealloc = make([]bool, (int64(len(m.data))+memSector-1)/memSector)
	}
	first, end := off/memSector, (off+n+memSector-1)/memSector
	if dealloc {
		first, end = (off+memSector-1)/memSector, (off+n)/memSector
	}
	for i := first; i < end; i++ {
		m.dealloc[i] = dealloc
	}
}

func (m *memBackend) MappedExtent(off int64) (bool, int64, error) {
	m.mu.Lock()
	m.extents++
	if !m.caps.Mapping {
		m.violations = append(m.violations, "MappedExtent without the mapping capability")
	}
	size := int64(len(m.data))
	if off < 0 || off >= size {
		m.violations = append(m.violations, fmt.Sprintf("MappedExtent off=%d beyond %d", off, size))
		m.mu.Unlock()
		return false, 0, backends.ErrOutOfRange
	}
	if hook := m.extentHook; hook != nil {
		m.mu.Unlock()
		return hook(off)
	}
	defer m.mu.Unlock()
	if m.dealloc == nil {
		return true, size - off, nil
	}
	i := off / memSector
	state := m.dealloc[i]
	j := i + 1
	for j < int64(len(m.dealloc)) && m.dealloc[j] == state {
		j++
	}
	return !state, min(j*memSector, size) - off, nil
}

func (m *memBackend) WriteAtFUA(p []byte, off int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fuaWrites++
	if !m.caps.FUA {
		m.violations = append(m.violations, "WriteAtFUA without the FUA capability")
	}
	return m.writeLocked(p, off)
}

func (m *memBackend) Flush() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.flushes++
	return m.flushErr
}

func (m *memBackend) Unmap(off, n int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.unmaps++
	if !m.caps.Unmap {
		m.violations = append(m.violations, "Unmap without the unmap capability")
	}
	if m.unmapErr != nil {
		return m.unmapErr
	}
	if !m.check("unmap", off, n) {
		return io.ErrShortWrite
	}
	m.unmapped = append(m.unmapped, [2]int64{off, n})
	clear(m.data[off : off+n])
	m.setDealloc(off, n, true)
	return nil
}

func (m *memBackend) WriteZeroes(off, n int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.zeroes++
	if !m.caps.WriteZeroes {
		m.violations = append(m.violations, "WriteZeroes without the capability")
	}
	if m.writeErr != nil {
		return m.writeErr
	}
	if !m.check("write zeroes", off, n) {
		return io.ErrShortWrite
	}
	clear(m.data[off : off+n])
	m.setDealloc(off, n, false)
	return nil
}

func (m *memBackend) Resize(size int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	grown := make([]byte, size)
	copy(grown, m.data)
	m.data = grown
	if m.dealloc != nil {
		d := make([]bool, (size+memSector-1)/memSector)
		copy(d, m.dealloc)
		m.dealloc = d
	}
	return nil
}

func (m *memBackend) Size() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return int64(len(m.data))
}

func (m *memBackend) Caps() backends.Caps { return m.caps }
func (m *memBackend) Close() error        { return nil }

func (m *memBackend) assertClean(t testing.TB) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, v := range m.violations {
		t.Errorf("backend: %s", v)
	}
}

// snapshot returns a copy of the stored bytes.
func (m *memBackend) snapshot() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]byte(nil), m.data...)
}

var (
	_ backends.Backend    = (*memBackend)(nil)
	_ backends.Unmapper   = (*memBackend)(nil)
	_ backends.ZeroWriter = (*memBackend)(nil)
	_ backends.FUAWriter  = (*memBackend)(nil)
	_ backends.Resizer    = (*memBackend)(nil)
	_ backends.Mapper     = (*memBackend)(nil)
)
