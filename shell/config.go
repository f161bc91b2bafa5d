package shell

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/tcmsh/tcmsh/configfs"
)

// Config is a whole LIO configuration in the terms of targetcli-fb's
// saveconfig.json. It is what saveconfig writes, restoreconfig and apply
// read, and what --atomic snapshots.
type Config struct {
	StorageObjects []*SOConf
	Targets        []*TargetConf
	FabricModules  []*FabricConf
	// Skipped names objects that could not be read (warnings for saveconfig).
	Skipped []string
}

// SOConf is one storage object.
type SOConf struct {
	Name   string
	Plugin string // fileio, block, pscsi, ramdisk, user
	// Attributes are the writable attrib/ values, as the kernel shows them.
	Attributes   map[string]string
	ALUA         []*ALUAConf
	WWN          string
	Dev          string
	Size         int64
	WriteBack    bool
	AIO          bool
	Readonly     bool
	Nullio       bool
	Config       string // user: subtype/cfgstring
	HwMaxSectors int
	Control      string
}

// ALUAConf is one ALUA target port group of a storage object.
type ALUAConf struct {
	Name   string
	Fields map[string]string // tg_pt_gp_id, alua_access_state, …
}

// TargetConf is one target.
type TargetConf struct {
	Fabric, WWN string
	// Parameters are the target-wide <fabric>/<wwn>/param/ values
	// (cmd_completion_affinity on 6.x kernels), as targetcli-fb 2.1.53
	// saves them.
	Parameters map[string]string
	TPGs       []*TPGConf
}

// TPGConf is one TPG.
type TPGConf struct {
	Tag    int
	Enable bool
	// Nexus is the loopback/vhost initiator: not in saveconfig.json (as
	// targetcli), kept so that --atomic and apply put the same one back.
	Nexus      string
	Attributes map[string]string
	Parameters map[string]string
	Auth       map[string]string // chap_userid, chap_password, chap_mutual_userid, chap_mutual_password
	LUNs       []*LUNConf
	Portals    []*PortalConf
	ACLs       []*ACLConf
}

// LUNConf is one TPG LUN.
type LUNConf struct {
	Index         int
	StorageObject string // /backstores/<plugin>/<name>
	Alias         string
	ALUAGroup     string
}

// PortalConf is one network portal.
type PortalConf struct {
	IP            string
	Port          int
	ISER, Offload bool
}

// ACLConf is one node ACL.
type ACLConf struct {
	WWN        string
	Tag        string
	Attributes map[string]string
	Auth       map[string]string
	MappedLUNs []*MappedLUNConf
}

// MappedLUNConf is one mapped LUN of an ACL.
type MappedLUNConf struct {
	Index, TPGLUN int
	WriteProtect  bool
	Alias         string
}

// FabricConf is a fabric module's discovery authentication.
type FabricConf struct {
	Name string
	Auth map[string]string // discovery_enable_auth ("true"/"false"), discovery_userid, …
}

// authFiles maps saveconfig's chap_* keys to auth/ files.
var authFiles = []struct{ Key, File string }{
	{"chap_userid", "userid"}, {"chap_password", "password"},
	{"chap_mutual_userid", "userid_mutual"}, {"chap_mutual_password", "password_mutual"},
}

// discoveryFiles maps saveconfig's discovery_* keys to discovery_auth/ files.
var discoveryFiles = []struct{ Key, File string }{
	{"discovery_enable_auth", "enforce_discovery_auth"},
	{"discovery_userid", "userid"}, {"discovery_password", "password"},
	{"discovery_mutual_userid", "userid_mutual"}, {"discovery_mutual_password", "password_mutual"},
}

// soPath is the targetcli path a LUN's storage_object names.
func soPath(plugin, name string) string { return "/backstores/" + plugin + "/" + name }

// ---- reading the kernel ----

// Snapshot reads the whole configuration from the kernel. Objects that
// cannot be read are listed in Skipped and left out, with what refers to them.
func (sh *Shell) Snapshot() (*Config, error) {
	l := sh.env.LIO
	cfg := &Config{}
	sos, err := l.StorageObjects()
	if err != nil {
		return nil, err
	}
	readable := map[configfs.StorageObject]string{}
	for _, so := range sos {
		c, err := sh.dumpStorageObject(so)
		if err != nil {
			cfg.Skipped = append(cfg.Skipped, fmt.Sprintf("%s/%s: %v", configfs.BackstoreName(so.Plugin), so.Name, err))
			continue
		}
		readable[so] = soPath(c.Plugin, c.Name)
		cfg.StorageObjects = append(cfg.StorageObjects, c)
	}
	fabrics, err := l.Fabrics()
	if err != nil {
		return nil, err
	}
	for _, f := range fabrics {
		if fc := sh.dumpDiscovery(f); fc != nil {
			cfg.FabricModules = append(cfg.FabricModules, fc)
		}
		ts, err := l.Targets(f)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			tc := &TargetConf{Fabric: f, WWN: t.WWN, Parameters: sh.writableGroup(path.Join(t.Path(), "param"))}
			tpgs, err := l.TPGs(t)
			if err != nil {
				return nil, err
			}
			for _, tpg := range tpgs {
				pc, err := sh.dumpTPG(tpg, readable, cfg)
				if err != nil {
					return nil, err
				}
				tc.TPGs = append(tc.TPGs, pc)
			}
			cfg.Targets = append(cfg.Targets, tc)
		}
	}
	return cfg, nil
}

// writableGroup reads the writable attributes of a directory.
func (sh *Shell) writableGroup(dir string) map[string]string {
	l := sh.env.LIO
	es, err := l.FS().ReadDir(dir)
	if err != nil {
		return map[string]string{}
	}
	out := map[string]string{}
	for _, e := range es {
		if e.Kind != configfs.KindAttr || !e.Writable() || !e.Readable() {
			continue
		}
		v, err := l.ReadAttr(path.Join(dir, e.Name))
		if err != nil {
			continue
		}
		out[e.Name] = v
	}
	return out
}

func (sh *Shell) dumpStorageObject(so configfs.StorageObject) (*SOConf, error) {
	l := sh.env.LIO
	si, err := l.StorageObjectInfo(so)
	if err != nil {
		return nil, err
	}
	if !si.Enabled {
		return nil, fmt.Errorf("not enabled, its parameters cannot be read")
	}
	c := &SOConf{Name: so.Name, Plugin: configfs.BackstoreName(so.Plugin), WWN: si.UnitSerial, Size: si.Size, WriteBack: si.WriteBack}
	c.Attributes = sh.writableGroup(path.Join(so.Path(), "attrib"))
	fields := infoFieldsOf(si.Info)
	switch so.Plugin {
	case "fileio":
		c.Dev = si.Dev
		c.AIO = strings.Contains(si.Info, "Async: 1")
	case "iblock":
		c.Dev = si.Dev
		c.Readonly = fields["readonly"] == "1"
	case "pscsi":
		c.Dev = si.Dev
		c.WWN = ""
		if c.Dev == "" {
			c.Dev = fmt.Sprintf("%s:%s:%s:%s", fields["Host ID"], fields["Channel ID"], fields["Target ID"], fields["LUN"])
		}
	case "rd_mcp":
		c.Nullio = strings.Contains(si.Info, "nullio: 1")
	case "user":
		c.Config = si.Config
		if c.Config == "" {
			return nil, fmt.Errorf("no dev_config")
		}
		c.HwMaxSectors, _ = strconv.Atoi(c.Attributes["hw_max_sectors"])
	}
	gps, _ := sh.dirNames(path.Join(so.Path(), "alua"))
	for _, g := range gps {
		f := sh.aluaGroup(path.Join(so.Path(), "alua", g))
		c.ALUA = append(c.ALUA, &ALUAConf{Name: g, Fields: f})
	}
	return c, nil
}

// aluaNumbers maps the words the kernel shows for ALUA fields to the
// numbers it takes (and saveconfig.json holds).
var aluaNumbers = map[string]map[string]string{
	"alua_access_type":   {"None": "0", "Implicit": "1", "Explicit": "2", "Implicit and Explicit": "3"},
	"alua_access_status": {"None": "0", "Altered by Explicit STPG": "1", "Altered by Implicit ALUA": "2"},
}

// aluaGroup reads an ALUA group's writable fields, as numbers.
func (sh *Shell) aluaGroup(dir string) map[string]string {
	f := sh.writableGroup(dir)
	delete(f, "members")
	for k, words := range aluaNumbers {
		if n, ok := words[f[k]]; ok {
			f[k] = n
		}
	}
	return f
}

// infoFieldsOf picks "readonly: 1"-style fields out of an info text.
func infoFieldsOf(info string) map[string]string {
	out := map[string]string{}
	for _, f := range []string{"readonly", "Host ID", "Channel ID", "Target ID", "LUN"} {
		if i := strings.Index(info, f+": "); i >= 0 {
			rest := info[i+len(f)+2:]
			out[f] = strings.Fields(rest + " ")[0]
		}
	}
	return out
}

func (sh *Shell) dumpDiscovery(fabric string) *FabricConf {
	dir := path.Join(configfs.Root, fabric, "discovery_auth")
	if !sh.env.LIO.Exists(dir) {
		return nil
	}
	g := sh.writableGroup(dir)
	// Every fabric with discovery_auth is kept (so that --atomic puts the
	// credentials back); saveconfig.json lists only those with it enabled.
	fc := &FabricConf{Name: fabric, Auth: map[string]string{}}
	for _, d := range discoveryFiles {
		v := g[d.File]
		if d.File == "enforce_discovery_auth" {
			fc.Auth[d.Key] = strconv.FormatBool(v == "1")
			continue
		}
		if v != "" && v != "NULL" {
			fc.Auth[d.Key] = v
		}
	}
	return fc
}

func (sh *Shell) dumpAuth(dir string) map[string]string {
	out := map[string]string{}
	g := sh.writableGroup(dir)
	for _, a := range authFiles {
		if v := g[a.File]; v != "" && v != "NULL" {
			out[a.Key] = v
		}
	}
	return out
}

func (sh *Shell) dumpTPG(tpg configfs.TPG, readable map[configfs.StorageObject]string, cfg *Config) (*TPGConf, error) {
	l := sh.env.LIO
	tc := &TPGConf{Tag: tpg.Tag, Nexus: l.Nexus(tpg)}
	en, err := l.ReadAttr(path.Join(tpg.Path(), "enable"))
	tc.Enable = err != nil || en == "1"
	tc.Attributes = sh.writableGroup(path.Join(tpg.Path(), "attrib"))
	tc.Parameters = sh.writableGroup(path.Join(tpg.Path(), "param"))
	tc.Auth = sh.dumpAuth(path.Join(tpg.Path(), "auth"))
	luns, err := l.LUNs(tpg)
	if err != nil {
		return nil, err
	}
	skippedLUN := map[int]bool{}
	for _, x := range luns {
		sp, ok := readable[x.Storage]
		if !x.Linked || !ok {
			skippedLUN[x.Index] = true
			cfg.Skipped = append(cfg.Skipped, fmt.Sprintf("%s/luns/lun%d: its storage object was skipped", sh.tpgNodePath(tpg), x.Index))
			continue
		}
		gp, _ := l.ReadAttr(path.Join(x.Path(), "alua_tg_pt_gp"))
		gp = firstLine(strings.TrimPrefix(gp, "TG Port Alias: "))
		tc.LUNs = append(tc.LUNs, &LUNConf{Index: x.Index, StorageObject: sp, Alias: x.Alias, ALUAGroup: gp})
	}
	portals, err := l.Portals(tpg)
	if err != nil {
		return nil, err
	}
	for _, p := range portals {
		pc := &PortalConf{IP: p.IP, Port: p.Port}
		iser, _ := l.ReadAttr(path.Join(p.Path(), "iser"))
		off, _ := l.ReadAttr(path.Join(p.Path(), "cxgbit"))
		pc.ISER, pc.Offload = iser == "1", off == "1"
		tc.Portals = append(tc.Portals, pc)
	}
	acls, err := l.ACLs(tpg)
	if err != nil {
		return nil, err
	}
	for _, a := range acls {
		ac := &ACLConf{WWN: a.NodeWWN, Attributes: sh.writableGroup(path.Join(a.Path(), "attrib")), Auth: sh.dumpAuth(path.Join(a.Path(), "auth"))}
		if tag, err := l.ReadAttr(path.Join(a.Path(), "tag")); err == nil && tag != "" && tag != "NULL" {
			ac.Tag = tag
		}
		mls, err := l.MappedLUNs(a)
		if err != nil {
			return nil, err
		}
		for _, m := range mls {
			if m.TPGLUN < 0 || skippedLUN[m.TPGLUN] {
				continue
			}
			ac.MappedLUNs = append(ac.MappedLUNs, &MappedLUNConf{Index: m.Index, TPGLUN: m.TPGLUN, WriteProtect: m.WriteProtect, Alias: m.Alias})
		}
		tc.ACLs = append(tc.ACLs, ac)
	}
	return tc, nil
}

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
				portals = append(portals, map[string]any{"ip_address": x.IP, "port": x.Port, "iser": x.ISER, "offload": x.Offload})
			}
			pm["portals"] = portals
			acls := []any{}
			for _, a := range p.ACLs {
				am := map[string]any{"node_wwn": a.WWN, "attributes": jsonAttrs(a.Attributes)}
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
		tm := map[string]any{"fabric": t.Fabric, "wwn": t.WWN, "tpgs": tpgs}
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
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(top); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
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
			if s := suggest(k, known); s != "" {
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
	if err != nil || x < min || (max > 0 && x > max) {
		d.errf(p+"."+key, "%s is not an integer from %d to %d", n, min, max)
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
		m := d.object(v, p, "name", "plugin", "attributes", "alua_tpgs", "wwn", "dev", "size", "write_back", "aio",
			"readonly", "exclusive", "nullio", "config", "hw_max_sectors", "control")
		if m == nil {
			continue
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
		cfg.StorageObjects = append(cfg.StorageObjects, s)
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
		t := &TargetConf{Fabric: d.str(m, "fabric", p, true), WWN: d.str(m, "wwn", p, true), Parameters: d.attrs(m, "parameters", p)}
		if err := configfs.ValidName("fabric", t.Fabric); err != nil && t.Fabric != "" {
			d.errf(p+".fabric", "%v", err)
		}
		if t.WWN != "" {
			info, _ := configfs.LookupFabric(t.Fabric)
			if norm, err := configfs.ValidateWWN(t.WWN, info.WWNTypes); err != nil {
				d.errf(p+".wwn", "%v", err)
			} else {
				t.WWN = norm
			}
		}
		if targetKeys[t.Fabric+"/"+t.WWN] {
			d.errf(p, "a second %s target %s", t.Fabric, t.WWN)
		}
		targetKeys[t.Fabric+"/"+t.WWN] = true
		tags := map[int]bool{}
		for j, tv := range d.array(m, "tpgs", p) {
			tp := fmt.Sprintf("%s.tpgs[%d]", p, j)
			tm := d.object(tv, tp, "tag", "enable", "attributes", "parameters", "luns", "portals", "node_acls",
				"chap_userid", "chap_password", "chap_mutual_userid", "chap_mutual_password")
			if tm == nil {
				continue
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
				am := d.object(av, ap, "node_wwn", "attributes", "tag", "mapped_luns",
					"chap_userid", "chap_password", "chap_mutual_userid", "chap_mutual_password")
				if am == nil {
					continue
				}
				ac := &ACLConf{WWN: d.str(am, "node_wwn", ap, true), Tag: d.str(am, "tag", ap, false), Attributes: d.attrs(am, "attributes", ap), Auth: map[string]string{}}
				if ac.WWN != "" {
					info, _ := configfs.LookupFabric(t.Fabric)
					if norm, err := configfs.ValidateWWN(ac.WWN, info.WWNTypes); err != nil {
						d.errf(ap+".node_wwn", "%v", err)
					} else {
						ac.WWN = norm
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
				tc.ACLs = append(tc.ACLs, ac)
			}
			t.TPGs = append(t.TPGs, tc)
		}
		cfg.Targets = append(cfg.Targets, t)
	}
	if len(d.errs) > 0 {
		return cfg, d.errs
	}
	return cfg, nil
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
