package sim

import (
	"syscall"
)

// The statistics groups of iSCSI targets, ACLs and mapped LUNs
// (iscsi/iscsi_target_stat.c, target_core_stat.c). With no sessions and no
// I/O in the simulation their counters stay 0; the identifiers follow the
// objects.

func registerStats() {
	tiqnIndex := func(g *node) string {
		if w := g.ancestor("wwn"); w != nil {
			return orZero(w.meta["tiqn_index"])
		}
		return "0"
	}
	consts := func(typ string, kv ...string) {
		for i := 0; i+1 < len(kv); i += 2 {
			register(typ, roConst(kv[i], kv[i+1]))
		}
	}
	inst := roAttr("inst", func(_ *Kernel, g *node) string { return tiqnIndex(g) + "\n" })

	register("iscsi_instance", inst)
	consts("iscsi_instance", "min_ver", "0", "max_ver", "0", "nodes", "1", "sessions", "0",
		"fail_sess", "0", "fail_type", "0", "fail_rem_name", "None", "disc_time", "0",
		"description", "Storage Engine Target", "vendor", "Datera, Inc. iSCSI-Target", "version", "v4.1.0")
	register("iscsi_instance", roAttr("portals", func(_ *Kernel, g *node) string {
		n := 0
		for _, t := range g.ancestor("wwn").children {
			if t.typ == "tpg" {
				n += len(t.children["np"].children)
			}
		}
		return itoa(int64(n)) + "\n"
	}))
	register("iscsi_sess_err", inst)
	consts("iscsi_sess_err", "digest_errors", "0", "cxn_errors", "0", "format_errors", "0")
	register("iscsi_tgt_attr", inst)
	consts("iscsi_tgt_attr", "indx", "1", "login_fails", "0", "last_fail_time", "0", "last_fail_type", "0",
		"fail_intr_name", "None", "fail_intr_addr_type", "ipv4", "fail_intr_addr", "(einval)")
	register("iscsi_login_stats", inst)
	consts("iscsi_login_stats", "indx", "1", "accepts", "0", "other_fails", "0", "redirects", "0",
		"authorize_fails", "0", "authenticate_fails", "0", "negotiate_fails", "0")
	register("iscsi_logout_stats", inst)
	consts("iscsi_logout_stats", "indx", "1", "normal_logouts", "0", "abnormal_logouts", "0")

	// An ACL's session statistics: empty without a session.
	register("iscsi_sess_stats", inst)
	for _, name := range []string{"node", "indx", "cmd_pdus", "rsp_pdus", "txdata_octs", "rxdata_octs",
		"conn_digest_errors", "conn_timeout_errors"} {
		register("iscsi_sess_stats", roAttr(name, func(*Kernel, *node) string { return "" }))
	}

	// A mapped LUN's statistics read ENODEV until it is linked.
	mapped := func(typ, name string, show func(k *Kernel, ml, lun, so *node) string) {
		register(typ, attrDef{name: name, perm: 0o444, show: func(k *Kernel, g *node, _ *node) (string, error) {
			ml := g.parent.parent
			if ml.meta["active"] != "1" {
				return "", syscall.ENODEV
			}
			lun, err := k.lookup(ml.meta["lun"], true)
			if err != nil {
				return "", syscall.ENODEV
			}
			so := k.lunDevice(lun)
			if so == nil {
				return "", syscall.ENODEV
			}
			return show(k, ml, lun, so), nil
		}})
	}
	tpgInst := func(_ *Kernel, ml, _, _ *node) string {
		if fabricOf(ml) == "iscsi" {
			return tiqnIndex(ml) + "\n"
		}
		return "1\n"
	}
	dev := func(_ *Kernel, _, _, so *node) string { return so.meta["dev_index"] + "\n" }
	port := func(_ *Kernel, _, lun, _ *node) string { return lun.meta["rtpi"] + "\n" }
	aclIndex := func(_ *Kernel, ml, _, _ *node) string { return orValue(ml.parent.meta["acl_index"], "1") + "\n" }
	zero := func(*Kernel, *node, *node, *node) string { return "0\n" }
	noSession := func(typ, name string) {
		register(typ, attrDef{name: name, perm: 0o444, show: func(*Kernel, *node, *node) (string, error) {
			return "", syscall.ENODEV
		}})
	}
	mapped("scsi_auth_intr", "inst", tpgInst)
	mapped("scsi_auth_intr", "dev", dev)
	mapped("scsi_auth_intr", "port", port)
	mapped("scsi_auth_intr", "indx", aclIndex)
	mapped("scsi_auth_intr", "dev_or_port", func(*Kernel, *node, *node, *node) string { return "1\n" })
	mapped("scsi_auth_intr", "intr_name", func(_ *Kernel, ml, _, _ *node) string { return aclInitiator(ml.parent) + "\n" })
	mapped("scsi_auth_intr", "map_indx", zero)
	mapped("scsi_auth_intr", "att_count", func(*Kernel, *node, *node, *node) string { return "1\n" })
	mapped("scsi_auth_intr", "num_cmds", zero)
	mapped("scsi_auth_intr", "read_mbytes", zero)
	mapped("scsi_auth_intr", "write_mbytes", zero)
	mapped("scsi_auth_intr", "hs_num_cmds", zero)
	mapped("scsi_auth_intr", "creation_time", func(k *Kernel, ml, _, _ *node) string {
		return itoa((atoi(ml.meta["linked"])-atoi(k.root.meta["boot"]))/1e7) + "\n"
	})
	mapped("scsi_auth_intr", "row_status", func(*Kernel, *node, *node, *node) string { return "Ready\n" })
	mapped("scsi_att_intr_port", "inst", tpgInst)
	mapped("scsi_att_intr_port", "dev", dev)
	mapped("scsi_att_intr_port", "port", port)
	noSession("scsi_att_intr_port", "indx")
	mapped("scsi_att_intr_port", "port_auth_indx", aclIndex)
	noSession("scsi_att_intr_port", "port_ident")
}
