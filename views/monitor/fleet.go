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
