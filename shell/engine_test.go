package shell

import (
	"context"
	"encoding/json"
	"errors"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/engine"
)

// fakeEngine records what the shell asks of the TCMU engine. It stands in
// for engine.Local only to test the shell's wiring (which calls, in which
// order, with which paths); the engine itself is tested in its package.
type fakeEngine struct {
	lio              *configfs.LIO
	calls            []string
	validated        []string
	existedAtRelease bool
	workload         engine.WorkloadSpec
	lunPath          string
}

func (f *fakeEngine) Subtypes() []string { return []string{"ram", "file"} }
func (f *fakeEngine) Validate(devConfig string, size int64) error {
	f.validated = append(f.validated, devConfig)
	if strings.HasPrefix(devConfig, "file/") && !strings.HasPrefix(devConfig, "file//") {
		return errors.New("file: path must be absolute")
	}
	return nil
}
func (f *fakeEngine) Serve(_ context.Context, p string) error {
	f.calls = append(f.calls, "serve "+p)
	return nil
}
func (f *fakeEngine) Release(_ context.Context, p string) error {
	f.calls = append(f.calls, "release "+p)
	f.existedAtRelease = f.lio.Exists(p)
	return nil
}
func (f *fakeEngine) Stats(context.Context) ([]engine.DeviceStats, error) {
	return []engine.DeviceStats{
		{Path: "/backstores/user:ram/r1", ConfigPath: "target/core/user_1/r1", Subtype: "ram", Up: true, Commands: 42},
		{Path: "/backstores/user:file/f1", ConfigPath: "target/core/user_2/f1", Subtype: "file", Up: true, Commands: 7},
	}, nil
}
func (f *fakeEngine) Workload(_ context.Context, lun string, spec engine.WorkloadSpec) (engine.WorkloadResult, error) {
	f.lunPath, f.workload = lun, spec
	return engine.WorkloadResult{Ops: 1000, IOPS: 5000, Seconds: 0.2}, nil
}
func (f *fakeEngine) InProcess() bool { return true }
func (f *fakeEngine) Close() error    { return nil }

func TestUserBackstoreWiring(t *testing.T) {
	sh, out, l := newTestShell(t, false)
	fe := &fakeEngine{lio: l}
	sh.env.Engine = fe
	sh.env.UserSubtypes = fe.Subtypes()
	ctx := context.Background()
	if err := sh.Exec(ctx, "/backstores/user:ram create r1 64M"); err != nil {
		t.Fatal(err)
	}
	so, err := l.FindStorageObject("user", "r1")
	if err != nil {
		t.Fatal(err)
	}
	if len(fe.calls) != 1 || fe.calls[0] != "serve "+so.Path() {
		t.Errorf("engine calls %q, want serve %s", fe.calls, so.Path())
	}
	if fe.validated[0] != "ram/" {
		t.Errorf("validated %q", fe.validated)
	}
	// Written before enable: the kernel never waits for a netlink reply.
	if v, _ := l.ReadAttr(path.Join(so.Path(), "attrib", "nl_reply_supported")); v != "-1" {
		t.Errorf("nl_reply_supported = %q", v)
	}
	// The engine's validation refuses before anything is created.
	if err := sh.Exec(ctx, "/backstores/user:file create f1 1G relative.img"); err == nil || !strings.Contains(err.Error(), "must be absolute") {
		t.Errorf("bad cfgstring: %v", err)
	}
	if _, err := l.FindStorageObject("user", "f1"); err == nil {
		t.Error("f1 was created despite the refusal")
	}
	if err := sh.Exec(ctx, "/backstores/user:ram delete r1"); err != nil {
		t.Fatal(err)
	}
	if fe.calls[len(fe.calls)-1] != "release "+so.Path() || !fe.existedAtRelease {
		t.Errorf("delete: calls %q, object existed at release: %v", fe.calls, fe.existedAtRelease)
	}

	out.Reset()
	sh.opts.JSON = true
	if err := sh.Exec(ctx, "stats /backstores/user:ram"); err != nil {
		t.Fatal(err)
	}
	var stats []engine.DeviceStats
	if err := json.Unmarshal(out.Bytes(), &stats); err != nil || len(stats) != 1 || stats[0].Commands != 42 {
		t.Errorf("stats --json: %v %+v\n%s", err, stats, out)
	}

	out.Reset()
	if err := sh.Exec(ctx, "workload /loopback/naa.5001405aaaaaaaaa/luns/lun0 rw=randwrite bs=8k qd=4 time=2s count=100 verify=true"); err == nil {
		t.Error("workload on a missing LUN succeeded")
	}
	if err := sh.Exec(ctx, "/loopback/naa.5001405aaaaaaaaa/luns create /backstores/fileio/disk1"); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := sh.Exec(ctx, "workload /loopback/naa.5001405aaaaaaaaa/luns/lun0 rw=randwrite bs=8k qd=4 time=2s count=100 verify=true rate=500"); err != nil {
		t.Fatal(err)
	}
	want := engine.WorkloadSpec{RW: "randwrite", BlockSize: 8192, QueueDepth: 4, Duration: 2 * time.Second, Count: 100, Verify: true, Rate: 500}
	if fe.workload != want || fe.lunPath != "target/loopback/naa.5001405aaaaaaaaa/tpgt_1/lun/lun_0" {
		t.Errorf("workload got %+v on %s", fe.workload, fe.lunPath)
	}
	var res engine.WorkloadResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || res.Ops != 1000 {
		t.Errorf("workload --json: %v %s", err, out)
	}
}

func TestNoEngine(t *testing.T) {
	sh, out, _ := newTestShell(t, false)
	sh.env.UserSubtypes = []string{"ram"}
	ctx := context.Background()
	for _, line := range []string{"stats", "workload /iscsi/iqn.2003-01.org.linux-iscsi.test.x8664:sn.0123456789ab/tpg1/luns/lun0"} {
		if err := sh.Exec(ctx, line); err == nil || !strings.Contains(err.Error(), "no TCMU engine is available") {
			t.Errorf("%s without an engine: %v", line, err)
		}
	}
	// A user backstore is still created, with a warning that nothing serves it.
	if err := sh.Exec(ctx, "/backstores/user:ram create r9 1M"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "no TCMU engine in this process: r9 is created but nothing serves it") {
		t.Errorf("no warning: %q", out)
	}
}
