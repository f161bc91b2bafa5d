// Package configfs owns tcmsh's model of LIO: storage objects, fabrics,
// targets, TPGs, LUNs, ACLs, mapped LUNs and portals, read from and written
// to configfs through the FS interface (the real kernel's configfs or the
// simulated kernel), with the HBA allocation, WWN rules and error messages
// an administrator needs.
//
// On a real kernel every configfs operation costs a path walk and a call
// into configfs, so what the model does is measured in operations:
// CountingFS counts them per kind, and the shell's tests hold each listing
// and change to a number proportional to the objects it touches. Listings
// read each object once; a create checks names and files against what the
// model already read (the HBA index, the image index of BackingOf), not a
// read of every object, and takes a directory's last listing again while a
// stat shows its link count unchanged (withListing), so that a batch of N
// creates costs N, not N², in operations, in entries listed and in CPU.
// RealFS makes each operation with as few system calls as it can, and
// without the Go scheduler's bookkeeping where nothing can wait on user
// space (rawsys.go): under software emulation that bookkeeping cost more
// than the calls.
package configfs

import (
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"syscall"
)

// Root is the directory of LIO inside configfs.
const Root = "target"

// LIO is the kernel target as seen through configfs. It holds no cached
// tree: every call reads what it needs, so two tcmsh processes and the
// kernel never disagree with it. The one thing it remembers is which
// objects each HBA directory holds, checked against a fresh listing of
// core/ on every use. Safe for concurrent use.
type LIO struct {
	fs       FS
	lockPath string
	// allocMu and lockFile: the HBA allocation lock, the file opened once
	// (a batch of creates then costs two flock calls each).
	allocMu  sync.Mutex
	lockFile *os.File
	mu       sync.Mutex
	hbaNames map[string][]string // HBA directory → storage object names
	byName   map[string]string   // "plugin/name" → HBA directory
	backing  map[StorageObject]Backing
	// images: image file → the object made on it, for the objects whose
	// backing is known; unread: listed objects whose backing is not yet
	// (ObjectOnImage reads those, once each).
	images map[string]StorageObject
	unread map[StorageObject]bool
	// coreChecked: HasStorageObject just brought the index up to date
	// with core/, for the HBA allocation of the create that follows it.
	coreChecked bool
	serials     map[StorageObject]string // unit serials this process wrote
	// listings holds the directories withListing listed, with their link
	// count then.
	listings map[string]*listing
	dbroot   string
	// Kind tells the real kernel ("real") from the simulation ("sim"), for messages.
	Kind string
}

// Options configure Open.
type Options struct {
	// LockPath is the file locked while an HBA index is allocated. Empty:
	// no cross-process lock (EEXIST retries still keep indexes apart).
	LockPath string
	// Kind is "real" or "sim".
	Kind string
}

// Open checks that LIO is present in fsys and returns the model over it.
// For the real configfs, mountPoint is used in messages.
func Open(fsys FS, mountPoint string, opts Options) (*LIO, error) {
	l := &LIO{fs: fsys, lockPath: opts.LockPath, Kind: opts.Kind}
	if _, err := fsys.Stat(""); err != nil {
		return nil, fmt.Errorf("%w at %s: run `mount -t configfs none %s`", ErrNotMounted, mountPoint, mountPoint)
	}
	if _, err := fsys.Stat(Root); err != nil {
		if errors.Is(err, syscall.ENOENT) {
			if isConfigfsMount(mountPoint) || opts.Kind == "sim" {
				return nil, fmt.Errorf("%w: target_core_mod (no %s/target): run `modprobe target_core_mod`", ErrModuleNotLoaded, mountPoint)
			}
			return nil, fmt.Errorf("%w at %s: run `mount -t configfs none %s`", ErrNotMounted, mountPoint, mountPoint)
		}
		return nil, l.explain(err)
	}
	return l, nil
}

// isConfigfsMount reports whether dir is a mounted configfs.
func isConfigfsMount(dir string) bool {
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[1] == dir && f[2] == "configfs" {
			return true
		}
	}
	return false
}

// FS returns the filesystem the model works on.
func (l *LIO) FS() FS { return l.fs }

// Version returns the target core's version line.
func (l *LIO) Version() (string, error) { return l.ReadAttr(path.Join(Root, "version")) }

// ReadAttr reads an attribute and trims the kernel's trailing newline.
func (l *LIO) ReadAttr(p string) (string, error) {
	b, err := l.fs.ReadFile(p)
	if err != nil {
		return "", l.explain(err)
	}
	return strings.TrimRight(string(b), "\n"), nil
}

// WriteAttr writes an attribute; EINVAL and friends come back explained.
func (l *LIO) WriteAttr(p, value string) error {
	if strings.HasPrefix(p, Root+"/core/") && (strings.HasSuffix(p, "/control") || strings.HasSuffix(p, "/dev_config") ||
		strings.HasSuffix(p, "/udev_path") || strings.HasSuffix(p, "/vpd_unit_serial")) {
		// What the object is made on, or its serial, may change.
		l.forgetBacking(p)
	}
	if err := l.fs.WriteFile(p, []byte(value)); err != nil {
		if hint := l.refusedWhileExported(err, value); hint != "" {
			var ce *Error
			if errors.As(err, &ce) && ce.Hint == "" {
				return &Error{Op: ce.Op, Path: ce.Path, Err: ce.Err, Hint: hint}
			}
		}
		return l.explain(err)
	}
	return nil
}

// refusedWhileExported explains an EINVAL from a storage object's
// attribute when the object is exported: the kernel refuses a change to
// block_size, queue_depth, optimal_sectors and some others while LUNs
// export the device, whatever the value. Empty when that is not the
// reason (not exported, or a value outside the ones the kernel takes).
func (l *LIO) refusedWhileExported(err error, value string) string {
	var ce *Error
	if Errno(err) != syscall.EINVAL || !errors.As(err, &ce) || path.Base(path.Dir(ce.Path)) != "attrib" {
		return ""
	}
	so, ok := StorageObjectAt(path.Dir(path.Dir(ce.Path)))
	if !ok {
		return ""
	}
	name := path.Base(ce.Path)
	if allowed := allowedValues(name); allowed != "" {
		taken := false
		for _, v := range strings.Split(allowed, ", ") {
			taken = taken || strings.Fields(v)[0] == strings.TrimSpace(value)
		}
		if !taken {
			return ""
		}
	}
	luns, lerr := l.LUNsOf(so)
	if lerr != nil || len(luns) == 0 {
		return ""
	}
	return fmt.Sprintf("the kernel refuses to change %s while the storage object is exported (%s): set it before creating LUNs, or delete them first", name, plural(len(luns), "LUN"))
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// exists reports whether p exists.
func (l *LIO) exists(p string) bool {
	_, err := l.fs.Stat(p)
	return err == nil
}

// listing is a directory's subdirectories as last listed (and as this
// process changed them since), with the link count the directory had.
type listing struct {
	links int
	names []string
	// indexes counts the names ending in _<n> per n (HBA directories
	// fileio_3, LUNs lun_3: parseHBADir's split); floor is an index below which every one is
	// taken, so that finding the lowest free index in a batch of creates
	// does not walk every name each time.
	indexes map[int]int
	floor   int
}

func newListing(links int, names []string) *listing {
	c := &listing{links: links, names: names, indexes: map[int]int{}}
	for _, n := range names {
		c.add(n)
	}
	return c
}

func (c *listing) add(name string) {
	if _, i, ok := parseHBADir(name); ok {
		c.indexes[i]++
	}
}

func (c *listing) remove(name string) {
	if _, i, ok := parseHBADir(name); ok {
		if c.indexes[i]--; c.indexes[i] <= 0 {
			delete(c.indexes, i)
		}
		c.floor = min(c.floor, i)
	}
}

// lowestFree is the lowest index no name takes.
func (c *listing) lowestFree() int {
	for c.indexes[c.floor] > 0 {
		c.floor++
	}
	return c.floor
}

// withListing calls f with the subdirectories of p under the model's lock:
// from the last listing when a stat shows p's link count unchanged
// (configfs counts a directory's subdirectories in its link count, so a
// group another process made or removed since changes it), else from a
// new listing. A create in a batch looks at core/, its TPG's lun/ and
// acls/ once per object; listing them each time made a batch of N creates
// read N²/2 entries (12 s of a 1,000-object batch under qemu). fresh tells
// whether p was listed now; c is nil when p does not exist. What a stat
// cannot see is another process removing one group and making another
// between two calls: a create then meets EEXIST, which drops the listing
// (mkdir).
func (l *LIO) withListing(p string, f func(c *listing)) (fresh bool, err error) {
	st, err := l.fs.Stat(p)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) {
			l.mu.Lock()
			delete(l.listings, p)
			l.mu.Unlock()
			f(nil)
			return true, nil
		}
		return true, l.explain(err)
	}
	l.mu.Lock()
	if c := l.listings[p]; c != nil && st.Links > 0 && c.links == st.Links {
		f(c)
		l.mu.Unlock()
		return false, nil
	}
	l.mu.Unlock()
	names, err := l.dirs(p)
	if err != nil {
		return true, err
	}
	c := newListing(st.Links, names)
	l.mu.Lock()
	defer l.mu.Unlock()
	if st.Links > 0 {
		if l.listings == nil {
			l.listings = map[string]*listing{}
		}
		l.listings[p] = c
	}
	f(c)
	return true, nil
}

// subdirs lists the subdirectories of p like dirs, through withListing.
func (l *LIO) subdirs(p string) (names []string, fresh bool, err error) {
	fresh, err = l.withListing(p, func(c *listing) {
		if c != nil {
			names = slices.Clone(c.names)
		}
	})
	return names, fresh, err
}

// mkdir makes a group, keeping a listing withListing holds of its parent true.
func (l *LIO) mkdir(p string) error {
	err := l.fs.Mkdir(p)
	l.noteChange(p, err, +1)
	return err
}

// rmdir removes a group, keeping a listing withListing holds of its parent true.
func (l *LIO) rmdir(p string) error {
	err := l.fs.Rmdir(p)
	l.noteChange(p, err, -1)
	return err
}

func (l *LIO) noteChange(p string, err error, delta int) {
	dir, name := path.Dir(p), path.Base(p)
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.listings[dir]
	if c == nil {
		return
	}
	if err != nil {
		// EEXIST or ENOENT: another process changed the directory.
		if errors.Is(err, syscall.EEXIST) || errors.Is(err, syscall.ENOENT) {
			delete(l.listings, dir)
		}
		return
	}
	c.links += delta
	if delta > 0 {
		c.names = append(c.names, name)
		c.add(name)
	} else {
		c.names = slices.DeleteFunc(c.names, func(n string) bool { return n == name })
		c.remove(name)
	}
}

// dirs lists the subdirectories of p (none when p does not exist).
func (l *LIO) dirs(p string) ([]string, error) {
	es, err := l.fs.ReadDir(p)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) {
			return nil, nil
		}
		return nil, l.explain(err)
	}
	var out []string
	for _, e := range es {
		if e.Kind == KindDir {
			out = append(out, e.Name)
		}
	}
	return out, nil
}

// explain adds a hint to a configfs error the user can act on.
func (l *LIO) explain(err error) error {
	var ce *Error
	if !errors.As(err, &ce) || ce.Hint != "" {
		return err
	}
	hint := ""
	switch Errno(err) {
	case syscall.EACCES, syscall.EPERM:
		if os.Geteuid() != 0 && l.Kind != "sim" {
			hint = "tcmsh must run as root to change LIO (try sudo)"
		} else if strings.HasSuffix(ce.Path, "/control") || ce.Op == "read" {
			hint = "the kernel does not allow this on " + path.Base(ce.Path)
		}
	case syscall.EBUSY:
		hint = "in use: " + busyReason(ce.Path)
	case syscall.EINVAL:
		if ce.Op == "write" {
			name := path.Base(ce.Path)
			hint = fmt.Sprintf("the kernel refused this value for %s", name)
			if allowed := allowedValues(name); allowed != "" {
				hint += " (allowed: " + allowed + ")"
			}
		}
	case syscall.ENOTEMPTY:
		hint = "it still has children or links: delete those first"
	case syscall.EEXIST:
		hint = "it already exists"
	case syscall.ENODEV:
		hint = "the kernel module for this is not loaded"
	}
	if hint == "" {
		return err
	}
	return &Error{Op: ce.Op, Path: ce.Path, Err: ce.Err, Hint: hint}
}

func busyReason(p string) string {
	switch {
	case strings.Contains(p, "/core/"):
		return "the storage object is exported as a LUN or its device is held open; delete its LUNs first"
	case strings.Contains(p, "/lun/"):
		return "the LUN is mapped in an ACL or has an active session"
	case strings.Contains(p, "/tpgt_"):
		return "the TPG has active sessions or an I_T nexus"
	}
	return "the kernel reports the object busy"
}

// allowedValues lists the values the kernel accepts for well-known
// attributes, for error messages.
func allowedValues(attr string) string {
	switch attr {
	case "block_size", "hw_block_size":
		return "512, 1024, 2048, 4096"
	case "enable", "emulate_write_cache", "emulate_tpu", "emulate_tpws", "emulate_caw",
		"emulate_3pc", "emulate_pr", "emulate_fua_write",
		"emulate_tas", "emulate_dpo", "emulate_fua_read", "emulate_model_alias",
		"enforce_pr_isids", "force_pr_aptpl", "is_nonrot", "unmap_zeroes_data",
		"write_protect", "demo_mode_write_protect", "generate_node_acls",
		"cache_dynamic_acls", "authentication", "prod_mode_write_protect",
		"demo_mode_discovery", "tmr_notification", "alua_support", "pgr_support":
		return "0, 1"
	case "alua_access_state":
		return "0 active/optimized, 1 active/non-optimized, 2 standby, 3 unavailable, 4 lba-dependent, 14 offline, 15 transitioning"
	case "alua_access_type":
		return "0 none, 1 implicit, 2 explicit, 3 implicit and explicit"
	case "emulate_ua_intlck_ctrl":
		return "0, 1, 2"
	case "pi_prot_type":
		return "0, 1, 3 (type 2 is not supported by the kernel)"
	}
	return ""
}

// ValidName checks a name the user gives for a configfs directory
// (storage object, alias): it must not escape its directory.
func ValidName(kind, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%s name is empty", kind)
	case name == "." || name == "..":
		return fmt.Errorf("%s name %q is not allowed", kind, name)
	case strings.ContainsAny(name, "/"):
		return fmt.Errorf("%s name %q contains '/'", kind, name)
	case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return fmt.Errorf("%s name %q contains a control character", kind, name)
	case len(name) > 255:
		return fmt.Errorf("%s name is longer than 255 bytes", kind)
	}
	return nil
}
