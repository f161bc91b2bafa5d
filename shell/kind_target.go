package shell

import (
	"path"
	"strconv"

	"github.com/tcmsh/tcmsh/configfs"
)

// targetKind is a target (a WWN under a fabric); for fabrics without TPG tags it stands for its TPG 1 ("folded").
type targetKind struct{}

var kindTarget nodeKind = targetKind{}

func (targetKind) name() string { return "target" }

func (targetKind) configPath(n *Node) string {
	if n.folded {
		return n.tpg.Path()
	}
	return n.target.Path()
}

func (targetKind) children(sh *Shell, n *Node) ([]*Node, error) {
	l := sh.env.LIO
	if n.folded {
		return sh.tpgChildren(n), nil
	}
	tpgs, err := l.TPGs(n.target)
	if err != nil {
		return nil, err
	}
	out := make([]*Node, 0, len(tpgs))
	for _, t := range tpgs {
		c := child(n, kindTPG, "tpg"+strconv.Itoa(t.Tag))
		c.tpg = t
		out = append(out, c)
	}
	return out, nil
}

func (targetKind) lookup(sh *Shell, n *Node, name string) (*Node, error) {
	l := sh.env.LIO
	if n.folded {
		return childNamed(name, sh.tpgChildren(n)), nil
	}
	tag, ok := indexSuffix(name, "tpg")
	if !ok {
		return nil, nil
	}
	tpg := configfs.TPG{Target: n.target, Tag: tag}
	if !l.Exists(tpg.Path()) {
		return nil, nil
	}
	c := child(n, kindTPG, name)
	c.tpg = tpg
	return c, nil
}

func (targetKind) commands(n *Node) []*Command {
	if n.folded {
		return tpgStateCommands(n)
	}
	return []*Command{
		{Name: "create", Summary: "Create a TPG; the tag is the lowest free one when not given.",
			Params: []Param{{Name: "tag", Type: TypeInt, Min: 1, Max: 65535}}, Run: cmdTPGCreate},
		{Name: "delete", Summary: "Delete a TPG and everything below it.",
			Params: []Param{{Name: "tag", Type: TypeInt, Min: 1, Max: 65535, Required: true}}, Run: cmdTPGDelete},
	}
}

func (targetKind) summary(sh *Shell, n *Node) (string, Status) {
	l := sh.env.LIO
	if n.folded {
		if nx := l.Nexus(n.tpg); nx != "" {
			return nx, StatusOK
		}
		if hasNexus(n.tpg.Fabric) {
			return "no nexus", StatusWarn
		}
		return "", StatusNone
	}
	return sh.countChildren(n, "TPGs")
}

func (targetKind) info(sh *Shell, n *Node, out map[string]any) error {
	return tpgInfo(sh, n, out)
}

func (targetKind) groups(n *Node, base string, g map[string]string) {
	if n.folded {
		g["attribute"] = path.Join(base, "attrib")
		g["parameter"] = path.Join(base, "param")
		g["auth"] = path.Join(base, "auth")
	}
}

func (targetKind) deleteCall(n *Node) (line, what string, ok bool) {
	return parentCall(n, "delete", Quote(n.name)), "target " + n.path + " and everything below it", true
}

func (targetKind) createWords(_ *Shell, n *Node) []string { return createWords{"wwn", n.name}.words() }
