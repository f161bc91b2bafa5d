package configfs

import (
	"io/fs"
)

// FS is the filesystem the LIO object model reads and writes: the real
// configfs (RealFS) or the simulated kernel (package sim). It is the one
// place where the kernel is swapped for the simulation.
//
// Paths are slash-separated and relative to the configfs mount point, for
// example "target/core/fileio_0/disk1". Implementations return *Error values
// whose Err is a syscall.Errno, exactly the errno the kernel gives for the
// operation, so that callers can test them with errors.Is.
//
// Implementations are safe for concurrent use.
type FS interface {
	// ReadDir lists a directory, sorted by name.
	ReadDir(path string) ([]DirEntry, error)
	// Stat describes an entry without following a symlink.
	Stat(path string) (DirEntry, error)
	// ReadFile reads a whole attribute.
	ReadFile(path string) ([]byte, error)
	// WriteFile stores data in an attribute with a single write, as
	// `printf %s data > path` does. No newline is added.
	WriteFile(path string, data []byte) error
	// Mkdir creates a configfs group (the kernel populates it).
	Mkdir(path string) error
	// Rmdir removes a group.
	Rmdir(path string) error
	// Symlink creates link pointing at target; both are configfs paths.
	Symlink(target, link string) error
	// Readlink returns the configfs path (clean, relative to the mount
	// point) that link points at.
	Readlink(link string) (string, error)
	// Unlink removes a symlink.
	Unlink(link string) error
}

// FilesReader is an FS that reads several attributes of one directory
// at a lower cost than a ReadFile each: RealFS walks the directory's path
// once and opens each file relative to it. LIO.ReadGroup uses it when the
// FS has it.
type FilesReader interface {
	// ReadFiles reads dir/names[i] into values[i], or sets errs[i].
	ReadFiles(dir string, names []string) (values [][]byte, errs []error)
}

// EntryKind tells directories, attributes and symlinks apart.
type EntryKind uint8

const (
	KindDir EntryKind = iota
	KindAttr
	KindLink
)

func (k EntryKind) String() string {
	switch k {
	case KindDir:
		return "dir"
	case KindAttr:
		return "attr"
	case KindLink:
		return "link"
	}
	return "unknown"
}

// DirEntry is one entry of a configfs directory.
type DirEntry struct {
	Name string
	Kind EntryKind
	// Perm holds the permission bits as the kernel sets them: attributes
	// are 0444 (read-only), 0200 (write-only) or 0644 (read-write).
	Perm fs.FileMode
	// Links is the link count Stat reports (ReadDir leaves it 0). configfs
	// keeps a directory's at 2 plus its subdirectories, so a stat tells
	// whether a group gained or lost one without listing it.
	Links int
}

// Readable reports whether an attribute can be read.
func (e DirEntry) Readable() bool { return e.Perm&0o444 != 0 }

// Writable reports whether an attribute can be written.
func (e DirEntry) Writable() bool { return e.Perm&0o222 != 0 }
