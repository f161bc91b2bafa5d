package shell

import (
	"context"
	"slices"
	"strings"
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

// Run writes to the writers it is handed, leaves the shell's own alone,
// and says what the command created and deleted and where the shell is.
func TestRunResult(t *testing.T) {
	sh, out, _ := newTestShell(t, false)
	ctx := context.Background()
	run := func(line string) (Result, string) {
		t.Helper()
		c, err := sh.Parse(line)
		if err != nil {
			t.Fatal(err)
		}
		var w strings.Builder
		res, err := sh.Run(ctx, c, IO{Out: &w, Err: &w})
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		return res, w.String()
	}
	out.Reset()
	res, text := run("/loopback create naa.5001405ccccccccc")
	if want := []string{"/loopback/naa.5001405ccccccccc"}; !slices.Equal(res.Created, want) || res.Deleted != nil || res.Cwd != "/" {
		t.Errorf("create: %+v, want created %v at /", res, want)
	}
	if !strings.Contains(text, "Created target naa.5001405ccccccccc.") || out.Len() != 0 {
		t.Errorf("output %q went to the handed writer, %q to the shell's", text, out)
	}
	if res, _ = run("cd /loopback"); res.Cwd != "/loopback" || res.Created != nil {
		t.Errorf("cd: %+v", res)
	}
	if res, _ = run("delete naa.5001405ccccccccc"); !slices.Equal(res.Deleted, []string{"/loopback/naa.5001405ccccccccc"}) {
		t.Errorf("delete: %+v", res)
	}
	if err := sh.Chdir("/backstores"); err != nil || sh.Cwd() != "/backstores" {
		t.Errorf("Chdir: %v, at %s", err, sh.Cwd())
	}
}
