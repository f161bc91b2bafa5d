package sim

import (
	"fmt"
	"sort"
	"strconv"
	"syscall"
)

// This file is target_core_user.c's configfs side: the control tokens and
// attributes of `user` backstores, the uio device that enable creates and
// the events the kernel would send over netlink (here: UserDeviceHooks).

const (
	defaultMaxDataAreaMB = 1024
	defaultCmdRingSizeMB = 8
	// globalMaxDataAreaMB is tcmu_global_max_pages (512 Ki pages) in MiB:
	// larger max_data_area_mb values are cut to it.
	globalMaxDataAreaMB = 2048
	maxCmdRingSizeMB    = 255
	pagesPerMB          = 256
)

func userAttribs() []attrDef {
	roNum := func(name string, def int) attrDef {
		return attrDef{name: name, perm: 0o444, init: constInit(strconv.Itoa(def))}
	}
	reconfig := func(name string, parse func(string) (string, error)) attrDef {
		return attrDef{name: name, perm: 0o644,
			init: func(*Kernel, *node) string { return "" },
			show: func(_ *Kernel, at *node, _ *node) (string, error) {
				return userValue(soOf(at), name) + "\n", nil
			},
			store: func(k *Kernel, at *node, a *node, v string) error {
				nv, err := parse(v)
				if err != nil {
					return err
				}
				so := soOf(at)
				old := userValue(so, name)
				setUserValue(so, name, nv)
				if configured(so) {
					k.raise(event{kind: evReconfig, dev: k.uioDevice(so), attribute: name, value: nv,
						old: old, attrPath: a.path()})
				}
				return nil
			}}
	}
	return []attrDef{
		u32Attr("cmd_time_out", 30, notExported),
		{name: "qfull_time_out", perm: 0o644, init: constInit("-1"), store: func(_ *Kernel, _ *node, a *node, v string) error {
			x, err := kstrtos(v, -1<<31, 1<<31-1)
			if err != nil {
				return err
			}
			if x < -1 {
				return syscall.EINVAL // "Invalid qfull timeout value"
			}
			a.value = itoa(x)
			return nil
		}},
		roNum("max_data_area_mb", defaultMaxDataAreaMB),
		roNum("data_pages_per_blk", 1),
		roNum("cmd_ring_size_mb", defaultCmdRingSizeMB),
		reconfig("dev_config", func(v string) (string, error) {
			v = stripNewline(v)
			if v == "" || len(v) > 2047 {
				return "", syscall.EINVAL
			}
			return v, nil
		}),
		reconfig("dev_size", func(v string) (string, error) {
			x, err := kstrtoull(v)
			if err != nil {
				return "", err
			}
			return strconv.FormatUint(x, 10), nil
		}),
		reconfig("emulate_write_cache", func(v string) (string, error) {
			x, err := kstrtou(v, 255)
			if err != nil {
				return "", err
			}
			return strconv.FormatUint(x, 10), nil
		}),
		u32Attr("tmr_notification", 0, between(0, 1)),
		{name: "nl_reply_supported", perm: 0o644, init: constInit("0"), store: func(_ *Kernel, _ *node, a *node, v string) error {
			x, err := kstrtos(v, -128, 127)
			if err != nil {
				return err
			}
			a.value = itoa(x)
			return nil
		}},
		// The emulate_write_cache and hw_* values set through control live
		// in the attributes above and in passthrough_attrib_attrs.
	}
}

// userValue reads dev_config, dev_size or emulate_write_cache.
func userValue(so *node, name string) string {
	switch name {
	case "dev_config":
		return so.meta["dev_config"]
	case "dev_size":
		return orZero(so.meta["dev_size"])
	}
	return orZero(so.meta[name])
}

func setUserValue(so *node, name, v string) { so.meta[name] = v }

// userParam is a ring geometry value (max_data_area_mb, data_pages_per_blk,
// cmd_ring_size_mb) as the attribute shows it.
func userParam(so *node, name string) string { return attribOf(so).attr(name) }

// setUserRingParam applies a ring geometry control token: refused once the
// device is enabled (its data area exists), checked against the others.
func setUserRingParam(so *node, name string, v int64) error {
	if configured(so) {
		return syscall.EINVAL // "Cannot set ... after it has been enabled"
	}
	at := attribOf(so)
	dataMB := atoi(at.attr("max_data_area_mb"))
	perBlk := atoi(at.attr("data_pages_per_blk"))
	switch name {
	case "max_data_area_mb":
		if v <= 0 {
			return syscall.EINVAL
		}
		if v > globalMaxDataAreaMB {
			v = globalMaxDataAreaMB // "too large. Adjusting max_data_area_mb to global limit"
		}
		if v*pagesPerMB < perBlk {
			return syscall.EINVAL
		}
	case "data_pages_per_blk":
		if v <= 0 || v > dataMB*pagesPerMB {
			return syscall.EINVAL
		}
	case "cmd_ring_size_mb":
		if v <= 0 {
			return syscall.EINVAL
		}
		if v > maxCmdRingSizeMB {
			v = maxCmdRingSizeMB
		}
	}
	at.setAttr(name, itoa(v))
	return nil
}

// uioDevice describes the uio device of an enabled user backstore.
func (k *Kernel) uioDevice(so *node) UIODevice {
	at := attribOf(so)
	ring := atoi(at.attr("cmd_ring_size_mb"))
	data := atoi(at.attr("max_data_area_mb"))
	size, _ := strconv.ParseUint(orZero(so.meta["dev_size"]), 10, 64)
	return UIODevice{
		Minor:            int(atoi(so.meta["uio_minor"])),
		Name:             fmt.Sprintf("tcm-user/%s/%s/%s", so.parent.meta["host_id"], so.name, so.meta["dev_config"]),
		ConfigPath:       so.path(),
		MapSize:          uint64(ring+data) << 20,
		DevSize:          size,
		DevConfig:        so.meta["dev_config"],
		HwBlockSize:      uint32(atoi(at.attr("hw_block_size"))),
		HwMaxSectors:     uint32(atoi(at.attr("hw_max_sectors"))),
		MaxDataAreaMB:    uint32(data),
		DataPagesPerBlk:  uint32(atoi(at.attr("data_pages_per_blk"))),
		CmdRingSizeMB:    uint32(ring),
		NlReplySupported: int(atoi(at.attr("nl_reply_supported"))),
		WriteCache:       atoi(so.meta["emulate_write_cache"]) != 0,
	}
}

// lowestFreeMinor is the minor uio_register_device would give a new
// device: the lowest one free.
func (k *Kernel) lowestFreeMinor() int {
	m := 0
	for k.uio[m] != nil {
		m++
	}
	return m
}

// UIODevices lists the uio devices of enabled user backstores, by minor.
func (k *Kernel) UIODevices() []UIODevice {
	var out []UIODevice
	_ = k.read("readdir", "target/core", func() error {
		for _, so := range k.uio {
			out = append(out, k.uioDevice(so))
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Minor < out[j].Minor })
	return out
}

func actionAttrs() []attrDef {
	action := func(name string, check func(v uint64) error, parse func(string) (uint64, error)) attrDef {
		return attrDef{name: name, perm: 0o200, store: func(k *Kernel, act *node, _ *node, v string) error {
			so := soOf(act)
			if !configured(so) {
				return syscall.EINVAL // "Device is not configured."
			}
			x, err := parse(v)
			if err != nil {
				return err
			}
			if err := check(x); err != nil {
				return err
			}
			k.raise(event{kind: evAction, dev: k.uioDevice(so), attribute: name, action: int(x)})
			return nil
		}}
	}
	u8 := func(v string) (uint64, error) { return kstrtou(v, 255) }
	blockDev := action("block_dev", func(x uint64) error {
		if x > 1 {
			return syscall.EINVAL
		}
		return nil
	}, u8)
	blockDev.perm = 0o644
	blockDev.show = func(_ *Kernel, act *node, _ *node) (string, error) {
		if soOf(act).meta["blocked"] == "1" {
			return "blocked\n", nil
		}
		return "unblocked\n", nil
	}
	store := blockDev.store
	blockDev.store = func(k *Kernel, act *node, a *node, v string) error {
		if err := store(k, act, a, v); err != nil {
			return err
		}
		x, _ := u8(v)
		soOf(act).meta["blocked"] = strconv.FormatUint(x, 10)
		return nil
	}
	return []attrDef{
		blockDev,
		action("reset_ring", func(x uint64) error {
			if x != 1 && x != 2 {
				return syscall.EINVAL
			}
			return nil
		}, u8),
		action("free_kept_buf", func(uint64) error { return nil }, kstrtoull),
	}
}
