package shell

import (
	"fmt"
	"path"
	"strings"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/internal/size"
)

// storageObjectKind is a storage object (a configfs core/<hba>/<name> directory).
type storageObjectKind struct{ baseKind }

var kindStorageObject nodeKind = storageObjectKind{}

func (storageObjectKind) name() string { return "storage_object" }

func (storageObjectKind) configPath(n *Node) string {
	return n.so.Path()
}

func (storageObjectKind) children(sh *Shell, n *Node) ([]*Node, error) {
	return []*Node{child(n, kindALUA, "alua")}, nil
}

func (storageObjectKind) lookup(sh *Shell, n *Node, name string) (*Node, error) {
	kids, _ := sh.Children(n)
	return childNamed(name, kids), nil
}

func (storageObjectKind) summary(sh *Shell, n *Node) (string, Status) {
	sh.prefetchStorageInfo(n)
	si, err := sh.storageInfo(n.so)
	if err != nil {
		return "error: " + err.Error(), StatusWarn
	}
	return storageSummary(si)
}

func (storageObjectKind) info(sh *Shell, n *Node, out map[string]any) error {
	l := sh.env.LIO
	si, err := l.StorageObjectInfo(n.so)
	if err != nil {
		return err
	}
	out["name"] = si.Object.Name
	out["plugin"] = si.Kind()
	out["hba"] = si.Object.HBA
	out["enabled"] = si.Enabled
	out["size"] = si.Size
	out["write_back"] = si.WriteBack
	out["wwn"], _ = l.UnitSerial(n.so)
	out["kernel_info"] = si.Info
	if si.Dev != "" {
		out["dev"] = si.Dev
	}
	if si.Config != "" {
		out["config"] = si.Config
	}
	if n.so.Plugin == "user" && sh.env.Kind == "real" {
		out["uio"], out["served_by"] = engine.ServedBy(sh.env.Engine, n.so.Path())
	}
	return nil
}

func (storageObjectKind) groups(n *Node, base string, g map[string]string) {
	g["attribute"] = path.Join(base, "attrib")
	g["wwn"] = path.Join(base, "wwn")
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
	// The word is targetcli's (rtslib reads the info's Status: activated
	// while a LUN exports the object); the colour says whether the
	// kernel has the device set up at all.
	if si.Exported {
		parts = append(parts, "activated")
	} else {
		parts = append(parts, "deactivated")
	}
	st := StatusOK
	if !si.Enabled {
		st = StatusOff
	}
	return strings.Join(parts, " "), st
}

func (storageObjectKind) deleteCall(n *Node) (line, what string, ok bool) {
	return parentCall(n, "delete", Quote(n.name)), "storage object " + n.path + " and every LUN that exports it", true
}

func (storageObjectKind) createWords(sh *Shell, n *Node) []string {
	info, err := sh.Info(n)
	if err != nil {
		return nil
	}
	str := func(k string) string {
		if v, ok := info[k]; ok {
			return fmt.Sprint(v)
		}
		return ""
	}
	w := createWords{"name", n.name}
	switch typ := path.Base(path.Dir(n.path)); {
	case typ == "fileio":
		w = append(w, "file_or_dev", str("dev"), "size", str("size"), "write_back", str("write_back"))
	case typ == "block", typ == "pscsi":
		w = append(w, "dev", str("dev"))
	case typ == "ramdisk":
		w = append(w, "size", str("size"))
	case strings.HasPrefix(typ, "user:"):
		_, cfg, _ := strings.Cut(str("config"), "/")
		w = append(w, "size", str("size"), "cfgstring", cfg)
	}
	return append(w, "wwn", str("wwn")).words()
}
