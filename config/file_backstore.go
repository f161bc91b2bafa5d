package config

import (
	"context"
	"os"
	"path/filepath"

	"github.com/tcmsh/tcmsh/configfs"
)

// BackstoreForFile is the storage object that exports a file or block
// device given by path (`luns create` with a path): the backstore already
// on it, if any, since two backstores on one file would each cache its
// blocks; else a new fileio one (block for a block device), named after
// the file. msg says what was created ("" when it existed).
func (st Store) BackstoreForFile(ctx context.Context, file string) (so configfs.StorageObject, msg string, err error) {
	fi, err := os.Stat(file)
	if err != nil {
		return so, "", usagef("storage_object %s: neither a /backstores path nor an existing file or block device", file)
	}
	abs, _ := filepath.Abs(file)
	if sos, err := st.LIO.StorageObjects(); err == nil {
		for _, so := range sos {
			if si, err := st.LIO.StorageObjectInfo(so); err == nil && si.Dev == abs {
				return so, "", nil
			}
		}
	}
	spec := BackstoreSpec{Name: BackstoreNameFor(abs), Dev: abs}
	if fi.Mode()&os.ModeDevice != 0 && fi.Mode()&os.ModeCharDevice == 0 {
		spec.Plugin = "iblock"
	} else {
		spec.Plugin, spec.WriteBack, spec.Sparse = "fileio", true, true
	}
	return st.CreateBackstore(ctx, spec)
}
