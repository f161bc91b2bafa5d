package views

import "charm.land/bubbles/v2/key"

// KeyMap is every key binding of the TUI, in one place so that panes cannot
// disagree and the help line lists what a key really does.
type KeyMap struct {
	// Global.
	Quit    key.Binding
	Help    key.Binding
	Browser key.Binding
	Monitor key.Binding
	Focus   key.Binding // next pane within a face (tree ↔ details)

	// Moving in lists and trees.
	Up       key.Binding
	Down     key.Binding
	PageUp   key.Binding
	PageDown key.Binding
	Top      key.Binding
	Bottom   key.Binding
	Expand   key.Binding
	Collapse key.Binding

	// The browser.
	Filter  key.Binding
	Jump    key.Binding
	Edit    key.Binding
	Create  key.Binding
	Delete  key.Binding
	Toggle  key.Binding // enable/disable
	Save    key.Binding
	Refresh key.Binding

	// Forms, prompts and confirmations.
	Submit key.Binding
	Cancel key.Binding
	Yes    key.Binding
	No     key.Binding

	// The monitor.
	Pause key.Binding
}

// DefaultKeyMap is tcmsh's key map.
func DefaultKeyMap() *KeyMap {
	b := func(help, desc string, keys ...string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	return &KeyMap{
		Quit:    b("q", "quit", "q", "ctrl+c"),
		Help:    b("?", "help", "?"),
		Browser: b("b", "browser", "b", "f2"),
		Monitor: b("m", "monitor", "m", "f3"),
		Focus:   b("tab", "switch pane", "tab"),

		Up:       b("↑/k", "up", "up", "k"),
		Down:     b("↓/j", "down", "down", "j"),
		PageUp:   b("pgup", "page up", "pgup", "ctrl+b"),
		PageDown: b("pgdn", "page down", "pgdown", "ctrl+f"),
		Top:      b("home", "top", "home", "g"),
		Bottom:   b("end", "bottom", "end", "G"),
		Expand:   b("→/enter", "expand", "right", "l", "enter"),
		Collapse: b("←", "collapse", "left", "h"),

		Filter:  b("/", "filter", "/"),
		Jump:    b(":", "go to path", ":"),
		Edit:    b("e", "edit", "e"),
		Create:  b("c", "create", "c", "n"),
		Delete:  b("d", "delete", "d", "delete"),
		Toggle:  b("t", "enable/disable", "t"),
		Save:    b("s", "save config", "s", "ctrl+s"),
		Refresh: b("r", "refresh", "r", "ctrl+r"),

		Submit: b("enter", "ok", "enter"),
		Cancel: b("esc", "cancel", "esc"),
		Yes:    b("y", "yes", "y", "Y"),
		No:     b("n", "no", "n", "N", "esc"),

		Pause: b("p/space", "pause log", "p", "space"),
	}
}
