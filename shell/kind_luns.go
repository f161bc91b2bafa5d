package shell

import (
	"path"
	"strconv"
)

// lunsKind is a TPG's luns/: its LUNs.
type lunsKind struct{ baseKind }

var kindLUNs nodeKind = lunsKind{}

func (lunsKind) name() string { return "luns" }

func (lunsKind) configPath(n *Node) string {
	return path.Join(n.tpg.Path(), "lun")
}

func (lunsKind) children(sh *Shell, n *Node) ([]*Node, error) {
	luns, err := sh.tpgLUNs(n.tpg)
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
}

func (lunsKind) lookup(sh *Shell, n *Node, name string) (*Node, error) {
	l := sh.env.LIO
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
}

func (lunsKind) commands(n *Node) []*Command {
	return []*Command{
		{Name: "create", Summary: "Export a storage object as a LUN: a /backstores path, or a file or block device for which a backstore is made.",
			Params: []Param{{Name: "storage_object", Type: TypeNode, Required: true},
				{Name: "lun", Type: TypeInt, Min: 0, Max: 65535, Prefix: "lun", Help: "the LUN index (7 or lun7); the lowest free one when not given"},
				{Name: "add_mapped_luns", Type: TypeBool, Help: "map the LUN in every ACL (default: the auto_add_mapped_luns preference)"}},
			Run: cmdLUNCreate},
		{Name: "delete", Summary: "Delete a LUN and its mappings in ACLs.",
			Params: []Param{{Name: "lun", Type: TypeInt, Min: 0, Max: 65535, Prefix: "lun", Required: true}}, Run: cmdLUNDelete},
	}
}

func (lunsKind) summary(sh *Shell, n *Node) (string, Status) {
	return sh.countChildren(n, "LUNs")
}
