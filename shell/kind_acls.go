package shell

import (
	"path"

	"github.com/tcmsh/tcmsh/configfs"
)

// aclsKind is a TPG's acls/: its node ACLs.
type aclsKind struct{ baseKind }

var kindACLs nodeKind = aclsKind{}

func (aclsKind) name() string { return "acls" }

func (aclsKind) configPath(n *Node) string {
	return path.Join(n.tpg.Path(), "acls")
}

func (aclsKind) children(sh *Shell, n *Node) ([]*Node, error) {
	l := sh.env.LIO
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
}

func (aclsKind) lookup(sh *Shell, n *Node, name string) (*Node, error) {
	l := sh.env.LIO
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
}

func (aclsKind) commands(n *Node) []*Command {
	return []*Command{
		{Name: "create", Summary: "Create a node ACL for an initiator.",
			Params: []Param{{Name: "wwn", Type: TypeWWN, Required: true},
				{Name: "add_mapped_luns", Type: TypeBool, Help: "map every LUN of the TPG (default: the auto_add_mapped_luns preference)"}}, Run: cmdACLCreate},
		{Name: "delete", Summary: "Delete a node ACL.", Params: []Param{{Name: "wwn", Type: TypeWWN, Required: true}}, Run: cmdACLDelete},
		{Name: "tag", Summary: "Tag a node ACL (ACLs with the same tag share their settings in the kernel).",
			Params: []Param{{Name: "wwn_or_tag", Type: TypeString, Required: true}, {Name: "new_tag", Type: TypeName, Required: true}}, Run: cmdACLTag},
		{Name: "untag", Summary: "Remove a node ACL's tag.", Params: []Param{{Name: "wwn_or_tag", Type: TypeString, Required: true}}, Run: cmdACLUntag},
	}
}

func (aclsKind) summary(sh *Shell, n *Node) (string, Status) {
	return sh.countChildren(n, "ACLs")
}
