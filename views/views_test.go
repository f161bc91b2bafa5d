package views

import (
	"strings"
	"testing"

	"charm.land/bubbles/v2/key"
)

func TestColorEnabledFollowsNoColor(t *testing.T) {
	for _, tc := range []struct {
		noColor, term string
		setNoColor    bool
		want          bool
	}{
		{term: "xterm-256color", want: true},
		{term: "xterm-256color", setNoColor: true, want: false},
		{term: "xterm-256color", setNoColor: true, noColor: "1", want: false},
		{term: "dumb", want: false},
	} {
		t.Setenv("TERM", tc.term)
		if tc.setNoColor {
			t.Setenv("NO_COLOR", tc.noColor)
		}
		if got := ColorEnabled(); got != tc.want {
			t.Errorf("TERM=%q NO_COLOR set=%v: ColorEnabled() = %v, want %v", tc.term, tc.setNoColor, got, tc.want)
		}
	}
}

func TestStylesWithoutColourUseNoColourSequences(t *testing.T) {
	s := NewStyles(false)
	for name, out := range map[string]string{
		"Err": s.Err.Render("x"), "OK": s.OK.Render("x"), "Dim": s.Dim.Render("x"),
		"Spark": s.Spark.Render("x"), "Border": s.BorderFocus.Render("x"),
	} {
		// SGR 30–38/40–48 and 90–107 are colours; 38;/48; are extended.
		for _, seq := range []string{"[3", "[4", "[9", ";3", ";4", ";9"} {
			if strings.Contains(out, "\x1b"+seq) || strings.Contains(out, seq+"8;") {
				t.Errorf("%s with colours off renders %q, which holds a colour", name, out)
			}
		}
	}
	if sel := s.Selected.Render("x"); !strings.Contains(sel, "\x1b[7m") && !strings.Contains(sel, ";7m") {
		t.Errorf("the selection with colours off is not reverse video: %q", sel)
	}
}

func TestKeyMapHasNoClashesWithinAFace(t *testing.T) {
	k := DefaultKeyMap()
	faces := map[string][]key.Binding{
		"browser": {k.Quit, k.Help, k.Browser, k.Monitor, k.Focus, k.Up, k.Down, k.PageUp, k.PageDown,
			k.Top, k.Bottom, k.Expand, k.Collapse, k.Filter, k.Jump, k.Edit, k.Create, k.Delete, k.Toggle, k.Save, k.Refresh},
		"monitor": {k.Quit, k.Help, k.Browser, k.Monitor, k.Focus, k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom, k.Pause},
	}
	for face, bindings := range faces {
		seen := map[string]string{}
		for _, b := range bindings {
			for _, ks := range b.Keys() {
				if other, ok := seen[ks]; ok {
					t.Errorf("%s: key %q is both %q and %q", face, ks, other, b.Help().Desc)
				}
				seen[ks] = b.Help().Desc
			}
		}
	}
}
