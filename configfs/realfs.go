package configfs

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// RealFS is the kernel's configfs, mounted at Root (normally
// /sys/kernel/config).
type RealFS struct {
	Root string
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

func entryOf(name string, fi fs.FileInfo) DirEntry {
	e := DirEntry{Name: name, Perm: fi.Mode().Perm()}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		e.Kind = KindLink
	case fi.IsDir():
		e.Kind = KindDir
	default:
		e.Kind = KindAttr
	}
	return e
}

// ReadDir implements FS.
func (r *RealFS) ReadDir(p string) ([]DirEntry, error) {
	des, err := os.ReadDir(r.abs(p))
	if err != nil {
		return nil, wrap("readdir", p, err)
	}
	out := make([]DirEntry, 0, len(des))
	for _, de := range des {
		fi, err := de.Info()
		if err != nil {
			continue // removed while listing
		}
		out = append(out, entryOf(de.Name(), fi))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Stat implements FS.
func (r *RealFS) Stat(p string) (DirEntry, error) {
	fi, err := os.Lstat(r.abs(p))
	if err != nil {
		return DirEntry{}, wrap("stat", p, err)
	}
	return entryOf(path.Base(p), fi), nil
}

// ReadFile implements FS.
func (r *RealFS) ReadFile(p string) ([]byte, error) {
	b, err := os.ReadFile(r.abs(p))
	return b, wrap("read", p, err)
}

// WriteFile implements FS. configfs takes one write(2) per value, so the
// file is opened without O_TRUNC or O_CREATE and written once.
func (r *RealFS) WriteFile(p string, data []byte) error {
	f, err := os.OpenFile(r.abs(p), os.O_WRONLY, 0)
	if err != nil {
		return wrap("write", p, err)
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr != nil {
		return wrap("write", p, werr)
	}
	return wrap("write", p, cerr)
}

// Mkdir implements FS.
func (r *RealFS) Mkdir(p string) error { return wrap("mkdir", p, os.Mkdir(r.abs(p), 0o755)) }

// Rmdir implements FS.
func (r *RealFS) Rmdir(p string) error { return wrap("rmdir", p, syscall.Rmdir(r.abs(p))) }

// Symlink implements FS.
func (r *RealFS) Symlink(target, link string) error {
	return wrap("symlink", link, os.Symlink(r.abs(target), r.abs(link)))
}

// Readlink implements FS. configfs gives relative targets
// ("../../../../core/fileio_0/disk"); they are resolved against the link's
// directory and returned relative to the mount point.
func (r *RealFS) Readlink(link string) (string, error) {
	t, err := os.Readlink(r.abs(link))
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
