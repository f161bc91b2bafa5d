package browser

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/tcmsh/tcmsh/shell"
	"github.com/tcmsh/tcmsh/views"
)

// The tree component: the loaded part of the configfs tree, the
// selection and the filter, their keys and their pane.

// tree is the tree component's state.
type tree struct {
	nodes  map[string]*node
	sel    string
	offset int // first visible tree row
	filter string
	// Sequence numbers of the listings asked for and applied, so that an
	// older answer arriving late is dropped.
	loadSeq, loadApplied int
}

// reload lists again the children of every expanded node and of expand.
func (m *Model) reload(choose string, expand ...string) tea.Cmd {
	paths := append([]string(nil), expand...)
	for p, n := range m.nodes {
		if n.expanded {
			paths = append(paths, p)
		}
	}
	m.loadSeq++
	r, seq := m.run, m.loadSeq
	return func() tea.Msg {
		kids, gone, err := r.load(paths)
		return loadedMsg{seq: seq, kids: kids, gone: gone, err: err, expand: expand, choose: choose}
	}
}

func (m *Model) onLoaded(msg loadedMsg) tea.Cmd {
	// Commands run concurrently: a listing older than one already applied
	// could bring back what was deleted since.
	if msg.seq <= m.loadApplied {
		return nil
	}
	m.loadApplied = msg.seq
	for _, p := range msg.gone {
		m.forget(p)
	}
	// Parents before children, so that a jump's chain of ancestors links
	// up; a node whose parent was never loaded is not reachable.
	for _, p := range sortedByDepth(msg.kids) {
		n := m.nodes[p]
		if n == nil {
			continue
		}
		rows := msg.kids[p]
		old := map[string]bool{}
		for _, k := range n.kids {
			old[k] = true
		}
		n.kids = n.kids[:0]
		for _, r := range rows {
			c := m.nodes[r.Path]
			if c == nil {
				c = &node{}
				m.nodes[r.Path] = c
			}
			c.row = r
			n.kids = append(n.kids, r.Path)
			delete(old, r.Path)
		}
		for k := range old {
			m.forget(k)
		}
		n.loaded = true
	}
	for _, p := range msg.expand {
		if n := m.nodes[p]; n != nil {
			n.expanded = true
		}
	}
	if msg.err != nil {
		m.setErr(msg.err)
	}
	if msg.choose != "" {
		if _, ok := m.nodes[msg.choose]; ok {
			m.sel = msg.choose
			m.focus = paneTree
		}
	}
	// The selection may have gone: fall back to its nearest ancestor.
	for m.nodes[m.sel] == nil && m.sel != "/" {
		m.sel = path.Dir(m.sel)
	}
	if m.visibleIndex(m.sel) < 0 {
		m.sel = m.nearestVisible(m.sel)
	}
	m.scroll()
	return m.loadDetails()
}

// forget drops a node and everything loaded below it.
func (m *Model) forget(p string) {
	n := m.nodes[p]
	if n == nil {
		return
	}
	for _, k := range n.kids {
		m.forget(k)
	}
	delete(m.nodes, p)
	if parent := m.nodes[path.Dir(p)]; parent != nil {
		for i, k := range parent.kids {
			if k == p {
				parent.kids = append(parent.kids[:i:i], parent.kids[i+1:]...)
				break
			}
		}
	}
}

func (m *Model) loadChildren(p string) tea.Cmd {
	m.loadSeq++
	r, seq := m.run, m.loadSeq
	return func() tea.Msg {
		kids, gone, err := r.load([]string{p})
		return loadedMsg{seq: seq, kids: kids, gone: gone, err: err, expand: []string{p}}
	}
}

func (m *Model) treeKey(msg tea.KeyPressMsg) tea.Cmd {
	k := m.Keys
	rows := m.visible()
	if len(rows) == 0 {
		return nil
	}
	i := max(m.visibleIndex(m.sel), 0)
	page := max(m.treeHeight()-1, 1)
	move := func(j int) tea.Cmd {
		j = min(max(j, 0), len(rows)-1)
		if rows[j].path == m.sel {
			return nil
		}
		m.sel = rows[j].path
		m.afterMove()
		return m.loadDetails()
	}
	switch {
	case key.Matches(msg, k.Up):
		return move(i - 1)
	case key.Matches(msg, k.Down):
		return move(i + 1)
	case key.Matches(msg, k.PageUp):
		return move(i - page)
	case key.Matches(msg, k.PageDown):
		return move(i + page)
	case key.Matches(msg, k.Top):
		return move(0)
	case key.Matches(msg, k.Bottom):
		return move(len(rows) - 1)
	case key.Matches(msg, k.Expand):
		n := m.nodes[m.sel]
		if n == nil {
			return nil
		}
		if !n.expanded || !n.loaded {
			n.expanded = true
			if !n.loaded {
				return m.loadChildren(m.sel)
			}
			m.scroll()
			return nil
		}
		if len(n.kids) > 0 {
			return move(i + 1)
		}
		return nil
	case key.Matches(msg, k.Collapse):
		n := m.nodes[m.sel]
		if n != nil && n.expanded && m.sel != "/" && m.filter == "" {
			n.expanded = false
			m.scroll()
			return nil
		}
		if m.sel != "/" {
			m.sel = path.Dir(m.sel)
			m.afterMove()
			return m.loadDetails()
		}
	}
	return nil
}

// afterMove resets what depends on the selected node.
func (m *Model) afterMove() {
	if m.det == nil || m.det.Path != m.sel {
		m.detSel, m.detOffset = 0, 0
	}
	m.scroll()
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

func (m *Model) treeSize() (w, h int) {
	if m.stacked() {
		return m.Width, m.bodyHeight() / 2
	}
	return m.Width * 9 / 20, m.bodyHeight()
}

// treeHeight is the number of rows inside the tree's frame, below its
// title.
func (m *Model) treeHeight() int {
	_, h := m.treeSize()
	return max(h-3, 0)
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
