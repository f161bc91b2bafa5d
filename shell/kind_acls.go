package shell

import (
	"path"
	"sort"

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
	// Tagged ACLs show as one node per tag, as in targetcli-fb.
	out := make([]*Node, 0, len(acls))
	groups := map[string][]configfs.ACL{}
	for _, a := range acls {
		if tag := sh.aclTag(a); tag != "" {
			groups[tag] = append(groups[tag], a)
			continue
		}
		c := child(n, kindACL, a.NodeWWN)
		c.acl = a
		out = append(out, c)
	}
	for tag, members := range groups {
		sort.Slice(members, func(i, j int) bool { return members[i].NodeWWN < members[j].NodeWWN })
		out = append(out, groupNode(n, tag, members))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

func (aclsKind) lookup(sh *Shell, n *Node, name string) (*Node, error) {
	l := sh.env.LIO
	if configfs.ValidName("ACL", name) != nil {
		return nil, nil
	}
	a := configfs.ACL{TPG: n.tpg, NodeWWN: name}
	if !l.Exists(a.Path()) {
		// A tag group's name.
		if members, err := sh.tagged(n, name); err == nil {
			return groupNode(n, name, members), nil
		}
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
		{Name: "delete", Summary: "Delete a node ACL, or every ACL of a tag.", Params: []Param{{Name: "wwn", Type: TypeString, Required: true, Help: "an initiator WWN or a tag"}}, Run: cmdACLDelete},
		{Name: "tag", Summary: "Tag node ACLs (a WWN, or every ACL of a tag); joining a tag takes its mapped LUNs, auth, attributes and parameters, as targetcli-fb does.",
			Params: []Param{{Name: "wwn_or_tag", Type: TypeString, Required: true}, {Name: "new_tag", Type: TypeName, Required: true}}, Run: cmdACLTag},
		{Name: "untag", Summary: "Remove the tag of an ACL or of every ACL of a tag; they keep their settings.", Params: []Param{{Name: "wwn_or_tag", Type: TypeString, Required: true}}, Run: cmdACLUntag},
	}
}

func (aclsKind) summary(sh *Shell, n *Node) (string, Status) {
	return sh.countChildren(n, "ACLs")
}
