package monitor

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/sim"
)

// TestRealEngineShowsIOPS runs the monitor on the in-process engine over
// the simulated kernel: a user:ram backstore behind a loopback LUN, a
// workload through it between two readings. The monitor computes its
// rates from the engine's real snapshots.
func TestRealEngineShowsIOPS(t *testing.T) {
	k, err := sim.Open(t.TempDir(), sim.Options{})
	if err != nil {
		t.Fatalf("sim.Open: %v", err)
	}
	defer k.Close()
	lio, err := configfs.Open(k, "/sys/kernel/config", configfs.Options{Kind: "sim"})
	if err != nil {
		t.Fatalf("configfs.Open: %v", err)
	}
	eng, err := engine.NewLocal(engine.Options{LIO: lio, Sim: k, Logf: t.Logf})
	if err != nil {
		t.Fatalf("NewLocal: %v", err)
	}
	defer func() {
		if err := eng.Close(); err != nil {
			t.Errorf("engine Close: %v", err)
		}
	}()
	so, err := lio.CreateStorageObject(configfs.StorageSpec{Plugin: "user", Name: "r1", Control: []configfs.KV{
		{Key: "dev_config", Value: "ram/"}, {Key: "dev_size", Value: "67108864"}, {Key: "nl_reply_supported", Value: "-1"}}})
	if err != nil {
		t.Fatalf("create user:ram backstore: %v", err)
	}
	tgt, err := lio.CreateTarget("loopback", "")
	if err != nil {
		t.Fatalf("create loopback target: %v", err)
	}
	tpg, err := lio.CreateTPG(tgt, 1)
	if err != nil {
		t.Fatalf("create TPG: %v", err)
	}
	if _, err := lio.SetNexus(tpg, ""); err != nil {
		t.Fatalf("set nexus: %v", err)
	}
	lun, err := lio.CreateLUN(tpg, 0, so, "")
	if err != nil {
		t.Fatalf("create LUN: %v", err)
	}
	ctx := context.Background()
	if err := eng.Serve(ctx, so.Path()); err != nil {
		t.Fatalf("Serve: %v", err)
	}

	m := newModel(eng, 120, 40)
	poll(t, m, 1)
	res, err := eng.Workload(ctx, lun.Path(), engine.WorkloadSpec{RW: "randrw", BlockSize: 4096, QueueDepth: 16, Count: 3000})
	if err != nil || res.Ops == 0 {
		t.Fatalf("workload: %d ops, %v", res.Ops, err)
	}
	// The ring accounts a command after it has notified the kernel (off
	// the command's path), so the initiator can see the last completions
	// a moment before Stats counts them: wait for the count to settle.
	waitCommands(t, eng, uint64(res.Ops))
	poll(t, m, 1)
	if len(m.fleet.devs) != 1 {
		t.Fatalf("%d devices, want 1", len(m.fleet.devs))
	}
	d := m.fleet.devs[0]
	if !d.rated || d.iops <= 0 || d.mbps <= 0 || d.commands < uint64(res.Ops) {
		t.Fatalf("from real snapshots: rated %v, %.0f IOPS, %.2f MB/s, %d commands (the workload did %d)", d.rated, d.iops, d.mbps, d.commands, res.Ops)
	}
	view := ansi.Strip(m.View())
	if !strings.Contains(view, "user:ram/r1") || !strings.Contains(view, fmtCount(d.iops)) || !strings.Contains(view, "READ(10)") {
		t.Fatalf("the view does not show the device, its IOPS (%s) and its opcodes:\n%s", fmtCount(d.iops), view)
	}
	t.Logf("monitor: %.0f IOPS, %.1f MB/s over the workload (engine: %.0f IOPS)\n%s", d.iops, d.mbps, res.IOPS, view)

	defer func(d time.Duration) { OnceInterval = d }(OnceInterval)
	OnceInterval = 10 * time.Millisecond
	var out bytes.Buffer
	if err := PrintOnce(ctx, eng, &out, false); err != nil || !strings.Contains(out.String(), "/backstores/user:ram/r1  yes") {
		t.Fatalf("PrintOnce: %v\n%s", err, out.String())
	}
}

// waitCommands waits until the engine's statistics count at least want
// commands over all devices.
func waitCommands(t *testing.T, eng engine.Engine, want uint64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := eng.Stats(context.Background())
		if err != nil {
			t.Fatalf("Stats: %v", err)
		}
		var n uint64
		for _, d := range st {
			n += d.Commands
		}
		if n >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the engine counts %d commands 5 s after a workload of %d", n, want)
		}
		time.Sleep(time.Millisecond)
	}
}
