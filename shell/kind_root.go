package shell

import (
	"path"

	"github.com/tcmsh/tcmsh/configfs"
)

// rootKind is the root: the backstores and one node per fabric.
type rootKind struct{ baseKind }

var kindRoot nodeKind = rootKind{}

func (rootKind) name() string { return "root" }

func (rootKind) configPath(n *Node) string {
	return configfs.Root
}

func (rootKind) children(sh *Shell, n *Node) ([]*Node, error) {
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
}

func (rootKind) lookup(sh *Shell, n *Node, name string) (*Node, error) {
	l := sh.env.LIO
	if name == "backstores" {
		return child(n, kindBackstores, name), nil
	}
	if configfs.ValidName("fabric", name) != nil || name == "core" {
		return nil, nil
	}
	known := l.Exists(path.Join(configfs.Root, name))
	for _, f := range sh.availableFabrics() {
		known = known || f == name
	}
	if !known {
		return nil, nil
	}
	c := child(n, kindFabric, name)
	c.fabric = name
	return c, nil
}

func (rootKind) summary(_ *Shell, _ *Node) (string, Status) {
	return "", StatusNone
}

func (rootKind) info(sh *Shell, n *Node, out map[string]any) error {
	l := sh.env.LIO
	v, err := l.Version()
	if err != nil {
		return err
	}
	out["target_core"] = v
	out["kernel"] = sh.env.Kind
	return nil
}
