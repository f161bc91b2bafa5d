// Package views owns what every full-screen pane of tcmsh shares: the
// styles (one Styles, colours off with NO_COLOR), the key map (one KeyMap,
// listed in the help line through bubbles/help), the Common state each
// pane embeds (size, styles, keys) and the Pane contract the root model
// drives. The panes themselves live in subpackages: browser (the configfs
// tree, details and forms) and monitor (the live TCMU ring monitor); app
// is the root model that switches between them.
package views

import (
	"os"

	"charm.land/bubbles/v2/help"
	tea "charm.land/bubbletea/v2"
)

// Common is embedded by every pane: its size, and the one set of styles and
// keys of the program.
type Common struct {
	Width, Height int
	Styles        *Styles
	Keys          *KeyMap
}

// NewCommon returns the shared state for a program; colours follow
// ColorEnabled.
func NewCommon() *Common {
	return &Common{Styles: NewStyles(ColorEnabled()), Keys: DefaultKeyMap()}
}

// ColorEnabled reports whether colours are wanted: not when NO_COLOR is set
// to anything (https://no-color.org) or TERM is "dumb".
func ColorEnabled() bool {
	if _, ok := os.LookupEnv("NO_COLOR"); ok {
		return false
	}
	return os.Getenv("TERM") != "dumb"
}

// Pane is one full-screen face (the browser, the monitor). The root model
// owns the terminal: it gives each pane its size, forwards messages to the
// visible pane (and typed messages addressed to a hidden one), and draws
// the help line from the pane's keys. A pane does I/O only in the tea.Cmds
// it returns, never in Update or View.
type Pane interface {
	Init() tea.Cmd
	Update(msg tea.Msg) tea.Cmd
	// View renders exactly the pane's size (Width × Height), without the
	// help line.
	View() string
	SetSize(width, height int)
	// Capturing reports that the pane is taking text input (a filter, a
	// form, an inline edit): the root must not act on global keys such as
	// q then.
	Capturing() bool
	help.KeyMap
}

// StatusMsg is a line for the status bar: what a command did, or why it
// failed (Err set).
type StatusMsg struct {
	Text string
	Err  error
}
