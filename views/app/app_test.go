package app

import (
	"fmt"
	"strings"
	"testing"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/tcmsh/tcmsh/internal/golden"
	"github.com/tcmsh/tcmsh/internal/keypress"
	"github.com/tcmsh/tcmsh/views"
)

// fakePane is a views.Pane that draws its name, its size and what it
// received, so that the root's routing and layout show in its view.
type fakePane struct {
	views.Common
	name      string
	keys      []string // key presses received
	ticks     int      // tickMsg received
	capturing bool
	inited    bool
	overdraw  bool // draws wider and taller than its size
}

type tickMsg struct{}

func (p *fakePane) Init() tea.Cmd {
	p.inited = true
	return nil
}

func (p *fakePane) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		p.keys = append(p.keys, msg.String())
	case tickMsg:
		p.ticks++
	}
	return nil
}

func (p *fakePane) View() string {
	w, h := p.Width, p.Height
	if p.overdraw {
		w, h = w+5, h+3
	}
	lines := make([]string, h)
	for i := range lines {
		lines[i] = strings.Repeat(".", w)
	}
	lines[0] = fmt.Sprintf("%s %dx%d keys=%s ticks=%d", p.name, p.Width, p.Height, strings.Join(p.keys, ","), p.ticks)
	if p.overdraw {
		lines[0] += strings.Repeat("#", w)
	}
	return strings.Join(lines, "\n")
}

func (p *fakePane) SetSize(w, h int) { p.Width, p.Height = w, h }
func (p *fakePane) Capturing() bool  { return p.capturing }
func (p *fakePane) ShortHelp() []key.Binding {
	if p.capturing {
		return []key.Binding{p.Keys.Submit, p.Keys.Cancel}
	}
	if p.name == FaceMonitor {
		return []key.Binding{p.Keys.Up, p.Keys.Down, p.Keys.PageUp, p.Keys.PageDown, p.Keys.Pause}
	}
	return []key.Binding{p.Keys.Up, p.Keys.Down, p.Keys.Expand, p.Keys.Filter, p.Keys.Create}
}
func (p *fakePane) FullHelp() [][]key.Binding {
	k := p.Keys
	return [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown}, {k.Expand, k.Collapse, k.Filter, k.Jump}, {k.Edit, k.Create, k.Delete, k.Toggle, k.Save}}
}

func newTestModel(start string) (*Model, *fakePane, *fakePane) {
	c := &views.Common{Styles: views.NewStyles(false), Keys: views.DefaultKeyMap()}
	b := &fakePane{Common: *c, name: FaceBrowser}
	mon := &fakePane{Common: *c, name: FaceMonitor}
	return New(c, b, mon, start, "simulated kernel"), b, mon
}

func press(m *Model, keys ...string) {
	for _, k := range keys {
		m.Update(keypress.Msg(k))
	}
}

func isQuit(cmd tea.Cmd) bool {
	if cmd == nil {
		return false
	}
	_, ok := cmd().(tea.QuitMsg)
	return ok
}

// checkSize asserts the screen is exactly w × h cells.
func checkSize(t *testing.T, screen string, w, h int) {
	t.Helper()
	lines := strings.Split(ansi.Strip(screen), "\n")
	if len(lines) != h {
		t.Errorf("screen has %d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if n := ansi.StringWidth(l); n != w {
			t.Errorf("line %d is %d cells wide, want %d: %q", i, n, w, l)
		}
	}
}

func TestViewGolden(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start string
		w, h  int
		setup func(m *Model, b, mon *fakePane)
	}{
		{name: "browser_80x24", start: FaceBrowser, w: 80, h: 24},
		{name: "monitor_120x40", start: FaceMonitor, w: 120, h: 40},
		{name: "monitor_80x24", start: FaceMonitor, w: 80, h: 24},
		{name: "narrow_60x20", start: FaceMonitor, w: 60, h: 20},
		{name: "tiny_24x6", start: FaceBrowser, w: 24, h: 6},
		{name: "fullhelp_80x24", start: FaceBrowser, w: 80, h: 24, setup: func(m *Model, _, _ *fakePane) { press(m, "?") }},
		{name: "capturing_80x24", start: FaceBrowser, w: 80, h: 24, setup: func(_ *Model, b, _ *fakePane) { b.capturing = true }},
		{name: "overdraw_80x24", start: FaceBrowser, w: 80, h: 24, setup: func(_ *Model, b, _ *fakePane) { b.overdraw = true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, b, mon := newTestModel(tc.start)
			m.Update(tea.WindowSizeMsg{Width: tc.w, Height: tc.h})
			if tc.setup != nil {
				tc.setup(m, b, mon)
			}
			v := m.View()
			if !v.AltScreen {
				t.Error("the view is not on the alternate screen")
			}
			checkSize(t, v.Content, tc.w, tc.h)
			golden.Check(t, tc.name+".golden", ansi.Strip(v.Content))
		})
	}
}

func TestSwitchingFacesAndRouting(t *testing.T) {
	m, b, mon := newTestModel("")
	m.Init()
	if !b.inited || !mon.inited {
		t.Error("Init did not start both panes")
	}
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	if b.Width != 100 || b.Height != 28 || mon.Width != 100 || mon.Height != 28 {
		t.Errorf("sizes after resize: browser %dx%d, monitor %dx%d; want 100x28 (title and help lines taken)", b.Width, b.Height, mon.Width, mon.Height)
	}
	if m.Face() != FaceBrowser {
		t.Fatalf("starts on %s, want the browser", m.Face())
	}
	press(m, "j", "m", "j", "k", "b", "l")
	if got := strings.Join(b.keys, ","); got != "j,l" {
		t.Errorf("browser got keys %s, want j,l", got)
	}
	if got := strings.Join(mon.keys, ","); got != "j,k" {
		t.Errorf("monitor got keys %s, want j,k", got)
	}
	// The monitor's own messages reach it while the browser is shown.
	m.Update(tickMsg{})
	m.Update(tickMsg{})
	if mon.ticks != 2 || b.ticks != 2 {
		t.Errorf("ticks: monitor %d, browser %d; want both 2", mon.ticks, b.ticks)
	}
	// Resize again: both panes follow, visible or not.
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	if b.Height != 22 || mon.Height != 22 || mon.Width != 80 {
		t.Errorf("after the second resize: browser %dx%d, monitor %dx%d", b.Width, b.Height, mon.Width, mon.Height)
	}
	// The full help takes more lines: the panes shrink, and grow back.
	press(m, "?")
	if b.Height >= 22 || mon.Height != b.Height {
		t.Errorf("full help: panes %d and %d lines high", b.Height, mon.Height)
	}
	press(m, "m")
	if mon.Height != m.paneHeight() || b.Height != mon.Height {
		t.Errorf("full help on the monitor: panes %d and %d lines high, want %d", b.Height, mon.Height, m.paneHeight())
	}
	press(m, "?")
	if b.Height != 22 || mon.Height != 22 {
		t.Errorf("help closed: panes %d and %d lines high, want 22", b.Height, mon.Height)
	}
}

func TestQuitAndCapturing(t *testing.T) {
	m, b, _ := newTestModel(FaceBrowser)
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	b.capturing = true
	for _, k := range []string{"q", "m", "?", "b"} {
		_, cmd := m.Update(keypress.Msg(k))
		if isQuit(cmd) {
			t.Fatalf("%s quit while the pane was taking text", k)
		}
	}
	if m.Face() != FaceBrowser || m.help.ShowAll {
		t.Errorf("global keys acted while capturing: face %s, full help %v", m.Face(), m.help.ShowAll)
	}
	if got := strings.Join(b.keys, ","); got != "q,m,?,b" {
		t.Errorf("the capturing pane got %s, want every key", got)
	}
	if h := ansi.Strip(m.helpView()); strings.Contains(h, "quit") {
		t.Errorf("help line lists quit while capturing: %q", h)
	}
	if _, cmd := m.Update(keypress.Msg("ctrl+c")); !isQuit(cmd) {
		t.Error("ctrl+c did not quit while the pane was taking text")
	}
	b.capturing = false
	if _, cmd := m.Update(keypress.Msg("q")); !isQuit(cmd) {
		t.Error("q did not quit")
	}
	if _, cmd := m.Update(keypress.Msg("ctrl+c")); !isQuit(cmd) {
		t.Error("ctrl+c did not quit")
	}
}

func TestHelpLineFollowsTheVisiblePane(t *testing.T) {
	m, _, _ := newTestModel(FaceMonitor)
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 30})
	h := ansi.Strip(m.helpView())
	for _, want := range []string{"pause log", "browser", "help", "quit"} {
		if !strings.Contains(h, want) {
			t.Errorf("monitor help line %q lacks %q", h, want)
		}
	}
	press(m, "b")
	h = ansi.Strip(m.helpView())
	for _, want := range []string{"filter", "create", "monitor", "quit"} {
		if !strings.Contains(h, want) {
			t.Errorf("browser help line %q lacks %q", h, want)
		}
	}
}

func TestZeroSizeRendersNothing(t *testing.T) {
	m, _, _ := newTestModel(FaceBrowser)
	if got := m.Render(); got != "" {
		t.Errorf("before the first WindowSizeMsg: %q", got)
	}
}
