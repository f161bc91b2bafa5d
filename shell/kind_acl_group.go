package shell

import (
	"context"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/tcmsh/tcmsh/configfs"
)

// aclGroupKind is a tag group, as targetcli-fb shows node ACLs that share
// a tag: one node named by the tag in place of its members. Its mapped
// LUNs and settings are the first member's (the members are kept alike);
// what is created, deleted or set on it is done on every member. A
// member stays reachable by its WWN.
type aclGroupKind struct{}

var kindACLGroup nodeKind = aclGroupKind{}

func (aclGroupKind) name() string { return "acl_group" }

func (aclGroupKind) configPath(n *Node) string { return n.acl.Path() }

func (aclGroupKind) children(sh *Shell, n *Node) ([]*Node, error) {
	return kindACL.children(sh, n)
}

func (aclGroupKind) lookup(sh *Shell, n *Node, name string) (*Node, error) {
	return kindACL.lookup(sh, n, name)
}

func (aclGroupKind) commands(n *Node) []*Command {
	return []*Command{
		{Name: "create", Summary: "Map a TPG LUN (by index, or by the backstore it exports) into every ACL of the group.",
			Params: []Param{{Name: "mapped_lun", Type: TypeInt, Min: 0, Max: 65535, Required: true},
				{Name: "tpg_lun_or_backstore", Type: TypeNode, Required: true},
				{Name: "write_protect", Type: TypeBool, Default: "false"}}, Run: forEachMember(cmdMappedLUNCreate)},
		{Name: "delete", Summary: "Delete a mapped LUN in every ACL of the group.",
			Params: []Param{{Name: "mapped_lun", Type: TypeInt, Min: 0, Max: 65535, Required: true}}, Run: forEachMember(cmdMappedLUNDelete)},
		{Name: "tag", Summary: "Give the group's ACLs another tag.", Params: []Param{{Name: "new_tag", Type: TypeName, Required: true}}, Run: forEachMember(cmdACLSelfTag)},
	}
}

func (aclGroupKind) summary(sh *Shell, n *Node) (string, Status) {
	s, st := sh.countChildren(n, "Mapped LUNs")
	return "tag group: " + strconv.Itoa(len(n.members)) + " ACLs, " + s, st
}

func (aclGroupKind) info(sh *Shell, n *Node, out map[string]any) error {
	wwns := make([]string, len(n.members))
	for i, m := range n.members {
		wwns[i] = m.NodeWWN
	}
	out["tag"] = n.name
	out["members"] = wwns
	return nil
}

func (aclGroupKind) groups(n *Node, base string, g map[string]string) {
	kindACL.groups(n, base, g)
}

func (aclGroupKind) deleteCall(n *Node) (line, what string, ok bool) {
	return parentCall(n, "delete", Quote(n.name)), "the ACLs tagged " + n.name, true
}

func (aclGroupKind) createWords(*Shell, *Node) []string { return nil }

// forEachMember runs an ACL command on every member of a tag group, each
// as its own ACL node.
func forEachMember(run func(context.Context, *Shell, *Node, Args) error) func(context.Context, *Shell, *Node, Args) error {
	return func(ctx context.Context, sh *Shell, n *Node, a Args) error {
		for _, m := range n.members {
			mn := child(n, kindACL, m.NodeWWN)
			mn.path = path.Join(path.Dir(n.path), m.NodeWWN)
			mn.acl, mn.members = m, nil
			if err := run(ctx, sh, mn, a); err != nil {
				return err
			}
		}
		return nil
	}
}

// aclTag is an ACL's tag, "" when it has none.
func (sh *Shell) aclTag(a configfs.ACL) string {
	t, err := sh.env.LIO.ReadAttr(path.Join(a.Path(), "tag"))
	t = strings.TrimSpace(t)
	if err != nil || t == "NULL" {
		return ""
	}
	return t
}

// tagged lists the ACLs of the TPG that wwnOrTag names: the ACL of that
// WWN, or every ACL with that tag (sorted by WWN).
func (sh *Shell) tagged(n *Node, wwnOrTag string) ([]configfs.ACL, error) {
	acl := configfs.ACL{TPG: n.tpg, NodeWWN: wwnOrTag}
	if configfs.ValidName("ACL", wwnOrTag) == nil && sh.env.LIO.Exists(acl.Path()) {
		return []configfs.ACL{acl}, nil
	}
	all, err := sh.env.LIO.ACLs(n.tpg)
	if err != nil {
		return nil, err
	}
	var out []configfs.ACL
	for _, a := range all {
		if sh.aclTag(a) == wwnOrTag {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NodeWWN < out[j].NodeWWN })
	if len(out) == 0 {
		return nil, sh.missingChild(n, wwnOrTag)
	}
	return out, nil
}

// groupNode is the node of tag under the acls node n.
func groupNode(n *Node, tag string, members []configfs.ACL) *Node {
	c := child(n, kindACLGroup, tag)
	c.acl, c.members = members[0], members
	return c
}

// groupMemberDirs is dir, a configuration group of node n, followed by the
// same group of the other members when n is a tag group.
func groupMemberDirs(n *Node, dir string) []string {
	out := []string{dir}
	if n.kind != kindACLGroup {
		return out
	}
	rel := strings.TrimPrefix(dir, n.acl.Path())
	for _, m := range n.members[1:] {
		out = append(out, m.Path()+rel)
	}
	return out
}
