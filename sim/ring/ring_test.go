package ring_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tcmsh/tcmsh/scsi"
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
	c := d.Counters()
	if c.PadEntries == 0 {
		t.Errorf("a 64 KiB ring never wrapped with a PAD in 5000 commands: %+v", c)
	}
	if c.InRing != 0 || c.FreeBlocks != 256 {
		t.Errorf("after the workload: %+v", c)
	}
}

var _ = errors.Is
var _ = time.Second
