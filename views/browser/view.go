package browser

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/tcmsh/tcmsh/shell"
	"github.com/tcmsh/tcmsh/views"
)

// narrow is the width below which the details go under the tree.
const narrow = 70

// visRow is one row of the tree as shown.
type visRow struct {
	path  string
	depth int
}

// visible lists the rows shown: the expanded tree, or with a filter every
// loaded node whose name matches, with its ancestors.
func (m *Model) visible() []visRow {
	var out []visRow
	f := strings.ToLower(m.filter)
	var walk func(p string, depth int) bool
	walk = func(p string, depth int) bool {
		n := m.nodes[p]
		if n == nil {
			return false
		}
		if f == "" {
			out = append(out, visRow{p, depth})
			if n.expanded {
				for _, k := range n.kids {
					walk(k, depth+1)
				}
			}
			return true
		}
		at := len(out)
		out = append(out, visRow{p, depth})
		match := p == "/" || strings.Contains(strings.ToLower(n.Name), f)
		for _, k := range n.kids {
			if walk(k, depth+1) {
				match = true
			}
		}
		if !match {
			out = out[:at]
		}
		return match
	}
	walk("/", 0)
	return out
}

func (m *Model) visibleIndex(p string) int {
	for i, r := range m.visible() {
		if r.path == p {
			return i
		}
	}
	return -1
}

// nearestVisible is p's nearest ancestor that is shown.
func (m *Model) nearestVisible(p string) string {
	rows := m.visible()
	shown := map[string]bool{}
	for _, r := range rows {
		shown[r.path] = true
	}
	for !shown[p] && p != "/" {
		p = path.Dir(p)
	}
	return p
}

// matches reports whether a node's name matches the filter.
func (m *Model) matches(p string) bool {
	n := m.nodes[p]
	return n != nil && p != "/" && strings.Contains(strings.ToLower(n.Name), strings.ToLower(m.filter))
}

// firstMatch is the first row whose name matches the filter.
func (m *Model) firstMatch(rows []visRow) string {
	for _, r := range rows {
		if m.matches(r.path) {
			return r.path
		}
	}
	return rows[0].path
}

// sortedByDepth lists the map's paths, shallowest first.
func sortedByDepth(kids map[string][]row) []string {
	out := make([]string, 0, len(kids))
	for p := range kids {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		di, dj := strings.Count(out[i], "/"), strings.Count(out[j], "/")
		if out[i] == "/" {
			di = 0
		}
		if out[j] == "/" {
			dj = 0
		}
		if di != dj {
			return di < dj
		}
		return out[i] < out[j]
	})
	return out
}

// ---- geometry ----

func (m *Model) stacked() bool { return m.Width < narrow }

// bodyHeight is the height above the status line.
func (m *Model) bodyHeight() int { return max(m.Height-len(m.statusLines()), 0) }

func (m *Model) treeSize() (w, h int) {
	if m.stacked() {
		return m.Width, m.bodyHeight() / 2
	}
	return m.Width * 9 / 20, m.bodyHeight()
}

func (m *Model) detailsSize() (w, h int) {
	tw, th := m.treeSize()
	if m.stacked() {
		return m.Width, m.bodyHeight() - th
	}
	return m.Width - tw, m.bodyHeight()
}

// treeHeight is the number of rows inside the tree's frame, below its
// title.
func (m *Model) treeHeight() int {
	_, h := m.treeSize()
	return max(h-3, 0)
}

func (m *Model) detailsHeight() int {
	_, h := m.detailsSize()
	return max(h-3, 0)
}

// formSize is the size of a form inside the body's frame, below its title.
func (m *Model) formSize() (w, h int) {
	return max(m.Width-4, 1), max(m.bodyHeight()-6, 1)
}

// scroll keeps the selection in view in both panes.
func (m *Model) scroll() {
	h := m.treeHeight()
	i := m.visibleIndex(m.sel)
	m.offset = clampOffset(m.offset, i, h, len(m.visible()))
	dw, _ := m.detailsSize()
	lines, at := m.detailLines(max(dw-2, 1))
	if m.focus != paneDetails {
		m.detOffset = 0 // the details show from their top while the tree has the keys
	}
	m.detOffset = clampOffset(m.detOffset, at, m.detailsHeight(), len(lines))
}

func clampOffset(off, i, h, n int) int {
	if h <= 0 {
		return 0
	}
	if i >= 0 {
		if i < off {
			off = i
		}
		if i >= off+h {
			off = i - h + 1
		}
	}
	return max(min(off, n-h), 0)
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

func (m *Model) treeView() string {
	w, h := m.treeSize()
	rows := m.visible()
	iw := max(w-2, 0)
	var lines []string
	end := min(m.offset+m.treeHeight(), len(rows))
	for _, r := range rows[min(m.offset, end):end] {
		lines = append(lines, m.treeRow(r, iw))
	}
	title := "configfs"
	if m.filter != "" {
		title = fmt.Sprintf("configfs — filter %q", m.filter)
	}
	return m.box(title, lines, w, h, m.focus == paneTree && m.mode != modeConfirm)
}

func (m *Model) treeRow(r visRow, w int) string {
	n := m.nodes[r.path]
	marker := "  "
	switch {
	case n.expanded && (len(n.kids) > 0 || !n.loaded):
		marker = "▾ "
	case !n.loaded || len(n.kids) > 0:
		marker = "▸ "
	}
	if n.loaded && len(n.kids) == 0 {
		marker = "· "
	}
	cursor := " "
	if r.path == m.sel {
		cursor = "›"
	}
	left := views.Cut(cursor+strings.Repeat("  ", r.depth)+marker+n.Name, w)
	room := w - lipgloss.Width(left) - 1
	sum := ""
	if room >= 4 && n.Summary != "" {
		sum = views.Cut(n.Summary, room)
	}
	pad := max(w-lipgloss.Width(left)-lipgloss.Width(sum), 0)
	if r.path == m.sel {
		return m.Styles.Selected.Render(left + strings.Repeat(" ", pad) + sum)
	}
	return left + strings.Repeat(" ", pad) + m.summaryStyle(n.Status).Render(sum)
}

func (m *Model) summaryStyle(st shell.Status) lipgloss.Style {
	switch st {
	case shell.StatusOK:
		return m.Styles.OK
	case shell.StatusWarn:
		return m.Styles.Warn
	}
	return m.Styles.Dim
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

func (m *Model) formView() string {
	title := "create in " + m.formNode
	if m.mode == modeChoose {
		title = "create"
	}
	fw, _ := m.formSize()
	// Under the form, the command it will run, as one would type it.
	var cmdLines []string
	if m.cform != nil && m.mode == modeForm {
		wrapped := strings.Split(ansi.Hardwrap("runs: "+m.cform.line(), max(fw, 1), true), "\n")
		if len(wrapped) <= max(m.bodyHeight()-8, 0)/2 {
			for _, l := range wrapped {
				cmdLines = append(cmdLines, " "+m.Styles.Dim.Render(l))
			}
		}
		if m.cform.refused != "" {
			refused := strings.Split(ansi.Wordwrap("refused: "+m.cform.refused, max(fw, 1), ""), "\n")
			if len(cmdLines)+len(refused) <= max(m.bodyHeight()-8, 0)/2+2 {
				for _, l := range refused {
					cmdLines = append(cmdLines, " "+m.Styles.Err.Render(l))
				}
			}
		}
	}
	lines := fitLines(strings.Split(m.form.View(), "\n"), fw, max(m.bodyHeight()-3-len(cmdLines), 0))
	for i, l := range lines {
		lines[i] = " " + l
	}
	return m.box(title, append(lines, cmdLines...), m.Width, m.bodyHeight(), true)
}

// statusLines are the bottom lines: a prompt when one is open, else the
// last status. A question or an error too long for one line wraps onto up
// to three lines when the pane is tall enough.
func (m *Model) statusLines() []string {
	s := m.Styles
	w := m.Width
	switch m.mode {
	case modeConfirm:
		return m.wrapped(fmt.Sprintf("Delete %s? (y/n)", m.confirmWhat), s.Warn)
	case modeFilter, modeJump:
		return []string{fitLine(m.input.View(), w)}
	}
	text := oneLine(m.status.Text)
	if m.status.Err == nil {
		return []string{fitLine(s.Status.Render(views.Cut(text, w)), w)}
	}
	return m.wrapped("error: "+text, s.StatusErr)
}

func (m *Model) wrapped(text string, st lipgloss.Style) []string {
	w := m.Width
	most := 1
	switch {
	case m.Height >= 20 && w >= 20:
		most = 3
	case m.Height >= 12 && w >= 20:
		most = 2
	}
	var lines []string
	for text != "" {
		if len(lines) == most-1 || lipgloss.Width(text) <= w {
			lines = append(lines, views.Cut(text, w))
			break
		}
		cut := ansi.Truncate(text, w, "")
		if j := strings.LastIndexByte(cut, ' '); j > w/2 {
			cut = cut[:j+1]
		}
		if cut == "" {
			break
		}
		lines = append(lines, strings.TrimRight(cut, " "))
		text = text[len(cut):]
	}
	for i, l := range lines {
		lines[i] = fitLine(st.Render(views.Cut(l, w)), w)
	}
	return lines
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
