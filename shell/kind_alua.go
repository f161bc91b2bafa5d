package shell

import (
	"path"

	"github.com/tcmsh/tcmsh/configfs"
)

// aluaKind is a storage object's alua/ directory: its ALUA target port groups.
type aluaKind struct{ baseKind }

var kindALUA nodeKind = aluaKind{}

func (aluaKind) name() string { return "alua" }

func (aluaKind) configPath(n *Node) string {
	return path.Join(n.so.Path(), "alua")
}

func (aluaKind) children(sh *Shell, n *Node) ([]*Node, error) {
	gps, err := sh.aluaGroupNames(n.so)
	if err != nil {
		return nil, err
	}
	out := make([]*Node, 0, len(gps))
	for _, g := range gps {
		c := child(n, kindTGPT, g)
		c.gp = g
		out = append(out, c)
	}
	return out, nil
}

func (aluaKind) lookup(sh *Shell, n *Node, name string) (*Node, error) {
	l := sh.env.LIO
	if configfs.ValidName("ALUA group", name) != nil || !l.Exists(path.Join(n.so.Path(), "alua", name)) {
		return nil, nil
	}
	c := child(n, kindTGPT, name)
	c.gp = name
	return c, nil
}

func (aluaKind) commands(n *Node) []*Command {
	return []*Command{
		{Name: "create", Summary: "Create an ALUA target port group on this storage object.",
			Params: []Param{{Name: "name", Type: TypeName, Required: true}, {Name: "tag", Type: TypeInt, Min: 1, Max: 65535, Required: true}}, Run: cmdALUACreate},
		{Name: "delete", Summary: "Delete an ALUA target port group.",
			Params: []Param{{Name: "name", Type: TypeName, Required: true}}, Run: cmdALUADelete},
	}
}

func (aluaKind) summary(sh *Shell, n *Node) (string, Status) {
	return sh.countChildren(n, "ALUA Groups")
}
