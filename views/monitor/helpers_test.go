package monitor

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/internal/golden"
	"github.com/tcmsh/tcmsh/internal/keypress"
	"github.com/tcmsh/tcmsh/views"
)

// t0 is when the scripted snapshots start.
var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// reading is one scripted answer of the fake engine.
type reading struct {
	stats []engine.DeviceStats
	err   error
}

// fakeEngine answers Stats from a script, one reading per call, repeating
// the last one when the script runs out.
type fakeEngine struct {
	mu     sync.Mutex
	script []reading
	calls  int
}

func (f *fakeEngine) push(r ...reading) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script = append(f.script, r...)
}

func (f *fakeEngine) Stats(context.Context) ([]engine.DeviceStats, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.script) == 0 {
		return nil, nil
	}
	r := f.script[min(f.calls, len(f.script)-1)]
	f.calls++
	return r.stats, r.err
}

func (f *fakeEngine) Subtypes() []string                  { return []string{"ram"} }
func (f *fakeEngine) Validate(string, int64) error        { return nil }
func (f *fakeEngine) Serve(context.Context, string) error { return nil }
func (f *fakeEngine) Release(context.Context, string) error {
	return nil
}
func (f *fakeEngine) Workload(context.Context, string, engine.WorkloadSpec) (engine.WorkloadResult, error) {
	return engine.WorkloadResult{}, errors.New("fake engine: no workloads")
}
func (f *fakeEngine) InProcess() bool { return true }
func (f *fakeEngine) Close() error    { return nil }

// newModel is a monitor of eng at w × h with times in UTC.
func newModel(eng engine.Engine, w, h int) *Model {
	return newModelOpts(eng, w, h, Options{Location: time.UTC})
}

func newModelOpts(eng engine.Engine, w, h int, opts Options) *Model {
	c := views.NewCommon()
	c.Styles = views.NewStyles(true)
	c.Width, c.Height = w, h
	return NewWithOptions(c, eng, opts)
}

// poll runs n polls of the monitor the way the program would: the tick's
// command reads the engine, the reading goes back to Update. The first
// poll is Init's.
func poll(t testing.TB, m *Model, n int) {
	t.Helper()
	for range n {
		var cmd tea.Cmd
		if m.gen == 0 {
			cmd = m.Init()
		} else {
			cmd = m.Update(TickMsg{id: m.id, gen: m.gen})
		}
		if cmd == nil {
			t.Fatal("a tick gave no command to read the engine")
		}
		msg, ok := cmd().(StatsMsg)
		if !ok {
			t.Fatal("the read command did not return a StatsMsg")
		}
		if next := m.Update(msg); next == nil {
			t.Fatal("a reading did not schedule the next tick: polling would stop")
		}
	}
}

func press(m *Model, keys ...tea.KeyPressMsg) {
	for _, k := range keys {
		m.Update(k)
	}
}

var (
	keyDown  = keypress.Msg("down")
	keyUp    = keypress.Msg("up")
	keyEnd   = keypress.Msg("end")
	keyHome  = keypress.Msg("home")
	keyPgUp  = keypress.Msg("pgup")
	keyPgDn  = keypress.Msg("pgdown")
	keySpace = keypress.Msg("space")
	keyP     = keypress.Msg("p")
)

// devSpec describes one scripted device: its IOPS as a function of the
// time since t0, and what else it shows.
type devSpec struct {
	name, subtype string
	iops          func(s float64) float64
	latBucket     int // the log2 latency bucket most commands fall in
	// From spikeAt seconds on (if > 0), commands take 4× as long.
	spikeAt      float64
	senseKey     string
	errEvery     uint64 // one CHECK CONDITION per errEvery commands
	backendAfter float64
	backendErr   string
	down         bool
}

// script builds n snapshots of the devices, step apart from t0.
func script(specs []devSpec, n int, step time.Duration) []reading {
	out := make([]reading, 0, n)
	cum := make([]float64, len(specs))
	fine := make([][engine.LatencyHistogramSize]uint64, len(specs))
	counted := make([]uint64, len(specs))
	for i := range n {
		at := t0.Add(time.Duration(i) * step)
		sec := at.Sub(t0).Seconds()
		var stats []engine.DeviceStats
		for j, sp := range specs {
			iops := sp.iops(sec)
			if sp.backendErr != "" && sec >= sp.backendAfter {
				iops = 0
			}
			if i > 0 {
				cum[j] += iops * step.Seconds()
			}
			b := sp.latBucket
			if sp.spikeAt > 0 && sec >= sp.spikeAt {
				b += 2
			}
			addLatencies(&fine[j], b, uint64(cum[j])-counted[j])
			counted[j] = uint64(cum[j])
			stats = append(stats, deviceSnapshot(j, sp, uint64(cum[j]), iops, at, sec, &fine[j]))
		}
		out = append(out, reading{stats: stats})
	}
	return out
}

// latencyShape spreads commands over the log2 buckets around the main
// one (b-2 … b+3), and within each over its 16 fine buckets.
var (
	log2Shape = [6]uint64{1, 5, 10, 2, 0, 2} // twentieths, from b-2
	fineShape = [16]uint64{1, 2, 4, 6, 8, 9, 8, 6, 4, 3, 2, 2, 1, 1, 1, 2}
)

// addLatencies counts n more commands in h, most in log2 bucket b
// ([2^(b-1), 2^b) ns).
func addLatencies(h *[engine.LatencyHistogramSize]uint64, b int, n uint64) {
	if n == 0 {
		return
	}
	var left = n
	for k, w := range log2Shape {
		m := n * w / 20
		if k == 2 {
			m = 0 // the main bucket takes the rest, below
		}
		spread(h, b-2+k, m)
		left -= m
	}
	spread(h, b, left)
}

// spread counts n commands in log2 bucket b, over its fine buckets.
func spread(h *[engine.LatencyHistogramSize]uint64, b int, n uint64) {
	first := engine.LatencyBucketIndex(uint64(1) << (b - 1))
	left := n
	for k, w := range fineShape {
		m := n * w / 60
		h[first+k] += m
		left -= m
	}
	h[first+5] += left
}

// deviceSnapshot is the DeviceStats of device j after commands commands,
// whose latencies fine counts.
func deviceSnapshot(j int, sp devSpec, commands uint64, iops float64, at time.Time, sec float64, fine *[engine.LatencyHistogramSize]uint64) engine.DeviceStats {
	reads, writes := commands*6/10, commands-commands*6/10
	s := engine.DeviceStats{
		Path:       "/backstores/user:" + sp.subtype + "/" + sp.name,
		ConfigPath: "target/core/user_" + sp.subtype + "/" + sp.name,
		UIO:        "uio" + string(rune('0'+j)),
		Subtype:    sp.subtype,
		Up:         !sp.down,
		QueueDepth: 32,
		Attaches:   1,
		Commands:   commands + 3,
		ReadBytes:  reads * 4096,
		WriteBytes: writes * 4096,

		Inflight:         uint64(math.Min(32, iops/400)),
		InflightMax:      32,
		RingSizeBytes:    1 << 20,
		DataSizeBytes:    1 << 30,
		LatencyBuckets:   make([]uint64, 64),
		CheckConditions:  map[string]uint64{},
		Time:             at,
		RingUsedMaxBytes: 96 * 1024,
		DataUsedMaxBytes: 32 * 4096 * 4,
	}
	s.RingUsedBytes = s.Inflight * 2048
	s.DataUsedBytes = s.Inflight * 4096
	if sp.backendErr != "" && sec >= sp.backendAfter {
		s.BackendError = sp.backendErr
	}
	if sp.errEvery > 0 {
		s.Errors = commands / sp.errEvery
		s.CheckConditions[sp.senseKey] = s.Errors
		if s.Errors > 2 {
			s.CheckConditions["unit_attention"] = 2
			s.CheckConditions[sp.senseKey] -= 2
		}
	}
	s.LatencyHistogram = []engine.LatencyBucket{}
	for i, n := range fine {
		if n > 0 {
			lo, hi := engine.LatencyBucketBounds(i)
			s.LatencyHistogram = append(s.LatencyHistogram, engine.LatencyBucket{LowNS: lo, HighNS: hi, Count: n})
			s.LatencyBuckets[bits.Len64(lo)] += n
			s.LatMaxus = float64(lo+(hi-lo)*3/4) / 1e3
		}
	}
	maxLat := time.Duration(s.LatMaxus * 1e3)
	s.LatP50us = float64(min(engine.LatencyQuantile(s.LatencyHistogram, 0.50), maxLat)) / 1e3
	s.LatP99us = float64(min(engine.LatencyQuantile(s.LatencyHistogram, 0.99), maxLat)) / 1e3
	s.ByOpcode = []engine.OpcodeStats{
		{Opcode: 0x00, Name: "TEST UNIT READY", Commands: 1},
		{Opcode: 0x12, Name: "INQUIRY", Commands: 2},
		{Opcode: 0x28, Name: "READ(10)", Commands: reads, Bytes: reads * 4096},
		{Opcode: 0x2a, Name: "WRITE(10)", Commands: writes, Bytes: writes * 4096},
	}
	if commands == 0 {
		s.ByOpcode = s.ByOpcode[:2]
	}
	// The log: the last 24 commands, 100µs apart, ending at the snapshot.
	for k := range min(commands, 24) {
		n := commands - min(commands, 24) + k
		c := engine.RecentCommand{Opcode: 0x28, Name: "READ(10)", LBA: (n * 7919) % 131072 * 8, Length: 4096,
			LatencyUs: math.Ldexp(1, sp.latBucket)/1e3 + float64(n%7), Finished: at.Add(-time.Duration(24-k) * 100 * time.Microsecond)}
		if n%5 >= 3 {
			c.Opcode, c.Name = 0x2a, "WRITE(10)"
		}
		if sp.errEvery > 0 && n%sp.errEvery == 0 {
			c.Status = 0x02
		}
		s.Recent = append(s.Recent, c)
	}
	return s
}

// busySpecs are four devices: a fast ram disk, a file, a fault injector
// with latency and medium errors, and an RBD image whose cluster
// connection is lost 50 s in (NOT READY from then on).
func busySpecs() []devSpec {
	return []devSpec{
		{name: "slow", subtype: "fault", latBucket: 21, senseKey: "medium_error", errEvery: 97, spikeAt: 55,
			iops: func(s float64) float64 { return 900 + 300*math.Sin(s/4) }},
		{name: "f1", subtype: "file", latBucket: 16,
			iops: func(s float64) float64 { return 4000 + 1500*math.Sin(s/7) }},
		{name: "r1", subtype: "ram", latBucket: 14,
			iops: func(s float64) float64 { return 48000 + 12000*math.Sin(s/5) }},
		{name: "img1", subtype: "rbd", latBucket: 18, senseKey: "not_ready", errEvery: 50,
			backendAfter: 50, backendErr: "ceph cluster mon.a:6789 unreachable: connection refused",
			iops: func(s float64) float64 { return 2500 + 800*math.Sin(s/3) }},
	}
}

// checkGolden compares the view, ANSI stripped, with testdata/name.golden
// (rewritten with -update), and checks that it is exactly w × h cells.
func checkGolden(t *testing.T, name, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != h {
		t.Errorf("%s: %d lines, want %d", name, len(lines), h)
	}
	for i, l := range lines {
		if got := ansi.StringWidth(l); got != w {
			t.Errorf("%s: line %d is %d cells wide, want %d: %q", name, i+1, got, w, ansi.Strip(l))
		}
	}
	golden.Check(t, name+".golden", ansi.Strip(view)+"\n")
}

func itoa[T ~uint64 | ~int](n T) string { return fmt.Sprint(n) }
