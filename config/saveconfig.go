package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/internal/suggest"
)

// ---- JSON, as targetcli-fb writes it ----

// jsonValue writes an attribute as targetcli does: numbers as numbers.
func jsonValue(v string) any {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && strconv.FormatInt(n, 10) == v {
		return n
	}
	return v
}

func jsonAttrs(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = jsonValue(v)
	}
	return out
}

// MarshalSaveconfig renders a configuration as saveconfig.json: sorted
// keys, indent 2, trailing newline.
func (c *Config) MarshalSaveconfig() ([]byte, error) {
	sos := []any{}
	for _, s := range c.StorageObjects {
		m := map[string]any{"name": s.Name, "plugin": s.Plugin, "attributes": jsonAttrs(s.Attributes)}
		alua := []any{}
		for _, g := range s.ALUA {
			gm := jsonAttrs(g.Fields)
			gm["name"] = g.Name
			alua = append(alua, gm)
		}
		m["alua_tpgs"] = alua
		switch s.Plugin {
		case "fileio":
			m["dev"], m["size"], m["write_back"], m["aio"], m["wwn"] = s.Dev, s.Size, s.WriteBack, s.AIO, s.WWN
		case "block":
			m["dev"], m["readonly"], m["write_back"], m["wwn"] = s.Dev, s.Readonly, s.WriteBack, s.WWN
		case "pscsi":
			m["dev"] = s.Dev
		case "ramdisk":
			m["size"], m["wwn"] = s.Size, s.WWN
			if s.Nullio {
				m["nullio"] = true
			}
		case "user":
			m["config"], m["size"], m["wwn"] = s.Config, s.Size, s.WWN
			if s.HwMaxSectors > 0 {
				m["hw_max_sectors"] = s.HwMaxSectors
			}
			if s.Control != "" {
				m["control"] = s.Control
			}
		}
		sos = append(sos, m)
	}
	targets := []any{}
	for _, t := range c.Targets {
		tpgs := []any{}
		for _, p := range t.TPGs {
			pm := map[string]any{"tag": p.Tag, "enable": p.Enable, "attributes": jsonAttrs(p.Attributes), "parameters": p.Parameters}
			if pm["parameters"] == nil || p.Parameters == nil {
				pm["parameters"] = map[string]string{}
			}
			for k, v := range p.Auth {
				pm[k] = v
			}
			luns := []any{}
			for _, x := range p.LUNs {
				lm := map[string]any{"index": x.Index, "storage_object": x.StorageObject, "alias": x.Alias}
				if x.ALUAGroup != "" {
					lm["alua_tg_pt_gp_name"] = x.ALUAGroup
				}
				luns = append(luns, lm)
			}
			pm["luns"] = luns
			portals := []any{}
			for _, x := range p.Portals {
				portals = append(portals, map[string]any{"ip_address": savedPortalIP(x.IP), "port": x.Port, "iser": x.ISER, "offload": x.Offload})
			}
			pm["portals"] = portals
			acls := []any{}
			for _, a := range p.ACLs {
				am := map[string]any{"node_wwn": configfs.FromFabricWWN(t.Fabric, a.WWN), "attributes": jsonAttrs(a.Attributes)}
				if a.Tag != "" {
					am["tag"] = a.Tag
				}
				for k, v := range a.Auth {
					am[k] = v
				}
				mls := []any{}
				for _, m := range a.MappedLUNs {
					mls = append(mls, map[string]any{"index": m.Index, "tpg_lun": m.TPGLUN, "write_protect": m.WriteProtect, "alias": m.Alias})
				}
				am["mapped_luns"] = mls
				acls = append(acls, am)
			}
			pm["node_acls"] = acls
			tpgs = append(tpgs, pm)
		}
		// rtslib's names: the FCoE fabric is tcm_fc, FC ports and
		// initiators naa.<16 hex>; both forms are read.
		tm := map[string]any{"fabric": configfs.SavedFabricName(t.Fabric), "wwn": configfs.FromFabricWWN(t.Fabric, t.WWN), "tpgs": tpgs}
		if len(t.Parameters) > 0 {
			tm["parameters"] = t.Parameters
		}
		targets = append(targets, tm)
	}
	fms := []any{}
	for _, f := range c.FabricModules {
		if f.Auth["discovery_enable_auth"] != "true" {
			continue
		}
		m := map[string]any{"name": f.Name}
		for k, v := range f.Auth {
			if k == "discovery_enable_auth" {
				m[k] = v == "true"
				continue
			}
			m[k] = v
		}
		fms = append(fms, m)
	}
	top := map[string]any{"storage_objects": sos, "targets": targets, "fabric_modules": fms}
	var buf bytes.Buffer
	buf.Grow(64 << 10)
	if err := writeIndentedJSON(&buf, top, 0); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// savedPortalIP is a portal's address as rtslib saves it: an IPv6 address
// in brackets ("[::1]"), as in the portal's configfs name, which is what
// rtslib's restore makes the directory from. Both forms are read.
func savedPortalIP(ip string) string {
	if strings.Contains(ip, ":") && !strings.HasPrefix(ip, "[") {
		return "[" + ip + "]"
	}
	return ip
}

// ConfigErrors lists every problem of a saveconfig file, each with its
// JSON path.
type ConfigErrors []string

func (e ConfigErrors) Error() string {
	if len(e) == 1 {
		return e[0]
	}
	return fmt.Sprintf("%d problems:\n  %s", len(e), strings.Join(e, "\n  "))
}

// decoder walks a generic JSON tree, collecting errors with JSON paths.
type decoder struct{ errs ConfigErrors }

func (d *decoder) errf(p, format string, a ...any) {
	d.errs = append(d.errs, p+": "+fmt.Sprintf(format, a...))
}

func (d *decoder) object(v any, p string, known ...string) map[string]any {
	m, ok := v.(map[string]any)
	if !ok {
		d.errf(p, "expected an object, found %s", jsonKind(v))
		return nil
	}
	allowed := map[string]bool{}
	for _, k := range known {
		allowed[k] = true
	}
	for _, k := range sortedKeys(m) {
		if !allowed[k] {
			msg := fmt.Sprintf("unknown key %q", k)
			if s := suggest.Nearest(k, known); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			d.errf(p, "%s", msg)
		}
	}
	return m
}

func (d *decoder) array(m map[string]any, key, p string) []any {
	v, ok := m[key]
	if !ok || v == nil {
		return nil
	}
	a, ok := v.([]any)
	if !ok {
		d.errf(p+"."+key, "expected an array, found %s", jsonKind(v))
	}
	return a
}

func (d *decoder) str(m map[string]any, key, p string, required bool) string {
	v, ok := m[key]
	if !ok || v == nil {
		if required {
			d.errf(p, "missing %q", key)
		}
		return ""
	}
	s, ok := v.(string)
	if !ok {
		d.errf(p+"."+key, "expected a string, found %s", jsonKind(v))
	}
	return s
}

func (d *decoder) num(m map[string]any, key, p string, required bool, min, max int64) int64 {
	v, ok := m[key]
	if !ok || v == nil {
		if required {
			d.errf(p, "missing %q", key)
		}
		return 0
	}
	n, ok := v.(json.Number)
	if !ok {
		d.errf(p+"."+key, "expected a number, found %s", jsonKind(v))
		return 0
	}
	x, err := n.Int64()
	switch {
	case max > 0 && (err != nil || x < min || x > max):
		d.errf(p+"."+key, "%s is not an integer from %d to %d", n, min, max)
	case err != nil && strings.ContainsAny(n.String(), ".eE"):
		d.errf(p+"."+key, "%s is not an integer (write it without a fraction or an exponent)", n)
	case err != nil:
		d.errf(p+"."+key, "%s is too large (at most %d)", n, int64(math.MaxInt64))
	case x < min:
		d.errf(p+"."+key, "%s is not an integer of %d or more", n, min)
	}
	return x
}

func (d *decoder) boolean(m map[string]any, key, p string) bool {
	v, ok := m[key]
	if !ok || v == nil {
		return false
	}
	switch b := v.(type) {
	case bool:
		return b
	case json.Number: // older files write 0/1
		return b.String() != "0"
	}
	d.errf(p+"."+key, "expected true or false, found %s", jsonKind(v))
	return false
}

// attrs reads an attributes object: numbers, strings and booleans, kept as
// the strings the kernel takes.
func (d *decoder) attrs(m map[string]any, key, p string) map[string]string {
	out := map[string]string{}
	v, ok := m[key]
	if !ok || v == nil {
		return out
	}
	am, ok := v.(map[string]any)
	if !ok {
		d.errf(p+"."+key, "expected an object, found %s", jsonKind(v))
		return out
	}
	for k, x := range am {
		if configfs.ValidName("attribute", k) != nil {
			d.errf(p+"."+key, "attribute name %q is not allowed", k)
			continue
		}
		switch y := x.(type) {
		case string:
			out[k] = y
		case json.Number:
			out[k] = y.String()
		case bool:
			out[k] = map[bool]string{true: "1", false: "0"}[y]
		default:
			d.errf(p+"."+key+"."+k, "expected a number or a string, found %s", jsonKind(x))
		}
	}
	return out
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// soPlugins maps the plugin names a file may use to targetcli's.
var soPlugins = map[string]string{"fileio": "fileio", "block": "block", "iblock": "block", "pscsi": "pscsi",
	"ramdisk": "ramdisk", "rd_mcp": "ramdisk", "user": "user"}

// ParseSaveconfig reads saveconfig.json and checks it as a whole: every
// problem is reported with its JSON path (ConfigErrors). With problems, the
// Config returned holds what could be read, for more checks; it must not
// be applied.
func ParseSaveconfig(data []byte) (*Config, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("not JSON: data after the top-level object")
	}
	d := &decoder{}
	top := d.object(root, "$", "storage_objects", "targets", "fabric_modules")
	if top == nil {
		return nil, d.errs
	}
	cfg := &Config{}
	soNames := map[string]bool{}
	for i, v := range d.array(top, "storage_objects", "storage_objects") {
		p := fmt.Sprintf("storage_objects[%d]", i)
		if s := d.storageObject(v, p, soNames); s != nil {
			cfg.StorageObjects = append(cfg.StorageObjects, s)
		}
	}
	for i, v := range d.array(top, "fabric_modules", "fabric_modules") {
		p := fmt.Sprintf("fabric_modules[%d]", i)
		m := d.object(v, p, "name", "discovery_enable_auth", "discovery_userid", "discovery_password", "discovery_mutual_userid", "discovery_mutual_password")
		if m == nil {
			continue
		}
		fc := &FabricConf{Name: d.str(m, "name", p, true), Auth: map[string]string{}}
		if err := configfs.ValidName("fabric", fc.Name); err != nil && fc.Name != "" {
			d.errf(p+".name", "%v", err)
		}
		fc.Auth["discovery_enable_auth"] = strconv.FormatBool(d.boolean(m, "discovery_enable_auth", p))
		for _, k := range discoveryFiles[1:] {
			if s := d.str(m, k.Key, p, false); s != "" {
				fc.Auth[k.Key] = s
			}
		}
		cfg.FabricModules = append(cfg.FabricModules, fc)
	}
	targetKeys := map[string]bool{}
	for i, v := range d.array(top, "targets", "targets") {
		p := fmt.Sprintf("targets[%d]", i)
		m := d.object(v, p, "fabric", "wwn", "tpgs", "parameters")
		if m == nil {
			continue
		}
		t := &TargetConf{Fabric: configfs.FabricFromSaved(d.str(m, "fabric", p, true)), WWN: d.str(m, "wwn", p, true), Parameters: d.attrs(m, "parameters", p)}
		if err := configfs.ValidName("fabric", t.Fabric); err != nil && t.Fabric != "" {
			d.errf(p+".fabric", "%v", err)
		}
		if t.WWN != "" {
			info, _ := configfs.LookupFabric(t.Fabric)
			if norm, err := configfs.ValidateWWN(t.WWN, info.WWNTypes); err != nil {
				d.errf(p+".wwn", "%v", err)
			} else {
				t.WWN = configfs.ToFabricWWN(t.Fabric, norm)
			}
		}
		if targetKeys[t.Fabric+"/"+t.WWN] {
			d.errf(p, "a second %s target %s", t.Fabric, t.WWN)
		}
		targetKeys[t.Fabric+"/"+t.WWN] = true
		tags := map[int]bool{}
		for j, tv := range d.array(m, "tpgs", p) {
			tp := fmt.Sprintf("%s.tpgs[%d]", p, j)
			if tc := d.tpg(tv, tp, t, tags); tc != nil {
				t.TPGs = append(t.TPGs, tc)
			}
		}
		cfg.Targets = append(cfg.Targets, t)
	}
	if len(d.errs) > 0 {
		return cfg, d.errs
	}
	return cfg, nil
}

// storageObject reads storage_objects[i] (at p); nil when it is not an object.
func (d *decoder) storageObject(v any, p string, soNames map[string]bool) *SOConf {
	m := d.object(v, p, "name", "plugin", "attributes", "alua_tpgs", "wwn", "dev", "size", "write_back", "aio",
		"readonly", "exclusive", "nullio", "config", "hw_max_sectors", "control")
	if m == nil {
		return nil
	}
	s := &SOConf{Name: d.str(m, "name", p, true)}
	plugin := d.str(m, "plugin", p, true)
	if err := configfs.ValidName("storage object", s.Name); err != nil && s.Name != "" {
		d.errf(p+".name", "%v", err)
	}
	var ok bool
	if s.Plugin, ok = soPlugins[plugin]; !ok && plugin != "" {
		d.errf(p+".plugin", "unknown plugin %q (fileio, block, pscsi, ramdisk, user)", plugin)
	}
	key := s.Plugin + "/" + s.Name
	if soNames[key] {
		d.errf(p, "a second %s storage object named %q", s.Plugin, s.Name)
	}
	soNames[key] = true
	s.Attributes = d.attrs(m, "attributes", p)
	s.WWN = d.str(m, "wwn", p, false)
	if s.WWN != "" && !configfs.ValidUnitSerial(s.WWN) {
		d.errf(p+".wwn", "%q is not a unit serial (a UUID)", s.WWN)
	}
	s.Dev = d.str(m, "dev", p, s.Plugin == "fileio" || s.Plugin == "block" || s.Plugin == "pscsi")
	if s.Dev != "" && (strings.ContainsFunc(s.Dev, func(r rune) bool { return r < 0x20 }) || (s.Plugin != "pscsi" && !strings.HasPrefix(s.Dev, "/"))) {
		d.errf(p+".dev", "%q is not an absolute path", s.Dev)
	}
	s.Size = d.num(m, "size", p, s.Plugin == "ramdisk" || s.Plugin == "user", 0, 0)
	s.WriteBack = d.boolean(m, "write_back", p)
	s.AIO = d.boolean(m, "aio", p)
	s.Readonly = d.boolean(m, "readonly", p)
	s.Nullio = d.boolean(m, "nullio", p)
	s.Config = d.str(m, "config", p, s.Plugin == "user")
	s.HwMaxSectors = int(d.num(m, "hw_max_sectors", p, false, 0, 1<<20))
	s.Control = d.str(m, "control", p, false)
	for j, g := range d.array(m, "alua_tpgs", p) {
		gp := fmt.Sprintf("%s.alua_tpgs[%d]", p, j)
		gm, ok := g.(map[string]any)
		if !ok {
			d.errf(gp, "expected an object, found %s", jsonKind(g))
			continue
		}
		name := d.str(gm, "name", gp, true)
		if err := configfs.ValidName("ALUA group", name); err != nil && name != "" {
			d.errf(gp+".name", "%v", err)
		}
		fields := d.attrs(map[string]any{"f": withoutKey(gm, "name")}, "f", gp)
		s.ALUA = append(s.ALUA, &ALUAConf{Name: name, Fields: fields})
	}
	return s
}

// tpg reads one TPG of target t (at tp); nil when it is not an object.
func (d *decoder) tpg(tv any, tp string, t *TargetConf, tags map[int]bool) *TPGConf {
	tm := d.object(tv, tp, "tag", "enable", "attributes", "parameters", "luns", "portals", "node_acls",
		"chap_userid", "chap_password", "chap_mutual_userid", "chap_mutual_password")
	if tm == nil {
		return nil
	}
	tc := &TPGConf{Tag: int(d.num(tm, "tag", tp, true, 1, 65535)), Enable: d.boolean(tm, "enable", tp),
		Attributes: d.attrs(tm, "attributes", tp), Parameters: d.attrs(tm, "parameters", tp), Auth: map[string]string{}}
	if tags[tc.Tag] {
		d.errf(tp+".tag", "a second TPG with tag %d", tc.Tag)
	}
	tags[tc.Tag] = true
	for _, a := range authFiles {
		if s := d.str(tm, a.Key, tp, false); s != "" {
			tc.Auth[a.Key] = s
		}
	}
	lunIdx := map[int]bool{}
	for k, lv := range d.array(tm, "luns", tp) {
		lp := fmt.Sprintf("%s.luns[%d]", tp, k)
		lm := d.object(lv, lp, "index", "storage_object", "alias", "alua_tg_pt_gp_name")
		if lm == nil {
			continue
		}
		lc := &LUNConf{Index: int(d.num(lm, "index", lp, true, 0, 65535)), StorageObject: d.str(lm, "storage_object", lp, true),
			Alias: d.str(lm, "alias", lp, false), ALUAGroup: d.str(lm, "alua_tg_pt_gp_name", lp, false)}
		if lunIdx[lc.Index] {
			d.errf(lp+".index", "a second LUN %d", lc.Index)
		}
		lunIdx[lc.Index] = true
		if lc.Alias != "" {
			if err := configfs.ValidName("LUN alias", lc.Alias); err != nil {
				d.errf(lp+".alias", "%v", err)
			}
		}
		if sp, ok := normalizeSOPath(lc.StorageObject); !ok {
			if lc.StorageObject != "" {
				d.errf(lp+".storage_object", "%q is not a /backstores/<plugin>/<name> path", lc.StorageObject)
			}
		} else {
			lc.StorageObject = sp
		}
		tc.LUNs = append(tc.LUNs, lc)
	}
	for k, pv := range d.array(tm, "portals", tp) {
		pp := fmt.Sprintf("%s.portals[%d]", tp, k)
		pm := d.object(pv, pp, "ip_address", "port", "iser", "offload")
		if pm == nil {
			continue
		}
		pc := &PortalConf{IP: strings.Trim(d.str(pm, "ip_address", pp, true), "[]"), Port: int(d.num(pm, "port", pp, true, 1, 65535)),
			ISER: d.boolean(pm, "iser", pp), Offload: d.boolean(pm, "offload", pp)}
		if pc.IP != "" && !validIP(pc.IP) {
			d.errf(pp+".ip_address", "%q is not an IPv4 or IPv6 address", pc.IP)
		}
		tc.Portals = append(tc.Portals, pc)
	}
	for k, av := range d.array(tm, "node_acls", tp) {
		ap := fmt.Sprintf("%s.node_acls[%d]", tp, k)
		if ac := d.acl(av, ap, t, tc, lunIdx); ac != nil {
			tc.ACLs = append(tc.ACLs, ac)
		}
	}
	return tc
}

// acl reads one node ACL of TPG tc (at ap); nil when it is not an object.
func (d *decoder) acl(av any, ap string, t *TargetConf, tc *TPGConf, lunIdx map[int]bool) *ACLConf {
	am := d.object(av, ap, "node_wwn", "attributes", "tag", "mapped_luns",
		"chap_userid", "chap_password", "chap_mutual_userid", "chap_mutual_password")
	if am == nil {
		return nil
	}
	ac := &ACLConf{WWN: d.str(am, "node_wwn", ap, true), Tag: d.str(am, "tag", ap, false), Attributes: d.attrs(am, "attributes", ap), Auth: map[string]string{}}
	if ac.WWN != "" {
		info, _ := configfs.LookupFabric(t.Fabric)
		if norm, err := configfs.ValidateWWN(ac.WWN, info.WWNTypes); err != nil {
			d.errf(ap+".node_wwn", "%v", err)
		} else {
			ac.WWN = configfs.ToFabricWWN(t.Fabric, norm)
		}
	}
	for _, a := range authFiles {
		if s := d.str(am, a.Key, ap, false); s != "" {
			ac.Auth[a.Key] = s
		}
	}
	mIdx := map[int]bool{}
	for q, mv := range d.array(am, "mapped_luns", ap) {
		mp := fmt.Sprintf("%s.mapped_luns[%d]", ap, q)
		mm := d.object(mv, mp, "index", "tpg_lun", "write_protect", "alias")
		if mm == nil {
			continue
		}
		mc := &MappedLUNConf{Index: int(d.num(mm, "index", mp, true, 0, 65535)), TPGLUN: int(d.num(mm, "tpg_lun", mp, true, 0, 65535)),
			WriteProtect: d.boolean(mm, "write_protect", mp), Alias: d.str(mm, "alias", mp, false)}
		if mIdx[mc.Index] {
			d.errf(mp+".index", "a second mapped LUN %d", mc.Index)
		}
		mIdx[mc.Index] = true
		if !lunIdx[mc.TPGLUN] {
			d.errf(mp+".tpg_lun", "TPG %d has no LUN %d", tc.Tag, mc.TPGLUN)
		}
		if mc.Alias != "" && configfs.ValidName("mapped LUN alias", mc.Alias) != nil {
			d.errf(mp+".alias", "alias %q is not allowed", mc.Alias)
		}
		ac.MappedLUNs = append(ac.MappedLUNs, mc)
	}
	return ac
}

func withoutKey(m map[string]any, key string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if k != key {
			out[k] = v
		}
	}
	return out
}

// normalizeSOPath turns /backstores/<plugin>/<name> with any accepted
// plugin spelling (iblock, rd_mcp, user:<subtype>) into targetcli's.
func normalizeSOPath(p string) (string, bool) {
	rest, ok := strings.CutPrefix(p, "/backstores/")
	if !ok {
		return "", false
	}
	plugin, name, ok := strings.Cut(rest, "/")
	if !ok || configfs.ValidName("storage object", name) != nil {
		return "", false
	}
	if strings.HasPrefix(plugin, "user:") {
		plugin = "user"
	}
	tc, ok := soPlugins[plugin]
	if !ok {
		return "", false
	}
	return soPath(tc, name), true
}

// checkReferences reports LUNs whose storage object is neither in the file
// nor (when existing is given) in the kernel.
func (c *Config) checkReferences(existing map[string]bool) ConfigErrors {
	have := map[string]bool{}
	for _, s := range c.StorageObjects {
		have[soPath(s.Plugin, s.Name)] = true
	}
	var errs ConfigErrors
	for i, t := range c.Targets {
		for j, p := range t.TPGs {
			for k, l := range p.LUNs {
				if !have[l.StorageObject] && !existing[l.StorageObject] {
					errs = append(errs, fmt.Sprintf("targets[%d].tpgs[%d].luns[%d].storage_object: no storage object %s", i, j, k, l.StorageObject))
				}
			}
		}
	}
	return errs
}
