package sim

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// This file is target_core_configfs.c and the backends' configfs halves
// (target_core_file.c, target_core_iblock.c, target_core_rd.c,
// target_core_pscsi.c, target_core_user.c): target/, core/, HBAs, storage
// objects and their attrib/, pr/, wwn/, alua/ and statistics/ groups.

const targetCoreVersion = "v5.0"

// registerOnce builds the tables of every group's attributes and makers
// when the first kernel opens rather than at program start: a one-shot
// tcmsh on the real kernel never needs them, and building them cost more
// than any other package's init.
var registerOnce sync.Once

func registerAll() {
	registerOnce.Do(func() {
		registerCore()
		registerFabric()
		registerStats()
	})
}

func registerCore() {
	register("target",
		roAttr("version", func(k *Kernel, _ *node) string {
			return fmt.Sprintf("Target Engine Core ConfigFS Infrastructure %s on Linux/%s on %s\n",
				targetCoreVersion, k.opts.Machine, k.opts.KernelRelease)
		}),
		attrDef{name: "dbroot", perm: 0o644, init: func(*Kernel, *node) string {
			// target_init_dbroot: /etc/target when it is a directory.
			if fi, err := os.Stat("/etc/target"); err == nil && fi.IsDir() {
				return "/etc/target"
			}
			return "/var/target"
		}, store: storeDBRoot},
	)
	makers["target"] = makeFabric
	makers["core"] = makeHBA
	makers["hba"] = makeStorageObject
	makers["lu_gps"] = makeLUGroup
	makers["so_alua"] = makeTGPtGroup
	makers["so_stat"] = func(*Kernel, *node, string) (*node, error) { return nil, syscall.ENOSYS }
	removers["tg_pt_gp"] = removeTGPtGroup
	removers["lu_gp"] = func(k *Kernel, g *node) error {
		// Its members go back to default_lu_gp (core_alua_free_lu_gp).
		for _, so := range k.allStorageObjects() {
			if so.meta["lu_gp"] == g.name {
				so.meta["lu_gp"] = "default_lu_gp"
			}
		}
		return nil
	}
	removers["so"] = func(k *Kernel, so *node) error {
		if so.meta["uio_minor"] != "" {
			delete(k.uio, int(atoi(so.meta["uio_minor"]))) // the uio device goes with the object
		}
		return nil
	}

	register("hba",
		roAttr("hba_info", func(_ *Kernel, n *node) string {
			return fmt.Sprintf("HBA Index: %s plugin: %s version: %s\n", n.meta["index"], n.meta["plugin"], targetCoreVersion)
		}),
		attrDef{name: "hba_mode", perm: 0o644, init: constInit("0"), store: storeHBAMode},
	)
	registerLUGroup()
	registerStorageObject()
}

func storeDBRoot(k *Kernel, _ *node, a *node, v string) error {
	for _, c := range k.root.children["target"].children {
		if c.typ == "fabric" {
			return syscall.EINVAL // "db_root: cannot be changed: target drivers registered"
		}
	}
	if len(v) > 4095 || v == "" {
		return syscall.EINVAL
	}
	v = stripNewline(v)
	if _, err := k.hostFact("dbroot_dir", func() (string, error) {
		fi, err := os.Stat(v)
		if err != nil || !fi.IsDir() {
			return "", syscall.EINVAL
		}
		return "1", nil
	}); err != nil {
		return err
	}
	a.value = v
	return nil
}

// ---- HBAs ----

var backends = map[string]bool{"fileio": true, "iblock": true, "pscsi": true, "rd_mcp": true, "user": true}

// makeHBA parses "<plugin>_<id>" as target_core_call_addhbatotarget does:
// the plugin name ends at the first '_', or at the second one when there
// is one (rd_mcp).
func makeHBA(k *Kernel, parent *node, name string) (*node, error) {
	if len(name) >= 64 {
		return nil, syscall.ENAMETOOLONG
	}
	i := strings.IndexByte(name, '_')
	if i < 0 {
		return nil, syscall.EINVAL
	}
	plugin, idStr := name[:i], name[i+1:]
	if j := strings.IndexByte(name[i+1:], '_'); j >= 0 {
		plugin, idStr = name[:i+1+j], name[i+1+j+1:]
	}
	id, err := kstrtou(idStr, 1<<64-1)
	if err != nil {
		return nil, err
	}
	if !backends[plugin] {
		return nil, syscall.EINVAL
	}
	h := newDir("hba", name, false)
	h.meta["plugin"] = plugin
	h.meta["host_id"] = strconv.FormatUint(id, 10)
	h.meta["index"] = k.root.meta["hba_index"]
	// The SCSI MIB instance index comes from another counter, which other
	// users have advanced by 3 when the first HBA is made (seen on 6.1).
	h.meta["inst"] = itoa(atoi(k.root.meta["hba_index"]) + 3)
	k.root.meta["hba_index"] = itoa(atoi(k.root.meta["hba_index"]) + 1)
	k.populate(h)
	return h, nil
}

func storeHBAMode(_ *Kernel, hba *node, a *node, v string) error {
	if hba.meta["plugin"] != "pscsi" {
		return syscall.EINVAL // only pscsi has pmode_enable_hba
	}
	mode, err := kstrtoull(v)
	if err != nil {
		return err
	}
	for _, c := range hba.children {
		if c.typ == "so" {
			return syscall.EINVAL // "Unable to set hba_mode with active devices"
		}
	}
	if mode != 0 {
		return syscall.ENODEV // no Linux SCSI host to pass through here
	}
	a.value = "0"
	return nil
}

// ---- ALUA LU groups (core/alua/lu_gps) ----

func registerLUGroup() {
	register("lu_gp",
		attrDef{name: "lu_gp_id", perm: 0o644,
			show: func(_ *Kernel, g *node, _ *node) (string, error) {
				if g.meta["id"] == "" {
					return "", nil
				}
				return g.meta["id"] + "\n", nil
			},
			store: func(k *Kernel, g *node, _ *node, v string) error {
				id, err := kstrtoull(v)
				if err != nil {
					return err
				}
				if id > 0xffff || g.meta["id"] != "" {
					return syscall.EINVAL
				}
				for _, o := range g.parent.children {
					if o.typ == "lu_gp" && o.meta["id"] == strconv.FormatUint(id, 10) {
						return syscall.EINVAL
					}
				}
				g.meta["id"] = strconv.FormatUint(id, 10)
				return nil
			}},
		roAttr("members", func(k *Kernel, g *node) string {
			var b strings.Builder
			// In the order the devices joined the group (the kernel's
			// list_add_tail), not by name.
			var in []*node
			for _, so := range k.allStorageObjects() {
				if so.meta["lu_gp"] == g.name {
					in = append(in, so)
				}
			}
			sort.SliceStable(in, func(i, j int) bool { return atoi(in[i].meta["lu_gp_seq"]) < atoi(in[j].meta["lu_gp_seq"]) })
			for _, so := range in {
				b.WriteString(so.parent.name + "/" + so.name + "\n")
			}
			return b.String()
		}),
	)
}

func makeLUGroup(k *Kernel, _ *node, name string) (*node, error) {
	g := newDir("lu_gp", name, false)
	k.populate(g)
	return g, nil
}

// allStorageObjects lists every storage object (for the few reads that
// need them all, never on the path of a single change).
func (k *Kernel) allStorageObjects() []*node {
	var out []*node
	core := k.root.children["target"].children["core"]
	for _, h := range core.sortedChildren() {
		if h.typ != "hba" {
			continue
		}
		for _, so := range h.sortedChildren() {
			if so.typ == "so" {
				out = append(out, so)
			}
		}
	}
	return out
}

// ---- storage objects ----

// Backend facts: the INQUIRY product and revision and the attribute set.
// (Passthrough backends leave them empty: the device answers INQUIRY.)
var productID = map[string]string{
	"fileio": "FILEIO", "iblock": "IBLOCK", "rd_mcp": "RAMDISK-MCP", "pscsi": "", "user": "",
}

var revision = map[string]string{
	"fileio": "4.0", "iblock": "4.0", "rd_mcp": "4.0", "pscsi": "", "user": "",
}

func makeStorageObject(k *Kernel, hba *node, name string) (*node, error) {
	plugin := hba.meta["plugin"]
	so := newDir("so", name, false)
	so.meta["plugin"] = plugin
	so.meta["dev_index"] = k.root.meta["dev_index"]
	so.meta["created"] = strconv.FormatInt(k.now, 10)
	k.root.meta["dev_index"] = itoa(atoi(k.root.meta["dev_index"]) + 1)
	hba.add(so)
	k.populate(so)

	attrib := so.group("so_attrib/"+plugin, "attrib")
	k.populate(attrib)
	pr := so.group("so_pr", "pr")
	k.populate(pr)
	wwn := so.group("so_wwn", "wwn")
	k.populate(wwn)
	alua := so.group("so_alua", "alua")
	def := alua.group("tg_pt_gp", "default_tg_pt_gp")
	def.meta["id"] = "0"
	k.populate(def)
	stat := so.group("so_stat", "statistics")
	for _, g := range []string{"scsi_dev", "scsi_tgt_dev", "scsi_lu"} {
		k.populate(stat.group("stat_"+g, g))
	}
	// Every backend has an action group; only target_core_user fills it.
	action := so.group("so_action", "action")
	if plugin == "user" {
		k.populate(action)
	}
	return so, nil
}

// soOf returns the storage object a group inside it belongs to.
func soOf(n *node) *node { return n.ancestor("so") }

func configured(so *node) bool { return so.meta["configured"] == "1" }

// exportCount is the number of LUNs exporting the object.
func exportCount(so *node) int { return so.links }

func attribOf(so *node) *node { return so.children["attrib"] }

func registerStorageObject() {
	register("so",
		attrDef{name: "info", perm: 0o444, show: func(k *Kernel, so *node, _ *node) (string, error) {
			return devInfo(so), nil
		}},
		attrDef{name: "control", perm: 0o200, store: func(k *Kernel, so *node, _ *node, v string) error {
			return k.storeControl(so, v)
		}},
		attrDef{name: "alias", perm: 0o644, show: showIfSet, store: storePathLike(125)},
		attrDef{name: "udev_path", perm: 0o644, show: showIfSet, store: storePathLike(511)},
		attrDef{name: "enable", perm: 0o644,
			show: func(_ *Kernel, so *node, _ *node) (string, error) {
				if configured(so) {
					return "1\n", nil
				}
				return "0\n", nil
			},
			store: func(k *Kernel, so *node, _ *node, v string) error {
				if !strings.Contains(v, "1") {
					return syscall.EINVAL // "only valid value is 1"
				}
				return k.configureDevice(so)
			}},
		attrDef{name: "alua_lu_gp", perm: 0o644,
			show: func(k *Kernel, so *node, _ *node) (string, error) {
				g := so.meta["lu_gp"]
				if g == "" {
					return "", nil
				}
				id := ""
				if n := k.root.children["target"].children["core"].children["alua"].children["lu_gps"].children[g]; n != nil {
					id = n.meta["id"]
				}
				return fmt.Sprintf("LU Group Alias: %s\nLU Group ID: %s\n", g, id), nil
			},
			store: func(k *Kernel, so *node, _ *node, v string) error {
				if !configured(so) {
					return nil // no LU group membership yet: the kernel ignores the write
				}
				if len(v) > 256 {
					return syscall.EINVAL
				}
				name := strings.TrimSpace(v)
				if name == "NULL" {
					delete(so.meta, "lu_gp")
					return nil
				}
				g := k.root.children["target"].children["core"].children["alua"].children["lu_gps"].children[name]
				if g == nil || g.typ != "lu_gp" || g.meta["id"] == "" {
					return syscall.ENODEV
				}
				so.meta["lu_gp"] = name
				k.joinLUGroup(so)
				return nil
			}},
		attrDef{name: "lba_map", perm: 0o644, store: func(_ *Kernel, _ *node, a *node, v string) error {
			a.value = stripNewline(v)
			return nil
		}, show: func(_ *Kernel, _ *node, a *node) (string, error) {
			if a.value == "" {
				return "", nil
			}
			return a.value + "\n", nil
		}},
	)
	for plugin := range backends {
		register("so_attrib/"+plugin, deviceAttribs(plugin)...)
	}
	register("so_pr", prAttrs()...)
	register("so_wwn", wwnAttrs()...)
	register("tg_pt_gp", tgPtGroupAttrs()...)
	register("stat_scsi_dev", statDevAttrs()...)
	register("stat_scsi_tgt_dev", statTgtDevAttrs()...)
	register("stat_scsi_lu", statLUAttrs()...)
	register("so_action", actionAttrs()...)
}

// showIfSet prints a stored string attribute, or nothing when unset
// (alias and udev_path show 0 bytes until written).
func showIfSet(_ *Kernel, _ *node, a *node) (string, error) {
	if a.value == "" {
		return "", nil
	}
	return a.value + "\n", nil
}

func storePathLike(max int) func(*Kernel, *node, *node, string) error {
	return func(_ *Kernel, _ *node, a *node, v string) error {
		if len(v) > max {
			return syscall.EINVAL
		}
		v = stripNewline(v)
		if v == "" {
			return syscall.EINVAL
		}
		a.value = v
		return nil
	}
}

// devInfo is target_dev_info_show: the core's state line and the
// backend's parameters.
func devInfo(so *node) string {
	at := attribOf(so)
	status := "DEACTIVATED"
	if exportCount(so) > 0 {
		status = "ACTIVATED"
	}
	// dev->queue_depth is only set by a write of attrib/queue_depth.
	depth := orZero(so.meta["queue_depth"])
	block := at.attr("block_size")
	if _, ok := at.children["block_size"]; !ok {
		block = at.attr("hw_block_size") // passthrough backends have no block_size attribute
	}
	s := fmt.Sprintf("Status: %s  Max Queue Depth: %s  SectorSize: %s  HwMaxSectors: %s\n        ",
		status, depth, block, at.attr("hw_max_sectors"))
	m := so.meta
	switch m["plugin"] {
	case "fileio":
		mode := "O_DSYNC"
		if m["fd_buffered_io"] == "1" {
			mode = "Buffered-WCE"
		}
		async := "0"
		if m["fd_async_io"] == "1" {
			async = "1"
		}
		s += fmt.Sprintf("TCM FILEIO ID: 0        File: %s  Size: %s  Mode: %s Async: %s\n",
			m["fd_dev_name"], orZero(m["fd_dev_size"]), mode, async)
	case "iblock":
		s += fmt.Sprintf("iBlock device: %s", m["ib_dev"])
		if m["udev_path"] != "" {
			s += "  UDEV PATH: " + m["udev_path"]
		}
		s += fmt.Sprintf("  readonly: %s\n        ", orZero(m["readonly"]))
		if configured(so) {
			s += fmt.Sprintf("Major: %s Minor: %s  CLAIMED: IBLOCK\n", m["major"], m["minor"])
		} else {
			s += "Major: 0 Minor: 0\n"
		}
	case "rd_mcp":
		tables := orZero(m["sg_tables"]) // allocated at enable; later rd_pages writes only change the count shown
		s += fmt.Sprintf("TCM RamDisk ID: 0  RamDisk Makeup: rd_mcp\n        PAGES/PAGE_SIZE: %s*4096  SG_table_count: %s  nullio: %s dummy: %s\n",
			orZero(m["rd_pages"]), tables, orZero(m["rd_nullio"]), orZero(m["rd_dummy"]))
	case "pscsi":
		s += fmt.Sprintf("SCSI Device Bus Location: Channel ID: %s Target ID: %s LUN: %s Host ID: %s\n",
			orZero(m["scsi_channel_id"]), orZero(m["scsi_target_id"]), orZero(m["scsi_lun_id"]), orValue(m["scsi_host_id"], "PHBA Mode"))
	case "user":
		cfg := m["dev_config"]
		if cfg == "" {
			cfg = "NULL"
		}
		s += fmt.Sprintf("Config: %s Size: %s MaxDataAreaMB: %s DataPagesPerBlk: %s CmdRingSizeMB: %s\n",
			cfg, orZero(m["dev_size"]), userParam(so, "max_data_area_mb"), userParam(so, "data_pages_per_blk"), userParam(so, "cmd_ring_size_mb"))
	}
	return s
}

func orZero(s string) string { return orValue(s, "0") }

func orValue(s, v string) string {
	if s == "" {
		return v
	}
	return s
}

// sgTables is the sg_table_count rd_mcp shows: rd_build_device_space sizes
// its table array as pages / 2048 + 1 (2048 = RD_MAX_ALLOCATION_SIZE /
// sizeof(struct scatterlist)), one more than needed when the pages fill
// whole tables (2048 pages: 2, as seen on 6.1).
func sgTables(pages string) string {
	n := atoi(pages)
	const perTable = 65536 / 32
	if n <= 0 {
		return "0"
	}
	return itoa(n/perTable + 1)
}

// ---- control ----

// controlTokens splits a control write as the backends do (strsep on ",\n").
func controlTokens(v string) [][2]string {
	var out [][2]string
	for _, t := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '\n' }) {
		key, val, _ := strings.Cut(t, "=")
		out = append(out, [2]string{key + "=", val})
	}
	return out
}

func (k *Kernel) storeControl(so *node, v string) error {
	m := so.meta
	for _, kv := range controlTokens(v) {
		key, val := kv[0], kv[1]
		var err error
		switch m["plugin"] + ":" + key {
		case "fileio:fd_dev_name=":
			if val == "" {
				continue // %s does not match an empty value: token ignored
			}
			if len(val) >= 4096 {
				val = val[:4095]
			}
			m["fd_dev_name"] = val
		case "fileio:fd_dev_size=":
			if val == "" {
				continue
			}
			var size uint64
			if size, err = kstrtoull(val); err == nil {
				m["fd_dev_size"] = strconv.FormatUint(size, 10)
			}
		case "fileio:fd_buffered_io=", "fileio:fd_async_io=":
			err = flagToken(m, strings.TrimSuffix(key, "="), val)
		case "iblock:udev_path=":
			if val == "" {
				continue
			}
			if configured(so) {
				err = syscall.EEXIST // "Unable to set udev_path= while ib_dev->ibd_bd exists"
				break
			}
			m["udev_path"] = val
		case "iblock:readonly=":
			if val == "" {
				continue
			}
			var ro uint64
			if ro, err = kstrtoull(val); err == nil {
				m["readonly"] = strconv.FormatUint(ro, 10)
			}
		case "rd_mcp:rd_pages=", "rd_mcp:rd_nullio=", "rd_mcp:rd_dummy=":
			x, ok, e := matchInt(val)
			if !ok {
				continue
			}
			if err = e; err == nil {
				name := strings.TrimSuffix(key, "=")
				if name == "rd_pages" {
					m[name] = strconv.FormatUint(uint64(uint32(x)), 10)
				} else if x == 1 {
					m[name] = "1"
				}
			}
		case "pscsi:scsi_host_id=", "pscsi:scsi_channel_id=", "pscsi:scsi_target_id=", "pscsi:scsi_lun_id=":
			x, ok, e := matchInt(val)
			if !ok {
				continue
			}
			if err = e; err == nil {
				m[strings.TrimSuffix(key, "=")] = itoa(x)
			}
		case "user:dev_config=":
			if val == "" {
				continue
			}
			if len(val) > 2047 {
				val = val[:2047]
			}
			m["dev_config"] = val
		case "user:dev_size=":
			if val == "" {
				continue
			}
			var size uint64
			if size, err = kstrtoull(val); err == nil {
				m["dev_size"] = strconv.FormatUint(size, 10)
			}
		case "user:hw_block_size=", "user:hw_max_sectors=":
			x, ok, e := matchInt(val)
			if !ok {
				continue
			}
			if err = e; err == nil {
				if x <= 0 {
					err = syscall.EINVAL
				} else {
					attribOf(so).setAttr(strings.TrimSuffix(key, "="), itoa(x))
				}
			}
		case "user:nl_reply_supported=":
			x, ok, e := matchInt(val)
			if !ok {
				continue
			}
			if err = e; err == nil {
				attribOf(so).setAttr("nl_reply_supported", itoa(x))
			}
		case "user:max_data_area_mb=", "user:data_pages_per_blk=", "user:cmd_ring_size_mb=":
			x, ok, e := matchInt(val)
			if !ok {
				continue
			}
			if err = e; err == nil {
				err = setUserRingParam(so, strings.TrimSuffix(key, "="), x)
			}
		default:
			continue // the kernel ignores tokens it does not know
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func flagToken(m map[string]string, name, val string) error {
	x, ok, err := matchInt(val)
	if !ok {
		return nil
	}
	if err != nil {
		return err
	}
	if x != 1 {
		return syscall.EINVAL // "bogus fd_buffered_io=%d value"
	}
	m[name] = "1"
	return nil
}

// ---- enable ----

// configureDevice is target_configure_device with the backend's
// configure_device.
func (k *Kernel) configureDevice(so *node) error {
	if configured(so) {
		return syscall.EEXIST // "se_dev->se_dev_ptr already set for storage object"
	}
	m := so.meta
	at := attribOf(so)
	var blockSize, maxSectors, queueDepth int64 = 512, 0, 128
	switch m["plugin"] {
	case "fileio":
		if m["fd_dev_name"] == "" {
			return syscall.EINVAL // "Missing fd_dev_name="
		}
		sizeFact, err := k.hostFact("fd_size", func() (string, error) {
			size, err := openBacking(m["fd_dev_name"], m["fd_dev_size"] != "")
			return strconv.FormatInt(size, 10), err
		})
		if err != nil {
			return err
		}
		if size := atoi(sizeFact); size >= 0 && sizeFact != "" {
			m["fd_dev_size"] = sizeFact
		}
		maxSectors = 8 << 20 / blockSize
		at.setAttr("max_unmap_lba_count", "8192")
		at.setAttr("max_unmap_block_desc_count", "1")
		at.setAttr("unmap_granularity", "1")
		at.setAttr("max_write_same_len", "4096")
		if m["fd_buffered_io"] == "1" {
			at.setAttr("emulate_write_cache", "1")
		}
	case "iblock":
		if m["udev_path"] == "" {
			return syscall.EINVAL // "Missing udev_path= parameters for IBLOCK"
		}
		numbers, err := k.hostFact("ib_numbers", func() (string, error) {
			fi, err := os.Stat(m["udev_path"])
			if err != nil {
				return "", errnoOf(err, syscall.ENOENT)
			}
			if fi.Mode()&os.ModeDevice == 0 || fi.Mode()&os.ModeCharDevice != 0 {
				return "", syscall.ENOTBLK
			}
			major, minor := deviceNumbers(fi)
			return major + ":" + minor, nil
		})
		if err != nil {
			return err
		}
		m["major"], m["minor"], _ = strings.Cut(numbers, ":")
		// The name is a fact of the host: journalled, so that a replay
		// gives the same answer.
		m["ib_dev"], _ = k.hostFact("ib_dev", func() (string, error) {
			return blockDevName(m["udev_path"], m["major"], m["minor"]), nil
		})
		maxSectors = 2048
	case "rd_mcp":
		if m["rd_pages"] == "" {
			return syscall.EINVAL // "Missing rd_pages= parameter"
		}
		if atoi(m["rd_pages"]) == 0 {
			return syscall.EINVAL // "Illegal page count: 0 for Ramdisk device"
		}
		if m["rd_nullio"] != "1" {
			m["sg_tables"] = sgTables(m["rd_pages"])
		}
		// se_dev_align_max_sectors rounds UINT_MAX down to whole pages.
		maxSectors = (1<<32 - 1) &^ (4096/blockSize - 1)
		at.setAttr("is_nonrot", "1")
	case "pscsi":
		if so.attr("udev_path") == "" {
			return syscall.EINVAL // "pSCSI: udev_path attribute has not been set before ENABLE=1"
		}
		if m["scsi_channel_id"] == "" || m["scsi_target_id"] == "" || m["scsi_lun_id"] == "" {
			return syscall.EINVAL // "Missing scsi_channel_id=, scsi_target_id= and scsi_lun_id= parameters"
		}
		return syscall.ENODEV // no Linux SCSI host to pass through in the simulation
	case "user":
		if v := at.attr("hw_block_size"); v != "0" && v != "" {
			blockSize = atoi(v)
		}
		maxSectors = 128
		if v := at.attr("hw_max_sectors"); v != "0" && v != "" {
			maxSectors = atoi(v)
		}
		minor := k.lowestFreeMinor()
		m["uio_minor"] = itoa(int64(minor))
		k.uio[minor] = so
	}
	m["configured"] = "1"
	m["lu_gp"] = "default_lu_gp"
	k.joinLUGroup(so)
	at.setAttr("hw_block_size", itoa(blockSize))
	at.setAttr("block_size", itoa(blockSize))
	at.setAttr("hw_max_sectors", itoa(maxSectors))
	at.setAttr("optimal_sectors", itoa(maxSectors))
	at.setAttr("hw_queue_depth", itoa(queueDepth))
	at.setAttr("queue_depth", itoa(queueDepth))
	if m["plugin"] == "user" {
		k.raise(event{kind: evAdded, dev: k.uioDevice(so)})
	}
	return nil
}

// openBacking opens (creating when missing) a fileio backing file as
// fd_configure_device does and returns its size, or -1 when the size
// comes from fd_dev_size.
func openBacking(name string, haveSize bool) (int64, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return 0, errnoOf(err, syscall.EINVAL)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, errnoOf(err, syscall.EINVAL)
	}
	if fi.Mode()&os.ModeDevice != 0 && fi.Mode()&os.ModeCharDevice == 0 {
		end, err := f.Seek(0, 2)
		if err != nil {
			return 0, errnoOf(err, syscall.EINVAL)
		}
		return end, nil
	}
	if !fi.Mode().IsRegular() {
		return 0, syscall.EINVAL
	}
	if !haveSize {
		return 0, syscall.EINVAL // "Missing fd_dev_size= parameter, and no backing struct block_device"
	}
	return -1, nil
}

// errnoOf is the errno inside a host error, for the kernel to return.
func errnoOf(err error, fallback syscall.Errno) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return fallback
}

// doUnconfigure is the kernel's cleanup when a user device's netlink
// ADDED_DEVICE is refused: the object stays, unconfigured.
func (k *Kernel) doUnconfigure(p string) error {
	so, err := k.lookup(p, true)
	if err != nil {
		return err
	}
	if so.typ != "so" {
		return syscall.EINVAL
	}
	delete(so.meta, "configured")
	if so.meta["uio_minor"] != "" {
		delete(k.uio, int(atoi(so.meta["uio_minor"])))
	}
	delete(so.meta, "uio_minor")
	delete(so.meta, "lu_gp")
	at := attribOf(so)
	for _, a := range []string{"block_size", "hw_max_sectors", "optimal_sectors", "hw_queue_depth", "queue_depth"} {
		at.setAttr(a, "0")
	}
	return nil
}

// ---- device attributes (attrib/) ----

// notExported refuses a change while LUNs export the device.
func notExported(_ *Kernel, at *node, _ int64) error {
	if exportCount(soOf(at)) > 0 {
		return syscall.EINVAL
	}
	return nil
}

func deviceAttribs(plugin string) []attrDef {
	ro := func(name string) attrDef { return attrDef{name: name, perm: 0o444, init: constInit("0")} }
	if plugin == "pscsi" || plugin == "user" {
		// Backends that pass CDBs through get passthrough_attrib_attrs;
		// target_core_user adds its own after them.
		defs := []attrDef{ro("hw_pi_prot_type"), ro("hw_block_size"), ro("hw_max_sectors"), ro("hw_queue_depth"),
			boolAttr("emulate_pr", true, notExported),
			passthroughFlag("alua_support", plugin), passthroughFlag("pgr_support", plugin)}
		if plugin == "user" {
			// target_core_user keeps persistent reservations in the core.
			defs = append(defs, boolAttr("enforce_pr_isids", true), boolAttr("force_pr_aptpl", false, notExported))
			defs = append(defs, userAttribs()...)
		}
		return defs
	}
	needsUnmap := func(k *Kernel, at *node, v int64) error {
		if v == 1 && at.attr("max_unmap_block_desc_count") == "0" {
			return syscall.ENOSYS // "Generic Block Discard not supported"
		}
		return nil
	}
	defs := []attrDef{
		boolAttr("emulate_model_alias", false, notExported),
		{name: "emulate_dpo", perm: 0o644, init: constInit("1"), store: func(*Kernel, *node, *node, string) error { return nil }},
		boolAttr("emulate_fua_write", true),
		{name: "emulate_fua_read", perm: 0o644, init: constInit("1"), store: func(*Kernel, *node, *node, string) error { return nil }},
		writeCacheAttr(plugin),
		u32Attr("emulate_ua_intlck_ctrl", 0, between(0, 2), notExported),
		boolAttr("emulate_tas", true, notExported),
		boolAttr("emulate_tpu", false, needsUnmap),
		boolAttr("emulate_tpws", false, needsUnmap),
		boolAttr("emulate_caw", true),
		boolAttr("emulate_3pc", true),
		{name: "pi_prot_type", perm: 0o644, init: constInit("0"), store: storePIProtType(plugin)},
		ro("hw_pi_prot_type"),
		{name: "pi_prot_format", perm: 0o644, init: constInit("0"), store: storePIProtFormat(plugin)},
		boolAttr("pi_prot_verify", false, func(_ *Kernel, at *node, v int64) error {
			if v == 1 && at.attr("pi_prot_type") == "0" {
				return errIgnore
			}
			return nil
		}),
		boolAttr("enforce_pr_isids", true),
		boolAttr("is_nonrot", false),
		boolAttr("emulate_rest_reord", false, func(_ *Kernel, _ *node, v int64) error {
			if v != 0 {
				return syscall.ENOSYS
			}
			return nil
		}),
		boolAttr("force_pr_aptpl", false, notExported),
		ro("hw_block_size"),
		u32Attr("block_size", 0, notExported, func(_ *Kernel, at *node, v int64) error {
			if v != 512 && v != 1024 && v != 2048 && v != 4096 {
				return syscall.EINVAL
			}
			// if (da->max_bytes_per_io) da->hw_max_sectors =
			// da->max_bytes_per_io / val: only an enabled fileio
			// object has one (FD_MAX_BYTES, 8 MiB).
			if so := soOf(at); so.meta["plugin"] == "fileio" && configured(so) {
				at.setAttr("hw_max_sectors", itoa(8388608/v))
			}
			return nil
		}),
		ro("hw_max_sectors"),
		u32Attr("optimal_sectors", 0, notExported, func(_ *Kernel, at *node, v int64) error {
			if v > atoi(at.attr("hw_max_sectors")) {
				return syscall.EINVAL
			}
			return nil
		}),
		ro("hw_queue_depth"),
		u32Attr("queue_depth", 0, notExported, func(_ *Kernel, at *node, v int64) error {
			if v == 0 || (v > atoi(at.attr("queue_depth")) && v > atoi(at.attr("hw_queue_depth"))) {
				return syscall.EINVAL
			}
			soOf(at).meta["queue_depth"] = itoa(v) // da->queue_depth = dev->queue_depth = val
			return nil
		}),
		u32Attr("max_unmap_lba_count", 0),
		u32Attr("max_unmap_block_desc_count", 0),
		u32Attr("unmap_granularity", 0),
		u32Attr("unmap_granularity_alignment", 0),
		boolAttr("unmap_zeroes_data", false, notExported, func(_ *Kernel, at *node, v int64) error {
			if v == 1 && at.attr("max_unmap_block_desc_count") == "0" {
				return syscall.ENOSYS
			}
			return nil
		}),
		u32Attr("max_write_same_len", 0),
		passthroughFlag("alua_support", plugin),
		passthroughFlag("pgr_support", plugin),
		boolAttr("emulate_pr", true, notExported),
	}
	for i := range defs {
		defs[i] = ignorable(defs[i])
	}
	return defs
}

// errIgnore makes a store accept a write without storing it (the kernel
// warns and returns success).
var errIgnore = fmt.Errorf("ignored")

func ignorable(d attrDef) attrDef {
	store := d.store
	if store == nil {
		return d
	}
	d.store = func(k *Kernel, dir *node, a *node, v string) error {
		old := a.value
		err := store(k, dir, a, v)
		if err == errIgnore {
			a.value = old
			return nil
		}
		return err
	}
	return d
}

func writeCacheAttr(plugin string) attrDef {
	d := boolAttr("emulate_write_cache", false, func(_ *Kernel, _ *node, v int64) error {
		if v == 1 && plugin == "iblock" {
			return syscall.EINVAL // iblock reports the device's own cache: "not supported for this device"
		}
		return nil
	})
	return d
}

func storePIProtType(plugin string) func(*Kernel, *node, *node, string) error {
	return func(_ *Kernel, at *node, a *node, v string) error {
		x, err := kstrtou(v, 1<<32-1)
		if err != nil {
			return err
		}
		if x > 3 {
			return syscall.EINVAL
		}
		if x == 2 {
			return syscall.ENOSYS // "DIF TYPE2 protection currently not supported"
		}
		switch plugin {
		case "fileio", "rd_mcp", "iblock":
		default:
			if x == 0 {
				return nil
			}
			return syscall.ENOSYS // "DIF protection not supported by backend"
		}
		so := soOf(at)
		if !configured(so) {
			return syscall.ENODEV
		}
		if exportCount(so) > 0 {
			return syscall.EINVAL
		}
		a.value = strconv.FormatUint(x, 10)
		if x != 0 {
			at.setAttr("pi_prot_verify", "1")
		} else {
			at.setAttr("pi_prot_verify", "0")
		}
		return nil
	}
}

func storePIProtFormat(plugin string) func(*Kernel, *node, *node, string) error {
	return func(_ *Kernel, at *node, _ *node, v string) error {
		b, err := kstrtobool(v)
		if err != nil {
			return err
		}
		if !b {
			return nil
		}
		if plugin != "fileio" && plugin != "rd_mcp" {
			return syscall.ENOSYS
		}
		so := soOf(at)
		if !configured(so) {
			return syscall.ENODEV
		}
		if exportCount(so) > 0 {
			return syscall.EINVAL
		}
		return nil
	}
}

// ---- pr/ ----

func prAttrs() []attrDef {
	pass := func(so *node) bool { return so.meta["plugin"] == "pscsi" }
	text := func(name, normal, passthrough string) attrDef {
		return roAttr(name, func(_ *Kernel, pr *node) string {
			if pass(soOf(pr)) {
				return passthrough
			}
			return normal
		})
	}
	return []attrDef{
		text("res_holder", "No SPC-3 Reservation holder\n", "Passthrough\n"),
		roAttr("res_pr_all_tgt_pts", func(*Kernel, *node) string { return "No SPC-3 Reservation holder\n" }),
		roAttr("res_pr_generation", func(*Kernel, *node) string { return "0x00000000\n" }),
		roAttr("res_pr_holder_tg_port", func(*Kernel, *node) string { return "No SPC-3 Reservation holder\n" }),
		roAttr("res_pr_registered_i_pts", func(*Kernel, *node) string { return "SPC-3 PR Registrations:\nNone\n" }),
		roAttr("res_pr_type", func(*Kernel, *node) string { return "No SPC-3 Reservation holder\n" }),
		text("res_type", "SPC3_PERSISTENT_RESERVATIONS\n", "SPC_PASSTHROUGH\n"),
		text("res_aptpl_active", "APTPL Bit Status: Disabled\n", ""),
		{name: "res_aptpl_metadata", perm: 0o644,
			show: func(_ *Kernel, pr *node, _ *node) (string, error) {
				if pass(soOf(pr)) {
					return "", nil
				}
				return "Ready to process PR APTPL metadata..\n", nil
			},
			store: func(_ *Kernel, pr *node, _ *node, v string) error {
				so := soOf(pr)
				if pass(so) {
					return nil
				}
				if exportCount(so) > 0 {
					return syscall.EINVAL
				}
				if !strings.Contains(v, "initiator_node=") || !strings.Contains(v, "target_node=") || !strings.Contains(v, "sa_res_key=") {
					return syscall.EINVAL // "Illegal parameters for APTPL registration"
				}
				return nil
			}},
	}
}

// ---- wwn/ ----

func wwnAttrs() []attrDef {
	inquiry := func(name string, max int, def func(so *node) string) attrDef {
		return attrDef{name: name, perm: 0o644,
			init: func(_ *Kernel, w *node) string { return def(soOf(w)) },
			store: func(_ *Kernel, w *node, a *node, v string) error {
				v = stripNewline(v)
				if len(v) > max {
					return syscall.EOVERFLOW
				}
				for _, c := range []byte(v) {
					if c < 0x20 || c > 0x7e {
						return syscall.EINVAL
					}
				}
				if exportCount(soOf(w)) > 0 {
					return syscall.EINVAL
				}
				a.value = v
				return nil
			}}
	}
	return []attrDef{
		{name: "vpd_unit_serial", perm: 0o644,
			show: func(_ *Kernel, _ *node, a *node) (string, error) {
				return "T10 VPD Unit Serial Number: " + a.value + "\n", nil
			},
			store: func(_ *Kernel, w *node, a *node, v string) error {
				so := soOf(w)
				if so.meta["plugin"] == "pscsi" && configured(so) {
					return syscall.EOPNOTSUPP
				}
				if len(v) >= 254 {
					return syscall.EOVERFLOW
				}
				if exportCount(so) > 0 {
					return syscall.EINVAL
				}
				a.value = strings.TrimSpace(v)
				return nil
			}},
		roAttr("vpd_protocol_identifier", func(*Kernel, *node) string { return "" }),
		roAttr("vpd_assoc_logical_unit", func(*Kernel, *node) string { return "" }),
		roAttr("vpd_assoc_target_port", func(*Kernel, *node) string { return "" }),
		roAttr("vpd_assoc_scsi_target_device", func(*Kernel, *node) string { return "" }),
		inquiry("vendor_id", 8, func(*node) string { return "LIO-ORG" }),
		inquiry("product_id", 16, func(so *node) string { return productID[so.meta["plugin"]] }),
		inquiry("revision", 4, func(so *node) string { return revision[so.meta["plugin"]] }),
		{name: "company_id", perm: 0o644, init: constInit("5125"), // OUI 0x001405
			show: func(_ *Kernel, _ *node, a *node) (string, error) {
				return fmt.Sprintf("0x%06x\n", atoi(a.value)), nil // C's %#08x counts the 0x in the width
			},
			store: func(_ *Kernel, w *node, a *node, v string) error {
				x, err := kstrtou(v, 1<<32-1)
				if err != nil {
					return err
				}
				if x >= 0x1000000 {
					return syscall.EINVAL
				}
				if exportCount(soOf(w)) > 0 {
					return syscall.EINVAL
				}
				a.value = strconv.FormatUint(x, 10)
				return nil
			}},
	}
}

// ---- statistics (target_core_stat.c) ----

func statDevAttrs() []attrDef {
	return []attrDef{
		roAttr("inst", func(_ *Kernel, s *node) string { return soOf(s).parent.meta["inst"] + "\n" }),
		roAttr("indx", func(_ *Kernel, s *node) string { return soOf(s).meta["dev_index"] + "\n" }),
		roConst("role", "Target"),
		roAttr("ports", func(_ *Kernel, s *node) string { return itoa(int64(exportCount(soOf(s)))) + "\n" }),
	}
}

func statTgtDevAttrs() []attrDef {
	return []attrDef{
		roAttr("inst", func(_ *Kernel, s *node) string { return soOf(s).parent.meta["inst"] + "\n" }),
		roAttr("indx", func(_ *Kernel, s *node) string { return soOf(s).meta["dev_index"] + "\n" }),
		roConst("num_lus", "1"),
		roAttr("status", func(_ *Kernel, s *node) string {
			// The kernel prints this one without a newline.
			if exportCount(soOf(s)) > 0 {
				return "activated"
			}
			return "deactivated"
		}),
		roAttr("non_access_lus", func(_ *Kernel, s *node) string {
			if exportCount(soOf(s)) > 0 {
				return "0\n"
			}
			return "1\n"
		}),
		roConst("resets", "0"),
		roConst("aborts_complete", "0"),
		roConst("aborts_no_task", "0"),
	}
}

func statLUAttrs() []attrDef {
	wwn := func(s *node, name string) string { return soOf(s).children["wwn"].attr(name) }
	return []attrDef{
		roAttr("inst", func(_ *Kernel, s *node) string { return soOf(s).parent.meta["inst"] + "\n" }),
		roAttr("dev", func(_ *Kernel, s *node) string { return soOf(s).meta["dev_index"] + "\n" }),
		roConst("indx", "1"),
		roConst("lun", "0"),
		roAttr("lu_name", func(_ *Kernel, s *node) string {
			return orValue(wwn(s, "vpd_unit_serial"), "None") + "\n"
		}),
		roAttr("vend", func(_ *Kernel, s *node) string { return fmt.Sprintf("%-8s\n", wwn(s, "vendor_id")) }),
		roAttr("prod", func(_ *Kernel, s *node) string { return fmt.Sprintf("%-16s\n", wwn(s, "product_id")) }),
		roAttr("rev", func(_ *Kernel, s *node) string { return fmt.Sprintf("%-4s\n", wwn(s, "revision")) }),
		roAttr("dev_type", func(_ *Kernel, s *node) string {
			so := soOf(s)
			if so.meta["plugin"] == "pscsi" && !configured(so) {
				return "127\n" // no SCSI device behind it yet
			}
			return "0\n"
		}),
		roAttr("status", func(_ *Kernel, s *node) string {
			if exportCount(soOf(s)) > 0 {
				return "available\n"
			}
			return "notavailable\n"
		}),
		roConst("state_bit", "exposed"),
		roConst("num_cmds", "0"),
		roConst("read_mbytes", "0"),
		roConst("write_mbytes", "0"),
		roConst("resets", "0"),
		roConst("full_stat", "0"),
		roConst("hs_num_cmds", "0"),
		roAttr("creation_time", func(k *Kernel, s *node) string {
			// Hundredths of a second since boot; the simulation boots with
			// its first change.
			return itoa((atoi(soOf(s).meta["created"])-atoi(k.root.meta["boot"]))/1e7) + "\n"
		}),
	}
}

func deviceNumbers(fi os.FileInfo) (string, string) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return itoa(int64(st.Rdev >> 8 & 0xfff)), itoa(int64(st.Rdev&0xff | (st.Rdev>>12)&0xfff00))
	}
	return "0", "0"
}

// passthroughFlag is alua_support or pgr_support: 1 unless the backend
// passes that part of SCSI through; only target_core_user may change it.
func passthroughFlag(name, plugin string) attrDef {
	def := "1"
	if plugin == "pscsi" {
		def = "0"
	}
	return attrDef{name: name, perm: 0o644, init: constInit(def),
		store: func(_ *Kernel, at *node, a *node, v string) error {
			b, err := kstrtobool(v)
			if err != nil {
				return err
			}
			if b == (a.value == "1") {
				return nil // the current value: accepted, nothing changes
			}
			if plugin != "user" {
				return syscall.ENOSYS // "alua_support has fixed value" (6.1)
			}
			if configured(soOf(at)) {
				return syscall.EINVAL
			}
			a.value = "0"
			if b {
				a.value = "1"
			}
			return nil
		}}
}

// joinLUGroup stamps the order in which a device joined its LU group
// (members lists them in that order).
func (k *Kernel) joinLUGroup(so *node) {
	if k.luGpSeq == 0 {
		for _, o := range k.allStorageObjects() {
			if o != so {
				k.luGpSeq = max(k.luGpSeq, atoi(o.meta["lu_gp_seq"]))
			}
		}
	}
	k.luGpSeq++
	so.meta["lu_gp_seq"] = itoa(k.luGpSeq)
}

// blockDevName is the kernel's name of a block device (bdevname, shown by
// iblock's info): the host's own name for those numbers when it has such a
// device (/sys/dev/block/MAJ:MIN), else the node's file name.
func blockDevName(path, major, minor string) string {
	if t, err := os.Readlink("/sys/dev/block/" + major + ":" + minor); err == nil {
		return filepath.Base(t)
	}
	return filepath.Base(path)
}
