package sim

import (
	"errors"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tcmsh/tcmsh/configfs"
)

// Options configure the simulated kernel.
type Options struct {
	// Fabrics lists the fabric modules that can be loaded (a first mkdir
	// of target/<name> loads one). Nil means iscsi, loopback and vhost.
	Fabrics []string
	// KernelRelease is `uname -r` of the simulated kernel, shown in
	// target/version and the fabric version files. Empty: Debian 12's.
	KernelRelease string
	// Machine is `uname -m`. Empty: x86_64.
	Machine string
	// CompactBytes is the journal size above which the state is rewritten
	// as a snapshot. Zero: 4 MiB.
	CompactBytes int64
	// Sync makes every journal record durable (fsync) before the
	// operation returns, for power-loss safety. Without it a record
	// survives the process being killed, not the machine losing power.
	Sync bool
}

// DefaultFabrics are the fabric modules a stock Debian kernel can load
// without special hardware.
var DefaultFabrics = []string{"iscsi", "loopback", "vhost"}

// DefaultKernelRelease is the kernel the simulation follows.
const DefaultKernelRelease = "6.1.0-56-amd64"

// Kernel is the simulated kernel: LIO's configfs with the kernel's
// semantics, persisted in a state directory that several processes may
// share. It implements configfs.FS and is safe for concurrent use.
type Kernel struct {
	opts Options

	mu    sync.Mutex
	root  *node
	store *store // nil: in memory only
	hooks UserDeviceHooks
	// replaying is set while another process's operations are applied:
	// hooks belong to the process that made the change.
	replaying bool
	now       int64 // time of the operation being applied (unix ns)
	// luGpSeq is the last place given in the default LU group's member
	// order (lu_gp_seq), 0 until worked out from the tree: a create took
	// the highest of every object's, which made a batch quadratic.
	luGpSeq int64
	events  []event
	closed  bool
	// facts are what an operation learned from the host (a backing
	// file's size, a block device's numbers): recorded with the operation
	// and reused when it is replayed, so that replaying never depends on
	// the host as it is now.
	factsIn, factsOut map[string]string
	// uio indexes the enabled user backstores by uio minor, so that
	// enabling one does not scan the configuration. Rebuilt on load.
	uio map[int]*node

	// Listen (watch.go): the subscribers to other processes' TCM-USER
	// events, the events found and not yet delivered, and the watcher.
	listeners    []listener
	nextListener int
	pending      []Event
	watch        *watcher
}

var _ configfs.FS = (*Kernel)(nil)

// Open loads (or creates) the simulated kernel's state in stateDir. An
// empty stateDir keeps the state in memory only.
func Open(stateDir string, opts Options) (*Kernel, error) {
	registerAll()
	if opts.Fabrics == nil {
		opts.Fabrics = DefaultFabrics
	}
	if opts.KernelRelease == "" {
		opts.KernelRelease = DefaultKernelRelease
	}
	if opts.Machine == "" {
		opts.Machine = "x86_64"
	}
	if opts.CompactBytes <= 0 {
		opts.CompactBytes = 4 << 20
	}
	k := &Kernel{opts: opts, uio: map[int]*node{}}
	k.root = k.bootTree()
	if stateDir == "" {
		return k, nil
	}
	st, err := openStore(stateDir, opts)
	if err != nil {
		return nil, err
	}
	k.store = st
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.store.lock(false); err != nil {
		st.close()
		return nil, err
	}
	err = k.catchUp()
	k.store.unlock()
	if err != nil {
		st.close()
		return nil, err
	}
	return k, nil
}

// Damage describes damage found in the state files while loading them
// (an incomplete record at the journal's end) and what was recovered;
// empty when the state was whole. Open loads what precedes the damage,
// so a caller must show this rather than let a partial load pass as whole.
func (k *Kernel) Damage() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.store == nil {
		return ""
	}
	return k.store.damage
}

// SetHooks installs the receiver of TCMU device events (sim/ring).
func (k *Kernel) SetHooks(h UserDeviceHooks) {
	k.mu.Lock()
	k.hooks = h
	k.mu.Unlock()
}

// Close stops the listeners' watcher and releases the state files. The
// state stays in the state directory.
func (k *Kernel) Close() error {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return nil
	}
	k.closed = true
	w := k.watch
	k.watch, k.listeners, k.pending = nil, nil, nil
	k.mu.Unlock()
	// Without k.mu: the watcher may be waiting for it.
	w.shutdown()
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.store == nil {
		return nil
	}
	return k.store.close()
}

// bootTree is configfs right after target_core_mod is loaded.
func (k *Kernel) bootTree() *node {
	root := newDir("configfs", "", true)
	root.meta["hba_index"] = "1" // index 0 is the kernel's internal virtual LUN 0 HBA
	root.meta["dev_index"] = "1"
	root.meta["host_no"] = "0"
	t := root.group("target", "target")
	k.populate(t)
	core := t.group("core", "core")
	alua := core.group("alua", "alua")
	lugps := alua.group("lu_gps", "lu_gps")
	def := lugps.group("lu_gp", "default_lu_gp")
	def.meta["id"] = "0"
	k.populate(def)
	return root
}

// ---- path resolution ----

func splitPath(p string) ([]string, error) {
	p = strings.Trim(p, "/")
	if p == "" || p == "." {
		return nil, nil
	}
	parts := strings.Split(p, "/")
	for _, s := range parts {
		if s == "" || s == "." || s == ".." {
			return nil, syscall.EINVAL
		}
	}
	return parts, nil
}

// lookup walks p from the root, following symlinks in the middle of the
// path, and the last component too when follow is set.
func (k *Kernel) lookup(p string, follow bool) (*node, error) {
	return k.lookupDepth(p, follow, 0)
}

func (k *Kernel) lookupDepth(p string, follow bool, depth int) (*node, error) {
	if depth > 8 {
		return nil, syscall.ELOOP
	}
	parts, err := splitPath(p)
	if err != nil {
		return nil, syscall.ENOENT
	}
	n := k.root
	for i, part := range parts {
		if n.kind != configfs.KindDir {
			return nil, syscall.ENOTDIR
		}
		c := n.children[part]
		if c == nil {
			return nil, syscall.ENOENT
		}
		if c.kind == configfs.KindLink && (follow || i < len(parts)-1) {
			c, err = k.lookupDepth(c.target, true, depth+1)
			if err != nil {
				return nil, err
			}
		}
		n = c
	}
	return n, nil
}

// parentOf resolves the directory that holds p and returns p's last name.
func (k *Kernel) parentOf(p string) (*node, string, error) {
	parts, err := splitPath(p)
	if err != nil || len(parts) == 0 {
		return nil, "", syscall.EINVAL
	}
	dir, err := k.lookup(strings.Join(parts[:len(parts)-1], "/"), true)
	if err != nil {
		return nil, "", err
	}
	if dir.kind != configfs.KindDir {
		return nil, "", syscall.ENOTDIR
	}
	return dir, parts[len(parts)-1], nil
}

func cleanPath(p string) string {
	p = path.Clean("/" + p)
	return strings.TrimPrefix(p, "/")
}

// ---- operations (configfs.FS) ----

func fsErr(op, p string, err error) error {
	if err == nil {
		return nil
	}
	var ce *configfs.Error
	if errors.As(err, &ce) {
		return err
	}
	return &configfs.Error{Op: op, Path: p, Err: err}
}

// read runs fn with the state current (other processes' changes applied).
func (k *Kernel) read(op, p string, fn func() error) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return fsErr(op, p, os.ErrClosed)
	}
	if k.store != nil {
		if err := k.store.lock(false); err != nil {
			return fsErr(op, p, err)
		}
		defer k.store.unlock()
		if err := k.catchUp(); err != nil {
			return fsErr(op, p, err)
		}
	}
	return fsErr(op, p, fn())
}

// ReadDir lists a directory, sorted by name.
func (k *Kernel) ReadDir(p string) ([]configfs.DirEntry, error) {
	var out []configfs.DirEntry
	err := k.read("readdir", p, func() error {
		n, err := k.lookup(p, true)
		if err != nil {
			return err
		}
		if n.kind != configfs.KindDir {
			return syscall.ENOTDIR
		}
		for _, c := range n.sortedChildren() {
			out = append(out, entryOf(c))
		}
		return nil
	})
	return out, err
}

func entryOf(n *node) configfs.DirEntry {
	perm := n.perm
	if n.kind == configfs.KindLink {
		perm = 0o777
	}
	return configfs.DirEntry{Name: n.name, Kind: n.kind, Perm: perm}
}

// linksOf is the link count configfs gives a directory: 2 plus its
// subdirectories (default groups too); 1 for attributes and symlinks.
func linksOf(n *node) int {
	if n.kind != configfs.KindDir {
		return 1
	}
	links := 2
	for _, c := range n.children {
		if c.kind == configfs.KindDir {
			links++
		}
	}
	return links
}

// Stat describes an entry without following a symlink.
func (k *Kernel) Stat(p string) (configfs.DirEntry, error) {
	var e configfs.DirEntry
	err := k.read("stat", p, func() error {
		n, err := k.lookup(p, false)
		if err != nil {
			return err
		}
		e = entryOf(n)
		e.Links = linksOf(n)
		if n.parent == nil {
			e.Name = ""
		}
		return nil
	})
	return e, err
}

// ReadFile reads an attribute as the kernel's show handler prints it.
func (k *Kernel) ReadFile(p string) ([]byte, error) {
	var out []byte
	err := k.read("read", p, func() error {
		n, err := k.lookup(p, true)
		if err != nil {
			return err
		}
		if n.kind == configfs.KindDir {
			return syscall.EISDIR
		}
		if n.perm&0o444 == 0 {
			return syscall.EACCES
		}
		dir := n.parent
		def := findDef(dir.typ, n.name)
		if def != nil && def.show != nil {
			s, err := def.show(k, dir, n)
			if err != nil {
				return err
			}
			out = []byte(s)
			return nil
		}
		out = []byte(n.value + "\n")
		return nil
	})
	return out, err
}

// Readlink returns the clean configfs path link points at.
func (k *Kernel) Readlink(link string) (string, error) {
	var out string
	err := k.read("readlink", link, func() error {
		n, err := k.lookup(link, false)
		if err != nil {
			return err
		}
		if n.kind != configfs.KindLink {
			return syscall.EINVAL
		}
		out = n.target
		return nil
	})
	return out, err
}

// maxWrite is what configfs passes to a store handler at most
// (SIMPLE_ATTR_SIZE - 1); longer writes are cut.
const maxWrite = 4095

// WriteFile stores data in an attribute with a single write.
func (k *Kernel) WriteFile(p string, data []byte) error {
	if len(data) > maxWrite {
		data = data[:maxWrite]
	}
	return k.mutate(op{kind: opWrite, a: p, b: string(data)})
}

// Mkdir creates a group; the kernel populates it.
func (k *Kernel) Mkdir(p string) error { return k.mutate(op{kind: opMkdir, a: p}) }

// Rmdir removes a group.
func (k *Kernel) Rmdir(p string) error {
	// A user backstore's device goes away with it: the hook hears of it
	// first, once the removal is known to be allowed.
	if dev, ok := k.removableUserDevice(p); ok {
		if h := k.currentHooks(); h != nil {
			h.Removed(dev)
		}
	}
	return k.mutate(op{kind: opRmdir, a: p})
}

// Symlink creates link pointing at target.
func (k *Kernel) Symlink(target, link string) error {
	return k.mutate(op{kind: opSymlink, a: cleanPath(target), b: link})
}

// Unlink removes a symlink.
func (k *Kernel) Unlink(link string) error { return k.mutate(op{kind: opUnlink, a: link}) }

func (k *Kernel) currentHooks() UserDeviceHooks {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.hooks
}

// op is one mutation: what the journal records and replays. facts holds
// what it learned from the host ("key=value" lines).
type op struct {
	kind  byte
	now   int64
	a, b  string
	facts string
}

// hostFact returns a value the operation takes from the host: computed
// (and recorded) when the operation is made, read back from the record
// when it is replayed. A replayed operation without the fact accepts.
func (k *Kernel) hostFact(key string, compute func() (string, error)) (string, error) {
	if k.replaying {
		return k.factsIn[key], nil
	}
	v, err := compute()
	if err == nil {
		if k.factsOut == nil {
			k.factsOut = map[string]string{}
		}
		k.factsOut[key] = v
	}
	return v, err
}

func encodeFacts(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, key := range keys {
		b.WriteString(key + "=" + m[key] + "\n")
	}
	return b.String()
}

func decodeFacts(s string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if key, v, ok := strings.Cut(line, "="); ok {
			m[key] = v
		}
	}
	return m
}

const (
	opMkdir   byte = 1
	opRmdir   byte = 2
	opWrite   byte = 3
	opSymlink byte = 4 // a: target, b: link
	opUnlink  byte = 5
	// opUnconfigure undoes the enable of a user backstore whose Added hook
	// failed (the kernel never configured it).
	opUnconfigure byte = 6
	// opRestore puts back an attribute value after a Reconfig hook refused
	// the change.
	opRestore byte = 7
)

func opName(kind byte) string {
	switch kind {
	case opMkdir:
		return "mkdir"
	case opRmdir:
		return "rmdir"
	case opWrite, opRestore:
		return "write"
	case opSymlink:
		return "symlink"
	case opUnlink:
		return "unlink"
	case opUnconfigure:
		return "unconfigure"
	}
	return "op"
}

func opPath(o op) string {
	if o.kind == opSymlink {
		return o.b
	}
	return o.a
}

// mutate applies one operation under the process and file locks, records
// it, and then runs the hooks it raised with every lock released.
func (k *Kernel) mutate(o op) error {
	name, p := opName(o.kind), opPath(o)
	k.mu.Lock()
	evs, err := k.mutateLocked(o)
	hooks := k.hooks
	k.mu.Unlock()
	if err != nil {
		return fsErr(name, p, err)
	}
	return fsErr(name, p, k.runEvents(hooks, evs))
}

func (k *Kernel) mutateLocked(o op) ([]event, error) {
	if k.closed {
		return nil, os.ErrClosed
	}
	if k.store != nil {
		if err := k.store.lock(true); err != nil {
			return nil, err
		}
		defer k.store.unlock()
		if err := k.catchUp(); err != nil {
			return nil, err
		}
	}
	o.now = time.Now().UnixNano()
	k.events = nil
	k.factsOut = nil
	changed, err := k.apply(o)
	evs := k.events
	k.events = nil
	if k.hooks == nil {
		// Whether another process listens, asked under the exclusive
		// lock so that two writers' probes do not see each other.
		for i := range evs {
			if evs[i].kind == evReconfig {
				evs[i].heard = k.othersListen()
			}
		}
	}
	if len(k.factsOut) > 0 {
		o.facts = encodeFacts(k.factsOut)
	}
	if err != nil || !changed {
		return nil, err
	}
	if k.store != nil {
		if err := k.store.append(o); err != nil {
			// The change is in memory but not on disk: forget memory.
			k.store.invalidate()
			return nil, err
		}
		if k.store.size() > k.opts.CompactBytes {
			// A failed compaction leaves the journal in force; the
			// operation itself is recorded.
			_ = k.store.compact(encodeTree(k.root))
		}
	}
	return evs, nil
}

// apply performs o on the tree. changed is false for writes that the
// kernel accepts but that change nothing (empty writes).
func (k *Kernel) apply(o op) (changed bool, err error) {
	k.now = o.now
	if k.replaying {
		k.factsIn = decodeFacts(o.facts)
	}
	if k.root.meta["boot"] == "" {
		// The simulated machine boots with its first change; only a
		// change that is recorded may set it. The dbroot the kernel chose
		// at boot is recorded with it, so that every process agrees.
		t := k.root.children["target"]
		if v, _ := k.hostFact("dbroot", func() (string, error) { return t.attr("dbroot"), nil }); v != "" {
			t.setAttr("dbroot", v)
		}
		defer func() {
			if changed && err == nil {
				k.root.meta["boot"] = strconv.FormatInt(o.now, 10)
			}
		}()
	}
	switch o.kind {
	case opMkdir:
		return true, k.doMkdir(o.a)
	case opRmdir:
		return true, k.doRmdir(o.a)
	case opWrite:
		if o.b == "" {
			n, err := k.lookup(o.a, true)
			if err != nil {
				return false, err
			}
			if n.kind == configfs.KindDir {
				return false, syscall.EISDIR
			}
			if n.perm&0o222 == 0 {
				return false, syscall.EACCES
			}
			return false, nil
		}
		return true, k.doWrite(o.a, o.b)
	case opSymlink:
		return true, k.doSymlink(o.a, o.b)
	case opUnlink:
		return true, k.doUnlink(o.a)
	case opUnconfigure:
		return true, k.doUnconfigure(o.a)
	case opRestore:
		n, err := k.lookup(o.a, true)
		if err != nil {
			return false, err
		}
		if n.kind != configfs.KindAttr {
			return false, syscall.EINVAL
		}
		switch n.name {
		case "dev_config", "dev_size", "emulate_write_cache":
			if so := soOf(n.parent); so != nil && so.meta["plugin"] == "user" {
				setUserValue(so, n.name, o.b) // kept with the object, not in the attribute
				return true, nil
			}
		}
		n.value = o.b
		return true, nil
	}
	return false, syscall.EINVAL
}

func (k *Kernel) doMkdir(p string) error {
	dir, name, err := k.parentOf(p)
	if err != nil {
		return err
	}
	if dir.children[name] != nil {
		return syscall.EEXIST
	}
	if len(name) > 255 {
		return syscall.ENAMETOOLONG
	}
	mk := makers[dir.typ]
	if mk == nil {
		return syscall.EPERM
	}
	child, err := mk(k, dir, name)
	if err != nil {
		return err
	}
	if child.parent == nil {
		dir.add(child)
	}
	return nil
}

func (k *Kernel) doRmdir(p string) error {
	n, err := k.lookup(p, false)
	if err != nil {
		return err
	}
	if n.kind != configfs.KindDir {
		return syscall.ENOTDIR
	}
	if n.def || n.parent == nil {
		return syscall.EPERM
	}
	if err := detachCheck(n); err != nil {
		return err
	}
	if pre := removers[n.typ]; pre != nil {
		if err := pre(k, n); err != nil {
			return err
		}
	}
	delete(n.parent.children, n.name)
	n.parent = nil
	return nil
}

// detachCheck is configfs's detach_prep: a group that is the target of a
// symlink is busy, and one holding groups made by mkdir or symlinks (its
// own or in its default groups) is not empty.
func detachCheck(n *node) error {
	if n.links > 0 {
		return syscall.EBUSY
	}
	for _, c := range n.children {
		switch {
		case c.kind == configfs.KindLink:
			return syscall.ENOTEMPTY
		case c.kind == configfs.KindDir && !c.def:
			return syscall.ENOTEMPTY
		case c.kind == configfs.KindDir:
			if err := detachCheck(c); err != nil {
				return err
			}
		}
	}
	return nil
}

func (k *Kernel) doWrite(p, data string) error {
	n, err := k.lookup(p, true)
	if err != nil {
		return err
	}
	if n.kind == configfs.KindDir {
		return syscall.EISDIR
	}
	if n.perm&0o222 == 0 {
		return syscall.EACCES
	}
	dir := n.parent
	def := findDef(dir.typ, n.name)
	if def == nil || def.store == nil {
		n.value = stripNewline(data)
		return nil
	}
	return def.store(k, dir, n, data)
}

func (k *Kernel) doSymlink(target, link string) error {
	dir, name, err := k.parentOf(link)
	if err != nil {
		return err
	}
	if dir.children[name] != nil {
		return syscall.EEXIST
	}
	t, err := k.lookup(target, true)
	if err != nil {
		return err
	}
	if t.kind != configfs.KindDir {
		return syscall.ENOENT
	}
	allow := linkers[dir.typ]
	if allow == nil {
		return syscall.EPERM
	}
	if err := allow(k, dir, t); err != nil {
		return err
	}
	dir.add(&node{name: name, kind: configfs.KindLink, perm: 0o777, target: t.path()})
	t.links++
	return nil
}

func (k *Kernel) doUnlink(p string) error {
	n, err := k.lookup(p, false)
	if err != nil {
		return err
	}
	if n.kind == configfs.KindDir {
		return syscall.EISDIR
	}
	if n.kind != configfs.KindLink {
		return syscall.EPERM
	}
	dir := n.parent
	t, _ := k.lookup(n.target, true)
	if drop := unlinkers[dir.typ]; drop != nil && t != nil {
		if err := drop(k, dir, t); err != nil {
			return err
		}
	}
	if t != nil {
		t.links--
	}
	delete(dir.children, n.name)
	return nil
}

// recountLinks sets every group's link count from the symlinks in the
// tree, and rebuilds the index of uio devices.
func (k *Kernel) recountLinks() {
	var walk func(n *node)
	var links []*node
	k.uio = map[int]*node{}
	walk = func(n *node) {
		n.links = 0
		if n.typ == "so" && n.meta["uio_minor"] != "" {
			k.uio[int(atoi(n.meta["uio_minor"]))] = n
		}
		for _, c := range n.children {
			if c.kind == configfs.KindLink {
				links = append(links, c)
			}
			c.parent = n
			walk(c)
		}
	}
	walk(k.root)
	for _, l := range links {
		if t, err := k.lookup(l.target, true); err == nil {
			t.links++
		}
	}
}

// Handlers by group type: what mkdir makes inside a group, what rmdir of
// it does besides detaching, and what linking into it requires.
var (
	makers    = map[string]func(k *Kernel, parent *node, name string) (*node, error){}
	removers  = map[string]func(k *Kernel, n *node) error{}
	linkers   = map[string]func(k *Kernel, dir, target *node) error{}
	unlinkers = map[string]func(k *Kernel, dir, target *node) error{}
)

// ---- hooks ----

type eventKind int

const (
	evAdded eventKind = iota
	evReconfig
	evAction
)

// event is a hook call raised by an operation, run after the locks are released.
type event struct {
	kind      eventKind
	dev       UIODevice
	attribute string
	value     string
	old       string // Reconfig: the value to restore if the hook refuses
	attrPath  string
	action    int
	heard     bool // Reconfig without hooks: another process listens
}

func (k *Kernel) raise(e event) {
	if !k.replaying {
		k.events = append(k.events, e)
	}
}

func (k *Kernel) runEvents(h UserDeviceHooks, evs []event) error {
	if h == nil {
		// Nobody in this process listens on the TCM-USER netlink group:
		// the kernel adds and removes devices anyway, but a RECONFIG
		// fails with ESRCH unless another process listens (Listen).
		for _, e := range evs {
			if e.kind == evReconfig && !e.heard {
				_ = k.mutateQuiet(op{kind: opRestore, a: e.attrPath, b: e.old})
				return syscall.ESRCH
			}
		}
		return nil
	}
	for _, e := range evs {
		switch e.kind {
		case evAdded:
			if err := h.Added(e.dev); err != nil {
				_ = k.mutateQuiet(op{kind: opUnconfigure, a: e.dev.ConfigPath})
				return err
			}
		case evReconfig:
			if err := h.Reconfig(e.dev, e.attribute, e.value); err != nil {
				_ = k.mutateQuiet(op{kind: opRestore, a: e.attrPath, b: e.old})
				return err
			}
		case evAction:
			if err := h.Action(e.dev, e.attribute, e.action); err != nil {
				return err
			}
		}
	}
	return nil
}

// mutateQuiet applies an internal operation that raises no hooks.
func (k *Kernel) mutateQuiet(o op) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	_, err := k.mutateLocked(o)
	return err
}

// removableUserDevice reports the uio device that an rmdir of p would
// remove, when the rmdir is allowed.
func (k *Kernel) removableUserDevice(p string) (UIODevice, bool) {
	var dev UIODevice
	ok := false
	_ = k.read("rmdir", p, func() error {
		n, err := k.lookup(p, false)
		if err != nil || n.typ != "so" || n.meta["uio_minor"] == "" || n.def {
			return nil
		}
		if detachCheck(n) != nil {
			return nil
		}
		dev, ok = k.uioDevice(n), true
		return nil
	})
	return dev, ok
}
