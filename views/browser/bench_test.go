package browser

import (
	"fmt"
	"testing"

	"github.com/tcmsh/tcmsh/internal/keypress"
)

// BenchmarkMoveAndView is one key press on a tree of 64 storage objects,
// each exported by a loopback LUN, all expanded: Update (with the details
// load it starts) and View at 120×40.
func BenchmarkMoveAndView(b *testing.B) {
	t := &testing.T{}
	f := newFixture(t, 120, 40)
	f.t = t
	var lines []string
	lines = append(lines, "/loopback create naa.5001405aaaaaaaaa")
	for i := range 64 {
		lines = append(lines, fmt.Sprintf("/backstores/ramdisk create r%d 1M", i),
			fmt.Sprintf("/loopback/naa.5001405aaaaaaaaa/luns create /backstores/ramdisk/r%d", i))
	}
	f.shell(lines...)
	f.jump("/backstores/ramdisk/r0")
	f.jump("/loopback/naa.5001405aaaaaaaaa/luns/lun0")
	f.keys("g")
	down, up := keypress.Msg("down"), keypress.Msg("up")
	b.ResetTimer()
	for i := range b.N {
		k := down
		if i%200 >= 100 {
			k = up
		}
		f.run(f.m.Update(k))
		_ = f.m.View()
	}
}

type otherMsg struct{}

// BenchmarkIdle is what the browser costs while another pane's ticks go
// by (the root forwards them to both panes and draws the visible one).
func BenchmarkIdle(b *testing.B) {
	t := &testing.T{}
	f := newFixture(t, 120, 40)
	f.t = t
	f.populate()
	f.jump("/loopback/naa.5001405aaaaaaaaa/luns/lun0")
	for range b.N {
		f.m.Update(otherMsg{})
		_ = f.m.View()
	}
}
