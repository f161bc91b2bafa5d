package config

import (
	"context"
	"os"
	"path"
	"path/filepath"
	"strconv"

	"github.com/tcmsh/tcmsh/configfs"
)

// ExportResult is what Export made.
type ExportResult struct {
	File      string `json:"file"`
	Backstore string `json:"backstore"`
	IQN       string `json:"iqn"`
	Portal    string `json:"portal"`
	LUN       int    `json:"lun"`
}

// Export exports a file or block device over iSCSI in one step, as
// targetcli's users do by hand: a backstore for it (fileio, or block for a
// block device; a file made with size when missing), a target (wwn, or a
// generated IQN), TPG 1 with LUN 0 and a portal at ip:port, open access
// (generated node ACLs, no authentication, writable) and enabled. A file
// that already is a backstore is refused. The caller undoes a failure
// (Rollback).
func (st Store) Export(ctx context.Context, file string, size int64, ip string, port int, wwn string) (*ExportResult, error) {
	l := st.LIO
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	// Two backstores on one file would each cache its blocks: refuse.
	sos, err := l.StorageObjects()
	if err != nil {
		return nil, err
	}
	for _, so := range sos {
		if si, err := l.StorageObjectInfo(so); err == nil && si.Dev == abs {
			return nil, usagef("%s is already the backstore %s; unexport it first", abs, path.Join("/backstores", si.Kind(), so.Name))
		}
	}
	spec := BackstoreSpec{Name: BackstoreNameFor(abs), Dev: abs, Size: size}
	if fi, err := os.Stat(abs); err == nil && fi.Mode()&os.ModeDevice != 0 && fi.Mode()&os.ModeCharDevice == 0 {
		spec.Plugin = "iblock"
	} else {
		spec.Plugin, spec.WriteBack, spec.Sparse = "fileio", true, true
	}
	base := spec.Name
	for i := 2; ; i++ {
		if _, err := l.FindStorageObject(spec.Plugin, spec.Name); err != nil {
			break
		}
		spec.Name = base + "_" + strconv.Itoa(i)
	}
	so, _, err := st.CreateBackstore(ctx, spec)
	if err != nil {
		return nil, err
	}
	t, err := l.CreateTarget("iscsi", wwn)
	if err != nil {
		return nil, err
	}
	tpg, err := l.CreateTPG(t, 1)
	if err != nil {
		return nil, err
	}
	if _, err := l.CreateLUN(tpg, 0, so, ""); err != nil {
		return nil, err
	}
	if _, err := l.CreatePortal(tpg, ip, port); err != nil {
		return nil, err
	}
	for _, kv := range [][2]string{{"authentication", "0"}, {"generate_node_acls", "1"}, {"demo_mode_write_protect", "0"}, {"cache_dynamic_acls", "1"}} {
		if err := l.WriteAttr(path.Join(tpg.Path(), "attrib", kv[0]), kv[1]); err != nil {
			return nil, err
		}
	}
	if err := l.WriteAttr(path.Join(tpg.Path(), "enable"), "1"); err != nil {
		return nil, err
	}
	return &ExportResult{File: abs, Backstore: path.Join("/backstores", configfs.BackstoreName(so.Plugin), so.Name),
		IQN: t.WWN, Portal: configfs.PortalName(ip, port), LUN: 0}, nil
}

// Unexport undoes Export: it deletes the iSCSI targets that export a file
// or device (or the target named by its IQN) and then the backstores they
// exported that no other LUN uses. It returns the targets' WWNs.
func (st Store) Unexport(ctx context.Context, arg string) ([]string, error) {
	l := st.LIO
	abs, _ := filepath.Abs(arg)
	targets, err := l.Targets("iscsi")
	if err != nil {
		return nil, err
	}
	var removed []string
	sos := map[configfs.StorageObject]bool{}
	for _, t := range targets {
		tpgs, err := l.TPGs(t)
		if err != nil {
			return nil, err
		}
		match := t.WWN == arg
		var exported []configfs.StorageObject
		for _, tpg := range tpgs {
			luns, err := l.LUNs(tpg)
			if err != nil {
				return nil, err
			}
			for _, x := range luns {
				if !x.Linked {
					continue
				}
				exported = append(exported, x.Storage)
				si, err := l.StorageObjectInfo(x.Storage)
				if err == nil && (si.Dev == abs || si.Dev == arg) {
					match = true
				}
			}
		}
		if !match {
			continue
		}
		for _, so := range exported {
			sos[so] = true
		}
		if err := l.DeleteTarget(t); err != nil {
			return nil, err
		}
		removed = append(removed, t.WWN)
	}
	if len(removed) == 0 {
		return nil, usagef("unexport: no iSCSI target exports %s", arg)
	}
	for so := range sos {
		if others, err := l.LUNsOf(so); err == nil && len(others) == 0 {
			if err := st.DeleteStorageObject(ctx, so); err != nil {
				return nil, err
			}
		}
	}
	return removed, nil
}
