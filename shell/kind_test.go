package shell

import (
	"context"
	"testing"
)

// Every node kind says how it is deleted and made again, from the node
// itself (the TUI used to work these out from kind names and summary text).
func TestDeleteCallAndRecreateLine(t *testing.T) {
	sh, _, _ := newTestShell(t, false)
	ctx := context.Background()
	for _, line := range []string{
		"/backstores/ramdisk create 'r 1' 1M",
		"/backstores/fileio/disk1/alua create east 7",
		"/iscsi/iqn.2003-01.org.linux-iscsi.test.x8664:sn.0123456789ab/tpg1/acls/iqn.1994-05.com.redhat:client create 3 0 write_protect=true",
	} {
		if err := sh.Exec(ctx, line); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
	}
	const tpg = "/iscsi/iqn.2003-01.org.linux-iscsi.test.x8664:sn.0123456789ab/tpg1"
	tests := []struct{ path, del, recreate string }{
		{"/backstores/ramdisk/r 1", "/backstores/ramdisk delete 'r 1'", "/backstores/ramdisk create name='r 1' size=1048576 wwn="},
		{"/backstores/fileio/disk1/alua/east", "/backstores/fileio/disk1/alua delete east", "/backstores/fileio/disk1/alua create name=east tag=7"},
		{"/backstores/fileio/disk1/alua/default_tg_pt_gp", "/backstores/fileio/disk1/alua delete default_tg_pt_gp", ""},
		{tpg, "/iscsi/iqn.2003-01.org.linux-iscsi.test.x8664:sn.0123456789ab delete 1", "/iscsi/iqn.2003-01.org.linux-iscsi.test.x8664:sn.0123456789ab create tag=1"},
		{tpg + "/luns/lun0", tpg + "/luns delete 0", tpg + "/luns create storage_object=/backstores/fileio/disk1 lun=0 add_mapped_luns=false"},
		{tpg + "/acls/iqn.1994-05.com.redhat:client/mapped_lun3", tpg + "/acls/iqn.1994-05.com.redhat:client delete 3",
			tpg + "/acls/iqn.1994-05.com.redhat:client create mapped_lun=3 tpg_lun_or_backstore=0 write_protect=true"},
		{tpg + "/portals/0.0.0.0:3260", tpg + "/portals delete 0.0.0.0 3260", tpg + "/portals create ip_address=0.0.0.0 ip_port=3260"},
		{tpg + "/luns", "", ""},
		{"/backstores", "", ""},
	}
	for _, tt := range tests {
		n, err := sh.Resolve(tt.path)
		if err != nil {
			t.Fatal(err)
		}
		del, _, ok := sh.DeleteCall(n)
		if del != tt.del || ok != (tt.del != "") {
			t.Errorf("DeleteCall(%s) = %q %v, want %q", tt.path, del, ok, tt.del)
		}
		if got := sh.RecreateLine(n); got != tt.recreate && !(tt.path == "/backstores/ramdisk/r 1" && len(got) > len(tt.recreate) && got[:len(tt.recreate)] == tt.recreate) {
			t.Errorf("RecreateLine(%s) = %q, want %q", tt.path, got, tt.recreate)
		}
	}
}
