package sim

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"syscall"

	"github.com/tcmsh/tcmsh/configfs"
)

// This file is target_core_fabric_configfs.c with the fabric modules'
// configfs code (iscsi/iscsi_target_configfs.c, loopback/tcm_loop.c,
// vhost/scsi.c): fabric directories, WWNs, TPGs, LUNs, portals, ACLs and
// mapped LUNs.

// fabricDef is what a fabric module contributes.
type fabricDef struct {
	name string
	// checkWWN validates a target name (the fabric's make_wwn).
	checkWWN func(name string) (proto string, err error)
	// tag parses a tpgt_N name (the fabric's make_tpg).
	tag func(name string) (uint64, error)
	// version is the text of the fabric directory's version file.
	versionFile, version   string
	nexus, enable, portals bool
}

var fabricDefs = map[string]*fabricDef{
	"iscsi": {name: "iscsi",
		checkWWN: func(name string) (string, error) {
			if len(name) >= 224 {
				return "", syscall.EINVAL // "Target IQN exceeds 224 bytes"; no format check
			}
			return "iscsi", nil
		},
		tag: func(name string) (uint64, error) {
			i := strings.Index(name, "tpgt_")
			if i < 0 {
				return 0, syscall.EINVAL
			}
			return kstrtou(name[i+5:], 0xffff)
		},
		versionFile: "lio_version", version: "Datera Inc. iSCSI Target v4.1.0\n",
		enable: true, portals: true},
	"loopback": {name: "loopback",
		checkWWN: protoFromName(256),
		tag: func(name string) (uint64, error) {
			i := strings.Index(name, "tpgt_")
			if i < 0 {
				return 0, syscall.EINVAL
			}
			t, err := kstrtoull(name[i+5:])
			if err != nil {
				return 0, err
			}
			if t >= 32 {
				return 0, syscall.EINVAL // TL_TPGS_PER_HBA
			}
			return t, nil
		},
		versionFile: "version", version: "TCM Loopback Fabric module v2.1-rc2\n",
		nexus: true},
	"vhost": {name: "vhost",
		checkWWN: protoFromName(256),
		tag: func(name string) (uint64, error) {
			if !strings.HasPrefix(name, "tpgt_") {
				return 0, syscall.EINVAL
			}
			t, err := strconv.ParseUint(strings.TrimSuffix(name[5:], "\n"), 10, 16)
			if err != nil || t >= 256 {
				return 0, syscall.EINVAL // VHOST_SCSI_MAX_TARGET
			}
			return t, nil
		},
		versionFile: "version", version: "TCM_VHOST fabric module v0.1 on %s/%son %s\n", // sic: no space before "on"
		nexus: true},
}

// protoFromName is tcm_loop's and vhost's make_wwn: the name must contain
// "naa.", "fc." or "iqn.", which sets the emulated protocol.
func protoFromName(max int) func(string) (string, error) {
	return func(name string) (string, error) {
		proto := ""
		switch {
		case strings.Contains(name, "naa."):
			proto = "sas"
		case strings.Contains(name, "fc."):
			proto = "fcp"
		case strings.Contains(name, "iqn."):
			proto = "iscsi"
		default:
			return "", syscall.EINVAL // "Unable to locate prefix for emulated Target Port"
		}
		if len(name) >= max {
			return "", syscall.EINVAL
		}
		return proto, nil
	}
}

// genericFabric describes a fabric module without special behaviour in
// the simulation (any fabric listed in Options.Fabrics).
func genericFabric(name string) *fabricDef {
	return &fabricDef{name: name,
		checkWWN: func(string) (string, error) { return "", nil },
		tag: func(n string) (uint64, error) {
			if !strings.HasPrefix(n, "tpgt_") {
				return 0, syscall.EINVAL
			}
			return kstrtou(n[5:], 0xffff)
		},
		enable: true}
}

func (k *Kernel) fabric(name string) *fabricDef {
	if f := fabricDefs[name]; f != nil {
		return f
	}
	return genericFabric(name)
}

func fabricOf(n *node) string {
	if f := n.ancestor("fabric"); f != nil {
		return f.name
	}
	return ""
}

func registerFabric() {
	makers["fabric"] = makeWWN
	makers["wwn"] = makeTPG
	makers["tpg_lun"] = makeLUN
	makers["tpg_np"] = makeNP
	makers["tpg_acls"] = makeACL
	makers["acl"] = makeMappedLUN
	removers["tpg"] = func(_ *Kernel, tpg *node) error {
		delete(tpg.meta, "nexus") // the fabric drops its I_T nexus with the TPG
		return nil
	}
	linkers["lun"] = portLink
	unlinkers["lun"] = portUnlink
	linkers["mlun"] = mappedLink
	unlinkers["mlun"] = mappedUnlink

	register("fabric",
		attrDef{name: "version", perm: 0o444, show: func(k *Kernel, f *node, _ *node) (string, error) {
			return k.fabricVersion(f.name, "version")
		}},
		attrDef{name: "lio_version", perm: 0o444, show: func(k *Kernel, f *node, _ *node) (string, error) {
			return k.fabricVersion(f.name, "lio_version")
		}},
		attrDef{name: "cpus_allowed_list", perm: 0o644, init: constInit(fmt.Sprintf("0-%d", simulatedCPUs-1)),
			store: storeCPUList},
	)
	register("disc_auth", append(authAttrs(),
		u32Attr("enforce_discovery_auth", 0, between(0, 1)))...)
	register("wwn_param", attrDef{name: "cmd_completion_affinity", perm: 0o644, init: constInit("-1"),
		store: func(_ *Kernel, _ *node, a *node, v string) error {
			x, err := kstrtos(v, -1<<31, 1<<31-1)
			if err != nil {
				return syscall.EINVAL
			}
			// -1: the submitting CPU's; -2: the completing CPU; else an online CPU.
			if x != -1 && x != -2 && (x < 0 || x >= simulatedCPUs) {
				return syscall.EINVAL
			}
			a.value = itoa(x)
			return nil
		}})
	register("tpg", tpgAttrs()...)
	register("tpg_attrib", tpgAttribAttrs()...)
	register("tpg_auth", authAttrs()...)
	register("tpg_param", iscsiParamAttrs()...)
	register("lun", lunAttrs()...)
	register("np", npDriver("iser"), npDriver("cxgbit"))
	register("acl", aclAttrs()...)
	register("acl_attrib", aclAttribAttrs()...)
	register("acl_auth", authAttrs()...)
	for _, name := range []string{"MaxConnections", "InitialR2T", "ImmediateData", "MaxBurstLength", "FirstBurstLength",
		"DefaultTime2Wait", "DefaultTime2Retain", "MaxOutstandingR2T", "DataPDUInOrder", "DataSequenceInOrder", "ErrorRecoveryLevel"} {
		// The negotiated values of the ACL's session; there is none here.
		register("acl_param", roConst(name, "No Active iSCSI Session"))
	}
	register("mlun", mlunAttrs()...)
	lunStatAttrs()
}

// Attribute sets differ per fabric: the registry is keyed by group type,
// and a group of a fabric that lacks an attribute simply does not get it.
func (k *Kernel) populateFabric(dir *node, fabric string) {
	for _, d := range registry[dir.typ] {
		if !fabricHas(fabric, dir.typ, d.name) {
			continue
		}
		v := ""
		if d.init != nil {
			v = d.init(k, dir)
		}
		dir.add(&node{name: d.name, kind: configfs.KindAttr, perm: d.perm, value: v})
	}
}

// fabricHas tells which fabric carries which attribute of a shared group type.
func fabricHas(fabric, typ, attr string) bool {
	iscsi := fabric == "iscsi"
	switch typ {
	case "fabric":
		if attr == "cpus_allowed_list" {
			return iscsi
		}
		f := fabricDefs[fabric]
		return f != nil && f.versionFile == attr
	case "disc_auth", "tpg_auth", "tpg_param", "np", "acl_attrib", "acl_auth", "acl_param":
		return iscsi
	case "tpg":
		switch attr {
		case "enable":
			f := fabricDefs[fabric]
			return f == nil || f.enable
		case "dynamic_sessions":
			return iscsi
		case "nexus":
			return fabric == "loopback" || fabric == "vhost"
		case "transport_status", "address":
			return fabric == "loopback"
		}
	case "tpg_attrib":
		if attr == "fabric_prot_type" {
			return iscsi || fabric == "loopback" || fabric == "vhost"
		}
		return iscsi
	case "acl":
		return attr == "tag" || iscsi
	}
	return true
}

func (k *Kernel) fabricVersion(fabric, file string) (string, error) {
	f := fabricDefs[fabric]
	if f == nil || f.versionFile != file {
		return "", syscall.ENOENT
	}
	if strings.Contains(f.version, "%s") {
		return fmt.Sprintf(f.version, "Linux", k.opts.Machine, k.opts.KernelRelease), nil
	}
	return f.version, nil
}

// makeFabric loads a fabric module on the first mkdir of its directory.
func makeFabric(k *Kernel, _ *node, name string) (*node, error) {
	found := false
	for _, f := range k.opts.Fabrics {
		if f == name {
			found = true
		}
	}
	if !found {
		return nil, syscall.EINVAL // request_module failed, or no such fabric registered
	}
	f := newDir("fabric", name, false)
	k.populateFabric(f, name)
	k.populateFabric(f.group("disc_auth", "discovery_auth"), name)
	return f, nil
}

func makeWWN(k *Kernel, fabric *node, name string) (*node, error) {
	proto, err := k.fabric(fabric.name).checkWWN(name)
	if err != nil {
		return nil, syscall.EINVAL // target_fabric_make_wwn turns every fabric failure into EINVAL
	}
	w := newDir("wwn", name, false)
	w.meta["proto"] = proto
	if fabric.name == "loopback" {
		// tcm_loop adds a SCSI host for every target.
		w.meta["host_no"] = k.root.meta["host_no"]
		k.root.meta["host_no"] = itoa(atoi(k.root.meta["host_no"]) + 1)
	}
	if fabric.name == "iscsi" {
		// iscsit_add_tiqn takes the lowest free index of an IDR.
		used := map[string]bool{}
		for _, o := range fabric.children {
			if o.typ == "wwn" {
				used[o.meta["tiqn_index"]] = true
			}
		}
		i := int64(0)
		for used[itoa(i)] {
			i++
		}
		w.meta["tiqn_index"] = itoa(i)
	}
	stats := w.group("stat_group", "fabric_statistics")
	if fabric.name == "iscsi" {
		for _, g := range []string{"iscsi_instance", "iscsi_sess_err", "iscsi_tgt_attr", "iscsi_login_stats", "iscsi_logout_stats"} {
			k.populate(stats.group(g, g))
		}
	}
	k.populate(w.group("wwn_param", "param"))
	return w, nil
}

func makeTPG(k *Kernel, wwn *node, name string) (*node, error) {
	fabric := wwn.parent.name
	tag, err := k.fabric(fabric).tag(name)
	if err != nil {
		return nil, syscall.EINVAL // target_fabric_make_tpg turns every fabric failure into EINVAL
	}
	t := newDir("tpg", name, false)
	t.meta["tag"] = strconv.FormatUint(tag, 10)
	wwn.add(t)
	k.populateFabric(t, fabric)
	t.group("tpg_lun", "lun")
	t.group("tpg_np", "np")
	t.group("tpg_acls", "acls")
	k.populateFabric(t.group("tpg_attrib", "attrib"), fabric)
	k.populateFabric(t.group("tpg_auth", "auth"), fabric)
	k.populateFabric(t.group("tpg_param", "param"), fabric)
	return t, nil
}

// ---- TPG attributes ----

func tpgAttrs() []attrDef {
	return []attrDef{
		{name: "enable", perm: 0o644, init: constInit("0"), store: storeTPGEnable},
		roAttr("dynamic_sessions", func(*Kernel, *node) string { return "" }),
		{name: "nexus", perm: 0o644,
			show: func(_ *Kernel, tpg *node, _ *node) (string, error) {
				if tpg.meta["nexus"] == "" {
					return "", syscall.ENODEV
				}
				return tpg.meta["nexus"] + "\n", nil
			},
			store: storeNexus},
		{name: "transport_status", perm: 0o644, init: constInit("online"),
			store: func(_ *Kernel, _ *node, a *node, v string) error {
				switch {
				case strings.HasPrefix(v, "online"):
					a.value = "online"
				case strings.HasPrefix(v, "offline"):
					a.value = "offline"
				default:
					return syscall.EINVAL
				}
				return nil
			}},
		roAttr("address", func(_ *Kernel, tpg *node) string {
			return fmt.Sprintf("%s:0:%s\n", tpg.parent.meta["host_no"], tpg.meta["tag"])
		}),
	}
}

// storeTPGEnable is the common tpg enable attribute with iSCSI's
// enable/disable of the portal group.
func storeTPGEnable(_ *Kernel, tpg *node, a *node, v string) error {
	on, err := kstrtobool(v)
	if err != nil {
		return err
	}
	want := "0"
	if on {
		want = "1"
	}
	if a.value == want {
		return nil // already in that state
	}
	if on && fabricOf(tpg) == "iscsi" {
		// With authentication enforced, AuthMethod=None becomes CHAP.
		// With authentication enforced, None leaves the AuthMethod list.
		attrib, param := tpg.children["attrib"], tpg.children["param"]
		if attrib.attr("authentication") == "1" {
			var keep []string
			for _, m := range strings.Split(param.attr("AuthMethod"), ",") {
				if m != "None" {
					keep = append(keep, m)
				}
			}
			if len(keep) == 0 {
				keep = []string{"CHAP"}
			}
			param.setAttr("AuthMethod", strings.Join(keep, ","))
		}
	}
	a.value = want
	return nil
}

// simulatedCPUs is the number of online CPUs the simulation reports.
const simulatedCPUs = 2

// lunPorts counts the LUNs of a TPG that export a device (the fabric's
// port count).
func lunPorts(tpg *node) int {
	n := 0
	for _, lun := range tpg.children["lun"].children {
		if lun.meta["so"] != "" {
			n++
		}
	}
	return n
}

// storeNexus is tcm_loop's and vhost's nexus store: "NULL" drops the
// I_T nexus, an initiator port of the target's protocol makes one.
func storeNexus(_ *Kernel, tpg *node, _ *node, v string) error {
	fabric := fabricOf(tpg)
	if strings.HasPrefix(v, "NULL") {
		if tpg.meta["nexus"] == "" {
			return syscall.ENODEV
		}
		if lunPorts(tpg) > 0 {
			if fabric == "vhost" {
				return syscall.EBUSY
			}
			return syscall.EPERM // "Unable to remove TCM_Loop I_T Nexus with active TPG port count"
		}
		delete(tpg.meta, "nexus")
		return nil
	}
	if len(v) >= 256 {
		return syscall.EINVAL
	}
	proto := tpg.parent.meta["proto"]
	port := v
	switch {
	case strings.Contains(v, "naa."):
		if proto != "sas" {
			return syscall.EINVAL
		}
	case strings.Contains(v, "fc."):
		if proto != "fcp" {
			return syscall.EINVAL
		}
		if fabric == "loopback" {
			port = v[3:]
		}
	case strings.Contains(v, "iqn."):
		if proto != "iscsi" {
			return syscall.EINVAL
		}
	default:
		return syscall.EINVAL // "Unable to locate prefix for emulated Initiator Port"
	}
	port = stripNewline(port)
	if tpg.meta["nexus"] != "" {
		return syscall.EEXIST
	}
	tpg.meta["nexus"] = port
	return nil
}

func tpgAttribAttrs() []attrDef {
	bool01 := between(0, 1)
	return []attrDef{
		u32Attr("authentication", 1, bool01, func(_ *Kernel, dir *node, x int64) error {
			// iscsit_ta_authentication: 1 takes None out of
			// AuthMethod, 0 adds ",None" when it is missing.
			if param := dir.parent.children["param"]; param != nil {
				param.setAttr("AuthMethod", authMethodNone(param.attr("AuthMethod"), x == 0))
			}
			return nil
		}),
		u32Attr("login_timeout", 15, between(5, 30)),
		u32Attr("netif_timeout", 2, between(2, 15)),
		u32Attr("generate_node_acls", 0, bool01, func(_ *Kernel, dir *node, x int64) error {
			// iscsit_ta_generate_node_acls: "Explicitly setting
			// cache_dynamic_acls=1 when generate_node_acls=1".
			if x == 1 {
				dir.setAttr("cache_dynamic_acls", "1")
			}
			return nil
		}),
		u32Attr("default_cmdsn_depth", 64, between(1, 512)),
		iscsiCacheDynamicACLs(),
		u32Attr("demo_mode_write_protect", 1, bool01),
		u32Attr("prod_mode_write_protect", 0, bool01),
		u32Attr("demo_mode_discovery", 1, bool01),
		u32Attr("default_erl", 0, between(0, 2)),
		u32Attr("t10_pi", 0, bool01),
		u32Attr("fabric_prot_type", 0, func(_ *Kernel, _ *node, v int64) error {
			if v != 0 && v != 1 && v != 3 {
				return syscall.EINVAL
			}
			return nil
		}),
		u32Attr("tpg_enabled_sendtargets", 1, bool01),
		u32Attr("login_keys_workaround", 1, bool01),
	}
}

// authAttrs are the CHAP credentials of iSCSI TPGs, ACLs and discovery.
// The kernel stores what is written ("NULL" included, which turns the
// credential off) and prints it back.
func authAttrs() []attrDef {
	return []attrDef{
		authStr("userid"),
		authStr("password"),
		roAttr("authenticate_target", func(_ *Kernel, g *node) string {
			set := func(n string) bool { v := g.attr(n); return v != "" && v != "NULL" }
			if set("userid_mutual") && set("password_mutual") {
				return "1\n"
			}
			return "0\n"
		}),
		authStr("userid_mutual"),
		authStr("password_mutual"),
	}
}

// iSCSI login parameters (tpg param/), with their defaults and the values
// iscsi_change_param_value accepts.
type iscsiParam struct {
	name, def string
	values    []string // allowed list members; nil for numbers and free text
	lo, hi    int64    // numbers, when hi > 0
}

var iscsiParams = []iscsiParam{
	{name: "AuthMethod", def: "CHAP,None", values: []string{"CHAP", "None", "KRB5", "SPKM1", "SPKM2", "SRP"}},
	{name: "HeaderDigest", def: "CRC32C,None", values: []string{"CRC32C", "None"}},
	{name: "DataDigest", def: "CRC32C,None", values: []string{"CRC32C", "None"}},
	{name: "MaxConnections", def: "1", lo: 1, hi: 65535},
	{name: "TargetAlias", def: "LIO Target"},
	{name: "InitialR2T", def: "Yes", values: []string{"Yes", "No"}},
	{name: "ImmediateData", def: "Yes", values: []string{"Yes", "No"}},
	{name: "MaxRecvDataSegmentLength", def: "8192", lo: 512, hi: 16777215},
	{name: "MaxXmitDataSegmentLength", def: "262144", lo: 512, hi: 16777215},
	{name: "MaxBurstLength", def: "262144", lo: 512, hi: 16777215},
	{name: "FirstBurstLength", def: "65536", lo: 512, hi: 16777215},
	{name: "DefaultTime2Wait", def: "2", lo: 0, hi: 3600},
	{name: "DefaultTime2Retain", def: "20", lo: 0, hi: 3600},
	{name: "MaxOutstandingR2T", def: "1", lo: 1, hi: 65535},
	{name: "DataPDUInOrder", def: "Yes", values: []string{"Yes", "No"}},
	{name: "DataSequenceInOrder", def: "Yes", values: []string{"Yes", "No"}},
	{name: "ErrorRecoveryLevel", def: "0", lo: 0, hi: 2},
	{name: "IFMarker", def: "No", values: []string{"Yes", "No"}},
	{name: "OFMarker", def: "No", values: []string{"Yes", "No"}},
	{name: "IFMarkInt", def: "Reject"},
	{name: "OFMarkInt", def: "Reject"},
}

func iscsiParamAttrs() []attrDef {
	var defs []attrDef
	for _, p := range iscsiParams {
		p := p
		defs = append(defs, attrDef{name: p.name, perm: 0o644, init: constInit(p.def),
			store: func(_ *Kernel, _ *node, a *node, v string) error {
				v = stripNewline(v)
				if v == "" || len(v) > 255 {
					return syscall.EINVAL
				}
				switch {
				case p.hi > 0:
					x, err := strconv.ParseInt(v, 0, 64)
					if err != nil || x < p.lo || x > p.hi {
						return syscall.EINVAL
					}
				case p.values != nil:
					for _, part := range strings.Split(v, ",") {
						ok := false
						for _, allowed := range p.values {
							ok = ok || part == allowed
						}
						if !ok {
							return syscall.EINVAL
						}
					}
				}
				a.value = v
				return nil
			}})
	}
	return defs
}

// ---- LUNs ----

// parseLUNName is "lun_<n>" with n read by kstrtoull (base 0): LUNs are 64-bit.
func parseLUNName(name string) (uint64, error) {
	if !strings.HasPrefix(name, "lun_") {
		return 0, syscall.EINVAL
	}
	return kstrtoull(name[4:])
}

func makeLUN(k *Kernel, _ *node, name string) (*node, error) {
	n, err := parseLUNName(name)
	if err != nil {
		return nil, err
	}
	lun := newDir("lun", name, false)
	lun.meta["lun"] = strconv.FormatUint(n, 10)
	k.populate(lun)
	stats := lun.group("stat_group", "statistics")
	for _, g := range []string{"scsi_port", "scsi_tgt_port", "scsi_transport"} {
		k.populate(stats.group("lun_"+g, g))
	}
	return lun, nil
}

// lunDevice is the storage object a LUN exports, nil when unlinked.
func (k *Kernel) lunDevice(lun *node) *node {
	if lun.meta["so"] == "" {
		return nil
	}
	so, err := k.lookup(lun.meta["so"], true)
	if err != nil {
		return nil
	}
	return so
}

func lunAttrs() []attrDef {
	withDev := func(name string, show func(k *Kernel, lun, so *node) string, store func(k *Kernel, lun, so *node, v string) error) attrDef {
		return attrDef{name: name, perm: 0o644,
			show: func(k *Kernel, lun *node, _ *node) (string, error) {
				so := k.lunDevice(lun)
				if so == nil {
					return "", syscall.ENODEV
				}
				return show(k, lun, so), nil
			},
			store: func(k *Kernel, lun *node, _ *node, v string) error {
				so := k.lunDevice(lun)
				if so == nil {
					return syscall.ENODEV
				}
				return store(k, lun, so, v)
			}}
	}
	flag := func(meta string, max uint64) func(*Kernel, *node, *node, string) error {
		return func(_ *Kernel, lun, _ *node, v string) error {
			x, err := kstrtoull(v)
			if err != nil {
				return err
			}
			if x > max {
				return syscall.EINVAL
			}
			lun.meta[meta] = strconv.FormatUint(x, 10)
			return nil
		}
	}
	return []attrDef{
		withDev("alua_tg_pt_gp", func(_ *Kernel, lun, so *node) string {
			gname := lunTGPtGroup(lun)
			g := so.children["alua"].children[gname]
			if g == nil {
				return ""
			}
			state := []string{"Active/Optimized", "Active/NonOptimized", "Standby", "Unavailable", "LBA Dependent"}
			st := "Offline"
			if s := atoi(g.attr("alua_access_state")); s < int64(len(state)) {
				st = state[s]
			} else if s == 15 {
				st = "Transitioning"
			}
			sec := "None"
			if lun.meta["offline"] == "1" {
				sec = "Offline"
			}
			return fmt.Sprintf("TG Port Alias: %s\nTG Port Group ID: %s\nTG Port Primary Access State: %s\nTG Port Primary Access Status: %s\nTG Port Secondary Access State: %s\nTG Port Secondary Access Status: %s\n",
				gname, g.meta["id"], st, aluaStatus[orZero(g.attr("alua_access_status"))], sec, aluaStatus[orZero(lun.meta["status"])])
		}, func(k *Kernel, lun, so *node, v string) error {
			if len(v) > 256 {
				return syscall.EINVAL
			}
			name := strings.TrimSpace(v)
			if name == "NULL" {
				delete(lun.meta, "tg_pt_gp")
				k.joinTGPtGroup(lun)
				return nil
			}
			g := so.children["alua"].children[name]
			if g == nil || g.typ != "tg_pt_gp" || g.meta["id"] == "" {
				return syscall.ENODEV
			}
			lun.meta["tg_pt_gp"] = name
			k.joinTGPtGroup(lun)
			return nil
		}),
		withDev("alua_tg_pt_offline", func(_ *Kernel, lun, _ *node) string { return orZero(lun.meta["offline"]) + "\n" }, flag("offline", 1)),
		withDev("alua_tg_pt_status", func(_ *Kernel, lun, _ *node) string { return orZero(lun.meta["status"]) + "\n" }, flag("status", 2)),
		withDev("alua_tg_pt_write_md", func(_ *Kernel, lun, _ *node) string { return orZero(lun.meta["write_md"]) + "\n" }, flag("write_md", 1)),
	}
}

// portLink is target_fabric_port_link: a LUN exports one enabled storage object.
func portLink(k *Kernel, lun, so *node) error {
	if so.typ != "so" {
		return syscall.EFAULT // "Bad se_dev_ci, not a valid se_dev_ci pointer"
	}
	if !configured(so) {
		return syscall.ENODEV // "se_device not configured yet, cannot port link"
	}
	if lun.meta["so"] != "" {
		return syscall.EEXIST // "Port Symlink already exists"
	}
	lun.meta["so"] = so.path()
	k.joinTGPtGroup(lun)
	// The relative target port identifier comes from a counter of the
	// device (core_alloc_rtpi): its Nth export gets N.
	rtpi := atoi(so.meta["rtpi_counter"]) + 1
	so.meta["rtpi_counter"] = itoa(rtpi)
	lun.meta["rtpi"] = itoa(rtpi)
	tpg := lun.parent.parent
	if fabricOf(lun) == "loopback" && tpg.meta["nexus"] != "" {
		// tcm_loop's post_link scans the new LUN; without a nexus the
		// initiator's INQUIRY fails and no disk appears.
		lun.meta["disk"] = "1"
	}
	return nil
}

func portUnlink(_ *Kernel, lun, _ *node) error {
	delete(lun.meta, "so")
	delete(lun.meta, "disk")
	delete(lun.meta, "tg_pt_gp")
	// core_dev_del_lun removes the LUN from every ACL that maps it.
	tpg := lun.parent.parent
	for _, acl := range tpg.children["acls"].children {
		for _, ml := range acl.children {
			if ml.typ == "mlun" && ml.meta["lun"] == lun.path() {
				delete(ml.meta, "active")
			}
		}
	}
	return nil
}

// lunsOf lists every LUN that exports so (reads only).
func (k *Kernel) lunsOf(so *node) []*node {
	if so == nil {
		return nil
	}
	p := so.path()
	var out []*node
	for _, lun := range k.allLUNs() {
		if lun.meta["so"] == p {
			out = append(out, lun)
		}
	}
	return out
}

// allLUNs lists the LUN groups of every TPG of every fabric (reads only).
func (k *Kernel) allLUNs() []*node {
	var out []*node
	for _, f := range k.root.children["target"].sortedChildren() {
		if f.typ != "fabric" {
			continue
		}
		for _, w := range f.sortedChildren() {
			for _, t := range w.sortedChildren() {
				if t.typ == "tpg" {
					out = append(out, t.children["lun"].sortedChildren()...)
				}
			}
		}
	}
	return out
}

// ---- network portals (iSCSI) ----

func makeNP(k *Kernel, npGroup *node, name string) (*node, error) {
	tpg := npGroup.parent
	if !k.fabric(fabricOf(tpg)).portals {
		return nil, syscall.ENOSYS // "fabric_make_np is NULL"
	}
	// target_fabric_make_np turns every fabric failure into EINVAL.
	ap, err := parsePortal(name)
	if err != nil {
		return nil, syscall.EINVAL
	}
	// A portal may serve one TPG of a target only ("already exists on a
	// different TPG"); other targets may share it.
	for _, t := range tpg.parent.children {
		if t.typ != "tpg" {
			continue
		}
		for _, other := range t.children["np"].children {
			if o, err := parsePortal(other.name); err == nil && o == ap {
				return nil, syscall.EINVAL
			}
		}
	}
	np := newDir("np", name, false)
	k.populateFabric(np, "iscsi")
	return np, nil
}

// parsePortal reads "<ipv4>:<port>" or "[<ipv6>]:<port>" as
// lio_target_call_addnptotpg does.
func parsePortal(name string) (netip.AddrPort, error) {
	if len(name) >= 256 {
		return netip.AddrPort{}, syscall.EOVERFLOW
	}
	var host, port string
	if i := strings.IndexByte(name, '['); i >= 0 {
		j := strings.IndexByte(name[i:], ']')
		if j < 0 {
			return netip.AddrPort{}, syscall.EINVAL
		}
		host = name[i+1 : i+j]
		rest := name[i+j:]
		c := strings.IndexByte(rest, ':')
		if c < 0 {
			return netip.AddrPort{}, syscall.EINVAL
		}
		port = rest[c+1:]
	} else {
		// The port starts at the first ':' (so IPv6 needs brackets).
		c := strings.IndexByte(name, ':')
		if c < 0 {
			return netip.AddrPort{}, syscall.EINVAL
		}
		host, port = name[:c], name[c+1:]
	}
	p, err := kstrtou(port, 0xffff)
	if err != nil {
		return netip.AddrPort{}, err
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || addr.Zone() != "" && !addr.Is6() {
		return netip.AddrPort{}, syscall.EINVAL
	}
	return netip.AddrPortFrom(addr, uint16(p)), nil
}

func npDriver(name string) attrDef {
	return attrDef{name: name, perm: 0o644, init: constInit("0"),
		store: func(_ *Kernel, _ *node, a *node, v string) error {
			x, err := kstrtou(v, 1<<32-1)
			if err != nil {
				return err
			}
			if x > 1 {
				return syscall.EINVAL
			}
			if x == 1 {
				return syscall.EINVAL // no RDMA or Chelsio offload device to serve the portal
			}
			a.value = "0"
			return nil
		}}
}

// ---- ACLs and mapped LUNs ----

func makeACL(k *Kernel, acls *node, name string) (*node, error) {
	// No length check: target_alloc_node_acl copies the name into
	// initiatorname with strscpy(…, TRANSPORT_IQN_LEN), cutting it to 223
	// bytes (seen on 6.1: a 251-byte name is accepted; see aclInitiator).
	tpg := acls.parent
	fabric := fabricOf(tpg)
	acl := newDir("acl", name, false)
	acl.meta["cmdsn_depth"] = orValue(tpg.children["attrib"].attr("default_cmdsn_depth"), "64")
	acls.add(acl)
	k.populateFabric(acl, fabric)
	k.populateFabric(acl.group("acl_attrib", "attrib"), fabric)
	k.populateFabric(acl.group("acl_auth", "auth"), fabric)
	k.populateFabric(acl.group("acl_param", "param"), fabric)
	fstats := acl.group("stat_group", "fabric_statistics")
	if fabric == "iscsi" {
		k.populate(fstats.group("iscsi_sess_stats", "iscsi_sess_stats"))
	}
	// The ACL's index in the SCSI MIB (SCSI_AUTH_INTR_INDEX): a global counter.
	acl.meta["acl_index"] = orValue(k.root.meta["acl_index"], "1")
	k.root.meta["acl_index"] = itoa(atoi(acl.meta["acl_index"]) + 1)
	return acl, nil
}

func aclAttrs() []attrDef {
	return []attrDef{
		{name: "info", perm: 0o444, show: func(_ *Kernel, acl *node, _ *node) (string, error) {
			return "No active iSCSI Session for Initiator Endpoint: " + aclInitiator(acl) + "\n", nil
		}},
		{name: "cmdsn_depth", perm: 0o644,
			show: func(_ *Kernel, acl *node, _ *node) (string, error) { return acl.meta["cmdsn_depth"] + "\n", nil },
			store: func(_ *Kernel, acl *node, _ *node, v string) error {
				x, err := kstrtou(v, 1<<32-1)
				if err != nil {
					return err
				}
				if x > 512 {
					return syscall.EINVAL // TA_DEFAULT_CMDSN_DEPTH_MAX
				}
				acl.meta["cmdsn_depth"] = strconv.FormatUint(x, 10)
				return nil
			}},
		{name: "tag", perm: 0o644,
			// The tag prints without a newline and stores the write as is.
			show: func(_ *Kernel, _ *node, a *node) (string, error) { return a.value, nil },
			store: func(_ *Kernel, _ *node, a *node, v string) error {
				if len(v) >= 64 {
					return syscall.EINVAL // MAX_ACL_TAG_SIZE
				}
				if strings.HasPrefix(v, "NULL") {
					a.value = ""
					return nil
				}
				a.value = v
				return nil
			}},
	}
}

func aclAttribAttrs() []attrDef {
	bool01 := between(0, 1)
	return []attrDef{
		u32Attr("dataout_timeout", 3, between(2, 60)),
		u32Attr("dataout_timeout_retries", 5, between(1, 15)),
		u32Attr("default_erl", 0, between(0, 2)),
		u32Attr("nopin_timeout", 15, between(3, 60)),
		u32Attr("nopin_response_timeout", 30, between(3, 60)),
		u32Attr("random_datain_pdu_offsets", 0, bool01),
		u32Attr("random_datain_seq_offsets", 0, bool01),
		u32Attr("random_r2t_offsets", 0, bool01),
		s32Attr("authentication", -1, between(-1, 1)),
	}
}

func makeMappedLUN(k *Kernel, _ *node, name string) (*node, error) {
	n, err := parseLUNName(name)
	if err != nil {
		return nil, err
	}
	ml := newDir("mlun", name, false)
	ml.meta["mapped_lun"] = strconv.FormatUint(n, 10)
	k.populate(ml)
	stats := ml.group("stat_group", "statistics")
	k.populate(stats.group("scsi_auth_intr", "scsi_auth_intr"))
	k.populate(stats.group("scsi_att_intr_port", "scsi_att_intr_port"))
	return ml, nil
}

func mlunAttrs() []attrDef {
	return []attrDef{{name: "write_protect", perm: 0o644,
		show: func(_ *Kernel, ml *node, _ *node) (string, error) {
			if ml.meta["active"] != "1" {
				return "", nil // no device entry: nothing is printed
			}
			return orZero(ml.meta["wp"]) + "\n", nil
		},
		store: func(_ *Kernel, ml *node, _ *node, v string) error {
			x, err := kstrtoull(v)
			if err != nil {
				return err
			}
			if x > 1 {
				return syscall.EINVAL
			}
			if ml.meta["active"] == "1" {
				ml.meta["wp"] = strconv.FormatUint(x, 10)
			}
			return nil
		}}}
}

// mappedLink is target_fabric_mappedlun_link: an ACL maps a LUN of its own TPG.
func mappedLink(k *Kernel, ml, lun *node) error {
	if lun.typ != "lun" {
		return syscall.EFAULT // "Bad lun->lun_link_magic"
	}
	aclTPG := ml.parent.parent.parent
	lunTPG := lun.parent.parent
	if aclTPG.parent.name != lunTPG.parent.name || aclTPG.name != lunTPG.name || aclTPG != lunTPG {
		return syscall.EINVAL // "Illegal Initiator ACL SymLink outside of ..."
	}
	if lun.meta["so"] == "" {
		return syscall.EINVAL // no device behind the LUN
	}
	for _, c := range ml.children {
		if c.kind == configfs.KindLink {
			return syscall.EINVAL // already mapped
		}
	}
	ml.meta["lun"] = lun.path()
	ml.meta["active"] = "1"
	ml.meta["linked"] = itoa(k.now)
	ml.meta["wp"] = orZero(aclTPG.children["attrib"].attr("prod_mode_write_protect"))
	return nil
}

func mappedUnlink(_ *Kernel, ml, _ *node) error {
	delete(ml.meta, "lun")
	delete(ml.meta, "active")
	delete(ml.meta, "wp")
	return nil
}

// LoopbackDisk is a LUN of a loopback TPG that the simulated initiator
// sees as a SCSI disk: the nexus existed when the LUN was linked.
type LoopbackDisk struct {
	// Host, Channel, Target and LUN address the disk as H:C:T:L.
	Host, Channel, Target int
	LUN                   uint64
	TPGPath, LUNPath      string
	StoragePath           string // the storage object's configfs path
	Initiator             string // the nexus initiator port
}

// LoopbackDisks lists the disks loopback targets present to the simulated initiator.
func (k *Kernel) LoopbackDisks() []LoopbackDisk {
	var out []LoopbackDisk
	_ = k.read("readdir", "target/loopback", func() error {
		f := k.root.children["target"].children["loopback"]
		if f == nil {
			return nil
		}
		for _, w := range f.sortedChildren() {
			for _, t := range w.sortedChildren() {
				if t.typ != "tpg" {
					continue
				}
				for _, lun := range t.children["lun"].sortedChildren() {
					if lun.meta["disk"] != "1" {
						continue
					}
					n, _ := strconv.ParseUint(lun.meta["lun"], 10, 64)
					out = append(out, LoopbackDisk{Host: int(atoi(w.meta["host_no"])), Target: int(atoi(t.meta["tag"])),
						LUN: n, TPGPath: t.path(), LUNPath: lun.path(), StoragePath: lun.meta["so"], Initiator: t.meta["nexus"]})
				}
			}
		}
		return nil
	})
	return out
}

// storeCPUList is iSCSI's cpus_allowed_list: a CPU list of online CPUs.
func storeCPUList(_ *Kernel, _ *node, a *node, v string) error {
	v = strings.TrimSpace(v)
	if v == "" {
		return syscall.EINVAL
	}
	for _, part := range strings.Split(v, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err1 := strconv.Atoi(lo)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 0 || b < a {
			return syscall.EINVAL
		}
		if b >= simulatedCPUs {
			return syscall.EINVAL
		}
	}
	a.value = v
	return nil
}

// fabricName is what the fabric module calls itself in statistics and
// ALUA member lists (tfo->fabric_name).
func fabricName(fabric string) string {
	if fabric == "iscsi" {
		return "iSCSI"
	}
	return fabric
}

// protoID is the SCSI transport protocol identifier of a TPG's target.
func protoID(tpg *node) string {
	switch tpg.parent.meta["proto"] {
	case "iscsi":
		return "5"
	case "sas":
		return "6"
	case "fcp":
		return "0"
	}
	return "5"
}

// lunStatAttrs are the port statistics of a LUN (target_core_stat.c):
// readable only while the LUN exports a device (ENODEV otherwise).
func lunStatAttrs() {
	stat := func(typ, name string, show func(k *Kernel, lun, so *node) string) {
		register(typ, attrDef{name: name, perm: 0o444, show: func(k *Kernel, g *node, _ *node) (string, error) {
			lun := g.parent.parent
			so := k.lunDevice(lun)
			if so == nil {
				return "", syscall.ENODEV
			}
			return show(k, lun, so), nil
		}})
	}
	inst := func(_ *Kernel, _ *node, so *node) string { return so.parent.meta["inst"] + "\n" }
	dev := func(_ *Kernel, _ *node, so *node) string { return so.meta["dev_index"] + "\n" }
	rtpi := func(_ *Kernel, lun, _ *node) string { return lun.meta["rtpi"] + "\n" }
	zero := func(*Kernel, *node, *node) string { return "0\n" }
	stat("lun_scsi_port", "inst", inst)
	stat("lun_scsi_port", "dev", dev)
	stat("lun_scsi_port", "indx", rtpi)
	stat("lun_scsi_port", "role", func(_ *Kernel, _ *node, so *node) string { return "Device" + so.meta["dev_index"] + "\n" })
	stat("lun_scsi_port", "busy_count", zero)
	stat("lun_scsi_tgt_port", "inst", inst)
	stat("lun_scsi_tgt_port", "dev", dev)
	stat("lun_scsi_tgt_port", "indx", rtpi)
	stat("lun_scsi_tgt_port", "name", func(_ *Kernel, lun, _ *node) string {
		return fabricName(fabricOf(lun)) + "Port#" + lun.meta["rtpi"] + "\n"
	})
	stat("lun_scsi_tgt_port", "port_index", func(_ *Kernel, lun, _ *node) string {
		tpg := lun.parent.parent
		return tpg.parent.name + "+t+" + tpg.meta["tag"] + "\n"
	})
	stat("lun_scsi_tgt_port", "in_cmds", zero)
	stat("lun_scsi_tgt_port", "write_mbytes", zero)
	stat("lun_scsi_tgt_port", "read_mbytes", zero)
	stat("lun_scsi_tgt_port", "hs_in_cmds", zero)
	stat("lun_scsi_transport", "inst", inst)
	stat("lun_scsi_transport", "device", func(_ *Kernel, lun, _ *node) string {
		return "scsiTransport" + fabricName(fabricOf(lun)) + "\n"
	})
	stat("lun_scsi_transport", "indx", func(_ *Kernel, lun, _ *node) string {
		// tpg_get_inst_index: iSCSI's target index (from 0), 1 for the others.
		if fabricOf(lun) == "iscsi" {
			return orZero(lun.parent.parent.parent.meta["tiqn_index"]) + "\n"
		}
		return "1\n"
	})
	stat("lun_scsi_transport", "dev_name", func(_ *Kernel, lun, so *node) string {
		id := so.children["wwn"].attr("vpd_unit_serial")
		if id == "" {
			id = so.children["wwn"].attr("vendor_id")
		}
		return lun.parent.parent.parent.name + "+" + id + "\n"
	})
	stat("lun_scsi_transport", "proto_id", func(_ *Kernel, lun, _ *node) string { return protoID(lun.parent.parent) + "\n" })
}

// authStr is a CHAP credential: the kernel keeps the first 255 bytes of
// the write (snprintf into a 256-byte buffer) without its newline.
func authStr(name string) attrDef {
	return attrDef{name: name, perm: 0o644, store: func(_ *Kernel, _ *node, a *node, v string) error {
		v = stripNewline(v)
		if len(v) > 255 {
			v = v[:255]
		}
		a.value = v
		return nil
	}}
}

// iscsiCacheDynamicACLs is the TPG's cache_dynamic_acls: iscsit_ta_cache_
// dynamic_acls skips a 0 while generate_node_acls is 1 (the write succeeds,
// the value stays 1).
func iscsiCacheDynamicACLs() attrDef {
	d := u32Attr("cache_dynamic_acls", 0, between(0, 1))
	inner := d.store
	d.store = func(k *Kernel, dir *node, a *node, v string) error {
		old := a.value
		if err := inner(k, dir, a, v); err != nil {
			return err
		}
		if a.value == "0" && dir.attr("generate_node_acls") == "1" {
			a.value = old
		}
		return nil
	}
	return d
}

// authMethodNone is AuthMethod after iscsit_ta_authentication: with none,
// ",None" is appended unless None is there; without, None leaves the list
// (a lone None stays: the kernel only edits a list).
func authMethodNone(v string, none bool) string {
	var keep []string
	has := false
	for _, m := range strings.Split(v, ",") {
		if m == "None" {
			has = true
			continue
		}
		keep = append(keep, m)
	}
	if none {
		if has {
			return v
		}
		return v + ",None"
	}
	if !has || len(keep) == 0 {
		return v
	}
	return strings.Join(keep, ",")
}

// aclInitiator is the initiator name the kernel keeps for an ACL: its
// directory name cut to TRANSPORT_IQN_LEN - 1 (223) bytes.
func aclInitiator(acl *node) string {
	if len(acl.name) > 223 {
		return acl.name[:223]
	}
	return acl.name
}

// joinTGPtGroup stamps the order in which a LUN joined its target port
// group: the kernel adds a port at the tail of the group's member list
// (core_alua_attach_tg_pt_gp), and members lists them in that order.
func (k *Kernel) joinTGPtGroup(lun *node) {
	var last int64
	for _, o := range k.allLUNs() {
		if o != lun {
			last = max(last, atoi(o.meta["tg_pt_seq"]))
		}
	}
	lun.meta["tg_pt_seq"] = itoa(last + 1)
}
