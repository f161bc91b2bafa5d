// Package browser is the TUI's configfs browser: a tree of the whole
// targetcli tree (loaded lazily, filtered, jumped through), the details of
// the selected node (info, configuration groups with read-only marks, the
// command that recreates it), inline editing of attributes, create forms
// built from the shell's command table, delete with confirmation,
// enable/disable, save and a status line.
//
// Three components make the Model, each with its state and code in its own
// file: the tree (tree.go), the details (details.go) and the prompt and
// forms (prompt.go, form.go); browser.go routes messages and keys, view.go
// lays the panes out, runner.go is the shell behind them.
//
// Every change goes through the shell's own command layer (shell.Parse and
// shell.Run of a command line, whose Result says what it created), in
// tea.Cmds; the Model never touches the kernel
// in Update or View. A mutex in the model's runner serializes the shell,
// which is used by one goroutine at a time.
package browser

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/tcmsh/tcmsh/shell"
	"github.com/tcmsh/tcmsh/views"
)

type mode int

const (
	modeNormal  mode = iota
	modeFilter       // typing the tree filter
	modeJump         // typing a path to go to
	modeEdit         // editing an attribute inline
	modeChoose       // picking which create command
	modeForm         // filling a create form
	modeConfirm      // confirming a delete
)

type pane int

const (
	paneTree pane = iota
	paneDetails
)

// node is one loaded node of the tree.
type node struct {
	row
	expanded bool
	loaded   bool
	kids     []string
}

// attrRef names one attribute of the details pane.
type attrRef struct {
	group string
	attr  shell.GroupAttr
}

// Model is the browser pane. Use it through a pointer.
type Model struct {
	views.Common
	ctx context.Context
	run *runner
	gen wwnGenerator

	tree
	detailsPane
	prompt

	focus pane
	mode  mode

	view string // the last View, until something changes

	// every is the auto-refresh interval (0: off); everyGen drops the
	// ticks of an interval set before.
	every    time.Duration
	everyGen int

	status views.StatusMsg
}

// New returns a browser over the shell's tree, starting at the root.
func New(c *views.Common, sh *shell.Shell) *Model {
	m := &Model{
		Common: *c,
		ctx:    context.Background(),
		run:    &runner{sh: sh},
		gen:    generateWWN,
		tree:   tree{nodes: map[string]*node{"/": {row: row{Path: "/", Name: "/", Kind: "root"}, expanded: true}}, sel: "/"},
	}
	m.input = m.newInput()
	return m
}

// Init loads the root's children and details, and starts the
// auto-refresh if it is on.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(m.reload("", "/"), m.loadDetails(), m.refreshTick())
}

// SetAutoRefresh makes the browser read the expanded part of the tree and
// the selected node's details again every d while nothing is being typed,
// so that what other shells, the daemon or rtslib tools change shows up:
// configfs sends no change notification. 0 turns it off. Call it before
// Init, or Init's tick is dropped and the next starts with the next Init.
func (m *Model) SetAutoRefresh(d time.Duration) {
	m.every = d
	m.everyGen++
}

// refreshTickMsg is the auto-refresh's tick.
type refreshTickMsg struct{ gen int }

func (m *Model) refreshTick() tea.Cmd {
	if m.every <= 0 {
		return nil
	}
	gen := m.everyGen
	return tea.Tick(m.every, func(time.Time) tea.Msg { return refreshTickMsg{gen: gen} })
}

// SetSize sets the pane's size.
func (m *Model) SetSize(width, height int) {
	m.Width, m.Height = max(width, 0), max(height, 0)
	m.view = ""
	if m.form != nil {
		w, h := m.formSize()
		m.form = m.form.WithWidth(w).WithHeight(h)
	}
	m.scroll()
}

// Capturing reports that keys go to text input, a form or a question.
func (m *Model) Capturing() bool { return m.mode != modeNormal }

// Selected is the selected node's path.
func (m *Model) Selected() string { return m.sel }

// ---- messages ----

type loadedMsg struct {
	seq    int
	kids   map[string][]row
	gone   []string
	err    error
	expand []string
	choose string // the path to select once loaded
}

type detailsMsg struct {
	seq  int
	path string
	d    *details
	err  error
}

type execMsg struct {
	line   string
	res    result
	choose string // select the created object (the first one added)
	what   string // for the status line when the command prints nothing
	// form is the create form that submitted the line: refused, it opens
	// again with what was typed.
	form *createForm
}

type createsMsg struct {
	path string
	list []createCmd
	err  error
}

type jumpMsg struct {
	target string
	err    error
}

type completeMsg struct {
	text  string
	cands []string
}

// ---- commands (all I/O is here) ----

func (m *Model) exec(line, watch, what string) tea.Cmd {
	r, ctx := m.run, m.ctx
	return func() tea.Msg {
		res := r.exec(ctx, line, watch)
		msg := execMsg{line: line, res: res, what: what}
		if len(res.Added) > 0 {
			msg.choose = res.Added[0]
		}
		return msg
	}
}

// ---- Update ----

// Update handles a message and returns the commands it starts.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	cmd := m.update(msg)
	switch msg.(type) {
	case tea.KeyPressMsg, loadedMsg, detailsMsg, execMsg, createsMsg, jumpMsg, completeMsg, views.StatusMsg:
		m.scroll()
		m.view = ""
	default:
		// Messages for others (the monitor's ticks) change nothing here
		// unless a form or an input is open.
		if m.mode != modeNormal {
			m.view = ""
		}
	}
	return cmd
}

func (m *Model) update(msg tea.Msg) tea.Cmd {
	// Sizes come from the root through SetSize: a tea.WindowSizeMsg is the
	// whole terminal's, not this pane's.
	switch msg := msg.(type) {
	case views.StatusMsg:
		m.status = msg
		return nil
	case refreshTickMsg:
		if msg.gen != m.everyGen {
			return nil
		}
		if m.mode != modeNormal {
			// A form, a question or an input is open: what the user
			// looks at stays put; the next tick tries again.
			return m.refreshTick()
		}
		// The listing's arrival reads the details again too.
		return tea.Batch(m.reload(""), m.refreshTick())
	case loadedMsg:
		return m.onLoaded(msg)
	case detailsMsg:
		if msg.path != m.sel || msg.seq != m.detSeq {
			return nil // stale: the selection moved on, or a newer read is coming
		}
		m.det, m.detErr = msg.d, msg.err
		if msg.err != nil {
			m.setErr(msg.err)
		}
		m.detSel = min(m.detSel, max(len(m.attrs())-1, 0))
		m.scroll()
		return nil
	case execMsg:
		return m.onExec(msg)
	case createsMsg:
		return m.onCreates(msg)
	case jumpMsg:
		if msg.err != nil {
			m.setErr(msg.err)
			return nil
		}
		m.status = views.StatusMsg{Text: "at " + msg.target}
		return m.reload(msg.target, ancestors(msg.target)...)
	case completeMsg:
		return m.onComplete(msg)
	case tea.KeyPressMsg:
		return m.onKey(msg)
	}
	// Anything else (cursor, form internals) goes to what is capturing.
	switch m.mode {
	case modeChoose, modeForm:
		return m.updateForm(msg)
	case modeFilter, modeJump, modeEdit:
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		return cmd
	}
	return nil
}

func (m *Model) setErr(err error) {
	m.status = views.StatusMsg{Text: err.Error(), Err: err}
}

func (m *Model) onExec(msg execMsg) tea.Cmd {
	res := msg.res
	switch {
	case res.Err != nil && msg.form != nil && m.mode == modeNormal:
		// Nothing typed is lost: the form opens again, filled in, with
		// why it was refused.
		m.status = views.StatusMsg{Text: res.Err.Error(), Err: res.Err}
		return tea.Batch(m.reopenCreateForm(msg.form, res.Err), m.reload(""))
	case res.Err != nil:
		text := res.Err.Error()
		m.status = views.StatusMsg{Text: text, Err: res.Err}
	case res.Out != "":
		m.status = views.StatusMsg{Text: res.Out}
	default:
		m.status = views.StatusMsg{Text: msg.what}
	}
	return m.reload(msg.choose, ancestors(msg.choose)...)
}

// ---- keys ----

func (m *Model) onKey(msg tea.KeyPressMsg) tea.Cmd {
	k := m.Keys
	switch m.mode {
	case modeChoose, modeForm:
		return m.updateForm(msg)
	case modeConfirm:
		switch {
		case key.Matches(msg, k.Yes):
			m.mode = modeNormal
			line := m.confirmLine
			m.status = views.StatusMsg{Text: "deleting " + m.confirmWhat}
			return m.exec(line, "", "deleted "+m.confirmWhat)
		case key.Matches(msg, k.No):
			m.mode = modeNormal
			m.status = views.StatusMsg{Text: "not deleted: " + m.confirmWhat}
		}
		return nil
	case modeFilter:
		switch {
		case key.Matches(msg, k.Cancel):
			m.mode, m.filter = modeNormal, ""
			m.input.Blur()
			m.afterMove()
			return m.loadDetails()
		case key.Matches(msg, k.Submit):
			m.mode = modeNormal
			m.input.Blur()
			return nil
		}
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		m.filter = m.input.Value()
		if m.filter != "" && !m.matches(m.sel) {
			if rows := m.visible(); len(rows) > 0 {
				m.sel = m.firstMatch(rows)
			}
		}
		m.scroll()
		return tea.Batch(cmd, m.loadDetails())
	case modeJump:
		switch {
		case key.Matches(msg, k.Cancel):
			m.mode = modeNormal
			m.input.Blur()
			return nil
		case key.Matches(msg, k.Submit):
			m.mode = modeNormal
			m.input.Blur()
			target, r := strings.TrimSpace(m.input.Value()), m.run
			if target == "" {
				return nil
			}
			m.filter = ""
			return func() tea.Msg {
				p, err := r.resolve(target)
				if err != nil {
					return jumpMsg{err: fmt.Errorf("go to %s: %w", target, err)}
				}
				return jumpMsg{target: p}
			}
		case key.Matches(msg, k.Focus):
			m.jumpPrefilled = false
			text, r := m.input.Value(), m.run
			return func() tea.Msg { return completeMsg{text: text, cands: r.complete(text)} }
		}
		if m.jumpPrefilled && msg.Text == "/" {
			m.input.SetValue("")
		}
		m.jumpPrefilled = false
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		return cmd
	case modeEdit:
		switch {
		case key.Matches(msg, k.Cancel):
			m.mode = modeNormal
			m.input.Blur()
			m.status = views.StatusMsg{Text: "not changed: " + m.editing.attr.Name}
			return nil
		case key.Matches(msg, k.Submit):
			m.mode = modeNormal
			m.input.Blur()
			v := m.input.Value()
			if v == m.editing.attr.Value {
				m.status = views.StatusMsg{Text: "unchanged: " + m.editing.attr.Name}
				return nil
			}
			line := fmt.Sprintf("%s set %s %s=%s", shell.Quote(m.det.Path), m.editing.group, m.editing.attr.Name, shell.Quote(v))
			return m.exec(line, "", "set "+m.editing.attr.Name)
		}
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		return cmd
	}
	return m.onNormalKey(msg)
}

func (m *Model) onNormalKey(msg tea.KeyPressMsg) tea.Cmd {
	k := m.Keys
	switch {
	case key.Matches(msg, k.Focus):
		if m.focus == paneTree {
			m.focus = paneDetails
		} else {
			m.focus = paneTree
		}
		return nil
	case key.Matches(msg, k.Cancel):
		if m.filter != "" {
			m.filter = ""
			m.afterMove()
		}
		return nil
	case key.Matches(msg, k.Filter):
		m.mode = modeFilter
		m.input.Prompt = "/"
		m.input.SetWidth(max(m.Width-len(m.input.Prompt)-1, 1))
		m.input.SetValue(m.filter)
		m.input.CursorEnd()
		return m.input.Focus()
	case key.Matches(msg, k.Jump):
		m.mode = modeJump
		m.input.Prompt = "go to: "
		m.input.SetWidth(max(m.Width-len(m.input.Prompt)-1, 1))
		// The selected path with a slash: a name typed goes on from it, a
		// path typed from / replaces it.
		m.input.SetValue(strings.TrimSuffix(m.sel, "/") + "/")
		m.input.CursorEnd()
		m.jumpPrefilled = true
		return m.input.Focus()
	case key.Matches(msg, k.Refresh):
		return m.exec("refresh", "", "refreshed")
	case key.Matches(msg, k.Save):
		m.status = views.StatusMsg{Text: "saving…"}
		return m.exec("saveconfig", "", "saved")
	case key.Matches(msg, k.Create):
		p, r := m.sel, m.run
		return func() tea.Msg {
			list, err := r.creates(p)
			return createsMsg{path: p, list: list, err: err}
		}
	case key.Matches(msg, k.Delete):
		return m.askDelete()
	case key.Matches(msg, k.Toggle):
		return m.toggle()
	case key.Matches(msg, k.Edit):
		return m.startEdit()
	}
	if m.focus == paneDetails {
		return m.detailsKey(msg)
	}
	return m.treeKey(msg)
}

// ---- help ----

// ShortHelp lists the keys of the current mode.
func (m *Model) ShortHelp() []key.Binding {
	k := m.Keys
	switch m.mode {
	case modeConfirm:
		return []key.Binding{k.Yes, k.No}
	case modeFilter, modeEdit:
		return []key.Binding{k.Submit, k.Cancel}
	case modeJump:
		return []key.Binding{k.Submit, withHelp(k.Focus, "tab", "complete"), k.Cancel}
	case modeChoose, modeForm:
		return []key.Binding{withHelp(k.Submit, "enter", "next/ok"), withHelp(k.Focus, "tab", "next"), k.Cancel}
	}
	// The most useful first: the help line cuts what does not fit.
	if m.focus == paneDetails {
		return []key.Binding{k.Edit, k.Focus, k.Create, k.Delete, k.Toggle, k.Save, k.Refresh, k.Up, k.Down}
	}
	return []key.Binding{k.Expand, k.Create, k.Edit, k.Delete, k.Filter, k.Jump, k.Toggle, k.Save, k.Focus, k.Collapse, k.Up, k.Down}
}

// FullHelp lists every key of the browser, by group.
func (m *Model) FullHelp() [][]key.Binding {
	k := m.Keys
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.Expand, k.Collapse, k.Focus, k.Filter, k.Jump, k.Refresh},
		{k.Edit, k.Create, k.Delete, k.Toggle, k.Save},
		{k.Submit, k.Cancel, k.Yes, k.No},
	}
}

// withHelp is a binding with other help text (the keys stay those of the
// key map).
func withHelp(b key.Binding, keys, desc string) key.Binding {
	b.SetHelp(keys, desc)
	return b
}
