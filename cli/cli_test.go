package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFabricsInModulesDep(t *testing.T) {
	dep := filepath.Join(t.TempDir(), "modules.dep")
	content := strings.Join([]string{
		"kernel/drivers/target/iscsi/iscsi_target_mod.ko: kernel/drivers/target/target_core_mod.ko",
		"kernel/drivers/target/loopback/tcm_loop.ko.xz: kernel/drivers/target/target_core_mod.ko",
		"kernel/drivers/vhost/vhost_scsi.ko: kernel/drivers/vhost/vhost.ko",
		"kernel/drivers/xen/xen-scsiback.ko.zst:",
		"kernel/drivers/target/target_core_user.ko: kernel/drivers/uio/uio.ko",
		// Not fabrics: a name that only ends or starts like one.
		"extra/mytcm_fc.ko: kernel/drivers/scsi/ib_srpt_helper.ko",
		"kernel/drivers/scsi/efct.kobj:",
		// A fabric's line, its name spelt with '-'.
		"kernel/drivers/target/sbp/sbp-target.ko.xz: kernel/drivers/target/target_core_mod.ko",
	}, "\n")
	if err := os.WriteFile(dep, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(fabricsInModulesDep(dep), ",")
	if got != "iscsi,loopback,vhost,xen-pvscsi,sbp" {
		t.Errorf("fabrics = %s", got)
	}
	if f := fabricsInModulesDep(filepath.Join(t.TempDir(), "none")); f != nil {
		t.Errorf("no modules.dep: %v", f)
	}
}

func TestLoadedFabrics(t *testing.T) {
	sys := t.TempDir()
	for _, m := range []string{"tcm_fc", "tcm_loop", "dm_multipath", "xen_scsiback"} {
		if err := os.Mkdir(filepath.Join(sys, m), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Join(loadedFabrics(sys), ","); got != "loopback,xen-pvscsi,fc" {
		t.Errorf("loaded fabrics = %s", got)
	}
	if f := loadedFabrics(filepath.Join(sys, "none")); f != nil {
		t.Errorf("no /sys/module: %v", f)
	}
}
