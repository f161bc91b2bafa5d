package sim

import (
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// Target port groups (core/<hba>/<dev>/alua/<group>), as
// target_core_configfs.c and target_core_alua.c define them.

var aluaStatus = map[string]string{"0": "None", "1": "Altered by Explicit STPG", "2": "Altered by Implicit ALUA"}

// supported-state bits, as ALUA_*_SUP.
var aluaSupport = []struct {
	name  string
	state int64
	def   bool
}{
	{"transitioning", 15, true},
	{"offline", 14, true},
	{"lba_dependent", 4, false},
	{"unavailable", 3, true},
	{"standby", 2, true},
	{"active_nonoptimized", 1, true},
	{"active_optimized", 0, true},
}

func validID(g *node) error {
	if g.meta["id"] == "" {
		return syscall.EINVAL // "non valid tg_pt_gp ID"
	}
	return nil
}

func tgPtGroupAttrs() []attrDef {
	defs := []attrDef{
		{name: "alua_access_state", perm: 0o644, init: constInit("0"), store: storeAccessState},
		{name: "alua_access_status", perm: 0o644, init: constInit("0"),
			show: func(_ *Kernel, _ *node, a *node) (string, error) { return aluaStatus[a.value] + "\n", nil },
			store: func(_ *Kernel, g *node, a *node, v string) error {
				if err := validID(g); err != nil {
					return err
				}
				x, err := kstrtoull(v)
				if err != nil {
					return err
				}
				if x > 2 {
					return syscall.EINVAL
				}
				a.value = strconv.FormatUint(x, 10)
				return nil
			}},
		{name: "alua_access_type", perm: 0o644, init: constInit("3"),
			show: func(_ *Kernel, _ *node, a *node) (string, error) {
				return []string{"None", "Implicit", "Explicit", "Implicit and Explicit"}[atoi(a.value)&3] + "\n", nil
			},
			store: func(_ *Kernel, g *node, a *node, v string) error {
				if err := validID(g); err != nil {
					return err
				}
				x, err := kstrtoull(v)
				if err != nil {
					return err
				}
				if x > 3 {
					return syscall.EINVAL
				}
				a.value = strconv.FormatUint(x, 10)
				return nil
			}},
	}
	for _, s := range aluaSupport {
		def := "0"
		if s.def {
			def = "1"
		}
		defs = append(defs, attrDef{name: "alua_support_" + s.name, perm: 0o644, init: constInit(def),
			store: func(_ *Kernel, g *node, a *node, v string) error {
				if err := validID(g); err != nil {
					return err
				}
				x, err := kstrtoull(v)
				if err != nil {
					return syscall.EINVAL
				}
				if x > 1 {
					return syscall.EINVAL
				}
				a.value = strconv.FormatUint(x, 10)
				return nil
			}})
	}
	defs = append(defs,
		u32Attr("alua_write_metadata", 0, between(0, 1)),
		u32Attr("nonop_delay_msecs", 100, between(0, 10000)),
		u32Attr("trans_delay_msecs", 0, between(0, 30000)),
		u32Attr("implicit_trans_secs", 0, between(0, 255)),
		u32Attr("preferred", 0, between(0, 1)),
		attrDef{name: "tg_pt_gp_id", perm: 0o644,
			show: func(_ *Kernel, g *node, _ *node) (string, error) {
				if g.meta["id"] == "" {
					return "", nil
				}
				return g.meta["id"] + "\n", nil
			},
			store: func(_ *Kernel, g *node, _ *node, v string) error {
				id, err := kstrtoull(v)
				if err != nil {
					return err
				}
				if id > 0xffff || g.meta["id"] != "" {
					return syscall.EINVAL // too large, or "already has a valid ID"
				}
				ids := strconv.FormatUint(id, 10)
				for _, o := range g.parent.children {
					if o.typ == "tg_pt_gp" && o.meta["id"] == ids {
						return syscall.EINVAL // "ID already exists"
					}
				}
				g.meta["id"] = ids
				return nil
			}},
		roAttr("members", func(k *Kernel, g *node) string {
			var b strings.Builder
			luns := k.lunsOf(soOf(g))
			// In the order the ports joined the group, not by name.
			sort.SliceStable(luns, func(i, j int) bool { return atoi(luns[i].meta["tg_pt_seq"]) < atoi(luns[j].meta["tg_pt_seq"]) })
			for _, lun := range luns {
				if lunTGPtGroup(lun) == g.name {
					tpg := lun.parent.parent
					// Each line carries its NUL terminator: the kernel copies cur_len+1 bytes.
					b.WriteString(fabricName(tpg.parent.parent.name) + "/" + tpg.parent.name + "/" + tpg.name + "/" + lun.name + "\n\x00")
				}
			}
			return b.String()
		}),
	)
	return defs
}

func storeAccessState(_ *Kernel, g *node, a *node, v string) error {
	if err := validID(g); err != nil {
		return err
	}
	if !configured(soOf(g)) {
		return syscall.ENODEV // "Unable to set alua_access_state while device is not configured"
	}
	x, err := kstrtoull(v)
	if err != nil {
		return err
	}
	typ := atoi(g.attr("alua_access_type"))
	if typ&1 == 0 {
		return syscall.EINVAL // implicit ALUA is off
	}
	if typ&2 != 0 && x == 4 {
		return syscall.EINVAL // LBA dependent only with implicit ALUA alone
	}
	for _, s := range aluaSupport {
		if uint64(s.state) == x {
			if g.attr("alua_support_"+s.name) != "1" {
				return syscall.EINVAL
			}
			a.value = strconv.FormatUint(x, 10)
			g.setAttr("alua_access_status", "2") // ALUA_STATUS_ALTERED_BY_IMPLICIT_ALUA
			return nil
		}
	}
	return syscall.EINVAL // "Unknown ALUA access state"
}

func makeTGPtGroup(k *Kernel, _ *node, name string) (*node, error) {
	g := newDir("tg_pt_gp", name, false)
	k.populate(g)
	return g, nil
}

// removeTGPtGroup moves the group's LUNs back to the default group, as
// core_alua_free_tg_pt_gp does.
func removeTGPtGroup(k *Kernel, g *node) error {
	for _, lun := range k.lunsOf(soOf(g)) {
		if lun.meta["tg_pt_gp"] == g.name {
			delete(lun.meta, "tg_pt_gp")
		}
	}
	return nil
}

func lunTGPtGroup(lun *node) string { return orValue(lun.meta["tg_pt_gp"], "default_tg_pt_gp") }
