// Package engine_test runs the in-process TCMU engine end to end on the
// simulated kernel: backstores and loopback LUNs made through the configfs
// model, served by engine.Local, driven by the simulated initiator.
package engine_test

import (
	"context"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/sim"
)

// env is a simulated kernel with the configfs model and an engine over it.
type env struct {
	t   testing.TB
	dir string
	k   *sim.Kernel
	lio *configfs.LIO
	eng *engine.Local
}

func newEnv(t testing.TB, opts engine.Options) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir()}
	e.open(opts)
	t.Cleanup(func() { e.close() })
	return e
}

// open opens the simulated kernel in e.dir and starts an engine on it.
func (e *env) open(opts engine.Options) {
	e.t.Helper()
	k, err := sim.Open(e.dir, sim.Options{})
	if err != nil {
		e.t.Fatalf("sim.Open: %v", err)
	}
	lio, err := configfs.Open(k, "/sys/kernel/config", configfs.Options{Kind: "sim"})
	if err != nil {
		e.t.Fatalf("configfs.Open: %v", err)
	}
	opts.LIO, opts.Sim = lio, k
	if opts.Logf == nil {
		opts.Logf = e.t.Logf
	}
	eng, err := engine.NewLocal(opts)
	if err != nil {
		e.t.Fatalf("NewLocal: %v", err)
	}
	e.k, e.lio, e.eng = k, lio, eng
}

// close stops the engine and the kernel (idempotent).
func (e *env) close() {
	if e.eng != nil {
		if err := e.eng.Close(); err != nil {
			e.t.Errorf("engine Close: %v", err)
		}
		e.eng = nil
	}
	if e.k != nil {
		e.k.Close()
		e.k = nil
	}
}

// userBackstore creates and enables a user backstore the way tcmsh does:
// dev_config, dev_size and nl_reply_supported=-1 in control, then enable.
func (e *env) userBackstore(name, devConfig string, size int64) configfs.StorageObject {
	e.t.Helper()
	so, err := e.lio.CreateStorageObject(configfsSpec(name, devConfig, size, false))
	if err != nil {
		e.t.Fatalf("create user backstore %s: %v", name, err)
	}
	return so
}

// loopbackTPG creates a loopback target with TPG 1 and, with nexus, its
// I_T nexus.
func (e *env) loopbackTPG(nexus bool) configfs.TPG {
	e.t.Helper()
	tgt, err := e.lio.CreateTarget("loopback", "")
	if err != nil {
		e.t.Fatalf("create loopback target: %v", err)
	}
	tpg, err := e.lio.CreateTPG(tgt, 1)
	if err != nil {
		e.t.Fatalf("create TPG: %v", err)
	}
	if nexus {
		if _, err := e.lio.SetNexus(tpg, ""); err != nil {
			e.t.Fatalf("set nexus: %v", err)
		}
	}
	return tpg
}

func (e *env) lun(tpg configfs.TPG, index int, so configfs.StorageObject) configfs.LUN {
	e.t.Helper()
	lun, err := e.lio.CreateLUN(tpg, index, so, "")
	if err != nil {
		e.t.Fatalf("create LUN %d: %v", index, err)
	}
	return lun
}

func (e *env) serve(so configfs.StorageObject) {
	e.t.Helper()
	if err := e.eng.Serve(context.Background(), so.Path()); err != nil {
		e.t.Fatalf("Serve %s: %v", so.Path(), err)
	}
}

// statsOf returns the stats of the device at configPath.
func (e *env) statsOf(configPath string) engine.DeviceStats {
	e.t.Helper()
	all, err := e.eng.Stats(context.Background())
	if err != nil {
		e.t.Fatalf("Stats: %v", err)
	}
	for _, s := range all {
		if s.ConfigPath == configPath {
			return s
		}
	}
	e.t.Fatalf("Stats has no %s (have %d devices)", configPath, len(all))
	return engine.DeviceStats{}
}

// statsAfter is statsOf once the device counts at least ops commands: the
// ring accounts a command just after it notifies the kernel, so an
// initiator can see its last completions a moment before Stats does.
func (e *env) statsAfter(configPath string, ops uint64) engine.DeviceStats {
	e.t.Helper()
	st := e.statsOf(configPath)
	for deadline := time.Now().Add(5 * time.Second); st.Commands < ops && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
		st = e.statsOf(configPath)
	}
	return st
}

// eventually polls cond until it holds; the deadline only bounds a broken
// run, it asserts nothing about speed.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// engineGoroutines lists the goroutines running code of the engine, the
// rings or the backends.
func engineGoroutines() []string {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "engine_test.engineGoroutines") {
			continue
		}
		for _, pkg := range []string{"tcmsh/tcmsh/engine.", "tcmsh/tcmsh/tcmu.", "tcmsh/tcmsh/sim/ring.", "tcmsh/tcmsh/backends.", "tcmsh/tcmsh/scsi."} {
			if strings.Contains(g, pkg) {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

// configfsSpec is the StorageSpec of a user backstore as tcmsh makes one.
func configfsSpec(name, devConfig string, size int64, noEnable bool) configfs.StorageSpec {
	return configfs.StorageSpec{
		Plugin: "user",
		Name:   name,
		Control: []configfs.KV{
			{Key: "dev_config", Value: devConfig},
			{Key: "dev_size", Value: strconv.FormatInt(size, 10)},
			{Key: "nl_reply_supported", Value: "-1"},
		},
		NoEnable: noEnable,
	}
}

// noEngineGoroutines waits for the goroutines of the engine, the rings,
// the SCSI layer and the backends to end, and fails with their stacks if
// some never do. It polls: a goroutine that has been told to stop may
// take a moment to get there.
func noEngineGoroutines(t testing.TB, when string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		gs := engineGoroutines()
		if len(gs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("engine goroutines left %s:\n%s", when, strings.Join(gs, "\n\n"))
		}
		time.Sleep(5 * time.Millisecond)
	}
}
