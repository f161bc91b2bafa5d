package browser

import (
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/tcmsh/tcmsh/views"
)

// narrow is the width below which the details go under the tree.
const narrow = 70

// visRow is one row of the tree as shown.
type visRow struct {
	path  string
	depth int
}

// ---- geometry ----

func (m *Model) stacked() bool { return m.Width < narrow }

// bodyHeight is the height above the status line.
func (m *Model) bodyHeight() int { return max(m.Height-len(m.statusLines()), 0) }

// ---- rendering ----

// View renders the pane: exactly Width × Height.
func (m *Model) View() string {
	if m.Width <= 0 || m.Height <= 0 {
		return ""
	}
	if m.view == "" {
		m.view = m.render()
	}
	return m.view
}

func (m *Model) render() string {
	var body string
	switch {
	case m.form != nil && (m.mode == modeForm || m.mode == modeChoose):
		body = m.formView()
	case m.stacked():
		body = m.treeView() + "\n" + m.detailsView()
	default:
		body = lipgloss.JoinHorizontal(lipgloss.Top, m.treeView(), m.detailsView())
	}
	lines := strings.Split(body, "\n")
	lines = fitLines(lines, m.Width, m.bodyHeight())
	lines = append(lines, m.statusLines()...)
	return strings.Join(fitLines(lines, m.Width, m.Height), "\n")
}

// box frames lines in a w × h border (views.Boxes), the title as the
// first inner line.
func (m *Model) box(title string, lines []string, w, h int, focused bool) string {
	if w < 3 || h < 3 {
		return strings.Join(fitLines(nil, w, h), "\n")
	}
	st := m.Styles.Border
	if focused {
		st = m.Styles.BorderFocus
	}
	bx := views.NewBoxes(st, m.Styles.Title)
	inner := append([]string{m.Styles.Title.Render(views.Cut(title, w-2))}, lines...)
	return strings.Join(bx.Box(nil, "", inner, w, h), "\n")
}

// detailsKey is what the rendered details depend on.
type detailsKey struct {
	d      *details
	styles any
	w, sel int
	focus  pane
	mode   mode
	input  string
}

// ---- fitting ----

// fitLine pads or cuts a line to exactly w columns.
func fitLine(l string, w int) string {
	if lw := lipgloss.Width(l); lw > w {
		return ansi.Truncate(l, w, "")
	} else if lw < w {
		return l + strings.Repeat(" ", w-lw)
	}
	return l
}

// fitLines makes exactly h lines of exactly w columns.
func fitLines(lines []string, w, h int) []string {
	out := make([]string, h)
	for i := range out {
		l := ""
		if i < len(lines) {
			l = lines[i]
		}
		out[i] = fitLine(l, w)
	}
	return out
}
