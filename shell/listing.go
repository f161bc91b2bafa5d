package shell

import (
	"sync"

	"github.com/tcmsh/tcmsh/configfs"
)

// listingWorkers is how many objects a listing reads at once: each is a
// few independent configfs reads, and a kernel with two CPUs serves two
// readers at once.
const listingWorkers = 4

// inParallel calls fn(0) … fn(n-1) on up to listingWorkers goroutines.
func inParallel(n int, fn func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(listingWorkers, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

// prefetchStorage reads the storage objects among kids that the listing
// has not read yet, in parallel, before the tree draws them one by one.
func (sh *Shell) prefetchStorage(kids []*Node) {
	var sos []configfs.StorageObject
	for _, k := range kids {
		if k.kind == kindStorageObject {
			if _, ok := sh.memo.so[k.so]; !ok {
				sos = append(sos, k.so)
			}
		}
	}
	reads := make([]soRead, len(sos))
	inParallel(len(sos), func(i int) {
		reads[i].info, reads[i].err = sh.env.LIO.StorageObjectInfo(sos[i])
	})
	for i, so := range sos {
		sh.memo.so[so] = reads[i]
	}
}

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
		luns: map[configfs.TPG][]configfs.LUNInfo{}, lun: map[configfs.LUN]lunRead{}}
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
	// The LUNs not read yet are read in parallel first.
	var todo []int
	for _, n := range idx {
		if _, ok := sh.memo.lun[configfs.LUN{TPG: tpg, Index: n}]; !ok {
			todo = append(todo, n)
		}
	}
	reads := make([]lunRead, len(todo))
	errs := make([]error, len(todo))
	inParallel(len(todo), func(i int) {
		reads[i].info, reads[i].found, errs[i] = sh.env.LIO.LUNAt(tpg, todo[i])
	})
	for i, n := range todo {
		if errs[i] != nil {
			return nil, errs[i]
		}
		sh.memo.lun[configfs.LUN{TPG: tpg, Index: n}] = reads[i]
	}
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
