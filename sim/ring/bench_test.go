package ring_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tcmsh/tcmsh/scsi"
	"github.com/tcmsh/tcmsh/sim/ring"
	"github.com/tcmsh/tcmsh/tcmu"
)

// copyHandler is the trivial in-memory handler of the benchmarks:
// READ/WRITE(10) copy between the iovecs and store. It measures the time
// spent in Execute so the benchmark can report the handler's own cost.
type copyHandler struct {
	store   []byte
	busyNS  atomic.Int64
	timeIt  bool
	epoch   time.Time
	handled atomic.Int64
}

func (h *copyHandler) Execute(cmd *scsi.Command) {
	var start time.Duration
	if h.timeIt {
		start = time.Since(h.epoch)
	}
	lba := int(binary.BigEndian.Uint32(cmd.CDB[2:]))
	n := int(binary.BigEndian.Uint16(cmd.CDB[7:])) * 512
	area := h.store[lba*512 : lba*512+n]
	done := 0
	for _, iov := range cmd.Data {
		if cmd.CDB[0] == 0x2a {
			done += copy(area[done:], iov)
		} else {
			done += copy(iov, area[done:])
		}
	}
	if cmd.CDB[0] == 0x28 {
		cmd.ReadLen = done
	}
	cmd.Status = scsi.StatusGood
	if h.timeIt {
		h.busyNS.Add(int64(time.Since(h.epoch) - start))
		h.handled.Add(1)
	}
}

const (
	benchStore = 64 << 20
	benchBS    = 4096
)

// BenchmarkMemcpy4K is the yardstick: a bare copy of the same payload.
func BenchmarkMemcpy4K(b *testing.B) {
	src := make([]byte, benchStore)
	dst := make([]byte, benchBS)
	b.SetBytes(benchBS)
	rng := uint64(1)
	for b.Loop() {
		rng ^= rng << 13
		rng ^= rng >> 7
		rng ^= rng << 17
		off := int(rng%(benchStore/benchBS)) * benchBS
		copy(dst, src[off:off+benchBS])
	}
}

// BenchmarkRing runs 4 KiB random reads and writes from the simulated
// initiator through the simulated kernel and the userspace ring to
// copyHandler, at queue depth 1 and 32, with statistics on and off.
// Reported: cmds/s, handler-ns/cmd (time inside Execute) and handler-MB/s.
func BenchmarkRing(b *testing.B) {
	for _, rw := range []string{"randread", "randwrite"} {
		for _, qd := range []int{1, 32} {
			for _, stats := range []bool{true, false} {
				name := fmt.Sprintf("%s/qd=%d/stats=%v", rw, qd, stats)
				b.Run(name, func(b *testing.B) { benchRing(b, rw == "randwrite", qd, stats, true) })
			}
		}
	}
}

func benchRing(b *testing.B, write bool, qd int, stats, timeHandler bool) {
	d, err := ring.New(ring.Config{DataSize: 16 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Remove()
	u, err := d.Open()
	if err != nil {
		b.Fatal(err)
	}
	h := &copyHandler{store: make([]byte, benchStore), timeIt: timeHandler, epoch: time.Now()}
	r, err := tcmu.NewRing(u, tcmu.RingConfig{Handler: h, QueueDepth: max(qd, 1)})
	if err != nil {
		b.Fatal(err)
	}
	r.Stats().SetEnabled(stats)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()

	type submitter struct {
		req ring.Request
		cdb [10]byte
		buf []byte
		rng uint64
	}
	subs := make([]*submitter, qd)
	for i := range subs {
		s := &submitter{buf: make([]byte, benchBS), rng: uint64(i)*0x9e3779b97f4a7c15 + 1}
		s.cdb[0] = 0x28
		if write {
			s.cdb[0] = 0x2a
			s.req.DataOut = s.buf
		} else {
			s.req.DataIn = s.buf
		}
		binary.BigEndian.PutUint16(s.cdb[7:], benchBS/512)
		s.req.CDB = s.cdb[:]
		subs[i] = s
	}
	one := func(s *submitter) {
		s.rng ^= s.rng << 13
		s.rng ^= s.rng >> 7
		s.rng ^= s.rng << 17
		lba := uint32(s.rng%(benchStore/benchBS)) * (benchBS / 512)
		binary.BigEndian.PutUint32(s.cdb[2:], lba)
		res, err := d.Submit(ctx, &s.req)
		if err != nil || res.Status != scsi.StatusGood {
			b.Errorf("submit: %v status %#x", err, res.Status)
		}
	}
	// Warm up: grow every pool to its steady-state size.
	var wg sync.WaitGroup
	for _, s := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				one(s)
			}
		}()
	}
	wg.Wait()
	h.busyNS.Store(0)
	h.handled.Store(0)

	b.SetBytes(benchBS)
	b.ReportAllocs()
	b.ResetTimer()
	var next atomic.Int64
	for _, s := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				one(s)
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	elapsed := b.Elapsed()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "cmds/s")
	if n := h.handled.Load(); n > 0 {
		ns := float64(h.busyNS.Load()) / float64(n)
		b.ReportMetric(ns, "handler-ns/cmd")
		b.ReportMetric(benchBS/ns*1e3, "handler-MB/s")
	}
}

// TestSteadyStateAllocatesNothing: once warm, a command through the
// simulated kernel, the ring and back allocates nothing on either side.
func TestSteadyStateAllocatesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip()
	}
	d, err := ring.New(ring.Config{DataSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Remove()
	u, err := d.Open()
	if err != nil {
		t.Fatal(err)
	}
	h := &copyHandler{store: make([]byte, 1<<20)}
	r, err := tcmu.NewRing(u, tcmu.RingConfig{Handler: h, QueueDepth: 4})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	buf := make([]byte, 4096)
	cdb := []byte{0x2a, 0, 0, 0, 0, 8, 0, 0, 8, 0}
	req := &ring.Request{CDB: cdb, DataOut: buf}
	submit := func() {
		if res, err := d.Submit(ctx, req); err != nil || res.Status != scsi.StatusGood {
			t.Fatalf("submit: %v %#x", err, res.Status)
		}
		if req.DataOut != nil {
			req.CDB[0], req.DataOut, req.DataIn = 0x28, nil, buf
		} else {
			req.CDB[0], req.DataOut, req.DataIn = 0x2a, buf, nil
		}
	}
	for range 1000 {
		submit()
	}
	if allocs := testing.AllocsPerRun(2000, submit); allocs != 0 {
		t.Fatalf("%v allocations per command", allocs)
	}
}
