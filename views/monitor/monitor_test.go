package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/internal/golden"
	"github.com/tcmsh/tcmsh/internal/keypress"
	"github.com/tcmsh/tcmsh/views"
)

func selectedPath(m *Model) string {
	if d := m.list.device(); d != nil {
		return d.cur.Path
	}
	return ""
}

func TestSelectionMoves(t *testing.T) {
	f := &fakeEngine{}
	f.push(script(busySpecs(), 3, 200*time.Millisecond)...)
	m := newModel(f, 80, 24)
	poll(t, m, 3)
	for _, step := range []struct {
		name string
		keys []any
		want string
	}{
		{"start", nil, "/backstores/user:fault/slow"},
		{"down", []any{keyDown}, "/backstores/user:file/f1"},
		{"j", []any{keypress.Msg("j")}, "/backstores/user:ram/r1"},
		{"up", []any{keyUp}, "/backstores/user:file/f1"},
		{"end", []any{keyEnd}, "/backstores/user:rbd/img1"},
		{"down at the bottom stays", []any{keyDown}, "/backstores/user:rbd/img1"},
		{"home", []any{keyHome}, "/backstores/user:fault/slow"},
		{"up at the top stays", []any{keyUp, keypress.Msg("k")}, "/backstores/user:fault/slow"},
	} {
		for _, k := range step.keys {
			m.Update(k)
		}
		if got := selectedPath(m); got != step.want {
			t.Fatalf("%s: selected %s, want %s", step.name, got, step.want)
		}
		view := ansi.Strip(m.View())
		short := strings.TrimPrefix(step.want, "/backstores/")
		if !strings.Contains(view, "▸ "+short) || !strings.Contains(view, "─ "+short+" · ") {
			t.Fatalf("%s: the view does not show %s selected and in the detail:\n%s", step.name, short, view)
		}
	}
}

func TestSelectionStaysOnItsDeviceAsOthersComeAndGo(t *testing.T) {
	specs := busySpecs()
	all := script(specs, 2, time.Second)
	f := &fakeEngine{}
	f.push(all...)
	m := newModel(f, 80, 24)
	poll(t, m, 2)
	press(m, keyDown, keyDown) // r1
	// The fault device goes away: r1 moves up a row but stays selected.
	f.push(reading{stats: script(specs[1:], 3, time.Second)[2].stats})
	poll(t, m, 1)
	if got := selectedPath(m); got != "/backstores/user:ram/r1" {
		t.Fatalf("after a device before it went away the selection is %s, want r1", got)
	}
	// r1 itself goes away: the selection takes the device now in its row.
	f.push(reading{stats: []engine.DeviceStats{all[1].stats[1], all[1].stats[3]}})
	poll(t, m, 1)
	if got := selectedPath(m); got != "/backstores/user:rbd/img1" {
		t.Fatalf("after the selected device went away the selection is %s, want the rbd image in its row", got)
	}
	// Everything goes: the empty state, and no selection.
	f.push(reading{stats: []engine.DeviceStats{}})
	poll(t, m, 1)
	if got := selectedPath(m); got != "" {
		t.Fatalf("with no devices the selection is %s", got)
	}
	if v := ansi.Strip(m.View()); !strings.Contains(v, "No TCMU devices are served by this process") || !strings.Contains(v, "tcmsh demo") {
		t.Fatalf("the empty state lacks its message and hint:\n%s", v)
	}
	press(m, keyDown, keyUp, keyEnd) // no devices: nothing to move, nothing breaks
}

func TestPauseFreezesTheLog(t *testing.T) {
	for _, pause := range []any{keyP, keySpace} {
		f := &fakeEngine{}
		f.push(script(busySpecs(), 30, 200*time.Millisecond)...)
		m := newModel(f, 120, 40)
		poll(t, m, 10)
		press(m, keyEnd)
		m.Update(pause)
		if !m.log.paused {
			t.Fatalf("%v did not pause the log", pause)
		}
		frozen := append([]engine.RecentCommand(nil), m.log.entries(m.list.device())...)
		before := m.list.device().commands
		poll(t, m, 10)
		d := m.list.device()
		if live := d.cur.Recent; live[len(live)-1].Finished.Equal(frozen[len(frozen)-1].Finished) {
			t.Fatal("the script did not move the log on: the test proves nothing")
		}
		got := m.log.entries(d)
		if len(got) != len(frozen) || !got[len(got)-1].Finished.Equal(frozen[len(frozen)-1].Finished) {
			t.Fatal("the paused log changed")
		}
		view := ansi.Strip(m.View())
		want := "paused, " + itoa(d.commands-before) + " new"
		if d.commands == before || !strings.Contains(view, want) {
			t.Fatalf("the paused log's title lacks %q:\n%s", want, view)
		}
		if !strings.Contains(view, frozen[len(frozen)-1].Finished.Format("15:04:05.000")) {
			t.Fatalf("the paused log does not show the frozen entries:\n%s", view)
		}
		m.Update(pause)
		if m.log.paused || !m.log.entries(d)[len(d.cur.Recent)-1].Finished.Equal(d.cur.Recent[len(d.cur.Recent)-1].Finished) {
			t.Fatal("resuming did not bring the log back to the newest commands")
		}
		if strings.Contains(ansi.Strip(m.View()), "paused") {
			t.Fatal("the view still says paused after resuming")
		}
	}
}

func TestPageUpDownScrollTheLog(t *testing.T) {
	f := &fakeEngine{}
	f.push(script(busySpecs(), 5, 200*time.Millisecond)...)
	m := newModel(f, 80, 24)
	poll(t, m, 5)
	recent := m.list.device().cur.Recent
	newest := recent[len(recent)-1]
	view := ansi.Strip(m.View())
	if !strings.Contains(view, itoa(newest.LBA)) {
		t.Fatalf("the log does not end with the newest command (LBA %d):\n%s", newest.LBA, view)
	}
	press(m, keyPgUp)
	view = ansi.Strip(m.View())
	if strings.Contains(view, " "+itoa(newest.LBA)+" ") || !strings.Contains(view, "newer below") {
		t.Fatalf("page up did not scroll back:\n%s", view)
	}
	for range 20 {
		press(m, keyPgUp) // scrolling stops at the oldest entry
	}
	if !strings.Contains(ansi.Strip(m.View()), itoa(recent[0].LBA)) {
		t.Fatal("paging all the way up does not show the oldest command")
	}
	for range 20 {
		press(m, keyPgDn)
	}
	if m.log.scroll != 0 || !strings.Contains(ansi.Strip(m.View()), itoa(newest.LBA)) {
		t.Fatal("paging all the way down does not come back to the newest command")
	}
}

func TestRatesAcrossACounterReset(t *testing.T) {
	snap := func(sec int, commands, bytes uint64) reading {
		return reading{stats: []engine.DeviceStats{{
			Path: "/backstores/user:ram/r1", ConfigPath: "target/core/user_0/r1", Up: true,
			Commands: commands, ReadBytes: bytes / 2, WriteBytes: bytes - bytes/2,
			Time: t0.Add(time.Duration(sec) * time.Second),
		}}}
	}
	f := &fakeEngine{}
	f.push(
		snap(0, 1000, 4_000_000),
		snap(1, 3000, 12_000_000), // +2000 in 1s
		snap(3, 4000, 16_000_000), // +1000 in 2s
		snap(4, 300, 1_200_000),   // a restarted daemon: counting again from 0
		snap(5, 800, 3_200_000),   // +500
		snap(5, 800, 3_200_000),   // the same snapshot again: no new rate
	)
	m := newModel(f, 80, 24)
	want := []struct {
		rated      bool
		iops, mbps float64
		commands   uint64
	}{
		{false, 0, 0, 0},
		{true, 2000, 8, 2000},
		{true, 500, 2, 3000},
		{true, 300, 1.2, 3300},
		{true, 500, 2, 3800},
		{true, 500, 2, 3800},
	}
	for i, w := range want {
		poll(t, m, 1)
		d := m.fleet.devs[0]
		if d.rated != w.rated || math.Abs(d.iops-w.iops) > 1e-9 || math.Abs(d.mbps-w.mbps) > 1e-9 || d.commands != w.commands {
			t.Errorf("snapshot %d: rated %v, %.3f IOPS, %.3f MB/s, %d commands; want %v, %.3f, %.3f, %d",
				i, d.rated, d.iops, d.mbps, d.commands, w.rated, w.iops, w.mbps, w.commands)
		}
	}
	if n := m.fleet.devs[0].hist.n; n != 4 {
		t.Errorf("history has %d samples, want 4 (one per new snapshot after the first)", n)
	}
}

func TestANewDeviceHasNoRateUntilItsSecondSnapshot(t *testing.T) {
	specs := busySpecs()
	f := &fakeEngine{}
	f.push(script(specs[:1], 2, time.Second)...)
	f.push(script(specs[:2], 4, time.Second)[2:]...)
	m := newModel(f, 80, 24)
	poll(t, m, 3)
	if d := m.fleet.devs[1]; d.rated {
		t.Fatal("a device seen once has a rate")
	}
	if !strings.Contains(ansi.Strip(m.list.View()), "user:file/f1                           up            -       -") {
		t.Fatalf("a device seen once does not show '-' for its rates:\n%s", ansi.Strip(m.list.View()))
	}
	poll(t, m, 1)
	if d := m.fleet.devs[1]; !d.rated || d.iops <= 0 {
		t.Fatalf("after its second snapshot the new device has rated=%v iops=%v", d.rated, d.iops)
	}
}

func TestAStatsErrorKeepsTheDataAndPolling(t *testing.T) {
	f := &fakeEngine{}
	f.push(script(busySpecs(), 5, 200*time.Millisecond)...)
	f.push(reading{err: errors.New("connection refused")}, reading{err: errors.New("connection refused")})
	f.push(script(busySpecs(), 8, 200*time.Millisecond)[5:]...)
	m := newModel(f, 80, 24)
	poll(t, m, 7) // poll fails if an error stops the polling
	if m.err == nil || len(m.fleet.devs) != 4 {
		t.Fatalf("after failing reads: err %v, %d devices kept", m.err, len(m.fleet.devs))
	}
	view := ansi.Strip(m.View())
	if !strings.Contains(view, "stale since 12:00:00, retrying · stats: connection refused") || !strings.Contains(view, "user:ram/r1") {
		t.Fatalf("the view does not keep the data and show the error:\n%s", view)
	}
	poll(t, m, 1)
	if m.err != nil || strings.Contains(ansi.Strip(m.View()), "refused") {
		t.Fatal("a good reading did not clear the error")
	}
}

func TestReadingsOfAnEarlierStartAreIgnored(t *testing.T) {
	f := &fakeEngine{}
	f.push(script(busySpecs(), 2, time.Second)...)
	m := newModel(f, 80, 24)
	old := m.Init()().(StatsMsg)
	m.Init() // started again (the root showed the monitor anew)
	if cmd := m.Update(old); cmd != nil || m.got {
		t.Fatal("a reading of the earlier start was applied")
	}
	if cmd := m.Update(TickMsg{id: m.id, gen: m.gen - 1}); cmd != nil {
		t.Fatal("a tick of the earlier start started a read: two polling loops")
	}
	other := newModel(f, 80, 24)
	if cmd := other.Update(TickMsg{id: m.id, gen: m.gen}); cmd != nil {
		t.Fatal("a monitor acted on another monitor's tick")
	}
}

func TestHistoryNeverGrows(t *testing.T) {
	f := &fakeEngine{}
	f.push(script(busySpecs()[:1], 1000, 100*time.Millisecond)...)
	m := newModelOpts(f, 80, 24, Options{Interval: 100 * time.Millisecond, Location: time.UTC})
	poll(t, m, 1000)
	h := &m.fleet.devs[0].hist
	if len(h.buf) != int(window/(100*time.Millisecond))+8 || h.n != len(h.buf) {
		t.Fatalf("history of %d samples holds %d after 1000 readings", len(h.buf), h.n)
	}
	if got := h.at(h.n - 1).t; got != t0.Add(999*100*time.Millisecond).UnixNano() {
		t.Fatalf("the newest sample is at %v", time.Unix(0, got).UTC())
	}
}

func TestSparkline(t *testing.T) {
	h := newHistory(16)
	now := t0.Add(time.Minute)
	// Six samples: 10 s apart, the last at now, IOPS 0 to 700 step 140;
	// 12 columns of 5 s, the last sample in the last column.
	for i := range 6 {
		h.add(sample{t: now.Add(-time.Duration(50-10*i) * time.Second).UnixNano(), iops: float64(i) * 140})
	}
	var b strings.Builder
	cols, cnt := make([]float64, 12), make([]int32, 12)
	peak := spark(&b, &h, false, now.UnixNano(), 12, cols, cnt)
	if got, want := b.String(), "  ▁ ▂ ▄ ▅ ▇█"; got != want || peak != 700 {
		t.Fatalf("spark = %q (peak %v), want %q (peak 700)", got, peak, want)
	}

	// Two samples in the last column, 820 then 952 (the current value):
	// the column shows their mean, "max" is the highest sample, not 886.
	h.add(sample{t: now.Add(time.Second).UnixNano(), iops: 820})
	h.add(sample{t: now.Add(2 * time.Second).UnixNano(), iops: 952})
	b.Reset()
	if peak := spark(&b, &h, false, now.Add(2*time.Second).UnixNano(), 12, cols, cnt); peak != 952 {
		t.Fatalf("spark's max = %v with the current sample at 952 (%q)", peak, b.String())
	}
}

func TestGauge(t *testing.T) {
	st := newModel(nil, 80, 24).Styles
	for _, tc := range []struct {
		used, peak, size uint64
		want             string
	}{
		{0, 0, 100, "░░░░░░░░░░"},
		{50, 80, 100, "█████░░░│░"},
		{1, 1, 100, "█░░░░░░░░░"},
		{100, 100, 100, "██████████"},
		{5, 9, 0, "░░░░░░░░░░"},
	} {
		if got := ansi.Strip(gauge(st.GaugeFull, st.GaugeEmpty, tc.used, tc.peak, tc.size, 10)); got != tc.want {
			t.Errorf("gauge(%d, %d, %d) = %q, want %q", tc.used, tc.peak, tc.size, got, tc.want)
		}
	}
}

// TestViewIsExactlyItsSizeAtAnySize draws every state at sizes from tiny
// to large: never wider or taller than given, never a panic.
func TestViewIsExactlyItsSizeAtAnySize(t *testing.T) {
	f := &fakeEngine{}
	f.push(script(busySpecs(), 30, 200*time.Millisecond)...)
	m := newModel(f, 80, 24)
	poll(t, m, 30)
	press(m, keyEnd, keyP)
	empty := newModel(&fakeEngine{}, 80, 24)
	poll(t, empty, 1)
	for _, mm := range []*Model{m, empty, newModel(nil, 80, 24)} {
		for w := 1; w <= 130; w += 7 {
			for h := 1; h <= 45; h += 4 {
				mm.SetSize(w, h)
				lines := strings.Split(mm.View(), "\n")
				if len(lines) != h {
					t.Fatalf("%d×%d: %d lines", w, h, len(lines))
				}
				for i, l := range lines {
					if ansi.StringWidth(l) != w {
						t.Fatalf("%d×%d: line %d is %d wide: %q", w, h, i, ansi.StringWidth(l), ansi.Strip(l))
					}
				}
			}
		}
	}
}

func TestNoEngine(t *testing.T) {
	m := newModel(nil, 80, 24)
	if m.Init() != nil {
		t.Fatal("a monitor without an engine polls")
	}
	if v := ansi.Strip(m.View()); !strings.Contains(v, "No TCMU engine runs in this process") {
		t.Fatalf("no engine, no message:\n%s", v)
	}
}

func TestPrintOnce(t *testing.T) {
	defer func(d time.Duration) { OnceInterval = d }(OnceInterval)
	OnceInterval = 0
	specs := busySpecs()
	readings := script(specs, 300, 200*time.Millisecond)
	f := &fakeEngine{}
	f.push(readings[294], readings[299]) // one second apart; the RBD backend is lost by then

	var text bytes.Buffer
	if err := PrintOnce(t.Context(), f, &text, false); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "once.txt.golden", text.String())

	f.calls = 0
	var js bytes.Buffer
	if err := PrintOnce(t.Context(), f, &js, true); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatalf("JSON output: %v\n%s", err, js.String())
	}
	if len(got) != 4 {
		t.Fatalf("%d devices in the JSON output, want 4", len(got))
	}
	for _, k := range []string{"path", "up", "iops", "mbps", "inflight", "errors", "lat_p50_us", "lat_p99_us", "lat_max_us",
		"ring_used_bytes", "ring_size_bytes", "data_used_bytes", "data_size_bytes"} {
		if _, ok := got[0][k]; !ok {
			t.Errorf("the JSON objects lack %q: %v", k, got[0])
		}
	}
	r1 := got[2]
	before, after := readings[294].stats[2], readings[299].stats[2]
	if want := float64(after.Commands - before.Commands); r1["path"] != "/backstores/user:ram/r1" || math.Abs(r1["iops"].(float64)-want) > 1e-6 {
		t.Errorf("r1: %v, want %v IOPS", r1, want)
	}
	if got[3]["backend_error"] != specs[3].backendErr {
		t.Errorf("the RBD image's backend_error is %v", got[3]["backend_error"])
	}

	// Errors and the empty case.
	f = &fakeEngine{}
	f.push(reading{err: errors.New("connection refused")})
	if err := PrintOnce(t.Context(), f, &text, false); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("a failing Stats gave %v", err)
	}
	f = &fakeEngine{}
	f.push(reading{stats: []engine.DeviceStats{}})
	js.Reset()
	if err := PrintOnce(t.Context(), f, &js, true); err != nil || strings.TrimSpace(js.String()) != "[]" {
		t.Errorf("no devices as JSON: %q, %v", js.String(), err)
	}
	text.Reset()
	if err := PrintOnce(t.Context(), f, &text, false); err != nil || !strings.Contains(text.String(), "No TCMU devices") {
		t.Errorf("no devices as text: %q, %v", text.String(), err)
	}
	if err := PrintOnce(t.Context(), nil, &text, false); err == nil {
		t.Error("no engine: no error")
	}
}

func TestWidthAgreesWithAnsi(t *testing.T) {
	st := newModel(nil, 80, 24).Styles
	for _, s := range []string{"", "plain", "µs · ▸ ╭─╮ │ ▁▂█░ … –", st.Err.Render("CHECK CONDITION ·") + " x",
		"wide 日本", "emoji ☕⌚◾", "e\u0301", st.Selected.Render("▸ user:ram/r1")} {
		if got, want := views.Width(s), ansi.StringWidth(s); got != want {
			t.Errorf("views.Width(%q) = %d, ansi.StringWidth = %d", s, got, want)
		}
	}
}

func TestNoColourMeansNoColourSequences(t *testing.T) {
	f := &fakeEngine{}
	f.push(script(busySpecs(), 300, 200*time.Millisecond)...)
	m := newModel(f, 120, 40)
	m.Styles = views.NewStyles(false)
	m = NewWithOptions(&m.Common, f, Options{Location: time.UTC})
	poll(t, m, 300)
	press(m, keyEnd)
	v := m.View()
	for _, seq := range []string{"[3", "[4", "[9", ";3", ";4", ";9"} {
		if strings.Contains(v, "\x1b"+seq) || strings.Contains(v, seq+"8;") {
			t.Fatalf("with colours off the view holds a colour sequence (%q)", seq)
		}
	}
	if !strings.Contains(v, "\x1b[7m") && !strings.Contains(v, ";7m") {
		t.Fatal("with colours off the selected device is not in reverse video")
	}
}

func TestPollingIntervalAndTimeout(t *testing.T) {
	for _, tc := range []struct{ in, want time.Duration }{
		{0, 200 * time.Millisecond}, {50 * time.Millisecond, 100 * time.Millisecond},
		{125 * time.Millisecond, 125 * time.Millisecond}, {time.Second, 250 * time.Millisecond},
	} {
		m := newModelOpts(nil, 80, 24, Options{Interval: tc.in})
		if m.opts.Interval != tc.want {
			t.Errorf("Interval %v: polls every %v, want %v (4 to 10 Hz)", tc.in, m.opts.Interval, tc.want)
		}
	}
	f := &deadlineEngine{}
	m := newModelOpts(f, 80, 24, Options{StatsTimeout: 3 * time.Second})
	before := time.Now()
	m.Init()()
	if f.deadline.Before(before.Add(3*time.Second)) || f.deadline.After(time.Now().Add(3*time.Second)) {
		t.Errorf("Stats ran with deadline %v, want 3s after the call", f.deadline)
	}
}

// deadlineEngine records the deadline Stats is given.
type deadlineEngine struct {
	fakeEngine
	deadline time.Time
}

func (f *deadlineEngine) Stats(ctx context.Context) ([]engine.DeviceStats, error) {
	f.deadline, _ = ctx.Deadline()
	return nil, nil
}
