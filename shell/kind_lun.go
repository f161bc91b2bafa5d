package shell

import (
	"fmt"
	"path"
	"strconv"
	"strings"
)

// lunKind is a TPG LUN (lunN): the link to the storage object it exports.
type lunKind struct{ baseKind }

var kindLUN nodeKind = lunKind{}

func (lunKind) name() string { return "lun" }

func (lunKind) configPath(n *Node) string {
	return n.lun.Path()
}

func (lunKind) summary(sh *Shell, n *Node) (string, Status) {
	l := sh.env.LIO
	if !n.lun.Linked {
		return "not linked", StatusWarn
	}
	si, err := sh.storageInfo(n.lun.Storage)
	if err != nil {
		return "error: " + err.Error(), StatusWarn
	}
	gp, _ := l.ReadAttr(path.Join(n.lun.Path(), "alua_tg_pt_gp"))
	gp = firstLine(strings.TrimPrefix(gp, "TG Port Alias: "))
	s := fmt.Sprintf("%s/%s", si.Kind(), si.Object.Name)
	if si.Dev != "" {
		s += " (" + si.Dev + ")"
	}
	if gp != "" {
		s += " (" + gp + ")"
	}
	return s, StatusOK
}

func (lunKind) info(sh *Shell, n *Node, out map[string]any) error {
	out["index"] = n.lun.Index
	if n.lun.Linked {
		out["storage_object"] = n.lun.Storage.Path()
		out["alias"] = n.lun.Alias
	}
	return nil
}

func (lunKind) groups(n *Node, base string, g map[string]string) {
	g["alua"] = base
}

func (lunKind) deleteCall(n *Node) (line, what string, ok bool) {
	return parentCall(n, "delete", strconv.Itoa(n.lun.Index)), "LUN " + n.path + " and its mappings", true
}

// createWords make one object: the LUN's mappings have their own lines.
func (lunKind) createWords(sh *Shell, n *Node) []string {
	so := ""
	if n.lun.Linked {
		if si, err := sh.env.LIO.StorageObjectInfo(n.lun.Storage); err == nil {
			so = "/backstores/" + si.Kind() + "/" + si.Object.Name
		}
	}
	return createWords{"storage_object", so, "lun", strconv.Itoa(n.lun.Index), "add_mapped_luns", "false"}.words()
}
