package initiator

import (
	"context"
	"encoding/binary"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tcmsh/tcmsh/scsi"
	"github.com/tcmsh/tcmsh/sim/ring"
)

// direct is a Target that runs commands straight on a handler, with
// scripted failures first.
type direct struct {
	h       scsi.Handler
	mu      sync.Mutex
	script  []byte // statuses to answer before running commands for real
	staleAt int    // when > 0, the staleAt-th write is acknowledged but dropped
	writes  int
	cdbs    map[byte]int
}

func (d *direct) Submit(_ context.Context, req *ring.Request) (ring.Result, error) {
	d.mu.Lock()
	if d.cdbs == nil {
		d.cdbs = map[byte]int{}
	}
	d.cdbs[req.CDB[0]]++
	if len(d.script) > 0 {
		st := d.script[0]
		d.script = d.script[1:]
		d.mu.Unlock()
		res := ring.Result{Status: st}
		if st == scsi.StatusCheckCondition {
			res.Sense[0], res.Sense[2], res.SenseLen = 0x70, 0x6, 18 // UNIT ATTENTION
		}
		return res, nil
	}
	drop := false
	if req.DataOut != nil {
		d.writes++
		drop = d.writes == d.staleAt
	}
	d.mu.Unlock()
	if drop {
		return ring.Result{Status: scsi.StatusGood}, nil
	}
	cmd := &scsi.Command{CDB: req.CDB}
	if req.DataOut != nil {
		cmd.Data = [][]byte{req.DataOut}
	} else {
		cmd.Data = [][]byte{req.DataIn}
	}
	d.h.Execute(cmd)
	res := ring.Result{Status: cmd.Status, SenseLen: cmd.SenseLen, Sense: cmd.Sense}
	if req.DataIn != nil {
		res.DataIn = len(req.DataIn)
	}
	return res, nil
}

func TestParseArgs(t *testing.T) {
	cfg, err := ParseArgs(strings.Fields("rw=randrw bs=8k qd=32 time=2s verify=true size=64m count=100"))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{RW: "randrw", BS: 8192, QD: 32, Time: 2 * time.Second, Verify: true, Size: 64 << 20, Count: 100}
	if cfg != want {
		t.Fatalf("got %+v, want %+v", cfg, want)
	}
	for _, bad := range []string{"bs", "qd=x", "colour=red"} {
		if _, err := ParseArgs([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestSequentialWriteVerifyReadsBack(t *testing.T) {
	tgt := &direct{h: NewMemDisk(1<<20, 512)}
	rep, err := Run(context.Background(), tgt, Config{RW: "write", BS: 4096, QD: 4, Count: 256, Verify: true, Size: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Writes != 256 || rep.VerifyReads != 256 || rep.Errors != 0 || rep.VerifyErrors != 0 {
		t.Fatalf("%v (verify reads %d)", rep, rep.VerifyReads)
	}
	if tgt.cdbs[0x2a] != 256 || tgt.cdbs[0x28] != 256 {
		t.Errorf("CDBs sent: %v", tgt.cdbs)
	}
}

func TestVerifyCatchesStaleData(t *testing.T) {
	// Two sequential passes over 16 chunks; the 20th write (chunk 3 of
	// the second pass) is acknowledged but never reaches the disk: the
	// read-back finds the first pass's generation there.
	tgt := &direct{h: NewMemDisk(64<<10, 512), staleAt: 20}
	rep, err := Run(context.Background(), tgt, Config{RW: "write", BS: 4096, QD: 1, Count: 32, Verify: true, Size: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if rep.VerifyErrors != 1 || !strings.Contains(rep.FirstError, "generation 4, want generation 20") {
		t.Fatalf("stale block not caught: %v", rep)
	}
}

func TestRetriesBusyAndUnitAttention(t *testing.T) {
	tgt := &direct{h: NewMemDisk(1<<20, 512), script: []byte{scsi.StatusBusy, scsi.StatusCheckCondition, scsi.StatusTaskSetFull}}
	rep, err := Run(context.Background(), tgt, Config{RW: "randread", BS: 4096, QD: 1, Count: 10, Size: 1 << 20, CDB16: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Ops != 10 || rep.Errors != 0 || rep.Retries != 3 {
		t.Fatalf("%v", rep)
	}
	if tgt.cdbs[0x88] != 13 {
		t.Errorf("READ(16) sent %d times, want 13", tgt.cdbs[0x88])
	}

	tgt = &direct{h: NewMemDisk(1<<20, 512), script: []byte{scsi.StatusReservationConflict}}
	rep, _ = Run(context.Background(), tgt, Config{RW: "randread", BS: 4096, QD: 1, Count: 5, Size: 1 << 20})
	if rep.Errors != 1 || rep.Ops != 4 {
		t.Fatalf("RESERVATION CONFLICT must count as an error, not be retried: %v", rep)
	}
}

func TestLargeLBAUses16ByteCDBs(t *testing.T) {
	w := &worker{r: &run{cfg: Config{BS: 4096, BlockSize: 512}}}
	if cdb := w.buildCDB(false, 1<<33, 8); cdb[0] != 0x88 || binary.BigEndian.Uint64(cdb[2:]) != 1<<33 {
		t.Fatalf("cdb % x", cdb)
	}
	if cdb := w.buildCDB(true, 100, 8); cdb[0] != 0x2a || len(cdb) != 10 {
		t.Fatalf("cdb % x", cdb)
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	p50, p99 := h.quantile(0.5), h.quantile(0.99)
	if p50 < 500*time.Microsecond || p50 > 570*time.Microsecond {
		t.Errorf("p50 %v", p50)
	}
	if p99 < 990*time.Microsecond || p99 > time.Millisecond {
		t.Errorf("p99 %v", p99)
	}
	if h.max != time.Millisecond {
		t.Errorf("max %v", h.max)
	}
}
