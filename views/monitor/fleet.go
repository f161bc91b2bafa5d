package monitor

import (
	"cmp"
	"slices"
	"time"

	"github.com/tcmsh/tcmsh/engine"
)

// window is how far back the sparklines look.
const window = time.Minute

// sample is one point of a device's history: the rates between two
// consecutive snapshots, at the later one's time.
type sample struct {
	t          int64 // UnixNano of the snapshot
	iops, mbps float64
}

// history is a fixed-size ring of samples: it never grows, the oldest
// sample makes room for the newest.
type history struct {
	buf     []sample
	next, n int
}

func newHistory(capacity int) history { return history{buf: make([]sample, max(capacity, 2))} }

func (h *history) add(s sample) {
	h.buf[h.next] = s
	h.next = (h.next + 1) % len(h.buf)
	if h.n < len(h.buf) {
		h.n++
	}
}

// at returns the i-th sample, oldest first (0 ≤ i < h.n).
func (h *history) at(i int) sample {
	return h.buf[(h.next-h.n+i+2*len(h.buf))%len(h.buf)]
}

// The latency window. Percentiles and the latency histogram are those
// of the commands of about the last latWindow: the difference between
// the device's cumulative fine histogram now and a copy of it kept
// latWindow or a little more ago (since the device appeared, while the
// monitor has known it for less). A copy is kept every latEvery, the
// last latSamples of them, in 32-bit counts: a bucket's count grows by
// far less than 2^32 in a window, so differences modulo 2^32 are exact.
// That is 11 × 960 × 4 B = 41 KiB a device, allocated once.
const (
	latWindow  = 10 * time.Second
	latEvery   = time.Second
	latSamples = int(latWindow/latEvery) + 1
)

// latHistory is a fixed-size ring of copies of a device's cumulative
// fine latency histogram.
type latHistory struct {
	counts  []uint32 // latSamples rows of engine.LatencyHistogramSize; nil until a histogram arrives
	t       [latSamples]int64
	next, n int
}

func (h *latHistory) row(k int) []uint32 {
	return h.counts[k*engine.LatencyHistogramSize : (k+1)*engine.LatencyHistogramSize]
}

// add keeps a copy of the histogram of buckets, taken at t.
func (h *latHistory) add(t int64, buckets []engine.LatencyBucket) {
	if h.counts == nil {
		h.counts = make([]uint32, latSamples*engine.LatencyHistogramSize)
	}
	r := h.row(h.next)
	clear(r)
	for _, b := range buckets {
		r[engine.LatencyBucketIndex(b.LowNS)] += uint32(b.Count)
	}
	h.t[h.next] = t
	h.next = (h.next + 1) % latSamples
	h.n = min(h.n+1, latSamples)
}

// slot returns the ring position of the i-th copy, oldest first.
func (h *latHistory) slot(i int) int { return (h.next - h.n + i + latSamples) % latSamples }

// base returns the copy the window at now starts from: the newest one at
// least latWindow old, else the oldest; false if there is none older
// than now.
func (h *latHistory) base(now int64) (int, bool) {
	for i := h.n - 1; i >= 0; i-- {
		if k := h.slot(i); now-h.t[k] >= int64(latWindow) {
			return k, true
		}
	}
	if h.n == 0 || h.t[h.slot(0)] >= now {
		return 0, false
	}
	return h.slot(0), true
}

// device is what the monitor knows of one served device: its latest
// snapshot, the rates computed from the last two, and its history.
type device struct {
	key   string
	cur   engine.DeviceStats
	rated bool // iops and mbps come from two snapshots
	iops  float64
	mbps  float64
	// commands counts the commands seen since the device appeared, across
	// counter resets: the log's "paused, N new" is a difference of it.
	commands uint64
	hist     history
	mark     uint64

	// The latency window (see latWindow): its span (0: no window yet, or
	// an engine without the fine histogram), its non-empty buckets and
	// percentiles, capped at the all-time maximum.
	lat            latHistory
	winSpan        time.Duration
	win            []engine.LatencyBucket
	winP50, winP99 float64 // µs
}

// observeLatency keeps a copy of s's fine latency histogram when one is
// due and computes the window ending at s. reset says the counters
// started again from zero after the previous snapshot.
func (d *device) observeLatency(s *engine.DeviceStats, reset bool) {
	d.winSpan, d.win = 0, d.win[:0]
	if s.LatencyHistogram == nil {
		d.lat.n = 0
		return
	}
	now := s.Time.UnixNano()
	if reset {
		// What the counters hold now happened since the last snapshot.
		d.lat.n = 0
		d.lat.add(d.cur.Time.UnixNano(), nil)
	}
	if d.lat.n == 0 || now-d.lat.t[(d.lat.next+latSamples-1)%latSamples] >= int64(latEvery) {
		d.lat.add(now, s.LatencyHistogram)
	}
	k, ok := d.lat.base(now)
	if !ok {
		return
	}
	d.win = windowOf(d.win, s.LatencyHistogram, d.lat.row(k))
	d.winSpan = time.Duration(now - d.lat.t[k])
	maxLat := time.Duration(s.LatMaxus * 1e3)
	d.winP50 = micros(min(engine.LatencyQuantile(d.win, 0.50), maxLat))
	d.winP99 = micros(min(engine.LatencyQuantile(d.win, 0.99), maxLat))
}

// windowOf appends to win the non-empty buckets of the cumulative
// histogram cur less base, an earlier copy of it (counts modulo 2^32).
func windowOf(win, cur []engine.LatencyBucket, base []uint32) []engine.LatencyBucket {
	for _, b := range cur {
		if n := uint32(b.Count) - base[engine.LatencyBucketIndex(b.LowNS)]; n > 0 {
			win = append(win, engine.LatencyBucket{LowNS: b.LowNS, HighNS: b.HighNS, Count: uint64(n)})
		}
	}
	return win
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// latencyFigures are the p50 and p99 the device list shows: the
// window's ("-" when no command completed in it), or the all-time ones
// without a window.
func (d *device) latencyFigures() (p50, p99 string) {
	switch {
	case d.winSpan == 0:
		return fmtMicros(d.cur.LatP50us), fmtMicros(d.cur.LatP99us)
	case len(d.win) == 0:
		return "-", "-"
	}
	return fmtMicros(d.winP50), fmtMicros(d.winP99)
}

// counterDelta is how much a cumulative counter grew from prev to cur. A
// counter that went backwards was reset (a restarted daemon): it counts
// from zero again, so what it holds now is what happened since.
func counterDelta(cur, prev uint64) uint64 {
	if cur >= prev {
		return cur - prev
	}
	return cur
}

// observe takes a new snapshot of the device.
func (d *device) observe(s *engine.DeviceStats) {
	dt := s.Time.Sub(d.cur.Time).Seconds()
	if dt <= 0 {
		// The same snapshot again, or one from an earlier moment: nothing
		// to measure a rate over.
		d.cur = *s
		return
	}
	d.observeLatency(s, s.Commands < d.cur.Commands)
	dc := counterDelta(s.Commands, d.cur.Commands)
	db := counterDelta(s.ReadBytes, d.cur.ReadBytes) + counterDelta(s.WriteBytes, d.cur.WriteBytes)
	d.iops = float64(dc) / dt
	d.mbps = float64(db) / dt / 1e6
	d.rated = true
	d.commands += dc
	d.hist.add(sample{t: s.Time.UnixNano(), iops: d.iops, mbps: d.mbps})
	d.cur = *s
}

// fleet is every device of the latest snapshot, in path order.
type fleet struct {
	devs    []*device
	byKey   map[string]*device
	histCap int
	mark    uint64
	last    time.Time // the newest snapshot's time
}

func newFleet(interval time.Duration) *fleet {
	return &fleet{byKey: map[string]*device{}, histCap: int(window/interval) + 8}
}

func deviceKey(s *engine.DeviceStats) string {
	if s.ConfigPath != "" {
		return s.ConfigPath
	}
	return s.Path
}

// apply takes a new set of snapshots: devices that appeared are added
// (their rates start with the next snapshot), those that are gone are
// dropped.
func (f *fleet) apply(snap []engine.DeviceStats) {
	f.mark++
	f.devs = f.devs[:0]
	for i := range snap {
		s := &snap[i]
		k := deviceKey(s)
		d := f.byKey[k]
		switch {
		case d == nil:
			d = &device{key: k, cur: *s, hist: newHistory(f.histCap)}
			d.observeLatency(s, false)
			f.byKey[k] = d
		case d.mark == f.mark:
			continue // listed twice in one snapshot
		default:
			d.observe(s)
		}
		d.mark = f.mark
		f.devs = append(f.devs, d)
		if s.Time.After(f.last) {
			f.last = s.Time
		}
	}
	for k, d := range f.byKey {
		if d.mark != f.mark {
			delete(f.byKey, k)
		}
	}
	if !slices.IsSortedFunc(f.devs, byPath) {
		slices.SortFunc(f.devs, byPath)
	}
}

func byPath(a, b *device) int { return cmp.Compare(a.cur.Path, b.cur.Path) }

// index returns the position of the device with key k, or -1.
func (f *fleet) index(k string) int {
	for i, d := range f.devs {
		if d.key == k {
			return i
		}
	}
	return -1
}
