package shell

import "strconv"

// mappedLUNKind is a mapped LUN of an ACL (mapped_lunN).
type mappedLUNKind struct{ baseKind }

var kindMappedLUN nodeKind = mappedLUNKind{}

func (mappedLUNKind) name() string { return "mapped_lun" }

func (mappedLUNKind) configPath(n *Node) string {
	return n.mappedLUN.Path()
}

func (mappedLUNKind) summary(sh *Shell, n *Node) (string, Status) {
	mode := "rw"
	if n.mappedLUN.WriteProtect {
		mode = "ro"
	}
	target := "lun" + strconv.Itoa(n.mappedLUN.TPGLUN)
	if n.mappedLUN.TPGLUN < 0 {
		return "not linked", StatusWarn
	}
	// Only the mapped LUN's own TPG LUN is read (its link names the
	// storage object): reading every LUN of the TPG for each mapped LUN
	// made a listing quadratic.
	sh.prefetchMappedLUNTargets(n)
	if x, found, err := sh.tpgLUN(n.mappedLUN.TPG, n.mappedLUN.TPGLUN); err == nil && found && x.Linked {
		target += " " + sh.storageKind(x.Storage) + "/" + x.Storage.Name
	}
	return target + " (" + mode + ")", StatusOK
}

func (mappedLUNKind) info(sh *Shell, n *Node, out map[string]any) error {
	out["index"] = n.mappedLUN.Index
	out["tpg_lun"] = n.mappedLUN.TPGLUN
	out["write_protect"] = n.mappedLUN.WriteProtect
	return nil
}

func (mappedLUNKind) groups(n *Node, base string, g map[string]string) {
	g["attribute"] = base
}

func (mappedLUNKind) deleteCall(n *Node) (line, what string, ok bool) {
	return parentCall(n, "delete", strconv.Itoa(n.mappedLUN.Index)), "mapped LUN " + n.path, true
}

func (mappedLUNKind) createWords(_ *Shell, n *Node) []string {
	m := n.mappedLUN
	return createWords{"mapped_lun", strconv.Itoa(m.Index), "tpg_lun_or_backstore", strconv.Itoa(m.TPGLUN),
		"write_protect", strconv.FormatBool(m.WriteProtect)}.words()
}
