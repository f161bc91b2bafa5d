package sim

import (
	"syscall"
	"testing"
)

// TestRefusals runs scenarios whose last steps the kernel refuses, each
// with the errno it gives.
func TestRefusals(t *testing.T) {
	so := "target/core/fileio_0/disk1"
	lt := "target/loopback/" + loopWWN + "/tpgt_1"
	it := "target/iscsi/" + iqn + "/tpgt_1"
	loop := []step{
		{op: "mkdir", a: "target/loopback"},
		{op: "mkdir", a: "target/loopback/" + loopWWN},
		{op: "mkdir", a: lt},
	}
	iscsi := []step{
		{op: "mkdir", a: "target/iscsi"},
		{op: "mkdir", a: "target/iscsi/" + iqn},
		{op: "mkdir", a: it},
	}
	cases := []struct {
		name  string
		setup func(t *testing.T) []step
		steps []step
	}{
		{"unknown fabric", nil, []step{{op: "mkdir", a: "target/qla2xxx", want: syscall.EINVAL}}},
		{"mkdir where no group can be made", nil, []step{
			{op: "mkdir", a: "target/core/alua/x", want: syscall.EPERM},
			{op: "mkdir", a: "target/core/fileio_0"},
			{op: "mkdir", a: "target/core/fileio_0/d"},
			{op: "mkdir", a: "target/core/fileio_0/d/attrib/x", want: syscall.EPERM},
			{op: "mkdir", a: "target/core/fileio_0/d/statistics/x", want: syscall.ENOSYS},
			{op: "mkdir", a: "target/core/fileio_0/d", want: syscall.EEXIST},
			{op: "mkdir", a: "target/core/nothere/d", want: syscall.ENOENT},
			{op: "mkdir", a: "target/version/x", want: syscall.ENOTDIR},
		}},
		{"bad HBA names", nil, []step{
			{op: "mkdir", a: "target/core/fileio", want: syscall.EINVAL},
			{op: "mkdir", a: "target/core/nosuch_0", want: syscall.EINVAL},
			{op: "mkdir", a: "target/core/fileio_x", want: syscall.EINVAL},
			{op: "mkdir", a: "target/core/fileio_0_1", want: syscall.EINVAL},
			{op: "mkdir", a: "target/core/rd_mcp_0"},
		}},
		{"enable refuses incomplete objects", nil, []step{
			{op: "mkdir", a: "target/core/fileio_0"},
			{op: "mkdir", a: so},
			{op: "write", a: so + "/enable", b: "1", want: syscall.EINVAL},
			{op: "write", a: so + "/control", b: "fd_dev_name=/nonexistent-dir/f"},
			{op: "write", a: so + "/enable", b: "0", want: syscall.EINVAL},
			{op: "mkdir", a: "target/core/rd_mcp_1"},
			{op: "mkdir", a: "target/core/rd_mcp_1/r"},
			{op: "write", a: "target/core/rd_mcp_1/r/enable", b: "1", want: syscall.EINVAL},
			{op: "write", a: "target/core/rd_mcp_1/r/control", b: "rd_pages=0"},
			{op: "write", a: "target/core/rd_mcp_1/r/enable", b: "1", want: syscall.EINVAL},
			{op: "write", a: "target/core/rd_mcp_1/r/control", b: "rd_pages=256,rd_nullio=1"},
			{op: "write", a: "target/core/rd_mcp_1/r/enable", b: "1"},
			{op: "write", a: "target/core/rd_mcp_1/r/enable", b: "1", want: syscall.EEXIST},
			{op: "mkdir", a: "target/core/pscsi_2"},
			{op: "mkdir", a: "target/core/pscsi_2/p"},
			{op: "write", a: "target/core/pscsi_2/p/enable", b: "1", want: syscall.EINVAL},
			{op: "mkdir", a: "target/core/iblock_3"},
			{op: "mkdir", a: "target/core/iblock_3/b"},
			{op: "write", a: "target/core/iblock_3/b/enable", b: "1", want: syscall.EINVAL},
			{op: "write", a: "target/core/iblock_3/b/control", b: "udev_path=/nonexistent-disk"},
			{op: "write", a: "target/core/iblock_3/b/enable", b: "1", want: syscall.ENOENT},
		}},
		{"control parsing", nil, []step{
			{op: "mkdir", a: "target/core/fileio_0"},
			{op: "mkdir", a: so},
			{op: "write", a: so + "/control", b: "fd_buffered_io=2", want: syscall.EINVAL},
			{op: "write", a: so + "/control", b: "fd_dev_size=12x", want: syscall.EINVAL},
			{op: "write", a: so + "/control", b: "fd_dev_size=99999999999999999999", want: syscall.ERANGE},
			{op: "write", a: so + "/control", b: "unknown_token=1,fd_async_io=1"},
			{op: "mkdir", a: "target/core/user_1"},
			{op: "mkdir", a: "target/core/user_1/u"},
			{op: "write", a: "target/core/user_1/u/control", b: "hw_block_size=0", want: syscall.EINVAL},
			{op: "write", a: "target/core/user_1/u/control", b: "max_data_area_mb=-1", want: syscall.EINVAL},
			{op: "write", a: "target/core/user_1/u/control", b: "data_pages_per_blk=999999999", want: syscall.EINVAL},
			{op: "write", a: "target/core/user_1/u/control", b: "dev_config=rbd/pool/img,dev_size=1073741824,nl_reply_supported=-1"},
			{op: "write", a: "target/core/user_1/u/enable", b: "1"},
			{op: "write", a: "target/core/user_1/u/control", b: "max_data_area_mb=64", want: syscall.EINVAL},
			{op: "write", a: "target/core/user_1/u/control", b: "cmd_ring_size_mb=16", want: syscall.EINVAL},
		}},
		{"permissions", nil, []step{
			{op: "write", a: "target/version", b: "x", want: syscall.EACCES},
			{op: "write", a: "target/core", b: "x", want: syscall.EISDIR},
			{op: "write", a: "target/nothere", b: "x", want: syscall.ENOENT},
			{op: "unlink", a: "target/version", want: syscall.EPERM},
			{op: "unlink", a: "target/core", want: syscall.EISDIR},
			{op: "rmdir", a: "target/core", want: syscall.EPERM},
			{op: "rmdir", a: "target/core/alua/lu_gps/default_lu_gp", want: syscall.EPERM},
			{op: "rmdir", a: "target/version", want: syscall.ENOTDIR},
		}},
		{"attribute ranges and export locks", func(t *testing.T) []step {
			return append(append(fileioSteps(t, "fileio_0", "disk1"), loop...),
				step{op: "write", a: so + "/attrib/block_size", b: "1000", want: syscall.EINVAL},
				step{op: "write", a: so + "/attrib/block_size", b: "4096"},
				step{op: "write", a: so + "/attrib/queue_depth", b: "0", want: syscall.EINVAL},
				step{op: "write", a: so + "/attrib/queue_depth", b: "129", want: syscall.EINVAL},
				step{op: "write", a: so + "/attrib/emulate_ua_intlck_ctrl", b: "3", want: syscall.EINVAL},
				step{op: "write", a: so + "/attrib/emulate_rest_reord", b: "1", want: syscall.ENOSYS},
				step{op: "write", a: so + "/attrib/pi_prot_type", b: "2", want: syscall.ENOSYS},
				step{op: "write", a: so + "/attrib/emulate_tpu", b: "maybe", want: syscall.EINVAL},
				step{op: "write", a: so + "/attrib/max_unmap_lba_count", b: "4294967296", want: syscall.ERANGE},
				step{op: "write", a: so + "/wwn/vendor_id", b: "TOOLONGVENDOR", want: syscall.EOVERFLOW},
				step{op: "write", a: so + "/wwn/vpd_unit_serial", b: "0b5a9c1e-3d2f-4a61-9e7b-2f0c8d1a4b5c"},
				step{op: "mkdir", a: lt + "/lun/lun_0"},
				step{op: "link", a: so, b: lt + "/lun/lun_0/disk1"},
				step{op: "write", a: so + "/attrib/block_size", b: "512", want: syscall.EINVAL},
				step{op: "write", a: so + "/attrib/emulate_tas", b: "0", want: syscall.EINVAL},
				step{op: "write", a: so + "/wwn/vpd_unit_serial", b: "other", want: syscall.EINVAL},
				step{op: "write", a: so + "/attrib/emulate_write_cache", b: "1"},
			)
		}, nil},
		{"WWN validation", nil, []step{
			{op: "mkdir", a: "target/loopback"},
			{op: "mkdir", a: "target/loopback/wwn.bogus", want: syscall.EINVAL},
			{op: "mkdir", a: "target/loopback/" + loopWWN},
			{op: "mkdir", a: "target/loopback/" + loopWWN + "/tpgt_32", want: syscall.EINVAL},
			{op: "mkdir", a: "target/loopback/" + loopWWN + "/tpg1", want: syscall.EINVAL},
			{op: "mkdir", a: "target/vhost"},
			{op: "mkdir", a: "target/vhost/nothing", want: syscall.EINVAL},
			{op: "mkdir", a: "target/vhost/naa.5001405abcdef013"},
			{op: "mkdir", a: "target/vhost/naa.5001405abcdef013/tpgt_256", want: syscall.EINVAL},
			{op: "mkdir", a: "target/iscsi"},
			{op: "mkdir", a: "target/iscsi/" + string(make([]byte, 0)) + "iqn." + repeat("a", 230), want: syscall.EINVAL},
			{op: "mkdir", a: "target/iscsi/" + iqn},
			{op: "mkdir", a: "target/iscsi/" + iqn + "/tpg1", want: syscall.EINVAL},
			{op: "mkdir", a: "target/iscsi/" + iqn + "/tpgt_65536", want: syscall.EINVAL},
		}},
		{"symlink rules", func(t *testing.T) []step {
			return append(append(append(fileioSteps(t, "fileio_0", "disk1"), loop...), iscsi...),
				step{op: "mkdir", a: "target/core/fileio_1"},
				step{op: "mkdir", a: "target/core/fileio_1/off"},
				step{op: "mkdir", a: lt + "/lun/lun_0"},
				step{op: "link", a: "target/core/fileio_1/off", b: lt + "/lun/lun_0/off", want: syscall.ENODEV},
				step{op: "link", a: "target/core/fileio_1", b: lt + "/lun/lun_0/hba", want: syscall.EFAULT},
				step{op: "link", a: "target/core/nothere", b: lt + "/lun/lun_0/x", want: syscall.ENOENT},
				step{op: "link", a: so, b: lt + "/acls/x", want: syscall.EPERM},
				step{op: "link", a: so, b: lt + "/lun/lun_0/disk1"},
				step{op: "link", a: so, b: lt + "/lun/lun_0/again", want: syscall.EEXIST},
				step{op: "link", a: so, b: lt + "/lun/lun_0/disk1", want: syscall.EEXIST},
				step{op: "mkdir", a: it + "/lun/lun_5"},
				step{op: "mkdir", a: it + "/acls/iqn.1994-05.com.redhat:c"},
				step{op: "mkdir", a: it + "/acls/iqn.1994-05.com.redhat:c/lun_0"},
				step{op: "link", a: it + "/lun/lun_5", b: it + "/acls/iqn.1994-05.com.redhat:c/lun_0/l", want: syscall.EINVAL},
				step{op: "link", a: lt + "/lun/lun_0", b: it + "/acls/iqn.1994-05.com.redhat:c/lun_0/l", want: syscall.EINVAL},
				step{op: "link", a: so, b: it + "/acls/iqn.1994-05.com.redhat:c/lun_0/l", want: syscall.EFAULT},
				step{op: "link", a: so, b: it + "/lun/lun_5/d"},
				step{op: "link", a: it + "/lun/lun_5", b: it + "/acls/iqn.1994-05.com.redhat:c/lun_0/l"},
				step{op: "mkdir", a: it + "/acls/iqn.1994-05.com.redhat:c/lun_x", want: syscall.EINVAL},
				step{op: "mkdir", a: it + "/lun/lun_4294967296"},
				step{op: "mkdir", a: it + "/lun/lun_18446744073709551616", want: syscall.ERANGE},
			)
		}, nil},
		{"rmdir refuses busy and non-empty groups", func(t *testing.T) []step {
			return append(append(append(fileioSteps(t, "fileio_0", "disk1"), loop...), iscsi...),
				step{op: "mkdir", a: it + "/lun/lun_0"},
				step{op: "link", a: so, b: it + "/lun/lun_0/d"},
				step{op: "mkdir", a: it + "/acls/iqn.1994-05.com.redhat:c"},
				step{op: "mkdir", a: it + "/acls/iqn.1994-05.com.redhat:c/lun_0"},
				step{op: "link", a: it + "/lun/lun_0", b: it + "/acls/iqn.1994-05.com.redhat:c/lun_0/l"},
				step{op: "rmdir", a: so, want: syscall.EBUSY},
				step{op: "rmdir", a: "target/core/fileio_0", want: syscall.ENOTEMPTY},
				step{op: "rmdir", a: it + "/lun/lun_0", want: syscall.EBUSY},
				step{op: "rmdir", a: it, want: syscall.ENOTEMPTY},
				step{op: "rmdir", a: "target/iscsi/" + iqn, want: syscall.ENOTEMPTY},
				step{op: "rmdir", a: "target/iscsi", want: syscall.ENOTEMPTY},
				step{op: "rmdir", a: it + "/lun", want: syscall.EPERM},
				step{op: "unlink", a: it + "/acls/iqn.1994-05.com.redhat:c/lun_0/l"},
				step{op: "rmdir", a: it + "/lun/lun_0", want: syscall.ENOTEMPTY},
				step{op: "unlink", a: it + "/lun/lun_0/d"},
				step{op: "rmdir", a: it + "/lun/lun_0"},
				step{op: "rmdir", a: it + "/acls/iqn.1994-05.com.redhat:c", want: syscall.ENOTEMPTY},
				step{op: "rmdir", a: it + "/acls/iqn.1994-05.com.redhat:c/lun_0"},
				step{op: "rmdir", a: it + "/acls/iqn.1994-05.com.redhat:c"},
				step{op: "rmdir", a: it},
				step{op: "rmdir", a: so},
				step{op: "rmdir", a: "target/core/fileio_0"},
			)
		}, nil},
		{"loopback nexus", func(t *testing.T) []step {
			return append(append(fileioSteps(t, "fileio_0", "disk1"), loop...),
				step{op: "write", a: lt + "/nexus", b: "NULL", want: syscall.ENODEV},
				step{op: "write", a: lt + "/nexus", b: "iqn.1994-05.com.redhat:c", want: syscall.EINVAL},
				step{op: "write", a: lt + "/nexus", b: "bogus", want: syscall.EINVAL},
				step{op: "write", a: lt + "/nexus", b: "naa.5001405abcdef099\n"},
				step{op: "write", a: lt + "/nexus", b: "naa.5001405abcdef098", want: syscall.EEXIST},
				step{op: "mkdir", a: lt + "/lun/lun_0"},
				step{op: "link", a: so, b: lt + "/lun/lun_0/d"},
				step{op: "write", a: lt + "/nexus", b: "NULL", want: syscall.EPERM},
				step{op: "write", a: lt + "/transport_status", b: "sideways", want: syscall.EINVAL},
				step{op: "unlink", a: lt + "/lun/lun_0/d"},
				step{op: "write", a: lt + "/nexus", b: "NULL"},
			)
		}, nil},
		{"iscsi portals and enable", func(t *testing.T) []step {
			return append(iscsi,
				step{op: "mkdir", a: it + "/np/0.0.0.0:3260"},
				step{op: "mkdir", a: it + "/np/0.0.0.0:0xcbc", want: syscall.EINVAL},
				step{op: "mkdir", a: it + "/np/[::1]:3260"},
				step{op: "mkdir", a: it + "/np/[::1:3260", want: syscall.EINVAL},
				step{op: "mkdir", a: it + "/np/10.0.0.1", want: syscall.EINVAL},
				step{op: "mkdir", a: it + "/np/10.0.0.1:70000", want: syscall.EINVAL},
				step{op: "mkdir", a: it + "/np/300.0.0.1:3260", want: syscall.EINVAL},
				step{op: "write", a: it + "/np/0.0.0.0:3260/iser", b: "2", want: syscall.EINVAL},
				step{op: "write", a: it + "/np/0.0.0.0:3260/iser", b: "1", want: syscall.EINVAL},
				step{op: "mkdir", a: it + "/np/::1:3262", want: syscall.EINVAL},
				step{op: "mkdir", a: it + "/np/127.0.0.2:0"},
				step{op: "mkdir", a: "target/iscsi/" + iqn + "/tpgt_2"},
				step{op: "mkdir", a: "target/iscsi/" + iqn + "/tpgt_2/np/0.0.0.0:3260", want: syscall.EINVAL},
				step{op: "mkdir", a: "target/iscsi/" + iqn + "2"},
				step{op: "mkdir", a: "target/iscsi/" + iqn + "2/tpgt_1"},
				step{op: "mkdir", a: "target/iscsi/" + iqn + "2/tpgt_1/np/0.0.0.0:3260"},
				step{op: "write", a: it + "/attrib/login_timeout", b: "31", want: syscall.EINVAL},
				step{op: "write", a: it + "/param/HeaderDigest", b: "MD5", want: syscall.EINVAL},
				step{op: "write", a: it + "/param/MaxBurstLength", b: "100", want: syscall.EINVAL},
				step{op: "write", a: it + "/enable", b: "x", want: syscall.EINVAL},
				step{op: "write", a: it + "/enable", b: "1"},
				step{op: "write", a: it + "/enable", b: "1"},
				step{op: "write", a: it + "/enable", b: "0"},
				step{op: "mkdir", a: "target/loopback"},
				step{op: "mkdir", a: "target/loopback/" + loopWWN},
				step{op: "mkdir", a: lt},
				step{op: "mkdir", a: lt + "/np/0.0.0.0:3260", want: syscall.ENOSYS},
			)
		}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k := newKernel(t)
			steps := c.steps
			if c.setup != nil {
				steps = c.setup(t)
			}
			run(t, k, steps)
		})
	}
}

func repeat(s string, n int) string {
	out := ""
	for i := 0; i < n; i++ {
		out += s
	}
	return out
}

func TestLoopbackDiskNeedsNexusFirst(t *testing.T) {
	k := newKernel(t)
	lt := "target/loopback/" + loopWWN + "/tpgt_1"
	run(t, k, append(fileioSteps(t, "fileio_0", "disk1"),
		step{op: "mkdir", a: "target/loopback"},
		step{op: "mkdir", a: "target/loopback/" + loopWWN},
		step{op: "mkdir", a: lt},
		step{op: "mkdir", a: lt + "/lun/lun_0"},
		step{op: "mkdir", a: lt + "/lun/lun_1"},
		step{op: "link", a: "target/core/fileio_0/disk1", b: lt + "/lun/lun_0/d"},
		step{op: "write", a: lt + "/nexus", b: "naa.5001405abcdef099"},
		step{op: "link", a: "target/core/fileio_0/disk1", b: lt + "/lun/lun_1/d"},
	))
	disks := k.LoopbackDisks()
	if len(disks) != 1 || disks[0].LUN != 1 || disks[0].Target != 1 || disks[0].Initiator != "naa.5001405abcdef099" ||
		disks[0].StoragePath != "target/core/fileio_0/disk1" {
		t.Fatalf("disks = %+v; want only lun_1 (linked after the nexus)", disks)
	}
	if got := read(t, k, lt+"/nexus"); got != "naa.5001405abcdef099\n" {
		t.Errorf("nexus = %q", got)
	}
}

// TestSeenOnRealKernel pins behaviour observed on Debian's 6.1 kernel that
// a reading of the sources would get wrong.
func TestSeenOnRealKernel(t *testing.T) {
	k := newKernel(t)
	it := "target/iscsi/" + iqn + "/tpgt_1"
	run(t, k, []step{
		{op: "mkdir", a: "target/core/rd_mcp_4"}, {op: "mkdir", a: "target/core/rd_mcp_4/rd"},
		{op: "write", a: "target/core/rd_mcp_4/rd/control", b: "rd_pages=0"},           // accepted; enable refuses it
		{op: "write", a: "target/core/rd_mcp_4/rd/control", b: "rd_pages=4096"},        // may change
		{op: "write", a: "target/core/rd_mcp_4/rd/attrib/block_size", b: "4096"},       // before enable
		{op: "write", a: "target/core/rd_mcp_4/rd/enable", b: "1"},                     //
		{op: "write", a: "target/core/rd_mcp_4/rd/control", b: "rd_pages=8"},           // after enable too
		{op: "write", a: "target/core/rd_mcp_4/rd/attrib/pi_prot_type", b: "1"},        // rd supports protection
		{op: "write", a: "target/core/rd_mcp_4/rd/attrib/emulate_write_cache", b: "1"}, //
		{op: "write", a: "target/core/rd_mcp_4/rd/attrib/emulate_write_cache", b: "2", want: syscall.EINVAL},
		{op: "write", a: "target/core/rd_mcp_4/rd/wwn/vendor_id", b: "ABCDEFGHI", want: syscall.EOVERFLOW},
		{op: "mkdir", a: "target/core/user_21"}, {op: "mkdir", a: "target/core/user_21/a:b"},
		{op: "write", a: "target/core/user_21/a:b/enable", b: "1"}, // no dev_config, no dev_size, a colon
		{op: "mkdir", a: "target/iscsi"},
		{op: "mkdir", a: "target/iscsi/notawwn"},
		{op: "mkdir", a: "target/iscsi/IQN.2003-01.ORG.EXAMPLE:UP"},
		{op: "mkdir", a: "target/iscsi/eui.0123456789abcdef"},
		{op: "mkdir", a: "target/iscsi/" + iqn}, {op: "mkdir", a: it},
		{op: "mkdir", a: "target/iscsi/" + iqn + "/tpgt_0"},
		{op: "mkdir", a: it + "/lun/lun_65536"},
		{op: "mkdir", a: it + "/acls/not-an-iqn"},
		{op: "mkdir", a: it + "/np/10.9.8.7:3260"},
		{op: "write", a: it + "/auth/userid", b: repeat("0", 256) + "\n"},
		{op: "mkdir", a: "target/loopback"},
		{op: "mkdir", a: "target/loopback/naa.123"},
		{op: "mkdir", a: "target/loopback/naa.500140zzzzzzzzzz"},
		{op: "mkdir", a: "target/loopback/fc.5001405fffffffff"},
		{op: "write", a: "target/dbroot", b: "/tmp", want: syscall.EINVAL}, // fabrics are registered
	})
	if got := read(t, k, it+"/auth/userid"); len(got) != 256 {
		t.Errorf("a 256-byte userid reads back %d bytes, want 255 and a newline", len(got))
	}
	if got := read(t, k, "target/core/rd_mcp_4/rd/info"); got != "Status: DEACTIVATED  Max Queue Depth: 0  SectorSize: 512  HwMaxSectors: 4294967288\n        TCM RamDisk ID: 0  RamDisk Makeup: rd_mcp\n        PAGES/PAGE_SIZE: 8*4096  SG_table_count: 3  nullio: 0 dummy: 0\n" {
		t.Errorf("info = %q", got)
	}
	if got := read(t, k, "target/loopback/naa.500140zzzzzzzzzz/param/cmd_completion_affinity"); got != "-1\n" {
		t.Errorf("cmd_completion_affinity = %q", got)
	}
}

func TestALUAGroups(t *testing.T) {
	k := newKernel(t)
	so := "target/core/rd_mcp_0/r"
	lg := "target/core/alua/lu_gps/lg"
	run(t, k, []step{
		{op: "mkdir", a: "target/core/rd_mcp_0"}, {op: "mkdir", a: so},
		{op: "write", a: so + "/alua_lu_gp", b: "default_lu_gp"}, // before enable: ignored
		{op: "write", a: so + "/control", b: "rd_pages=8"}, {op: "write", a: so + "/enable", b: "1"},
		{op: "mkdir", a: lg},
		{op: "write", a: so + "/alua_lu_gp", b: "lg", want: syscall.ENODEV}, // no id yet
		{op: "write", a: lg + "/lu_gp_id", b: "0", want: syscall.EINVAL},    // default_lu_gp has 0
		{op: "write", a: lg + "/lu_gp_id", b: "65536", want: syscall.EINVAL},
		{op: "write", a: lg + "/lu_gp_id", b: "5"},
		{op: "write", a: lg + "/lu_gp_id", b: "6", want: syscall.EINVAL}, // already has one
		{op: "write", a: so + "/alua_lu_gp", b: "lg"},
		{op: "mkdir", a: so + "/alua/g"},
		{op: "write", a: so + "/alua/g/alua_access_state", b: "1", want: syscall.EINVAL}, // no id
		{op: "write", a: so + "/alua/g/tg_pt_gp_id", b: "0", want: syscall.EINVAL},       // the default group's
		{op: "write", a: so + "/alua/g/tg_pt_gp_id", b: "9"},
		{op: "write", a: so + "/alua/g/alua_access_state", b: "4", want: syscall.EINVAL}, // LBA dependent with explicit ALUA on
		{op: "write", a: so + "/alua/g/alua_access_state", b: "2"},
		{op: "write", a: so + "/alua/g/nonop_delay_msecs", b: "10001", want: syscall.EINVAL},
	})
	if got := read(t, k, so+"/alua_lu_gp"); got != "LU Group Alias: lg\nLU Group ID: 5\n" {
		t.Errorf("alua_lu_gp = %q", got)
	}
	if got := read(t, k, so+"/alua/g/alua_access_status"); got != "Altered by Implicit ALUA\n" {
		t.Errorf("status after an implicit transition = %q", got)
	}
	run(t, k, []step{{op: "rmdir", a: lg}})
	if got := read(t, k, so+"/alua_lu_gp"); got != "LU Group Alias: default_lu_gp\nLU Group ID: 0\n" {
		t.Errorf("alua_lu_gp after its group is removed = %q", got)
	}
	if got := read(t, k, "target/core/alua/lu_gps/default_lu_gp/members"); got != "rd_mcp_0/r\n" {
		t.Errorf("default_lu_gp members = %q", got)
	}
}
