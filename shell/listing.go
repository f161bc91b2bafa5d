package shell

import (
	"path"

	"github.com/tcmsh/tcmsh/configfs"
)

// listing remembers, for the length of one listing command (ls), what was
// read of configfs, so that each node's children, each storage object and
// each TPG's LUNs are read once however many lines show them: the summary
// of a node with a count lists its children, which the tree then draws,
// and every LUN and mapped LUN names its storage object. Nothing outlives
// the command, so the tree never goes stale.
type listing struct {
	kids map[string][]*Node
	so   map[configfs.StorageObject]soRead
	luns map[configfs.TPG][]configfs.LUNInfo
	lun  map[configfs.LUN]lunRead
	// aluaDefault: the default ALUA group's state of objects whose
	// listing of groups read it (ALUAGroupNamesAndState).
	aluaDefault map[configfs.StorageObject]string
	aluaGroups  map[configfs.StorageObject][]string
}

type lunRead struct {
	info  configfs.LUNInfo
	found bool
}

type soRead struct {
	info configfs.StorageInfo
	err  error
}

// beginListing starts remembering reads; the returned function stops.
// Nested calls share the outer listing.
func (sh *Shell) beginListing() func() {
	if sh.memo != nil {
		return func() {}
	}
	sh.memo = &listing{kids: map[string][]*Node{}, so: map[configfs.StorageObject]soRead{},
		luns: map[configfs.TPG][]configfs.LUNInfo{}, lun: map[configfs.LUN]lunRead{},
		aluaDefault: map[configfs.StorageObject]string{}, aluaGroups: map[configfs.StorageObject][]string{}}
	return func() { sh.memo = nil }
}

// storageInfo reads what is shown of a storage object, once per listing.
func (sh *Shell) storageInfo(so configfs.StorageObject) (configfs.StorageInfo, error) {
	if sh.memo != nil {
		if r, ok := sh.memo.so[so]; ok {
			return r.info, r.err
		}
	}
	si, err := sh.env.LIO.StorageObjectInfo(so)
	if sh.memo != nil {
		sh.memo.so[so] = soRead{si, err}
	}
	return si, err
}

// tpgLUNs lists a TPG's LUNs, once per listing; LUNs a mapped LUN's
// summary already read are not read again.
func (sh *Shell) tpgLUNs(tpg configfs.TPG) ([]configfs.LUNInfo, error) {
	if sh.memo == nil {
		return sh.env.LIO.LUNs(tpg)
	}
	if luns, ok := sh.memo.luns[tpg]; ok {
		return luns, nil
	}
	idx, err := sh.env.LIO.LUNIndexes(tpg)
	if err != nil {
		return nil, err
	}
	sh.readLUNs(tpg, idx)
	luns := make([]configfs.LUNInfo, 0, len(idx))
	for _, n := range idx {
		x, found, err := sh.tpgLUN(tpg, n)
		if err != nil {
			return nil, err
		}
		if found {
			luns = append(luns, x)
		}
	}
	sh.memo.luns[tpg] = luns
	return luns, nil
}

// readLUNs reads the LUNs of tpg at indexes the listing has not read yet,
// side by side, into the memo: each LUN's reads are independent, and a
// kernel with two CPUs serves two readers at once.
func (sh *Shell) readLUNs(tpg configfs.TPG, indexes []int) {
	var todo []int
	for _, n := range indexes {
		if _, ok := sh.memo.lun[configfs.LUN{TPG: tpg, Index: n}]; !ok {
			todo = append(todo, n)
		}
	}
	if len(todo) < 2 {
		return
	}
	type read struct {
		info  configfs.LUNInfo
		found bool
		err   error
	}
	reads := configfs.Gather(len(todo), func(i int) (r read) {
		r.info, r.found, r.err = sh.env.LIO.LUNAt(tpg, todo[i])
		return r
	})
	for i, n := range todo {
		if reads[i].err == nil { // a failed read is made again, one by one, to report it
			sh.memo.lun[configfs.LUN{TPG: tpg, Index: n}] = lunRead{reads[i].info, reads[i].found}
		}
	}
}

// prefetchMappedLUNTargets reads, when a listing first shows a mapped
// LUN, the TPG LUNs of every mapped LUN beside it (under one ACL) side by
// side: only the LUNs the shown mappings name, not every LUN of the TPG.
func (sh *Shell) prefetchMappedLUNTargets(n *Node) {
	if sh.memo == nil {
		return
	}
	key := configfs.LUN{TPG: n.mappedLUN.TPG, Index: n.mappedLUN.TPGLUN}
	if _, ok := sh.memo.lun[key]; ok {
		return
	}
	var indexes []int
	for _, s := range sh.memo.kids[path.Dir(n.path)] {
		if s.kind == kindMappedLUN && s.mappedLUN.TPG == n.mappedLUN.TPG && s.mappedLUN.TPGLUN >= 0 {
			indexes = append(indexes, s.mappedLUN.TPGLUN)
		}
	}
	sh.readLUNs(n.mappedLUN.TPG, indexes)
}

// tpgLUN reads one LUN of a TPG, once per listing.
func (sh *Shell) tpgLUN(tpg configfs.TPG, index int) (configfs.LUNInfo, bool, error) {
	if sh.memo == nil {
		return sh.env.LIO.LUNAt(tpg, index)
	}
	key := configfs.LUN{TPG: tpg, Index: index}
	if r, ok := sh.memo.lun[key]; ok {
		return r.info, r.found, nil
	}
	x, found, err := sh.env.LIO.LUNAt(tpg, index)
	if err == nil {
		sh.memo.lun[key] = lunRead{x, found}
	}
	return x, found, err
}

// storageKind is targetcli's backstore directory of an object (block,
// fileio, pscsi, ramdisk or user:<subtype>): only a user object needs a
// read, of its dev_config.
func (sh *Shell) storageKind(so configfs.StorageObject) string {
	if so.Plugin != "user" {
		return configfs.BackstoreName(so.Plugin)
	}
	si, err := sh.storageInfo(so)
	if err != nil {
		return "user"
	}
	return si.Kind()
}

// aluaGroupNames lists a storage object's ALUA groups; in a listing, the
// default group's state read on the way is kept for its line.
func (sh *Shell) aluaGroupNames(so configfs.StorageObject) ([]string, error) {
	if sh.memo == nil {
		return sh.env.LIO.ALUAGroupNames(so)
	}
	if names, ok := sh.memo.aluaGroups[so]; ok {
		return names, nil
	}
	names, state, err := sh.env.LIO.ALUAGroupNamesAndState(so)
	if err == nil {
		sh.memo.noteALUA(so, names, state)
	}
	return names, err
}

// noteALUA keeps an object's ALUA groups, and the default group's state
// when the listing of groups read it, for the rest of the listing.
func (m *listing) noteALUA(so configfs.StorageObject, groups []string, defaultState string) {
	m.aluaGroups[so] = groups
	if defaultState != "" {
		m.aluaDefault[so] = defaultState
	}
}

// defaultALUAState is the state of group n as its object's listing of
// groups read it, if it did.
func (sh *Shell) defaultALUAState(n *Node) (string, bool) {
	if sh.memo == nil || n.gp != configfs.DefaultALUAGroup {
		return "", false
	}
	st, ok := sh.memo.aluaDefault[n.so]
	return st, ok
}

// prefetchStorageInfo reads, when a listing first shows a storage object,
// what it shows of every object beside it (its siblings under one
// backstore type: the line and the ALUA groups) side by side: each
// object's reads are independent, and a kernel with two CPUs serves two
// readers at once (ls /backstores of 200 objects on a real 6.1 kernel
// under qemu: a quarter less time).
func (sh *Shell) prefetchStorageInfo(n *Node) {
	if sh.memo == nil {
		return
	}
	if _, ok := sh.memo.so[n.so]; ok {
		return
	}
	var sos []configfs.StorageObject
	for _, s := range sh.memo.kids[path.Dir(n.path)] {
		if _, ok := sh.memo.so[s.so]; !ok && s.kind == kindStorageObject {
			sos = append(sos, s.so)
		}
	}
	if len(sos) < 2 {
		return
	}
	type read struct {
		so        soRead
		groups    []string
		state     string
		groupsErr error
	}
	reads := configfs.Gather(len(sos), func(i int) (r read) {
		r.so.info, r.so.err = sh.env.LIO.StorageObjectInfo(sos[i])
		r.groups, r.state, r.groupsErr = sh.env.LIO.ALUAGroupNamesAndState(sos[i])
		return r
	})
	for i, so := range sos {
		sh.memo.so[so] = reads[i].so
		if reads[i].groupsErr == nil {
			sh.memo.noteALUA(so, reads[i].groups, reads[i].state)
		}
	}
}
