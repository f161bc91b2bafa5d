package backends

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"testing"
)

// split cuts p into buffers of the given lengths (the last one takes the
// rest); a length of 0 makes an empty buffer.
func split(p []byte, lens ...int) [][]byte {
	var bufs [][]byte
	for _, n := range lens {
		n = min(n, len(p))
		bufs = append(bufs, p[:n:n])
		p = p[n:]
	}
	if len(p) > 0 {
		bufs = append(bufs, p)
	}
	return bufs
}

func TestFileVectorIO(t *testing.T) {
	many := make([]int, 150) // more buffers than one call takes
	for i := range many {
		many[i] = 512 * (1 + i%3)
	}
	cases := []struct {
		name string
		size int
		lens []int
	}{
		{"one buffer", 4096, nil},
		{"three pages", 3 * 4096, []int{4096, 4096}},
		{"uneven", 10000, []int{1, 4095, 0, 3000}},
		{"empty buffers around", 2048, []int{0, 0, 1024, 0}},
		{"more than a batch", 150 * 1024, many},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var calls countingSyscalls
			b := openTestFile(t, filepath.Join(t.TempDir(), "v.img"), 1<<20, calls.syscalls())
			data := pattern(tc.size, 3)
			n, err := b.WritevAt(split(bytes.Clone(data), tc.lens...), 4096, false)
			if err != nil || n != tc.size {
				t.Fatalf("WritevAt = %d, %v; want %d", n, err, tc.size)
			}
			if !bytes.Equal(readBack(t, b, 4096, tc.size), data) {
				t.Fatal("WritevAt: ReadAt reads back different data")
			}
			back := make([]byte, tc.size)
			n, err = b.ReadvAt(split(back, tc.lens...), 4096)
			if err != nil || n != tc.size {
				t.Fatalf("ReadvAt = %d, %v; want %d", n, err, tc.size)
			}
			if !bytes.Equal(back, data) {
				t.Fatal("ReadvAt read different data")
			}
			if calls.pwrites.Load() != 0 || calls.fdatasyncs.Load() != 0 {
				t.Fatalf("a plain vector write made %d pwritev2 and %d fdatasync calls", calls.pwrites.Load(), calls.fdatasyncs.Load())
			}
		})
	}
}

func TestFileVectorEOF(t *testing.T) {
	b := openTestFile(t, filepath.Join(t.TempDir(), "v.img"), 8192, realSyscalls)
	if _, err := b.WriteAt(pattern(8192, 5), 0); err != nil {
		t.Fatal(err)
	}
	back := make([]byte, 6144)
	// 2 KiB before the end, 6 KiB asked for: what is there, then io.EOF.
	n, err := b.ReadvAt(split(back, 1024, 3072), 6144)
	if n != 2048 || !errors.Is(err, io.EOF) {
		t.Fatalf("ReadvAt across the end = %d, %v; want 2048, io.EOF", n, err)
	}
	if !bytes.Equal(back[:2048], pattern(8192, 5)[6144:]) {
		t.Fatal("ReadvAt across the end: wrong data before the end")
	}
	if n, err := b.ReadvAt(split(back, 4096), -4096); n != 0 || err == nil {
		t.Fatalf("ReadvAt at a negative offset = %d, %v; want an error", n, err)
	}
	if n, err := b.ReadvAt(nil, 0); n != 0 || err != nil {
		t.Fatalf("ReadvAt of no buffers = %d, %v", n, err)
	}
}

func TestFileVectorWriteChecks(t *testing.T) {
	dir := t.TempDir()
	b := openTestFile(t, filepath.Join(dir, "v.img"), 8192, realSyscalls)
	if _, err := b.WritevAt(split(make([]byte, 4096), 1024), 6144, false); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("WritevAt past the end: %v; want ErrOutOfRange", err)
	}
	if _, err := b.WritevAt(split(make([]byte, 1024)), -1024, false); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("WritevAt at a negative offset: %v; want ErrOutOfRange", err)
	}
	ro := openTestFile(t, filepath.Join(dir, "v.img")+";readonly", 8192, realSyscalls)
	_, err := ro.WritevAt(split(make([]byte, 1024)), 0, false)
	var se *SenseError
	if !errors.As(err, &se) {
		t.Fatalf("WritevAt on a read-only file: %v; want a SenseError (write protected)", err)
	}
}

func TestFileVectorFUA(t *testing.T) {
	for _, refuse := range []bool{false, true} {
		calls := countingSyscalls{refusePwritev2: refuse}
		b := openTestFile(t, filepath.Join(t.TempDir(), "v.img"), 1<<20, calls.syscalls())
		data := pattern(12288, 9)
		for range 3 {
			if n, err := b.WritevAt(split(bytes.Clone(data), 4096, 4096), 8192, true); err != nil || n != len(data) {
				t.Fatalf("refuse %v: WritevAt FUA = %d, %v", refuse, n, err)
			}
		}
		if !bytes.Equal(readBack(t, b, 8192, len(data)), data) {
			t.Fatalf("refuse %v: FUA data not read back", refuse)
		}
		if !refuse && (calls.dsyncPwrites.Load() != 3 || calls.fdatasyncs.Load() != 0) {
			t.Fatalf("%d pwritev2(RWF_DSYNC), %d fdatasync; want 3 and 0", calls.dsyncPwrites.Load(), calls.fdatasyncs.Load())
		}
		// Without pwritev2 the first call learns it; every call syncs.
		if refuse && (calls.pwrites.Load() != 1 || calls.fdatasyncs.Load() != 3) {
			t.Fatalf("no pwritev2: %d tries, %d fdatasync; want 1 and 3", calls.pwrites.Load(), calls.fdatasyncs.Load())
		}
	}
}

func TestFileVectorDirect(t *testing.T) {
	path := filepath.Join(t.TempDir(), "direct.img")
	c, err := parseFileConfig(path + ";direct=true")
	if err != nil {
		t.Fatal(err)
	}
	b, err := openFile(c, 4<<20, 512, realSyscalls)
	if err != nil {
		t.Skipf("O_DIRECT here: %v", err)
	}
	defer b.Close()
	// Page-aligned buffers go to pwritev/preadv as they are; a list with
	// one unaligned buffer goes through the bounce buffers.
	page := alignedBuffer(3 * 4096)
	copy(page, pattern(len(page), 21))
	odd := make([]byte, 4096+1)[1:]
	copy(odd, pattern(len(odd), 22))
	for _, bufs := range [][][]byte{split(page, 4096, 4096), {page[:4096], odd}} {
		want := bytes.Join(bufs, nil)
		if n, err := b.WritevAt(bufs, 16384, false); err != nil || n != len(want) {
			t.Fatalf("direct WritevAt = %d, %v", n, err)
		}
		if n, err := b.WritevAt(bufs, 65536, true); err != nil || n != len(want) {
			t.Fatalf("direct FUA WritevAt = %d, %v", n, err)
		}
		for _, off := range []int64{16384, 65536} {
			back := alignedBuffer(len(want))
			if n, err := b.ReadvAt(split(back, 4096), off); err != nil || n != len(want) {
				t.Fatalf("direct ReadvAt = %d, %v", n, err)
			}
			if !bytes.Equal(back, want) {
				t.Fatalf("direct vector I/O at %d read back different data", off)
			}
			unaligned := make([]byte, len(want)+1)[1:]
			if n, err := b.ReadvAt(split(unaligned, 100), off); err != nil || n != len(want) {
				t.Fatalf("direct unaligned ReadvAt = %d, %v", n, err)
			}
			if !bytes.Equal(unaligned, want) {
				t.Fatalf("direct unaligned ReadvAt at %d read different data", off)
			}
		}
	}
}

func TestFileVectorAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	b := openTestFile(t, filepath.Join(t.TempDir(), "v.img"), 1<<20, realSyscalls)
	buf := make([]byte, 100*4096)
	bufs := split(buf, make([]int, 99)...)
	for i := range bufs {
		bufs[i] = buf[i*4096 : (i+1)*4096]
	}
	if n := testing.AllocsPerRun(50, func() {
		b.WritevAt(bufs, 0, false)
		b.WritevAt(bufs, 0, true)
		b.ReadvAt(bufs, 0)
	}); n != 0 {
		t.Fatalf("%v allocations per vector write+FUA write+read", n)
	}
}

func TestVectorPositions(t *testing.T) {
	bufs := [][]byte{make([]byte, 3), nil, make([]byte, 2), make([]byte, 4)}
	for _, tc := range []struct{ i, skip, n, wi, wskip int }{
		{0, 0, 0, 0, 0},
		{0, 0, 2, 0, 2},
		{0, 0, 3, 2, 0}, // past the empty one too
		{0, 1, 4, 3, 0},
		{0, 0, 9, 4, 0},
		{2, 1, 2, 3, 1},
	} {
		i, skip := advance(bufs, tc.i, tc.skip, tc.n)
		i, skip = skipEmpty(bufs, i, skip)
		if i != tc.wi || skip != tc.wskip {
			t.Errorf("advance(%d, %d, %d) = %d, %d; want %d, %d", tc.i, tc.skip, tc.n, i, skip, tc.wi, tc.wskip)
		}
	}
}
