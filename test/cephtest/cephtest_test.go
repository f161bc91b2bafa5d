package cephtest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// pids reads the daemons' PIDs from the cluster's run folder.
func pids(t *testing.T, c *Cluster) map[string]int {
	t.Helper()
	got := map[string]int{}
	for _, name := range []string{"mon.a", "osd.0"} {
		b, err := os.ReadFile(c.Dir + "/run/" + name + ".pid")
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatalf("%s.pid: %v", name, err)
		}
		got[name] = pid
	}
	return got
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// TestCluster starts a cluster of its own, writes an image with rbd import
// and reads it back with rbd export, loses the OSD (client I/O fails within
// its osd_op_timeout instead of hanging), gets it back (the image is intact
// and writable), and checks that Close stops both daemons.
func TestCluster(t *testing.T) {
	c := Start(t)
	for name, v := range map[string]string{"Conf": c.Conf, "Keyring": c.Keyring, "ID": c.ID, "Pool": c.Pool, "MonHost": c.MonHost, "FSID": c.FSID} {
		if v == "" {
			t.Errorf("%s is empty", name)
		}
	}
	if _, err := os.Stat(c.Conf); err != nil {
		t.Fatalf("conf: %v", err)
	}
	want := map[string]bool{"mon.a": true, "osd.0": true}
	before := pids(t, c)
	for name := range want {
		if pid, ok := before[name]; !ok || !alive(pid) {
			t.Fatalf("%s not running (pids %v)", name, before)
		}
	}

	data := make([]byte, 8<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	if err := c.ImportImage("imported", data); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateImage("created", 64<<20); err != nil {
		t.Fatal(err)
	}
	info, err := c.RBD("info", "--format", "json", c.Pool+"/created")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(info, `"size":67108864`) {
		t.Errorf("rbd info of a 64 MiB image: %s", info)
	}
	ls, err := c.RBD("ls", c.Pool)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(ls); len(got) != 2 {
		t.Errorf("rbd ls = %q, want created and imported", got)
	}
	got, err := c.ExportImage("imported")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("export differs from import (%d bytes exported, %d imported)", len(got), len(data))
	}

	// Without the OSD, a client with osd_op_timeout gets an error.
	if err := c.StopOSD(); err != nil {
		t.Fatal(err)
	}
	if pid := before["osd.0"]; alive(pid) {
		t.Fatalf("osd.0 (PID %d) still runs after StopOSD", pid)
	}
	if !alive(before["mon.a"]) {
		t.Fatal("StopOSD stopped the monitor too")
	}
	out, err := c.RBD("bench", "--io-type", "write", "--io-size", "4096", "--io-total", "65536",
		"--rados-osd-op-timeout", "3", c.Pool+"/created")
	if err == nil {
		t.Fatalf("rbd bench without an OSD succeeded: %s", out)
	}
	t.Logf("without the OSD: %v", err)

	if err := c.StartOSD(); err != nil {
		t.Fatal(err)
	}
	got, err = c.ExportImage("imported")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("the image changed across the OSD's restart")
	}
	if _, err := c.RBD("bench", "--io-type", "write", "--io-size", "4096", "--io-total", "65536", c.Pool+"/created"); err != nil {
		t.Fatalf("write after the OSD came back: %v", err)
	}
	if err := c.RemoveImage("created"); err != nil {
		t.Fatal(err)
	}

	after := pids(t, c)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for name, pid := range after {
		if alive(pid) {
			t.Errorf("%s (PID %d) still runs after Close", name, pid)
		}
	}
	if _, err := os.Stat(c.Dir); !os.IsNotExist(err) {
		t.Errorf("Close left %s: %v", c.Dir, err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestShared gets the same running cluster from every call of Shared.
func TestShared(t *testing.T) {
	a := Shared(t)
	b := Shared(t)
	if a != b {
		t.Fatal("Shared started a second cluster")
	}
	if out, err := a.Ceph("health"); err != nil || !strings.HasPrefix(out, "HEALTH_") {
		t.Fatalf("ceph health: %q, %v", out, err)
	}
	if err := a.CreateImage("shared", 4<<20); err != nil {
		t.Fatal(err)
	}
	if got := a.CfgString("shared", "osd_op_timeout=5"); got != a.Pool+"/shared;conf="+a.Conf+";id=admin;osd_op_timeout=5" {
		t.Errorf("CfgString = %q", got)
	}
}

// fakeTB records what checkInstalled does to a test.
type fakeTB struct {
	testing.TB
	fatal, skip string
}

func (f *fakeTB) Helper()                        {}
func (f *fakeTB) Fatalf(format string, a ...any) { f.fatal = fmt.Sprintf(format, a...) }
func (f *fakeTB) Skipf(format string, a ...any)  { f.skip = fmt.Sprintf(format, a...) }

// TestMissingCeph: without Ceph in PATH a test is skipped with the packages
// to install, or failed when TCMSH_REQUIRE_CEPH=1.
func TestMissingCeph(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if got := Missing(); len(got) != len(binaries) {
		t.Fatalf("Missing() = %v with an empty PATH", got)
	}

	t.Setenv(RequireEnv, "")
	f := &fakeTB{TB: t}
	checkInstalled(f)
	if f.fatal != "" || !strings.Contains(f.skip, Packages) || !strings.Contains(f.skip, "ceph-mon") {
		t.Errorf("not required: skip %q, fatal %q", f.skip, f.fatal)
	}

	t.Setenv(RequireEnv, "1")
	f = &fakeTB{TB: t}
	checkInstalled(f)
	if f.skip != "" || !strings.Contains(f.fatal, Packages) || !strings.Contains(f.fatal, RequireEnv) {
		t.Errorf("required: skip %q, fatal %q", f.skip, f.fatal)
	}
}
