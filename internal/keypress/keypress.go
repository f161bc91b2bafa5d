// Package keypress makes Bubble Tea key presses from the names that key
// bindings use ("enter", "ctrl+s", "shift+tab", "G"), for tests that drive
// a model by keys.
package keypress

import (
	"strings"

	tea "charm.land/bubbletea/v2"
)

// special maps the names of keys that are not characters to their codes.
var special = map[string]rune{
	"up": tea.KeyUp, "down": tea.KeyDown, "left": tea.KeyLeft, "right": tea.KeyRight,
	"enter": tea.KeyEnter, "esc": tea.KeyEscape, "tab": tea.KeyTab, "pgup": tea.KeyPgUp,
	"pgdown": tea.KeyPgDown, "home": tea.KeyHome, "end": tea.KeyEnd, "delete": tea.KeyDelete,
	"space": tea.KeySpace, "backspace": tea.KeyBackspace, "f2": tea.KeyF2, "f3": tea.KeyF3,
}

// Msg is the key press that a binding names: a special key ("up",
// "pgdown", "space", …), one with ctrl+ or shift+ before it, or a
// character ("G", "/"), which is also the press's text. Its String gives s
// back.
func Msg(s string) tea.KeyPressMsg {
	if base, ok := strings.CutPrefix(s, "ctrl+"); ok {
		return tea.KeyPressMsg{Code: []rune(base)[0], Mod: tea.ModCtrl}
	}
	if base, ok := strings.CutPrefix(s, "shift+"); ok {
		return tea.KeyPressMsg{Code: special[base], Mod: tea.ModShift}
	}
	if r, ok := special[s]; ok {
		k := tea.KeyPressMsg{Code: r}
		if s == "space" {
			k.Text = " "
		}
		return k
	}
	r := []rune(s)[0]
	return tea.KeyPressMsg{Code: r, Text: s}
}
