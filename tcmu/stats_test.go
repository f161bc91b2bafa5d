package tcmu_test

import (
	"context"
	"testing"
	"time"

	"github.com/tcmsh/tcmsh/scsi"
	"github.com/tcmsh/tcmsh/sim/initiator"
	"github.com/tcmsh/tcmsh/sim/ring"
)

// unmapRejecter fails UNMAP (0x42) with ILLEGAL REQUEST and runs the rest.
type unmapRejecter struct{ *initiator.MemDisk }

func (u unmapRejecter) Execute(cmd *scsi.Command) {
	if cmd.CDB[0] == 0x42 {
		cmd.Status = scsi.StatusCheckCondition
		cmd.Sense = [scsi.SenseSize]byte{0: 0x70, 2: 0x5, 7: 10, 12: 0x20}
		cmd.SenseLen = 18
		return
	}
	u.MemDisk.Execute(cmd)
}

func TestStatistics(t *testing.T) {
	d := newDev(t, ring.Config{RingSize: 16 << 10, DataSize: 1 << 20})
	r, stop := serve(t, d, unmapRejecter{initiator.NewMemDisk(4<<20, 512)}, 8)
	began := time.Now()
	rep, err := initiator.Run(context.Background(), d, initiator.Config{RW: "randrw", BS: 4096, QD: 8, Count: 1000, Size: 4 << 20})
	if err != nil || rep.Errors != 0 {
		t.Fatalf("workload: %v %v", err, rep)
	}
	for range 3 {
		res, err := d.Submit(context.Background(), &ring.Request{CDB: make([]byte, 10), DataOut: make([]byte, 24)})
		if err != nil {
			t.Fatal(err)
		}
		_ = res
	}
	for range 3 {
		if _, err := d.Submit(context.Background(), &ring.Request{CDB: []byte{0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0}, DataOut: make([]byte, 24)}); err != nil {
			t.Fatal(err)
		}
	}
	// A worker accounts its command just after telling the kernel, so the
	// last answers may reach the initiator a moment before the counters.
	eventually(t, "1006 commands counted", func() bool {
		s := r.Stats().Snapshot()
		return s.Commands == 1006 && s.CheckConditions[0x5] == 3 && s.Bytes == 1000*4096+6*24 &&
			len(s.Recent) > 0 && s.Recent[len(s.Recent)-1].Opcode == 0x42
	})
	s := r.Stats().Snapshot()
	ended := time.Now()
	byOp := map[byte]uint64{}
	var bytes uint64
	for _, o := range s.ByOpcode {
		byOp[o.Opcode] = o.Commands
		bytes += o.Bytes
	}
	if byOp[0x28]+byOp[0x2a] != 1000 || byOp[0x42] != 3 || byOp[0x00] != 3 {
		t.Errorf("by opcode %v", byOp)
	}
	if bytes != 1000*4096+6*24 || s.Bytes != bytes {
		t.Errorf("bytes %d (snapshot %d)", bytes, s.Bytes)
	}
	if s.CheckConditions[0x5] != 3 || s.CheckConditions[0] != 0 {
		t.Errorf("CHECK CONDITIONs by sense key %v, want 3 ILLEGAL REQUEST", s.CheckConditions)
	}
	if s.P50 <= 0 || s.P50 > s.P99 || s.P99 > s.Max {
		t.Errorf("latency p50 %v p99 %v max %v", s.P50, s.P99, s.Max)
	}
	if s.InFlight != 0 || s.InFlightMax < 1 || s.InFlightMax > 8 {
		t.Errorf("in flight %d, max %d", s.InFlight, s.InFlightMax)
	}
	if s.DataBytesInFlight != 0 || s.DataBytesInFlightMax < 4096 {
		t.Errorf("data in flight %d, max %d", s.DataBytesInFlight, s.DataBytesInFlightMax)
	}
	if s.RingBytesMax == 0 || s.RingBytesMax >= s.RingSize {
		t.Errorf("ring occupancy max %d of %d", s.RingBytesMax, s.RingSize)
	}
	// Every command answered: the tail has caught up with the head, and
	// the occupancy now says so rather than what the last batch found.
	if s.RingBytes != 0 {
		t.Errorf("ring occupancy %d bytes with nothing in flight", s.RingBytes)
	}
	if len(s.Recent) != 256 {
		t.Fatalf("%d recent commands", len(s.Recent))
	}
	last := s.Recent[len(s.Recent)-1]
	if last.Opcode != 0x42 || last.Status != scsi.StatusCheckCondition || last.Length != 24 {
		t.Errorf("last command %+v", last)
	}
	// Finished times are kept to about a microsecond.
	for i, c := range s.Recent {
		if c.Finished.Before(began.Add(-time.Millisecond)) || c.Finished.After(ended.Add(time.Millisecond)) ||
			i > 0 && c.Finished.Before(s.Recent[i-1].Finished) {
			t.Fatalf("recent command %d finished at %v, outside %v..%v or before the one before", i, c.Finished, began, ended)
		}
	}
	for _, c := range s.Recent[:len(s.Recent)-6] {
		if (c.Opcode != 0x28 && c.Opcode != 0x2a) || c.Length != 4096 || c.LBA%8 != 0 || c.LBA >= 8192 || c.Latency <= 0 {
			t.Fatalf("recent command %+v", c)
		}
	}

	r.Stats().SetEnabled(false)
	if _, err := d.Submit(context.Background(), &ring.Request{CDB: make([]byte, 6)}); err != nil {
		t.Fatal(err)
	}
	if got := r.Stats().Snapshot(); got.Commands != s.Commands || got.Enabled {
		t.Errorf("statistics off still counted: %d commands", got.Commands)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
