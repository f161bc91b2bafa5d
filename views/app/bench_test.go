package app

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/tcmsh/tcmsh/views"
)

// BenchmarkRootFrame measures what the root model adds to each frame of
// a pane (routing a message to both panes, the title bar, the help line,
// fitting the pane's 120×40 styled view). cpu%-at-10Hz is the share of
// one core ten frames a second take; the monitor's own cost is
// BenchmarkMonitor16Devices in views/monitor.
func BenchmarkRootFrame(b *testing.B) {
	c := &views.Common{Styles: views.NewStyles(true), Keys: views.DefaultKeyMap()}
	row := c.Styles.Selected.Render(strings.Repeat("x", 40)) + c.Styles.Dim.Render(strings.Repeat("y", 80))
	view := strings.TrimSuffix(strings.Repeat(row+"\n", 38), "\n")
	mon := &staticPane{fakePane: fakePane{Common: *c, name: FaceMonitor}, view: view}
	m := New(c, &fakePane{Common: *c, name: FaceBrowser}, mon, FaceMonitor, "simulated kernel")
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	b.ReportAllocs()
	for b.Loop() {
		m.Update(tickMsg{})
		_ = m.View()
	}
	perFrame := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perFrame*10/1e9*100, "cpu%-at-10Hz")
}

// staticPane draws a fixed view.
type staticPane struct {
	fakePane
	view string
}

func (p *staticPane) View() string { return p.view }
