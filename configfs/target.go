package configfs

import (
	"errors"
	"fmt"
	"net"
	"path"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// notFabricDirs are the entries of target/ that are not fabric modules.
var notFabricDirs = map[string]bool{"core": true}

// Fabrics lists the fabric modules present (their directories exist).
func (l *LIO) Fabrics() ([]string, error) {
	ds, err := l.dirs(Root)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range ds {
		if !notFabricDirs[d] {
			out = append(out, d)
		}
	}
	return out, nil
}

// LoadFabric makes a fabric's directory appear (the kernel loads its
// module on mkdir). An existing directory is fine.
func (l *LIO) LoadFabric(name string) error {
	if err := ValidName("fabric", name); err != nil {
		return err
	}
	p := path.Join(Root, name)
	if l.exists(p) {
		return nil
	}
	if err := l.mkdir(p); err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENODEV) {
			info, _ := LookupFabric(name)
			mod := info.Module
			if mod == "" {
				mod = "the module providing " + name
			}
			return fmt.Errorf("fabric %s: %w: %s (run `modprobe %s`)", name, ErrModuleNotLoaded, mod, mod)
		}
		return l.explain(err)
	}
	return nil
}

// Target is a fabric endpoint: target/<fabric>/<wwn>.
type Target struct {
	Fabric string
	WWN    string
}

// Path is the target's configfs path.
func (t Target) Path() string { return path.Join(Root, t.Fabric, t.WWN) }

// Targets lists the targets of a fabric.
func (l *LIO) Targets(fabric string) ([]Target, error) {
	ds, err := l.dirs(path.Join(Root, fabric))
	if err != nil {
		return nil, err
	}
	var out []Target
	for _, d := range ds {
		if d == "discovery_auth" {
			continue
		}
		out = append(out, Target{Fabric: fabric, WWN: d})
	}
	return out, nil
}

// CreateTarget validates (or generates, when wwn is empty) the WWN for the
// fabric and creates the target, loading the fabric first.
func (l *LIO) CreateTarget(fabric, wwn string) (Target, error) {
	info, _ := LookupFabric(fabric)
	if wwn == "" {
		if info.FixedWWNs {
			return Target{}, fmt.Errorf("fabric %s: targets are hardware ports; give the port's WWN", fabric)
		}
		wwn = GenerateWWN(info.WWNTypes[0])
	}
	norm, err := ValidateWWN(wwn, info.WWNTypes)
	if err != nil {
		return Target{}, fmt.Errorf("fabric %s: %w", fabric, err)
	}
	norm = ToFabricWWN(fabric, norm)
	if err := l.LoadFabric(fabric); err != nil {
		return Target{}, err
	}
	t := Target{Fabric: fabric, WWN: norm}
	if err := l.mkdir(t.Path()); err != nil {
		if info.FixedWWNs && (errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENODEV)) {
			// tcm_qla2xxx, efct, ib_srpt…: the kernel takes only the
			// WWN of a port of hardware its driver has found.
			return Target{}, &Error{Op: "mkdir", Path: t.Path(), Err: Errno(err),
				Hint: fmt.Sprintf("fabric %s has no port %s: its targets are the ports of the hardware its driver found (Fibre Channel: /sys/class/fc_host/host*/port_name)", fabric, norm)}
		}
		return Target{}, l.explain(err)
	}
	return t, nil
}

// DeleteTarget removes a target and everything under it.
func (l *LIO) DeleteTarget(t Target) error {
	tpgs, err := l.TPGs(t)
	if err != nil {
		return err
	}
	for _, tpg := range tpgs {
		if err := l.DeleteTPG(tpg); err != nil {
			return err
		}
	}
	return l.explainErr(l.rmdir(t.Path()))
}

func (l *LIO) explainErr(err error) error {
	if err == nil {
		return nil
	}
	return l.explain(err)
}

// TPG is a target portal group: <target>/tpgt_<tag>.
type TPG struct {
	Target
	Tag int
}

// Path is the TPG's configfs path.
func (t TPG) Path() string { return path.Join(t.Target.Path(), "tpgt_"+strconv.Itoa(t.Tag)) }

// TPGs lists a target's TPGs by tag.
func (l *LIO) TPGs(t Target) ([]TPG, error) {
	ds, err := l.dirs(t.Path())
	if err != nil {
		return nil, err
	}
	var out []TPG
	for _, d := range ds {
		if tag, ok := strings.CutPrefix(d, "tpgt_"); ok {
			if n, err := strconv.Atoi(tag); err == nil {
				out = append(out, TPG{Target: t, Tag: n})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Tag < out[j].Tag })
	return out, nil
}

// CreateTPG creates a TPG; tag 0 picks the lowest free tag from 1.
func (l *LIO) CreateTPG(t Target, tag int) (TPG, error) {
	if tag == 0 {
		tpgs, err := l.TPGs(t)
		if err != nil {
			return TPG{}, err
		}
		used := map[int]bool{}
		for _, x := range tpgs {
			used[x.Tag] = true
		}
		for tag = 1; used[tag]; tag++ {
		}
	}
	if tag < 1 || tag > 65535 {
		return TPG{}, fmt.Errorf("TPG tag %d out of range 1-65535", tag)
	}
	tpg := TPG{Target: t, Tag: tag}
	if err := l.mkdir(tpg.Path()); err != nil {
		return TPG{}, l.explain(err)
	}
	return tpg, nil
}

// DeleteTPG removes a TPG and its ACLs, LUNs and portals, disabling it
// first and dropping a nexus.
func (l *LIO) DeleteTPG(tpg TPG) error {
	if l.exists(path.Join(tpg.Path(), "enable")) {
		if en, _ := l.ReadAttr(path.Join(tpg.Path(), "enable")); en == "1" {
			if err := l.WriteAttr(path.Join(tpg.Path(), "enable"), "0"); err != nil {
				return err
			}
		}
	}
	acls, err := l.ACLs(tpg)
	if err != nil {
		return err
	}
	for _, a := range acls {
		if err := l.DeleteACL(a); err != nil {
			return err
		}
	}
	// The ACLs are gone, and their mappings with them: each LUN goes
	// without looking for mappings again (which made a TPG's deletion
	// read its ACLs once per LUN).
	luns, err := l.LUNIndexes(tpg)
	if err != nil {
		return err
	}
	// Side by side: the kernel waits out each LUN's per-CPU reference
	// when its link goes, and those waits overlap.
	if err := Concurrently(len(luns), func(i int) error {
		return l.removeLUN(LUN{TPG: tpg, Index: luns[i]})
	}); err != nil {
		return err
	}
	portals, err := l.Portals(tpg)
	if err != nil {
		return err
	}
	for _, p := range portals {
		if err := l.DeletePortal(p); err != nil {
			return err
		}
	}
	if nx, _ := l.ReadAttr(path.Join(tpg.Path(), "nexus")); nx != "" && nx != "NULL" {
		if err := l.WriteAttr(path.Join(tpg.Path(), "nexus"), "NULL"); err != nil {
			return err
		}
	}
	return l.explainErr(l.rmdir(tpg.Path()))
}

// Nexus returns the I_T nexus initiator WWN of a loopback/vhost TPG, "" if none.
func (l *LIO) Nexus(tpg TPG) string {
	nx, err := l.ReadAttr(path.Join(tpg.Path(), "nexus"))
	if err != nil || nx == "NULL" {
		return ""
	}
	return nx
}

// SetNexus writes the I_T nexus of a loopback/vhost TPG; an empty wwn
// generates one of the fabric's type.
func (l *LIO) SetNexus(tpg TPG, wwn string) (string, error) {
	info, _ := LookupFabric(tpg.Fabric)
	if wwn == "" {
		wwn = GenerateWWN(info.WWNTypes[0])
	}
	return wwn, l.WriteAttr(path.Join(tpg.Path(), "nexus"), wwn)
}

// LUN is lun/lun_<index> of a TPG.
type LUN struct {
	TPG
	Index int
}

// Path is the LUN's configfs path.
func (l LUN) Path() string { return path.Join(l.TPG.Path(), "lun", "lun_"+strconv.Itoa(l.Index)) }

// LUNInfo is a LUN with what it exports.
type LUNInfo struct {
	LUN
	Alias   string        // the symlink's name
	Storage StorageObject // what it points at
	Linked  bool          // false when the LUN directory has no link
}

// LUNs lists the LUNs of a TPG with their storage objects.
func (l *LIO) LUNs(tpg TPG) ([]LUNInfo, error) {
	ds, err := l.dirs(path.Join(tpg.Path(), "lun"))
	if err != nil {
		return nil, err
	}
	var out []LUNInfo
	for _, d := range ds {
		n, ok := indexOf(d, "lun_")
		if !ok {
			continue
		}
		li := LUNInfo{LUN: LUN{TPG: tpg, Index: n}}
		es, err := l.fs.ReadDir(li.Path())
		if err != nil {
			return nil, l.explain(err)
		}
		for _, e := range es {
			if e.Kind != KindLink {
				continue
			}
			target, err := l.fs.Readlink(path.Join(li.Path(), e.Name))
			if err != nil {
				return nil, l.explain(err)
			}
			if so, ok := StorageObjectAt(target); ok {
				li.Alias, li.Storage, li.Linked = e.Name, so, true
			}
		}
		out = append(out, li)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out, nil
}

// LUNIndexes lists the indexes of a TPG's LUNs, sorted, with one listing
// of lun/ (no read of each LUN's link).
func (l *LIO) LUNIndexes(tpg TPG) ([]int, error) {
	ds, err := l.dirs(path.Join(tpg.Path(), "lun"))
	if err != nil {
		return nil, err
	}
	out := make([]int, 0, len(ds))
	for _, d := range ds {
		if n, ok := indexOf(d, "lun_"); ok {
			out = append(out, n)
		}
	}
	sort.Ints(out)
	return out, nil
}

func indexOf(name, prefix string) (int, bool) {
	s, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0
}

// freeLUNIndex is the lowest LUN index of tpg that lun/'s names leave free
// (no read of each LUN's link), from the last listing while no LUN came or
// went (withListing).
func (l *LIO) freeLUNIndex(tpg TPG) (int, error) {
	index := 0
	_, err := l.withListing(path.Join(tpg.Path(), "lun"), func(c *listing) {
		if c != nil {
			index = c.lowestFree()
		}
	})
	return index, err
}

// CreateLUN exports so as LUN index (-1: the lowest free index) of tpg.
func (l *LIO) CreateLUN(tpg TPG, index int, so StorageObject, alias string) (LUN, error) {
	if alias == "" {
		alias = randomHex(10)
	}
	if err := ValidName("LUN alias", alias); err != nil {
		return LUN{}, err
	}
	auto := index < 0
	var lun LUN
	for tries := 0; ; tries++ {
		if auto {
			var err error
			if index, err = l.freeLUNIndex(tpg); err != nil {
				return LUN{}, err
			}
		}
		if index > 65535 {
			return LUN{}, fmt.Errorf("LUN index %d out of range 0-65535", index)
		}
		lun = LUN{TPG: tpg, Index: index}
		err := l.mkdir(lun.Path())
		if err == nil {
			break
		}
		// Taken since lun/ was last listed (by another process, unseen
		// in lun/'s link count): the failed mkdir dropped that listing,
		// so the next look lists lun/ again.
		if auto && errors.Is(err, syscall.EEXIST) && tries < 8 {
			continue
		}
		return LUN{}, l.explain(err)
	}
	if err := l.fs.Symlink(so.Path(), path.Join(lun.Path(), alias)); err != nil {
		_ = l.rmdir(lun.Path())
		return LUN{}, fmt.Errorf("link LUN %d to %s: %w", index, so.Name, l.explain(err))
	}
	return lun, nil
}

// DeleteLUN removes the mapped LUNs that point at lun, then the LUN.
// configfs keeps no list of a LUN's mappings: every mapping of the TPG's
// ACLs is read (its link only).
func (l *LIO) DeleteLUN(lun LUN) error {
	acls, err := l.ACLs(lun.TPG)
	if err != nil {
		return err
	}
	for _, a := range acls {
		mls, err := l.mappedLUNs(a, false)
		if err != nil {
			return err
		}
		for _, ml := range mls {
			if ml.TPGLUN == lun.Index {
				if err := l.DeleteMappedLUN(ml.MappedLUN); err != nil {
					return err
				}
			}
		}
	}
	return l.removeLUN(lun)
}

// removeLUN unlinks and removes a LUN that no ACL maps any more.
func (l *LIO) removeLUN(lun LUN) error {
	return l.unlinkAndRemove(lun.Path())
}

// unlinkAndRemove removes the symlinks of a LUN or mapped LUN directory
// (found with one listing), then the directory.
func (l *LIO) unlinkAndRemove(dir string) error {
	es, err := l.fs.ReadDir(dir)
	if err != nil {
		return l.explain(err)
	}
	for _, e := range es {
		if e.Kind == KindLink {
			if err := l.fs.Unlink(path.Join(dir, e.Name)); err != nil {
				return l.explain(err)
			}
		}
	}
	return l.explainErr(l.rmdir(dir))
}

// LUNAt reads one LUN of a TPG; ok is false when it does not exist.
func (l *LIO) LUNAt(tpg TPG, index int) (LUNInfo, bool, error) {
	li := LUNInfo{LUN: LUN{TPG: tpg, Index: index}}
	es, err := l.fs.ReadDir(li.Path())
	if err != nil {
		if errors.Is(err, syscall.ENOENT) {
			return li, false, nil
		}
		return li, false, l.explain(err)
	}
	for _, e := range es {
		if e.Kind != KindLink {
			continue
		}
		target, err := l.fs.Readlink(path.Join(li.Path(), e.Name))
		if err != nil {
			return li, false, l.explain(err)
		}
		if so, ok := StorageObjectAt(target); ok {
			li.Alias, li.Storage, li.Linked = e.Name, so, true
		}
	}
	return li, true, nil
}

// MappedLUNAt reads one mapped LUN of an ACL; ok is false when it does not exist.
func (l *LIO) MappedLUNAt(a ACL, index int) (MappedLUNInfo, bool, error) {
	mi := MappedLUNInfo{MappedLUN: MappedLUN{ACL: a, Index: index}, TPGLUN: -1}
	if err := l.readMappedLUN(&mi, true); err != nil {
		if errors.Is(err, syscall.ENOENT) {
			return mi, false, nil
		}
		return mi, false, err
	}
	return mi, true, nil
}

// Exists reports whether a configfs path exists.
func (l *LIO) Exists(p string) bool { return l.exists(p) }

// LUNsOf lists every LUN, in every fabric, that exports so.
func (l *LIO) LUNsOf(so StorageObject) ([]LUN, error) {
	var out []LUN
	err := l.EachTPG(func(tpg TPG) error {
		luns, err := l.LUNs(tpg)
		if err != nil {
			return err
		}
		for _, x := range luns {
			if x.Linked && x.Storage == so {
				out = append(out, x.LUN)
			}
		}
		return nil
	})
	return out, err
}

// EachTPG calls fn for every TPG of every target of every fabric present,
// stopping at the first error fn or a listing returns.
func (l *LIO) EachTPG(fn func(TPG) error) error {
	fabrics, err := l.Fabrics()
	if err != nil {
		return err
	}
	for _, f := range fabrics {
		ts, err := l.Targets(f)
		if err != nil {
			return err
		}
		for _, t := range ts {
			tpgs, err := l.TPGs(t)
			if err != nil {
				return err
			}
			for _, tpg := range tpgs {
				if err := fn(tpg); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// ACL is acls/<initiator wwn> of a TPG.
type ACL struct {
	TPG
	NodeWWN string
}

// Path is the ACL's configfs path.
func (a ACL) Path() string { return path.Join(a.TPG.Path(), "acls", a.NodeWWN) }

// ACLs lists the node ACLs of a TPG.
func (l *LIO) ACLs(tpg TPG) ([]ACL, error) {
	// Each LUN a batch makes looks for ACLs to map it into: from the
	// last listing while acls/ keeps its link count (withListing).
	ds, _, err := l.subdirs(path.Join(tpg.Path(), "acls"))
	if err != nil {
		return nil, err
	}
	out := make([]ACL, 0, len(ds))
	for _, d := range ds {
		out = append(out, ACL{TPG: tpg, NodeWWN: d})
	}
	return out, nil
}

// CreateACL creates a node ACL for an initiator WWN.
func (l *LIO) CreateACL(tpg TPG, wwn string) (ACL, error) {
	info, _ := LookupFabric(tpg.Fabric)
	norm, err := ValidateWWN(wwn, info.WWNTypes)
	if err != nil {
		return ACL{}, fmt.Errorf("initiator %w", err)
	}
	norm = ToFabricWWN(tpg.Fabric, norm)
	a := ACL{TPG: tpg, NodeWWN: norm}
	if err := l.mkdir(a.Path()); err != nil {
		return ACL{}, l.explain(err)
	}
	return a, nil
}

// DeleteACL removes an ACL and its mapped LUNs (found from one listing of
// the ACL: their links need not be read to remove them).
func (l *LIO) DeleteACL(a ACL) error {
	mls, err := l.MappedLUNIndexes(a)
	if err != nil {
		return err
	}
	// Side by side: each mapped LUN is a directory of its own.
	idx := sortedIndexes(mls)
	if err := Concurrently(len(idx), func(i int) error {
		return l.DeleteMappedLUN(MappedLUN{ACL: a, Index: idx[i]})
	}); err != nil {
		return err
	}
	return l.explainErr(l.rmdir(a.Path()))
}

func sortedIndexes(set map[int]bool) []int {
	out := make([]int, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Ints(out)
	return out
}

// MappedLUN is lun_<index> of an ACL.
type MappedLUN struct {
	ACL
	Index int
}

// Path is the mapped LUN's configfs path.
func (m MappedLUN) Path() string { return path.Join(m.ACL.Path(), "lun_"+strconv.Itoa(m.Index)) }

// MappedLUNInfo is a mapped LUN with the TPG LUN it maps.
type MappedLUNInfo struct {
	MappedLUN
	Alias        string
	TPGLUN       int // -1 when not linked
	WriteProtect bool
}

// MappedLUNs lists an ACL's mapped LUNs.
func (l *LIO) MappedLUNs(a ACL) ([]MappedLUNInfo, error) { return l.mappedLUNs(a, true) }

// mappedLUNs lists an ACL's mapped LUNs, with write_protect read or not.
func (l *LIO) mappedLUNs(a ACL, withWriteProtect bool) ([]MappedLUNInfo, error) {
	ds, err := l.dirs(a.Path())
	if err != nil {
		return nil, err
	}
	var out []MappedLUNInfo
	for _, d := range ds {
		if n, ok := indexOf(d, "lun_"); ok {
			out = append(out, MappedLUNInfo{MappedLUN: MappedLUN{ACL: a, Index: n}, TPGLUN: -1})
		}
	}
	// Side by side: each mapping's reads are independent, and a kernel
	// with two CPUs serves two readers at once (ls of 200 mapped LUNs and
	// their LUNs on a real 6.1 kernel under qemu: 0.28-0.30 s against
	// 0.32-0.33 s one after another).
	errs := Gather(len(out), func(i int) error { return l.readMappedLUN(&out[i], withWriteProtect) })
	for _, err := range errs { // the first in index order, as one by one
		if err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out, nil
}

// readMappedLUN reads where a mapped LUN points and, if asked, whether
// it is write-protected (an error wraps ENOENT when it does not exist).
func (l *LIO) readMappedLUN(mi *MappedLUNInfo, withWriteProtect bool) error {
	es, err := l.fs.ReadDir(mi.Path())
	if err != nil {
		return l.explain(err)
	}
	for _, e := range es {
		if e.Kind != KindLink {
			continue
		}
		target, err := l.fs.Readlink(path.Join(mi.Path(), e.Name))
		if err != nil {
			return l.explain(err)
		}
		if idx, ok := indexOf(path.Base(target), "lun_"); ok {
			mi.Alias, mi.TPGLUN = e.Name, idx
		}
	}
	if withWriteProtect {
		wp, _ := l.ReadAttr(path.Join(mi.Path(), "write_protect"))
		mi.WriteProtect = wp == "1"
	}
	return nil
}

// MappedLUNIndexes lists the indexes an ACL's mapped LUNs take, with one
// listing of the ACL (no read of each mapping).
func (l *LIO) MappedLUNIndexes(a ACL) (map[int]bool, error) {
	ds, _, err := l.subdirs(a.Path())
	if err != nil {
		return nil, err
	}
	used := make(map[int]bool, len(ds))
	for _, d := range ds {
		if n, ok := indexOf(d, "lun_"); ok {
			used[n] = true
		}
	}
	return used, nil
}

// CreateMappedLUN maps TPG LUN tpgLUN into the ACL as mapped LUN index.
func (l *LIO) CreateMappedLUN(a ACL, index, tpgLUN int, writeProtect bool) (MappedLUN, error) {
	if index < 0 || index > 65535 {
		return MappedLUN{}, fmt.Errorf("mapped LUN index %d out of range 0-65535", index)
	}
	target := LUN{TPG: a.TPG, Index: tpgLUN}
	if !l.exists(target.Path()) {
		return MappedLUN{}, fmt.Errorf("TPG %d has no LUN %d to map", a.Tag, tpgLUN)
	}
	return l.MapLUN(a, index, target, writeProtect)
}

// MapLUN is CreateMappedLUN of a LUN the caller knows exists (it just made
// or listed it): no stat first.
func (l *LIO) MapLUN(a ACL, index int, target LUN, writeProtect bool) (MappedLUN, error) {
	if index < 0 || index > 65535 {
		return MappedLUN{}, fmt.Errorf("mapped LUN index %d out of range 0-65535", index)
	}
	ml := MappedLUN{ACL: a, Index: index}
	if err := l.mkdir(ml.Path()); err != nil {
		return MappedLUN{}, l.explain(err)
	}
	if err := l.fs.Symlink(target.Path(), path.Join(ml.Path(), randomHex(10))); err != nil {
		_ = l.rmdir(ml.Path())
		return MappedLUN{}, l.explain(err)
	}
	if writeProtect {
		if err := l.WriteAttr(path.Join(ml.Path(), "write_protect"), "1"); err != nil {
			_ = l.DeleteMappedLUN(ml)
			return MappedLUN{}, err
		}
	}
	return ml, nil
}

// DeleteMappedLUN removes a mapped LUN.
func (l *LIO) DeleteMappedLUN(ml MappedLUN) error { return l.unlinkAndRemove(ml.Path()) }

// Portal is np/<ip>:<port> of a TPG.
type Portal struct {
	TPG
	IP   string
	Port int
}

// PortalName is the np directory name: IPv6 addresses go in brackets.
func PortalName(ip string, port int) string {
	if strings.Contains(ip, ":") {
		return "[" + ip + "]:" + strconv.Itoa(port)
	}
	return ip + ":" + strconv.Itoa(port)
}

// Path is the portal's configfs path.
func (p Portal) Path() string { return path.Join(p.TPG.Path(), "np", PortalName(p.IP, p.Port)) }

// Portals lists a TPG's network portals.
func (l *LIO) Portals(tpg TPG) ([]Portal, error) {
	ds, err := l.dirs(path.Join(tpg.Path(), "np"))
	if err != nil {
		return nil, err
	}
	var out []Portal
	for _, d := range ds {
		host, port, err := net.SplitHostPort(d)
		if err != nil {
			continue
		}
		n, _ := strconv.Atoi(port)
		out = append(out, Portal{TPG: tpg, IP: host, Port: n})
	}
	return out, nil
}

// CreatePortal adds a network portal after checking the address.
func (l *LIO) CreatePortal(tpg TPG, ip string, port int) (Portal, error) {
	if net.ParseIP(strings.Trim(ip, "[]")) == nil {
		return Portal{}, fmt.Errorf("portal address %q is not an IPv4 or IPv6 address", ip)
	}
	if port < 1 || port > 65535 {
		return Portal{}, fmt.Errorf("portal port %d out of range 1-65535", port)
	}
	p := Portal{TPG: tpg, IP: strings.Trim(ip, "[]"), Port: port}
	if err := l.mkdir(p.Path()); err != nil {
		return Portal{}, l.explain(err)
	}
	return p, nil
}

// DeletePortal removes a network portal.
func (l *LIO) DeletePortal(p Portal) error { return l.explainErr(l.rmdir(p.Path())) }

// Group reads every readable attribute of a directory (attrib/, param/,
// auth/, discovery_auth/, an ALUA group) as name → value.
func (l *LIO) Group(dir string) (map[string]string, error) {
	return l.ReadGroup(dir, DirEntry.Readable)
}

// ReadGroup reads the attributes of a directory that want accepts, as
// name → value (trimmed as ReadAttr does). Attributes that fail to read
// (some do in some states) are left out. The values are read together
// (FilesReader), so that saving a configuration's few thousand
// attributes walks each directory's path once.
func (l *LIO) ReadGroup(dir string, want func(DirEntry) bool) (map[string]string, error) {
	es, err := l.fs.ReadDir(dir)
	if err != nil {
		return nil, l.explain(err)
	}
	names := make([]string, 0, len(es))
	for _, e := range es {
		if e.Kind == KindAttr && e.Readable() && want(e) {
			names = append(names, e.Name)
		}
	}
	values, errs := readFiles(l.fs, dir, names)
	out := make(map[string]string, len(names))
	for i, n := range names {
		if errs[i] == nil {
			out[n] = strings.TrimRight(string(values[i]), "\n")
		}
	}
	return out, nil
}
