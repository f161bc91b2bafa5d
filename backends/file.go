package backends

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

var fileOptions = []string{"direct", "grow", "readonly"}

var fileSubtype = subtype{
	Subtype: Subtype{
		Name:    "file",
		Summary: "an image file (pread/pwrite), created sparse when missing",
		Options: fileOptions,
		Help: `file/<path>[;option...] — a device stored in an image file.

The path is absolute, so dev_config shows two slashes: file//var/lib/tcmsh/disk.img.
A create command's cfgstring (tcmsh's, as targetcli's) is what follows
"file/": the path and options alone, as in
  /backstores/user:file create disk0 10G /var/lib/tcmsh/disk0.img
A missing file is created sparse at the backstore size; its directory must
exist. An existing file must have the backstore size, unless grow=true
extends it; a file is never shrunk. A path containing ';' is not supported
(';' starts the options).

SYNCHRONIZE CACHE is fdatasync; FUA writes use pwritev2(RWF_DSYNC) (or write
then fdatasync on kernels without it). UNMAP punches holes when the file
system supports it (probed at open; otherwise unmap is not advertised); WRITE
SAME zeroes with fallocate(ZERO_RANGE) where supported. GET LBA STATUS reports
the file's holes as deallocated (SEEK_DATA/SEEK_HOLE). Resize grows the file.

Options (separated by ';'):
  grow=true      extend an existing smaller file to the backstore size
                 (default false)
  direct=true    open with O_DIRECT, bypassing the page cache; buffers that
                 are not 4 KiB aligned go through aligned bounce buffers
                 (default false)
  readonly=true  open read-only; writes fail with DATA PROTECT, WRITE
                 PROTECTED, and a missing file is an error (default false)
Booleans accept true/false, yes/no, on/off, 1/0; a bare name means true.

Examples:
  file//var/lib/tcmsh/disk0.img
  file//var/lib/tcmsh/disk0.img;grow=true;direct=true
  file//srv/images/golden.img;readonly`,
	},
	validate: func(cfg string, size int64) error {
		c, err := parseFileConfig(cfg)
		if err != nil {
			return err
		}
		return c.check(size)
	},
	open: func(cfg string, size int64, blockSize uint32) (Backend, error) {
		c, err := parseFileConfig(cfg)
		if err != nil {
			return nil, err
		}
		return openFile(c, size, blockSize, realSyscalls)
	},
}

type fileConfig struct {
	path                   string
	grow, direct, readonly bool
}

func parseFileConfig(cfg string) (fileConfig, error) {
	path, rest, _ := strings.Cut(cfg, ";")
	var c fileConfig
	if path == "" {
		return c, errors.New("missing path: give the image's absolute path, e.g. /var/lib/tcmsh/disk.img (dev_config file//var/lib/tcmsh/disk.img)")
	}
	if strings.ContainsRune(path, 0) {
		return c, fmt.Errorf("path %q contains a NUL byte", path)
	}
	if rest, again := strings.CutPrefix(path, "file/"); again {
		return c, fmt.Errorf("path %q starts with \"file/\" a second time: a create command's cfgstring is the path alone (%s), dev_config is \"file/\" and the path (file/%s)", path, rest, rest)
	}
	if !filepath.IsAbs(path) {
		return c, fmt.Errorf("path %q is not absolute: give the image's absolute path, e.g. /var/lib/tcmsh/disk.img (dev_config file//var/lib/tcmsh/disk.img)", path)
	}
	c.path = filepath.Clean(path)
	opts, err := splitOptions(rest)
	if err != nil {
		return c, err
	}
	for _, o := range opts {
		var target *bool
		switch o.key {
		case "grow":
			target = &c.grow
		case "direct":
			target = &c.direct
		case "readonly":
			target = &c.readonly
		default:
			err := unknownOptionError(o.key, fileOptions)
			if o.bare {
				// Most likely the rest of a path that contained ';'.
				err = fmt.Errorf("%w; a path containing ';' is not supported", err)
			}
			return c, err
		}
		if *target, err = o.parseBool(); err != nil {
			return c, err
		}
	}
	if c.readonly && c.grow {
		return c, errors.New("options grow and readonly exclude each other: a read-only file cannot be extended")
	}
	return c, nil
}

// check looks at the file system, changing nothing: the directory must
// exist, and an existing file must be a regular file of an acceptable size.
func (c fileConfig) check(size int64) error {
	dir := filepath.Dir(c.path)
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("directory %q does not exist; create it first (tcmsh creates the image file, not its directories)", dir)
	}
	if err != nil {
		return fmt.Errorf("directory of %q: %w", c.path, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%q is not a directory", dir)
	}
	st, err = os.Stat(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		if c.readonly {
			return fmt.Errorf("%q does not exist, and readonly=true does not create it", c.path)
		}
		return nil
	}
	if err != nil {
		return err
	}
	return c.checkExisting(st, size)
}

func (c fileConfig) checkExisting(st fs.FileInfo, size int64) error {
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%q is not a regular file (mode %s)", c.path, st.Mode().Type())
	}
	switch cur := st.Size(); {
	case size == 0: // not known yet (CheckConfig)
		return nil
	case cur == size:
		return nil
	case cur > size:
		return fmt.Errorf("%q is %d bytes, larger than the backstore size %d; a file is never shrunk: give the backstore size %d or use another file",
			c.path, cur, size, cur)
	case !c.grow:
		return fmt.Errorf("%q is %d bytes but the backstore size is %d; add grow=true to extend the file", c.path, cur, size)
	}
	return nil
}

// fileSyscalls are the system calls whose effects tests cannot see from the
// outside (durability, probing), so that tests can count or refuse them.
type fileSyscalls struct {
	fdatasync func(fd int) error
	pwritev2  func(fd int, p []byte, off int64, flags int) (int, error)
	// pwritev2v writes bufs from byte skip of bufs[0] (at most iovBatch
	// buffers of them) in one call.
	pwritev2v func(fd int, bufs [][]byte, skip int, off int64, flags int) (int, error)
	fallocate func(fd int, mode uint32, off, length int64) error
	seek      func(fd int, off int64, whence int) (int64, error)
}

var realSyscalls = fileSyscalls{fdatasync: unix.Fdatasync, pwritev2: pwritev2, pwritev2v: pwritev2Bufs, fallocate: unix.Fallocate, seek: unix.Seek}

// pwritev2 writes one buffer; the iovec list is built here, behind a direct
// call, so that it stays on the stack.
func pwritev2(fd int, p []byte, off int64, flags int) (int, error) {
	return unix.Pwritev2(fd, [][]byte{p}, off, flags)
}

const (
	punchHole = unix.FALLOC_FL_PUNCH_HOLE | unix.FALLOC_FL_KEEP_SIZE
	zeroRange = unix.FALLOC_FL_ZERO_RANGE | unix.FALLOC_FL_KEEP_SIZE
	// directAlign is the memory alignment used for O_DIRECT: 4 KiB suits
	// every logical block size up to a page.
	directAlign = 4096
	// bounceSize is the size of one pooled O_DIRECT bounce buffer; larger
	// I/O goes through it in pieces.
	bounceSize = 1 << 20
)

type fileBackend struct {
	f        *os.File
	fd       int
	cfg      fileConfig
	sys      fileSyscalls
	size     atomic.Int64
	canPunch bool  // PUNCH_HOLE probed at open
	canSeek  bool  // SEEK_DATA/SEEK_HOLE probed at open
	inMemory bool  // the file system keeps its files in memory (tmpfs, ramfs)
	fsBlock  int64 // the file system's block size, the unmap granularity
	resizeMu sync.Mutex
	// learned at run time, from the first EOPNOTSUPP:
	noZeroRange atomic.Bool
	noPwritev2  atomic.Bool
}

func openFile(c fileConfig, size int64, blockSize uint32, sys fileSyscalls) (*fileBackend, error) {
	if err := c.check(size); err != nil {
		return nil, err
	}
	flags := os.O_RDWR
	if c.readonly {
		flags = os.O_RDONLY
	}
	if c.direct {
		flags |= syscall.O_DIRECT
	}
	f, err := os.OpenFile(c.path, flags, 0)
	created := false
	if errors.Is(err, fs.ErrNotExist) && !c.readonly {
		// O_EXCL: if someone else created it meanwhile, fail rather
		// than size their file.
		f, err = os.OpenFile(c.path, flags|os.O_CREATE|os.O_EXCL, 0o600)
		created = err == nil
	}
	if err != nil {
		if c.direct && errors.Is(err, syscall.EINVAL) {
			return nil, fmt.Errorf("open %q with direct=true: the file system does not support O_DIRECT: %w", c.path, err)
		}
		return nil, fmt.Errorf("open %q: %w", c.path, err)
	}
	b, err := setupFile(f, c, created, size, blockSize, sys)
	if err != nil {
		f.Close()
		if created {
			os.Remove(c.path)
		}
		return nil, err
	}
	return b, nil
}

func setupFile(f *os.File, c fileConfig, created bool, size int64, blockSize uint32, sys fileSyscalls) (*fileBackend, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %q: %w", c.path, err)
	}
	// Check again on the open file: it may have changed since the path
	// was looked at.
	if !created {
		if err := c.checkExisting(st, size); err != nil {
			return nil, err
		}
	}
	if st.Size() < size {
		// Truncate extends sparsely: no blocks are allocated.
		if err := f.Truncate(size); err != nil {
			return nil, fmt.Errorf("extend %q to %d bytes: %w", c.path, size, err)
		}
	}
	b := &fileBackend{f: f, fd: int(f.Fd()), cfg: c, sys: sys}
	b.size.Store(size)
	if stat, ok := st.Sys().(*syscall.Stat_t); ok && stat.Blksize > 0 {
		b.fsBlock = int64(stat.Blksize)
	}
	if c.direct {
		// O_DIRECT needs I/O aligned to the device's logical block; a
		// block size below it would fail every command, so fail now.
		buf := getBounce()
		_, err := f.ReadAt((*buf)[:min(int(blockSize), bounceSize)], 0)
		putBounce(buf)
		if errors.Is(err, syscall.EINVAL) {
			return nil, fmt.Errorf("direct=true: a %d-byte read of %q fails (%w); the block size is smaller than the device's logical block, or O_DIRECT is not supported", blockSize, c.path, err)
		}
	}
	if !c.readonly {
		// Punching beyond the end of the file (KEEP_SIZE) touches no
		// data but fails the same way as a real punch would.
		b.canPunch = sys.fallocate(b.fd, punchHole, size, int64(blockSize)) == nil
	}
	b.canSeek = b.probeSeek()
	b.inMemory = !c.direct && inMemoryFS(b.fd)
	return b, nil
}

// inMemoryFS reports whether fd's file system keeps its files in memory
// (tmpfs, ramfs): there a read or write is a copy to or from the page
// cache, and fdatasync does nothing.
func inMemoryFS(fd int) bool {
	var st unix.Statfs_t
	if unix.Fstatfs(fd, &st) != nil {
		return false
	}
	return st.Type == unix.TMPFS_MAGIC || st.Type == unix.RAMFS_MAGIC
}

// NonBlocking is true for a file in tmpfs or ramfs. Elsewhere a read
// that misses the page cache, a write that the kernel throttles, or a
// flush waits for the disk; those go to workers, so that many can wait
// at once.
func (b *fileBackend) NonBlocking() bool { return b.inMemory }

// probeSeek reports whether the file system answers SEEK_DATA: ENXIO (no
// data at or after the offset) is an answer too.
func (b *fileBackend) probeSeek() bool {
	if b.sys.seek == nil {
		return false
	}
	_, err := b.sys.seek(b.fd, 0, unix.SEEK_DATA)
	return err == nil || errors.Is(err, syscall.ENXIO)
}

// MappedExtent finds data and holes with SEEK_DATA and SEEK_HOLE. Where
// the file system cannot tell, everything is mapped. The seeks move the
// file offset, which no other I/O here uses (pread, pwrite).
func (b *fileBackend) MappedExtent(off int64) (bool, int64, error) {
	size := b.size.Load()
	if off < 0 || off >= size {
		return false, 0, checkRange(off, 1, size)
	}
	if !b.canSeek {
		return true, size - off, nil
	}
	data, err := b.sys.seek(b.fd, off, unix.SEEK_DATA)
	switch {
	case errors.Is(err, syscall.ENXIO):
		// No data from off to the end of the file.
		return false, size - off, nil
	case errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.EOPNOTSUPP):
		return true, size - off, nil
	case err != nil:
		return false, 0, fmt.Errorf("seek data at offset %d: %w", off, err)
	case data > off:
		return false, min(data, size) - off, nil
	}
	hole, err := b.sys.seek(b.fd, off, unix.SEEK_HOLE)
	switch {
	case errors.Is(err, syscall.ENXIO) || errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.EOPNOTSUPP):
		return true, size - off, nil
	case err != nil:
		return false, 0, fmt.Errorf("seek hole at offset %d: %w", off, err)
	case hole <= off:
		// The data just became a hole (a concurrent unmap): say so for
		// the least that can be told.
		return true, 1, nil
	}
	return true, min(hole, size) - off, nil
}

func (b *fileBackend) Caps() Caps {
	caps := Caps{ReadOnly: b.cfg.readonly, Mapping: b.canSeek}
	if !b.cfg.readonly {
		caps.FUA = true
		caps.Unmap = b.canPunch
		caps.UnmapZeroes = b.canPunch
		// Zeroing falls back to punch-and-allocate without ZERO_RANGE,
		// which is still cheap; without punch it writes zero buffers.
		caps.WriteZeroes = b.canPunch
		if b.canPunch {
			caps.UnmapGranularity = b.fsBlock
		}
	}
	return caps
}

func (b *fileBackend) Size() int64 { return b.size.Load() }

func (b *fileBackend) ReadAt(p []byte, off int64) (int, error) {
	if !b.cfg.direct || aligned(p) {
		return b.f.ReadAt(p, off)
	}
	buf := getBounce()
	defer putBounce(buf)
	done := 0
	for done < len(p) {
		k := min(len(p)-done, bounceSize)
		n, err := b.f.ReadAt((*buf)[:k], off+int64(done))
		copy(p[done:], (*buf)[:n])
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

func (b *fileBackend) WriteAt(p []byte, off int64) (int, error) {
	return b.write(p, off, false)
}

// WriteAtFUA returns once the data is on stable storage.
func (b *fileBackend) WriteAtFUA(p []byte, off int64) (int, error) {
	return b.write(p, off, true)
}

func (b *fileBackend) write(p []byte, off int64, fua bool) (int, error) {
	if b.cfg.readonly {
		return 0, writeProtected()
	}
	if err := checkRange(off, int64(len(p)), b.size.Load()); err != nil {
		return 0, err
	}
	if !b.cfg.direct || aligned(p) {
		return b.writeOnce(p, off, fua)
	}
	buf := getBounce()
	defer putBounce(buf)
	done := 0
	for done < len(p) {
		k := copy((*buf)[:min(len(p)-done, bounceSize)], p[done:])
		n, err := b.writeOnce((*buf)[:k], off+int64(done), fua)
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

func (b *fileBackend) writeOnce(p []byte, off int64, fua bool) (int, error) {
	if !fua {
		return b.f.WriteAt(p, off)
	}
	if !b.noPwritev2.Load() {
		done := 0
		for done < len(p) {
			n, err := b.sys.pwritev2(b.fd, p[done:], off+int64(done), unix.RWF_DSYNC)
			if n > 0 {
				done += n
			}
			switch {
			case err == nil && n > 0:
				continue
			case err == nil:
				return done, fmt.Errorf("pwritev2 at offset %d wrote nothing: %w", off+int64(done), io.ErrShortWrite)
			case errors.Is(err, syscall.EINTR) || errors.Is(err, syscall.EAGAIN):
				continue
			case done == 0 && (errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EOPNOTSUPP)):
				// An old kernel without pwritev2 or RWF_DSYNC.
				b.noPwritev2.Store(true)
				return b.writeThenSync(p, off)
			default:
				return done, fmt.Errorf("FUA write at offset %d: %w", off+int64(done), err)
			}
		}
		return done, nil
	}
	return b.writeThenSync(p, off)
}

func (b *fileBackend) writeThenSync(p []byte, off int64) (int, error) {
	n, err := b.f.WriteAt(p, off)
	if err != nil {
		return n, err
	}
	if err := b.sys.fdatasync(b.fd); err != nil {
		return n, fmt.Errorf("fdatasync after FUA write: %w", err)
	}
	return n, nil
}

// Flush makes completed writes stable (SYNCHRONIZE CACHE).
func (b *fileBackend) Flush() error {
	if b.cfg.readonly {
		return nil
	}
	if err := b.sys.fdatasync(b.fd); err != nil {
		return fmt.Errorf("fdatasync %q: %w", b.cfg.path, err)
	}
	return nil
}

// CopyFrom copies from another image file with copy_file_range, which
// reflinks or copies within the kernel (and the file system) without the
// data coming to userspace. Any other source is ErrUnsupported.
func (b *fileBackend) CopyFrom(src Backend, srcOff, dstOff, length int64) error {
	s, ok := src.(*fileBackend)
	if !ok {
		return fmt.Errorf("copy into %q from a %T: %w", b.cfg.path, src, errors.ErrUnsupported)
	}
	if b.cfg.readonly {
		return writeProtected()
	}
	if err := checkRange(srcOff, length, s.size.Load()); err != nil {
		return err
	}
	if err := checkRange(dstOff, length, b.size.Load()); err != nil {
		return err
	}
	for length > 0 {
		roff, woff := srcOff, dstOff
		n, err := unix.CopyFileRange(s.fd, &roff, b.fd, &woff, int(min(length, 1<<30)), 0)
		if err != nil {
			if errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EXDEV) || errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.EINVAL) {
				return fmt.Errorf("copy_file_range %q → %q: %w (%w)", s.cfg.path, b.cfg.path, errors.ErrUnsupported, err)
			}
			return wrapErr(err, "copy_file_range %q offset %d → %q offset %d length %d", s.cfg.path, srcOff, b.cfg.path, dstOff, length)
		}
		if n == 0 {
			return fmt.Errorf("copy_file_range %q offset %d: %w", s.cfg.path, srcOff, io.ErrUnexpectedEOF)
		}
		srcOff += int64(n)
		dstOff += int64(n)
		length -= int64(n)
	}
	return nil
}

// Prefetch asks the page cache to read the range ahead
// (POSIX_FADV_WILLNEED). With direct=true there is no cache to fill.
func (b *fileBackend) Prefetch(off, length int64) (bool, error) {
	if err := checkRange(off, length, b.size.Load()); err != nil {
		return false, err
	}
	if b.cfg.direct || length == 0 {
		return false, nil
	}
	if err := unix.Fadvise(b.fd, off, length, unix.FADV_WILLNEED); err != nil {
		return false, wrapErr(err, "fadvise WILLNEED at offset %d length %d", off, length)
	}
	return true, nil
}

// Unmap punches a hole; without hole punching it writes zeroes, so that
// UNMAP still reads back as zeroes.
func (b *fileBackend) Unmap(off, length int64) error {
	if b.cfg.readonly {
		return writeProtected()
	}
	if err := checkRange(off, length, b.size.Load()); err != nil {
		return err
	}
	if length == 0 {
		return nil
	}
	if b.canPunch {
		err := b.sys.fallocate(b.fd, punchHole, off, length)
		if !errors.Is(err, syscall.EOPNOTSUPP) {
			return wrapErr(err, "punch hole at offset %d length %d", off, length)
		}
	}
	return b.writeZeroBuffers(off, length)
}

// WriteZeroes zeroes a range with ZERO_RANGE, or punch then allocate, or
// (last resort) zero buffers.
func (b *fileBackend) WriteZeroes(off, length int64) error {
	if b.cfg.readonly {
		return writeProtected()
	}
	if err := checkRange(off, length, b.size.Load()); err != nil {
		return err
	}
	if length == 0 {
		return nil
	}
	if !b.noZeroRange.Load() {
		err := b.sys.fallocate(b.fd, zeroRange, off, length)
		if !errors.Is(err, syscall.EOPNOTSUPP) {
			return wrapErr(err, "zero range at offset %d length %d", off, length)
		}
		b.noZeroRange.Store(true)
	}
	if b.canPunch {
		err := b.sys.fallocate(b.fd, punchHole, off, length)
		if err == nil {
			// Allocate again: WRITE SAME without UNMAP asks for mapped
			// blocks. ENOSPC here still leaves zeroes, so it is no error.
			if err := b.sys.fallocate(b.fd, unix.FALLOC_FL_KEEP_SIZE, off, length); err != nil && !errors.Is(err, syscall.ENOSPC) && !errors.Is(err, syscall.EOPNOTSUPP) {
				return fmt.Errorf("allocate at offset %d length %d: %w", off, length, err)
			}
			return nil
		}
		if !errors.Is(err, syscall.EOPNOTSUPP) {
			return fmt.Errorf("punch hole at offset %d length %d: %w", off, length, err)
		}
	}
	return b.writeZeroBuffers(off, length)
}

func (b *fileBackend) writeZeroBuffers(off, length int64) error {
	zeroes := zeroBuffer()
	for done := int64(0); done < length; {
		k := min(length-done, int64(len(zeroes)))
		n, err := b.f.WriteAt(zeroes[:k], off+done)
		done += int64(n)
		if err != nil {
			return fmt.Errorf("write zeroes at offset %d: %w", off+done, err)
		}
	}
	return nil
}

// Resize grows the file; it never shrinks one.
func (b *fileBackend) Resize(size int64) error {
	if b.cfg.readonly {
		return fmt.Errorf("resize %q: the backstore is read-only", b.cfg.path)
	}
	b.resizeMu.Lock()
	defer b.resizeMu.Unlock()
	cur := b.size.Load()
	if size < cur {
		return fmt.Errorf("resize %q to %d bytes: a file is never shrunk (now %d bytes)", b.cfg.path, size, cur)
	}
	if err := b.f.Truncate(size); err != nil {
		return fmt.Errorf("resize %q to %d bytes: %w", b.cfg.path, size, err)
	}
	b.size.Store(size)
	return nil
}

func (b *fileBackend) Close() error {
	if err := b.f.Close(); err != nil {
		return fmt.Errorf("close %q: %w", b.cfg.path, err)
	}
	return nil
}

func wrapErr(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// aligned reports whether p can be handed to O_DIRECT as it is.
func aligned(p []byte) bool {
	return len(p) == 0 ||
		(uintptr(unsafe.Pointer(unsafe.SliceData(p)))%directAlign == 0 && len(p)%directAlign == 0)
}

// bouncePool holds aligned bounce buffers for O_DIRECT I/O on unaligned
// caller buffers; a pointer to the slice goes in the pool so that Put does
// not allocate.
var bouncePool = sync.Pool{New: func() any {
	buf := alignedBuffer(bounceSize)
	return &buf
}}

func getBounce() *[]byte  { return bouncePool.Get().(*[]byte) }
func putBounce(b *[]byte) { bouncePool.Put(b) }

func alignedBuffer(size int) []byte {
	raw := make([]byte, size+directAlign)
	shift := 0
	if r := int(uintptr(unsafe.Pointer(unsafe.SliceData(raw))) % directAlign); r != 0 {
		shift = directAlign - r
	}
	return raw[shift : shift+size : shift+size]
}

// zeroBuffer is a shared, aligned, never written buffer of zeroes.
var zeroBuffer = sync.OnceValue(func() []byte { return alignedBuffer(bounceSize) })
