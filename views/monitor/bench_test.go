package monitor

import (
	"fmt"
	"testing"
	"time"

	"github.com/tcmsh/tcmsh/engine"
)

// BenchmarkMonitor16Devices measures one tick of the monitor at 10 Hz
// with 16 busy devices: the Update taking a new reading and the View at
// 120×40, with a minute of history behind the sparklines and full
// 256-entry command logs, latency histograms that grow with every
// reading (so each device has a 10 s latency window to compute).
// cpu%-at-10Hz is the share of one core ten ticks a second take.
func BenchmarkMonitor16Devices(b *testing.B) {
	const devs = 16
	const step = 100 * time.Millisecond
	specs := make([]devSpec, 0, devs)
	for i := range devs {
		sp := busySpecs()[i%4]
		sp.name = fmt.Sprintf("%s%02d", sp.name, i)
		sp.backendErr = ""
		specs = append(specs, sp)
	}
	base := script(specs, 2, step)[1].stats
	for j := range base {
		// A real log holds the last 256 commands.
		recent := make([]engine.RecentCommand, 256)
		for k := range recent {
			recent[k] = base[j].Recent[k%len(base[j].Recent)]
		}
		base[j].Recent = recent
	}
	hists := make([][]engine.LatencyBucket, devs)
	for j := range hists {
		hists[j] = append([]engine.LatencyBucket(nil), base[j].LatencyHistogram...)
	}
	m := newModelOpts(nil, 120, 40, Options{Interval: step, Location: time.UTC})
	m.eng = &fakeEngine{}
	m.Init()
	msg := StatsMsg{id: m.id, gen: m.gen, Stats: make([]engine.DeviceStats, devs)}
	i := 0
	tick := func() {
		for j := range msg.Stats {
			s := base[j]
			at := t0.Add(time.Duration(i) * step)
			n := uint64(float64(i) * specs[j].iops(float64(i)/10) / 10)
			s.Time, s.Commands, s.ReadBytes, s.WriteBytes = at, n, n*2458, n*1638
			for k, lb := range base[j].LatencyHistogram {
				hists[j][k].Count = lb.Count * uint64(i+1)
			}
			s.LatencyHistogram = hists[j]
			msg.Stats[j] = s
		}
		i++
		m.Update(msg)
		_ = m.View()
	}
	for range 600 { // a minute of history first
		tick()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		tick()
	}
	nsPerTick := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(nsPerTick*10/1e9*100, "cpu%-at-10Hz")
}
