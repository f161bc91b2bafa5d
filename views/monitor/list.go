package monitor

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/views"
)

// listPane is the device list: one row per served device with its rates,
// in-flight commands, errors, state and latency (p50 and p99 over the last
// 10 s, the maximum since the device was served); Up/Down/Top/Bottom
// select.
type listPane struct {
	views.Common
	fleet *fleet
	bx    *views.Boxes
	sel   string // the selected device's key: it stays selected as others come and go
	top   int    // first row shown
}

// selected returns the selected device's position, or -1 without devices.
func (p *listPane) selected() int {
	if len(p.fleet.devs) == 0 {
		return -1
	}
	if i := p.fleet.index(p.sel); i >= 0 {
		return i
	}
	p.sel = p.fleet.devs[0].key
	return 0
}

// device returns the selected device, or nil.
func (p *listPane) device() *device {
	if i := p.selected(); i >= 0 {
		return p.fleet.devs[i]
	}
	return nil
}

// afterApply keeps the selection on a device that is still there: the one
// at the same row when the selected one went away.
func (p *listPane) afterApply(prevIndex int) {
	if len(p.fleet.devs) == 0 || p.fleet.index(p.sel) >= 0 {
		return
	}
	i := min(max(prevIndex, 0), len(p.fleet.devs)-1)
	p.sel = p.fleet.devs[i].key
}

func (p *listPane) SetSize(w, h int) { p.Width, p.Height = w, h }

// Update moves the selection; it reports whether the key was its own.
func (p *listPane) Update(msg tea.Msg) (bool, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok || len(p.fleet.devs) == 0 {
		return false, nil
	}
	i, n := p.selected(), len(p.fleet.devs)
	switch {
	case key.Matches(k, p.Keys.Up):
		i--
	case key.Matches(k, p.Keys.Down):
		i++
	case key.Matches(k, p.Keys.Top):
		i = 0
	case key.Matches(k, p.Keys.Bottom):
		i = n - 1
	default:
		return false, nil
	}
	p.sel = p.fleet.devs[min(max(i, 0), n-1)].key
	return true, nil
}

// state is a device's one-word state and its style role.
func (p *listPane) state(s *engine.DeviceStats) string {
	switch {
	case s.BackendError != "":
		return p.Styles.Err.Render("backend")
	case !s.Up:
		return p.Styles.Err.Render("down")
	}
	return p.Styles.OK.Render("up")
}

// View renders the list in a frame of Width × Height.
func (p *listPane) View() string { return strings.Join(p.render(nil), "\n") }

// render appends the lines of View to out.
func (p *listPane) render(out []string) []string {
	iw, rows := p.Width-2, p.Height-3
	withLat := iw >= 90
	// marker(2) path ' ' state(7) ' ' iops(7) ' ' mbps(7) ' ' infl(5) ' ' err(7) [' ' p50(8) ' ' p99(8) ' ' max(8)]
	fixed := 2 + 1 + 7 + 1 + 7 + 1 + 7 + 1 + 5 + 1 + 7
	if withLat {
		fixed += 27
	}
	pw := max(iw-fixed, 8)
	if withLat {
		pw = min(pw, 40) // wide: the rest of the row stays blank rather than pushing the figures away
	}
	row := func(mark, path, state, iops, mbps, infl, errs string, lat [3]string) string {
		var b strings.Builder
		b.WriteString(mark)
		b.WriteString(views.Fit(views.Cut(path, pw), pw))
		b.WriteByte(' ')
		b.WriteString(views.Fit(state, 7))
		fmt.Fprintf(&b, " %7s %7s %5s %s", iops, mbps, infl, errs)
		if withLat {
			fmt.Fprintf(&b, " %8s %8s %8s", lat[0], lat[1], lat[2])
		}
		return b.String()
	}
	lines := make([]string, 0, rows+1)
	lines = append(lines, p.Styles.Dim.Render(row("  ", "DEVICE", "STATE", "IOPS", "MB/s", "INFL", " ERRORS", [3]string{"P50 10s", "P99 10s", "MAX"})))
	sel := p.selected()
	if rows > 0 {
		if sel < p.top {
			p.top = sel
		}
		if sel >= p.top+rows {
			p.top = sel - rows + 1
		}
		p.top = min(max(p.top, 0), max(len(p.fleet.devs)-rows, 0))
	}
	for i := p.top; i < len(p.fleet.devs) && i < p.top+rows; i++ {
		d := p.fleet.devs[i]
		s := &d.cur
		iops, mbps := "-", "-"
		if d.rated {
			iops, mbps = fmtCount(d.iops), fmtMBps(d.mbps)
		}
		errs := fmt.Sprintf("%7d", s.Errors)
		if s.Errors > 0 {
			errs = p.Styles.Err.Render(errs)
		}
		path := strings.TrimPrefix(s.Path, "/backstores/")
		p50, p99 := d.latencyFigures()
		lat := [3]string{p50, p99, fmtMicros(s.LatMaxus)}
		if i == sel {
			line := row("▸ ", path, plainState(s), iops, mbps, fmt.Sprint(s.Inflight), fmt.Sprintf("%7d", s.Errors), lat)
			lines = append(lines, p.Styles.Selected.Render(views.Fit(line, iw)))
			continue
		}
		lines = append(lines, row("  ", path, p.state(s), iops, mbps, fmt.Sprint(s.Inflight), errs, lat))
	}
	title := fmt.Sprintf("TCMU devices (%d)", len(p.fleet.devs))
	if len(p.fleet.devs) > rows && rows > 0 {
		title += fmt.Sprintf(" %d–%d", p.top+1, min(p.top+rows, len(p.fleet.devs)))
	}
	return p.bx.Box(out, title, lines, p.Width, p.Height)
}

func plainState(s *engine.DeviceStats) string {
	switch {
	case s.BackendError != "":
		return "backend"
	case !s.Up:
		return "down"
	}
	return "up"
}
