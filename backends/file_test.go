package backends

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// countingSyscalls wraps the real system calls, counting them and letting
// a test refuse some with EOPNOTSUPP or ENOSYS.
type countingSyscalls struct {
	fdatasyncs, pwrites, dsyncPwrites, fallocates atomic.Int64
	refusePwritev2                                bool
	refuseFallocate                               func(mode uint32) bool
	refuseSeek                                    bool // SEEK_DATA/SEEK_HOLE fail with EINVAL
}

func (c *countingSyscalls) syscalls() fileSyscalls {
	return fileSyscalls{
		fdatasync: func(fd int) error {
			c.fdatasyncs.Add(1)
			return unix.Fdatasync(fd)
		},
		pwritev2: func(fd int, p []byte, off int64, flags int) (int, error) {
			c.pwrites.Add(1)
			if c.refusePwritev2 {
				return 0, syscall.ENOSYS
			}
			if flags&unix.RWF_DSYNC != 0 {
				c.dsyncPwrites.Add(1)
			}
			return pwritev2(fd, p, off, flags)
		},
		pwritev2v: func(fd int, bufs [][]byte, skip int, off int64, flags int) (int, error) {
			c.pwrites.Add(1)
			if c.refusePwritev2 {
				return 0, syscall.ENOSYS
			}
			if flags&unix.RWF_DSYNC != 0 {
				c.dsyncPwrites.Add(1)
			}
			return pwritev2Bufs(fd, bufs, skip, off, flags)
		},
		fallocate: func(fd int, mode uint32, off, length int64) error {
			c.fallocates.Add(1)
			if c.refuseFallocate != nil && c.refuseFallocate(mode) {
				return syscall.EOPNOTSUPP
			}
			return unix.Fallocate(fd, mode, off, length)
		},
		seek: func(fd int, off int64, whence int) (int64, error) {
			if c.refuseSeek && (whence == unix.SEEK_DATA || whence == unix.SEEK_HOLE) {
				return 0, syscall.EINVAL
			}
			return unix.Seek(fd, off, whence)
		},
	}
}

func openTestFile(t testing.TB, cfg string, size int64, sys fileSyscalls) *fileBackend {
	t.Helper()
	c, err := parseFileConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := openFile(c, size, 512, sys)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// allocated returns the bytes the file system has allocated to path.
func allocated(t testing.TB, path string) int64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks * 512
}

func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

func TestFileCreatedSparse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "disk.img")
	b, err := Open("file/"+path, 256<<20, 512)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got := fileSize(t, path); got != 256<<20 {
		t.Fatalf("created file is %d bytes, want %d", got, 256<<20)
	}
	if got := allocated(t, path); got != 0 {
		t.Fatalf("created file has %d bytes allocated, want a sparse file", got)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("created with mode %v, want 0600", st.Mode().Perm())
	}
	data := pattern(8192, 4)
	if _, err := b.WriteAt(data, 100<<20); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readBack(t, b, 100<<20, 8192), data) || !isZero(readBack(t, b, 0, 4096)) {
		t.Fatal("read back differs")
	}
	if got := allocated(t, path); got < 8192 || got > 1<<20 {
		t.Fatalf("after one 8 KiB write %d bytes allocated", got)
	}
	if _, err := b.WriteAt(data, 256<<20-4096); err == nil || !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("write across the end: %v", err)
	}
	if got := fileSize(t, path); got != 256<<20 {
		t.Fatalf("file grew to %d bytes", got)
	}
}

func TestFileWrongSizeAndGrow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(path, pattern(4096, 5), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open("file/"+path, 1<<20, 512)
	if err == nil || !strings.Contains(err.Error(), "is 4096 bytes but the backstore size is 1048576; add grow=true") {
		t.Fatalf("open of a smaller file: %v", err)
	}
	_, err = Open("file/"+path, 2048, 512)
	if err == nil || !strings.Contains(err.Error(), "larger than the backstore size 2048; a file is never shrunk") {
		t.Fatalf("open of a larger file: %v", err)
	}
	if got := fileSize(t, path); got != 4096 {
		t.Fatalf("refused opens changed the file to %d bytes", got)
	}
	b, err := Open("file/"+path+";grow=true", 1<<20, 512)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got := fileSize(t, path); got != 1<<20 {
		t.Fatalf("grow=true left %d bytes", got)
	}
	if !bytes.Equal(readBack(t, b, 0, 4096), pattern(4096, 5)) || !isZero(readBack(t, b, 4096, 8192)) {
		t.Fatal("grow changed the data or did not extend with zeroes")
	}
	if got := allocated(t, path); got > 64<<10 {
		t.Fatalf("grow allocated %d bytes; extending must be sparse", got)
	}
}

func TestFileResize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "disk.img")
	b, err := Open("file/"+path, 1<<20, 512)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	r := b.(Resizer)
	if err := r.Resize(4 << 20); err != nil {
		t.Fatal(err)
	}
	if fileSize(t, path) != 4<<20 || b.Size() != 4<<20 {
		t.Fatalf("after resize: file %d, Size %d", fileSize(t, path), b.Size())
	}
	if _, err := b.WriteAt([]byte("x"), 4<<20-1); err != nil {
		t.Fatal(err)
	}
	if err := r.Resize(1 << 20); err == nil || !strings.Contains(err.Error(), "a file is never shrunk (now 4194304 bytes)") {
		t.Fatalf("shrink: %v", err)
	}
	if fileSize(t, path) != 4<<20 {
		t.Fatal("refused shrink changed the file")
	}
}

func TestFileMissingDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nope")
	_, err := Open("file/"+dir+"/disk.img", 1<<20, 512)
	want := `file: directory "` + dir + `" does not exist; create it first (tcmsh creates the image file, not its directories)`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}

func TestFileFlushAndFUA(t *testing.T) {
	var calls countingSyscalls
	b := openTestFile(t, filepath.Join(t.TempDir(), "d.img"), 1<<20, calls.syscalls())
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if calls.fdatasyncs.Load() != 1 {
		t.Fatalf("Flush made %d fdatasync calls, want 1", calls.fdatasyncs.Load())
	}
	data := pattern(4096, 6)
	if n, err := b.WriteAtFUA(data, 8192); err != nil || n != 4096 {
		t.Fatalf("WriteAtFUA = %d, %v", n, err)
	}
	if calls.dsyncPwrites.Load() != 1 || calls.fdatasyncs.Load() != 1 {
		t.Fatalf("FUA write: %d pwritev2(RWF_DSYNC), %d fdatasync; want 1 and no extra fdatasync",
			calls.dsyncPwrites.Load(), calls.fdatasyncs.Load())
	}
	if !bytes.Equal(readBack(t, b, 8192, 4096), data) {
		t.Fatal("FUA data not read back")
	}
	// A plain write neither syncs nor uses pwritev2.
	if _, err := b.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	if calls.pwrites.Load() != 1 || calls.fdatasyncs.Load() != 1 {
		t.Fatal("a plain write synced")
	}
	if c := b.Caps(); !c.FUA {
		t.Fatalf("caps %+v: no FUA", c)
	}
}

func TestFileFUAWithoutPwritev2(t *testing.T) {
	calls := countingSyscalls{refusePwritev2: true}
	b := openTestFile(t, filepath.Join(t.TempDir(), "d.img"), 1<<20, calls.syscalls())
	data := pattern(4096, 7)
	for range 3 {
		if _, err := b.WriteAtFUA(data, 4096); err != nil {
			t.Fatal(err)
		}
	}
	// The first call learns that pwritev2 is missing; every call syncs.
	if calls.pwrites.Load() != 1 || calls.fdatasyncs.Load() != 3 {
		t.Fatalf("%d pwritev2 tries, %d fdatasync; want 1 and 3", calls.pwrites.Load(), calls.fdatasyncs.Load())
	}
	if !bytes.Equal(readBack(t, b, 4096, 4096), data) {
		t.Fatal("data not read back")
	}
}

func TestFilePunchHole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.img")
	b := openTestFile(t, path, 4<<20, realSyscalls)
	if !b.canPunch {
		t.Skip("this file system does not punch holes")
	}
	if c := b.Caps(); !c.Unmap || !c.UnmapZeroes || !c.WriteZeroes || c.UnmapGranularity <= 0 {
		t.Fatalf("caps on a file system that punches holes: %+v", c)
	}
	data := bytes.Repeat([]byte{0xaa}, 2<<20)
	if _, err := b.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	before := allocated(t, path)
	if before < 2<<20 {
		t.Fatalf("only %d bytes allocated after writing 2 MiB", before)
	}
	if err := b.Unmap(0, 1<<20); err != nil {
		t.Fatal(err)
	}
	if after := allocated(t, path); after > before-(1<<20)+64<<10 {
		t.Fatalf("punching 1 MiB: allocated %d -> %d bytes", before, after)
	}
	got := readBack(t, b, 0, 2<<20)
	if !isZero(got[:1<<20]) || !bytes.Equal(got[1<<20:], data[1<<20:]) {
		t.Fatal("after punch: hole not zero or data beyond it changed")
	}
	// A partial-block unmap zeroes exactly its bytes.
	if err := b.Unmap(1<<20+100, 300); err != nil {
		t.Fatal(err)
	}
	got = readBack(t, b, 1<<20, 1024)
	if !isZero(got[100:400]) || !bytes.Equal(got[:100], data[:100]) || !bytes.Equal(got[400:], data[400:1024]) {
		t.Fatal("partial unmap zeroed the wrong bytes")
	}
	if fileSize(t, path) != 4<<20 {
		t.Fatal("unmap changed the file size")
	}
}

func TestFileWriteZeroes(t *testing.T) {
	dirs := map[string]string{"disk": t.TempDir()}
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		// tmpfs has no ZERO_RANGE: the punch-then-allocate path.
		shm, err := os.MkdirTemp("/dev/shm", "backends-test")
		if err == nil {
			t.Cleanup(func() { os.RemoveAll(shm) })
			dirs["tmpfs"] = shm
		}
	}
	for name, dir := range dirs {
		t.Run(name, func(t *testing.T) {
			b := openTestFile(t, filepath.Join(dir, "d.img"), 1<<20, realSyscalls)
			data := pattern(64<<10, 8)
			if _, err := b.WriteAt(data, 0); err != nil {
				t.Fatal(err)
			}
			if err := b.WriteZeroes(4096, 8192); err != nil {
				t.Fatal(err)
			}
			got := readBack(t, b, 0, 64<<10)
			if !isZero(got[4096:12288]) || !bytes.Equal(got[:4096], data[:4096]) || !bytes.Equal(got[12288:], data[12288:]) {
				t.Fatal("WriteZeroes zeroed the wrong bytes")
			}
			t.Logf("ZERO_RANGE unsupported: %v", b.noZeroRange.Load())
		})
	}
}

func TestFileWithoutHolePunching(t *testing.T) {
	calls := countingSyscalls{refuseFallocate: func(uint32) bool { return true }}
	path := filepath.Join(t.TempDir(), "d.img")
	b := openTestFile(t, path, 1<<20, calls.syscalls())
	if c := b.Caps(); c.Unmap || c.UnmapZeroes || c.WriteZeroes {
		t.Fatalf("the probe was refused, yet caps %+v", c)
	}
	data := pattern(64<<10, 9)
	if _, err := b.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	// Unmap and WriteZeroes still leave zeroes, by writing them.
	if err := b.Unmap(0, 4096); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteZeroes(8192, 4096); err != nil {
		t.Fatal(err)
	}
	got := readBack(t, b, 0, 64<<10)
	if !isZero(got[:4096]) || !isZero(got[8192:12288]) || !bytes.Equal(got[4096:8192], data[4096:8192]) || !bytes.Equal(got[12288:], data[12288:]) {
		t.Fatal("fallback zeroing wrote the wrong bytes")
	}
}

func TestFileReadonly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ro.img")
	if err := os.WriteFile(path, pattern(8192, 10), 0o400); err != nil {
		t.Fatal(err)
	}
	b, err := Open("file/"+path+";readonly", 8192, 512)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if c := b.Caps(); !c.ReadOnly || c.Unmap || c.WriteZeroes || c.FUA {
		t.Fatalf("caps %+v", c)
	}
	if !bytes.Equal(readBack(t, b, 0, 8192), pattern(8192, 10)) {
		t.Fatal("read differs")
	}
	checks := map[string]error{
		"WriteAt":     second(b.WriteAt(make([]byte, 512), 0)),
		"WriteAtFUA":  second(b.(FUAWriter).WriteAtFUA(make([]byte, 512), 0)),
		"Unmap":       b.(Unmapper).Unmap(0, 512),
		"WriteZeroes": b.(ZeroWriter).WriteZeroes(0, 512),
		"Resize":      b.(Resizer).Resize(1 << 20),
	}
	for name, err := range checks {
		var se *SenseError
		if name == "Resize" {
			if err == nil {
				t.Errorf("%s succeeded on a read-only file", name)
			}
			continue
		}
		if !errors.As(err, &se) || se.Key != SenseKeyDataProtect || se.ASC != 0x27 || se.ASCQ != 0 {
			t.Errorf("%s: %v, want DATA PROTECT 07/27/00", name, err)
		}
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readBack(t, b, 0, 8192), pattern(8192, 10)) {
		t.Fatal("data changed")
	}
}

func second(_ int, err error) error { return err }

func TestFileDirect(t *testing.T) {
	path := filepath.Join(t.TempDir(), "direct.img")
	b, err := Open("file/"+path+";direct=true", 4<<20, 512)
	if err != nil {
		t.Skipf("O_DIRECT here: %v", err)
	}
	defer b.Close()
	raw := make([]byte, 3<<20+1)
	unaligned := raw[1:] // never 4 KiB aligned, and larger than one bounce buffer
	copy(unaligned, pattern(len(unaligned), 11))
	if aligned(unaligned) {
		t.Fatal("test buffer is aligned")
	}
	if _, err := b.WriteAt(unaligned, 512); err != nil {
		t.Fatal(err)
	}
	if _, err := b.(FUAWriter).WriteAtFUA(unaligned[:4096], 3<<20+1024); err != nil {
		t.Fatal(err)
	}
	back := make([]byte, 3<<20+1)[1:]
	if _, err := b.ReadAt(back, 512); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back, unaligned) {
		t.Fatal("direct I/O through bounce buffers read back different data")
	}
	if _, err := b.ReadAt(back[:4096], 3<<20+1024); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back[:4096], unaligned[:4096]) {
		t.Fatal("direct FUA write read back different data")
	}
	alignedBuf := alignedBuffer(8192)
	copy(alignedBuf, pattern(8192, 12))
	if _, err := b.WriteAt(alignedBuf, 8192); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readBack(t, b, 8192, 8192), pattern(8192, 12)) {
		t.Fatal("aligned direct I/O read back different data")
	}
	// Bounce buffers come from a pool: no allocation per call.
	if raceEnabled {
		return
	}
	small := unaligned[:4096]
	if n := testing.AllocsPerRun(50, func() { b.WriteAt(small, 0); b.ReadAt(small, 0) }); n >= 1 {
		t.Fatalf("%v allocations per unaligned direct write+read", n)
	}
}

func TestAlignedBuffer(t *testing.T) {
	for _, n := range []int{512, 4096, 1 << 20} {
		p := alignedBuffer(n)
		if len(p) != n || cap(p) != n || !aligned(p[:n-n%directAlign]) && n >= directAlign {
			t.Fatalf("alignedBuffer(%d): len %d cap %d", n, len(p), cap(p))
		}
	}
}

// TestFileZeroesWithoutZeroRange: without ZERO_RANGE, zeroing punches and
// allocates again, so the range reads zeroes and stays allocated (WRITE
// SAME without UNMAP asks for mapped blocks).
func TestFileZeroesWithoutZeroRange(t *testing.T) {
	calls := countingSyscalls{refuseFallocate: func(mode uint32) bool { return mode&unix.FALLOC_FL_ZERO_RANGE != 0 }}
	path := filepath.Join(t.TempDir(), "d.img")
	b := openTestFile(t, path, 4<<20, calls.syscalls())
	if !b.canPunch {
		t.Skip("this file system does not punch holes")
	}
	if _, err := b.WriteAt(bytes.Repeat([]byte{0x55}, 1<<20), 0); err != nil {
		t.Fatal(err)
	}
	b.Flush()
	before := allocated(t, path)
	for range 2 {
		if err := b.WriteZeroes(0, 1<<20); err != nil {
			t.Fatal(err)
		}
	}
	if !isZero(readBack(t, b, 0, 1<<20)) {
		t.Fatal("range not zero")
	}
	if after := allocated(t, path); after < before {
		t.Fatalf("zeroing deallocated: %d -> %d bytes", before, after)
	}
	if !b.noZeroRange.Load() {
		t.Fatal("the refusal of ZERO_RANGE was not remembered")
	}
	// probe + (refused ZERO_RANGE, punch, allocate) + (punch, allocate)
	if got := calls.fallocates.Load(); got != 6 {
		t.Fatalf("%d fallocate calls, want 6", got)
	}
}

func TestFileConcurrent(t *testing.T) {
	b := openTestFile(t, filepath.Join(t.TempDir(), "d.img"), 1<<20, realSyscalls)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			p := bytes.Repeat([]byte{byte(w + 1)}, 4096)
			q := make([]byte, 4096)
			for i := range 64 {
				off := int64((i*4 + w) * 4096)
				if _, err := b.WriteAt(p, off); err != nil {
					t.Error(err)
					return
				}
				if _, err := b.ReadAt(q, off); err != nil || !bytes.Equal(p, q) {
					t.Errorf("read back at %d: %v", off, err)
					return
				}
				if i%16 == 0 {
					b.Flush()
					b.WriteAtFUA(p, off)
				}
			}
		})
	}
	wg.Wait()
}
