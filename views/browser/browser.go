// Package browser is the TUI's configfs browser: a tree of the whole
// targetcli tree (loaded lazily, filtered, jumped through), the details of
// the selected node (info, configuration groups with read-only marks, the
// command that recreates it), inline editing of attributes, create forms
// built from the shell's command table, delete with confirmation,
// enable/disable, save and a status line.
//
// Every change goes through the shell's own command layer (shell.Parse and
// Run of a command line), in tea.Cmds; the Model never touches the kernel
// in Update or View. A mutex in the model's runner serializes the shell,
// which is used by one goroutine at a time.
package browser

import (
	"context"
	"fmt"
	"path"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"

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

	nodes  map[string]*node
	sel    string
	offset int // first visible tree row
	focus  pane
	mode   mode

	filter string
	input  textinput.Model // filter, jump and inline edit
	// jumpPrefilled is true while the jump input still holds the selected
	// path it opened with: typing "/" then starts a new absolute path.
	jumpPrefilled bool

	det       *details
	detErr    error
	detSel    int // index into attrs()
	detOffset int
	editing   attrRef

	form     *huh.Form
	creates  []createCmd
	choice   *int
	cform    *createForm
	formNode string

	confirmLine, confirmWhat string

	view string // the last View, until something changes

	// Sequence numbers of the listings and details asked for, so that
	// an older answer arriving late is dropped.
	loadSeq, loadApplied, detSeq int

	// every is the auto-refresh interval (0: off); everyGen drops the
	// ticks of an interval set before.
	every    time.Duration
	everyGen int

	detCache struct {
		key   detailsKey
		lines []string
		at    int
	}

	status views.StatusMsg
}

// New returns a browser over the shell's tree, starting at the root.
func New(c *views.Common, sh *shell.Shell) *Model {
	m := &Model{
		Common: *c,
		ctx:    context.Background(),
		run:    &runner{sh: sh},
		gen:    generateWWN,
		nodes:  map[string]*node{"/": {row: row{Path: "/", Name: "/", Kind: "root"}, expanded: true}},
		sel:    "/",
	}
	m.input = m.newInput()
	return m
}

func (m *Model) newInput() textinput.Model {
	ti := textinput.New()
	st := ti.Styles()
	st.Cursor.Blink = false
	st.Cursor.Color = nil
	for _, s := range []*textinput.StyleState{&st.Focused, &st.Blurred} {
		s.Prompt = m.Styles.Key
		s.Text = m.Styles.Value
		s.Placeholder = m.Styles.Dim
		s.Suggestion = m.Styles.Dim
	}
	ti.SetStyles(st)
	return ti
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

func (m *Model) loadDetails() tea.Cmd {
	m.detSeq++
	p, r, seq := m.sel, m.run, m.detSeq
	return func() tea.Msg {
		d, err := r.details(p)
		return detailsMsg{seq: seq, path: p, d: d, err: err}
	}
}

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

func (m *Model) onCreates(msg createsMsg) tea.Cmd {
	if msg.err != nil {
		m.setErr(msg.err)
		return nil
	}
	switch len(msg.list) {
	case 0:
		m.status = views.StatusMsg{Text: "nothing can be created in " + msg.path, Err: fmt.Errorf("nothing can be created in %s", msg.path)}
		return nil
	case 1:
		return m.openCreateForm(msg.list[0])
	}
	m.creates = msg.list
	choice := 0
	m.choice = &choice
	opts := make([]huh.Option[int], len(msg.list))
	for i, c := range msg.list {
		opts[i] = huh.NewOption(c.Label, i)
	}
	sel := huh.NewSelect[int]().Key("what").Title("Create what in " + msg.path + "?").Options(opts...).Value(m.choice)
	m.formNode = msg.path
	return m.openForm(modeChoose, huh.NewGroup(sel))
}

// reopenCreateForm opens a refused create form again with its values.
func (m *Model) reopenCreateForm(prev *createForm, why error) tea.Cmd {
	cf, fields := newCreateForm(prev.cc, m.gen, prev)
	cf.refused = why.Error()
	m.cform = cf
	m.formNode = prev.cc.Node
	return m.openForm(modeForm, huh.NewGroup(fields...).Title(prev.cc.Cmd.Summary))
}

func (m *Model) openCreateForm(cc createCmd) tea.Cmd {
	cf, fields := newCreateForm(cc, m.gen, nil)
	m.cform = cf
	m.formNode = cc.Node
	if len(fields) == 0 {
		return m.submitCreate()
	}
	return m.openForm(modeForm, huh.NewGroup(fields...).Title(cc.Cmd.Summary))
}

func (m *Model) openForm(md mode, g *huh.Group) tea.Cmd {
	w, h := m.formSize()
	m.form = huh.NewForm(g).WithTheme(formTheme(m.Styles)).WithKeyMap(formKeys(m.Keys)).
		WithShowHelp(false).WithWidth(w).WithHeight(h)
	m.mode = md
	return m.form.Init()
}

func (m *Model) closeForm() {
	m.form, m.cform, m.creates, m.choice = nil, nil, nil, nil
	m.mode = modeNormal
}

func (m *Model) updateForm(msg tea.Msg) tea.Cmd {
	if m.form == nil {
		m.mode = modeNormal
		return nil
	}
	if k, ok := msg.(tea.KeyPressMsg); ok && key.Matches(k, m.Keys.Cancel) {
		m.closeForm()
		m.status = views.StatusMsg{Text: "cancelled: nothing created"}
		return nil
	}
	fm, cmd := m.form.Update(msg)
	if f, ok := fm.(*huh.Form); ok {
		m.form = f
	}
	switch m.form.State {
	case huh.StateAborted:
		m.closeForm()
		m.status = views.StatusMsg{Text: "cancelled: nothing created"}
		return nil
	case huh.StateCompleted:
		if m.mode == modeChoose {
			cc := m.creates[*m.choice]
			m.closeForm()
			return m.openCreateForm(cc)
		}
		return m.submitCreate()
	}
	return cmd
}

func (m *Model) submitCreate() tea.Cmd {
	cf := m.cform
	line := cf.line()
	m.closeForm()
	m.status = views.StatusMsg{Text: "running: " + line}
	run := m.exec(line, cf.cc.Node, "created")
	return func() tea.Msg {
		msg := run().(execMsg)
		msg.form = cf
		return msg
	}
}

func (m *Model) onComplete(msg completeMsg) tea.Cmd {
	if m.mode != modeJump || m.input.Value() != msg.text {
		return nil // the text changed meanwhile
	}
	switch len(msg.cands) {
	case 0:
		m.status = views.StatusMsg{Text: "no completion for " + msg.text}
	case 1:
		m.input.SetValue(msg.cands[0] + "/")
		m.input.CursorEnd()
	default:
		prefix := commonPrefix(msg.cands)
		if len(prefix) > len(msg.text) {
			m.input.SetValue(prefix)
			m.input.CursorEnd()
		}
		names := make([]string, len(msg.cands))
		for i, c := range msg.cands {
			names[i] = path.Base(c)
		}
		m.status = views.StatusMsg{Text: strings.Join(names, "  ")}
	}
	return nil
}

func commonPrefix(ss []string) string {
	p := ss[0]
	for _, s := range ss[1:] {
		for !strings.HasPrefix(s, p) {
			p = p[:len(p)-1]
		}
	}
	return p
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

func (m *Model) loadChildren(p string) tea.Cmd {
	m.loadSeq++
	r, seq := m.run, m.loadSeq
	return func() tea.Msg {
		kids, gone, err := r.load([]string{p})
		return loadedMsg{seq: seq, kids: kids, gone: gone, err: err, expand: []string{p}}
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

// afterMove resets what depends on the selected node.
func (m *Model) afterMove() {
	if m.det == nil || m.det.Path != m.sel {
		m.detSel, m.detOffset = 0, 0
	}
	m.scroll()
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

func (m *Model) askDelete() tea.Cmd {
	n := m.nodes[m.sel]
	if n == nil {
		return nil
	}
	line, what := n.DeleteLine, n.DeleteWhat
	if line == "" {
		err := fmt.Errorf("%s cannot be deleted (it is part of its parent)", m.sel)
		m.setErr(err)
		return nil
	}
	m.mode = modeConfirm
	m.confirmLine, m.confirmWhat = line, what
	return nil
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
