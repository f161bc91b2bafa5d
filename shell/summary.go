package shell

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/internal/size"
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
func (sh *Shell) Summary(n *Node) (string, Status) {
	l := sh.env.LIO
	count := func(label string) (string, Status) {
		kids, err := sh.Children(n)
		if err != nil {
			return "error: " + err.Error(), StatusWarn
		}
		return fmt.Sprintf("%s: %d", label, len(kids)), StatusNone
	}
	switch n.kind {
	case kindRoot:
		return "", StatusNone
	case kindBackstores:
		return "...", StatusNone
	case kindBackstoreType:
		return count("Storage Objects")
	case kindStorageObject:
		si, err := l.StorageObjectInfo(n.so)
		if err != nil {
			return "error: " + err.Error(), StatusWarn
		}
		return storageSummary(si)
	case kindALUA:
		return count("ALUA Groups")
	case kindTGPT:
		st, _ := l.ReadAttr(path.Join(n.ConfigPath(), "alua_access_state"))
		return "ALUA state: " + aluaStateName(st), StatusOK
	case kindFabric:
		s, st := count("Targets")
		if da, err := l.ReadAttr(path.Join(n.ConfigPath(), "discovery_auth", "enforce_discovery_auth")); err == nil && da == "1" {
			s = "discovery auth, " + s
		}
		return s, st
	case kindTarget:
		if n.folded {
			if nx := l.Nexus(n.tpg); nx != "" {
				return nx, StatusOK
			}
			if hasNexus(n.tpg.Fabric) {
				return "no nexus", StatusWarn
			}
			return "", StatusNone
		}
		return count("TPGs")
	case kindTPG:
		return sh.tpgSummary(n)
	case kindLUNs:
		return count("LUNs")
	case kindLUN:
		if !n.lun.Linked {
			return "not linked", StatusWarn
		}
		si, err := l.StorageObjectInfo(n.lun.Storage)
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
	case kindACLs:
		return count("ACLs")
	case kindACL:
		s, st := count("Mapped LUNs")
		if tag, _ := l.ReadAttr(path.Join(n.acl.Path(), "tag")); tag != "" && tag != "NULL" {
			s = "tag: " + tag + ", " + s
		}
		return s, st
	case kindMappedLUN:
		mode := "rw"
		if n.mappedLUN.WriteProtect {
			mode = "ro"
		}
		target := "lun" + strconv.Itoa(n.mappedLUN.TPGLUN)
		if n.mappedLUN.TPGLUN < 0 {
			return "not linked", StatusWarn
		}
		for _, x := range mustLUNs(l, n.mappedLUN.TPG) {
			if x.Index == n.mappedLUN.TPGLUN && x.Linked {
				if si, err := l.StorageObjectInfo(x.Storage); err == nil {
					target += " " + si.Kind() + "/" + si.Object.Name
				}
			}
		}
		return target + " (" + mode + ")", StatusOK
	case kindPortals:
		return count("Portals")
	case kindPortal:
		return "OK", StatusOK
	}
	return "", StatusNone
}

func mustLUNs(l *configfs.LIO, tpg configfs.TPG) []configfs.LUNInfo {
	luns, _ := l.LUNs(tpg)
	return luns
}

func hasNexus(fabric string) bool {
	info, _ := configfs.LookupFabric(fabric)
	return info.Has(configfs.FeatNexus)
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

func storageSummary(si configfs.StorageInfo) (string, Status) {
	var parts []string
	switch si.Object.Plugin {
	case "user":
		parts = append(parts, si.Config)
	default:
		if si.Dev != "" {
			parts = append(parts, si.Dev)
		}
	}
	if si.Size > 0 {
		parts = append(parts, "("+size.Format(si.Size)+")")
	}
	if si.Object.Plugin == "fileio" || si.Object.Plugin == "iblock" || si.Object.Plugin == "user" {
		if si.WriteBack {
			parts = append(parts, "write-back")
		} else {
			parts = append(parts, "write-thru")
		}
	}
	if si.Enabled {
		parts = append(parts, "activated")
		return strings.Join(parts, " "), StatusOK
	}
	parts = append(parts, "deactivated")
	return strings.Join(parts, " "), StatusOff
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
