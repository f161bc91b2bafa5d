package browser

import (
	"fmt"
	"path"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/tcmsh/tcmsh/views"
)

// The prompt and form component: the one-line input (filter, go to,
// inline edit), the create forms, the delete confirmation, and the
// status lines.

// prompt is the prompt and form component's state.
type prompt struct {
	input textinput.Model // filter, jump and inline edit
	// jumpPrefilled is true while the jump input still holds the selected
	// path it opened with: typing "/" then starts a new absolute path.
	jumpPrefilled bool

	form     *huh.Form
	creates  []createCmd
	choice   *int
	cform    *createForm
	formNode string

	confirmLine, confirmWhat string
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

// formSize is the size of a form inside the body's frame, below its title.
func (m *Model) formSize() (w, h int) {
	return max(m.Width-4, 1), max(m.bodyHeight()-6, 1)
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
