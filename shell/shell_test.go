package shell

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/internal/golden"
	"github.com/tcmsh/tcmsh/sim"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  bool
	}{
		{"ls /backstores 2", []string{"ls", "/backstores", "2"}, false},
		{"  set  attribute   a=1\tb=2 ", []string{"set", "attribute", "a=1", "b=2"}, false},
		{`create name='my disk' dev="/tmp/a b"`, []string{"create", "name=my disk", "dev=/tmp/a b"}, false},
		{`echo a\ b`, []string{"echo", "a b"}, false},
		{`'it''s'`, []string{"its"}, false},
		{`''`, []string{""}, false},
		{`"unterminated`, nil, true},
		{`trailing\`, nil, true},
		{"", nil, false},
	}
	for _, tt := range tests {
		got, err := Split(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("Split(%q) error = %v", tt.in, err)
			continue
		}
		if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
			t.Errorf("Split(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// newTestShell returns a shell over a fresh simulated kernel holding a
// fileio object exported through an iSCSI target with an ACL and a portal,
// and a loopback target.
func newTestShell(t *testing.T, jsonOut bool) (*Shell, *bytes.Buffer, *configfs.LIO) {
	t.Helper()
	dir := t.TempDir()
	k, err := sim.Open(dir, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	l, err := configfs.Open(k, "/sys/kernel/config", configfs.Options{Kind: "sim", LockPath: filepath.Join(dir, "hba.lock")})
	if err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(dir, "disk1.img")
	so, err := l.CreateStorageObject(configfs.StorageSpec{Plugin: "fileio", Name: "disk1", UdevPath: img,
		Control: []configfs.KV{{Key: "fd_dev_name", Value: img}, {Key: "fd_dev_size", Value: "1073741824"}}})
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := l.CreateTarget("iscsi", "iqn.2003-01.org.linux-iscsi.test.x8664:sn.0123456789ab")
	if err != nil {
		t.Fatal(err)
	}
	tpg, err := l.CreateTPG(tgt, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.CreateLUN(tpg, 0, so, ""); err != nil {
		t.Fatal(err)
	}
	acl, err := l.CreateACL(tpg, "iqn.1994-05.com.redhat:client")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.CreateMappedLUN(acl, 0, 0, false); err != nil {
		t.Fatal(err)
	}
	if _, err := l.CreatePortal(tpg, "0.0.0.0", 3260); err != nil {
		t.Fatal(err)
	}
	lt, err := l.CreateTarget("loopback", "naa.5001405aaaaaaaaa")
	if err != nil {
		t.Fatal(err)
	}
	ltpg, err := l.CreateTPG(lt, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.SetNexus(ltpg, "naa.5001405bbbbbbbbb"); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	sh := New(Env{LIO: l, Kind: "sim", AvailableFabrics: sim.DefaultFabrics}, Options{Out: &out, Err: &out, JSON: jsonOut, Width: 80, Version: "test"})
	return sh, &out, l
}

func TestLsTree(t *testing.T) {
	sh, out, l := newTestShell(t, false)
	if err := sh.Exec(context.Background(), "ls"); err != nil {
		t.Fatal(err)
	}
	// The image lives in a temporary directory; give it a fixed name.
	objs, _ := l.StorageObjects()
	si, _ := l.StorageObjectInfo(objs[0])
	text := strings.ReplaceAll(out.String(), filepath.Dir(si.Dev), "/DIR")
	golden.Check(t, "ls.golden", text)
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if n := len([]rune(line)); n != 80 && !strings.Contains(line, "disk1.img") {
			t.Errorf("line is %d columns wide, want 80: %q", n, line)
		}
	}
}

func TestLsDepthAndJSON(t *testing.T) {
	sh, out, _ := newTestShell(t, true)
	if err := sh.Exec(context.Background(), "ls /iscsi 1"); err != nil {
		t.Fatal(err)
	}
	var tree treeJSON
	if err := json.Unmarshal(out.Bytes(), &tree); err != nil {
		t.Fatalf("ls --json is not JSON: %v\n%s", err, out)
	}
	if tree.Path != "/iscsi" || tree.Summary != "Targets: 1" || len(tree.Children) != 1 || tree.Children[0].Children != nil {
		t.Errorf("ls /iscsi 1 = %+v", tree)
	}
}

func TestCdPwdAndPaths(t *testing.T) {
	sh, out, _ := newTestShell(t, false)
	ctx := context.Background()
	steps := []struct{ line, cwd string }{
		{"cd /iscsi", "/iscsi"},
		{"iqn.2003-01.org.linux-iscsi.test.x8664:sn.0123456789ab/tpg1/luns", "/iscsi/iqn.2003-01.org.linux-iscsi.test.x8664:sn.0123456789ab/tpg1/luns"},
		{"cd ..", "/iscsi/iqn.2003-01.org.linux-iscsi.test.x8664:sn.0123456789ab/tpg1"},
		{"cd -", "/iscsi/iqn.2003-01.org.linux-iscsi.test.x8664:sn.0123456789ab/tpg1/luns"},
		{"/", "/"},
		{"cd backstores/fileio/disk1", "/backstores/fileio/disk1"},
		{"cd", "/"},
	}
	for _, s := range steps {
		if err := sh.Exec(ctx, s.line); err != nil {
			t.Fatalf("%s: %v", s.line, err)
		}
		if sh.Cwd() != s.cwd {
			t.Fatalf("after %q cwd = %q, want %q", s.line, sh.Cwd(), s.cwd)
		}
	}
	out.Reset()
	if err := sh.Exec(ctx, "/backstores pwd"); err != nil || sh.Cwd() != "/" {
		t.Fatalf("a path before a command must not change directory: %v, %s", err, sh.Cwd())
	}
	err := sh.Exec(ctx, "cd /backstores/filio")
	var pe *PathError
	if !errors.As(err, &pe) || !errors.Is(err, ErrNoPath) || pe.Suggestion != "fileio" {
		t.Fatalf("cd to a misspelt path: %v", err)
	}
	if !strings.Contains(err.Error(), `did you mean "fileio"`) {
		t.Errorf("no suggestion in %q", err)
	}
}

func TestCommandErrors(t *testing.T) {
	sh, _, _ := newTestShell(t, false)
	ctx := context.Background()
	tests := []struct{ line, want string }{
		{"lss", `unknown command "lss" on / (did you mean "ls"?)`},
		{"ls / 1 y", "unexpected argument"},
		{"ls / -1", `depth: "-1" is not an integer of at least 0`},
		{"/backstores/fileio/disk1 get nope", `has no group "nope"; its groups: attribute, wwn`},
		{"/backstores/fileio/disk1 get attribute nope", `group attribute has no "nope"`},
		{"/backstores/fileio/disk1 set attribute", "usage: set group name=value"},
		{"/backstores/fileio/disk1 set attribute nope=1", `has no "nope"`},
		{"/backstores/fileio/disk1 set attribute hw_block_size=4096", "read-only"},
		{"/backstores/fileio/disk1 set attribute a=1 a=2", "given twice"},
		{`ls "unterminated`, "unterminated"},
		{"help nope", `/ has no command "nope"`},
	}
	for _, tt := range tests {
		err := sh.Exec(ctx, tt.line)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.line, err, tt.want)
		}
	}
}

func TestGetSet(t *testing.T) {
	sh, out, l := newTestShell(t, false)
	ctx := context.Background()
	so := "/backstores/fileio/disk1"
	if err := sh.Exec(ctx, so+" get attribute emulate_tpu"); err != nil {
		t.Fatal(err)
	}
	if out.String() != "emulate_tpu=0\n" {
		t.Errorf("get one value printed %q", out)
	}
	out.Reset()
	if err := sh.Exec(ctx, so+" set attribute emulate_tpu=1 emulate_tpws=1"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Parameter emulate_tpu is now '1'.") {
		t.Errorf("set printed %q", out)
	}
	objs, _ := l.StorageObjects()
	p := objs[0].Path()
	if v, _ := l.ReadAttr(p + "/attrib/emulate_tpws"); v != "1" {
		t.Errorf("emulate_tpws = %q after set", v)
	}
	// All or nothing: the second value is refused, the first is put back.
	err := sh.Exec(ctx, so+" set attribute emulate_tpu=0 block_size=123")
	if err == nil || !strings.Contains(err.Error(), "block_size") {
		t.Fatalf("bad block_size: %v", err)
	}
	if v, _ := l.ReadAttr(p + "/attrib/emulate_tpu"); v != "1" {
		t.Errorf("emulate_tpu = %q after a failed set; the change was not undone", v)
	}
	out.Reset()
	if err := sh.Exec(ctx, so+" get"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "ATTRIBUTE CONFIG GROUP\n======================\n") || !strings.Contains(out.String(), "WWN CONFIG GROUP") {
		t.Errorf("get printed %q", out)
	}
}

func TestInfoAndVersion(t *testing.T) {
	sh, out, _ := newTestShell(t, true)
	ctx := context.Background()
	if err := sh.Exec(ctx, "/backstores/fileio/disk1 info"); err != nil {
		t.Fatal(err)
	}
	var info map[string]any
	if err := json.Unmarshal(out.Bytes(), &info); err != nil {
		t.Fatal(err)
	}
	if info["name"] != "disk1" || info["plugin"] != "fileio" || info["size"] != float64(1<<30) || info["enabled"] != true {
		t.Errorf("info = %v", info)
	}
	out.Reset()
	if err := sh.Exec(ctx, "version"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"kernel": "sim"`) || !strings.Contains(out.String(), "Target Engine Core") {
		t.Errorf("version = %s", out)
	}
}

func TestRunBatch(t *testing.T) {
	sh, out, _ := newTestShell(t, false)
	script := "# a comment\n\ncd /iscsi\npwd\nls /nope\npwd\n"
	err := sh.RunBatch(context.Background(), strings.NewReader(script), BatchOptions{})
	var le *LineError
	if !errors.As(err, &le) || le.Line != 5 || le.Text != "ls /nope" {
		t.Fatalf("batch error = %v", err)
	}
	if !strings.Contains(out.String(), "line 5: ls /nope: no such path /nope") {
		t.Errorf("batch output %q", out)
	}
	if strings.Count(out.String(), "/iscsi\n") != 1 {
		t.Errorf("the run went on after the failing line: %q", out)
	}
	out.Reset()
	err = sh.RunBatch(context.Background(), strings.NewReader(script), BatchOptions{KeepGoing: true})
	if !errors.As(err, &le) || le.Line != 5 {
		t.Fatalf("keep-going batch error = %v", err)
	}
	if strings.Count(out.String(), "/iscsi\n") != 2 {
		t.Errorf("keep-going did not run the last line: %q", out)
	}
	// Every batch starts at the root, whatever the shell did before.
	out.Reset()
	if err := sh.RunBatch(context.Background(), strings.NewReader("pwd\n"), BatchOptions{}); err != nil || out.String() != "/\n" {
		t.Errorf("batch did not start at /: %q %v", out, err)
	}
}

func TestCancelledCommand(t *testing.T) {
	sh, _, _ := newTestShell(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sh.Exec(ctx, "ls"); !errors.Is(err, context.Canceled) {
		t.Errorf("ls with a cancelled context: %v", err)
	}
}
