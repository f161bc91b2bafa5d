package monitor

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/tcmsh/tcmsh/engine"
)

// latencyDevice scripts one device's cumulative latency histogram, a
// reading every step.
type latencyDevice struct {
	fine     [engine.LatencyHistogramSize]uint64
	commands uint64
	maxNS    int64
	at       time.Time
}

// run counts n commands taking lo to hi ns (evenly spread) and returns
// the reading step later.
func (l *latencyDevice) run(n int, lo, hi int64, step time.Duration) engine.DeviceStats {
	for k := range n {
		ns := lo + (hi-lo)*int64(k)/int64(max(n-1, 1))
		l.fine[engine.LatencyBucketIndex(uint64(ns))]++
		l.maxNS = max(l.maxNS, ns)
	}
	l.commands += uint64(n)
	l.at = l.at.Add(step)
	return l.reading()
}

func (l *latencyDevice) reading() engine.DeviceStats {
	s := engine.DeviceStats{
		Path: "/backstores/user:fault/slow", ConfigPath: "target/core/user_0/slow", Up: true,
		Commands: l.commands, Time: l.at, LatMaxus: float64(l.maxNS) / 1e3,
		LatencyHistogram: []engine.LatencyBucket{}, LatencyBuckets: make([]uint64, 65),
	}
	for i, n := range l.fine {
		if n > 0 {
			lo, hi := engine.LatencyBucketBounds(i)
			s.LatencyHistogram = append(s.LatencyHistogram, engine.LatencyBucket{LowNS: lo, HighNS: hi, Count: n})
		}
	}
	maxLat := time.Duration(l.maxNS)
	s.LatP50us = micros(min(engine.LatencyQuantile(s.LatencyHistogram, 0.50), maxLat))
	s.LatP99us = micros(min(engine.LatencyQuantile(s.LatencyHistogram, 0.99), maxLat))
	return s
}

// feed gives the monitor one reading of one device.
func feed(m *Model, s engine.DeviceStats) {
	m.Update(StatsMsg{id: m.id, gen: m.gen, Stats: []engine.DeviceStats{s}})
}

// TestLatencyWindow: the monitor's percentiles are those of the last 10
// seconds, interpolated within the fine buckets: a latency spike shows
// in p99 while it is recent, though an hour of normal commands would
// drown it in the all-time p99, and is gone from it 10 s later; the
// all-time maximum stays.
func TestLatencyWindow(t *testing.T) {
	const step = 200 * time.Millisecond
	m := newModelOpts(nil, 120, 40, Options{Interval: step, Location: time.UTC})
	m.eng = &fakeEngine{}
	m.Init()
	l := &latencyDevice{at: t0}
	normal := func(seconds float64) {
		for range int(seconds / step.Seconds()) {
			feed(m, l.run(200, 2_200_000, 2_400_000, step)) // the demo's fault device: 2 ms added
		}
	}
	feed(m, l.reading())
	d := m.fleet.devs[0]
	if d.winSpan != 0 || !strings.Contains(ansi.Strip(m.View()), "all time p50") {
		t.Errorf("one reading: window %v; want the all-time figures", d.winSpan)
	}
	normal(3)
	if v := ansi.Strip(m.View()); d.winSpan != 3*time.Second || !strings.Contains(v, "last 3s p50 2.3ms p99 2.4ms") {
		t.Errorf("3 s in: window %v:\n%s", d.winSpan, v)
	}
	normal(57)
	if math.Abs(d.winP50-2300) > 2300*0.01 || math.Abs(d.winP99-2398) > 2398*0.01 {
		t.Errorf("p50 %.1fµs p99 %.1fµs, want 2300 and 2398 within 1%% (the log2 buckets said 4194)", d.winP50, d.winP99)
	}
	if v := ansi.Strip(m.View()); !strings.Contains(v, "last 10s p50 2.3ms p99 2.4ms") || !strings.Contains(v, "P50 10s") {
		t.Errorf("after a minute:\n%s", v)
	}

	// A spike: 200 commands of 40 ms, 0.3 % of all, 2 % of the window.
	feed(m, l.run(200, 40_000_000, 40_000_000, step))
	normal(5)
	if d.winP99 < 2500 || d.cur.LatP99us > 2500 {
		t.Errorf("5 s after the spike: window p99 %.1fµs (want it above 2.5 ms), all-time p99 %.1fµs", d.winP99, d.cur.LatP99us)
	}
	v := ansi.Strip(m.View())
	if !strings.Contains(v, "<41.9ms") || !strings.Contains(v, "max 40.0ms") {
		t.Errorf("5 s after the spike, its bucket or the maximum is not shown:\n%s", v)
	}
	normal(10.2)
	v = ansi.Strip(m.View())
	// (Within a bucket, 6.25 %: p99 is the distribution's edge, and the
	// maximum no longer bounds it.)
	if math.Abs(d.winP99-2398) > 2398*0.0625 || strings.Contains(v, "<41.9ms") || !strings.Contains(v, "max 40.0ms") {
		t.Errorf("10 s after the spike: window p99 %.1fµs; its row should be gone, the maximum kept:\n%s", d.winP99, v)
	}

	// Idle: no commands in the window.
	for range 60 {
		l.at = l.at.Add(step)
		feed(m, l.reading())
	}
	v = ansi.Strip(m.View())
	if p50, p99 := d.latencyFigures(); p50 != "-" || p99 != "-" || !strings.Contains(v, "no commands in the last 10s") {
		t.Errorf("idle: p50 %s p99 %s:\n%s", p50, p99, v)
	}

	// The history of copies never grows.
	if len(d.lat.counts) != latSamples*engine.LatencyHistogramSize || d.lat.n != latSamples {
		t.Errorf("%d counts in %d copies", len(d.lat.counts), d.lat.n)
	}

	// A restarted daemon: counters start again; the window is what they
	// hold.
	l2 := &latencyDevice{at: l.at}
	feed(m, l2.run(100, 100_000, 100_000, step))
	if d.winSpan != step || math.Abs(d.winP50-100) > 100*0.0625 {
		t.Errorf("after a reset: window %v p50 %.1fµs, want 200ms and 100µs", d.winSpan, d.winP50)
	}
}

// TestLatencyWithoutFineHistogram: an engine (an older daemon) that sends
// only the log2 buckets gets the all-time figures, drawn by power of two.
func TestLatencyWithoutFineHistogram(t *testing.T) {
	m := newModelOpts(nil, 120, 40, Options{Location: time.UTC})
	m.eng = &fakeEngine{}
	m.Init()
	for i := range 20 {
		s := engine.DeviceStats{Path: "/backstores/user:ram/r1", ConfigPath: "target/core/user_0/r1", Up: true,
			Commands: uint64(100 * i), Time: t0.Add(time.Duration(i) * 200 * time.Millisecond),
			LatencyBuckets: make([]uint64, 65), LatP50us: 16.4, LatP99us: 131.1, LatMaxus: 222.8}
		s.LatencyBuckets[14] = uint64(90 * i)
		s.LatencyBuckets[17] = uint64(10 * i)
		feed(m, s)
	}
	v := ansi.Strip(m.View())
	for _, want := range []string{"all time p50 16µs", "all time p99 131µs max 223µs", "<16.4µs", "<131µs", "   16µs    131µs    223µs"} {
		if !strings.Contains(v, want) {
			t.Errorf("no %q in:\n%s", want, v)
		}
	}
	if strings.Contains(v, "<8.19µs") || strings.Contains(v, "<12.3µs") {
		t.Errorf("log2 buckets drawn finer than a power of two:\n%s", v)
	}
}

// TestHistogramRows: whatever the histogram, the rows fit, follow each
// other, cover every command, and no two empty rows are adjacent.
func TestHistogramRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var prefix [engine.LatencyHistogramSize + 1]uint64
	for round := range 2000 {
		var h [engine.LatencyHistogramSize]uint64
		modes := 1 + rng.IntN(3)
		for range modes {
			c := rng.IntN(engine.LatencyHistogramSize)
			for range 1 + rng.IntN(50) {
				i := min(max(c+rng.IntN(40)-20, 0), engine.LatencyHistogramSize-1)
				h[i] += uint64(1 + rng.IntN(1000))
			}
		}
		lo, hi := -1, -1
		for i, n := range h {
			if n > 0 {
				if lo < 0 {
					lo = i
				}
				hi = i
			}
			prefix[i+1] = prefix[i] + n
		}
		rows := 1 + rng.IntN(20)
		minSeg := []int{1, latSub}[round%2]
		segs := histogram(nil, &prefix, lo, hi, minSeg, rows)
		var total uint64
		for i, s := range segs {
			total += s.n
			if i > 0 && (s.from != segs[i-1].to || s.n == 0 && segs[i-1].n == 0) {
				t.Fatalf("round %d: rows %+v", round, segs)
			}
		}
		if len(segs) > rows || total != prefix[engine.LatencyHistogramSize] || segs[0].from > lo || segs[len(segs)-1].to <= hi ||
			segs[0].n == 0 || segs[len(segs)-1].n == 0 {
			t.Fatalf("round %d: %d rows for %d, %d of %d commands, lo %d hi %d: %+v", round, len(segs), rows, total, prefix[engine.LatencyHistogramSize], lo, hi, segs)
		}
	}
}

// TestPrintOnceWindow: `monitor --once` gives the latency between its two
// snapshots beside the all-time figures.
func TestPrintOnceWindow(t *testing.T) {
	defer func(d time.Duration) { OnceInterval = d }(OnceInterval)
	OnceInterval = 0
	l := &latencyDevice{at: t0}
	l.run(10000, 100_000, 100_000, time.Second) // an old 100 µs
	first := l.reading()
	second := l.run(100, 2_200_000, 2_400_000, time.Second)
	f := &fakeEngine{}
	f.push(reading{stats: []engine.DeviceStats{first}}, reading{stats: []engine.DeviceStats{second}})
	var js bytes.Buffer
	if err := PrintOnce(t.Context(), f, &js, true); err != nil {
		t.Fatal(err)
	}
	var got []OnceDevice
	if err := json.Unmarshal(js.Bytes(), &got); err != nil || len(got) != 1 {
		t.Fatalf("%v: %s", err, js.String())
	}
	d := got[0]
	if d.WindowLatP50us == nil || math.Abs(*d.WindowLatP50us-2300) > 23 || d.LatP50us > 110 {
		t.Errorf("p50 %v between the snapshots, %v since served; want 2300 and 100: %s", d.WindowLatP50us, d.LatP50us, js.String())
	}

	f = &fakeEngine{}
	f.push(reading{stats: []engine.DeviceStats{second}}, reading{stats: []engine.DeviceStats{second}})
	js.Reset()
	if err := PrintOnce(t.Context(), f, &js, true); err != nil || strings.Contains(js.String(), "window_lat") {
		t.Errorf("no commands between the snapshots: %v %s", err, js.String())
	}
	var text bytes.Buffer
	f.calls = 0
	if err := PrintOnce(t.Context(), f, &text, false); err != nil || !strings.Contains(text.String(), "        -         -") {
		t.Errorf("no commands between the snapshots, as text: %v\n%s", err, text.String())
	}
}
