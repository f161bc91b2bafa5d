package backends

import (
	"bytes"
	"errors"

	"io"
	"runtime"
	"sync"
	"testing"
)

func openRAM(t testing.TB, config string, size int64) *ramBackend {
	t.Helper()
	b, err := Open(config, size, 512)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b.(*ramBackend)
}

func pattern(n int, seed byte) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = seed + byte(i*7)
	}
	return p
}

func readBack(t testing.TB, b Backend, off int64, n int) []byte {
	t.Helper()
	p := bytes.Repeat([]byte{0xee}, n)
	if got, err := b.ReadAt(p, off); err != nil || got != n {
		t.Fatalf("ReadAt(%d bytes at %d) = %d, %v", n, off, got, err)
	}
	return p
}

func isZero(p []byte) bool { return !bytes.ContainsFunc(p, func(r rune) bool { return r != 0 }) }

func TestRAMIsLazy(t *testing.T) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b := openRAM(t, "ram/", 64<<30) // 64 GiB, far more than this test may use
	if got := readBack(t, b, 10<<30, 1<<20); !isZero(got) {
		t.Fatal("unwritten chunk did not read as zeroes")
	}
	runtime.ReadMemStats(&after)
	if b.AllocatedBytes() != 0 {
		t.Fatalf("allocated %d bytes before any write", b.AllocatedBytes())
	}
	// The table for 64 GiB is 64 segment pointers; allow the 1 MiB read
	// buffer and test noise.
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 4<<20 {
		t.Fatalf("heap grew by %d bytes for an unwritten device", grown)
	}

	data := pattern(4096, 1)
	if _, err := b.WriteAt(data, 5<<20+100); err != nil {
		t.Fatal(err)
	}
	if b.AllocatedBytes() != 1<<20 {
		t.Fatalf("one 4 KiB write allocated %d bytes, want one 1 MiB chunk", b.AllocatedBytes())
	}
	if !bytes.Equal(readBack(t, b, 5<<20+100, 4096), data) {
		t.Fatal("read back differs")
	}
	if !isZero(readBack(t, b, 5<<20, 100)) || !isZero(readBack(t, b, 5<<20+4196, 4096)) {
		t.Fatal("bytes around the write are not zero")
	}
}

func TestRAMSpansChunks(t *testing.T) {
	b := openRAM(t, "ram/chunk=4k", 1<<20)
	data := pattern(3*4096, 9)
	off := int64(4096 - 10)
	if _, err := b.WriteAt(data, off); err != nil {
		t.Fatal(err)
	}
	if b.AllocatedBytes() != 4*4096 {
		t.Fatalf("allocated %d, want 4 chunks", b.AllocatedBytes())
	}
	if !bytes.Equal(readBack(t, b, off, len(data)), data) {
		t.Fatal("read back differs")
	}
	if c := b.Caps(); !c.Unmap || !c.UnmapZeroes || !c.WriteZeroes || !c.FUA || c.ReadOnly || c.UnmapGranularity != 4096 {
		t.Fatalf("caps %+v", c)
	}
}

func TestRAMUnmap(t *testing.T) {
	const chunk = 64 << 10
	b := openRAM(t, "ram/chunk=64k", 1<<20)
	data := pattern(8*chunk, 3)
	if _, err := b.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	// [chunk/2, 3.5 chunks): frees chunks 1 and 2, zeroes half of 0 and 3.
	if err := b.Unmap(chunk/2, 3*chunk); err != nil {
		t.Fatal(err)
	}
	if got := b.AllocatedBytes(); got != 6*chunk {
		t.Fatalf("after unmap %d bytes allocated, want %d", got, 6*chunk)
	}
	got := readBack(t, b, 0, len(data))
	if !isZero(got[chunk/2 : chunk/2+3*chunk]) {
		t.Fatal("unmapped range does not read as zeroes")
	}
	if !bytes.Equal(got[:chunk/2], data[:chunk/2]) || !bytes.Equal(got[chunk/2+3*chunk:], data[chunk/2+3*chunk:]) {
		t.Fatal("data outside the unmapped range changed")
	}
	if err := b.WriteZeroes(0, 8*chunk); err != nil {
		t.Fatal(err)
	}
	if b.AllocatedBytes() != 0 || !isZero(readBack(t, b, 0, 8*chunk)) {
		t.Fatalf("WriteZeroes of everything left %d bytes", b.AllocatedBytes())
	}
}

func TestRAMResize(t *testing.T) {
	b := openRAM(t, "ram/chunk=4k", 8192)
	if _, err := b.WriteAt(pattern(8192, 1), 0); err != nil {
		t.Fatal(err)
	}
	if err := b.Resize(3 << 30); err != nil {
		t.Fatal(err)
	}
	if b.Size() != 3<<30 {
		t.Fatalf("size %d", b.Size())
	}
	if _, err := b.WriteAt([]byte("end"), 3<<30-3); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readBack(t, b, 0, 8192), pattern(8192, 1)) {
		t.Fatal("data lost by growing")
	}
	// Shrink into the middle of a chunk, then grow: the dropped part
	// must read back as zeroes.
	if err := b.Resize(100); err != nil {
		t.Fatal(err)
	}
	if b.AllocatedBytes() != 4096 {
		t.Fatalf("after shrink %d bytes allocated, want one chunk", b.AllocatedBytes())
	}
	if _, err := b.WriteAt([]byte{1}, 100); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("write beyond the new end: %v", err)
	}
	if err := b.Resize(1 << 20); err != nil {
		t.Fatal(err)
	}
	got := readBack(t, b, 0, 8192)
	if !bytes.Equal(got[:100], pattern(100, 1)) || !isZero(got[100:]) {
		t.Fatal("shrink then grow did not zero the dropped part")
	}
	for _, size := range []int64{0, -1} {
		if err := b.Resize(size); err == nil {
			t.Fatalf("Resize(%d) succeeded", size)
		}
	}
	if err := b.Resize(1 << 43); err == nil {
		t.Fatal("Resize beyond what chunk=4k can address succeeded")
	}
}

func TestRAMRanges(t *testing.T) {
	b := openRAM(t, "ram/", 1000)
	p := make([]byte, 100)
	if n, err := b.ReadAt(p, 950); n != 50 || err != io.EOF {
		t.Fatalf("read across the end = %d, %v; want 50, EOF", n, err)
	}
	if n, err := b.ReadAt(p, 1000); n != 0 || err != io.EOF {
		t.Fatalf("read at the end = %d, %v", n, err)
	}
	if _, err := b.ReadAt(p, -1); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("read at -1: %v", err)
	}
	if _, err := b.WriteAt(p, 950); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("write across the end: %v", err)
	}
	if err := b.Unmap(0, 1001); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("unmap across the end: %v", err)
	}
	if err := b.Unmap(-1, 1); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("unmap at -1: %v", err)
	}
	if b.AllocatedBytes() != 0 {
		t.Fatal("failed writes allocated memory")
	}
}

// TestRAMConcurrent writes distinct interleaved slices of the same fresh
// chunks from many goroutines (all racing to allocate them) while others
// read and the device grows; every write must survive.
func TestRAMConcurrent(t *testing.T) {
	b := openRAM(t, "ram/chunk=4k", 4<<20)
	const writers, perWriter, piece = 8, 256, 512
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				off := int64((i*writers + w) * piece)
				if _, err := b.WriteAt(bytes.Repeat([]byte{byte(w + 1)}, piece), off); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		p := make([]byte, 8192)
		for i := range 500 {
			if _, err := b.ReadAt(p, int64(i*4096)%(4<<20-8192)); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Go(func() {
		for i := range 50 {
			if err := b.Resize(int64(4<<20 + i*(4<<20))); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
	got := readBack(t, b, 0, writers*perWriter*piece)
	for i := range writers * perWriter {
		want := byte(i%writers + 1)
		if !bytes.Equal(got[i*piece:(i+1)*piece], bytes.Repeat([]byte{want}, piece)) {
			t.Fatalf("piece %d lost: %v", i, got[i*piece:i*piece+4])
		}
	}
	if want := int64(writers * perWriter * piece); b.AllocatedBytes() != want {
		t.Fatalf("allocated %d, want %d (a lost allocation race leaks or drops chunks)", b.AllocatedBytes(), want)
	}
}

func TestRAMNoAllocsOnceWritten(t *testing.T) {
	b := openRAM(t, "ram/", 16<<20)
	p := pattern(4096, 2)
	if _, err := b.WriteAt(p, 4096); err != nil {
		t.Fatal(err)
	}
	for name, op := range map[string]func(){
		"WriteAt":     func() { b.WriteAt(p, 4096) },
		"ReadAt":      func() { b.ReadAt(p, 4096) },
		"ReadAt hole": func() { b.ReadAt(p, 8<<20) },
	} {
		if n := testing.AllocsPerRun(100, op); n != 0 {
			t.Errorf("%s: %v allocations per call", name, n)
		}
	}
}

func TestRAMClose(t *testing.T) {
	b := openRAM(t, "ram/", 1<<20)
	b.WriteAt([]byte{1}, 0)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if b.AllocatedBytes() != 0 {
		t.Fatal("Close kept memory")
	}
	if _, err := b.WriteAt([]byte{1}, 0); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("write after Close: %v", err)
	}
}

func TestNull(t *testing.T) {
	b, err := Open("null/", 1<<20, 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.WriteAt(pattern(4096, 1), 0); err != nil {
		t.Fatal(err)
	}
	if !isZero(readBack(t, b, 0, 4096)) {
		t.Fatal("null kept data")
	}
	if c := b.Caps(); !c.Unmap || !c.UnmapZeroes || !c.WriteZeroes || !c.FUA || c.ReadOnly {
		t.Fatalf("caps %+v", c)
	}
	for _, err := range []error{
		b.(Unmapper).Unmap(0, 1<<20), b.(ZeroWriter).WriteZeroes(0, 4096), b.Flush(),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.(FUAWriter).WriteAtFUA(make([]byte, 10), 1<<20-5); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("FUA write across the end: %v", err)
	}
	p := make([]byte, 10)
	if n, err := b.ReadAt(p, 1<<20-5); n != 5 || err != io.EOF {
		t.Fatalf("read across the end: %d, %v", n, err)
	}
	if err := b.(Resizer).Resize(2 << 20); err != nil || b.Size() != 2<<20 {
		t.Fatalf("resize: %v, size %d", err, b.Size())
	}
	p = pattern(4096, 3)
	for name, op := range map[string]func(){
		"WriteAt": func() { b.WriteAt(p, 4096) },
		"ReadAt":  func() { b.ReadAt(p, 4096) },
	} {
		if n := testing.AllocsPerRun(100, op); n != 0 {
			t.Errorf("%s: %v allocations per call", name, n)
		}
	}
}

// TestRAMUnmapHugeSparse: unmapping a whole huge device that was barely
// written skips the segments that were never created.
func TestRAMUnmapHugeSparse(t *testing.T) {
	b := openRAM(t, "ram/chunk=4k", 4<<40) // 2^30 chunks
	if _, err := b.WriteAt([]byte{1}, 3<<40); err != nil {
		t.Fatal(err)
	}
	if err := b.Unmap(0, b.Size()); err != nil {
		t.Fatal(err)
	}
	if b.AllocatedBytes() != 0 {
		t.Fatalf("%d bytes left", b.AllocatedBytes())
	}
	if err := b.Resize(4096); err != nil {
		t.Fatal(err)
	}
}
