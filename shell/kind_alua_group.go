package shell

import (
	"path"
	"strings"

	"github.com/tcmsh/tcmsh/configfs"
)

// aluaGroupKind is an ALUA target port group of a storage object.
type aluaGroupKind struct{ baseKind }

var kindTGPT nodeKind = aluaGroupKind{}

func (aluaGroupKind) name() string { return "alua_group" }

func (aluaGroupKind) configPath(n *Node) string {
	return path.Join(n.so.Path(), "alua", n.gp)
}

func (aluaGroupKind) summary(sh *Shell, n *Node) (string, Status) {
	st, ok := sh.defaultALUAState(n)
	if !ok {
		st, _ = sh.env.LIO.ReadAttr(path.Join(n.ConfigPath(), "alua_access_state"))
	}
	return "ALUA state: " + aluaStateName(st), StatusOK
}

func (aluaGroupKind) groups(n *Node, base string, g map[string]string) {
	g["alua"] = base
}

func (aluaGroupKind) deleteCall(n *Node) (line, what string, ok bool) {
	return parentCall(n, "delete", Quote(n.name)), "ALUA group " + n.path, true
}

// createWords: the default group is made with its storage object.
func (aluaGroupKind) createWords(sh *Shell, n *Node) []string {
	if n.gp == configfs.DefaultALUAGroup {
		return nil
	}
	id, _ := sh.env.LIO.ReadAttr(path.Join(n.ConfigPath(), "tg_pt_gp_id"))
	return createWords{"name", n.gp, "tag", strings.TrimSpace(id)}.words()
}
