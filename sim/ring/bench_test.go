package ring_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tcmsh/tcmsh/scsi"
	"github.com/tcmsh/tcmsh/sim/ring"
	"github.com/tcmsh/tcmsh/tcmu"
)

// copyHandler is the trivial in-memory handler of the benchmarks:
// READ/WRITE(10) copy between the iovecs and store. It records the time
// each Execute takes in a histogram of 10 ns buckets, so the benchmark can
// report the handler's typical cost per command: a median is not moved by
// the rare command whose thread the machine's other work preempted.
type copyHandler struct {
	store  []byte
	timeIt bool
	epoch  time.Time
	hist   [4096]atomic.Uint64 // bucket i: [10i, 10i+10) ns; the last one is everything above
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
		ns := int(time.Since(h.epoch) - start)
		h.hist[min(max(ns, 0)/10, len(h.hist)-1)].Add(1)
	}
}

func (h *copyHandler) resetHist() {
	for i := range h.hist {
		h.hist[i].Store(0)
	}
}

// medianNS is the median time per Execute.
func (h *copyHandler) medianNS() float64 {
	var total uint64
	for i := range h.hist {
		total += h.hist[i].Load()
	}
	var cum uint64
	for i := range h.hist {
		cum += h.hist[i].Load()
		if cum*2 >= total && total > 0 {
			return float64(i*10 + 5)
		}
	}
	return 0
}

const (
	benchStore = 64 << 20
	benchBS    = 4096
)

// BenchmarkMemcpy4K is the yardstick: a bare copy of the same payload
// from a random place in a store of the same size.
func BenchmarkMemcpy4K(b *testing.B) {
	src := make([]byte, benchStore)
	dst := make([]byte, benchBS)
	b.SetBytes(benchBS)
	rng := uint64(1)
	for b.Loop() {
		copy(dst, src[randomBlock(&rng)*benchBS:][:benchBS])
	}
}

func randomBlock(rng *uint64) int {
	*rng ^= *rng << 13
	*rng ^= *rng >> 7
	*rng ^= *rng << 17
	return int(*rng % (benchStore / benchBS))
}

// benchEnv is a simulated device served by a Ring with copyHandler, and qd
// submitter goroutines that the benchmark hands batches of commands.
type benchEnv struct {
	d      *ring.Dev
	r      *tcmu.Ring
	h      *copyHandler
	cancel context.CancelFunc
	done   chan error
	subs   []*submitter
	next   atomic.Int64
	limit  atomic.Int64
	wg     sync.WaitGroup
	failed atomic.Bool
}

type submitter struct {
	req   ring.Request
	cdb   [10]byte
	buf   []byte
	rng   uint64
	start chan struct{}
}

// newBenchEnv serves a device at queue depth qd; with inline, the ring
// runs the reads and writes on its own goroutine (as the engine does for a
// backend that never blocks), else every command goes to a worker.
func newBenchEnv(b testing.TB, write bool, qd int, inline bool) *benchEnv {
	d, err := ring.New(ring.Config{DataSize: 16 << 20})
	if err != nil {
		b.Fatal(err)
	}
	u, err := d.Open()
	if err != nil {
		b.Fatal(err)
	}
	h := &copyHandler{store: make([]byte, benchStore), timeIt: true, epoch: time.Now()}
	cfg := tcmu.RingConfig{Handler: h, QueueDepth: qd}
	if inline {
		cfg.Inline = scsi.Quick
	}
	r, err := tcmu.NewRing(u, cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &benchEnv{d: d, r: r, h: h, cancel: cancel, done: make(chan error, 1)}
	go func() { e.done <- r.Run(ctx) }()
	for i := range qd {
		s := &submitter{buf: make([]byte, benchBS), rng: uint64(i)*0x9e3779b97f4a7c15 + 1, start: make(chan struct{})}
		s.cdb[0] = 0x28
		if write {
			s.cdb[0] = 0x2a
			s.req.DataOut = s.buf
		} else {
			s.req.DataIn = s.buf
		}
		binary.BigEndian.PutUint16(s.cdb[7:], benchBS/512)
		s.req.CDB = s.cdb[:]
		e.subs = append(e.subs, s)
		go e.submitLoop(ctx, s)
	}
	e.runN(200 * qd) // warm up: every pool grows to its steady-state size
	return e
}

func (e *benchEnv) submitLoop(ctx context.Context, s *submitter) {
	for {
		select {
		case <-s.start:
		case <-ctx.Done():
			return
		}
		for e.next.Add(1) <= e.limit.Load() {
			binary.BigEndian.PutUint32(s.cdb[2:], uint32(randomBlock(&s.rng)*(benchBS/512)))
			res, err := e.d.Submit(ctx, &s.req)
			if err != nil || res.Status != scsi.StatusGood {
				e.failed.Store(true)
			}
		}
		e.wg.Done()
	}
}

// runN runs n commands at the environment's queue depth.
func (e *benchEnv) runN(n int) {
	e.next.Store(0)
	e.limit.Store(int64(n))
	e.wg.Add(len(e.subs))
	for _, s := range e.subs {
		s.start <- struct{}{}
	}
	e.wg.Wait()
}

func (e *benchEnv) close(b testing.TB) {
	e.cancel()
	if err := <-e.done; err != nil {
		b.Error(err)
	}
	e.d.Remove()
	if e.failed.Load() {
		b.Error("some commands failed")
	}
}

// benchChunk is the number of commands between two measurements of the
// yardstick, so that both see the same load on the machine.
const benchChunk = 1024

// BenchmarkRing runs 4 KiB random reads and writes from the simulated
// initiator through the simulated kernel and the userspace ring to
// copyHandler, at queue depth 1 and 32, with statistics on and off, with
// the commands run inline on the ring goroutine (a backend that never
// blocks) and handed to workers.
// Between chunks of commands (timer stopped) it times the same number of
// bare 4 KiB copies and of the handler's two clock reads, and reports:
//   - cmds/s: commands through the whole path per second;
//   - handler-p50-ns: median time inside Execute, its two clock reads included;
//   - clock-ns: the cost of those two clock reads;
//   - memcpy-ns: a bare copy of the payload, measured alongside;
//   - handler/memcpy: memcpy-ns / (handler-p50-ns - clock-ns), the
//     handler's throughput as a fraction of memcpy's;
//   - wakeups/cmd: the ring thread put to sleep in the kernel's wait and
//     woken, per command (what a cross-CPU wake-up costs on a real one);
//   - notifies/cmd: 4-byte writes to the uio device per command;
//   - handoffs/cmd: commands given to a worker goroutine (another
//     wake-up each), per command.
func BenchmarkRing(b *testing.B) {
	for _, rw := range []string{"randread", "randwrite"} {
		for _, qd := range []int{1, 32} {
			for _, path := range []string{"inline", "workers"} {
				for _, stats := range []bool{true, false} {
					name := fmt.Sprintf("%s/qd=%d/%s/stats=%v", rw, qd, path, stats)
					b.Run(name, func(b *testing.B) {
						benchRing(b, rw == "randwrite", qd, path == "inline", stats)
					})
				}
			}
		}
	}
}

func benchRing(b *testing.B, write bool, qd int, inline, stats bool) {
	e := newBenchEnv(b, write, qd, inline)
	defer e.close(b)
	e.r.Stats().SetEnabled(stats)
	src := make([]byte, benchStore)
	dst := make([]byte, benchBS)
	rng := uint64(7)
	chunks := (b.N + benchChunk - 1) / benchChunk
	memcpyNS := make([]float64, 0, chunks)
	clockNS := make([]float64, 0, chunks)
	var sink time.Duration
	e.h.resetHist()
	c0, h0 := e.d.Counters(), e.r.Stats().Snapshot().Handoffs
	b.SetBytes(benchBS)
	b.ReportAllocs()
	b.ResetTimer()
	for left := b.N; left > 0; left -= benchChunk {
		e.runN(min(left, benchChunk))
		b.StopTimer()
		t0 := time.Now()
		for range benchChunk {
			copy(dst, src[randomBlock(&rng)*benchBS:][:benchBS])
		}
		memcpyNS = append(memcpyNS, float64(time.Since(t0).Nanoseconds())/benchChunk)
		t0 = time.Now()
		for range benchChunk {
			start := time.Since(e.h.epoch) // the handler's two reads
			sink += time.Since(e.h.epoch) - start
		}
		clockNS = append(clockNS, float64(time.Since(t0).Nanoseconds())/benchChunk)
		b.StartTimer()
	}
	b.StopTimer()
	_ = sink
	c1, h1 := e.d.Counters(), e.r.Stats().Snapshot().Handoffs
	b.ReportMetric(float64(c1.Wakeups-c0.Wakeups)/float64(b.N), "wakeups/cmd")
	b.ReportMetric(float64(c1.Notifies-c0.Notifies)/float64(b.N), "notifies/cmd")
	b.ReportMetric(float64(h1-h0)/float64(b.N), "handoffs/cmd")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cmds/s")
	h, m, c := e.h.medianNS(), median(memcpyNS), median(clockNS)
	b.ReportMetric(h, "handler-p50-ns")
	b.ReportMetric(c, "clock-ns")
	b.ReportMetric(m, "memcpy-ns")
	b.ReportMetric(m/max(h-c, 1), "handler/memcpy")
}

// median is robust to the chunks that other processes on the machine
// stalled.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	return v[len(v)/2]
}

// BenchmarkStatsOverhead runs the full path (simulated initiator, kernel,
// ring, copyHandler inline on the ring goroutine) on one ring in pairs of adjacent chunks, one
// with statistics on and one off, the order alternating from pair to pair
// (on-off, off-on, …) so that neither setting always follows the other.
// Each pair gives a ratio of the two times per command; two chunks a
// fraction of a millisecond apart see the same load on the machine, so the
// median ratio is robust to the other work of a shared machine where the
// medians of each setting alone drift. It reports:
//   - on-ns/cmd, off-ns/cmd: the median time per command of each setting;
//   - on/off: the median of the pairs' ratios;
//   - overhead-%: (on/off - 1) * 100.
func BenchmarkStatsOverhead(b *testing.B) {
	for _, rw := range []string{"randread", "randwrite"} {
		for _, qd := range []int{1, 32} {
			b.Run(fmt.Sprintf("%s/qd=%d", rw, qd), func(b *testing.B) {
				e := newBenchEnv(b, rw == "randwrite", qd, true)
				defer e.close(b)
				// Small chunks interleave the two settings finely.
				const chunk = benchChunk / 4
				pairs := (b.N + 2*chunk - 1) / (2 * chunk)
				on := make([]float64, 0, pairs)
				off := make([]float64, 0, pairs)
				ratio := make([]float64, 0, pairs)
				run := func(stats bool, n int) float64 {
					e.r.Stats().SetEnabled(stats)
					t0 := time.Now()
					e.runN(n)
					return float64(time.Since(t0).Nanoseconds()) / float64(n)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for left, k := b.N, 0; left > 0; k++ {
					n := min(left, 2*chunk)
					left -= n
					var onNS, offNS float64
					if k%2 == 0 {
						onNS = run(true, n/2)
						offNS = run(false, n-n/2)
					} else {
						offNS = run(false, n-n/2)
						onNS = run(true, n/2)
					}
					if n < 2*chunk {
						break // a short last pair would weigh like a full one
					}
					on, off = append(on, onNS), append(off, offNS)
					ratio = append(ratio, onNS/offNS)
				}
				if len(ratio) == 0 {
					return
				}
				r := median(ratio)
				b.ReportMetric(median(on), "on-ns/cmd")
				b.ReportMetric(median(off), "off-ns/cmd")
				b.ReportMetric(r, "on/off")
				b.ReportMetric((r-1)*100, "overhead-%")
			})
		}
	}
}

// TestSteadyStateAllocatesNothing: once warm, a command through the
// simulated kernel, the ring and back allocates nothing on either side,
// run inline on the ring goroutine or by a worker.
func TestSteadyStateAllocatesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip()
	}
	for _, inline := range []bool{true, false} {
		t.Run(fmt.Sprintf("inline=%v", inline), func(t *testing.T) { steadyStateAllocs(t, inline) })
	}
}

func steadyStateAllocs(t *testing.T, inline bool) {
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
	cfg := tcmu.RingConfig{Handler: h, QueueDepth: 4}
	if inline {
		cfg.Inline = scsi.Quick
	}
	r, err := tcmu.NewRing(u, cfg)
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

// TestCostPerCommand holds what a command costs the handler thread in the
// currency of a real kernel, counted by the simulated one: with a backend
// that never blocks, a command at queue depth 1 wakes the ring thread at
// most once, is answered with exactly one notify and is never handed to a
// worker; at queue depth 8 neither count grows past one per command (the
// commands found at one look share a notify). Handed to workers, each
// command is one hand-off.
func TestCostPerCommand(t *testing.T) {
	const n = 2000
	for _, tc := range []struct {
		qd                 int
		inline             bool
		exactNotifies      bool
		handoffsPerCommand uint64
	}{
		{qd: 1, inline: true, exactNotifies: true, handoffsPerCommand: 0},
		{qd: 8, inline: true, handoffsPerCommand: 0},
		{qd: 1, inline: false, exactNotifies: true, handoffsPerCommand: 1},
	} {
		t.Run(fmt.Sprintf("qd=%d/inline=%v", tc.qd, tc.inline), func(t *testing.T) {
			e := newBenchEnv(t, false, tc.qd, tc.inline)
			defer e.close(t)
			c0, h0 := e.d.Counters(), e.r.Stats().Snapshot().Handoffs
			e.runN(n)
			c1, h1 := e.d.Counters(), e.r.Stats().Snapshot().Handoffs
			wakeups, notifies := c1.Wakeups-c0.Wakeups, c1.Notifies-c0.Notifies
			t.Logf("%d commands: %d wake-ups, %d notifies, %d hand-offs", n, wakeups, notifies, h1-h0)
			if wakeups > n {
				t.Errorf("%d wake-ups of the ring thread for %d commands, want at most one each", wakeups, n)
			}
			if notifies > n || (tc.exactNotifies && notifies != n) {
				t.Errorf("%d notifies for %d commands, want one each (at most one each at depth > 1)", notifies, n)
			}
			if h1-h0 != tc.handoffsPerCommand*n {
				t.Errorf("%d hand-offs to workers for %d commands, want %d", h1-h0, n, tc.handoffsPerCommand*n)
			}
		})
	}
}
