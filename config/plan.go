package config

import (
	"context"
	"fmt"
	"net"
	"path"
	"sort"
	"strings"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/internal/size"
)

// Step is one change of a plan: what it does, on which path, and how.
type Step struct {
	Op   string // create, change, delete
	Path string // targetcli path
	What string // detail: the values changed
	do   func(ctx context.Context) error
	// together names a set of steps that do not depend on each other
	// (the LUNs of one TPG): a run of them is made side by side, because
	// the kernel spends most of a LUN's link, made or removed, waiting
	// (see configfs.Concurrently), and those waits overlap.
	together string
}

func (s Step) String() string {
	sign := map[string]string{"create": "+", "change": "~", "delete": "-"}[s.Op]
	out := sign + " " + s.Op + " " + s.Path
	if s.What != "" {
		out += ": " + s.What
	}
	return out
}

// Plan is the ordered steps that turn the kernel's configuration into a
// desired one.
type Plan struct{ Steps []Step }

func validIP(s string) bool { return net.ParseIP(s) != nil }

// PlanOptions limit a plan.
type PlanOptions struct {
	// KeepExtra leaves objects that are not in the desired configuration
	// (restoreconfig without clear_existing).
	KeepExtra bool
	// Unmanaged storage objects (could not be read) are never deleted.
	Unmanaged map[string]bool
}

// diffExisting is diffValues for an object that exists: have holds every
// writable file the kernel gives it, so a key of want that have lacks is
// one apply skips (a file from another kernel version may name it) and
// is no change.
func diffExisting(have, want map[string]string) []string {
	var out []string
	for _, k := range diffValues(have, want) {
		if _, ok := have[k]; ok {
			out = append(out, k)
		}
	}
	return out
}

// changedKeys is diffExisting when the object exists, else diffValues.
func changedKeys(have, want map[string]string, exists bool) []string {
	if exists {
		return diffExisting(have, want)
	}
	return diffValues(have, want)
}

// diffValues lists the keys of want whose value differs from have, sorted.
func diffValues(have, want map[string]string) []string {
	var out []string
	for _, k := range sortedKeys(want) {
		if have[k] != want[k] {
			out = append(out, k)
		}
	}
	return out
}

func describe(keys []string, want map[string]string) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		v := want[k]
		if strings.Contains(k, "password") {
			v = "***"
		}
		parts[i] = k + "=" + v
	}
	return strings.Join(parts, " ")
}

// soKey is the identity of a storage object across configurations.
func soKey(s *SOConf) string { return soPath(s.Plugin, s.Name) }

// soRecreate reports whether a storage object must be made again to match
// (its backing or identity differs; attributes alone are changed in place).
func soRecreate(have, want *SOConf) bool {
	if want.WWN != "" && have.WWN != want.WWN {
		return true
	}
	switch want.Plugin {
	case "fileio":
		return have.Dev != want.Dev || (want.Size != 0 && have.Size != want.Size) || have.WriteBack != want.WriteBack
	case "block":
		return have.Dev != want.Dev || have.Readonly != want.Readonly
	case "pscsi":
		return have.Dev != want.Dev
	case "ramdisk":
		return have.Size != want.Size || have.Nullio != want.Nullio
	case "user":
		return have.Config != want.Config || have.Size != want.Size
	}
	return false
}

// MakePlan compares two configurations and returns the steps that turn
// have into want, in the order the kernel needs them: first every deletion
// (LUNs, mapped LUNs, portals, ACLs, TPGs and targets that go, and storage
// objects that go), then the storage objects made or changed (one whose
// backing or identity differs is made again, its LUNs and mappings after
// it), then the fabrics' discovery authentication, then the targets and
// what is below them, parent before child, a TPG enabled last. Values
// equal to the kernel's are not written, so a second plan against the
// result is empty. Apply (apply.go) runs a plan all or nothing.
func (st Store) MakePlan(have, want *Config, opts PlanOptions) *Plan {
	p := &Plan{}
	var deletes, soSteps, fabricSteps, creates []Step

	haveSO := map[string]*SOConf{}
	for _, s := range have.StorageObjects {
		haveSO[soKey(s)] = s
	}
	wantSO := map[string]*SOConf{}
	recreated := map[string]bool{}
	for _, s := range want.StorageObjects {
		wantSO[soKey(s)] = s
	}
	for _, s := range have.StorageObjects {
		if _, ok := wantSO[soKey(s)]; !ok && !opts.KeepExtra && !opts.Unmanaged[soKey(s)] {
			s := s
			deletes = append(deletes, Step{Op: "delete", Path: soKey(s), do: func(ctx context.Context) error { return st.deleteSOConf(ctx, s) }})
		}
	}
	for _, k := range sortedKeys(wantSO) {
		w := wantSO[k]
		h, ok := haveSO[k]
		switch {
		case !ok:
			soSteps = append(soSteps, Step{Op: "create", Path: k, What: soSummary(w), do: func(ctx context.Context) error { return st.createSOConf(ctx, w) }})
		case soRecreate(h, w):
			recreated[k] = true
			soSteps = append(soSteps, Step{Op: "change", Path: k, What: "made again: " + soSummary(w), do: func(ctx context.Context) error {
				if err := st.deleteSOConf(ctx, h); err != nil {
					return err
				}
				return st.createSOConf(ctx, w)
			}})
		default:
			so, _ := st.soOf(w)
			if keys := diffExisting(h.Attributes, w.Attributes); len(keys) > 0 {
				soSteps = append(soSteps, Step{Op: "change", Path: k, What: "attributes " + describe(keys, w.Attributes),
					do: func(context.Context) error {
						return st.setValues(path.Join(so.Path(), "attrib"), w.Attributes)
					}})
			}
			soSteps = append(soSteps, st.aluaSteps(k, so, h.ALUA, w.ALUA, opts)...)
		}
	}

	for _, hf := range have.FabricModules {
		found := false
		for _, f := range want.FabricModules {
			found = found || f.Name == hf.Name
		}
		if !found && !opts.KeepExtra && hf.Auth["discovery_enable_auth"] == "true" {
			off := &FabricConf{Name: hf.Name, Auth: map[string]string{"discovery_enable_auth": "false"}}
			fabricSteps = append(fabricSteps, Step{Op: "change", Path: "/" + hf.Name, What: "discovery_auth discovery_enable_auth=false",
				do: func(context.Context) error { return st.setDiscovery(off) }})
		}
	}
	for _, f := range want.FabricModules {
		var hf *FabricConf
		for _, x := range have.FabricModules {
			if x.Name == f.Name {
				hf = x
			}
		}
		cur := map[string]string{}
		if hf != nil {
			cur = hf.Auth
		} else {
			cur["discovery_enable_auth"] = "false"
		}
		if keys := diffValues(cur, f.Auth); len(keys) > 0 {
			f := f
			fabricSteps = append(fabricSteps, Step{Op: "change", Path: "/" + f.Name, What: "discovery_auth " + describe(keys, f.Auth),
				do: func(context.Context) error { return st.setDiscovery(f) }})
		}
	}

	haveT := map[string]*TargetConf{}
	for _, t := range have.Targets {
		haveT[t.Fabric+"/"+t.WWN] = t
	}
	wantT := map[string]*TargetConf{}
	for _, t := range want.Targets {
		wantT[t.Fabric+"/"+t.WWN] = t
	}
	for _, t := range have.Targets {
		if _, ok := wantT[t.Fabric+"/"+t.WWN]; !ok && !opts.KeepExtra {
			tg := configfs.Target{Fabric: t.Fabric, WWN: t.WWN}
			deletes = append(deletes, Step{Op: "delete", Path: "/" + t.Fabric + "/" + t.WWN, do: func(context.Context) error {
				return ignoreMissing(st.LIO.DeleteTarget(tg))
			}})
		}
	}
	for _, k := range sortedKeys(wantT) {
		w := wantT[k]
		tg := configfs.Target{Fabric: w.Fabric, WWN: w.WWN}
		h, ok := haveT[k]
		if !ok {
			h = &TargetConf{Fabric: w.Fabric, WWN: w.WWN}
			creates = append(creates, Step{Op: "create", Path: "/" + w.Fabric + "/" + w.WWN, do: func(context.Context) error {
				if err := st.LIO.LoadFabric(tg.Fabric); err != nil {
					return err
				}
				return st.mkdir(tg.Path())
			}})
		}
		if keys := changedKeys(h.Parameters, w.Parameters, ok); len(keys) > 0 {
			wv := w.Parameters
			creates = append(creates, Step{Op: "change", Path: "/" + w.Fabric + "/" + w.WWN, What: valuesWhat("parameters", ok, keys, wv), do: func(context.Context) error {
				return st.setValues(path.Join(tg.Path(), "param"), wv)
			}})
		}
		d, c := st.tpgSteps(tg, h, w, recreated, opts)
		deletes = append(deletes, d...)
		creates = append(creates, c...)
	}
	p.Steps = append(p.Steps, deletes...)
	p.Steps = append(p.Steps, soSteps...)
	p.Steps = append(p.Steps, fabricSteps...)
	p.Steps = append(p.Steps, creates...)
	return p
}

func soSummary(s *SOConf) string {
	var parts []string
	if s.Dev != "" {
		parts = append(parts, s.Dev)
	}
	if s.Config != "" {
		parts = append(parts, s.Config)
	}
	if s.Size > 0 {
		parts = append(parts, size.Format(s.Size))
	}
	return strings.Join(parts, " ")
}

func (st Store) aluaSteps(k string, so configfs.StorageObject, have, want []*ALUAConf, opts PlanOptions) []Step {
	var out []Step
	hm := map[string]*ALUAConf{}
	for _, g := range have {
		hm[g.Name] = g
	}
	wm := map[string]*ALUAConf{}
	for _, g := range want {
		wm[g.Name] = g
	}
	for _, g := range have {
		if _, ok := wm[g.Name]; !ok && !opts.KeepExtra && g.Name != configfs.DefaultALUAGroup {
			dir := path.Join(so.Path(), "alua", g.Name)
			out = append(out, Step{Op: "delete", Path: k + "/alua/" + g.Name, do: func(context.Context) error { return st.rmdir(dir) }})
		}
	}
	for _, g := range want {
		dir := path.Join(so.Path(), "alua", g.Name)
		h, ok := hm[g.Name]
		g := g
		if !ok {
			out = append(out, Step{Op: "create", Path: k + "/alua/" + g.Name, do: func(context.Context) error {
				if err := st.mkdir(dir); err != nil {
					return err
				}
				return st.setALUA(dir, g.Fields)
			}})
			continue
		}
		if keys := diffExisting(h.Fields, g.Fields); len(keys) > 0 {
			out = append(out, Step{Op: "change", Path: k + "/alua/" + g.Name, What: describe(keys, g.Fields), do: func(context.Context) error {
				return st.setALUA(dir, g.Fields)
			}})
		}
	}
	return out
}

// setALUA writes an ALUA group's fields, the id first.
func (st Store) setALUA(dir string, fields map[string]string) error {
	cur := st.aluaGroup(dir)
	keys := sortedKeys(fields)
	// The id first: the kernel wants it before the group is used.
	sort.SliceStable(keys, func(i, j int) bool { return keys[i] == "tg_pt_gp_id" && keys[j] != "tg_pt_gp_id" })
	return st.writeChanged(dir, cur, keys, fields)
}

// tpgSteps are the deletions and creations/changes within one target.
func (st Store) tpgSteps(tg configfs.Target, have, want *TargetConf, recreated map[string]bool, opts PlanOptions) (deletes, creates []Step) {
	l := st.LIO
	hm := map[int]*TPGConf{}
	for _, t := range have.TPGs {
		hm[t.Tag] = t
	}
	wm := map[int]*TPGConf{}
	for _, t := range want.TPGs {
		wm[t.Tag] = t
	}
	for _, t := range have.TPGs {
		if _, ok := wm[t.Tag]; !ok && !opts.KeepExtra {
			tpg := configfs.TPG{Target: tg, Tag: t.Tag}
			deletes = append(deletes, Step{Op: "delete", Path: TPGNodePath(tpg), do: func(context.Context) error { return ignoreMissing(l.DeleteTPG(tpg)) }})
		}
	}
	info, _ := configfs.LookupFabric(tg.Fabric)
	for _, w := range want.TPGs {
		tpg := configfs.TPG{Target: tg, Tag: w.Tag}
		tp := TPGNodePath(tpg)
		h, ok := hm[w.Tag]
		if !ok {
			h = &TPGConf{Tag: w.Tag}
			creates = append(creates, Step{Op: "create", Path: tp, do: func(context.Context) error {
				if err := st.mkdir(tpg.Path()); err != nil {
					return err
				}
				if info.Has(configfs.FeatNexus) {
					// The nexus goes in before any LUN, or no disk appears.
					if _, err := l.SetNexus(tpg, w.Nexus); err != nil {
						return err
					}
				}
				return nil
			}})
		}
		// Disable before changing an enabled TPG that must end disabled.
		if h.Enable && !w.Enable && info.Has(configfs.FeatEnable) {
			creates = append(creates, Step{Op: "change", Path: tp, What: "disable", do: func(context.Context) error {
				return l.WriteAttr(path.Join(tpg.Path(), "enable"), "0")
			}})
		}
		if keys := changedKeys(h.Attributes, w.Attributes, ok); len(keys) > 0 {
			wv := w.Attributes
			creates = append(creates, Step{Op: "change", Path: tp, What: valuesWhat("attributes", ok, keys, wv), do: func(context.Context) error {
				return st.setValues(path.Join(tpg.Path(), "attrib"), wv)
			}})
		}
		if keys := changedKeys(h.Parameters, w.Parameters, ok); len(keys) > 0 {
			wv := w.Parameters
			creates = append(creates, Step{Op: "change", Path: tp, What: valuesWhat("parameters", ok, keys, wv), do: func(context.Context) error {
				return st.setValues(path.Join(tpg.Path(), "param"), wv)
			}})
		}
		d, c, lunRemade := st.lunSteps(tpg, tp, h, w, recreated, opts)
		deletes, creates = append(deletes, d...), append(creates, c...)
		d, c = st.portalSteps(tpg, tp, h, w, opts)
		deletes, creates = append(deletes, d...), append(creates, c...)
		d, c = st.aclSteps(tpg, tp, h, w, lunRemade, opts)
		deletes, creates = append(deletes, d...), append(creates, c...)
		if keys := authDiff(h.Auth, w.Auth); len(keys) > 0 {
			wv := w.Auth
			creates = append(creates, Step{Op: "change", Path: tp, What: "auth " + describe(keys, wv), do: func(context.Context) error {
				return st.setAuth(path.Join(tpg.Path(), "auth"), wv)
			}})
		}
		if w.Enable && (!h.Enable || !ok) && info.Has(configfs.FeatEnable) {
			creates = append(creates, Step{Op: "change", Path: tp, What: "enable", do: func(context.Context) error {
				return l.WriteAttr(path.Join(tpg.Path(), "enable"), "1")
			}})
		}
	}
	return deletes, creates
}

// lunSteps are the deletions and creations of one TPG's LUNs: a LUN that
// goes, or whose storage object or alias differs, is deleted (and made
// again); one whose storage object is made again is made again too. It
// returns the LUN indexes made again: their mappings are made again.
func (st Store) lunSteps(tpg configfs.TPG, tp string, h, w *TPGConf, recreated map[string]bool, opts PlanOptions) (deletes, creates []Step, lunRemade map[int]bool) {
	l := st.LIO
	hl := map[int]*LUNConf{}
	for _, x := range h.LUNs {
		hl[x.Index] = x
	}
	wl := map[int]*LUNConf{}
	for _, x := range w.LUNs {
		wl[x.Index] = x
	}
	lunRemade = map[int]bool{}
	for _, x := range h.LUNs {
		wx, ok := wl[x.Index]
		gone := !ok && !opts.KeepExtra
		if gone || (ok && (wx.StorageObject != x.StorageObject || (wx.Alias != "" && wx.Alias != x.Alias))) {
			lun := configfs.LUN{TPG: tpg, Index: x.Index}
			lunRemade[x.Index] = ok
			deletes = append(deletes, Step{Op: "delete", Path: fmt.Sprintf("%s/luns/lun%d", tp, x.Index), together: "delete " + tp + "/luns",
				do: func(context.Context) error { return ignoreMissing(l.DeleteLUN(lun)) }})
		}
	}
	for _, x := range w.LUNs {
		hx, ok := hl[x.Index]
		x := x
		if !ok || lunRemade[x.Index] || recreated[x.StorageObject] {
			if ok && recreated[x.StorageObject] {
				lunRemade[x.Index] = true
			}
			creates = append(creates, Step{Op: "create", Path: fmt.Sprintf("%s/luns/lun%d", tp, x.Index), What: x.StorageObject,
				together: "create " + tp + "/luns", do: func(context.Context) error { return st.createLUNConf(tpg, x) }})
			continue
		}
		if x.ALUAGroup != "" && x.ALUAGroup != hx.ALUAGroup {
			lun := configfs.LUN{TPG: tpg, Index: x.Index}
			creates = append(creates, Step{Op: "change", Path: fmt.Sprintf("%s/luns/lun%d", tp, x.Index), What: "alua_tg_pt_gp=" + x.ALUAGroup,
				do: func(context.Context) error { return l.WriteAttr(path.Join(lun.Path(), "alua_tg_pt_gp"), x.ALUAGroup) }})
		}
	}
	return deletes, creates, lunRemade
}

// portalSteps are the deletions, creations and changes (iSER, offload)
// of one TPG's network portals.
func (st Store) portalSteps(tpg configfs.TPG, tp string, h, w *TPGConf, opts PlanOptions) (deletes, creates []Step) {
	l := st.LIO
	hp := map[string]*PortalConf{}
	for _, x := range h.Portals {
		hp[configfs.PortalName(x.IP, x.Port)] = x
	}
	wp := map[string]*PortalConf{}
	for _, x := range w.Portals {
		wp[configfs.PortalName(x.IP, x.Port)] = x
	}
	for name, x := range hp {
		if _, ok := wp[name]; !ok && !opts.KeepExtra {
			portal := configfs.Portal{TPG: tpg, IP: x.IP, Port: x.Port}
			deletes = append(deletes, Step{Op: "delete", Path: tp + "/portals/" + name, do: func(context.Context) error { return ignoreMissing(l.DeletePortal(portal)) }})
		}
	}
	for _, name := range sortedKeys(wp) {
		x := wp[name]
		portal := configfs.Portal{TPG: tpg, IP: x.IP, Port: x.Port}
		hx, ok := hp[name]
		if !ok {
			hx = &PortalConf{}
			creates = append(creates, Step{Op: "create", Path: tp + "/portals/" + name, do: func(context.Context) error {
				_, err := l.CreatePortal(tpg, x.IP, x.Port)
				return err
			}})
		}
		if hx.ISER != x.ISER {
			creates = append(creates, Step{Op: "change", Path: tp + "/portals/" + name, What: fmt.Sprintf("iser=%t", x.ISER), do: func(context.Context) error {
				return l.WriteAttr(path.Join(portal.Path(), "iser"), boolDigit(x.ISER))
			}})
		}
		if hx.Offload != x.Offload {
			creates = append(creates, Step{Op: "change", Path: tp + "/portals/" + name, What: fmt.Sprintf("offload=%t", x.Offload), do: func(context.Context) error {
				return l.WriteAttr(path.Join(portal.Path(), "cxgbit"), boolDigit(x.Offload))
			}})
		}
	}
	return deletes, creates
}

// aclSteps are the deletions, creations and changes of one TPG's node
// ACLs: attributes, tag, mapped LUNs (made again with the LUNs in
// lunRemade) and CHAP.
func (st Store) aclSteps(tpg configfs.TPG, tp string, h, w *TPGConf, lunRemade map[int]bool, opts PlanOptions) (deletes, creates []Step) {
	l := st.LIO
	ha := map[string]*ACLConf{}
	for _, x := range h.ACLs {
		ha[x.WWN] = x
	}
	wa := map[string]*ACLConf{}
	for _, x := range w.ACLs {
		wa[x.WWN] = x
	}
	for _, x := range h.ACLs {
		if _, ok := wa[x.WWN]; !ok && !opts.KeepExtra {
			acl := configfs.ACL{TPG: tpg, NodeWWN: x.WWN}
			deletes = append(deletes, Step{Op: "delete", Path: tp + "/acls/" + x.WWN, do: func(context.Context) error { return ignoreMissing(l.DeleteACL(acl)) }})
		}
	}
	for _, x := range w.ACLs {
		acl := configfs.ACL{TPG: tpg, NodeWWN: x.WWN}
		ap := tp + "/acls/" + x.WWN
		hx, aclExists := ha[x.WWN]
		x := x
		if !aclExists {
			hx = &ACLConf{}
			creates = append(creates, Step{Op: "create", Path: ap, do: func(context.Context) error { return st.mkdir(acl.Path()) }})
		}
		if keys := changedKeys(hx.Attributes, x.Attributes, aclExists); len(keys) > 0 {
			creates = append(creates, Step{Op: "change", Path: ap, What: valuesWhat("attributes", aclExists, keys, x.Attributes), do: func(context.Context) error {
				return st.setValues(path.Join(acl.Path(), "attrib"), x.Attributes)
			}})
		}
		if x.Tag != hx.Tag && (x.Tag != "" || !opts.KeepExtra) {
			tag := x.Tag
			if tag == "" {
				tag = "NULL"
			}
			creates = append(creates, Step{Op: "change", Path: ap, What: "tag=" + tag, do: func(context.Context) error {
				return l.WriteAttr(path.Join(acl.Path(), "tag"), tag)
			}})
		}
		hm := map[int]*MappedLUNConf{}
		for _, m := range hx.MappedLUNs {
			hm[m.Index] = m
		}
		wmm := map[int]*MappedLUNConf{}
		for _, m := range x.MappedLUNs {
			wmm[m.Index] = m
		}
		for _, m := range hx.MappedLUNs {
			wmx, ok := wmm[m.Index]
			if (!ok && !opts.KeepExtra) || (ok && wmx.TPGLUN != m.TPGLUN) {
				ml := configfs.MappedLUN{ACL: acl, Index: m.Index}
				deletes = append(deletes, Step{Op: "delete", Path: fmt.Sprintf("%s/mapped_lun%d", ap, m.Index), do: func(context.Context) error {
					return ignoreMissing(l.DeleteMappedLUN(ml))
				}})
			}
		}
		for _, m := range x.MappedLUNs {
			hmx, ok := hm[m.Index]
			m := m
			mp := fmt.Sprintf("%s/mapped_lun%d", ap, m.Index)
			if !ok || hmx.TPGLUN != m.TPGLUN || lunRemade[m.TPGLUN] {
				creates = append(creates, Step{Op: "create", Path: mp, What: fmt.Sprintf("lun%d", m.TPGLUN), do: func(context.Context) error {
					return st.createMappedLUNConf(acl, m)
				}})
				continue
			}
			if hmx.WriteProtect != m.WriteProtect {
				ml := configfs.MappedLUN{ACL: acl, Index: m.Index}
				creates = append(creates, Step{Op: "change", Path: mp, What: fmt.Sprintf("write_protect=%t", m.WriteProtect), do: func(context.Context) error {
					return l.WriteAttr(path.Join(ml.Path(), "write_protect"), boolDigit(m.WriteProtect))
				}})
			}
		}
		if keys := authDiff(hx.Auth, x.Auth); len(keys) > 0 {
			creates = append(creates, Step{Op: "change", Path: ap, What: "auth " + describe(keys, x.Auth), do: func(context.Context) error {
				return st.setAuth(path.Join(acl.Path(), "auth"), x.Auth)
			}})
		}
	}
	return deletes, creates
}

// valuesWhat describes changed values; for a new object, where every
// value is "changed", only how many are set (those equal to the kernel's
// defaults are not written).
func valuesWhat(group string, existed bool, keys []string, want map[string]string) string {
	if !existed {
		return fmt.Sprintf("%s as in the file (%d values)", group, len(keys))
	}
	return group + " " + describe(keys, want)
}
