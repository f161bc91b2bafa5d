package shell

import (
	"fmt"
	"strings"

	"github.com/tcmsh/tcmsh/configfs"
)

// Status tells how a summary should be coloured.
type Status int

const (
	StatusNone Status = iota
	StatusOK
	StatusOff
	StatusWarn
)

// Summary is the bracketed text targetcli shows after a node, with a status
// for colour.
func (sh *Shell) Summary(n *Node) (string, Status) { return n.kind.summary(sh, n) }

// countChildren is a summary that counts a node's children.
func (sh *Shell) countChildren(n *Node, label string) (string, Status) {
	kids, err := sh.Children(n)
	if err != nil {
		return "error: " + err.Error(), StatusWarn
	}
	return fmt.Sprintf("%s: %d", label, len(kids)), StatusNone
}

func hasNexus(fabric string) bool {
	info, _ := configfs.LookupFabric(fabric)
	return info.Has(configfs.FeatNexus)
}

func aluaStateName(s string) string {
	switch s {
	case "0":
		return "Active/optimized"
	case "1":
		return "Active/non-optimized"
	case "2":
		return "Standby"
	case "3":
		return "Unavailable"
	case "4":
		return "LBA Dependent"
	case "14":
		return "Offline"
	case "15":
		return "Transitioning"
	}
	return s
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
