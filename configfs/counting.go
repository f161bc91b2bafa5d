package configfs

import (
	"fmt"
	"path"
	"strings"
	"sync/atomic"
)

// Op names one kind of configfs operation, as the FS interface makes them.
// On the real kernel each is one path walk and one call into configfs (a
// read or write also opens and closes the attribute), so their number is
// what a command's configuration cost carries from the simulated kernel to
// the real one.
type Op int

// The operations an FS makes.
const (
	OpReadDir Op = iota
	OpStat
	OpRead
	OpWrite
	OpMkdir
	OpRmdir
	OpSymlink
	OpReadlink
	OpUnlink
	numOps
)

var opNames = [numOps]string{"readdir", "stat", "read", "write", "mkdir", "rmdir", "symlink", "readlink", "unlink"}

func (o Op) String() string {
	if o < 0 || o >= numOps {
		return fmt.Sprintf("op(%d)", int(o))
	}
	return opNames[o]
}

// Counts holds a number of operations per kind.
type Counts [numOps]int64

// Total is the number of operations of every kind.
func (c Counts) Total() int64 {
	var t int64
	for _, n := range c {
		t += n
	}
	return t
}

// Sub returns c minus d, kind by kind (what happened between two readings).
func (c Counts) Sub(d Counts) Counts {
	for i := range c {
		c[i] -= d[i]
	}
	return c
}

// String lists the non-zero kinds, "readdir=3 read=12 total=15".
func (c Counts) String() string {
	var b strings.Builder
	for i, n := range c {
		if n != 0 {
			fmt.Fprintf(&b, "%s=%d ", Op(i), n)
		}
	}
	fmt.Fprintf(&b, "total=%d", c.Total())
	return b.String()
}

// CountingFS is an FS that counts the operations it passes to another,
// per kind: the simulated kernel's tests hold commands to a number of
// operations with it, and on the real kernel it can be checked against
// strace. Safe for concurrent use.
type CountingFS struct {
	fs      FS
	counts  [numOps]atomic.Int64
	entries atomic.Int64
}

// NewCountingFS wraps fsys.
func NewCountingFS(fsys FS) *CountingFS { return &CountingFS{fs: fsys} }

// Counts returns the operations made so far.
func (c *CountingFS) Counts() Counts {
	var out Counts
	for i := range c.counts {
		out[i] = c.counts[i].Load()
	}
	return out
}

// Entries returns how many directory entries the listings so far returned.
// configfs builds each listing entry by entry, so a command that lists a
// directory of N objects once per object is quadratic even when its number
// of operations is linear.
func (c *CountingFS) Entries() int64 { return c.entries.Load() }

// Unwrap returns the wrapped FS.
func (c *CountingFS) Unwrap() FS { return c.fs }

func (c *CountingFS) count(o Op) { c.counts[o].Add(1) }

// ReadDir implements FS.
func (c *CountingFS) ReadDir(p string) ([]DirEntry, error) {
	c.count(OpReadDir)
	es, err := c.fs.ReadDir(p)
	c.entries.Add(int64(len(es)))
	return es, err
}

// Stat implements FS.
func (c *CountingFS) Stat(p string) (DirEntry, error) {
	c.count(OpStat)
	return c.fs.Stat(p)
}

// ReadFile implements FS.
func (c *CountingFS) ReadFile(p string) ([]byte, error) {
	c.count(OpRead)
	return c.fs.ReadFile(p)
}

// WriteFile implements FS.
func (c *CountingFS) WriteFile(p string, data []byte) error {
	c.count(OpWrite)
	return c.fs.WriteFile(p, data)
}

// Mkdir implements FS.
func (c *CountingFS) Mkdir(p string) error {
	c.count(OpMkdir)
	return c.fs.Mkdir(p)
}

// Rmdir implements FS.
func (c *CountingFS) Rmdir(p string) error {
	c.count(OpRmdir)
	return c.fs.Rmdir(p)
}

// Symlink implements FS.
func (c *CountingFS) Symlink(target, link string) error {
	c.count(OpSymlink)
	return c.fs.Symlink(target, link)
}

// Readlink implements FS.
func (c *CountingFS) Readlink(link string) (string, error) {
	c.count(OpReadlink)
	return c.fs.Readlink(link)
}

// ReadFiles implements FilesReader: one read counted per file.
func (c *CountingFS) ReadFiles(dir string, names []string) ([][]byte, []error) {
	c.counts[OpRead].Add(int64(len(names)))
	return readFiles(c.fs, dir, names)
}

// readFiles reads several files of dir through fsys, with its ReadFiles
// when it has one.
func readFiles(fsys FS, dir string, names []string) ([][]byte, []error) {
	if fr, ok := fsys.(FilesReader); ok {
		return fr.ReadFiles(dir, names)
	}
	values, errs := make([][]byte, len(names)), make([]error, len(names))
	for i, n := range names {
		values[i], errs[i] = fsys.ReadFile(path.Join(dir, n))
	}
	return values, errs
}

// Unlink implements FS.
func (c *CountingFS) Unlink(link string) error {
	c.count(OpUnlink)
	return c.fs.Unlink(link)
}
