package monitor

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/scsi"
	"github.com/tcmsh/tcmsh/views"
)

// logPane is the log of the selected device's recent commands, newest at
// the bottom. Pause freezes it (new commands are still counted and shown
// as "paused, N new"); PageUp/PageDown scroll it.
type logPane struct {
	views.Common
	loc *time.Location
	bx  *views.Boxes

	paused bool
	frozen []engine.RecentCommand // the log as it was when paused
	dev    string                 // the device frozen
	base   uint64                 // its command count when frozen
	scroll int                    // rows scrolled back from the newest
}

func (p *logPane) SetSize(w, h int) { p.Width, p.Height = w, h }

func (p *logPane) page() int { return max(p.Height-3, 1) }

// freeze keeps d's log as it is now.
func (p *logPane) freeze(d *device) {
	p.frozen = p.frozen[:0]
	p.dev, p.base = "", 0
	if d != nil {
		p.frozen = append(p.frozen, d.cur.Recent...)
		p.dev, p.base = d.key, d.commands
	}
}

// follow re-freezes the log on the selected device if it changed while
// paused.
func (p *logPane) follow(d *device) {
	if p.paused && d != nil && d.key != p.dev {
		p.freeze(d)
		p.scroll = 0
	}
}

// Update handles Pause and scrolling for the selected device d; it
// reports whether the key was its own.
func (p *logPane) Update(msg tea.Msg, d *device) (bool, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return false, nil
	}
	switch {
	case key.Matches(k, p.Keys.Pause):
		p.paused = !p.paused
		if p.paused {
			p.freeze(d)
		} else {
			p.scroll = 0
		}
	case key.Matches(k, p.Keys.PageUp):
		p.scroll += p.page()
	case key.Matches(k, p.Keys.PageDown):
		p.scroll = max(p.scroll-p.page(), 0)
	default:
		return false, nil
	}
	return true, nil
}

// entries is what the log shows for d.
func (p *logPane) entries(d *device) []engine.RecentCommand {
	if p.paused {
		return p.frozen
	}
	if d == nil {
		return nil
	}
	return d.cur.Recent
}

// View renders the log of the selected device d in Width × Height.
func (p *logPane) View(d *device) string { return strings.Join(p.render(nil, d), "\n") }

// render appends the lines of View to out.
func (p *logPane) render(out []string, d *device) []string {
	st := p.Styles
	rows := p.Height - 3
	all := p.entries(d)
	p.scroll = min(p.scroll, max(len(all)-rows, 0))
	end := len(all) - p.scroll
	start := max(end-rows, 0)

	row := func(t, op, lba, length, lat, status string) string {
		return fmt.Sprintf("%-12s %-22s %12s %9s %8s %s", t, op, lba, length, lat, status)
	}
	lines := make([]string, 0, rows+1)
	lines = append(lines, st.Dim.Render(row("TIME", "OPCODE", "LBA", "LENGTH", "LATENCY", "STATUS")))
	for _, c := range all[start:end] {
		status := st.OK.Render(scsi.StatusName(c.Status))
		if c.Status != 0 {
			status = st.Err.Render(scsi.StatusName(c.Status))
		}
		lines = append(lines, row(c.Finished.In(p.loc).Format("15:04:05.000"), c.Name,
			fmt.Sprint(c.LBA), fmtBytes(c.Length), fmtMicros(c.LatencyUs), status))
	}
	if len(all) == 0 {
		lines = append(lines, st.Dim.Render("no commands yet"))
	}

	title := "recent commands"
	switch {
	case p.paused && d != nil && d.key == p.dev:
		title += fmt.Sprintf(" · paused, %d new", d.commands-p.base)
	case p.paused:
		title += " · paused"
	}
	if p.scroll > 0 {
		title += fmt.Sprintf(" · %d newer below", p.scroll)
	}
	return p.bx.Box(out, title, lines, p.Width, p.Height)
}
