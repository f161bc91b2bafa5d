package backends

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
)

// extent is one run of a backend's mapping, as walkExtents merges them.
type extent struct {
	off, length int64
	mapped      bool
}

func (e extent) String() string {
	state := "hole"
	if e.mapped {
		state = "data"
	}
	return fmt.Sprintf("%s[%d,+%d)", state, e.off, e.length)
}

// walkExtents walks the whole device with MappedExtent, checking each
// answer, and returns the runs merged.
func walkExtents(t testing.TB, b Backend) []extent {
	t.Helper()
	m, ok := b.(Mapper)
	if !ok {
		t.Fatalf("%T is no Mapper", b)
	}
	size := b.Size()
	var out []extent
	for off, calls := int64(0), 0; off < size; calls++ {
		if calls > 1<<20 {
			t.Fatal("MappedExtent does not advance")
		}
		mapped, n, err := m.MappedExtent(off)
		if err != nil {
			t.Fatalf("MappedExtent(%d): %v", off, err)
		}
		if n <= 0 || n > size-off {
			t.Fatalf("MappedExtent(%d) = %v, %d on a %d-byte device", off, mapped, n, size)
		}
		if k := len(out) - 1; k >= 0 && out[k].mapped == mapped {
			out[k].length += n
		} else {
			out = append(out, extent{off, n, mapped})
		}
		off += n
	}
	return out
}

func wantExtents(t testing.TB, b Backend, want ...extent) {
	t.Helper()
	if got := walkExtents(t, b); !slices.Equal(got, want) {
		t.Fatalf("extents %v, want %v", got, want)
	}
}

func wantExtentOutOfRange(t testing.TB, b Backend) {
	t.Helper()
	m := b.(Mapper)
	for _, off := range []int64{-1, b.Size(), b.Size() + 4096} {
		if _, _, err := m.MappedExtent(off); !errors.Is(err, ErrOutOfRange) {
			t.Fatalf("MappedExtent(%d) on a %d-byte device: %v", off, b.Size(), err)
		}
	}
}

func TestRAMMappedExtent(t *testing.T) {
	const chunk = 64 << 10
	b := openRAM(t, "ram/chunk=64k", 1<<20+chunk/2) // the last chunk is partial
	if !b.Caps().Mapping {
		t.Fatal("ram does not claim Mapping")
	}
	size := b.Size()
	wantExtents(t, b, extent{0, size, false})
	wantExtentOutOfRange(t, b)

	// Chunks 1..3 and the partial last one written.
	if _, err := b.WriteAt(pattern(3*chunk, 1), chunk); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WriteAt([]byte{1}, size-1); err != nil {
		t.Fatal(err)
	}
	wantExtents(t, b, extent{0, chunk, false}, extent{chunk, 3 * chunk, true},
		extent{4 * chunk, 12 * chunk, false}, extent{16 * chunk, chunk / 2, true})
	// From the middle of a run, the rest of it.
	if mapped, n, err := b.MappedExtent(chunk + 100); err != nil || !mapped || n != 3*chunk-100 {
		t.Fatalf("MappedExtent inside data: %v, %d, %v", mapped, n, err)
	}
	if mapped, n, err := b.MappedExtent(5*chunk + 7); err != nil || mapped || n != 11*chunk-7 {
		t.Fatalf("MappedExtent inside a hole: %v, %d, %v", mapped, n, err)
	}

	// Unmapping chunk 2 whole frees it; half of chunk 3 leaves it mapped.
	if err := b.Unmap(2*chunk, chunk+chunk/2); err != nil {
		t.Fatal(err)
	}
	wantExtents(t, b, extent{0, chunk, false}, extent{chunk, chunk, true}, extent{2 * chunk, chunk, false},
		extent{3 * chunk, chunk, true}, extent{4 * chunk, 12 * chunk, false}, extent{16 * chunk, chunk / 2, true})

	// Shrinking drops what was beyond; growing shows a hole there.
	if err := b.Resize(2 * chunk); err != nil {
		t.Fatal(err)
	}
	wantExtents(t, b, extent{0, chunk, false}, extent{chunk, chunk, true})
	if err := b.Resize(8 * chunk); err != nil {
		t.Fatal(err)
	}
	wantExtents(t, b, extent{0, chunk, false}, extent{chunk, chunk, true}, extent{2 * chunk, 6 * chunk, false})
}

// TestRAMMappedExtentHuge: a huge, barely written device is walked in few
// calls, each bounded.
func TestRAMMappedExtentHuge(t *testing.T) {
	b := openRAM(t, "ram/chunk=4k", 4<<40) // 2^30 chunks
	// Segment 0 exists and is empty but for chunk 0; far away, one chunk.
	if _, err := b.WriteAt([]byte{1}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WriteAt([]byte{1}, 3<<40); err != nil {
		t.Fatal(err)
	}
	wantExtents(t, b, extent{0, 4096, true}, extent{4096, 3<<40 - 4096, false},
		extent{3 << 40, 4096, true}, extent{3<<40 + 4096, 1<<40 - 4096, false})
}

func TestNullMappedExtent(t *testing.T) {
	b, err := Open("null/", 1<<20, 512)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if c := b.Caps(); !c.Mapping || !c.Unmap {
		t.Fatalf("caps %+v", c)
	}
	if _, err := b.WriteAt(pattern(4096, 1), 0); err != nil {
		t.Fatal(err)
	}
	wantExtents(t, b, extent{0, 1 << 20, false})
	wantExtentOutOfRange(t, b)
}

func TestFileMappedExtent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.img")
	b := openTestFile(t, path, 4<<20, realSyscalls)
	if !b.canSeek {
		t.Skip("this file system does not answer SEEK_DATA")
	}
	if !b.Caps().Mapping {
		t.Fatalf("caps %+v", b.Caps())
	}
	wantExtents(t, b, extent{0, 4 << 20, false})
	wantExtentOutOfRange(t, b)
	if _, err := b.WriteAt(pattern(1<<20, 2), 1<<20); err != nil {
		t.Fatal(err)
	}
	wantExtents(t, b, extent{0, 1 << 20, false}, extent{1 << 20, 1 << 20, true}, extent{2 << 20, 2 << 20, false})
	if mapped, n, err := b.MappedExtent(1<<20 + 4096); err != nil || !mapped || n != 1<<20-4096 {
		t.Fatalf("MappedExtent inside data: %v, %d, %v", mapped, n, err)
	}
	if !b.canPunch {
		return
	}
	// Punch the middle of the data; the file system's block is the unit.
	if err := b.Unmap(1<<20+256<<10, 256<<10); err != nil {
		t.Fatal(err)
	}
	wantExtents(t, b, extent{0, 1 << 20, false}, extent{1 << 20, 256 << 10, true},
		extent{1<<20 + 256<<10, 256 << 10, false}, extent{1<<20 + 512<<10, 512 << 10, true}, extent{2 << 20, 2 << 20, false})
	// Data up to the very end.
	if _, err := b.WriteAt([]byte{1}, b.Size()-1); err != nil {
		t.Fatal(err)
	}
	got := walkExtents(t, b)
	if last := got[len(got)-1]; !last.mapped || last.off+last.length != b.Size() || last.length > 64<<10 {
		t.Fatalf("extents %v: the last byte's block is not data", got)
	}
}

func TestFileMappedExtentWithoutSeekData(t *testing.T) {
	calls := countingSyscalls{refuseSeek: true}
	b := openTestFile(t, filepath.Join(t.TempDir(), "d.img"), 1<<20, calls.syscalls())
	if b.canSeek || b.Caps().Mapping {
		t.Fatalf("SEEK_DATA refused, yet caps %+v", b.Caps())
	}
	// Still a Mapper, which says everything is mapped.
	wantExtents(t, b, extent{0, 1 << 20, true})
	wantExtentOutOfRange(t, b)
}

func TestFileMappedExtentSeekFailsLater(t *testing.T) {
	calls := countingSyscalls{}
	b := openTestFile(t, filepath.Join(t.TempDir(), "d.img"), 1<<20, calls.syscalls())
	if !b.canSeek {
		t.Skip("this file system does not answer SEEK_DATA")
	}
	calls.refuseSeek = true
	wantExtents(t, b, extent{0, 1 << 20, true})
}

func TestFaultMappedExtent(t *testing.T) {
	b, err := Open("fault/ram/chunk=4k;error_rate=1", 1<<20, 512)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !b.Caps().Mapping {
		t.Fatalf("caps %+v", b.Caps())
	}
	inner := b.(*faultBackend).inner
	if _, err := inner.WriteAt([]byte{1}, 8192); err != nil {
		t.Fatal(err)
	}
	// error_rate=1 fails every read and write, not the mapping queries.
	wantExtents(t, b, extent{0, 8192, false}, extent{8192, 4096, true}, extent{12288, 1<<20 - 12288, false})
	wantExtentOutOfRange(t, b)
	if ops := b.(*faultBackend).Operations(); ops != 0 {
		t.Fatalf("%d operations counted", ops)
	}

	// Over an inner backend without a Mapper: all mapped, and not claimed.
	f := newFault(plainBackend{inner.(*ramBackend)}, faultConfig{})
	if f.Caps().Mapping {
		t.Fatal("fault claims Mapping over a backend without it")
	}
	wantExtents(t, f, extent{0, 1 << 20, true})
	wantExtentOutOfRange(t, f)
}

// plainBackend hides every optional interface of a backend.
type plainBackend struct{ b *ramBackend }

func (p plainBackend) ReadAt(b []byte, off int64) (int, error)  { return p.b.ReadAt(b, off) }
func (p plainBackend) WriteAt(b []byte, off int64) (int, error) { return p.b.WriteAt(b, off) }
func (p plainBackend) Flush() error                             { return nil }
func (p plainBackend) Size() int64                              { return p.b.Size() }
func (p plainBackend) Caps() Caps                               { return Caps{} }
func (p plainBackend) Close() error                             { return nil }

var (
	_ Mapper = (*ramBackend)(nil)
	_ Mapper = (*fileBackend)(nil)
	_ Mapper = (*nullBackend)(nil)
	_ Mapper = (*faultBackend)(nil)
)
