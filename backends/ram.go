package backends

import (
	"fmt"
	"io"
	"math/bits"
	"sync"
	"sync/atomic"
)

const (
	defaultRAMChunk = 1 << 20
	minRAMChunk     = 4 << 10
	maxRAMChunk     = 64 << 20
	// ramSegmentChunks chunk slots make one segment, the unit the chunk
	// table grows by, so that an idle huge device costs only its table.
	ramSegmentChunks = 1024
	// maxRAMChunks bounds the table (8 MiB of segment pointers at most).
	maxRAMChunks = 1 << 30
)

var ramOptions = []string{"chunk"}

var ramSubtype = subtype{
	Subtype: Subtype{
		Name:    "ram",
		Summary: "memory, allocated lazily in chunks on first write",
		Options: ramOptions,
		Help: `ram/[chunk=SIZE] — a device in memory, lost when tcmsh stops.

Memory is allocated in chunks on the first write to each chunk; reads of
chunks never written return zeroes without allocating. UNMAP and WRITE SAME
free whole chunks and zero partial ones, so the device can be far larger than
the memory it uses; GET LBA STATUS reports the chunks not held as deallocated. Supports resize (growing, or shrinking, which drops the
data beyond the new end).

Options (separated by ';'):
  chunk=SIZE  allocation unit, a power of two from 4KiB to 64MiB
              (suffixes k, M, KiB, MiB); default 1MiB. Also the unmap
              granularity advertised to initiators. A device may hold at
              most 2^30 chunks (1 PiB with the default chunk).

Examples:
  ram/
  ram/chunk=64k`,
	},
	validate: func(cfg string, size int64) error {
		_, err := parseRAMConfig(cfg, size)
		return err
	},
	open: func(cfg string, size int64, blockSize uint32) (Backend, error) {
		chunk, err := parseRAMConfig(cfg, size)
		if err != nil {
			return nil, err
		}
		return newRAM(size, chunk), nil
	},
}

func parseRAMConfig(cfg string, size int64) (chunk int64, err error) {
	opts, err := splitOptions(cfg)
	if err != nil {
		return 0, err
	}
	chunk = defaultRAMChunk
	for _, o := range opts {
		switch o.key {
		case "chunk":
			if err := o.needValue("64k"); err != nil {
				return 0, err
			}
			n, ok := parseByteSize(o.value)
			if !ok || n < minRAMChunk || n > maxRAMChunk || n&(n-1) != 0 {
				return 0, fmt.Errorf("option %q: %q is not a power of two from 4KiB to 64MiB (e.g. 64k)", o.key, o.value)
			}
			chunk = n
		default:
			return 0, unknownOptionError(o.key, ramOptions)
		}
	}
	if err := checkRAMSize(size, chunk); err != nil {
		return 0, err
	}
	return chunk, nil
}

func checkRAMSize(size, chunk int64) error {
	if size > chunk*maxRAMChunks {
		return fmt.Errorf("size %d is more than a ram backstore with chunk=%s can address (%s); use a larger chunk",
			size, formatBytes(chunk), formatBytes(chunk*maxRAMChunks))
	}
	return nil
}

// ramChunk is one allocation unit. Its lock orders overlapping reads and
// writes (which SCSI allows in flight together) so that none sees a torn
// copy and the race detector stays quiet; it is per chunk, so I/O to
// different chunks never contends.
type ramChunk struct {
	mu   sync.RWMutex
	data []byte
}

type ramSegment struct {
	chunks [ramSegmentChunks]atomic.Pointer[ramChunk]
}

// ramTable maps chunk numbers to chunks. A resize replaces the table but
// keeps its segments, so a writer holding the old table still writes into
// the live segments.
type ramTable struct {
	segments []atomic.Pointer[ramSegment]
}

// chunkSlot returns the slot of chunk index, or nil when its segment does
// not exist (never written) or lies beyond the table.
func (t *ramTable) chunkSlot(index int64) *atomic.Pointer[ramChunk] {
	segIndex := index / ramSegmentChunks
	if segIndex >= int64(len(t.segments)) {
		return nil
	}
	seg := t.segments[segIndex].Load()
	if seg == nil {
		return nil
	}
	return &seg.chunks[index%ramSegmentChunks]
}

// ramBackend keeps data in lazily allocated chunks. The hot path takes no
// device-wide lock: chunk and segment pointers are atomics, a new chunk is
// published with compare-and-swap, and only the chunk touched is locked.
// Only creating a segment and resizing take growMu.
type ramBackend struct {
	chunkSize  int64
	chunkShift uint
	size       atomic.Int64
	table      atomic.Pointer[ramTable]
	allocated  atomic.Int64 // bytes held in chunks
	growMu     sync.Mutex
}

// NonBlocking is true: reads and writes copy memory (a first write to a
// chunk allocates it).
func (b *ramBackend) NonBlocking() bool { return true }

func newRAM(size, chunk int64) *ramBackend {
	b := &ramBackend{chunkSize: chunk, chunkShift: uint(bits.TrailingZeros64(uint64(chunk)))}
	b.size.Store(size)
	b.table.Store(b.newTable(size, nil))
	return b
}

func (b *ramBackend) newTable(size int64, old *ramTable) *ramTable {
	chunks := (size + b.chunkSize - 1) >> b.chunkShift
	t := &ramTable{segments: make([]atomic.Pointer[ramSegment], (chunks+ramSegmentChunks-1)/ramSegmentChunks)}
	if old != nil {
		for i := range min(len(old.segments), len(t.segments)) {
			t.segments[i].Store(old.segments[i].Load())
		}
	}
	return t
}

// createSegment fills a segment slot of the current table. It is the slow
// path of the first write to a segment; it reloads the table under growMu
// so that a concurrent resize cannot drop the new segment.
func (b *ramBackend) createSegment(index int64) *ramSegment {
	b.growMu.Lock()
	defer b.growMu.Unlock()
	t := b.table.Load()
	if index >= int64(len(t.segments)) {
		return nil
	}
	if seg := t.segments[index].Load(); seg != nil {
		return seg
	}
	seg := new(ramSegment)
	t.segments[index].Store(seg)
	return seg
}

// chunkForWrite returns the chunk at index, allocating it if needed.
func (b *ramBackend) chunkForWrite(t *ramTable, index int64) *ramChunk {
	slot := t.chunkSlot(index)
	if slot == nil {
		seg := b.createSegment(index / ramSegmentChunks)
		if seg == nil {
			return nil
		}
		slot = &seg.chunks[index%ramSegmentChunks]
	}
	if c := slot.Load(); c != nil {
		return c
	}
	c := &ramChunk{data: make([]byte, b.chunkSize)}
	if slot.CompareAndSwap(nil, c) {
		b.allocated.Add(b.chunkSize)
		return c
	}
	// Another writer published the chunk first; use theirs.
	return slot.Load()
}

func (b *ramBackend) ReadAt(p []byte, off int64) (int, error) {
	size := b.size.Load()
	if off < 0 {
		return 0, checkRange(off, int64(len(p)), size)
	}
	if off >= size {
		return 0, io.EOF
	}
	n := len(p)
	if int64(n) > size-off {
		n = int(size - off)
	}
	t := b.table.Load()
	for done := 0; done < n; {
		pos := off + int64(done)
		within := pos & (b.chunkSize - 1)
		k := int(min(int64(n-done), b.chunkSize-within))
		var c *ramChunk
		if slot := t.chunkSlot(pos >> b.chunkShift); slot != nil {
			c = slot.Load()
		}
		if c == nil {
			clear(p[done : done+k])
		} else {
			c.mu.RLock()
			copy(p[done:done+k], c.data[within:])
			c.mu.RUnlock()
		}
		done += k
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (b *ramBackend) WriteAt(p []byte, off int64) (int, error) {
	if err := checkRange(off, int64(len(p)), b.size.Load()); err != nil {
		return 0, err
	}
	t := b.table.Load()
	for done := 0; done < len(p); {
		pos := off + int64(done)
		within := pos & (b.chunkSize - 1)
		k := int(min(int64(len(p)-done), b.chunkSize-within))
		c := b.chunkForWrite(t, pos>>b.chunkShift)
		if c == nil {
			// Only a shrink or Close racing with this write gets here.
			return done, fmt.Errorf("write at offset %d: the device was closed or shrunk meanwhile: %w", pos, ErrOutOfRange)
		}
		c.mu.Lock()
		copy(c.data[within:], p[done:done+k])
		c.mu.Unlock()
		done += k
	}
	return len(p), nil
}

// WriteAtFUA is WriteAt: memory is as stable as this device gets.
func (b *ramBackend) WriteAtFUA(p []byte, off int64) (int, error) { return b.WriteAt(p, off) }

// Unmap frees the chunks the range covers whole and zeroes the rest.
func (b *ramBackend) Unmap(off, length int64) error {
	if err := checkRange(off, length, b.size.Load()); err != nil {
		return err
	}
	b.release(b.table.Load(), off, length)
	return nil
}

// WriteZeroes is Unmap: unmapped chunks read back as zeroes.
func (b *ramBackend) WriteZeroes(off, length int64) error { return b.Unmap(off, length) }

func (b *ramBackend) release(t *ramTable, off, length int64) {
	end := off + length
	for pos := off; pos < end; {
		within := pos & (b.chunkSize - 1)
		k := min(end-pos, b.chunkSize-within)
		index := pos >> b.chunkShift
		slot := t.chunkSlot(index)
		switch {
		case slot == nil:
			// No segment here: skip all of it at once, which keeps
			// unmapping a huge sparse device cheap.
			segmentEnd := (index/ramSegmentChunks + 1) * ramSegmentChunks << b.chunkShift
			pos = min(segmentEnd, end)
			continue
		case k == b.chunkSize:
			if old := slot.Swap(nil); old != nil {
				b.allocated.Add(-b.chunkSize)
			}
		default:
			if c := slot.Load(); c != nil {
				c.mu.Lock()
				clear(c.data[within : within+k])
				c.mu.Unlock()
			}
		}
		pos += k
	}
}

// ramExtentScan bounds the chunk slots one MappedExtent call looks at, so
// that a query on a huge device stays short; the caller asks again.
const ramExtentScan = 1 << 16

// MappedExtent reports allocated chunks as mapped (a partly zeroed chunk
// included) and chunks never written, or freed whole, as deallocated.
func (b *ramBackend) MappedExtent(off int64) (bool, int64, error) {
	size := b.size.Load()
	if off < 0 || off >= size {
		return false, 0, checkRange(off, 1, size)
	}
	t := b.table.Load()
	allocated := func(index int64) bool {
		slot := t.chunkSlot(index)
		return slot != nil && slot.Load() != nil
	}
	first := off >> b.chunkShift
	mapped := allocated(first)
	lastChunk := (size - 1) >> b.chunkShift
	index := first + 1
	for scanned := 0; index <= lastChunk && scanned < ramExtentScan; scanned++ {
		if !mapped && t.chunkSlot(index) == nil {
			// No segment: all of it is deallocated.
			index = (index/ramSegmentChunks + 1) * ramSegmentChunks
			continue
		}
		if allocated(index) != mapped {
			break
		}
		index++
	}
	end := min(index<<b.chunkShift, size)
	return mapped, end - off, nil
}

func (b *ramBackend) Resize(size int64) error {
	if size <= 0 {
		return fmt.Errorf("resize to %d bytes: size must be positive", size)
	}
	if err := checkRAMSize(size, b.chunkSize); err != nil {
		return fmt.Errorf("resize: %w", err)
	}
	b.growMu.Lock()
	defer b.growMu.Unlock()
	old := b.table.Load()
	if oldSize := b.size.Load(); size < oldSize {
		// Zero and free what lies beyond the new end, so that growing
		// again later shows zeroes there rather than old data.
		tableEnd := int64(len(old.segments)) * ramSegmentChunks * b.chunkSize
		b.release(old, size, tableEnd-size)
	}
	b.table.Store(b.newTable(size, old))
	b.size.Store(size)
	return nil
}

// AllocatedBytes is the memory held in chunks (what `info` can show next
// to the device size).
func (b *ramBackend) AllocatedBytes() int64 { return b.allocated.Load() }

// Prefetch has nothing to read: every block is in memory already.
func (b *ramBackend) Prefetch(off, length int64) (bool, error) {
	return true, checkRange(off, length, b.size.Load())
}

func (b *ramBackend) Flush() error { return nil }
func (b *ramBackend) Size() int64  { return b.size.Load() }

func (b *ramBackend) Caps() Caps {
	return Caps{Unmap: true, UnmapZeroes: true, WriteZeroes: true, FUA: true, Mapping: true, UnmapGranularity: b.chunkSize}
}

// Close drops the table; the memory goes with the last reference.
func (b *ramBackend) Close() error {
	b.growMu.Lock()
	defer b.growMu.Unlock()
	b.table.Store(&ramTable{})
	b.allocated.Store(0)
	return nil
}
