package shell

import (
	"path"
	"strings"

	"github.com/tcmsh/tcmsh/config"
	"github.com/tcmsh/tcmsh/configfs"
)

// fabricKind is a fabric module (iscsi, loopback, vhost, …): its targets.
type fabricKind struct{ baseKind }

var kindFabric nodeKind = fabricKind{}

func (fabricKind) name() string { return "fabric" }

func (fabricKind) configPath(n *Node) string {
	return path.Join(configfs.Root, n.fabric)
}

func (fabricKind) children(sh *Shell, n *Node) ([]*Node, error) {
	l := sh.env.LIO
	ts, err := l.Targets(n.fabric)
	if err != nil {
		return nil, err
	}
	out := make([]*Node, 0, len(ts))
	for _, t := range ts {
		c := child(n, kindTarget, t.WWN)
		c.target = t
		if !config.HasTPGTags(n.fabric) {
			c.folded = true
			c.tpg = configfs.TPG{Target: t, Tag: 1}
		}
		out = append(out, c)
	}
	return out, nil
}

func (fabricKind) lookup(sh *Shell, n *Node, name string) (*Node, error) {
	l := sh.env.LIO
	if configfs.ValidName("target", name) != nil || name == "discovery_auth" {
		return nil, nil
	}
	t := configfs.Target{Fabric: n.fabric, WWN: name}
	if !l.Exists(t.Path()) {
		return nil, nil
	}
	c := child(n, kindTarget, name)
	c.target = t
	if !config.HasTPGTags(n.fabric) {
		c.folded = true
		c.tpg = configfs.TPG{Target: t, Tag: 1}
	}
	return c, nil
}

func (fabricKind) commands(n *Node) []*Command {
	return []*Command{
		{Name: "create", Summary: "Create a target; the WWN is generated when not given. iSCSI also creates TPG 1; loopback and vhost create TPG 1 with an I_T nexus.",
			Params: []Param{{Name: "wwn", Type: TypeWWN}}, Run: cmdTargetCreate},
		{Name: "delete", Summary: "Delete a target and everything below it.",
			Params: []Param{{Name: "wwn", Type: TypeWWN, Required: true}}, Run: cmdTargetDelete},
	}
}

func (fabricKind) summary(sh *Shell, n *Node) (string, Status) {
	l := sh.env.LIO
	s, st := sh.countChildren(n, "Targets")
	if da, err := l.ReadAttr(path.Join(n.ConfigPath(), "discovery_auth", "enforce_discovery_auth")); err == nil && da == "1" {
		s = "discovery auth, " + s
	}
	return s, st
}

func (fabricKind) info(sh *Shell, n *Node, out map[string]any) error {
	l := sh.env.LIO
	info, known := configfs.LookupFabric(n.fabric)
	out["fabric"] = n.fabric
	out["loaded"] = l.Exists(n.ConfigPath())
	if known {
		out["module"] = info.Module
	}
	var types, feats []string
	for _, t := range info.WWNTypes {
		types = append(types, string(t))
	}
	for _, f := range info.Features {
		feats = append(feats, string(f))
	}
	out["wwn_types"] = strings.Join(types, ", ")
	out["features"] = strings.Join(feats, ", ")
	return nil
}

func (fabricKind) groups(n *Node, base string, g map[string]string) {
	g["discovery_auth"] = path.Join(base, "discovery_auth")
}
