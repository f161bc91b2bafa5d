package configfs_test

import (
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/sim"
)

// noBackendFS answers mkdir of an HBA of one plugin as the real kernel does
// when no loaded module provides that backend: EINVAL.
type noBackendFS struct {
	configfs.FS
	plugin string
}

func (f noBackendFS) Mkdir(p string) error {
	if strings.HasPrefix(p, "target/core/"+f.plugin+"_") {
		return &configfs.Error{Op: "mkdir", Path: p, Err: syscall.EINVAL}
	}
	return f.FS.Mkdir(p)
}

// Creating a backstore whose module is not loaded names the module (seen
// on a real 6.1 kernel without target_core_user: "mkdir
// target/core/user_0: invalid argument").
func TestCreateStorageObjectNamesMissingModule(t *testing.T) {
	dir := t.TempDir()
	k, err := sim.Open(dir, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	l, err := configfs.Open(noBackendFS{FS: k, plugin: "user"}, "/sys/kernel/config",
		configfs.Options{Kind: "sim", LockPath: filepath.Join(dir, "hba.lock")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.CreateStorageObject(configfs.StorageSpec{Plugin: "user", Name: "u",
		Control: []configfs.KV{{Key: "dev_size", Value: "1048576"}, {Key: "dev_config", Value: "ram/"}}})
	if !errors.Is(err, configfs.ErrModuleNotLoaded) || !strings.Contains(err.Error(), "target_core_user") {
		t.Fatalf("err = %v, want ErrModuleNotLoaded naming target_core_user", err)
	}
	// Other backends are unaffected.
	if _, err := l.CreateStorageObject(configfs.StorageSpec{Plugin: "rd_mcp", Name: "r",
		Control: []configfs.KV{{Key: "rd_pages", Value: "16"}}}); err != nil {
		t.Fatal(err)
	}
}
