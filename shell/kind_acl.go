package shell

import (
	"path"
	"strconv"
)

// aclKind is a node ACL (an initiator WWN): its mapped LUNs.
type aclKind struct{}

var kindACL nodeKind = aclKind{}

func (aclKind) name() string { return "acl" }

func (aclKind) configPath(n *Node) string {
	return n.acl.Path()
}

func (aclKind) children(sh *Shell, n *Node) ([]*Node, error) {
	l := sh.env.LIO
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
}

func (aclKind) lookup(sh *Shell, n *Node, name string) (*Node, error) {
	l := sh.env.LIO
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
}

func (aclKind) commands(n *Node) []*Command {
	return []*Command{
		{Name: "create", Summary: "Map a TPG LUN (by index, or by the backstore it exports) into this ACL.",
			Params: []Param{{Name: "mapped_lun", Type: TypeInt, Min: 0, Max: 65535, Required: true},
				{Name: "tpg_lun_or_backstore", Type: TypeNode, Required: true},
				{Name: "write_protect", Type: TypeBool, Default: "false"}}, Run: cmdMappedLUNCreate},
		{Name: "delete", Summary: "Delete a mapped LUN.", Params: []Param{{Name: "mapped_lun", Type: TypeInt, Min: 0, Max: 65535, Required: true}}, Run: cmdMappedLUNDelete},
		{Name: "tag", Summary: "Tag this node ACL.", Params: []Param{{Name: "new_tag", Type: TypeName, Required: true}}, Run: cmdACLSelfTag},
	}
}

func (aclKind) summary(sh *Shell, n *Node) (string, Status) {
	l := sh.env.LIO
	s, st := sh.countChildren(n, "Mapped LUNs")
	if tag, _ := l.ReadAttr(path.Join(n.acl.Path(), "tag")); tag != "" && tag != "NULL" {
		s = "tag: " + tag + ", " + s
	}
	return s, st
}

func (aclKind) info(sh *Shell, n *Node, out map[string]any) error {
	l := sh.env.LIO
	out["node_wwn"] = n.acl.NodeWWN
	if s, err := l.ReadAttr(path.Join(n.acl.Path(), "info")); err == nil {
		out["sessions"] = s
	}
	return nil
}

func (aclKind) groups(n *Node, base string, g map[string]string) {
	g["attribute"] = path.Join(base, "attrib")
	g["auth"] = path.Join(base, "auth")
	g["parameter"] = path.Join(base, "param")
}

func (aclKind) deleteCall(n *Node) (line, what string, ok bool) {
	return parentCall(n, "delete", Quote(n.name)), "ACL " + n.path, true
}

func (aclKind) createWords(_ *Shell, n *Node) []string {
	return createWords{"wwn", n.name, "add_mapped_luns", "false"}.words()
}
