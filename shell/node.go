package shell

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/internal/suggest"
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
	members   []configfs.ACL // kindACLGroup: the ACLs of the tag, acl the first
	mappedLUN configfs.MappedLUNInfo
	portal    configfs.Portal
	gp        string // ALUA group name
}

// Kind names what the node stands for (root, storage_object, target, tpg,
// lun, acl, …), for the TUI's icons and layouts.
func (n *Node) Kind() string { return n.kind.name() }

// ConfigPath is the configfs directory the node stands for ("" for
// grouping nodes such as /backstores).
func (n *Node) ConfigPath() string { return n.kind.configPath(n) }

// Name is the node's last path element.
func (n *Node) Name() string { return n.name }

// Path is the node's targetcli path.
func (n *Node) Path() string { return n.path }

func child(parent *Node, kind nodeKind, name string) *Node {
	c := *parent
	c.kind, c.name = kind, name
	c.path = path.Join(parent.path, name)
	return &c
}

// Children lists a node's children in display order.
func (sh *Shell) Children(n *Node) ([]*Node, error) {
	if sh.memo == nil {
		return n.kind.children(sh, n)
	}
	// While a listing runs, each node's children are read once: its
	// summary's count and the tree below it share them.
	if kids, ok := sh.memo.kids[n.path]; ok {
		return kids, nil
	}
	kids, err := n.kind.children(sh, n)
	if err == nil {
		sh.memo.kids[n.path] = kids
	}
	return kids, err
}

// availableFabrics is Env.AvailableFabrics, or what LoadableFabrics says.
func (sh *Shell) availableFabrics() []string {
	sh.fabrics.Do(func() {
		sh.fabricNamed = sh.env.AvailableFabrics
		if sh.env.LoadableFabrics != nil {
			sh.fabricNamed = sh.env.LoadableFabrics()
		}
	})
	return sh.fabricNamed
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
	for _, f := range append(present, sh.availableFabrics()...) {
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
		if si, err := sh.storageInfo(so); err == nil && si.Subtype() != "" {
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
	if c := sh.resolved[abs]; c != nil {
		return c, nil
	}
	for _, part := range strings.Split(strings.TrimPrefix(abs, "/"), "/") {
		if c := sh.resolved[path.Join(n.path, part)]; c != nil {
			n = c
			continue
		}
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
		if sh.resolved != nil {
			sh.resolved[n.path] = n
		}
	}
	return n, nil
}

// lookupChild finds one child by name with a direct lookup (a stat or one
// small read), so that resolving a path costs the same however many
// siblings it has. It returns nil, nil when there is no such child.
func (sh *Shell) lookupChild(n *Node, name string) (*Node, error) { return n.kind.lookup(sh, n, name) }

// childNamed is the node of kids called name, or nil.
func childNamed(name string, kids []*Node) *Node {
	for _, k := range kids {
		if k.name == name {
			return k
		}
	}
	return nil
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
