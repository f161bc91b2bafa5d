package sim

import (
	"io/fs"
	"strconv"
	"syscall"

	"github.com/tcmsh/tcmsh/configfs"
)

// attrDef is one configfs attribute as a kernel object type declares it:
// its permissions, its value when the group is made, and what reading and
// writing it do. A nil show prints the stored value and a newline; a nil
// store leaves the stored value to whatever the write was.
type attrDef struct {
	name  string
	perm  fs.FileMode
	init  func(k *Kernel, dir *node) string
	show  func(k *Kernel, dir *node, a *node) (string, error)
	store func(k *Kernel, dir *node, a *node, v string) error
}

// registry maps a group type to the attributes it carries, in the kernel's
// order.
var registry = map[string][]attrDef{}

func register(typ string, defs ...attrDef) { registry[typ] = append(registry[typ], defs...) }

func findDef(typ, name string) *attrDef {
	defs := registry[typ]
	for i := range defs {
		if defs[i].name == name {
			return &defs[i]
		}
	}
	return nil
}

// populate creates the attributes of a new group.
func (k *Kernel) populate(dir *node) {
	for _, d := range registry[dir.typ] {
		v := ""
		if d.init != nil {
			v = d.init(k, dir)
		}
		dir.add(&node{name: d.name, kind: configfs.KindAttr, perm: d.perm, value: v})
	}
}

// Builders for the common attribute shapes.

func constInit(v string) func(*Kernel, *node) string {
	return func(*Kernel, *node) string { return v }
}

// roAttr is a read-only attribute whose text show computes.
func roAttr(name string, show func(k *Kernel, dir *node) string) attrDef {
	return attrDef{name: name, perm: 0o444, show: func(k *Kernel, dir *node, _ *node) (string, error) {
		return show(k, dir), nil
	}}
}

// roConst is a read-only attribute with fixed text (newline added).
func roConst(name, v string) attrDef {
	return attrDef{name: name, perm: 0o444, init: constInit(v)}
}

// rangeCheck is a check run after parsing; it returns an errno or nil.
type rangeCheck func(k *Kernel, dir *node, v int64) error

func between(lo, hi int64) rangeCheck {
	return func(_ *Kernel, _ *node, v int64) error {
		if v < lo || v > hi {
			return syscall.EINVAL
		}
		return nil
	}
}

// u32Attr is a 0644 attribute parsed with kstrtou32 and checked.
func u32Attr(name string, def int64, checks ...rangeCheck) attrDef {
	return attrDef{name: name, perm: 0o644, init: constInit(strconv.FormatInt(def, 10)),
		store: func(k *Kernel, dir *node, a *node, v string) error {
			x, err := kstrtou(v, 1<<32-1)
			if err != nil {
				return err
			}
			for _, c := range checks {
				if err := c(k, dir, int64(x)); err != nil {
					return err
				}
			}
			a.value = strconv.FormatUint(x, 10)
			return nil
		}}
}

// s32Attr is a 0644 attribute parsed with kstrtos32 and checked.
func s32Attr(name string, def int64, checks ...rangeCheck) attrDef {
	return attrDef{name: name, perm: 0o644, init: constInit(strconv.FormatInt(def, 10)),
		store: func(k *Kernel, dir *node, a *node, v string) error {
			x, err := kstrtos(v, -1<<31, 1<<31-1)
			if err != nil {
				return err
			}
			for _, c := range checks {
				if err := c(k, dir, x); err != nil {
					return err
				}
			}
			a.value = strconv.FormatInt(x, 10)
			return nil
		}}
}

// boolAttr is a 0644 attribute parsed with kstrtobool, shown as 0 or 1.
func boolAttr(name string, def bool, checks ...rangeCheck) attrDef {
	d := "0"
	if def {
		d = "1"
	}
	return attrDef{name: name, perm: 0o644, init: constInit(d),
		store: func(k *Kernel, dir *node, a *node, v string) error {
			b, err := kstrtobool(v)
			if err != nil {
				return err
			}
			x := int64(0)
			if b {
				x = 1
			}
			for _, c := range checks {
				if err := c(k, dir, x); err != nil {
					return err
				}
			}
			a.value = strconv.FormatInt(x, 10)
			return nil
		}}
}

// atoi reads a stored decimal value (0 when unset).
func atoi(s string) int64 {
	v, _ := strconv.ParseInt(s, 10, 64)
	return v
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
