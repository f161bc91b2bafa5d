// Package app is the root model of tcmsh's TUI: it owns the terminal,
// holds the two faces (the configfs browser and the live monitor, each a
// views.Pane), switches between them with the Browser and Monitor keys,
// and draws a title bar above the visible face and a help line below it.
//
// Messages: keys, mouse and paste go to the visible pane only (and the
// global keys but ctrl+c are left to it while it is Capturing text); a window size
// is turned into SetSize on both panes; every other message (the panes'
// own typed results, ticks, snapshots) goes to both panes, each ignoring
// what is not its own. So the monitor keeps polling while the browser is
// shown, and its sparklines have their minute of history when it comes
// back; a hidden pane is never rendered, which is what costs.
//
// Run starts a tea.Program on the terminal and returns when the user
// quits or its context ends; bubbletea restores the terminal either way.
package app

import (
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/tcmsh/tcmsh/views"
)

// The faces, by the names Options.Start and the title bar use.
const (
	FaceBrowser = "browser"
	FaceMonitor = "monitor"
)

var faceNames = [2]string{FaceBrowser, FaceMonitor}

// titleHeight is the title bar's height; the help line's follows its
// content (one line, or the full help).
const titleHeight = 1

// Model is the root model. It is a tea.Model on a pointer.
type Model struct {
	c     *views.Common
	panes [2]views.Pane // browser, monitor
	face  int
	help  help.Model
	kind  string // what the title bar says of the kernel
}

// New returns the root model over the two panes, showing start
// (FaceBrowser or FaceMonitor; anything else means the browser). kernel
// is what the title bar says of the kernel, e.g. "simulated kernel".
func New(c *views.Common, browser, monitor views.Pane, start, kernel string) *Model {
	m := &Model{c: c, panes: [2]views.Pane{browser, monitor}, kind: kernel}
	if start == FaceMonitor {
		m.face = 1
	}
	m.help = help.New()
	m.help.Styles = c.Styles.Help
	return m
}

// Face is the name of the visible face.
func (m *Model) Face() string { return faceNames[m.face] }

// Pane returns the visible pane.
func (m *Model) Pane() views.Pane { return m.panes[m.face] }

// Init starts both panes: the browser reads the tree, the monitor starts
// polling.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(m.panes[0].Init(), m.panes[1].Init())
}

// Update routes a message (see the package comment).
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.c.Width, m.c.Height = msg.Width, msg.Height
		m.layout()
		return m, nil
	case tea.KeyPressMsg:
		// ctrl+c leaves from anywhere, a half-filled form included, as in
		// any terminal program; q and the other global keys are text
		// while the pane captures.
		if msg.String() == "ctrl+c" {
			return m, tea.Quit
		}
		if m.Pane().Capturing() {
			return m, m.Pane().Update(msg)
		}
		k := m.c.Keys
		switch {
		case key.Matches(msg, k.Quit):
			return m, tea.Quit
		case key.Matches(msg, k.Help):
			m.help.ShowAll = !m.help.ShowAll
			m.layout()
			return m, nil
		case key.Matches(msg, k.Browser):
			m.show(0)
			return m, nil
		case key.Matches(msg, k.Monitor):
			m.show(1)
			return m, nil
		}
		return m, m.Pane().Update(msg)
	case tea.KeyReleaseMsg, tea.MouseMsg, tea.PasteMsg, tea.PasteStartMsg, tea.PasteEndMsg:
		return m, m.Pane().Update(msg)
	}
	return m, tea.Batch(m.panes[0].Update(msg), m.panes[1].Update(msg))
}

// show makes face i visible. The full help lists the visible pane's
// keys, so its height, and the panes', may change.
func (m *Model) show(i int) {
	m.face = i
	if m.help.ShowAll {
		m.layout()
	}
}

// paneHeight is what is left for the panes under the title bar and above
// the help.
func (m *Model) paneHeight() int {
	return max(m.c.Height-titleHeight-m.helpHeight(), 1)
}

func (m *Model) helpHeight() int {
	if !m.help.ShowAll {
		return 1
	}
	return min(max(strings.Count(m.helpView(), "\n")+1, 1), max(m.c.Height-titleHeight-1, 1))
}

// layout gives both panes the space under the bars.
func (m *Model) layout() {
	m.help.SetWidth(m.c.Width)
	h := m.paneHeight()
	for _, p := range m.panes {
		p.SetSize(m.c.Width, h)
	}
}

// View draws the title bar, the visible pane and the help line, exactly
// the terminal's size, in the alternate screen.
func (m *Model) View() tea.View {
	v := tea.NewView(m.Render())
	v.AltScreen = true
	return v
}

// Render is the screen as a string (what View shows; the tests' golden
// files hold it with the ANSI sequences stripped).
func (m *Model) Render() string {
	w := m.c.Width
	if w <= 0 || m.c.Height <= 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(m.titleBar())
	b.WriteByte('\n')
	b.WriteString(fit(m.Pane().View(), w, m.paneHeight()))
	b.WriteByte('\n')
	b.WriteString(fit(m.helpView(), w, m.helpHeight()))
	return b.String()
}

// titleBar is "tcmsh · <kernel>" on the left and the two faces on the
// right, the visible one selected: " browser  [monitor]".
func (m *Model) titleBar() string {
	s := m.c.Styles
	left := s.Title.Render(" tcmsh") + s.Dim.Render(" · "+m.kind)
	var tabs []string
	for i, name := range faceNames {
		// Brackets as well as reverse video: the face shows in plain
		// text too (captures, golden files, terminals without attributes).
		if i == m.face {
			tabs = append(tabs, s.Selected.Render("["+name+"]"))
		} else {
			tabs = append(tabs, s.Dim.Render(" "+name+" "))
		}
	}
	right := strings.Join(tabs, " ")
	gap := m.c.Width - ansi.StringWidth(left) - ansi.StringWidth(right)
	if gap < 1 {
		// Narrow: the faces matter more than the kernel's name.
		return fit(s.Title.Render(" tcmsh ")+right, m.c.Width, 1)
	}
	return left + strings.Repeat(" ", gap) + right
}

// helpView is the visible pane's keys on the left and the global ones on
// the right, so that a narrow screen cuts the pane's last keys, never quit
// (only the pane's keys while it captures text: the global keys then
// type). The full help lists the global keys as the last column.
func (m *Model) helpView() string {
	if m.help.ShowAll {
		return m.help.View(m.keys())
	}
	global := m.help.ShortHelpView(m.globalKeys())
	gw := ansi.StringWidth(global)
	h := m.help
	sep := 0
	if gw > 0 {
		sep = ansi.StringWidth(h.ShortSeparator)
	}
	if m.c.Width-gw-sep < 12 {
		return global // too narrow for the pane's keys
	}
	avail := m.c.Width - gw - sep
	h.SetWidth(avail)
	// bubbles/help adds an item past its width when not even its
	// ellipsis fits: drop the pane's last keys until the line fits.
	keys := m.Pane().ShortHelp()
	left := h.ShortHelpView(keys)
	for len(keys) > 0 && ansi.StringWidth(left) > avail {
		keys = keys[:len(keys)-1]
		left = h.ShortHelpView(keys) + " " + h.Ellipsis
	}
	gap := max(m.c.Width-ansi.StringWidth(left)-gw, 1)
	return left + strings.Repeat(" ", gap) + global
}

func (m *Model) keys() help.KeyMap {
	return helpKeys{pane: m.Pane(), global: m.globalKeys()}
}

func (m *Model) globalKeys() []key.Binding {
	if m.Pane().Capturing() {
		return nil
	}
	k := m.c.Keys
	other := k.Monitor
	if m.face == 1 {
		other = k.Browser
	}
	return []key.Binding{other, k.Help, k.Quit}
}

// helpKeys joins a pane's keys and the global ones for bubbles/help.
type helpKeys struct {
	pane   help.KeyMap
	global []key.Binding
}

func (h helpKeys) ShortHelp() []key.Binding {
	return append(append([]key.Binding(nil), h.pane.ShortHelp()...), h.global...)
}

func (h helpKeys) FullHelp() [][]key.Binding {
	groups := append([][]key.Binding(nil), h.pane.FullHelp()...)
	if len(h.global) > 0 {
		groups = append(groups, h.global)
	}
	return groups
}

// fit makes s exactly width × height: longer lines are cut, missing lines
// and columns are blank, extra lines dropped. A pane that draws one column
// too many cannot garble the screen.
func fit(s string, width, height int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > height {
		lines = lines[:height]
	}
	for len(lines) < height {
		lines = append(lines, "")
	}
	for i, l := range lines {
		switch n := ansi.StringWidth(l); {
		case n > width:
			lines[i] = ansi.Truncate(l, width, "")
		case n < width:
			lines[i] = l + strings.Repeat(" ", width-n)
		}
	}
	return strings.Join(lines, "\n")
}
