package browser

import (
	"fmt"
	"path"
	"strings"

	"github.com/tcmsh/tcmsh/shell"
)

// recreateLine is the command that would make the node again, with its
// creation parameters (attributes are set apart, with `set`). It is ""
// for nodes that are made with their parent or always exist.
func recreateLine(kind, p, name, summary string, info map[string]any, groups []shell.Group) string {
	parent := path.Dir(p)
	str := func(k string) string {
		v, ok := info[k]
		if !ok {
			return ""
		}
		return fmt.Sprint(v)
	}
	words := []string{parent, "create"}
	add := func(k, v string) {
		if v != "" {
			words = append(words, k+"="+quote(v))
		}
	}
	switch kind {
	case "storage_object":
		add("name", name)
		typ := path.Base(parent)
		switch {
		case typ == "fileio":
			add("file_or_dev", str("dev"))
			add("size", str("size"))
			add("write_back", str("write_back"))
		case typ == "block":
			add("dev", str("dev"))
		case typ == "pscsi":
			add("dev", str("dev"))
		case typ == "ramdisk":
			add("size", str("size"))
		case strings.HasPrefix(typ, "user:"):
			add("size", str("size"))
			_, cfg, _ := strings.Cut(str("config"), "/")
			add("cfgstring", cfg)
		}
		add("wwn", str("wwn"))
	case "target":
		add("wwn", name)
	case "tpg":
		add("tag", strings.TrimPrefix(name, "tpg"))
	case "lun":
		// Each line makes one object: mappings have their own lines.
		add("storage_object", lunBackstore(summary))
		add("lun", strings.TrimPrefix(name, "lun"))
		add("add_mapped_luns", "false")
	case "acl":
		add("wwn", name)
		add("add_mapped_luns", "false")
	case "mapped_lun":
		add("mapped_lun", strings.TrimPrefix(name, "mapped_lun"))
		add("tpg_lun_or_backstore", str("tpg_lun"))
		add("write_protect", str("write_protect"))
	case "portal":
		host, port := splitPortal(name)
		add("ip_address", host)
		add("ip_port", port)
	case "alua_group":
		if name == "default_tg_pt_gp" {
			return "" // made with its storage object
		}
		add("name", name)
		for _, g := range groups {
			for _, a := range g.Attrs {
				if a.Name == "tg_pt_gp_id" {
					add("tag", a.Value)
				}
			}
		}
	default:
		return ""
	}
	return strings.Join(words, " ")
}

// lunBackstore is the /backstores path of the object a LUN exports, read
// from the LUN's summary ("fileio/disk1 (/dev/…)"); "" when not linked.
func lunBackstore(summary string) string {
	so, _, _ := strings.Cut(summary, " ")
	if !strings.Contains(so, "/") {
		return ""
	}
	return "/backstores/" + so
}

// splitPortal splits "ip:port" (with [] around IPv6 addresses).
func splitPortal(name string) (host, port string) {
	i := strings.LastIndexByte(name, ':')
	if i < 0 {
		return name, ""
	}
	return strings.Trim(name[:i], "[]"), name[i+1:]
}

// quote makes a word safe for shell.Split.
func quote(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t'\"\\") {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", `'"'"'`) + "'"
}
