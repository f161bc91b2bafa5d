package shell

import "strconv"

// portalKind is a network portal (ip:port).
type portalKind struct{ baseKind }

var kindPortal nodeKind = portalKind{}

func (portalKind) name() string { return "portal" }

func (portalKind) configPath(n *Node) string {
	return n.portal.Path()
}

func (portalKind) commands(n *Node) []*Command {
	return []*Command{
		{Name: "enable_iser", Summary: "Turn iSER on or off on this portal.", Params: []Param{{Name: "boolean", Type: TypeBool, Required: true}}, Run: portalFlag("iser")},
		{Name: "enable_offload", Summary: "Turn offload (cxgbit) on or off on this portal.", Params: []Param{{Name: "boolean", Type: TypeBool, Required: true}}, Run: portalFlag("cxgbit")},
	}
}

func (portalKind) summary(_ *Shell, _ *Node) (string, Status) {
	return "OK", StatusOK
}

func (portalKind) info(sh *Shell, n *Node, out map[string]any) error {
	out["ip_address"] = n.portal.IP
	out["port"] = n.portal.Port
	return nil
}

func (portalKind) deleteCall(n *Node) (line, what string, ok bool) {
	return parentCall(n, "delete", Quote(n.portal.IP), strconv.Itoa(n.portal.Port)), "portal " + n.path, true
}

func (portalKind) createWords(_ *Shell, n *Node) []string {
	return createWords{"ip_address", n.portal.IP, "ip_port", strconv.Itoa(n.portal.Port)}.words()
}
