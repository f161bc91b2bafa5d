package configfs

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Plugins are the backstore plugin directory prefixes under core/, in
// targetcli's display order, with targetcli's name for each.
var Plugins = []struct{ Plugin, Name string }{
	{"iblock", "block"},
	{"fileio", "fileio"},
	{"pscsi", "pscsi"},
	{"rd_mcp", "ramdisk"},
	{"user", "user"},
}

// PluginOf maps a targetcli backstore name (block, fileio, pscsi, ramdisk,
// user, user:<subtype>) or a configfs plugin name to the configfs plugin.
func PluginOf(name string) (string, bool) {
	if strings.HasPrefix(name, "user:") {
		return "user", true
	}
	for _, p := range Plugins {
		if name == p.Name || name == p.Plugin {
			return p.Plugin, true
		}
	}
	return "", false
}

// BackstoreName maps a configfs plugin to targetcli's name.
func BackstoreName(plugin string) string {
	for _, p := range Plugins {
		if p.Plugin == plugin {
			return p.Name
		}
	}
	return plugin
}

// StorageObject is a backstore: core/<plugin>_<hba>/<name>.
type StorageObject struct {
	Plugin string
	HBA    int
	Name   string
}

// Path is the object's configfs path.
func (s StorageObject) Path() string {
	if s.Name == "" {
		return path.Join(Root, "core", s.Plugin+"_"+strconv.Itoa(s.HBA))
	}
	// Concatenated, not joined: a listing builds this path several times
	// per object, and names never hold a slash.
	return Root + "/core/" + s.Plugin + "_" + strconv.Itoa(s.HBA) + "/" + s.Name
}

// parseHBADir splits "fileio_3" into plugin and index.
func parseHBADir(name string) (string, int, bool) {
	i := strings.LastIndexByte(name, '_')
	if i <= 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(name[i+1:])
	if err != nil || n < 0 {
		return "", 0, false
	}
	return name[:i], n, true
}

// StorageObjectAt parses a configfs path of a storage object.
func StorageObjectAt(p string) (StorageObject, bool) {
	parts := strings.Split(path.Clean(p), "/")
	if len(parts) != 4 || parts[0] != Root || parts[1] != "core" {
		return StorageObject{}, false
	}
	plugin, n, ok := parseHBADir(parts[2])
	if !ok {
		return StorageObject{}, false
	}
	return StorageObject{Plugin: plugin, HBA: n, Name: parts[3]}, true
}

// StorageObjects lists every storage object, sorted by plugin then name.
func (l *LIO) StorageObjects() ([]StorageObject, error) {
	idx, err := l.soIndex()
	if err != nil {
		return nil, err
	}
	return sortedObjects(idx), nil
}

func sortedObjects(idx map[string][]string) []StorageObject {
	var out []StorageObject
	for h, names := range idx {
		plugin, n, _ := parseHBADir(h)
		for _, name := range names {
			out = append(out, StorageObject{Plugin: plugin, HBA: n, Name: name})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Plugin != out[j].Plugin {
			return out[i].Plugin < out[j].Plugin
		}
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].HBA < out[j].HBA
	})
	return out
}

// soIndex returns HBA directory → object names. rtslib gives every object
// an HBA of its own, so one read of core/ tells which HBAs are new or gone;
// only new HBA directories are read. This keeps a name lookup from costing
// a read per existing object, which made every command slower as the
// configuration grew. Callers get a copy they may keep.
func (l *LIO) soIndex() (map[string][]string, error) {
	hbas, _, err := l.subdirs(path.Join(Root, "core"))
	if err != nil {
		return nil, err
	}
	return l.indexFrom(hbas)
}

// indexFrom brings the index up to date with a listing of core/.
func (l *LIO) indexFrom(hbas []string) (map[string][]string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.hbaNames == nil {
		l.hbaNames, l.byName = map[string][]string{}, map[string]string{}
	}
	present := make(map[string]bool, len(hbas))
	for _, h := range hbas {
		if _, _, ok := parseHBADir(h); !ok {
			continue // core/alua and anything else that is not an HBA
		}
		present[h] = true
		if _, known := l.hbaNames[h]; known {
			continue
		}
		names, err := l.dirs(path.Join(Root, "core", h))
		if err != nil {
			return nil, err
		}
		l.setHBALocked(h, names)
	}
	out := make(map[string][]string, len(present))
	for h, names := range l.hbaNames {
		if !present[h] {
			l.dropHBALocked(h)
			continue
		}
		out[h] = names
	}
	return out, nil
}

func (l *LIO) setHBALocked(h string, names []string) {
	if l.hbaNames == nil {
		l.hbaNames, l.byName = map[string][]string{}, map[string]string{}
	}
	l.dropHBALocked(h)
	plugin, hba, _ := parseHBADir(h)
	l.hbaNames[h] = names
	if l.unread == nil {
		l.unread = map[StorageObject]bool{}
	}
	for _, n := range names {
		l.byName[plugin+"/"+n] = h
		so := StorageObject{Plugin: plugin, HBA: hba, Name: n}
		l.forgetObjectLocked(so) // what was remembered of an earlier one
		l.unread[so] = true
	}
}

// dropHBALocked forgets an HBA directory and what was remembered of its
// objects (by name: a scan of every remembered object here made a batch of
// N creates quadratic).
func (l *LIO) dropHBALocked(h string) {
	plugin, hba, _ := parseHBADir(h)
	for _, n := range l.hbaNames[h] {
		if l.byName[plugin+"/"+n] == h {
			delete(l.byName, plugin+"/"+n)
		}
		so := StorageObject{Plugin: plugin, HBA: hba, Name: n}
		l.forgetObjectLocked(so)
		delete(l.unread, so)
	}
	delete(l.hbaNames, h)
}

// forgetObjectLocked drops what BackingOf and UnitSerial remember of so.
func (l *LIO) forgetObjectLocked(so StorageObject) {
	if b, ok := l.backing[so]; ok {
		if f := b.ImageFile(so.Plugin); f != "" && l.images[f] == so {
			delete(l.images, f)
		}
		delete(l.backing, so)
	}
	delete(l.serials, so)
}

// storeBackingLocked remembers what so is made on.
func (l *LIO) storeBackingLocked(so StorageObject, b Backing) {
	l.forgetObjectLocked(so)
	if l.backing == nil {
		l.backing, l.images = map[StorageObject]Backing{}, map[string]StorageObject{}
	}
	l.backing[so] = b
	if f := b.ImageFile(so.Plugin); f != "" {
		l.images[f] = so
	}
	delete(l.unread, so)
}

// ObjectOnImage returns the object, among those the model last listed,
// made on file (a fileio image or device, a user:file image), if any. Each
// object's backing is read once for the life of the model, so that a batch
// of N creates, each checking that its file is free, costs N lookups and
// not N² comparisons.
func (l *LIO) ObjectOnImage(file string) (StorageObject, bool) {
	l.mu.Lock()
	pending := make([]StorageObject, 0, len(l.unread))
	for so := range l.unread {
		pending = append(pending, so)
	}
	l.mu.Unlock()
	for _, so := range pending {
		if _, err := l.BackingOf(so); err != nil {
			l.mu.Lock()
			delete(l.unread, so) // gone, or unreadable: made on nothing known
			l.mu.Unlock()
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	f := filepath.Clean(file)
	so, ok := l.images[f]
	if ok && l.byName[so.Plugin+"/"+so.Name] != path.Base(path.Dir(so.Path())) {
		// Read for an object the model no longer lists.
		delete(l.images, f)
		return StorageObject{}, false
	}
	return so, ok
}

// rememberedObject looks a name up in the index as it was last read.
func (l *LIO) rememberedObject(plugin, name string) (StorageObject, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h, ok := l.byName[plugin+"/"+name]
	if !ok {
		return StorageObject{}, false
	}
	_, n, _ := parseHBADir(h)
	return StorageObject{Plugin: plugin, HBA: n, Name: name}, true
}

// forgetHBA drops an HBA directory from the index so that it is read again.
func (l *LIO) forgetHBA(hbaDir string) {
	l.mu.Lock()
	l.dropHBALocked(hbaDir)
	l.mu.Unlock()
}

// rememberHBA records a directory this process just made.
func (l *LIO) rememberHBA(hbaDir string, names []string) {
	l.mu.Lock()
	l.setHBALocked(hbaDir, names)
	l.mu.Unlock()
}

// Refresh forgets what the model remembers between calls (the HBA index),
// for when another tool changed an HBA directory in place.
func (l *LIO) Refresh() {
	l.mu.Lock()
	l.hbaNames, l.byName, l.backing, l.serials, l.listings = nil, nil, nil, nil, nil
	l.images, l.unread = nil, nil
	l.mu.Unlock()
}

// FindStorageObject returns the object of plugin with that name. A name
// remembered from an earlier call is checked with one stat; a name not
// seen yet costs a listing of core/ (and of new HBA directories). Before
// it answers "no such object", every HBA directory is read again: another
// process may have reused a directory name with another object in it.
func (l *LIO) FindStorageObject(plugin, name string) (StorageObject, error) {
	if so, ok := l.rememberedObject(plugin, name); ok && l.exists(so.Path()) {
		return so, nil
	}
	if _, err := l.soIndex(); err != nil {
		return StorageObject{}, err
	}
	if so, ok := l.rememberedObject(plugin, name); ok && l.exists(so.Path()) {
		return so, nil
	}
	return l.findStorageObjectSlow(plugin, name)
}

// HasStorageObject reports whether an object of plugin with that name
// exists, as far as a listing of core/ tells (the last one when core/'s link
// count says no HBA directory came or went since, see withListing): HBA directories read
// before are trusted to hold what they held (rtslib and tcmsh put one
// object in each), so that a create's name check costs one listing and not
// a read of every HBA, which made a batch of N creates quadratic.
func (l *LIO) HasStorageObject(plugin, name string) (bool, error) {
	if so, ok := l.rememberedObject(plugin, name); ok && l.exists(so.Path()) {
		return true, nil
	}
	hbas, fresh, err := l.subdirs(path.Join(Root, "core"))
	if err != nil {
		return false, err
	}
	if fresh {
		if _, err := l.indexFrom(hbas); err != nil {
			return false, err
		}
	}
	// A create follows: its HBA allocation takes this look at core/
	// rather than looking again (a taken index answers EEXIST and is
	// skipped).
	l.mu.Lock()
	l.coreChecked = true
	l.mu.Unlock()
	so, ok := l.rememberedObject(plugin, name)
	return ok && l.exists(so.Path()), nil
}

func (l *LIO) findStorageObjectSlow(plugin, name string) (StorageObject, error) {
	l.Refresh()
	all, err := l.StorageObjects()
	if err != nil {
		return StorageObject{}, err
	}
	for _, so := range all {
		if so.Plugin == plugin && so.Name == name {
			return so, nil
		}
	}
	return StorageObject{}, fmt.Errorf("no %s storage object named %q: %w", BackstoreName(plugin), name, os.ErrNotExist)
}

// KV is one key=value token of a control string.
type KV struct{ Key, Value string }

func (kv KV) String() string { return kv.Key + "=" + kv.Value }

// StorageSpec describes a storage object to create.
type StorageSpec struct {
	Plugin string // configfs plugin
	Name   string
	// Control tokens, before enable: in one write (the kernel parses a
	// comma-separated list), a user object's one per write in order (its
	// handler's settings each get their own error).
	Control []KV
	// UdevPath is written to udev_path when not empty.
	UdevPath string
	// UnitSerial for wwn/vpd_unit_serial; generated when empty.
	UnitSerial string
	// WWN values (wwn/<name>, e.g. product_id) besides the unit serial.
	WWN map[string]string
	// Attributes written after enable, in key order (e.g. emulate_write_cache).
	Attributes map[string]string
	// NoEnable leaves the object disabled.
	NoEnable bool
}

// CreateStorageObject makes a storage object in a new HBA of its own, as
// rtslib does: the lowest HBA index free across all plugins, chosen under
// a lock held only for the allocation. On any failure everything created
// is removed again.
func (l *LIO) CreateStorageObject(spec StorageSpec) (so StorageObject, err error) {
	if err := ValidName("storage object", spec.Name); err != nil {
		return StorageObject{}, err
	}
	if spec.Plugin == "user" && strings.Contains(spec.Name, ":") {
		return StorageObject{}, fmt.Errorf("storage object name %q: a user backstore name may not contain ':'", spec.Name)
	}
	if spec.UnitSerial != "" && !ValidUnitSerial(spec.UnitSerial) {
		return StorageObject{}, fmt.Errorf("wwn %q is not a unit serial (a UUID like 0b5a9c1e-3d2f-4a61-9e7b-2f0c8d1a4b5c)", spec.UnitSerial)
	}
	if so, ok := l.rememberedObject(spec.Plugin, spec.Name); ok && l.exists(so.Path()) {
		return StorageObject{}, fmt.Errorf("a %s storage object named %q already exists", BackstoreName(spec.Plugin), spec.Name)
	}
	hba, err := l.allocHBA(spec.Plugin, spec.Name)
	if err != nil {
		return StorageObject{}, err
	}
	so = StorageObject{Plugin: spec.Plugin, HBA: hba, Name: spec.Name}
	hbaPath := path.Dir(so.Path())
	serial := "" // the unit serial written, remembered for UnitSerial
	defer func() {
		if err != nil {
			_ = l.rmdir(so.Path())
			_ = l.rmdir(hbaPath)
			l.forgetHBA(path.Base(hbaPath))
			return
		}
		l.rememberHBA(path.Base(hbaPath), []string{so.Name})
		l.rememberBacking(so, spec)
		if serial != "" && so.Plugin != "pscsi" { // pscsi's comes from the device
			l.mu.Lock()
			if l.serials == nil {
				l.serials = map[StorageObject]string{}
			}
			l.serials[so] = serial
			l.mu.Unlock()
		}
	}()
	if err := l.mkdir(so.Path()); err != nil {
		return so, l.explain(err)
	}
	if spec.Plugin == "user" {
		for _, kv := range spec.Control {
			if err := l.WriteAttr(path.Join(so.Path(), "control"), kv.String()); err != nil {
				return so, fmt.Errorf("control %s: %w", kv, err)
			}
		}
	} else if len(spec.Control) > 0 {
		toks := make([]string, len(spec.Control))
		for i, kv := range spec.Control {
			toks[i] = kv.String()
		}
		ctl := strings.Join(toks, ",")
		if err := l.WriteAttr(path.Join(so.Path(), "control"), ctl); err != nil {
			return so, fmt.Errorf("control %s: %w", ctl, err)
		}
	}
	if spec.UdevPath != "" {
		if err := l.WriteAttr(path.Join(so.Path(), "udev_path"), spec.UdevPath); err != nil {
			return so, err
		}
	}
	if spec.NoEnable {
		return so, nil
	}
	serial = spec.UnitSerial
	if serial == "" {
		serial = GenerateUnitSerial()
	}
	wwn := map[string]string{"vpd_unit_serial": serial}
	for k, v := range spec.WWN {
		wwn[k] = v
	}
	// A user backstore is served (possibly by a daemon reacting to the
	// kernel's ADDED event) as soon as it is enabled, and its handler reads
	// the identity then: write it first. The kernel takes wwn/ values
	// before enable; only an exported device refuses them. Other plugins
	// keep rtslib's order (pscsi takes its serial from the device at enable).
	early := spec.Plugin == "user"
	writeWWN := func() error {
		for _, k := range sortedKeys(wwn) {
			if err := l.WriteAttr(path.Join(so.Path(), "wwn", k), wwn[k]); err != nil {
				return err
			}
		}
		return nil
	}
	if early {
		if err := writeWWN(); err != nil {
			return so, err
		}
	}
	if err := l.WriteAttr(path.Join(so.Path(), "enable"), "1"); err != nil {
		return so, fmt.Errorf("enable %s: %w", so.Name, err)
	}
	if !early {
		if err := writeWWN(); err != nil {
			return so, err
		}
	}
	keys := make([]string, 0, len(spec.Attributes))
	for k := range spec.Attributes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := l.WriteAttr(path.Join(so.Path(), "attrib", k), spec.Attributes[k]); err != nil {
			return so, err
		}
	}
	return so, nil
}

// allocHBA creates core/<plugin>_<N> with N the lowest index unused by any
// plugin, after checking (on the same listing of core/) that no object of
// the plugin has that name. A lock file keeps two tcmsh processes from
// racing; EEXIST from the kernel (another tool, or no lock file) moves on
// to the next index.
func (l *LIO) allocHBA(plugin, name string) (int, error) {
	unlock, err := l.lock()
	if err != nil {
		return 0, err
	}
	defer unlock()
	core := path.Join(Root, "core")
	l.mu.Lock()
	checked := l.coreChecked && l.listings[core] != nil
	l.coreChecked = false
	l.mu.Unlock()
	if !checked {
		hbas, fresh, err := l.subdirs(core)
		if err != nil {
			return 0, err
		}
		if fresh {
			if _, err := l.indexFrom(hbas); err != nil {
				return 0, err
			}
		}
	}
	if _, taken := l.rememberedObject(plugin, name); taken {
		return 0, fmt.Errorf("a %s storage object named %q already exists", BackstoreName(plugin), name)
	}
	// The lowest index no HBA directory of any plugin takes, from the
	// listing's index counts (a walk of every HBA name per create made a
	// batch quadratic); one taken since answers EEXIST and the next is tried.
	first := 0
	l.mu.Lock()
	if c := l.listings[core]; c != nil {
		first = c.lowestFree()
	}
	l.mu.Unlock()
	used := func(n int) bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		c := l.listings[core]
		return c != nil && c.indexes[n] > 0
	}
	for n, tries := first, 0; tries < 64; n++ {
		if used(n) {
			continue
		}
		err := l.mkdir(path.Join(Root, "core", fmt.Sprintf("%s_%d", plugin, n)))
		if err == nil {
			return n, nil
		}
		if !errors.Is(err, syscall.EEXIST) {
			// The kernel answers EINVAL when no loaded module provides
			// the backend (and requesting it failed): say which.
			if mod := backendModules[plugin]; mod != "" && errors.Is(err, syscall.EINVAL) {
				return 0, fmt.Errorf("backstore %s: %w: %s (run `modprobe %s`)", BackstoreName(plugin), ErrModuleNotLoaded, mod, mod)
			}
			return 0, l.explain(err)
		}
		tries++
	}
	return 0, fmt.Errorf("could not allocate an HBA index for %s: every try collided with another process", plugin)
}

// backendModules names the kernel module that provides each backend
// plugin (rd_mcp is part of target_core_mod itself).
var backendModules = map[string]string{
	"fileio": "target_core_file",
	"iblock": "target_core_iblock",
	"pscsi":  "target_core_pscsi",
	"user":   "target_core_user",
}

// lock takes the HBA allocation lock (flock on lockPath).
func (l *LIO) lock() (func(), error) {
	if l.lockPath == "" {
		return func() {}, nil
	}
	// flock excludes other open files, not this one's other users: the
	// mutex keeps this process's goroutines apart.
	l.allocMu.Lock()
	if l.lockFile == nil {
		if err := os.MkdirAll(filepath.Dir(l.lockPath), 0o755); err != nil {
			l.allocMu.Unlock()
			return nil, fmt.Errorf("HBA allocation lock: %w", err)
		}
		f, err := os.OpenFile(l.lockPath, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			l.allocMu.Unlock()
			return nil, fmt.Errorf("HBA allocation lock: %w", err)
		}
		l.lockFile = f
	}
	fd := int(l.lockFile.Fd())
	var err error
	for {
		err = unix.Flock(fd, unix.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		l.allocMu.Unlock()
		return nil, fmt.Errorf("HBA allocation lock %s: %w", l.lockPath, err)
	}
	return func() {
		_ = unix.Flock(fd, unix.LOCK_UN)
		l.allocMu.Unlock()
	}, nil
}

// DeleteStorageObject removes a storage object and its HBA, after removing
// every LUN (and the mapped LUNs of those LUNs) that exports it, as
// targetcli does.
func (l *LIO) DeleteStorageObject(so StorageObject) error {
	hbaDir := path.Dir(so.Path())
	// Most objects being deleted are not exported and have no ALUA group
	// of their own: then one rmdir does it, without reading every LUN of
	// every target (the kernel refuses with EBUSY or ENOTEMPTY otherwise).
	if err := l.rmdir(so.Path()); err == nil {
		defer l.forgetHBA(path.Base(hbaDir))
		return l.removeHBA(hbaDir)
	}
	luns, err := l.LUNsOf(so)
	if err != nil {
		return err
	}
	for _, lun := range luns {
		if err := l.DeleteLUN(lun); err != nil {
			return err
		}
	}
	// ALUA groups other than the default are directories of their own.
	gps, err := l.ALUAGroupNames(so)
	if err != nil {
		return err
	}
	for _, g := range gps {
		if g == DefaultALUAGroup {
			continue
		}
		if err := l.rmdir(path.Join(so.Path(), "alua", g)); err != nil {
			return l.explain(err)
		}
	}
	hba := path.Dir(so.Path())
	defer l.forgetHBA(path.Base(hba))
	if err := l.rmdir(so.Path()); err != nil {
		return l.explain(err)
	}
	return l.removeHBA(hba)
}

// DefaultALUAGroup is the ALUA target port group the kernel makes with
// every storage object (and that cannot be removed).
const DefaultALUAGroup = "default_tg_pt_gp"

// ALUAGroupNames lists a storage object's ALUA target port groups. Most
// objects have only the default one: a stat of alua/ that counts a single
// subdirectory (configfs keeps a group's link count at 2 plus its
// subdirectories) and a stat of the default group stand in for the
// listing, two calls instead of four.
func (l *LIO) ALUAGroupNames(so StorageObject) ([]string, error) {
	names, _, err := l.aluaGroups(so, func(group string) (string, bool) {
		g, err := l.fs.Stat(group)
		return "", err == nil && g.Kind == KindDir
	})
	return names, err
}

// ALUAGroupNamesAndState is ALUAGroupNames for a listing that shows each
// group's state: where the default group is the only one, the read of its
// alua_access_state (which a listing makes anyway) stands in for the stat
// that proves it is there, and its value (a number, trimmed) is returned
// as state; otherwise state is "".
func (l *LIO) ALUAGroupNamesAndState(so StorageObject) (names []string, state string, err error) {
	return l.aluaGroups(so, func(group string) (string, bool) {
		v, err := l.fs.ReadFile(path.Join(group, "alua_access_state"))
		return strings.TrimSpace(string(v)), err == nil
	})
}

// aluaGroups lists so's ALUA groups: where alua/'s link count shows a
// single group and proveDefault (given the default group's directory)
// finds it there, that group alone, with what proveDefault read of it;
// otherwise the listing.
func (l *LIO) aluaGroups(so StorageObject, proveDefault func(group string) (string, bool)) ([]string, string, error) {
	dir := path.Join(so.Path(), "alua")
	if st, err := l.fs.Stat(dir); err == nil && st.Links == 3 {
		if v, ok := proveDefault(path.Join(dir, DefaultALUAGroup)); ok {
			return []string{DefaultALUAGroup}, v, nil
		}
	}
	names, err := l.dirs(dir)
	return names, "", err
}

// removeHBA removes an HBA directory unless another object is still in it
// (the kernel refuses with ENOTEMPTY then: no listing needed first).
func (l *LIO) removeHBA(hbaDir string) error {
	err := l.rmdir(hbaDir)
	if err == nil || errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EBUSY) {
		return nil
	}
	return l.explain(err)
}

// StorageInfo is what `ls` and `info` show of a storage object.
type StorageInfo struct {
	Object  StorageObject
	Enabled bool
	// Exported: a LUN exports the object (the kernel's info says
	// "Status: ACTIVATED"); what targetcli calls activated.
	Exported  bool
	Size      int64  // bytes; 0 when unknown
	Dev       string // file or device (fileio, block, pscsi: udev_path)
	Config    string // user: dev_config
	WriteBack bool   // emulate_write_cache
	Info      string // the kernel's info text
}

// Subtype is the user backstore's handler subtype ("ram" of "ram/…").
func (si StorageInfo) Subtype() string {
	if si.Object.Plugin != "user" {
		return ""
	}
	sub, _, _ := strings.Cut(si.Config, "/")
	return sub
}

// Kind is targetcli's backstore directory for the object: block, fileio,
// pscsi, ramdisk or user:<subtype>.
func (si StorageInfo) Kind() string {
	if si.Object.Plugin == "user" {
		return "user:" + si.Subtype()
	}
	return BackstoreName(si.Object.Plugin)
}

// Backing is what a storage object is made on: its file or device (Dev)
// and a user object's dev_config (Config).
type Backing struct {
	Dev, Config string
}

// ImageFile is the file (cleaned) an object of plugin made on b writes: a
// fileio image or any plugin's device, a user:file (or fault/file) image;
// "" when none.
func (b Backing) ImageFile(plugin string) string {
	if plugin == "user" {
		return UserImageFile(b.Config)
	}
	if b.Dev == "" {
		return ""
	}
	return filepath.Clean(b.Dev)
}

// UserImageFile is the image file of a user backstore's dev_config
// (file/<path>, also inside fault/), or "".
func UserImageFile(cfg string) string {
	cfg = strings.TrimPrefix(cfg, "fault/")
	rest, ok := strings.CutPrefix(cfg, "file/")
	if !ok {
		return ""
	}
	p, _, _ := strings.Cut(rest, ";")
	if !filepath.IsAbs(p) {
		return ""
	}
	return filepath.Clean(p)
}

// BackingOf reads what a storage object is made on, once per object for
// the life of the model (it changes only through the object's control or
// dev_config, which WriteAttr notices, or by its removal, which the HBA
// index notices): a create's check that no other object uses its file
// then reads each object once, not every object at every create.
func (l *LIO) BackingOf(so StorageObject) (Backing, error) {
	l.mu.Lock()
	b, ok := l.backing[so]
	l.mu.Unlock()
	if ok {
		return b, nil
	}
	p := so.Path()
	switch so.Plugin {
	case "fileio":
		info, err := l.ReadAttr(path.Join(p, "info"))
		if err != nil {
			return b, err
		}
		b.Dev = infoFields(info)["File"]
		if b.Dev == "" {
			b.Dev, _ = l.ReadAttr(path.Join(p, "udev_path"))
		}
	case "user":
		c, err := l.ReadAttr(path.Join(p, "attrib", "dev_config"))
		if err != nil {
			return b, err
		}
		b.Config = c
	default:
		d, err := l.ReadAttr(path.Join(p, "udev_path"))
		if err != nil {
			return b, err
		}
		b.Dev = d
	}
	l.mu.Lock()
	l.storeBackingLocked(so, b)
	l.mu.Unlock()
	return b, nil
}

// rememberBacking records what an object this process made is made on, as
// BackingOf would read it.
func (l *LIO) rememberBacking(so StorageObject, spec StorageSpec) {
	b := Backing{Dev: spec.UdevPath}
	for _, kv := range spec.Control {
		switch {
		case so.Plugin == "fileio" && kv.Key == "fd_dev_name":
			b.Dev = kv.Value
		case so.Plugin == "user" && kv.Key == "dev_config":
			b.Config = kv.Value
		}
	}
	l.mu.Lock()
	l.storeBackingLocked(so, b)
	l.mu.Unlock()
}

// forgetBacking drops what BackingOf remembers of the object a write to
// configfs path p changes.
func (l *LIO) forgetBacking(p string) {
	parts := strings.SplitN(p, "/", 5)
	if len(parts) < 4 {
		return
	}
	so, ok := StorageObjectAt(strings.Join(parts[:4], "/"))
	if !ok {
		return
	}
	l.mu.Lock()
	_, listed := l.byName[so.Plugin+"/"+so.Name]
	l.forgetObjectLocked(so)
	if listed && l.unread != nil {
		l.unread[so] = true
	}
	l.mu.Unlock()
}

// DBRoot is the directory where the kernel keeps APTPL and ALUA metadata
// (target/dbroot), read once per model.
func (l *LIO) DBRoot() (string, error) {
	l.mu.Lock()
	d := l.dbroot
	l.mu.Unlock()
	if d != "" {
		return d, nil
	}
	d, err := l.ReadAttr(path.Join(Root, "dbroot"))
	if err != nil {
		return "", err
	}
	d = strings.TrimSpace(d)
	l.mu.Lock()
	l.dbroot = d
	l.mu.Unlock()
	return d, nil
}

// UnitSerial reads a storage object's T10 unit serial (wwn/vpd_unit_serial).
func (l *LIO) UnitSerial(so StorageObject) (string, error) {
	l.mu.Lock()
	s, ok := l.serials[so]
	l.mu.Unlock()
	if ok {
		return s, nil // written by this process's create
	}
	s, err := l.ReadAttr(path.Join(so.Path(), "wwn", "vpd_unit_serial"))
	return strings.TrimPrefix(s, "T10 VPD Unit Serial Number: "), err
}

// StorageObjectInfo reads what is shown about a storage object: its info,
// enable and emulate_write_cache, udev_path where info does not name the
// backing file, and a user object's dev_config and dev_size (a listing
// reads this for every object, so it reads no more).
func (l *LIO) StorageObjectInfo(so StorageObject) (StorageInfo, error) {
	si := StorageInfo{Object: so}
	p := so.Path()
	// Read together (FilesReader): the object's directory is walked once,
	// each attribute opened relative to it. enable is read after, and only
	// for an object no LUN exports (an exported one is enabled).
	names := []string{"info", "attrib/emulate_write_cache", "udev_path"}
	switch so.Plugin {
	case "fileio":
		names = names[:2] // info names the file; udev_path only without it
	case "user":
		names = append(names, "attrib/dev_config", "attrib/dev_size")
	}
	values, errs := readFiles(l.fs, p, names)
	val := func(i int) string {
		if i >= len(names) || errs[i] != nil {
			return ""
		}
		return strings.TrimRight(string(values[i]), "\n")
	}
	if errs[0] != nil {
		return si, l.explain(errs[0])
	}
	info := val(0)
	si.Info = info
	si.WriteBack = val(1) == "1"
	fields := infoFields(info)
	si.Exported = strings.HasPrefix(info, "Status: ACTIVATED")
	if si.Exported {
		si.Enabled = true
	} else {
		en, _ := l.ReadAttr(path.Join(p, "enable"))
		si.Enabled = en == "1"
	}
	if so.Plugin != "fileio" {
		si.Dev = val(2)
	} else if fields["File"] == "" {
		si.Dev, _ = l.ReadAttr(path.Join(p, "udev_path"))
	}
	switch so.Plugin {
	case "fileio":
		si.Dev = firstNonEmpty(fields["File"], si.Dev)
		si.Size, _ = strconv.ParseInt(fields["Size"], 10, 64)
	case "rd_mcp":
		// "PAGES/PAGE_SIZE: 256*4096"
		if a, b, ok := strings.Cut(fields["PAGES/PAGE_SIZE"], "*"); ok {
			x, _ := strconv.ParseInt(a, 10, 64)
			y, _ := strconv.ParseInt(b, 10, 64)
			si.Size = x * y
		}
	case "user":
		si.Config = fields["Config"]
		si.Size, _ = strconv.ParseInt(fields["Size"], 10, 64)
		if c := val(3); c != "" {
			si.Config = c
		}
		if s := val(4); s != "" {
			si.Size, _ = strconv.ParseInt(s, 10, 64)
		}
	}
	return si, nil
}

// infoFields parses the "Key: value Key: value" text of an info attribute.
// Values run to the next "Key:" token; keys are single words that end in ':'.
func infoFields(info string) map[string]string {
	out := map[string]string{}
	words := strings.Fields(info)
	key := ""
	var val []string
	flush := func() {
		if key != "" {
			out[key] = strings.Join(val, " ")
		}
		val = val[:0]
	}
	for _, w := range words {
		if strings.HasSuffix(w, ":") && len(w) > 1 {
			flush()
			key = strings.TrimSuffix(w, ":")
			continue
		}
		val = append(val, w)
	}
	flush()
	return out
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
