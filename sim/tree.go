package sim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/tcmsh/tcmsh/configfs"
)

// node is one configfs entry: a group (directory), an attribute or a
// symlink. Groups carry typ, which selects the kernel behaviour that
// applies to them (what mkdir makes inside, what their attributes do), and
// meta, the object state the kernel keeps outside any attribute.
type node struct {
	name   string
	kind   configfs.EntryKind
	perm   fs.FileMode
	typ    string
	def    bool // default group: created with its parent, never by mkdir
	value  string
	target string // symlinks: clean configfs path of the target group
	meta   map[string]string

	children map[string]*node
	parent   *node
	// links counts the symlinks pointing at this group; configfs refuses
	// to remove a link target (EBUSY). Recomputed on load, never stored.
	links int
}

func newDir(typ, name string, def bool) *node {
	return &node{name: name, kind: configfs.KindDir, perm: 0o755, typ: typ, def: def,
		children: map[string]*node{}, meta: map[string]string{}}
}

// add attaches child under n.
func (n *node) add(child *node) *node {
	child.parent = n
	n.children[child.name] = child
	return child
}

// group adds a default group of type typ.
func (n *node) group(typ, name string) *node { return n.add(newDir(typ, name, true)) }

// path is the node's configfs path ("target/core/...").
func (n *node) path() string {
	var parts []string
	for p := n; p != nil && p.parent != nil; p = p.parent {
		parts = append(parts, p.name)
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, "/")
}

// attr returns the value of the attribute name of group n.
func (n *node) attr(name string) string {
	if c := n.children[name]; c != nil {
		return c.value
	}
	return ""
}

// setAttr stores the value of an existing attribute.
func (n *node) setAttr(name, v string) {
	if c := n.children[name]; c != nil {
		c.value = v
	}
}

// sortedChildren lists children by name.
func (n *node) sortedChildren() []*node {
	out := make([]*node, 0, len(n.children))
	for _, c := range n.children {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// ancestor returns the nearest ancestor (or n itself) of type typ.
func (n *node) ancestor(typ string) *node {
	for p := n; p != nil; p = p.parent {
		if p.typ == typ {
			return p
		}
	}
	return nil
}

// Encoding of a tree (the snapshot payload). Every node: kind, name, typ,
// perm, flags, value, target, meta pairs, children. Strings and counts are
// uvarint-prefixed; decoding checks every length against what is left, so
// a corrupt or hostile file fails with an error instead of a panic or a
// huge allocation.

const maxDepth = 64

func encodeTree(n *node) []byte {
	var b []byte
	var enc func(n *node)
	putStr := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	enc = func(n *node) {
		b = append(b, byte(n.kind))
		putStr(n.name)
		putStr(n.typ)
		b = binary.AppendUvarint(b, uint64(n.perm))
		var flags byte
		if n.def {
			flags |= 1
		}
		b = append(b, flags)
		putStr(n.value)
		putStr(n.target)
		keys := make([]string, 0, len(n.meta))
		for k := range n.meta {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = binary.AppendUvarint(b, uint64(len(keys)))
		for _, k := range keys {
			putStr(k)
			putStr(n.meta[k])
		}
		kids := n.sortedChildren()
		b = binary.AppendUvarint(b, uint64(len(kids)))
		for _, c := range kids {
			enc(c)
		}
	}
	enc(n)
	return b
}

var errTreeCorrupt = errors.New("corrupt tree encoding")

type treeDecoder struct {
	b   []byte
	off int
}

func (d *treeDecoder) uvarint() (uint64, error) {
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		return 0, fmt.Errorf("%w: bad varint at byte %d", errTreeCorrupt, d.off)
	}
	d.off += n
	return v, nil
}

func (d *treeDecoder) byte1() (byte, error) {
	if d.off >= len(d.b) {
		return 0, fmt.Errorf("%w: truncated at byte %d", errTreeCorrupt, d.off)
	}
	c := d.b[d.off]
	d.off++
	return c, nil
}

func (d *treeDecoder) str() (string, error) {
	n, err := d.uvarint()
	if err != nil {
		return "", err
	}
	if n > uint64(len(d.b)-d.off) {
		return "", fmt.Errorf("%w: string of %d bytes at byte %d overruns", errTreeCorrupt, n, d.off)
	}
	s := string(d.b[d.off : d.off+int(n)])
	d.off += int(n)
	return s, nil
}

func decodeTree(b []byte) (*node, error) {
	d := &treeDecoder{b: b}
	root, err := d.node(0)
	if err != nil {
		return nil, err
	}
	if d.off != len(b) {
		return nil, fmt.Errorf("%w: %d trailing bytes", errTreeCorrupt, len(b)-d.off)
	}
	if root.kind != configfs.KindDir {
		return nil, fmt.Errorf("%w: root is not a directory", errTreeCorrupt)
	}
	if err := validateTree(root); err != nil {
		return nil, fmt.Errorf("%w: %v", errTreeCorrupt, err)
	}
	return root, nil
}

func (d *treeDecoder) node(depth int) (*node, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: nesting deeper than %d", errTreeCorrupt, maxDepth)
	}
	kind, err := d.byte1()
	if err != nil {
		return nil, err
	}
	if kind > byte(configfs.KindLink) {
		return nil, fmt.Errorf("%w: unknown entry kind %d at byte %d", errTreeCorrupt, kind, d.off-1)
	}
	n := &node{kind: configfs.EntryKind(kind)}
	if n.name, err = d.str(); err != nil {
		return nil, err
	}
	if depth > 0 && (n.name == "" || strings.Contains(n.name, "/") || n.name == "." || n.name == "..") {
		return nil, fmt.Errorf("%w: bad entry name %q", errTreeCorrupt, n.name)
	}
	if n.typ, err = d.str(); err != nil {
		return nil, err
	}
	perm, err := d.uvarint()
	if err != nil {
		return nil, err
	}
	n.perm = fs.FileMode(perm) & fs.ModePerm
	flags, err := d.byte1()
	if err != nil {
		return nil, err
	}
	n.def = flags&1 != 0
	if n.value, err = d.str(); err != nil {
		return nil, err
	}
	if n.target, err = d.str(); err != nil {
		return nil, err
	}
	nmeta, err := d.uvarint()
	if err != nil {
		return nil, err
	}
	if nmeta > uint64(len(d.b)-d.off) {
		return nil, fmt.Errorf("%w: %d meta entries cannot fit", errTreeCorrupt, nmeta)
	}
	n.meta = make(map[string]string, nmeta)
	for i := uint64(0); i < nmeta; i++ {
		k, err := d.str()
		if err != nil {
			return nil, err
		}
		v, err := d.str()
		if err != nil {
			return nil, err
		}
		n.meta[k] = v
	}
	nkids, err := d.uvarint()
	if err != nil {
		return nil, err
	}
	if nkids > uint64(len(d.b)-d.off) {
		return nil, fmt.Errorf("%w: %d children cannot fit", errTreeCorrupt, nkids)
	}
	if n.kind == configfs.KindDir {
		n.children = make(map[string]*node, nkids)
	} else if nkids > 0 {
		return nil, fmt.Errorf("%w: %s %q has children", errTreeCorrupt, n.kind, n.name)
	}
	for i := uint64(0); i < nkids; i++ {
		c, err := d.node(depth + 1)
		if err != nil {
			return nil, err
		}
		if _, dup := n.children[c.name]; dup {
			return nil, fmt.Errorf("%w: duplicate entry %q", errTreeCorrupt, c.name)
		}
		n.add(c)
	}
	return n, nil
}
