package shell

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path"
	"sort"
	"strings"
	"syscall"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/internal/guard"
)

// Step is one change of a plan: what it does, on which path, and how.
type Step struct {
	Op   string // create, change, delete
	Path string // targetcli path
	What string // detail: the values changed
	do   func(ctx context.Context) error
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

// MakePlan compares two configurations.
func (sh *Shell) MakePlan(have, want *Config, opts PlanOptions) *Plan {
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
			deletes = append(deletes, Step{Op: "delete", Path: soKey(s), do: func(ctx context.Context) error { return sh.deleteSOConf(ctx, s) }})
		}
	}
	for _, k := range sortedKeys(wantSO) {
		w := wantSO[k]
		h, ok := haveSO[k]
		switch {
		case !ok:
			soSteps = append(soSteps, Step{Op: "create", Path: k, What: soSummary(w), do: func(ctx context.Context) error { return sh.createSOConf(ctx, w) }})
		case soRecreate(h, w):
			recreated[k] = true
			soSteps = append(soSteps, Step{Op: "change", Path: k, What: "made again: " + soSummary(w), do: func(ctx context.Context) error {
				if err := sh.deleteSOConf(ctx, h); err != nil {
					return err
				}
				return sh.createSOConf(ctx, w)
			}})
		default:
			so, _ := sh.soOf(w)
			if keys := diffValues(h.Attributes, w.Attributes); len(keys) > 0 {
				soSteps = append(soSteps, Step{Op: "change", Path: k, What: "attributes " + describe(keys, w.Attributes),
					do: func(context.Context) error {
						return sh.setValues(path.Join(so.Path(), "attrib"), w.Attributes)
					}})
			}
			soSteps = append(soSteps, sh.aluaSteps(k, so, h.ALUA, w.ALUA, opts)...)
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
				do: func(context.Context) error { return sh.setDiscovery(off) }})
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
				do: func(context.Context) error { return sh.setDiscovery(f) }})
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
				return ignoreMissing(sh.env.LIO.DeleteTarget(tg))
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
				if err := sh.env.LIO.LoadFabric(tg.Fabric); err != nil {
					return err
				}
				return sh.mkdir(tg.Path())
			}})
		}
		if keys := diffValues(h.Parameters, w.Parameters); len(keys) > 0 {
			wv := w.Parameters
			creates = append(creates, Step{Op: "change", Path: "/" + w.Fabric + "/" + w.WWN, What: valuesWhat("parameters", ok, keys, wv), do: func(context.Context) error {
				return sh.setValues(path.Join(tg.Path(), "param"), wv)
			}})
		}
		d, c := sh.tpgSteps(tg, h, w, recreated, opts)
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
		parts = append(parts, HumanSize(s.Size))
	}
	return strings.Join(parts, " ")
}

func (sh *Shell) aluaSteps(k string, so configfs.StorageObject, have, want []*ALUAConf, opts PlanOptions) []Step {
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
		if _, ok := wm[g.Name]; !ok && !opts.KeepExtra && g.Name != "default_tg_pt_gp" {
			dir := path.Join(so.Path(), "alua", g.Name)
			out = append(out, Step{Op: "delete", Path: k + "/alua/" + g.Name, do: func(context.Context) error { return sh.rmdir(dir) }})
		}
	}
	for _, g := range want {
		dir := path.Join(so.Path(), "alua", g.Name)
		h, ok := hm[g.Name]
		g := g
		if !ok {
			out = append(out, Step{Op: "create", Path: k + "/alua/" + g.Name, do: func(context.Context) error {
				if err := sh.mkdir(dir); err != nil {
					return err
				}
				return sh.setALUA(dir, g.Fields)
			}})
			continue
		}
		if keys := diffValues(h.Fields, g.Fields); len(keys) > 0 {
			out = append(out, Step{Op: "change", Path: k + "/alua/" + g.Name, What: describe(keys, g.Fields), do: func(context.Context) error {
				return sh.setALUA(dir, g.Fields)
			}})
		}
	}
	return out
}

// setALUA writes an ALUA group's fields, the id first.
func (sh *Shell) setALUA(dir string, fields map[string]string) error {
	cur := sh.aluaGroup(dir)
	keys := sortedKeys(fields)
	// The id first: the kernel wants it before the group is used.
	sort.SliceStable(keys, func(i, j int) bool { return keys[i] == "tg_pt_gp_id" && keys[j] != "tg_pt_gp_id" })
	return sh.writeChanged(dir, cur, keys, fields)
}

// tpgSteps are the deletions and creations/changes within one target.
func (sh *Shell) tpgSteps(tg configfs.Target, have, want *TargetConf, recreated map[string]bool, opts PlanOptions) (deletes, creates []Step) {
	l := sh.env.LIO
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
			deletes = append(deletes, Step{Op: "delete", Path: sh.tpgNodePath(tpg), do: func(context.Context) error { return ignoreMissing(l.DeleteTPG(tpg)) }})
		}
	}
	info, _ := configfs.LookupFabric(tg.Fabric)
	for _, w := range want.TPGs {
		tpg := configfs.TPG{Target: tg, Tag: w.Tag}
		tp := sh.tpgNodePath(tpg)
		h, ok := hm[w.Tag]
		if !ok {
			h = &TPGConf{Tag: w.Tag}
			creates = append(creates, Step{Op: "create", Path: tp, do: func(context.Context) error {
				if err := sh.mkdir(tpg.Path()); err != nil {
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
		if keys := diffValues(h.Attributes, w.Attributes); len(keys) > 0 {
			wv := w.Attributes
			creates = append(creates, Step{Op: "change", Path: tp, What: valuesWhat("attributes", ok, keys, wv), do: func(context.Context) error {
				return sh.setValues(path.Join(tpg.Path(), "attrib"), wv)
			}})
		}
		if keys := diffValues(h.Parameters, w.Parameters); len(keys) > 0 {
			wv := w.Parameters
			creates = append(creates, Step{Op: "change", Path: tp, What: valuesWhat("parameters", ok, keys, wv), do: func(context.Context) error {
				return sh.setValues(path.Join(tpg.Path(), "param"), wv)
			}})
		}
		// LUNs
		hl := map[int]*LUNConf{}
		for _, x := range h.LUNs {
			hl[x.Index] = x
		}
		wl := map[int]*LUNConf{}
		for _, x := range w.LUNs {
			wl[x.Index] = x
		}
		lunRemade := map[int]bool{}
		for _, x := range h.LUNs {
			wx, ok := wl[x.Index]
			gone := !ok && !opts.KeepExtra
			if gone || (ok && (wx.StorageObject != x.StorageObject || (wx.Alias != "" && wx.Alias != x.Alias))) {
				lun := configfs.LUN{TPG: tpg, Index: x.Index}
				lunRemade[x.Index] = ok
				deletes = append(deletes, Step{Op: "delete", Path: fmt.Sprintf("%s/luns/lun%d", tp, x.Index), do: func(context.Context) error {
					return ignoreMissing(l.DeleteLUN(lun))
				}})
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
					do: func(context.Context) error { return sh.createLUNConf(tpg, x) }})
				continue
			}
			if x.ALUAGroup != "" && x.ALUAGroup != hx.ALUAGroup {
				lun := configfs.LUN{TPG: tpg, Index: x.Index}
				creates = append(creates, Step{Op: "change", Path: fmt.Sprintf("%s/luns/lun%d", tp, x.Index), What: "alua_tg_pt_gp=" + x.ALUAGroup,
					do: func(context.Context) error { return l.WriteAttr(path.Join(lun.Path(), "alua_tg_pt_gp"), x.ALUAGroup) }})
			}
		}
		// Portals
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
		// ACLs
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
				creates = append(creates, Step{Op: "create", Path: ap, do: func(context.Context) error { return sh.mkdir(acl.Path()) }})
			}
			if keys := diffValues(hx.Attributes, x.Attributes); len(keys) > 0 {
				creates = append(creates, Step{Op: "change", Path: ap, What: valuesWhat("attributes", aclExists, keys, x.Attributes), do: func(context.Context) error {
					return sh.setValues(path.Join(acl.Path(), "attrib"), x.Attributes)
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
						return sh.createMappedLUNConf(acl, m)
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
					return sh.setAuth(path.Join(acl.Path(), "auth"), x.Auth)
				}})
			}
		}
		if keys := authDiff(h.Auth, w.Auth); len(keys) > 0 {
			wv := w.Auth
			creates = append(creates, Step{Op: "change", Path: tp, What: "auth " + describe(keys, wv), do: func(context.Context) error {
				return sh.setAuth(path.Join(tpg.Path(), "auth"), wv)
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

// valuesWhat describes changed values; for a new object, where every
// value is "changed", only how many are set (those equal to the kernel's
// defaults are not written).
func valuesWhat(group string, existed bool, keys []string, want map[string]string) string {
	if !existed {
		return fmt.Sprintf("%s as in the file (%d values)", group, len(keys))
	}
	return group + " " + describe(keys, want)
}

func boolDigit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func ignoreMissing(err error) error {
	if errors.Is(err, syscall.ENOENT) {
		return nil
	}
	return err
}

func (sh *Shell) mkdir(p string) error {
	if err := sh.env.LIO.FS().Mkdir(p); err != nil {
		return &configfs.Error{Op: "mkdir", Path: p, Err: configfs.Errno(err), Hint: hintOf(err)}
	}
	return nil
}

func (sh *Shell) rmdir(p string) error {
	if err := sh.env.LIO.FS().Rmdir(p); err != nil && !errors.Is(err, syscall.ENOENT) {
		return err
	}
	return nil
}

func hintOf(err error) string {
	var ce *configfs.Error
	if errors.As(err, &ce) {
		return ce.Hint
	}
	return ""
}

// setValues writes the keys of want that differ from have. Attributes the
// kernel does not have are skipped with a warning: a file from another
// kernel version may name some.
func (sh *Shell) setValues(dir string, want map[string]string) error {
	return sh.writeChanged(dir, sh.writableGroup(dir), sortedKeys(want), want)
}

// writeChanged writes, in the order of keys, the values of want that differ
// from cur; a key cur lacks is skipped with a warning.
func (sh *Shell) writeChanged(dir string, cur map[string]string, keys []string, want map[string]string) error {
	for _, k := range keys {
		v := want[k]
		c, exists := cur[k]
		if !exists {
			fmt.Fprintf(sh.opts.Err, "warning: %s has no writable %s; skipped\n", dir, k)
			continue
		}
		if c == v {
			continue
		}
		if err := sh.env.LIO.WriteAttr(path.Join(dir, k), v); err != nil {
			return fmt.Errorf("%s=%s: %w", k, v, err)
		}
	}
	return nil
}

// setAuth writes chap_* values into an auth/ directory; a key missing
// from want clears the file (the kernel shows an empty one as NULL).
func (sh *Shell) setAuth(dir string, want map[string]string) error {
	cur := sh.writableGroup(dir)
	for _, a := range authFiles {
		v := want[a.Key]
		c := cur[a.File]
		if c == "NULL" {
			c = ""
		}
		if c == v {
			continue
		}
		if v == "" {
			v = "NULL"
		}
		if err := sh.env.LIO.WriteAttr(path.Join(dir, a.File), v); err != nil {
			return fmt.Errorf("%s: %w", a.Key, err)
		}
	}
	return nil
}

// authDiff lists the chap_* keys whose values differ.
func authDiff(have, want map[string]string) []string {
	var out []string
	for _, a := range authFiles {
		if have[a.Key] != want[a.Key] {
			out = append(out, a.Key)
		}
	}
	return out
}

func (sh *Shell) setDiscovery(f *FabricConf) error {
	if err := sh.env.LIO.LoadFabric(f.Name); err != nil {
		return err
	}
	dir := path.Join(configfs.Root, f.Name, "discovery_auth")
	for _, d := range discoveryFiles[1:] {
		if v, ok := f.Auth[d.Key]; ok {
			if err := sh.env.LIO.WriteAttr(path.Join(dir, d.File), v); err != nil {
				return fmt.Errorf("%s: %w", d.Key, err)
			}
		}
	}
	en := "0"
	if f.Auth["discovery_enable_auth"] == "true" {
		en = "1"
	}
	return sh.env.LIO.WriteAttr(path.Join(dir, "enforce_discovery_auth"), en)
}

// soOf finds the kernel object of a storage object configuration.
func (sh *Shell) soOf(s *SOConf) (configfs.StorageObject, error) {
	plugin, _ := configfs.PluginOf(s.Plugin)
	return sh.env.LIO.FindStorageObject(plugin, s.Name)
}

func (sh *Shell) deleteSOConf(ctx context.Context, s *SOConf) error {
	so, err := sh.soOf(s)
	if err != nil {
		return nil // already gone
	}
	return sh.deleteStorageObject(ctx, so)
}

func (sh *Shell) createSOConf(ctx context.Context, s *SOConf) error {
	plugin, _ := configfs.PluginOf(s.Plugin)
	spec := BackstoreSpec{Plugin: plugin, Name: s.Name, Dev: s.Dev, Size: s.Size, WriteBack: s.WriteBack, Sparse: true,
		Readonly: s.Readonly, Nullio: s.Nullio, Config: s.Config, HwMaxSectors: s.HwMaxSectors, Control: s.Control, WWN: s.WWN}
	if plugin == "user" {
		spec.Subtype, _, _ = strings.Cut(s.Config, "/")
	}
	so, _, err := sh.createBackstore(ctx, spec)
	if err != nil {
		return err
	}
	if err := sh.setValues(path.Join(so.Path(), "attrib"), s.Attributes); err != nil {
		return fmt.Errorf("%s attributes: %w", s.Name, err)
	}
	for _, g := range s.ALUA {
		dir := path.Join(so.Path(), "alua", g.Name)
		if !sh.env.LIO.Exists(dir) {
			if err := sh.mkdir(dir); err != nil {
				return err
			}
		}
		if err := sh.setALUA(dir, g.Fields); err != nil {
			return fmt.Errorf("%s ALUA group %s: %w", s.Name, g.Name, err)
		}
	}
	return nil
}

func (sh *Shell) createLUNConf(tpg configfs.TPG, x *LUNConf) error {
	rest := strings.TrimPrefix(x.StorageObject, "/backstores/")
	pluginName, name, _ := strings.Cut(rest, "/")
	plugin, _ := configfs.PluginOf(pluginName)
	so, err := sh.env.LIO.FindStorageObject(plugin, name)
	if err != nil {
		return fmt.Errorf("LUN %d: %w", x.Index, err)
	}
	if _, err := sh.env.LIO.CreateLUN(tpg, x.Index, so, x.Alias); err != nil {
		return err
	}
	if x.ALUAGroup != "" && x.ALUAGroup != "default_tg_pt_gp" {
		lun := configfs.LUN{TPG: tpg, Index: x.Index}
		if err := sh.env.LIO.WriteAttr(path.Join(lun.Path(), "alua_tg_pt_gp"), x.ALUAGroup); err != nil {
			return err
		}
	}
	return nil
}

func (sh *Shell) createMappedLUNConf(acl configfs.ACL, m *MappedLUNConf) error {
	l := sh.env.LIO
	ml := configfs.MappedLUN{ACL: acl, Index: m.Index}
	if l.Exists(ml.Path()) {
		if err := l.DeleteMappedLUN(ml); err != nil {
			return err
		}
	}
	if m.Alias == "" {
		_, err := l.CreateMappedLUN(acl, m.Index, m.TPGLUN, m.WriteProtect)
		return err
	}
	if err := sh.mkdir(ml.Path()); err != nil {
		return err
	}
	target := configfs.LUN{TPG: acl.TPG, Index: m.TPGLUN}
	if err := l.FS().Symlink(target.Path(), path.Join(ml.Path(), m.Alias)); err != nil {
		_ = l.FS().Rmdir(ml.Path())
		return fmt.Errorf("map LUN %d into %s: %w", m.TPGLUN, acl.NodeWWN, err)
	}
	if m.WriteProtect {
		return l.WriteAttr(path.Join(ml.Path(), "write_protect"), "1")
	}
	return nil
}

// Execute runs a plan's steps in order, stopping at the first failure.
func (sh *Shell) Execute(ctx context.Context, p *Plan) error {
	for _, s := range p.Steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.do(ctx); err != nil {
			return fmt.Errorf("%s %s: %w", s.Op, s.Path, err)
		}
	}
	return nil
}

// ApplyConfig makes the kernel match want, all or nothing: when a step
// fails, the configuration read before the first step is put back, and
// the image files the steps made are removed.
func (sh *Shell) ApplyConfig(ctx context.Context, want *Config, opts PlanOptions) (*Plan, error) {
	before, err := sh.Snapshot()
	if err != nil {
		return nil, err
	}
	opts.Unmanaged = sh.unmanaged()
	plan := sh.MakePlan(before, want, opts)
	mark, end := sh.beginUndo()
	defer end()
	// A panic in a step is rolled back like any failed step.
	if err := guard.Run("applying the configuration", func() error { return sh.Execute(ctx, plan) }); err != nil {
		done, rerr := sh.rollbackRun(before, mark)
		if rerr != nil {
			return plan, errors.Join(err, fmt.Errorf("putting the previous configuration back failed: %w%s", rerr, undoneText(done)))
		}
		return plan, fmt.Errorf("%w (nothing was changed: the previous configuration is back%s)", err, undoneText(done))
	}
	return plan, nil
}

// unmanaged lists storage objects that Snapshot cannot read: plans never
// delete them.
func (sh *Shell) unmanaged() map[string]bool {
	out := map[string]bool{}
	sos, err := sh.env.LIO.StorageObjects()
	if err != nil {
		return out
	}
	for _, so := range sos {
		si, err := sh.env.LIO.StorageObjectInfo(so)
		if err != nil || !si.Enabled {
			out[soPath(configfs.BackstoreName(so.Plugin), so.Name)] = true
		}
	}
	return out
}

// rollback makes the kernel match a snapshot again. It runs without
// cancellation: an interrupted rollback would leave a half state.
func (sh *Shell) rollback(before *Config) error {
	now, err := sh.Snapshot()
	if err != nil {
		return err
	}
	plan := sh.MakePlan(now, before, PlanOptions{Unmanaged: sh.unmanaged()})
	var errs []error
	for _, s := range plan.Steps {
		if err := s.do(context.Background()); err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", s.Op, s.Path, err))
		}
	}
	return errors.Join(errs...)
}

// ClearConfig deletes every target and storage object.
func (sh *Shell) ClearConfig(ctx context.Context) error {
	l := sh.env.LIO
	fabrics, err := l.Fabrics()
	if err != nil {
		return err
	}
	for _, f := range fabrics {
		ts, err := l.Targets(f)
		if err != nil {
			return err
		}
		for _, t := range ts {
			if err := l.DeleteTarget(t); err != nil {
				return err
			}
		}
		dir := path.Join(configfs.Root, f, "discovery_auth", "enforce_discovery_auth")
		if v, err := l.ReadAttr(dir); err == nil && v == "1" {
			_ = l.WriteAttr(dir, "0")
		}
	}
	sos, err := l.StorageObjects()
	if err != nil {
		return err
	}
	for _, so := range sos {
		if err := sh.deleteStorageObject(ctx, so); err != nil {
			return err
		}
	}
	return nil
}
