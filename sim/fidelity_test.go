package sim

import (
	"os"
	"strings"
	"syscall"
	"testing"
)

// Differences the fidelity scenario (test/fidelity) found between the
// simulation and Debian's 6.1 kernel, one test each.

// block_size_store recomputes hw_max_sectors from max_bytes_per_io
// (FD_MAX_BYTES for an enabled fileio object): 4096-byte blocks give 2048.
func TestFileioBlockSizeChangesHwMaxSectors(t *testing.T) {
	k := newKernel(t)
	so := "target/core/fileio_0/f1"
	run(t, k, fileioSteps(t, "fileio_0", "f1"))
	if got := read(t, k, so+"/attrib/hw_max_sectors"); got != "16384\n" {
		t.Fatalf("hw_max_sectors after enable = %q, want 16384", got)
	}
	run(t, k, []step{{op: "write", a: so + "/attrib/block_size", b: "4096"}})
	if got := read(t, k, so+"/attrib/hw_max_sectors"); got != "2048\n" {
		t.Errorf("hw_max_sectors with 4096-byte blocks = %q, want 2048", got)
	}
	if got := read(t, k, so+"/info"); !strings.Contains(got, "SectorSize: 4096  HwMaxSectors: 2048\n") {
		t.Errorf("info = %q", got)
	}
	// rd_mcp has no max_bytes_per_io: unchanged.
	run(t, k, []step{
		{op: "mkdir", a: "target/core/rd_mcp_1"},
		{op: "mkdir", a: "target/core/rd_mcp_1/r"},
		{op: "write", a: "target/core/rd_mcp_1/r/control", b: "rd_pages=256"},
		{op: "write", a: "target/core/rd_mcp_1/r/enable", b: "1"},
		{op: "write", a: "target/core/rd_mcp_1/r/attrib/block_size", b: "4096"},
	})
	if got := read(t, k, "target/core/rd_mcp_1/r/attrib/hw_max_sectors"); got != "4294967288\n" {
		t.Errorf("rd_mcp hw_max_sectors = %q", got)
	}
}

// rd_build_device_space: sg_table_count = pages / 2048 + 1.
func TestRamdiskSGTableCount(t *testing.T) {
	for pages, want := range map[string]string{"256": "1", "2047": "1", "2048": "2", "4096": "3", "5000": "3"} {
		k := newKernel(t)
		run(t, k, []step{
			{op: "mkdir", a: "target/core/rd_mcp_0"},
			{op: "mkdir", a: "target/core/rd_mcp_0/r"},
			{op: "write", a: "target/core/rd_mcp_0/r/control", b: "rd_pages=" + pages},
			{op: "write", a: "target/core/rd_mcp_0/r/enable", b: "1"},
		})
		if got := read(t, k, "target/core/rd_mcp_0/r/info"); !strings.Contains(got, "SG_table_count: "+want+" ") {
			t.Errorf("%s pages: info %q, want SG_table_count %s", pages, got, want)
		}
	}
}

// iscsit_ta_generate_node_acls sets cache_dynamic_acls; a 0 written to it
// while generate_node_acls is 1 is skipped.
func TestGenerateNodeACLsCachesDynamicACLs(t *testing.T) {
	k := newKernel(t)
	tpg := "target/iscsi/" + iqn + "/tpgt_1"
	run(t, k, []step{
		{op: "mkdir", a: "target/iscsi"},
		{op: "mkdir", a: "target/iscsi/" + iqn},
		{op: "mkdir", a: tpg},
		{op: "write", a: tpg + "/attrib/generate_node_acls", b: "1"},
	})
	if got := read(t, k, tpg+"/attrib/cache_dynamic_acls"); got != "1\n" {
		t.Errorf("cache_dynamic_acls = %q, want 1", got)
	}
	run(t, k, []step{{op: "write", a: tpg + "/attrib/cache_dynamic_acls", b: "0"}})
	if got := read(t, k, tpg+"/attrib/cache_dynamic_acls"); got != "1\n" {
		t.Errorf("cache_dynamic_acls after writing 0 = %q, want 1", got)
	}
	run(t, k, []step{
		{op: "write", a: tpg + "/attrib/generate_node_acls", b: "0"},
		{op: "write", a: tpg + "/attrib/cache_dynamic_acls", b: "0"},
	})
	if got := read(t, k, tpg+"/attrib/cache_dynamic_acls"); got != "0\n" {
		t.Errorf("cache_dynamic_acls = %q, want 0", got)
	}
}

// iscsit_ta_authentication: authentication=0 puts None back into
// AuthMethod after an enable took it out; 1 takes it out again.
func TestAuthenticationEditsAuthMethod(t *testing.T) {
	k := newKernel(t)
	tpg := "target/iscsi/" + iqn + "/tpgt_1"
	run(t, k, []step{
		{op: "mkdir", a: "target/iscsi"},
		{op: "mkdir", a: "target/iscsi/" + iqn},
		{op: "mkdir", a: tpg},
		{op: "write", a: tpg + "/enable", b: "1"},
	})
	for _, s := range []struct{ auth, want string }{{"", "CHAP\n"}, {"0", "CHAP,None\n"}, {"0", "CHAP,None\n"}, {"1", "CHAP\n"}} {
		if s.auth != "" {
			run(t, k, []step{{op: "write", a: tpg + "/attrib/authentication", b: s.auth}})
		}
		if got := read(t, k, tpg+"/param/AuthMethod"); got != s.want {
			t.Errorf("authentication=%q: AuthMethod = %q, want %q", s.auth, got, s.want)
		}
	}
}

// alua_support_store: the current value is accepted, a change on a backend
// whose flag is fixed is ENOSYS, a non-boolean EINVAL.
func TestAluaSupportFixed(t *testing.T) {
	k := newKernel(t)
	a := "target/core/fileio_0/f1/attrib/"
	run(t, k, fileioSteps(t, "fileio_0", "f1"))
	run(t, k, []step{
		{op: "write", a: a + "alua_support", b: "1"},
		{op: "write", a: a + "alua_support", b: "0", want: syscall.ENOSYS},
		{op: "write", a: a + "pgr_support", b: "0", want: syscall.ENOSYS},
		{op: "write", a: a + "alua_support", b: "x", want: syscall.EINVAL},
	})
	if got := read(t, k, a+"alua_support"); got != "1\n" {
		t.Errorf("alua_support = %q", got)
	}
}

// target_alloc_node_acl cuts the initiator name to 223 bytes; the mkdir of
// a longer ACL name succeeds (6.1 accepted 251 bytes).
func TestLongACLNameIsCut(t *testing.T) {
	k := newKernel(t)
	tpg := "target/iscsi/" + iqn + "/tpgt_1"
	name := "iqn.1994-05.com.example:" + strings.Repeat("a", 227)
	run(t, k, []step{
		{op: "mkdir", a: "target/iscsi"},
		{op: "mkdir", a: "target/iscsi/" + iqn},
		{op: "mkdir", a: tpg},
		{op: "mkdir", a: tpg + "/acls/" + name},
	})
	run(t, k, fileioSteps(t, "fileio_0", "f1"))
	run(t, k, []step{
		{op: "mkdir", a: tpg + "/lun/lun_0"},
		{op: "link", a: "target/core/fileio_0/f1", b: tpg + "/lun/lun_0/x"},
		{op: "mkdir", a: tpg + "/acls/" + name + "/lun_0"},
		{op: "link", a: tpg + "/lun/lun_0", b: tpg + "/acls/" + name + "/lun_0/y"},
	})
	if got, want := read(t, k, tpg+"/acls/"+name+"/info"), "No active iSCSI Session for Initiator Endpoint: "+name[:223]+"\n"; got != want {
		t.Errorf("info = %q, want %q", got, want)
	}
	if got, want := read(t, k, tpg+"/acls/"+name+"/lun_0/statistics/scsi_auth_intr/intr_name"), name[:223]+"\n"; got != want {
		t.Errorf("intr_name = %q, want %q", got, want)
	}
}

// default_lu_gp/members lists devices in the order they were enabled (6.1:
// user_5/u1 before iblock_6/b1), not by name.
func TestLUGroupMembersInEnableOrder(t *testing.T) {
	k := newKernel(t)
	run(t, k, []step{
		{op: "mkdir", a: "target/core/rd_mcp_1"},
		{op: "mkdir", a: "target/core/rd_mcp_1/r"},
		{op: "write", a: "target/core/rd_mcp_1/r/control", b: "rd_pages=256"},
		{op: "write", a: "target/core/rd_mcp_1/r/enable", b: "1"},
	})
	run(t, k, fileioSteps(t, "fileio_0", "f"))
	if got := read(t, k, "target/core/alua/lu_gps/default_lu_gp/members"); got != "rd_mcp_1/r\nfileio_0/f\n" {
		t.Errorf("members = %q, want rd_mcp_1/r first", got)
	}
}

// iblock's info names the device as the kernel does (bdevname), not by the
// path it was given.
func TestBlockDevName(t *testing.T) {
	if got := blockDevName("/var/tmp/x/ram0", "999999", "999999"); got != "ram0" {
		t.Errorf("no such device on the host: %q, want the node's name", got)
	}
	if _, err := os.Stat("/sys/dev/block/7:0"); err == nil {
		if got := blockDevName("/var/tmp/x/node", "7", "0"); got != "loop0" {
			t.Errorf("7:0 = %q, want loop0 (the host's name)", got)
		}
	}
}

// core_alua_attach_tg_pt_gp adds a port at the tail of its group's member
// list: members are in the order the LUNs were linked, not by fabric name.
func TestTGPtGroupMembersInLinkOrder(t *testing.T) {
	k := newKernel(t)
	so := "target/core/rd_mcp_0/r"
	run(t, k, []step{
		{op: "mkdir", a: "target/core/rd_mcp_0"},
		{op: "mkdir", a: so},
		{op: "write", a: so + "/control", b: "rd_pages=16"},
		{op: "write", a: so + "/enable", b: "1"},
		{op: "mkdir", a: "target/vhost"},
		{op: "mkdir", a: "target/vhost/naa.5001405ccccccccc"},
		{op: "mkdir", a: "target/vhost/naa.5001405ccccccccc/tpgt_1"},
		{op: "mkdir", a: "target/vhost/naa.5001405ccccccccc/tpgt_1/lun/lun_0"},
		{op: "link", a: so, b: "target/vhost/naa.5001405ccccccccc/tpgt_1/lun/lun_0/x"},
		{op: "mkdir", a: "target/iscsi"},
		{op: "mkdir", a: "target/iscsi/iqn.2003-01.org.example:t"},
		{op: "mkdir", a: "target/iscsi/iqn.2003-01.org.example:t/tpgt_1"},
		{op: "mkdir", a: "target/iscsi/iqn.2003-01.org.example:t/tpgt_1/lun/lun_1"},
		{op: "link", a: so, b: "target/iscsi/iqn.2003-01.org.example:t/tpgt_1/lun/lun_1/y"},
	})
	want := "vhost/naa.5001405ccccccccc/tpgt_1/lun_0\n\x00iSCSI/iqn.2003-01.org.example:t/tpgt_1/lun_1\n\x00"
	if got := read(t, k, so+"/alua/default_tg_pt_gp/members"); got != want {
		t.Errorf("members = %q, want %q", got, want)
	}
}
