package engine_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/scsi"
	"github.com/tcmsh/tcmsh/sim/ring"
)

// BenchmarkEngine4KRandRW measures the whole in-process path of one
// command: the simulated kernel queues a READ(10) or WRITE(10) of 4 KiB at
// a random place into the ring, the engine's ring loop takes it, the SCSI
// disk runs it against the ram backend, the completion goes back through
// the ring. Half the commands are reads. It reports commands per second
// and, through -benchmem, allocations per command (every goroutine's
// allocations during the run divided by the commands).
//
//	go test -run '^$' -bench Engine4K -benchmem ./test/engine/
func BenchmarkEngine4KRandRW(b *testing.B) {
	for _, qd := range []int{1, 32} {
		b.Run(fmt.Sprintf("qd=%d", qd), func(b *testing.B) { benchRandRW(b, qd) })
	}
}

func benchRandRW(b *testing.B, qd int) {
	const (
		size = 64 << 20
		bs   = 4096
	)
	e := newEnv(b, engine.Options{QueueDepth: qd, Logf: func(string, ...any) {}})
	so := e.userBackstore("bench", "ram/", size)
	e.serve(so)
	dev, ok := e.eng.SimRing().Device(0)
	if !ok {
		b.Fatal("no ring for uio0")
	}
	ctx := context.Background()

	type submitter struct {
		req ring.Request
		cdb [10]byte
		buf []byte
		rng uint64
	}
	subs := make([]*submitter, qd)
	for i := range subs {
		subs[i] = &submitter{buf: make([]byte, bs), rng: uint64(i)*0x9e3779b97f4a7c15 + 1}
	}
	var next atomic.Int64
	var failed atomic.Value
	run := func(s *submitter, limit int64) {
		for next.Add(1) <= limit {
			s.rng ^= s.rng << 13
			s.rng ^= s.rng >> 7
			s.rng ^= s.rng << 17
			lba := uint32(s.rng%(size/bs)) * (bs / 512)
			write := s.rng&(1<<40) != 0
			s.cdb = [10]byte{0x28}
			if write {
				s.cdb[0] = 0x2a
			}
			binary.BigEndian.PutUint32(s.cdb[2:], lba)
			binary.BigEndian.PutUint16(s.cdb[7:], bs/512)
			s.req = ring.Request{CDB: s.cdb[:]}
			if write {
				s.req.DataOut = s.buf
			} else {
				s.req.DataIn = s.buf
			}
			res, err := dev.Submit(ctx, &s.req)
			if err != nil || res.Status != scsi.StatusGood {
				failed.Store(fmt.Sprintf("status %#x sense key %#x: %v", res.Status, res.SenseKey(), err))
				return
			}
		}
	}
	// Warm the path outside the measurement: slots and pools, the page
	// faults of the data area, and every chunk of the ram backend (it
	// allocates on first write), so that what is measured is a device in
	// steady state.
	for lba := uint32(0); lba < size/512; lba += bs / 512 {
		cdb := [10]byte{0x2a}
		binary.BigEndian.PutUint32(cdb[2:], lba)
		binary.BigEndian.PutUint16(cdb[7:], bs/512)
		if res, err := dev.Submit(ctx, &ring.Request{CDB: cdb[:], DataOut: subs[0].buf}); err != nil || res.Status != scsi.StatusGood {
			b.Fatalf("fill: status %#x: %v", res.Status, err)
		}
	}
	var wg sync.WaitGroup
	next.Store(0)
	for _, s := range subs {
		wg.Go(func() { run(s, int64(4*qd)) })
	}
	wg.Wait()

	next.Store(0)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for _, s := range subs {
		wg.Go(func() { run(s, int64(b.N)) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	runtime.ReadMemStats(&after)
	if f := failed.Load(); f != nil {
		b.Fatalf("a command failed: %v", f)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "cmds/s")
	// -benchmem rounds to whole allocations; this keeps the fraction.
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N), "allocs/cmd")
	b.SetBytes(bs)
}
