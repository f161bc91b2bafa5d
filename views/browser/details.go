package browser

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/tcmsh/tcmsh/shell"
	"github.com/tcmsh/tcmsh/views"
)

// The details component: what the selected node is (info, groups,
// recreate line, commands), the attribute selection, inline edit and
// enable/disable, and its pane.

// detailsPane is the details component's state.
type detailsPane struct {
	det       *details
	detErr    error
	detSel    int // index into attrs()
	detOffset int
	editing   attrRef
	detSeq    int // the details asked for last; older answers are dropped

	detCache struct {
		key   detailsKey
		lines []string
		at    int
	}
}

func (m *Model) loadDetails() tea.Cmd {
	m.detSeq++
	p, r, seq := m.sel, m.run, m.detSeq
	return func() tea.Msg {
		d, err := r.details(p)
		return detailsMsg{seq: seq, path: p, d: d, err: err}
	}
}

func (m *Model) detailsKey(msg tea.KeyPressMsg) tea.Cmd {
	k := m.Keys
	n := len(m.attrs())
	if n == 0 {
		return nil
	}
	switch {
	case key.Matches(msg, k.Up):
		m.detSel--
	case key.Matches(msg, k.Down):
		m.detSel++
	case key.Matches(msg, k.PageUp):
		m.detSel -= max(m.detailsHeight()-1, 1)
	case key.Matches(msg, k.PageDown):
		m.detSel += max(m.detailsHeight()-1, 1)
	case key.Matches(msg, k.Top):
		m.detSel = 0
	case key.Matches(msg, k.Bottom):
		m.detSel = n - 1
	case key.Matches(msg, k.Expand):
		return m.startEdit()
	case key.Matches(msg, k.Collapse):
		m.focus = paneTree
	}
	m.detSel = min(max(m.detSel, 0), n-1)
	m.scroll()
	return nil
}

func (m *Model) startEdit() tea.Cmd {
	attrs := m.attrs()
	if m.det == nil || m.det.Path != m.sel || len(attrs) == 0 {
		m.status = views.StatusMsg{Text: m.sel + " has no attributes to edit", Err: fmt.Errorf("%s has no attributes to edit", m.sel)}
		return nil
	}
	if m.focus != paneDetails {
		// Go to the first value that can be changed; a second e edits it.
		m.focus = paneDetails
		for i, a := range attrs {
			if !a.attr.ReadOnly {
				m.detSel = i
				break
			}
		}
		m.status = views.StatusMsg{Text: "choose a value with ↑/↓, then e or enter edits it"}
		return nil
	}
	a := attrs[m.detSel]
	if a.attr.ReadOnly {
		err := fmt.Errorf("%s %s is read-only", a.group, a.attr.Name)
		m.setErr(err)
		return nil
	}
	m.editing = a
	m.mode = modeEdit
	m.input.Prompt = ""
	m.input.SetValue(a.attr.Value)
	m.input.CursorEnd()
	m.status = views.StatusMsg{Text: fmt.Sprintf("editing %s %s: enter sets it, esc cancels", a.group, a.attr.Name)}
	return m.input.Focus()
}

func (m *Model) toggle() tea.Cmd {
	d := m.det
	if d == nil || d.Path != m.sel {
		m.status = views.StatusMsg{Text: "reading " + m.sel + "…"}
		return nil
	}
	if !d.has("enable") {
		err := fmt.Errorf("%s cannot be enabled or disabled", m.sel)
		m.setErr(err)
		return nil
	}
	verb := "enable"
	if d.Enabled != nil && *d.Enabled {
		verb = "disable"
	}
	return m.exec(shell.Quote(d.Path)+" "+verb, "", verb+"d "+d.Path)
}

// attrs lists the details' attributes in the order shown.
func (m *Model) attrs() []attrRef {
	if m.det == nil || m.det.Path != m.sel {
		return nil
	}
	var out []attrRef
	for _, g := range m.det.Groups {
		for _, a := range g.Attrs {
			out = append(out, attrRef{group: g.Name, attr: a})
		}
	}
	return out
}

func (m *Model) detailsSize() (w, h int) {
	tw, th := m.treeSize()
	if m.stacked() {
		return m.Width, m.bodyHeight() - th
	}
	return m.Width - tw, m.bodyHeight()
}

func (m *Model) detailsHeight() int {
	_, h := m.detailsSize()
	return max(h-3, 0)
}

// detailLines renders the details' lines for an inner width w, and the
// index of the selected attribute's line (-1 when none). The last
// rendering is kept: scroll and View ask for the same one.
func (m *Model) detailLines(w int) ([]string, int) {
	if m.det == nil || m.det.Path != m.sel {
		return m.renderDetails(w)
	}
	k := detailsKey{d: m.det, styles: m.Styles, w: w, sel: m.detSel, focus: m.focus, mode: m.mode}
	if m.mode == modeEdit {
		k.input = m.input.View()
	}
	if m.detCache.lines != nil && m.detCache.key == k {
		return m.detCache.lines, m.detCache.at
	}
	lines, at := m.renderDetails(w)
	m.detCache.key, m.detCache.lines, m.detCache.at = k, lines, at
	return lines, at
}

func (m *Model) renderDetails(w int) ([]string, int) {
	s := m.Styles
	d := m.det
	if d == nil || d.Path != m.sel {
		if m.detErr != nil && (d == nil || d.Path != m.sel) {
			return []string{s.Err.Render(views.Cut(m.detErr.Error(), w))}, -1
		}
		return []string{s.Dim.Render("reading " + views.Cut(m.sel, max(w-8, 1)) + "…")}, -1
	}
	var lines []string
	add := func(l string) { lines = append(lines, l) }
	add(s.Dim.Render(views.Cut(d.Kind, w)))
	if d.Summary != "" {
		add(m.summaryStyle(d.Status).Render(views.Cut(d.Summary, w)))
	}
	keyW := 0
	for _, x := range d.Info {
		keyW = max(keyW, len(x.K))
	}
	keyW = min(keyW, max(w/2, 1))
	if len(d.Info) > 0 {
		add("")
		add(s.Title.Render("INFO"))
		for _, x := range d.Info {
			add(kvLine(s.Key, s.Value, x.K, oneLine(x.V), keyW, w))
		}
	}
	at := -1
	idx := 0
	for _, g := range d.Groups {
		add("")
		add(s.Title.Render(views.Cut(strings.ToUpper(g.Name), w)))
		nameW := 0
		for _, a := range g.Attrs {
			nameW = max(nameW, len(a.Name))
		}
		nameW = min(nameW, max(w/2, 1))
		for _, a := range g.Attrs {
			selected := idx == m.detSel && m.focus == paneDetails
			if idx == m.detSel {
				at = len(lines)
			}
			idx++
			if m.mode == modeEdit && selected && m.editing.attr.Name == a.Name && m.editing.group == g.Name {
				m.input.SetWidth(max(w-nameW-4, 1))
				add(views.Cut(fmt.Sprintf("  %-*s ", nameW, views.Cut(a.Name, nameW))+m.input.View(), w))
				continue
			}
			val, valStyle, mark := oneLine(a.Value), s.Value, ""
			if a.ReadOnly {
				valStyle, mark = s.ReadOnly, " (ro)"
			}
			if selected {
				plain := views.Cut(fmt.Sprintf("› %-*s %s%s", nameW, views.Cut(a.Name, nameW), val, mark), w)
				add(s.Selected.Render(plain + strings.Repeat(" ", max(w-lipgloss.Width(plain), 0))))
				continue
			}
			vw := max(w-nameW-3-len(mark), 1)
			add("  " + s.Key.Render(fmt.Sprintf("%-*s", nameW, views.Cut(a.Name, nameW))) + " " +
				valStyle.Render(views.Cut(val, vw)) + s.Dim.Render(mark))
		}
	}
	if d.Recreate != "" {
		add("")
		add(s.Title.Render("RECREATE"))
		for _, l := range strings.Split(ansi.Hardwrap(d.Recreate, max(w-2, 1), true), "\n") {
			add("  " + s.Dim.Render(l))
		}
	}
	return lines, at
}

func kvLine(ks, vs lipgloss.Style, k, v string, keyW, w int) string {
	return "  " + ks.Render(fmt.Sprintf("%-*s", keyW, views.Cut(k, keyW))) + " " + vs.Render(views.Cut(v, max(w-keyW-3, 1)))
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func (m *Model) detailsView() string {
	w, h := m.detailsSize()
	iw := max(w-2, 1)
	lines, _ := m.detailLines(iw)
	start := min(m.detOffset, len(lines))
	end := min(start+m.detailsHeight(), len(lines))
	title := m.sel
	if m.det != nil && m.det.Path == m.sel {
		title = m.det.Name
		if m.sel != "/" {
			title = m.sel
		}
	}
	return m.box(title, lines[start:end], w, h, m.focus == paneDetails && m.mode != modeConfirm)
}
