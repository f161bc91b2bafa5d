package configfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// RealFS is the kernel's configfs, mounted at Root (normally
// /sys/kernel/config).
type RealFS struct {
	Root string
	// perms remembers attribute permissions per directory shape (statAt).
	perms sync.Map
}

// NewRealFS returns the configfs mounted at root.
func NewRealFS(root string) *RealFS { return &RealFS{Root: filepath.Clean(root)} }

func (r *RealFS) abs(p string) string { return filepath.Join(r.Root, filepath.FromSlash(p)) }

func wrap(op, p string, err error) error {
	if err == nil {
		return nil
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		err = le.Err
	}
	var se *os.SyscallError
	if errors.As(err, &se) {
		err = se.Err
	}
	return &Error{Op: op, Path: p, Err: err}
}

// ReadDir implements FS. The kind of each entry comes from getdents'
// d_type, so that only attributes cost an lstat (for their permissions):
// configfs makes every directory 0755 and every symlink 0777, and a
// listing of lun/ or core/ then costs one open and a few getdents
// whatever its size.
func (r *RealFS) ReadDir(p string) ([]DirEntry, error) {
	dir := r.abs(p)
	fd, err := rawOpenat(unix.AT_FDCWD, dir, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return nil, wrap("readdir", p, err)
	}
	defer rawClose(fd)
	var out []DirEntry
	buf := make([]byte, 8192)
	for {
		n, err := rawGetdents(fd, buf)
		if err != nil {
			return nil, wrap("readdir", p, err)
		}
		if n <= 0 {
			break
		}
		out = appendDirents(out, buf[:n], func(name string) (DirEntry, bool) {
			return r.statAt(fd, p, name)
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// appendDirents parses linux_dirent64 records (d_ino u64, d_off s64,
// d_reclen u16, d_type u8, d_name NUL-terminated). Directories and links
// are known from d_type; anything else is described by stat.
func appendDirents(out []DirEntry, buf []byte, stat func(name string) (DirEntry, bool)) []DirEntry {
	for len(buf) >= 19 {
		reclen := int(binary.NativeEndian.Uint16(buf[16:18]))
		if reclen < 19 || reclen > len(buf) {
			break
		}
		typ := buf[18]
		name := buf[19:reclen]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		buf = buf[reclen:]
		if len(name) == 0 || string(name) == "." || string(name) == ".." {
			continue
		}
		switch typ {
		case unix.DT_DIR:
			out = append(out, DirEntry{Name: string(name), Kind: KindDir, Perm: 0o755})
		case unix.DT_LNK:
			out = append(out, DirEntry{Name: string(name), Kind: KindLink, Perm: 0o777})
		default:
			if e, ok := stat(string(name)); ok {
				out = append(out, e)
			}
		}
	}
	return out
}

// statAt describes the entry name of the directory open as dirfd (p is
// its configfs path). An attribute's permissions are the same for every
// directory of one shape (configfs gives them per attribute of an item
// type): they are remembered per path with its numbers blanked out
// (core/fileio_#/f#/attrib/block_size), so that listing the attrib/ of
// the 200th storage object stats nothing. Names without digits only
// share with themselves, which costs a stat, never a wrong answer.
func (r *RealFS) statAt(dirfd int, p, name string) (DirEntry, bool) {
	key := shapeOf(p) + "/" + name
	if perm, ok := r.perms.Load(key); ok {
		return DirEntry{Name: name, Kind: KindAttr, Perm: perm.(fs.FileMode)}, true
	}
	var st unix.Stat_t
	if err := rawFstatat(dirfd, name, &st); err != nil {
		return DirEntry{}, false // removed while listing
	}
	e := DirEntry{Name: name, Perm: fs.FileMode(st.Mode & 0o777)}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		e.Kind = KindDir
	case unix.S_IFLNK:
		e.Kind = KindLink
	default:
		e.Kind = KindAttr
		r.perms.Store(key, e.Perm)
	}
	return e, true
}

// shapeOf replaces each run of digits of a path by one '#', so that
// fileio_7/f7 and fileio_12/f120 share a shape.
func shapeOf(p string) string {
	b := make([]byte, 0, len(p))
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < '0' || c > '9' {
			b = append(b, c)
		} else if i == 0 || p[i-1] < '0' || p[i-1] > '9' {
			b = append(b, '#')
		}
	}
	return string(b)
}

// ReadFiles implements FilesReader: the directory is opened once and each
// file relative to it (one path walk, not one per file). Two files or one
// are opened by their paths: the directory's open and close would cost
// more calls than the walks they save.
func (r *RealFS) ReadFiles(dir string, names []string) ([][]byte, []error) {
	values, errs := make([][]byte, len(names)), make([]error, len(names))
	if len(names) <= 2 {
		for i, n := range names {
			values[i], errs[i] = r.ReadFile(path.Join(dir, n))
		}
		return values, errs
	}
	dfd, err := rawOpenat(unix.AT_FDCWD, r.abs(dir), unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		for i := range names {
			errs[i] = wrap("read", path.Join(dir, names[i]), err)
		}
		return values, errs
	}
	defer rawClose(dfd)
	read := func(i int, buf []byte) {
		n := names[i]
		fd, err := rawOpenat(dfd, n, unix.O_RDONLY)
		if err != nil {
			errs[i] = wrap("read", path.Join(dir, n), err)
			return
		}
		values[i], err = readAll(fd, buf)
		rawClose(fd)
		if err != nil {
			errs[i] = wrap("read", path.Join(dir, n), err)
		}
	}
	// A group of a few dozen attributes (a storage object's attrib/) is
	// read by two threads: a two-CPU kernel serves both at once.
	if len(names) < 16 {
		buf := make([]byte, attrBufSize)
		for i := range names {
			read(i, buf)
		}
		return values, errs
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, attrBufSize)
		for i := 1; i < len(names); i += 2 {
			read(i, buf)
		}
	}()
	buf := make([]byte, attrBufSize)
	for i := 0; i < len(names); i += 2 {
		read(i, buf)
	}
	wg.Wait()
	return values, errs
}

func openNoEINTR(p string, flags int) (int, error) {
	for {
		fd, err := unix.Open(p, flags, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// Stat implements FS.
func (r *RealFS) Stat(p string) (DirEntry, error) {
	var st unix.Stat_t
	if err := rawFstatat(unix.AT_FDCWD, r.abs(p), &st); err != nil {
		return DirEntry{}, wrap("stat", p, err)
	}
	e := DirEntry{Name: path.Base(p), Perm: fs.FileMode(st.Mode & 0o777), Kind: KindAttr, Links: int(st.Nlink)}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		e.Kind = KindDir
	case unix.S_IFLNK:
		e.Kind = KindLink
	}
	return e, nil
}

// ReadFile implements FS. configfs fills an attribute's whole value (at
// most a page) on the first read, so a read shorter than the buffer is
// the end: open, one read, close, without the stat and the second read
// os.ReadFile makes.
func (r *RealFS) ReadFile(p string) ([]byte, error) {
	fd, err := rawOpenat(unix.AT_FDCWD, r.abs(p), unix.O_RDONLY)
	if err != nil {
		return nil, wrap("read", p, err)
	}
	defer rawClose(fd)
	var buf [attrBufSize]byte
	b, err := readAll(fd, buf[:])
	if err != nil {
		return nil, wrap("read", p, err)
	}
	return b, nil
}

// attrBufSize holds any attribute in one read: configfs values are at
// most a page.
const attrBufSize = 4096 + 1

// readAll reads an open attribute into buf (attrBufSize, reused by the
// caller) and returns a copy of the value: configfs fills the whole value
// (at most a page) on the first read, so a read shorter than the buffer
// ends. A copy of the value's size, not a page per attribute, keeps a
// saveconfig's ten thousand reads from feeding the garbage collector.
func readAll(fd int, buf []byte) ([]byte, error) {
	total := 0
	for {
		n, err := rawRead(fd, buf[total:])
		if err != nil {
			return nil, err
		}
		total += n
		if n == 0 || total < len(buf) {
			return append([]byte(nil), buf[:total]...), nil
		}
		buf = append(buf, make([]byte, len(buf))...)
	}
}

// WriteFile implements FS. configfs takes one write(2) per value, so the
// file is opened without O_TRUNC or O_CREATE and written once.
func (r *RealFS) WriteFile(p string, data []byte) error {
	if !waitsOnUserSpace(p) {
		fd, err := rawOpenat(unix.AT_FDCWD, r.abs(p), unix.O_WRONLY)
		if err != nil {
			return wrap("write", p, err)
		}
		n, werr := rawWrite(fd, data)
		if werr == nil && n < len(data) {
			werr = io.ErrShortWrite
		}
		cerr := rawClose(fd)
		if werr != nil {
			return wrap("write", p, werr)
		}
		return wrap("write", p, cerr)
	}
	fd, err := openNoEINTR(r.abs(p), unix.O_WRONLY|unix.O_CLOEXEC)
	if err != nil {
		return wrap("write", p, err)
	}
	var werr error
	for {
		var n int
		n, werr = unix.Write(fd, data)
		if werr == unix.EINTR {
			continue
		}
		if werr == nil && n < len(data) {
			werr = io.ErrShortWrite
		}
		break
	}
	cerr := unix.Close(fd)
	if werr != nil {
		return wrap("write", p, werr)
	}
	return wrap("write", p, cerr)
}

// Mkdir implements FS.
func (r *RealFS) Mkdir(p string) error {
	if !waitsOnUserSpace(p) {
		return wrap("mkdir", p, rawMkdir(r.abs(p), 0o755))
	}
	return wrap("mkdir", p, os.Mkdir(r.abs(p), 0o755))
}

// Rmdir implements FS.
func (r *RealFS) Rmdir(p string) error { return wrap("rmdir", p, syscall.Rmdir(r.abs(p))) }

// Symlink implements FS.
func (r *RealFS) Symlink(target, link string) error {
	if !waitsOnUserSpace(target) && !waitsOnUserSpace(link) {
		return wrap("symlink", link, rawSymlink(r.abs(target), r.abs(link)))
	}
	return wrap("symlink", link, os.Symlink(r.abs(target), r.abs(link)))
}

// Readlink implements FS. configfs gives relative targets
// ("../../../../core/fileio_0/disk"); they are resolved against the link's
// directory and returned relative to the mount point.
func (r *RealFS) Readlink(link string) (string, error) {
	t, err := rawReadlink(r.abs(link))
	if err != nil {
		return "", wrap("readlink", link, err)
	}
	if !filepath.IsAbs(t) {
		t = filepath.Join(filepath.Dir(r.abs(link)), t)
	}
	rel, err := filepath.Rel(r.Root, filepath.Clean(t))
	if err != nil || strings.HasPrefix(rel, "..") {
		return "", &Error{Op: "readlink", Path: link, Err: syscall.EXDEV, Hint: "link points outside configfs: " + t}
	}
	return filepath.ToSlash(rel), nil
}

// Unlink implements FS.
func (r *RealFS) Unlink(link string) error { return wrap("unlink", link, syscall.Unlink(r.abs(link))) }
