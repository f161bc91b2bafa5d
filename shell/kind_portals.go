package shell

import (
	"net"
	"path"
	"strconv"

	"github.com/tcmsh/tcmsh/configfs"
)

// portalsKind is a TPG's portals/ (np/ in configfs): its network portals.
type portalsKind struct{ baseKind }

var kindPortals nodeKind = portalsKind{}

func (portalsKind) name() string { return "portals" }

func (portalsKind) configPath(n *Node) string {
	return path.Join(n.tpg.Path(), "np")
}

func (portalsKind) children(sh *Shell, n *Node) ([]*Node, error) {
	l := sh.env.LIO
	ps, err := l.Portals(n.tpg)
	if err != nil {
		return nil, err
	}
	out := make([]*Node, 0, len(ps))
	for _, p := range ps {
		c := child(n, kindPortal, configfs.PortalName(p.IP, p.Port))
		c.portal = p
		out = append(out, c)
	}
	return out, nil
}

func (portalsKind) lookup(sh *Shell, n *Node, name string) (*Node, error) {
	l := sh.env.LIO
	host, port, err := net.SplitHostPort(name)
	if err != nil {
		return nil, nil
	}
	pn, err := strconv.Atoi(port)
	if err != nil {
		return nil, nil
	}
	p := configfs.Portal{TPG: n.tpg, IP: host, Port: pn}
	if !l.Exists(p.Path()) {
		return nil, nil
	}
	c := child(n, kindPortal, name)
	c.portal = p
	return c, nil
}

func (portalsKind) commands(n *Node) []*Command {
	return []*Command{
		{Name: "create", Summary: "Create a network portal.",
			Params: []Param{{Name: "ip_address", Type: TypeString, Default: "0.0.0.0"}, {Name: "ip_port", Type: TypeInt, Min: 1, Max: 65535, Default: "3260"}}, Run: cmdPortalCreate},
		{Name: "delete", Summary: "Delete a network portal.",
			Params: []Param{{Name: "ip_address", Type: TypeString, Required: true}, {Name: "ip_port", Type: TypeInt, Min: 1, Max: 65535, Required: true}}, Run: cmdPortalDelete},
	}
}

func (portalsKind) summary(sh *Shell, n *Node) (string, Status) {
	return sh.countChildren(n, "Portals")
}
