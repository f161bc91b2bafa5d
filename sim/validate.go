package sim

import (
	"fmt"
	"strings"

	"github.com/tcmsh/tcmsh/configfs"
)

// A snapshot that passes its checksum is still checked for the shape the
// kernel code relies on (which groups sit where, and which default groups
// they carry), so that a damaged or foreign file is reported, not obeyed.

// parents lists the group types each group type may sit in.
var parents = map[string][]string{
	"target": {"configfs"}, "core": {"target"}, "alua": {"core"}, "lu_gps": {"alua"}, "lu_gp": {"lu_gps"},
	"hba": {"core"}, "so": {"hba"},
	"so_pr": {"so"}, "so_wwn": {"so"}, "so_alua": {"so"}, "so_stat": {"so"}, "so_action": {"so"},
	"stat_scsi_dev": {"so_stat"}, "stat_scsi_tgt_dev": {"so_stat"}, "stat_scsi_lu": {"so_stat"},
	"tg_pt_gp": {"so_alua"},
	"fabric":   {"target"}, "disc_auth": {"fabric"}, "wwn": {"fabric"}, "wwn_param": {"wwn"},
	"tpg": {"wwn"}, "tpg_lun": {"tpg"}, "tpg_np": {"tpg"}, "tpg_acls": {"tpg"},
	"tpg_attrib": {"tpg"}, "tpg_auth": {"tpg"}, "tpg_param": {"tpg"},
	"lun": {"tpg_lun"}, "np": {"tpg_np"}, "acl": {"tpg_acls"},
	"acl_attrib": {"acl"}, "acl_auth": {"acl"}, "acl_param": {"acl"}, "mlun": {"acl"},
	"stat_group":    {"wwn", "lun", "acl", "mlun", "stat_group"},
	"lun_scsi_port": {"stat_group"}, "lun_scsi_tgt_port": {"stat_group"}, "lun_scsi_transport": {"stat_group"},
	"iscsi_instance": {"stat_group"}, "iscsi_sess_err": {"stat_group"}, "iscsi_tgt_attr": {"stat_group"},
	"iscsi_login_stats": {"stat_group"}, "iscsi_logout_stats": {"stat_group"}, "iscsi_sess_stats": {"stat_group"},
	"scsi_auth_intr": {"stat_group"}, "scsi_att_intr_port": {"stat_group"},
}

// required lists the default groups (name: type) a group type must hold.
var required = map[string]map[string]string{
	"configfs": {"target": "target"},
	"target":   {"core": "core"},
	"core":     {"alua": "alua"},
	"alua":     {"lu_gps": "lu_gps"},
	"so":       {"pr": "so_pr", "wwn": "so_wwn", "alua": "so_alua", "statistics": "so_stat"},
	"so_stat":  {"scsi_dev": "stat_scsi_dev", "scsi_tgt_dev": "stat_scsi_tgt_dev", "scsi_lu": "stat_scsi_lu"},
	"tpg": {"lun": "tpg_lun", "np": "tpg_np", "acls": "tpg_acls", "attrib": "tpg_attrib",
		"auth": "tpg_auth", "param": "tpg_param"},
	"acl": {"attrib": "acl_attrib", "auth": "acl_auth", "param": "acl_param"},
}

func validateTree(root *node) error {
	if root.typ != "configfs" {
		return fmt.Errorf("root group is of type %q", root.typ)
	}
	var walk func(n *node, p string) error
	walk = func(n *node, p string) error {
		if n.kind != configfs.KindDir {
			return nil
		}
		if n.parent != nil {
			if err := checkParent(n); err != nil {
				return fmt.Errorf("%s: %v", p, err)
			}
		}
		for name, typ := range required[n.typ] {
			c := n.children[name]
			if c == nil || c.kind != configfs.KindDir || c.typ != typ {
				return fmt.Errorf("%s: default group %s missing", p, name)
			}
		}
		if n.typ == "so" {
			plugin := n.meta["plugin"]
			at := n.children["attrib"]
			if !backends[plugin] || at == nil || at.typ != "so_attrib/"+plugin {
				return fmt.Errorf("%s: storage object of unknown plugin %q", p, plugin)
			}
			if n.meta["dev_config"] != "" && strings.ContainsRune(n.meta["dev_config"], 0) {
				return fmt.Errorf("%s: bad dev_config", p)
			}
		}
		for _, c := range n.children {
			if err := walk(c, p+"/"+c.name); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(root, "")
}

func checkParent(n *node) error {
	if strings.HasPrefix(n.typ, "so_attrib/") {
		if n.parent.typ != "so" {
			return fmt.Errorf("attribute group outside a storage object")
		}
		return nil
	}
	allowed, ok := parents[n.typ]
	if !ok {
		return fmt.Errorf("unknown group type %q", n.typ)
	}
	for _, a := range allowed {
		if n.parent.typ == a {
			return nil
		}
	}
	return fmt.Errorf("group of type %q inside one of type %q", n.typ, n.parent.typ)
}
