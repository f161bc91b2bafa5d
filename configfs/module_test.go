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

// noHBAFS answers mkdir of a qla2xxx port as the real 6.1 kernel does with
// tcm_qla2xxx loaded and no QLogic HBA of that WWPN: EINVAL, nothing in
// the kernel log.
type noHBAFS struct{ configfs.FS }

func (f noHBAFS) Mkdir(p string) error {
	if strings.HasPrefix(p, "target/qla2xxx/") && strings.Count(p, "/") == 2 {
		return &configfs.Error{Op: "mkdir", Path: p, Err: syscall.EINVAL}
	}
	return f.FS.Mkdir(p)
}

// A Fibre Channel port the hardware lacks is refused with a message saying
// that the fabric's targets are the hardware's ports (not a bare "invalid
// argument").
func TestCreateTargetWithoutHardwarePortSaysSo(t *testing.T) {
	dir := t.TempDir()
	k, err := sim.Open(dir, sim.Options{Fabrics: append(append([]string{}, sim.DefaultFabrics...), "qla2xxx")})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	l, err := configfs.Open(noHBAFS{FS: k}, "/sys/kernel/config", configfs.Options{Kind: "sim", LockPath: filepath.Join(dir, "hba.lock")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.CreateTarget("qla2xxx", "naa.21000024ff314c79")
	if !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("err = %v, want EINVAL", err)
	}
	for _, w := range []string{"21:00:00:24:ff:31:4c:79", "no port", "fc_host"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	if l.Exists("target/qla2xxx/21:00:00:24:ff:31:4c:79") {
		t.Error("a refused port is left in configfs")
	}
}
