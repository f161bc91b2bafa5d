package shell

import (
	"strings"

	"github.com/tcmsh/tcmsh/configfs"
)

// backstoresKind is /backstores: one node per backstore type.
type backstoresKind struct{ baseKind }

var kindBackstores nodeKind = backstoresKind{}

func (backstoresKind) name() string { return "backstores" }

func (backstoresKind) children(sh *Shell, n *Node) ([]*Node, error) {
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
}

func (backstoresKind) lookup(sh *Shell, n *Node, name string) (*Node, error) {
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
			return childNamed(name, kids), nil
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
}

func (backstoresKind) summary(_ *Shell, _ *Node) (string, Status) {
	return "...", StatusNone
}
