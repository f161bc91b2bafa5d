package keypress

import "testing"

func TestMsgMatchesTheBindingsNames(t *testing.T) {
	for _, s := range []string{"up", "enter", "esc", "tab", "ctrl+s", "G", "/", ":", "pgdown", "space", "f2"} {
		if got := Msg(s).String(); got != s {
			t.Errorf("Msg(%q).String() = %q", s, got)
		}
	}
}
