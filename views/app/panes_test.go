package app

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/shell"
	"github.com/tcmsh/tcmsh/sim"
	"github.com/tcmsh/tcmsh/views"
	"github.com/tcmsh/tcmsh/views/browser"
	"github.com/tcmsh/tcmsh/views/monitor"
)

// TestRealPanesFillTheScreen puts the real browser and monitor under the
// root (before any of their commands ran: the first frame a user sees)
// and checks the screen is exactly the terminal's size at every size the
// TUI promises, on both faces, with the short and the full help.
func TestRealPanesFillTheScreen(t *testing.T) {
	dir := t.TempDir()
	k, err := sim.Open(dir, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	lio, err := configfs.Open(k, "/sys/kernel/config", configfs.Options{Kind: "sim", LockPath: filepath.Join(dir, "hba.lock")})
	if err != nil {
		t.Fatal(err)
	}
	sh := shell.New(shell.Env{LIO: lio, Kind: "sim", AvailableFabrics: sim.DefaultFabrics}, shell.Options{Out: io.Discard, Err: io.Discard})
	c := &views.Common{Styles: views.NewStyles(false), Keys: views.DefaultKeyMap()}
	m := New(c, browser.New(c, sh), monitor.New(c, nil), FaceBrowser, KernelTitle(sh.Env()))
	for _, size := range [][2]int{{80, 24}, {100, 30}, {60, 20}, {160, 50}} {
		m.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		for _, keys := range []string{"", "m", "?", "b", "?"} {
			if keys != "" {
				press(m, keys)
			}
			screen := m.Render()
			checkSize(t, screen, size[0], size[1])
			// The Pane contract: the pane draws exactly its size (the
			// root's fit would hide a pane that does not).
			t.Run(fmt.Sprintf("%s_%dx%d_%s", m.Face(), size[0], size[1], map[bool]string{true: "fullhelp", false: "help"}[m.help.ShowAll]), func(t *testing.T) {
				checkSize(t, m.Pane().View(), size[0], m.paneHeight())
			})
			lines := strings.Split(ansi.Strip(screen), "\n")
			if !strings.Contains(lines[0], "["+m.Face()+"]") {
				t.Errorf("%dx%d after %q: title %q does not show the %s", size[0], size[1], keys, lines[0], m.Face())
			}
		}
	}
}
