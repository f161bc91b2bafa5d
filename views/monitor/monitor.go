// Package monitor is the live face of the TCMU engine: a device list
// (IOPS, MB/s, in-flight, errors, state), the selected device's detail
// (IOPS and MB/s over the last minute, ring and data-area gauges, CHECK
// CONDITIONs by sense key, the latency histogram and p50/p99 of the last
// 10 s beside the all-time p99 and maximum, the opcode mix) and a log of
// its recent commands that can be paused.
//
// The Model polls Engine.Stats in a tea.Cmd a few times a second and
// computes rates from consecutive snapshots; Stats only copies counters,
// so the rings never wait for the screen. PrintOnce prints one reading
// for scripts (`monitor --once [--json]`).
package monitor

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/views"
)

// Polling intervals: 10 Hz to 4 Hz, 5 Hz unless told otherwise.
const (
	DefaultInterval = 200 * time.Millisecond
	MinInterval     = 100 * time.Millisecond
	MaxInterval     = 250 * time.Millisecond
)

// Options tune a monitor; the zero value is the default.
type Options struct {
	// Interval between two polls of Engine.Stats, clamped to
	// [MinInterval, MaxInterval]; 0 means DefaultInterval.
	Interval time.Duration
	// StatsTimeout bounds one Stats call (a daemon that does not answer);
	// 0 means 2s.
	StatsTimeout time.Duration
	// Location is the zone of the times shown; nil means time.Local.
	Location *time.Location
}

// TickMsg asks the monitor that sent it for a new snapshot. The root model
// must deliver it (and StatsMsg) to the monitor even while the monitor is
// hidden, or polling stops until its Init is called again.
type TickMsg struct{ id, gen uint64 }

// StatsMsg carries one Engine.Stats reading to the monitor that asked.
type StatsMsg struct {
	id, gen uint64
	Stats   []engine.DeviceStats
	Err     error
}

var lastID atomic.Uint64

// Model is the monitor face: it implements views.Pane.
type Model struct {
	views.Common
	eng  engine.Engine
	opts Options
	id   uint64
	gen  uint64

	fleet  *fleet
	list   listPane
	detail detailPane
	log    logPane

	got    bool      // a snapshot has arrived
	err    error     // the last Stats error, until a reading succeeds
	errAt  time.Time // the newest data shown when err happened
	frame  []string
	layout layout
	bx     *views.Boxes
}

var _ views.Pane = (*Model)(nil)

// New returns a monitor of eng (nil: none in this process) with the
// default options.
func New(c *views.Common, eng engine.Engine) *Model { return NewWithOptions(c, eng, Options{}) }

// NewWithOptions returns a monitor of eng with opts.
func NewWithOptions(c *views.Common, eng engine.Engine, opts Options) *Model {
	if opts.Interval == 0 {
		opts.Interval = DefaultInterval
	}
	opts.Interval = min(max(opts.Interval, MinInterval), MaxInterval)
	if opts.StatsTimeout <= 0 {
		opts.StatsTimeout = 2 * time.Second
	}
	if opts.Location == nil {
		opts.Location = time.Local
	}
	m := &Model{Common: *c, eng: eng, opts: opts, id: lastID.Add(1), fleet: newFleet(opts.Interval)}
	m.bx = views.NewBoxes(c.Styles.Border, c.Styles.Title)
	m.list = listPane{Common: *c, fleet: m.fleet, bx: m.bx}
	m.detail = detailPane{Common: *c, bx: m.bx}
	m.log = logPane{Common: *c, loc: opts.Location, bx: m.bx}
	m.SetSize(c.Width, c.Height)
	return m
}

// Init starts polling (or starts it again: readings of an earlier start
// are then ignored).
func (m *Model) Init() tea.Cmd {
	if m.eng == nil {
		return nil
	}
	m.gen++
	return m.fetch()
}

// fetch reads the engine's statistics, in a command.
func (m *Model) fetch() tea.Cmd {
	eng, id, gen, timeout := m.eng, m.id, m.gen, m.opts.StatsTimeout
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		st, err := eng.Stats(ctx)
		if err != nil {
			err = fmt.Errorf("stats: %w", err)
		}
		return StatsMsg{id: id, gen: gen, Stats: st, Err: err}
	}
}

func (m *Model) tick() tea.Cmd {
	id, gen := m.id, m.gen
	return tea.Tick(m.opts.Interval, func(time.Time) tea.Msg { return TickMsg{id: id, gen: gen} })
}

// Update handles readings, ticks and the monitor's keys.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case TickMsg:
		if msg.id != m.id || msg.gen != m.gen {
			return nil
		}
		return m.fetch()
	case StatsMsg:
		if msg.id != m.id || msg.gen != m.gen {
			return nil
		}
		m.apply(msg)
		return m.tick()
	case tea.KeyPressMsg:
		if ok, cmd := m.list.Update(msg); ok {
			m.log.follow(m.list.device())
			return cmd
		}
		_, cmd := m.log.Update(msg, m.list.device())
		return cmd
	}
	return nil
}

// apply takes a reading: on error the last data stays on screen.
func (m *Model) apply(msg StatsMsg) {
	if msg.Err != nil {
		m.err = msg.Err
		m.errAt = m.fleet.last
		return
	}
	m.err = nil
	m.got = true
	prev, n := m.list.selected(), len(m.fleet.devs)
	m.fleet.apply(msg.Stats)
	if len(m.fleet.devs) != n {
		m.relayout()
	}
	m.list.afterApply(prev)
	m.log.follow(m.list.device())
}

// Capturing is always false: the monitor takes no text input.
func (m *Model) Capturing() bool { return false }

// ShortHelp lists the monitor's keys for the help line.
func (m *Model) ShortHelp() []key.Binding {
	return []key.Binding{m.Keys.Up, m.Keys.Down, m.Keys.PageUp, m.Keys.PageDown, m.Keys.Pause}
}

// FullHelp lists the monitor's keys by column.
func (m *Model) FullHelp() [][]key.Binding {
	return [][]key.Binding{{m.Keys.Up, m.Keys.Down, m.Keys.Top, m.Keys.Bottom}, {m.Keys.PageUp, m.Keys.PageDown, m.Keys.Pause}}
}

// layout is the heights of the frames for a size and a device count; a
// zero height drops the frame.
type layout struct {
	list, detail, log int
	split             bool
}

func computeLayout(w, body, ndev int) layout {
	var l layout
	perList := 3
	switch {
	case body >= 30:
		perList = 8
	case body >= 20:
		perList = 4
	}
	l.list = min(max(ndev, 1), perList) + 3
	if l.list >= body {
		l.list = body
		return l
	}
	rest := body - l.list
	if rest < 4 {
		l.list = body
		return l
	}
	l.split = w >= 76
	want := 16
	if l.split {
		want = 9
		if body >= 30 {
			want = 14
		}
	}
	l.detail = min(rest, want)
	l.log = rest - l.detail
	if l.log < 5 {
		l.detail, l.log = rest, 0
	}
	return l
}

// SetSize sets the size the monitor draws in, help line excluded.
func (m *Model) SetSize(w, h int) {
	m.Width, m.Height = w, h
	m.relayout()
}

func (m *Model) relayout() {
	w, body := m.Width, m.Height-1
	l := computeLayout(w, body, len(m.fleet.devs))
	m.layout = l
	m.list.SetSize(w, l.list)
	m.detail.SetSize(w, l.detail)
	m.detail.split = l.split
	m.log.SetSize(w, l.log)
}

// View draws the monitor in exactly Width × Height cells.
func (m *Model) View() string {
	w, h := m.Width, m.Height
	if w <= 0 || h <= 0 {
		return ""
	}
	m.frame = m.frame[:0]
	body := h - 1
	if l := computeLayout(w, body, len(m.fleet.devs)); l != m.layout {
		m.relayout()
	}
	switch {
	case m.eng == nil:
		m.frame = append(m.frame, m.message(body,
			"No TCMU engine runs in this process, so there is nothing to monitor.",
			"Run `tcmsh monitor` or `tcmsh demo` from the command line.")...)
	case !m.got && m.err == nil:
		m.frame = append(m.frame, m.message(body, "Waiting for the first statistics snapshot…")...)
	case !m.got:
		m.frame = append(m.frame, m.message(body,
			"Cannot read the TCMU engine's statistics:",
			"the status line below says why. Retrying.")...)
	case len(m.fleet.devs) == 0:
		m.frame = append(m.frame, m.message(body,
			"No TCMU devices are served by this process.",
			"",
			"Create one in the shell, for example",
			"  /backstores/user:ram create r1 64M",
			"or run `tcmsh demo` for a small living system.")...)
	default:
		d := m.list.device()
		if m.layout.list > 0 {
			m.frame = m.list.render(m.frame)
		}
		if m.layout.detail > 0 {
			m.frame = m.detail.render(m.frame, d)
		}
		if m.layout.log > 0 {
			m.frame = m.log.render(m.frame, d)
		}
	}
	if len(m.frame) > body {
		m.frame = m.frame[:body]
	}
	for len(m.frame) < body {
		m.frame = append(m.frame, "")
	}
	m.frame = append(m.frame, m.status())
	return views.FitBlock(m.frame, w, h)
}

// message is a frame filling the body with a few lines of text.
func (m *Model) message(body int, text ...string) []string {
	lines := make([]string, 0, len(text)+1)
	lines = append(lines, "")
	for _, t := range text {
		lines = append(lines, "  "+t)
	}
	return m.bx.Box(nil, "TCMU monitor", lines, m.Width, body)
}

// status is the bottom line: what is shown and how fresh, or why the last
// reading failed.
func (m *Model) status() string {
	hz := fmt.Sprintf("%g Hz", float64(time.Second)/float64(m.opts.Interval))
	right := ""
	if m.log.paused {
		right = "log paused"
	}
	var left string
	switch {
	case m.err != nil && m.errAt.IsZero():
		left = m.Styles.StatusErr.Render("retrying · " + m.err.Error())
	case m.err != nil:
		left = m.Styles.StatusErr.Render(fmt.Sprintf("stale since %s, retrying · %v", m.errAt.In(m.opts.Location).Format("15:04:05"), m.err))
	case m.got && m.fleet.last.IsZero():
		left = m.Styles.Status.Render(fmt.Sprintf("%s · %s", devices(len(m.fleet.devs)), hz))
	case m.got:
		left = m.Styles.Status.Render(fmt.Sprintf("%s · %s · %s", devices(len(m.fleet.devs)), hz, m.fleet.last.In(m.opts.Location).Format("15:04:05")))
	default:
		left = m.Styles.Status.Render(hz)
	}
	if lost := m.backendsLost(); lost != "" && m.err == nil {
		left += m.Styles.StatusErr.Render(" · " + lost)
	}
	if right == "" {
		return left
	}
	lw := m.Width - len([]rune(right)) - 1
	return views.Fit(left, lw) + " " + m.Styles.Status.Render(right)
}

// backendsLost names the devices whose storage is unreachable, for the
// status line: it matters even when another device is selected.
func (m *Model) backendsLost() string {
	first, n := "", 0
	for _, d := range m.fleet.devs {
		if d.cur.BackendError != "" {
			if n == 0 {
				first = strings.TrimPrefix(d.cur.Path, "/backstores/")
			}
			n++
		}
	}
	switch n {
	case 0:
		return ""
	case 1:
		return "backend lost: " + first
	}
	return fmt.Sprintf("backend lost: %s and %d more", first, n-1)
}

func devices(n int) string {
	if n == 1 {
		return "1 device"
	}
	return fmt.Sprintf("%d devices", n)
}
