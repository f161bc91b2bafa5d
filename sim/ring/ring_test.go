package ring_test

import (
	"context"
	"errors"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tcmsh/tcmsh/scsi"
	"github.com/tcmsh/tcmsh/sim"
	"github.com/tcmsh/tcmsh/sim/initiator"
	"github.com/tcmsh/tcmsh/sim/ring"
	"github.com/tcmsh/tcmsh/tcmu"
)

// serve runs a tcmu.Ring with h on a fresh uio handle of d until the test
// ends (or stop is called), and returns the ring and a stop function that
// waits for Run to return and reports its error.
func serve(t *testing.T, d *ring.Dev, h scsi.Handler, qd int) (*tcmu.Ring, func() error) {
	t.Helper()
	u, err := d.Open()
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	r, err := tcmu.NewRing(u, tcmu.RingConfig{Handler: h, QueueDepth: qd})
	if err != nil {
		t.Fatalf("NewRing: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			runErr = <-done
		})
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	return r, stop
}

func newDev(t *testing.T, cfg ring.Config) *ring.Dev {
	t.Helper()
	d, err := ring.New(cfg)
	if err != nil {
		t.Fatalf("ring.New: %v", err)
	}
	t.Cleanup(d.Remove)
	return d
}

func TestWorkloadVerifies(t *testing.T) {
	d := newDev(t, ring.Config{RingSize: 64 << 10, DataSize: 1 << 20})
	disk := initiator.NewMemDisk(4<<20, 512)
	r, stop := serve(t, d, disk, 8)
	rep, err := initiator.Run(context.Background(), d, initiator.Config{
		RW: "randrw", BS: 4096, QD: 16, Count: 5000, Verify: true, Size: 4 << 20, Seed: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(rep)
	if rep.Errors != 0 || rep.VerifyErrors != 0 || rep.Ops != 5000 {
		t.Fatalf("report: %v", rep)
	}
	if rep.Reads == 0 || rep.Writes == 0 {
		t.Fatalf("randrw did only one kind: %v", rep)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	snap := r.Stats().Snapshot()
	if snap.Commands != 5000 || snap.InFlight != 0 {
		t.Fatalf("stats: %d commands, %d in flight", snap.Commands, snap.InFlight)
	}
	if c := d.Counters(); c.InRing != 0 || c.FreeBlocks != 256 || c.Completed != 5000 {
		t.Errorf("after the workload: %+v", c)
	}
}

func TestKernelHooks(t *testing.T) {
	k := ring.NewKernel(ring.Config{})
	u := sim.UIODevice{Minor: 3, Name: "tcm-user/1/disk/file/x", ConfigPath: "target/core/user_1/disk",
		MapSize: 8<<20 + 16<<20, CmdRingSizeMB: 8, MaxDataAreaMB: 16, DataPagesPerBlk: 1}
	if err := k.Added(u); err != nil {
		t.Fatal(err)
	}
	if err := k.Added(u); !errors.Is(err, syscall.EEXIST) {
		t.Fatalf("second Added: %v", err)
	}
	d, ok := k.Device(3)
	if !ok || d.MapSize() != u.MapSize {
		t.Fatalf("device: %v, map size %d", ok, d.MapSize())
	}
	dev, err := k.Open(3)
	if err != nil {
		t.Fatal(err)
	}
	mb := tcmu.Mailbox(dev.Region())
	if mb.Version() != 2 || mb.Flags() != 0xf || mb.CmdrOff() != 128 || mb.CmdrSize() != 8<<20-128 {
		t.Fatalf("mailbox: version %d flags %#x cmdr_off %d cmdr_size %d", mb.Version(), mb.Flags(), mb.CmdrOff(), mb.CmdrSize())
	}
	if err := k.Reconfig(u, "dev_size", "2097152"); err != nil {
		t.Fatal(err)
	}
	if got := k.Attributes(3)["dev_size"]; got != "2097152" {
		t.Errorf("dev_size recorded as %q", got)
	}
	if err := k.Action(u, "reset_ring", 1); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("reset_ring before block_dev: %v", err)
	}
	for _, a := range []struct {
		name  string
		value int
	}{{"block_dev", 1}, {"reset_ring", 1}, {"block_dev", 0}} {
		if err := k.Action(u, a.name, a.value); err != nil {
			t.Fatalf("%s=%d: %v", a.name, a.value, err)
		}
	}
	if err := k.Action(u, "reset_ring", 3); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("reset_ring=3: %v", err)
	}
	waitErr := make(chan error, 1)
	go func() { waitErr <- dev.Wait() }()
	k.Removed(u)
	if err := <-waitErr; !errors.Is(err, ring.ErrRemoved) {
		t.Errorf("Wait after removal: %v", err)
	}
	if _, err := d.Submit(context.Background(), &ring.Request{CDB: make([]byte, 6)}); !errors.Is(err, ring.ErrRemoved) {
		t.Errorf("Submit after removal: %v", err)
	}
	_ = dev.Close()
	if _, ok := k.Device(3); ok {
		t.Error("device still there after Removed")
	}
}

var _ = time.Second
