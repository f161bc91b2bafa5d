package serve_test

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/serve"
	"github.com/tcmsh/tcmsh/sim"
)

// The shell and the daemon are two processes sharing the simulated
// kernel's state directory: a backstore and a LUN the shell creates
// through its own view of the kernel are served by the daemon when the
// shell asks (Serve through the socket), and a workload runs on them.
func TestShellProcessCreatesDaemonServes(t *testing.T) {
	e := newEnv(t, serve.Options{}, true)
	shellKernel, err := sim.Open(filepath.Join(e.dir, "sim"), sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer shellKernel.Close()
	shellLIO, err := configfs.Open(shellKernel, "/sys/kernel/config", configfs.Options{Kind: "sim"})
	if err != nil {
		t.Fatal(err)
	}
	eng := e.dial()
	so, err := shellLIO.CreateStorageObject(configfs.StorageSpec{
		Plugin: "user", Name: "fromshell",
		Control: []configfs.KV{
			{Key: "dev_config", Value: "ram/"},
			{Key: "dev_size", Value: strconv.Itoa(8 << 20)},
			{Key: "nl_reply_supported", Value: "-1"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Serve(context.Background(), so.Path()); err != nil {
		t.Fatalf("Serve through the socket of a backstore another process created: %v", err)
	}
	tgt, err := shellLIO.CreateTarget("loopback", "")
	if err != nil {
		t.Fatal(err)
	}
	tpg, err := shellLIO.CreateTPG(tgt, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := shellLIO.SetNexus(tpg, ""); err != nil {
		t.Fatal(err)
	}
	lun, err := shellLIO.CreateLUN(tpg, 0, so, "")
	if err != nil {
		t.Fatal(err)
	}
	res, err := eng.Workload(context.Background(), lun.Path(), engine.WorkloadSpec{RW: "randrw", Count: 500, Verify: true})
	if err != nil || res.Errors != 0 || res.VerifyErrors != 0 {
		t.Fatalf("workload on a LUN another process created: %+v, %v", res, err)
	}
}

// AutoServe across processes: a user backstore another process enables
// is served by the daemon without being asked, as on the real kernel
// (where the netlink ADDED_DEVICE event reaches the daemon).
//
// Known gap, left to engine.Local and the simulated kernel: another
// process's operations reach the daemon's view of the simulated kernel
// without firing its hooks, and nothing polls, so the daemon serves such a
// backstore only when asked (Serve, which the shell does after every
// create; TestShellProcessCreatesDaemonServes). Remove the skip once the
// simulated kernel delivers add/remove events across processes.
func TestDaemonAutoServesBackstoreOfAnotherProcess(t *testing.T) {
	t.Skip("known gap: the simulated kernel has no cross-process ADDED_DEVICE event for AutoServe to follow")
	e := newEnv(t, serve.Options{}, true)
	shellKernel, err := sim.Open(filepath.Join(e.dir, "sim"), sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer shellKernel.Close()
	shellLIO, err := configfs.Open(shellKernel, "/sys/kernel/config", configfs.Options{Kind: "sim"})
	if err != nil {
		t.Fatal(err)
	}
	eng := e.dial()
	so, err := shellLIO.CreateStorageObject(configfs.StorageSpec{
		Plugin: "user", Name: "auto",
		Control: []configfs.KV{
			{Key: "dev_config", Value: "ram/"},
			{Key: "dev_size", Value: strconv.Itoa(8 << 20)},
			{Key: "nl_reply_supported", Value: "-1"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second) // bounds a broken run only
	for {
		all, err := eng.Stats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(all) == 1 && all[0].ConfigPath == so.Path() && all[0].Up {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the daemon never served %s on its own (Stats: %+v)", so.Path(), all)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
