package sim

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tcmsh/tcmsh/configfs"
)

const (
	loopWWN = "naa.5001405abcdef012"
	iqn     = "iqn.2003-01.org.linux-iscsi.test:sn.0123456789ab"
)

// step is one configfs operation of a scenario.
type step struct {
	op   string // mkdir, rmdir, write, link, unlink
	a, b string
	want syscall.Errno // 0: must succeed
}

func run(t *testing.T, k *Kernel, steps []step) {
	t.Helper()
	for i, s := range steps {
		var err error
		switch s.op {
		case "mkdir":
			err = k.Mkdir(s.a)
		case "rmdir":
			err = k.Rmdir(s.a)
		case "write":
			err = k.WriteFile(s.a, []byte(s.b))
		case "link":
			err = k.Symlink(s.a, s.b)
		case "unlink":
			err = k.Unlink(s.a)
		default:
			t.Fatalf("bad op %q", s.op)
		}
		if got := configfs.Errno(err); got != s.want {
			t.Fatalf("step %d: %s %s %q: got errno %v (%v), want %v", i, s.op, s.a, s.b, got, err, s.want)
		}
		if err != nil {
			var ce *configfs.Error
			if !errors.As(err, &ce) || ce.Path == "" {
				t.Fatalf("step %d: error %v is not a *configfs.Error with a path", i, err)
			}
		}
	}
}

func newKernel(t testing.TB) *Kernel {
	t.Helper()
	k, err := Open("", Options{})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func read(t *testing.T, k *Kernel, p string) string {
	t.Helper()
	b, err := k.ReadFile(p)
	if err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	return string(b)
}

// fileioSteps makes an enabled fileio object core/fileio_<n>/<name>.
func fileioSteps(t testing.TB, hba, name string) []step {
	return []step{
		{op: "mkdir", a: "target/core/" + hba},
		{op: "mkdir", a: "target/core/" + hba + "/" + name},
		{op: "write", a: "target/core/" + hba + "/" + name + "/control", b: "fd_dev_name=" + filepath.Join(t.TempDir(), name) + ",fd_dev_size=1048576"},
		{op: "write", a: "target/core/" + hba + "/" + name + "/enable", b: "1"},
	}
}

func TestBootTree(t *testing.T) {
	k := newKernel(t)
	want := map[string]configfs.DirEntry{
		"target/version": {Name: "version", Kind: configfs.KindAttr, Perm: 0o444, Links: 1},
		"target/dbroot":  {Name: "dbroot", Kind: configfs.KindAttr, Perm: 0o644, Links: 1},
		// 2 + its subdirectory alua, as configfs counts them.
		"target/core": {Name: "core", Kind: configfs.KindDir, Perm: 0o755, Links: 3},
		"target/core/alua/lu_gps/default_lu_gp/lu_gp_id": {Name: "lu_gp_id", Kind: configfs.KindAttr, Perm: 0o644, Links: 1},
		"target/core/alua/lu_gps/default_lu_gp/members":  {Name: "members", Kind: configfs.KindAttr, Perm: 0o444, Links: 1},
	}
	for p, w := range want {
		got, err := k.Stat(p)
		if err != nil || got != w {
			t.Errorf("stat %s = %+v, %v; want %+v", p, got, err, w)
		}
	}
	if v := read(t, k, "target/version"); !strings.HasPrefix(v, "Target Engine Core ConfigFS Infrastructure v5.0 on Linux/x86_64 on ") || !strings.HasSuffix(v, "\n") {
		t.Errorf("version = %q", v)
	}
	if v := read(t, k, "target/core/alua/lu_gps/default_lu_gp/lu_gp_id"); v != "0\n" {
		t.Errorf("default_lu_gp id = %q", v)
	}
	es, _ := k.ReadDir("target")
	if len(es) != 3 {
		t.Errorf("target/ holds %v, want core, dbroot, version only (no fabric before its mkdir)", es)
	}
}

// TestMkdirTrees checks the entries, permissions and defaults every
// object type gets.
func TestMkdirTrees(t *testing.T) {
	k := newKernel(t)
	so := "target/core/fileio_0/disk1"
	run(t, k, fileioSteps(t, "fileio_0", "disk1"))
	tpg := "target/iscsi/" + iqn + "/tpgt_1"
	run(t, k, []step{
		{op: "mkdir", a: "target/core/user_3"},
		{op: "mkdir", a: "target/core/user_3/u1"},
		{op: "mkdir", a: "target/core/rd_mcp_1"},
		{op: "mkdir", a: "target/core/rd_mcp_1/rd"},
		{op: "mkdir", a: "target/iscsi"},
		{op: "mkdir", a: "target/iscsi/" + iqn},
		{op: "mkdir", a: tpg},
		{op: "mkdir", a: tpg + "/lun/lun_0"},
		{op: "mkdir", a: tpg + "/np/0.0.0.0:3260"},
		{op: "mkdir", a: tpg + "/np/[::]:3260"},
		{op: "mkdir", a: tpg + "/acls/iqn.1994-05.com.redhat:client"},
		{op: "mkdir", a: tpg + "/acls/iqn.1994-05.com.redhat:client/lun_0"},
		{op: "mkdir", a: "target/loopback"},
		{op: "mkdir", a: "target/loopback/" + loopWWN},
		{op: "mkdir", a: "target/loopback/" + loopWWN + "/tpgt_1"},
		{op: "mkdir", a: "target/vhost"},
		{op: "mkdir", a: "target/vhost/naa.5001405abcdef013"},
		{op: "mkdir", a: "target/vhost/naa.5001405abcdef013/tpgt_1"},
	})
	perms := []struct {
		path string
		kind configfs.EntryKind
		perm os.FileMode
		val  string // "-": not checked
	}{
		{"target/core/fileio_0/hba_info", configfs.KindAttr, 0o444, "HBA Index: 1 plugin: fileio version: v5.0\n"},
		{"target/core/fileio_0/hba_mode", configfs.KindAttr, 0o644, "0\n"},
		{so + "/control", configfs.KindAttr, 0o200, ""},
		{so + "/enable", configfs.KindAttr, 0o644, "1\n"},
		{so + "/info", configfs.KindAttr, 0o444, "-"},
		{so + "/udev_path", configfs.KindAttr, 0o644, ""},
		{so + "/alias", configfs.KindAttr, 0o644, ""},
		{so + "/alua_lu_gp", configfs.KindAttr, 0o644, "LU Group Alias: default_lu_gp\nLU Group ID: 0\n"},
		{so + "/attrib/block_size", configfs.KindAttr, 0o644, "512\n"},
		{so + "/attrib/hw_block_size", configfs.KindAttr, 0o444, "512\n"},
		{so + "/attrib/hw_max_sectors", configfs.KindAttr, 0o444, "16384\n"},
		{so + "/attrib/queue_depth", configfs.KindAttr, 0o644, "128\n"},
		{so + "/attrib/emulate_tpu", configfs.KindAttr, 0o644, "0\n"},
		{so + "/attrib/emulate_3pc", configfs.KindAttr, 0o644, "1\n"},
		{so + "/attrib/max_unmap_lba_count", configfs.KindAttr, 0o644, "8192\n"},
		{so + "/pr/res_type", configfs.KindAttr, 0o444, "SPC3_PERSISTENT_RESERVATIONS\n"},
		{so + "/pr/res_pr_generation", configfs.KindAttr, 0o444, "0x00000000\n"},
		{so + "/statistics/scsi_dev/role", configfs.KindAttr, 0o444, "Target\n"},
		{so + "/statistics/scsi_lu/vend", configfs.KindAttr, 0o444, "LIO-ORG \n"},
		{so + "/statistics/scsi_tgt_dev/status", configfs.KindAttr, 0o444, "deactivated"},
		{so + "/wwn/vpd_unit_serial", configfs.KindAttr, 0o644, "T10 VPD Unit Serial Number: \n"},
		{so + "/wwn/vendor_id", configfs.KindAttr, 0o644, "LIO-ORG\n"},
		{so + "/wwn/product_id", configfs.KindAttr, 0o644, "FILEIO\n"},
		{so + "/wwn/revision", configfs.KindAttr, 0o644, "4.0\n"},
		{so + "/alua/default_tg_pt_gp/tg_pt_gp_id", configfs.KindAttr, 0o644, "0\n"},
		{so + "/alua/default_tg_pt_gp/alua_access_type", configfs.KindAttr, 0o644, "Implicit and Explicit\n"},
		{so + "/alua/default_tg_pt_gp/alua_access_status", configfs.KindAttr, 0o644, "None\n"},
		{so + "/alua/default_tg_pt_gp/nonop_delay_msecs", configfs.KindAttr, 0o644, "100\n"},
		{so + "/alua/default_tg_pt_gp/alua_support_lba_dependent", configfs.KindAttr, 0o644, "0\n"},
		{"target/core/user_3/u1/action/block_dev", configfs.KindAttr, 0o644, "unblocked\n"},
		{"target/core/user_3/u1/action/reset_ring", configfs.KindAttr, 0o200, ""},
		{"target/core/user_3/u1/attrib/max_data_area_mb", configfs.KindAttr, 0o444, "1024\n"},
		{"target/core/user_3/u1/attrib/cmd_ring_size_mb", configfs.KindAttr, 0o444, "8\n"},
		{"target/core/user_3/u1/attrib/cmd_time_out", configfs.KindAttr, 0o644, "30\n"},
		{"target/core/user_3/u1/attrib/qfull_time_out", configfs.KindAttr, 0o644, "-1\n"},
		{"target/core/user_3/u1/attrib/nl_reply_supported", configfs.KindAttr, 0o644, "0\n"},
		{"target/core/user_3/u1/wwn/product_id", configfs.KindAttr, 0o644, "\n"},
		{"target/core/rd_mcp_1/hba_info", configfs.KindAttr, 0o444, "HBA Index: 3 plugin: rd_mcp version: v5.0\n"},
		{"target/iscsi/lio_version", configfs.KindAttr, 0o444, "Datera Inc. iSCSI Target v4.1.0\n"},
		{"target/iscsi/discovery_auth/enforce_discovery_auth", configfs.KindAttr, 0o644, "0\n"},
		{"target/iscsi/discovery_auth/authenticate_target", configfs.KindAttr, 0o444, "0\n"},
		{"target/iscsi/" + iqn + "/fabric_statistics/iscsi_instance", configfs.KindDir, 0o755, "-"},
		{"target/iscsi/" + iqn + "/param/cmd_completion_affinity", configfs.KindAttr, 0o644, "-1\n"},
		{tpg + "/enable", configfs.KindAttr, 0o644, "0\n"},
		{tpg + "/attrib/authentication", configfs.KindAttr, 0o644, "1\n"},
		{tpg + "/attrib/default_cmdsn_depth", configfs.KindAttr, 0o644, "64\n"},
		{tpg + "/attrib/login_timeout", configfs.KindAttr, 0o644, "15\n"},
		{tpg + "/param/AuthMethod", configfs.KindAttr, 0o644, "CHAP,None\n"},
		{tpg + "/param/MaxRecvDataSegmentLength", configfs.KindAttr, 0o644, "8192\n"},
		{tpg + "/param/TargetAlias", configfs.KindAttr, 0o644, "LIO Target\n"},
		{tpg + "/auth/userid", configfs.KindAttr, 0o644, "\n"},
		{tpg + "/lun/lun_0/alua_tg_pt_gp", configfs.KindAttr, 0o644, "-"},
		{tpg + "/lun/lun_0/alua_tg_pt_offline", configfs.KindAttr, 0o644, "-"},
		{tpg + "/lun/lun_0/statistics/scsi_port", configfs.KindDir, 0o755, "-"},
		{tpg + "/np/0.0.0.0:3260/iser", configfs.KindAttr, 0o644, "0\n"},
		{tpg + "/np/[::]:3260/cxgbit", configfs.KindAttr, 0o644, "0\n"},
		{tpg + "/acls/iqn.1994-05.com.redhat:client/cmdsn_depth", configfs.KindAttr, 0o644, "64\n"},
		{tpg + "/acls/iqn.1994-05.com.redhat:client/tag", configfs.KindAttr, 0o644, ""},
		{tpg + "/acls/iqn.1994-05.com.redhat:client/info", configfs.KindAttr, 0o444, "No active iSCSI Session for Initiator Endpoint: iqn.1994-05.com.redhat:client\n"},
		{tpg + "/acls/iqn.1994-05.com.redhat:client/attrib/nopin_timeout", configfs.KindAttr, 0o644, "15\n"},
		{tpg + "/acls/iqn.1994-05.com.redhat:client/auth/password", configfs.KindAttr, 0o644, "\n"},
		{tpg + "/acls/iqn.1994-05.com.redhat:client/lun_0/write_protect", configfs.KindAttr, 0o644, ""},
		{tpg + "/acls/iqn.1994-05.com.redhat:client/lun_0/statistics/scsi_auth_intr", configfs.KindDir, 0o755, "-"},
		{"target/loopback/version", configfs.KindAttr, 0o444, "-"},
		{"target/loopback/" + loopWWN + "/tpgt_1/transport_status", configfs.KindAttr, 0o644, "online\n"},
		{"target/loopback/" + loopWWN + "/tpgt_1/address", configfs.KindAttr, 0o444, "0:0:1\n"},
		{"target/loopback/" + loopWWN + "/tpgt_1/attrib/fabric_prot_type", configfs.KindAttr, 0o644, "0\n"},
		{"target/vhost/naa.5001405abcdef013/tpgt_1/nexus", configfs.KindAttr, 0o644, "-"},
	}
	for _, c := range perms {
		e, err := k.Stat(c.path)
		if err != nil {
			t.Errorf("stat %s: %v", c.path, err)
			continue
		}
		if e.Kind != c.kind || e.Perm != c.perm {
			t.Errorf("%s: %v %o, want %v %o", c.path, e.Kind, e.Perm, c.kind, c.perm)
		}
		if c.val == "-" || c.kind != configfs.KindAttr || c.perm&0o444 == 0 {
			continue
		}
		if got := read(t, k, c.path); got != c.val {
			t.Errorf("%s = %q, want %q", c.path, got, c.val)
		}
	}
	absent := []string{
		"target/loopback/" + loopWWN + "/tpgt_1/enable",
		tpg + "/nexus",
		tpg + "/rtpi", // Debian's 6.1 has no rtpi attribute yet
		"target/core/user_3/u1/attrib/block_size",
	}
	for _, p := range absent {
		if _, err := k.Stat(p); configfs.Errno(err) != syscall.ENOENT {
			t.Errorf("%s exists (%v); the kernel has no such entry", p, err)
		}
	}
	// Reads the kernel refuses.
	for p, want := range map[string]syscall.Errno{
		so + "/control": syscall.EACCES,
		"target/loopback/" + loopWWN + "/tpgt_1/nexus": syscall.ENODEV,
		tpg + "/lun/lun_0/alua_tg_pt_gp":               syscall.ENODEV,
		"target/core":                                  syscall.EISDIR,
	} {
		if _, err := k.ReadFile(p); configfs.Errno(err) != want {
			t.Errorf("read %s: %v, want %v", p, err, want)
		}
	}
}
