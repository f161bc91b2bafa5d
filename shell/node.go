package shell

import (
	"errors"
	"fmt"
	"net"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/tcmsh/tcmsh/config"
	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/internal/suggest"
)

// nodeKind names the kinds of node in targetcli's tree.
type nodeKind int

const (
	kindRoot nodeKind = iota
	kindBackstores
	kindBackstoreType // block, fileio, pscsi, ramdisk, user:<subtype>
	kindStorageObject
	kindALUA
	kindTGPT // an ALUA target port group of a storage object
	kindFabric
	kindTarget
	kindTPG
	kindLUNs
	kindLUN
	kindACLs
	kindACL
	kindMappedLUN
	kindPortals
	kindPortal
)

// Node is one node of the tree tcmsh shows: targetcli's paths over LIO's
// configfs objects. Nodes are cheap values made on demand; nothing is
// cached between commands, so the tree never goes stale.
type Node struct {
	kind nodeKind
	name string
	path string // targetcli path, "/" for the root

	plugin    string // kindBackstoreType, kindStorageObject: configfs plugin
	subtype   string // user backstores: handler subtype
	so        configfs.StorageObject
	fabric    string
	target    configfs.Target
	tpg       configfs.TPG
	folded    bool // target node that stands for its TPG 1 (fabrics without TPG tags)
	lun       configfs.LUNInfo
	acl       configfs.ACL
	mappedLUN configfs.MappedLUNInfo
	portal    configfs.Portal
	gp        string // ALUA group name
}

var kindNames = map[nodeKind]string{
	kindRoot: "root", kindBackstores: "backstores", kindBackstoreType: "backstore_type", kindStorageObject: "storage_object",
	kindALUA: "alua", kindTGPT: "alua_group", kindFabric: "fabric", kindTarget: "target", kindTPG: "tpg",
	kindLUNs: "luns", kindLUN: "lun", kindACLs: "acls", kindACL: "acl", kindMappedLUN: "mapped_lun",
	kindPortals: "portals", kindPortal: "portal",
}

// Kind names what the node stands for (root, storage_object, target, tpg,
// lun, acl, …), for the TUI's icons and layouts.
func (n *Node) Kind() string { return kindNames[n.kind] }

// Name is the node's last path element.
func (n *Node) Name() string { return n.name }

// Path is the node's targetcli path.
func (n *Node) Path() string { return n.path }

// ConfigPath is the configfs directory the node stands for ("" for
// grouping nodes such as /backstores).
func (n *Node) ConfigPath() string {
	switch n.kind {
	case kindRoot:
		return configfs.Root
	case kindStorageObject:
		return n.so.Path()
	case kindALUA:
		return path.Join(n.so.Path(), "alua")
	case kindTGPT:
		return path.Join(n.so.Path(), "alua", n.gp)
	case kindFabric:
		return path.Join(configfs.Root, n.fabric)
	case kindTarget:
		if n.folded {
			return n.tpg.Path()
		}
		return n.target.Path()
	case kindTPG:
		return n.tpg.Path()
	case kindLUNs:
		return path.Join(n.tpg.Path(), "lun")
	case kindLUN:
		return n.lun.Path()
	case kindACLs:
		return path.Join(n.tpg.Path(), "acls")
	case kindACL:
		return n.acl.Path()
	case kindMappedLUN:
		return n.mappedLUN.Path()
	case kindPortals:
		return path.Join(n.tpg.Path(), "np")
	case kindPortal:
		return n.portal.Path()
	}
	return ""
}

func child(parent *Node, kind nodeKind, name string) *Node {
	c := *parent
	c.kind, c.name = kind, name
	c.path = path.Join(parent.path, name)
	return &c
}

// Children lists a node's children in display order.
func (sh *Shell) Children(n *Node) ([]*Node, error) {
	l := sh.env.LIO
	switch n.kind {
	case kindRoot:
		out := []*Node{child(n, kindBackstores, "backstores")}
		fabrics, err := sh.fabricNames()
		if err != nil {
			return nil, err
		}
		for _, f := range fabrics {
			c := child(n, kindFabric, f)
			c.fabric = f
			out = append(out, c)
		}
		return out, nil
	case kindBackstores:
		var out []*Node
		for _, p := range configfs.Plugins {
			if p.Plugin == "user" {
				continue
			}
			c := child(n, kindBackstoreType, p.Name)
			c.plugin = p.Plugin
			out = append(out, c)
		}
		subs, err := sh.userSubtypes()
		if err != nil {
			return nil, err
		}
		for _, s := range subs {
			c := child(n, kindBackstoreType, "user:"+s)
			c.plugin, c.subtype = "user", s
			out = append(out, c)
		}
		return out, nil
	case kindBackstoreType:
		sos, err := l.StorageObjects()
		if err != nil {
			return nil, err
		}
		var out []*Node
		for _, so := range sos {
			if so.Plugin != n.plugin {
				continue
			}
			if n.plugin == "user" {
				si, err := l.StorageObjectInfo(so)
				if err != nil || si.Subtype() != n.subtype {
					continue
				}
			}
			c := child(n, kindStorageObject, so.Name)
			c.so = so
			out = append(out, c)
		}
		return out, nil
	case kindStorageObject:
		return []*Node{child(n, kindALUA, "alua")}, nil
	case kindALUA:
		gps, err := sh.dirNames(path.Join(n.so.Path(), "alua"))
		if err != nil {
			return nil, err
		}
		out := make([]*Node, 0, len(gps))
		for _, g := range gps {
			c := child(n, kindTGPT, g)
			c.gp = g
			out = append(out, c)
		}
		return out, nil
	case kindFabric:
		ts, err := l.Targets(n.fabric)
		if err != nil {
			return nil, err
		}
		out := make([]*Node, 0, len(ts))
		for _, t := range ts {
			c := child(n, kindTarget, t.WWN)
			c.target = t
			if !config.HasTPGTags(n.fabric) {
				c.folded = true
				c.tpg = configfs.TPG{Target: t, Tag: 1}
			}
			out = append(out, c)
		}
		return out, nil
	case kindTarget:
		if n.folded {
			return sh.tpgChildren(n), nil
		}
		tpgs, err := l.TPGs(n.target)
		if err != nil {
			return nil, err
		}
		out := make([]*Node, 0, len(tpgs))
		for _, t := range tpgs {
			c := child(n, kindTPG, "tpg"+strconv.Itoa(t.Tag))
			c.tpg = t
			out = append(out, c)
		}
		return out, nil
	case kindTPG:
		return sh.tpgChildren(n), nil
	case kindLUNs:
		luns, err := l.LUNs(n.tpg)
		if err != nil {
			return nil, err
		}
		out := make([]*Node, 0, len(luns))
		for _, x := range luns {
			c := child(n, kindLUN, "lun"+strconv.Itoa(x.Index))
			c.lun = x
			out = append(out, c)
		}
		return out, nil
	case kindACLs:
		acls, err := l.ACLs(n.tpg)
		if err != nil {
			return nil, err
		}
		out := make([]*Node, 0, len(acls))
		for _, a := range acls {
			c := child(n, kindACL, a.NodeWWN)
			c.acl = a
			out = append(out, c)
		}
		return out, nil
	case kindACL:
		mls, err := l.MappedLUNs(n.acl)
		if err != nil {
			return nil, err
		}
		out := make([]*Node, 0, len(mls))
		for _, m := range mls {
			c := child(n, kindMappedLUN, "mapped_lun"+strconv.Itoa(m.Index))
			c.mappedLUN = m
			out = append(out, c)
		}
		return out, nil
	case kindPortals:
		ps, err := l.Portals(n.tpg)
		if err != nil {
			return nil, err
		}
		out := make([]*Node, 0, len(ps))
		for _, p := range ps {
			c := child(n, kindPortal, configfs.PortalName(p.IP, p.Port))
			c.portal = p
			out = append(out, c)
		}
		return out, nil
	}
	return nil, nil
}

// tpgChildren are the fixed children of a TPG (or of a folded target).
func (sh *Shell) tpgChildren(n *Node) []*Node {
	info, _ := configfs.LookupFabric(n.tpg.Fabric)
	var out []*Node
	if info.Has(configfs.FeatACLs) {
		out = append(out, child(n, kindACLs, "acls"))
	}
	out = append(out, child(n, kindLUNs, "luns"))
	if info.Has(configfs.FeatNPs) {
		out = append(out, child(n, kindPortals, "portals"))
	}
	return out
}

// fabricNames lists the fabrics shown at the root: those present in
// configfs and those whose module the kernel can load.
func (sh *Shell) fabricNames() ([]string, error) {
	present, err := sh.env.LIO.Fabrics()
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, f := range append(present, sh.env.AvailableFabrics...) {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out, nil
}

// userSubtypes lists the user backstore subtypes to show: those tcmsh
// serves and those of existing objects.
func (sh *Shell) userSubtypes() ([]string, error) {
	seen := map[string]bool{}
	for _, s := range sh.env.UserSubtypes {
		seen[s] = true
	}
	sos, err := sh.env.LIO.StorageObjects()
	if err != nil {
		return nil, err
	}
	for _, so := range sos {
		if so.Plugin != "user" {
			continue
		}
		if si, err := sh.env.LIO.StorageObjectInfo(so); err == nil && si.Subtype() != "" {
			seen[si.Subtype()] = true
		}
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out, nil
}

func (sh *Shell) dirNames(p string) ([]string, error) {
	es, err := sh.env.LIO.FS().ReadDir(p)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range es {
		if e.Kind == configfs.KindDir {
			out = append(out, e.Name)
		}
	}
	return out, nil
}

// root returns the root node.
func (sh *Shell) root() *Node { return &Node{kind: kindRoot, name: "/", path: "/"} }

// ErrNoPath is wrapped by errors for paths that do not exist.
var ErrNoPath = errors.New("no such path")

// Resolve turns a path (absolute, or relative to the current node; `..`,
// `.`, `@bookmark`) into a node.
func (sh *Shell) Resolve(p string) (*Node, error) {
	if name, ok := strings.CutPrefix(p, "@"); ok {
		name, rest, _ := strings.Cut(name, "/")
		target, found := sh.prefs.Bookmarks[name]
		if !found {
			return nil, usagef("no bookmark %q; bookmarks: %s", name, orNone(sortedKeys(sh.prefs.Bookmarks)))
		}
		p = path.Join(target, rest)
	}
	abs := sh.absPath(p)
	n := sh.root()
	if abs == "/" {
		return n, nil
	}
	for _, part := range strings.Split(strings.TrimPrefix(abs, "/"), "/") {
		next, err := sh.lookupChild(n, part)
		if err != nil {
			return nil, err
		}
		if next == nil {
			var names []string
			if kids, err := sh.Children(n); err == nil {
				for _, k := range kids {
					names = append(names, k.name)
				}
			}
			return nil, &PathError{Path: abs, Parent: n.path, Missing: part, Suggestion: suggest.Nearest(part, names)}
		}
		n = next
	}
	return n, nil
}

// lookupChild finds one child by name with a direct lookup (a stat or one
// small read), so that resolving a path costs the same however many
// siblings it has. It returns nil, nil when there is no such child.
func (sh *Shell) lookupChild(n *Node, name string) (*Node, error) {
	l := sh.env.LIO
	fixed := func(kids []*Node) *Node {
		for _, k := range kids {
			if k.name == name {
				return k
			}
		}
		return nil
	}
	switch n.kind {
	case kindRoot:
		if name == "backstores" {
			return child(n, kindBackstores, name), nil
		}
		if configfs.ValidName("fabric", name) != nil || name == "core" {
			return nil, nil
		}
		known := l.Exists(path.Join(configfs.Root, name))
		for _, f := range sh.env.AvailableFabrics {
			known = known || f == name
		}
		if !known {
			return nil, nil
		}
		c := child(n, kindFabric, name)
		c.fabric = name
		return c, nil
	case kindBackstores:
		if sub, ok := strings.CutPrefix(name, "user:"); ok {
			if sub == "" || configfs.ValidName("subtype", sub) != nil {
				return nil, nil
			}
			served := false
			for _, s := range sh.env.UserSubtypes {
				served = served || s == sub
			}
			if sh.env.Engine != nil {
				for _, s := range sh.env.Engine.Subtypes() {
					served = served || s == sub
				}
			}
			if !served {
				// Not served here: only shown when objects of it exist.
				kids, err := sh.Children(n)
				if err != nil {
					return nil, err
				}
				return fixed(kids), nil
			}
			c := child(n, kindBackstoreType, name)
			c.plugin, c.subtype = "user", sub
			return c, nil
		}
		for _, p := range configfs.Plugins {
			if p.Plugin != "user" && p.Name == name {
				c := child(n, kindBackstoreType, name)
				c.plugin = p.Plugin
				return c, nil
			}
		}
		return nil, nil
	case kindBackstoreType:
		if configfs.ValidName("storage object", name) != nil {
			return nil, nil
		}
		so, err := l.FindStorageObject(n.plugin, name)
		if err != nil {
			return nil, nil
		}
		if n.plugin == "user" {
			cfg, _ := l.ReadAttr(path.Join(so.Path(), "attrib", "dev_config"))
			if sub, _, _ := strings.Cut(cfg, "/"); sub != n.subtype {
				return nil, nil
			}
		}
		c := child(n, kindStorageObject, name)
		c.so = so
		return c, nil
	case kindALUA:
		if configfs.ValidName("ALUA group", name) != nil || !l.Exists(path.Join(n.so.Path(), "alua", name)) {
			return nil, nil
		}
		c := child(n, kindTGPT, name)
		c.gp = name
		return c, nil
	case kindFabric:
		if configfs.ValidName("target", name) != nil || name == "discovery_auth" {
			return nil, nil
		}
		t := configfs.Target{Fabric: n.fabric, WWN: name}
		if !l.Exists(t.Path()) {
			return nil, nil
		}
		c := child(n, kindTarget, name)
		c.target = t
		if !config.HasTPGTags(n.fabric) {
			c.folded = true
			c.tpg = configfs.TPG{Target: t, Tag: 1}
		}
		return c, nil
	case kindTarget:
		if n.folded {
			return fixed(sh.tpgChildren(n)), nil
		}
		tag, ok := indexSuffix(name, "tpg")
		if !ok {
			return nil, nil
		}
		tpg := configfs.TPG{Target: n.target, Tag: tag}
		if !l.Exists(tpg.Path()) {
			return nil, nil
		}
		c := child(n, kindTPG, name)
		c.tpg = tpg
		return c, nil
	case kindTPG:
		return fixed(sh.tpgChildren(n)), nil
	case kindLUNs:
		idx, ok := indexSuffix(name, "lun")
		if !ok {
			return nil, nil
		}
		li, found, err := l.LUNAt(n.tpg, idx)
		if err != nil || !found {
			return nil, err
		}
		c := child(n, kindLUN, name)
		c.lun = li
		return c, nil
	case kindACLs:
		if configfs.ValidName("ACL", name) != nil {
			return nil, nil
		}
		a := configfs.ACL{TPG: n.tpg, NodeWWN: name}
		if !l.Exists(a.Path()) {
			return nil, nil
		}
		c := child(n, kindACL, name)
		c.acl = a
		return c, nil
	case kindACL:
		idx, ok := indexSuffix(name, "mapped_lun")
		if !ok {
			return nil, nil
		}
		mi, found, err := l.MappedLUNAt(n.acl, idx)
		if err != nil || !found {
			return nil, err
		}
		c := child(n, kindMappedLUN, name)
		c.mappedLUN = mi
		return c, nil
	case kindPortals:
		host, port, err := net.SplitHostPort(name)
		if err != nil {
			return nil, nil
		}
		pn, err := strconv.Atoi(port)
		if err != nil {
			return nil, nil
		}
		p := configfs.Portal{TPG: n.tpg, IP: host, Port: pn}
		if !l.Exists(p.Path()) {
			return nil, nil
		}
		c := child(n, kindPortal, name)
		c.portal = p
		return c, nil
	case kindStorageObject:
		kids, _ := sh.Children(n)
		return fixed(kids), nil
	}
	return nil, nil
}

// indexSuffix parses "lun12" with prefix "lun" into 12.
func indexSuffix(name, prefix string) (int, bool) {
	s, ok := strings.CutPrefix(name, prefix)
	if !ok || s == "" || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0
}

// PathError is a path that does not resolve: Parent has no child Missing.
type PathError struct {
	Path, Parent, Missing, Suggestion string
}

func (e *PathError) Error() string {
	msg := fmt.Sprintf("no such path %s: %s has no %q", e.Path, e.Parent, e.Missing)
	if e.Suggestion != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", e.Suggestion)
	}
	return msg
}

// Is makes errors.Is(err, ErrNoPath) true.
func (e *PathError) Is(target error) bool { return target == ErrNoPath }

// absPath makes p absolute and clean against the current directory.
func (sh *Shell) absPath(p string) string {
	if p == "" {
		return sh.cwd
	}
	if !strings.HasPrefix(p, "/") {
		p = path.Join(sh.cwd, p)
	}
	return path.Clean(p)
}
