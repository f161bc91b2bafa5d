package shell

import (
	"path"
	"strconv"
	"strings"

	"github.com/tcmsh/tcmsh/configfs"
)

// tpgKind is a target portal group (tpgN): its acls, luns and portals, per the fabric's features.
type tpgKind struct{}

var kindTPG nodeKind = tpgKind{}

func (tpgKind) name() string { return "tpg" }

func (tpgKind) configPath(n *Node) string {
	return n.tpg.Path()
}

func (tpgKind) children(sh *Shell, n *Node) ([]*Node, error) {
	return sh.tpgChildren(n), nil
}

func (tpgKind) lookup(sh *Shell, n *Node, name string) (*Node, error) {
	return childNamed(name, sh.tpgChildren(n)), nil
}

func (tpgKind) commands(n *Node) []*Command {
	return tpgStateCommands(n)
}

func (tpgKind) summary(sh *Shell, n *Node) (string, Status) {
	return sh.tpgSummary(n)
}

func (tpgKind) info(sh *Shell, n *Node, out map[string]any) error {
	return tpgInfo(sh, n, out)
}

func (tpgKind) groups(n *Node, base string, g map[string]string) {
	g["attribute"] = path.Join(base, "attrib")
	g["parameter"] = path.Join(base, "param")
	g["auth"] = path.Join(base, "auth")
}

// tpgInfo is info of a TPG, and of a target (with its TPG 1 when folded).
func tpgInfo(sh *Shell, n *Node, out map[string]any) error {
	l := sh.env.LIO
	out["fabric"] = n.tpg.Fabric
	if n.kind == kindTarget {
		out["fabric"] = n.target.Fabric
		out["wwn"] = n.target.WWN
	}
	if n.folded || n.kind == kindTPG {
		out["tag"] = n.tpg.Tag
		if nx := l.Nexus(n.tpg); nx != "" {
			out["nexus"] = nx
		}
		if en, err := l.ReadAttr(path.Join(n.tpg.Path(), "enable")); err == nil {
			out["enabled"] = en == "1"
		}
	}
	return nil
}

// tpgChildren are the fixed children of a TPG (or of a folded target).
func (sh *Shell) tpgChildren(n *Node) []*Node {
	info, _ := configfs.LookupFabric(n.tpg.Fabric)
	var out []*Node
	if info.Has(configfs.FeatACLs) {
		out = append(out, child(n, kindACLs, "acls"))
	}
	out = append(out, child(n, kindLUNs, "luns"))
	if info.Has(configfs.FeatNPs) {
		out = append(out, child(n, kindPortals, "portals"))
	}
	return out
}

func (sh *Shell) tpgSummary(n *Node) (string, Status) {
	l := sh.env.LIO
	if hasNexus(n.tpg.Fabric) {
		if nx := l.Nexus(n.tpg); nx != "" {
			return nx, StatusOK
		}
		return "no nexus", StatusWarn
	}
	var parts []string
	st := StatusOK
	if en, err := l.ReadAttr(path.Join(n.tpg.Path(), "enable")); err == nil && en != "1" {
		parts = append(parts, "disabled")
		st = StatusOff
	}
	if g, err := l.ReadAttr(path.Join(n.tpg.Path(), "attrib", "generate_node_acls")); err == nil {
		if g == "1" {
			parts = append(parts, "gen-acls")
		} else {
			parts = append(parts, "no-gen-acls")
		}
	}
	if a, err := l.ReadAttr(path.Join(n.tpg.Path(), "attrib", "authentication")); err == nil {
		if a == "1" {
			parts = append(parts, "auth")
		} else {
			parts = append(parts, "no-auth")
		}
	}
	return strings.Join(parts, ", "), st
}

func tpgStateCommands(n *Node) []*Command {
	info, _ := configfs.LookupFabric(n.tpg.Fabric)
	if !info.Has(configfs.FeatEnable) {
		return nil
	}
	return []*Command{
		{Name: "enable", Summary: "Enable the TPG (initiators can log in).", Run: tpgEnable("1")},
		{Name: "disable", Summary: "Disable the TPG.", Run: tpgEnable("0")},
	}
}

func (tpgKind) deleteCall(n *Node) (line, what string, ok bool) {
	return parentCall(n, "delete", strconv.Itoa(n.tpg.Tag)), "TPG " + n.path + " and everything below it", true
}

func (tpgKind) createWords(_ *Shell, n *Node) []string {
	return createWords{"tag", strconv.Itoa(n.tpg.Tag)}.words()
}
