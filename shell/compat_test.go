package shell

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/sim"
)

// aptplWrites records what is written to pr/res_aptpl_metadata.
type aptplWrites struct {
	configfs.FS
	writes []string
}

func (a *aptplWrites) WriteFile(p string, data []byte) error {
	if strings.HasSuffix(p, "/pr/res_aptpl_metadata") {
		a.writes = append(a.writes, string(data))
	}
	return a.FS.WriteFile(p, data)
}

// execAll runs shell lines, failing the test on the first error.
func execAll(t *testing.T, sh *Shell, lines ...string) {
	t.Helper()
	for _, line := range lines {
		if err := sh.Exec(context.Background(), line); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
	}
}

const testIQN = "iqn.2003-01.org.linux-iscsi.test.x8664:sn.0123456789ab"

// IPv6 portals are saved as targetcli-fb saves them, in brackets ("[::1]",
// which rtslib's restore makes the portal directory from); a file with
// either form restores the portal.
func TestSaveconfigIPv6Portal(t *testing.T) {
	sh, out, _ := newTestShell(t, false)
	execAll(t, sh, "/iscsi/"+testIQN+"/tpg1/portals create ::1 3261")
	file := filepath.Join(t.TempDir(), "saveconfig.json")
	if err := sh.SaveConfig(file, false); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"ip_address": "[::1]"`) || !strings.Contains(string(data), `"ip_address": "0.0.0.0"`) {
		t.Fatalf("saved portals:\n%s", data)
	}
	bare := filepath.Join(t.TempDir(), "bare.json")
	if err := os.WriteFile(bare, []byte(strings.ReplaceAll(string(data), `"[::1]"`, `"::1"`)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{file, bare} {
		execAll(t, sh, "clearconfig confirm=true", "restoreconfig "+f)
		out.Reset()
		execAll(t, sh, "ls /iscsi/"+testIQN+"/tpg1/portals")
		if !strings.Contains(out.String(), "0.0.0.0:3260") || !strings.Contains(out.String(), "[::1]:3261") {
			t.Errorf("%s restored portals:\n%s", filepath.Base(f), out)
		}
	}
}

// A partial restore (the boot restore) sets up everything but what needs a
// missing block device, reports each failure by its JSON path, and fails;
// the LUN of the missing device and the ACL's mapped LUN of it are left
// out, the rest of the target is there. Without partial=true nothing is
// restored.
func TestPartialRestoreMissingDevice(t *testing.T) {
	sh, out, _ := newTestShell(t, false)
	dir := t.TempDir()
	img := filepath.Join(dir, "ok.img")
	file := filepath.Join(dir, "boot.json")
	if err := os.WriteFile(file, []byte(`{
  "fabric_modules": [],
  "storage_objects": [
    {"name": "ok", "plugin": "fileio", "dev": "`+img+`", "size": 1048576, "write_back": false, "attributes": {}},
    {"name": "zvol", "plugin": "block", "dev": "/dev/tcmsh-test-missing-zvol", "readonly": false, "attributes": {}},
    {"name": "rd", "plugin": "ramdisk", "size": 1048576, "attributes": {}}
  ],
  "targets": [{"fabric": "iscsi", "wwn": "iqn.2003-01.org.example:boot", "tpgs": [{"tag": 1, "enable": true,
    "attributes": {}, "parameters": {},
    "luns": [{"index": 0, "storage_object": "/backstores/fileio/ok"}, {"index": 1, "storage_object": "/backstores/block/zvol"}],
    "portals": [],
    "node_acls": [{"node_wwn": "iqn.1994-05.com.example:c", "attributes": {}, "mapped_luns": [
      {"index": 0, "tpg_lun": 0, "write_protect": false}, {"index": 1, "tpg_lun": 1, "write_protect": false}]}]}]}]
}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	execAll(t, sh, "clearconfig confirm=true")
	if err := sh.Exec(context.Background(), "restoreconfig "+file); err == nil {
		t.Fatal("restore without partial=true succeeded with a missing device")
	}
	out.Reset()
	execAll(t, sh, "ls /")
	if strings.Contains(out.String(), "ok") || strings.Contains(out.String(), "boot") {
		t.Fatalf("an all-or-nothing restore left objects:\n%s", out)
	}

	err := sh.Exec(context.Background(), "restoreconfig "+file+" partial=true wait_devices=1")
	if err == nil {
		t.Fatal("partial restore with a failure succeeded")
	}
	msg := err.Error()
	for _, want := range []string{
		"3 of 4 objects restored; 2 failed", // 3 storage objects and 1 target; the zvol and its LUN failed
		"storage_objects[1] (/backstores/block/zvol)",
		"targets[0].tpgs[0].luns[1] (/iscsi/iqn.2003-01.org.example:boot/tpg1/luns/lun1 → /backstores/block/zvol)",
		"devices still missing after the wait: /dev/tcmsh-test-missing-zvol",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	out.Reset()
	execAll(t, sh, "ls / 10")
	ls := out.String()
	for _, want := range []string{"o- ok", "o- rd", "iqn.2003-01.org.example:boot", "o- lun0", "iqn.1994-05.com.example:c", "mapped_lun0"} {
		if !strings.Contains(ls, want) {
			t.Errorf("after the partial restore, ls lacks %q:\n%s", want, ls)
		}
	}
	for _, absent := range []string{"zvol", "o- lun1", "mapped_lun1"} {
		if strings.Contains(ls, absent) {
			t.Errorf("after the partial restore, ls has %q:\n%s", absent, ls)
		}
	}
}

// A backstore created with the unit serial of a device that had APTPL
// persistent reservations gets them back from the file the kernel wrote
// (<dbroot>/pr/aptpl_<serial>), one write of pr/res_aptpl_metadata per
// registration, as rtslib does; restoreconfig with the saved serial does
// it too.
func TestAPTPLRegistrationsRestored(t *testing.T) {
	dir := t.TempDir()
	k, err := sim.Open(filepath.Join(dir, "sim"), sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	rec := &aptplWrites{FS: k}
	l, err := configfs.Open(rec, "/sys/kernel/config", configfs.Options{Kind: "sim", LockPath: filepath.Join(dir, "hba.lock")})
	if err != nil {
		t.Fatal(err)
	}
	dbroot := filepath.Join(dir, "target")
	if err := os.MkdirAll(filepath.Join(dbroot, "pr"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := l.WriteAttr("target/dbroot", dbroot); err != nil {
		t.Fatal(err)
	}
	const serial = "0a7c7bd8-5a39-4c39-9b6c-3d2f6a1b2c3d"
	reg := func(n int, key string) string {
		return fmt.Sprintf("PR_REG_START: %d\ninitiator_fabric=iSCSI\ninitiator_node=iqn.1994-05.com.example:c%d\nsa_res_key=%s\nres_holder=0\nmapped_lun=0\ntarget_fabric=iSCSI\ntarget_node=iqn.2003-01.org.example:t\ntpgt=1\nport_rtpi=1\ntarget_lun=0\nPR_REG_END: %d\n", n, n, key, n)
	}
	if err := os.WriteFile(filepath.Join(dbroot, "pr", "aptpl_"+serial), []byte(reg(0, "4660")+reg(1, "22136")), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	sh := New(Env{LIO: l, Kind: "sim", AvailableFabrics: sim.DefaultFabrics}, Options{Out: &out, Err: &out, Width: 80, Version: "test"})
	trace := func() []string { return rec.writes }
	execAll(t, sh, "/backstores/ramdisk create pr1 8M wwn="+serial)
	if got := trace(); len(got) != 2 || !strings.Contains(got[0], "initiator_node=iqn.1994-05.com.example:c0,sa_res_key=4660") || strings.Contains(got[0], "PR_REG") {
		t.Fatalf("res_aptpl_metadata writes: %q", got)
	}
	if !strings.Contains(out.String(), "Restored 2 persistent reservation registration(s) saved with APTPL") {
		t.Errorf("create did not say so:\n%s", out.String())
	}
	file := filepath.Join(dir, "saveconfig.json")
	execAll(t, sh, "saveconfig "+file, "clearconfig confirm=true", "restoreconfig "+file)
	if got := trace(); len(got) != 4 {
		t.Errorf("restoreconfig: %d res_aptpl_metadata writes in all, want 4", len(got))
	}
	execAll(t, sh, "/backstores/ramdisk create other 8M")
	if got := trace(); len(got) != 4 {
		t.Errorf("a backstore of another serial got APTPL writes: %d", len(got))
	}
}

// Spellings targetcli-fb accepts: a LUN index written lun7 (create and
// delete), a LUN's ALUA group set and read as alua_tg_pt_gp_name, and NAA
// WWNs with colons.
func TestTargetcliSpellings(t *testing.T) {
	sh, out, l := newTestShell(t, false)
	tpg := "/iscsi/" + testIQN + "/tpg1"
	execAll(t, sh,
		"/backstores/ramdisk create sp 8M",
		tpg+"/luns create /backstores/ramdisk/sp lun=lun7",
		"/backstores/ramdisk/sp/alua create gp2 2",
		tpg+"/luns/lun7 set alua alua_tg_pt_gp_name=gp2",
	)
	gp, err := l.ReadAttr("target/iscsi/" + testIQN + "/tpgt_1/lun/lun_7/alua_tg_pt_gp")
	if err != nil || !strings.Contains(gp, "gp2") {
		t.Fatalf("lun_7 alua_tg_pt_gp = %q, %v", gp, err)
	}
	out.Reset()
	execAll(t, sh, tpg+"/luns/lun7 get alua alua_tg_pt_gp_name")
	if !strings.Contains(out.String(), "gp2") {
		t.Errorf("get alua alua_tg_pt_gp_name:\n%s", out)
	}
	execAll(t, sh, tpg+"/luns delete LUN7", tpg+"/luns create /backstores/ramdisk/sp lun8", tpg+"/luns delete lun=lun8")
	if l.Exists("target/iscsi/"+testIQN+"/tpgt_1/lun/lun_7") || l.Exists("target/iscsi/"+testIQN+"/tpgt_1/lun/lun_8") {
		t.Error("lun7/lun8 still there")
	}
	if err := sh.Exec(context.Background(), tpg+"/luns create /backstores/ramdisk/sp lun=lunx"); err == nil || !strings.Contains(err.Error(), "lun") {
		t.Errorf("lun=lunx: %v", err)
	}
	execAll(t, sh, "/loopback create naa.50:01:40:5a:bc:de:f0:99")
	if !l.Exists("target/loopback/naa.5001405abcdef099") {
		t.Error("naa. with colons: no loopback target naa.5001405abcdef099")
	}
}

// ACL tag groups as targetcli-fb has them: tagged ACLs show as one node
// named by the tag; an ACL joining a tag takes the group's mapped LUNs and
// settings; the group node's create, delete and set reach every member;
// untag and delete take a tag.
func TestACLTagGroups(t *testing.T) {
	sh, out, l := newTestShell(t, false)
	acls := "/iscsi/" + testIQN + "/tpg1/acls"
	a, b, c := "iqn.1994-05.com.example:a", "iqn.1994-05.com.example:b", "iqn.1994-05.com.example:c"
	execAll(t, sh,
		acls+" create "+a+" add_mapped_luns=false",
		acls+" create "+b,
		acls+" create "+c+" add_mapped_luns=false",
		acls+" tag "+b+" web",
		acls+" tag "+a+" web",
	)
	aclDir := func(w string) string { return "target/iscsi/" + testIQN + "/tpgt_1/acls/" + w }
	if !l.Exists(aclDir(a) + "/lun_0") {
		t.Fatal("a joined web without taking b's mapped LUN 0")
	}
	out.Reset()
	execAll(t, sh, "ls "+acls)
	ls := out.String()
	if !strings.Contains(ls, "o- web") || !strings.Contains(ls, "tag group: 2 ACLs") || strings.Contains(ls, "o- "+a) || !strings.Contains(ls, "o- "+c) {
		t.Fatalf("ls of tag groups:\n%s", ls)
	}
	execAll(t, sh,
		acls+"/web set attribute dataout_timeout=7",
		acls+"/web create 5 0",
	)
	for _, w := range []string{a, b} {
		if v, _ := l.ReadAttr(aclDir(w) + "/attrib/dataout_timeout"); strings.TrimSpace(v) != "7" {
			t.Errorf("%s dataout_timeout = %q after the group's set", w, v)
		}
		if !l.Exists(aclDir(w) + "/lun_5") {
			t.Errorf("%s has no mapped LUN 5 after the group's create", w)
		}
	}
	if v, _ := l.ReadAttr(aclDir(c) + "/attrib/dataout_timeout"); strings.TrimSpace(v) == "7" {
		t.Error("the untagged ACL got the group's setting")
	}
	out.Reset()
	execAll(t, sh, acls+"/web info")
	if !strings.Contains(out.String(), a) || !strings.Contains(out.String(), b) {
		t.Errorf("group info does not list its members:\n%s", out)
	}
	if err := sh.Exec(context.Background(), acls+" tag "+c+" we.b"); err == nil {
		t.Error("a tag with '.' was accepted")
	}
	execAll(t, sh, acls+" untag web")
	for _, w := range []string{a, b} {
		if v, _ := l.ReadAttr(aclDir(w) + "/tag"); strings.TrimSpace(v) != "" && strings.TrimSpace(v) != "NULL" {
			t.Errorf("%s still tagged %q", w, v)
		}
	}
	execAll(t, sh, acls+" tag "+a+" db", acls+" tag "+b+" db", acls+" delete db")
	if l.Exists(aclDir(a)) || l.Exists(aclDir(b)) || !l.Exists(aclDir(c)) {
		t.Error("delete db did not delete exactly the group's ACLs")
	}
}

// ALUA groups are saved with rtslib's writable fields only: rtslib treats
// alua_support_lba_dependent as read-only and its restore refuses a file
// that sets it (targetcli restoreconfig failed on tcmsh's file).
func TestSaveconfigALUAFieldsAsRtslib(t *testing.T) {
	sh, _, _ := newTestShell(t, false)
	execAll(t, sh, "/backstores/fileio/disk1/alua create gp1 7")
	file := filepath.Join(t.TempDir(), "saveconfig.json")
	if err := sh.SaveConfig(file, false); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "alua_support_lba_dependent") || !strings.Contains(string(data), `"alua_support_standby"`) || !strings.Contains(string(data), `"name": "gp1"`) {
		t.Errorf("saved ALUA groups:\n%s", data)
	}
}

// A saveconfig.json in rtslib's Fibre Channel names (fabric tcm_fc, naa.
// WWNs), as targetcli-fb writes it, restores into configfs's names (fc,
// colon form), and tcmsh's saveconfig writes rtslib's names back. The
// simulated kernel here can load fc and qla2xxx (a generic fabric each).
func TestRestoreFibreChannelFile(t *testing.T) {
	dir := t.TempDir()
	fabrics := append(append([]string{}, sim.DefaultFabrics...), "fc", "qla2xxx")
	k, err := sim.Open(filepath.Join(dir, "sim"), sim.Options{Fabrics: fabrics})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	l, err := configfs.Open(k, "/sys/kernel/config", configfs.Options{Kind: "sim", LockPath: filepath.Join(dir, "hba.lock")})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	sh := New(Env{LIO: l, Kind: "sim", AvailableFabrics: fabrics}, Options{Out: &out, Err: &out, Width: 80, Version: "test"})
	file := filepath.Join(dir, "fc.json")
	if err := os.WriteFile(file, []byte(`{"fabric_modules": [],
 "storage_objects": [{"name": "r", "plugin": "ramdisk", "size": 1048576, "attributes": {}}],
 "targets": [
  {"fabric": "tcm_fc", "wwn": "naa.20000024ff314c48", "tpgs": [{"tag": 1, "enable": true, "attributes": {}, "parameters": {},
    "luns": [{"index": 0, "storage_object": "/backstores/ramdisk/r"}], "portals": [],
    "node_acls": [{"node_wwn": "naa.21000024ff314c49", "attributes": {}, "mapped_luns": [{"index": 0, "tpg_lun": 0, "write_protect": false}]}]}]},
  {"fabric": "qla2xxx", "wwn": "naa.21000024ff314c4a", "tpgs": [{"tag": 1, "enable": false, "attributes": {}, "parameters": {},
    "luns": [], "portals": [], "node_acls": [{"node_wwn": "naa.21000024ff314c4b", "attributes": {}, "mapped_luns": []}]}]}]}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	execAll(t, sh, "restoreconfig "+file)
	for _, p := range []string{
		"target/fc/20:00:00:24:ff:31:4c:48/tpgt_1/lun/lun_0",
		"target/fc/20:00:00:24:ff:31:4c:48/tpgt_1/acls/21:00:00:24:ff:31:4c:49/lun_0",
		"target/qla2xxx/21:00:00:24:ff:31:4c:4a/tpgt_1/acls/21:00:00:24:ff:31:4c:4b",
	} {
		if !l.Exists(p) {
			t.Errorf("restore made no %s", p)
		}
	}
	out.Reset()
	execAll(t, sh, "diff "+file)
	if !strings.Contains(strings.ToLower(out.String()), "no changes") {
		t.Errorf("diff of the restored file:\n%s", out.String())
	}
	execAll(t, sh, "/qla2xxx create naa.21000024ff314c4c")
	if !l.Exists("target/qla2xxx/21:00:00:24:ff:31:4c:4c") {
		t.Error("/qla2xxx create naa.…: no colon-form port")
	}
	saved := filepath.Join(dir, "saved.json")
	if err := sh.SaveConfig(saved, false); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`"fabric": "tcm_fc"`, `"wwn": "naa.20000024ff314c48"`, `"node_wwn": "naa.21000024ff314c49"`, `"wwn": "naa.21000024ff314c4a"`, `"wwn": "naa.21000024ff314c4c"`} {
		if !strings.Contains(string(data), w) {
			t.Errorf("saved file lacks %s", w)
		}
	}
}
