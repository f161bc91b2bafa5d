package config

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/tcmsh/tcmsh/configfs"
)

// ---- reading the kernel ----

// Snapshot reads the whole configuration from the kernel. Objects that
// cannot be read are listed in Skipped and left out, with what refers to them.
func (st Store) Snapshot() (*Config, error) {
	l := st.LIO
	cfg := &Config{unmanaged: map[string]bool{}}
	sos, err := l.StorageObjects()
	if err != nil {
		return nil, err
	}
	readable := map[configfs.StorageObject]string{}
	dumps, errs := st.dumpStorageObjects(sos)
	for i, so := range sos {
		c, err := dumps[i], errs[i]
		if err != nil {
			cfg.Skipped = append(cfg.Skipped, fmt.Sprintf("%s/%s: %v", configfs.BackstoreName(so.Plugin), so.Name, err))
			cfg.unmanaged[soPath(configfs.BackstoreName(so.Plugin), so.Name)] = true
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
		if fc := st.dumpDiscovery(f); fc != nil {
			cfg.FabricModules = append(cfg.FabricModules, fc)
		}
		ts, err := l.Targets(f)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			tc := &TargetConf{Fabric: f, WWN: t.WWN, Parameters: st.writableGroup(path.Join(t.Path(), "param"))}
			tpgs, err := l.TPGs(t)
			if err != nil {
				return nil, err
			}
			for _, tpg := range tpgs {
				pc, err := st.dumpTPG(tpg, readable, cfg)
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
func (st Store) writableGroup(dir string) map[string]string {
	out, err := st.LIO.ReadGroup(dir, configfs.DirEntry.Writable)
	if err != nil {
		return map[string]string{}
	}
	return out
}

// snapshotWorkers is how many storage objects Snapshot reads at once: the
// few dozen attribute reads of each are independent, and a kernel with
// two CPUs serves two readers at once.
const snapshotWorkers = 4

// dumpStorageObjects reads storage objects, in parallel, results in order.
func (st Store) dumpStorageObjects(sos []configfs.StorageObject) ([]*SOConf, []error) {
	dumps, errs := make([]*SOConf, len(sos)), make([]error, len(sos))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(snapshotWorkers, len(sos)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				dumps[i], errs[i] = st.dumpStorageObject(sos[i])
			}
		}()
	}
	for i := range sos {
		next <- i
	}
	close(next)
	wg.Wait()
	return dumps, errs
}

func (st Store) dumpStorageObject(so configfs.StorageObject) (*SOConf, error) {
	l := st.LIO
	si, err := l.StorageObjectInfo(so)
	if err != nil {
		return nil, err
	}
	if !si.Enabled {
		return nil, fmt.Errorf("not enabled, its parameters cannot be read")
	}
	serial, _ := l.UnitSerial(so)
	c := &SOConf{Name: so.Name, Plugin: configfs.BackstoreName(so.Plugin), WWN: serial, Size: si.Size, WriteBack: si.WriteBack}
	c.Attributes = st.writableGroup(path.Join(so.Path(), "attrib"))
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
		c.HwMaxSectors, c.Control = st.userGeometry(so.Path())
	}
	gps, _ := st.LIO.ALUAGroupNames(so)
	for _, g := range gps {
		f := st.aluaGroup(path.Join(so.Path(), "alua", g))
		c.ALUA = append(c.ALUA, &ALUAConf{Name: g, Fields: f})
	}
	return c, nil
}

// userGeometry reads what a user backstore was created with that only the
// control file sets and a restore must repeat: hw_max_sectors, and the
// control tokens rtslib saves (max_data_area_mb, hw_block_size,
// data_pages_per_blk, in its order) plus cmd_ring_size_mb when it is not
// the kernel's default. The attributes are read-only, so writableGroup
// leaves them out.
func (st Store) userGeometry(soDir string) (hwMaxSectors int, control string) {
	read := func(name string) string {
		v, err := st.LIO.ReadAttr(path.Join(soDir, "attrib", name))
		if err != nil {
			return ""
		}
		return strings.TrimSpace(v)
	}
	hwMaxSectors, _ = strconv.Atoi(read("hw_max_sectors"))
	var tokens []string
	for _, name := range []string{"max_data_area_mb", "hw_block_size", "data_pages_per_blk", "cmd_ring_size_mb"} {
		v := read(name)
		if v == "" || name == "cmd_ring_size_mb" && v == defaultCmdRingSizeMB {
			continue
		}
		tokens = append(tokens, name+"="+v)
	}
	return hwMaxSectors, strings.Join(tokens, ",")
}

// defaultCmdRingSizeMB is the kernel's command ring size of a user
// backstore (8 MiB).
const defaultCmdRingSizeMB = "8"

// aluaNumbers maps the words the kernel shows for ALUA fields to the
// numbers it takes (and saveconfig.json holds).
var aluaNumbers = map[string]map[string]string{
	"alua_access_type":   {"None": "0", "Implicit": "1", "Explicit": "2", "Implicit and Explicit": "3"},
	"alua_access_status": {"None": "0", "Altered by Explicit STPG": "1", "Altered by Implicit ALUA": "2"},
}

// aluaGroup reads an ALUA group's writable fields, as numbers.
func (st Store) aluaGroup(dir string) map[string]string {
	f := st.writableGroup(dir)
	delete(f, "members")
	// rtslib treats alua_support_lba_dependent as read-only: it does not
	// save it, and its restore refuses a file that sets it.
	delete(f, "alua_support_lba_dependent")
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

func (st Store) dumpDiscovery(fabric string) *FabricConf {
	dir := path.Join(configfs.Root, fabric, "discovery_auth")
	if !st.LIO.Exists(dir) {
		return nil
	}
	g := st.writableGroup(dir)
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

func (st Store) dumpAuth(dir string) map[string]string {
	out := map[string]string{}
	g := st.writableGroup(dir)
	for _, a := range authFiles {
		if v := g[a.File]; v != "" && v != "NULL" {
			out[a.Key] = v
		}
	}
	return out
}

func (st Store) dumpTPG(tpg configfs.TPG, readable map[configfs.StorageObject]string, cfg *Config) (*TPGConf, error) {
	l := st.LIO
	tc := &TPGConf{Tag: tpg.Tag, Nexus: l.Nexus(tpg)}
	en, err := l.ReadAttr(path.Join(tpg.Path(), "enable"))
	tc.Enable = err != nil || en == "1"
	tc.Attributes = st.writableGroup(path.Join(tpg.Path(), "attrib"))
	tc.Parameters = st.writableGroup(path.Join(tpg.Path(), "param"))
	tc.Auth = st.dumpAuth(path.Join(tpg.Path(), "auth"))
	luns, err := l.LUNs(tpg)
	if err != nil {
		return nil, err
	}
	skippedLUN := map[int]bool{}
	for _, x := range luns {
		sp, ok := readable[x.Storage]
		if !x.Linked || !ok {
			skippedLUN[x.Index] = true
			cfg.Skipped = append(cfg.Skipped, fmt.Sprintf("%s/luns/lun%d: its storage object was skipped", TPGNodePath(tpg), x.Index))
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
		ac := &ACLConf{WWN: a.NodeWWN, Attributes: st.writableGroup(path.Join(a.Path(), "attrib")), Auth: st.dumpAuth(path.Join(a.Path(), "auth"))}
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
