package monitor

import (
	"fmt"
	"math"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/tcmsh/tcmsh/internal/size"
)

// width is the cells s takes on screen. Most of what the monitor draws is
// ASCII, box drawing, blocks and a few symbols, all one cell each: it
// counts those without the full grapheme segmentation, which dominated
// the cost of a frame.
func width(s string) int {
	plain := s
	if strings.IndexByte(s, 0x1b) >= 0 {
		plain = ansi.Strip(s)
	}
	n := 0
	for i := 0; i < len(plain); i++ {
		if plain[i] >= 0x80 {
			return narrowWidth(plain, n, i)
		}
		n++
	}
	return n
}

// narrowWidth goes on from byte i of s (n cells so far) through runes that
// are surely one cell wide, or gives the string to ansi.StringWidth.
func narrowWidth(s string, n, i int) int {
	for _, r := range s[i:] {
		// Latin, dashes and ellipsis, arrows, box drawing, blocks and
		// most geometric shapes (not U+25FD/25FE, emoji that are wide).
		if r < 0x300 || (r >= 0x2010 && r <= 0x2027) || (r >= 0x2190 && r <= 0x21ff) || (r >= 0x2500 && r <= 0x25fc) {
			n++
			continue
		}
		return ansi.StringWidth(s)
	}
	return n
}

// fit cuts a (possibly styled) line to w cells, with an ellipsis when it
// had to cut, and pads it with spaces to exactly w cells.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := width(s)
	if sw > w {
		s = ansi.Truncate(s, w, "…")
		sw = width(s)
	}
	if sw < w {
		s += spaces(w - sw)
	}
	return s
}

const blanks = "                                                                                                                                "

func spaces(n int) string {
	if n <= len(blanks) {
		return blanks[:n]
	}
	return strings.Repeat(" ", n)
}

// cut is fit for plain text, without the padding.
func cut(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if width(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

// edges are the styled pieces of a frame of one width: its top and bottom
// lines and the left and right edge of the lines between.
type edges struct {
	top, bottom, left, right string
}

// boxes draws frames in one border style. The edges of each width are
// rendered by lipgloss once and reused: rendering the whole frame each
// time measured every line again.
type boxes struct {
	border, title lipgloss.Style
	byWidth       map[int]*edges
}

func newBoxes(border, title lipgloss.Style) *boxes {
	return &boxes{border: border, title: title, byWidth: map[int]*edges{}}
}

func (bx *boxes) edges(w int) *edges {
	if e := bx.byWidth[w]; e != nil {
		return e
	}
	iw := w - 2
	lines := strings.Split(bx.border.Render(strings.Repeat(" ", iw)), "\n")
	e := &edges{}
	if len(lines) == 3 {
		e.top, e.bottom = lines[0], lines[2]
		e.left = ansi.Truncate(lines[1], 1, "")
		e.right = ansi.TruncateLeft(lines[1], 1+iw, "")
	}
	if width(e.top) != w || width(e.left)+width(e.right) != 2 {
		// A border that is not one cell on each side: draw none.
		e = &edges{top: spaces(w), bottom: spaces(w), left: " ", right: " "}
	}
	bx.byWidth[w] = e
	return e
}

// box frames lines, w × h cells in all, with title set into the top edge.
// Lines beyond the inner height are dropped, missing ones are blank. It
// appends the frame's lines to out.
func (bx *boxes) box(out []string, title string, lines []string, w, h int) []string {
	if w < 2 || h < 2 {
		for range max(h, 0) {
			out = append(out, spaces(max(w, 0)))
		}
		return out
	}
	iw, ih := w-2, h-2
	e := bx.edges(w)
	top := e.top
	if title != "" && iw >= 5 {
		t := bx.title.Render(" " + cut(title, iw-4) + " ")
		top = ansi.Truncate(top, 2, "") + t + ansi.TruncateLeft(top, 2+width(t), "")
	}
	out = append(out, top)
	for i := range ih {
		if i < len(lines) {
			out = append(out, e.left+fit(lines[i], iw)+e.right)
		} else {
			out = append(out, e.left+spaces(iw)+e.right)
		}
	}
	return append(out, e.bottom)
}

// fitBlock makes lines exactly w × h cells: each line cut or padded,
// lines added or dropped.
func fitBlock(lines []string, w, h int) string {
	var b strings.Builder
	b.Grow(h * (w + 8))
	for i := range h {
		if i > 0 {
			b.WriteByte('\n')
		}
		if i < len(lines) {
			b.WriteString(fit(lines[i], w))
		} else {
			b.WriteString(spaces(w))
		}
	}
	return b.String()
}

// fmtCount is a count or a rate in at most 6 cells: 950, 12.3k, 4.56M.
func fmtCount(v float64) string {
	switch {
	case v < 0 || math.IsNaN(v):
		return "-"
	case v < 1000:
		return fmt.Sprintf("%.0f", v)
	case v < 1e6:
		return fmt.Sprintf("%.1fk", v/1e3)
	case v < 1e9:
		return fmt.Sprintf("%.2fM", v/1e6)
	}
	return fmt.Sprintf("%.2fG", v/1e9)
}

// fmtMBps is a bandwidth in MB/s (10^6 bytes, as `workload` reports it).
func fmtMBps(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// fmtBytes is a size in IEC units: 512B, 12.0KiB, 1.0GiB (size.Format).
func fmtBytes(n uint64) string { return size.Format(int64(min(n, math.MaxInt64))) }

// fmtMicros is a latency given in µs: 0.8µs, 64µs, 1.2ms, 2.50s.
func fmtMicros(us float64) string {
	switch {
	case us < 10:
		return fmt.Sprintf("%.1fµs", us)
	case us < 1000:
		return fmt.Sprintf("%.0fµs", us)
	case us < 1e6:
		return fmt.Sprintf("%.1fms", us/1e3)
	}
	return fmt.Sprintf("%.2fs", us/1e6)
}

var sparkRunes = []rune("▁▂▃▄▅▆▇█")

// spark draws the samples of h over the window ending at now as width
// columns (each the mean of the samples that fall in it, blank where none
// do), scaled to the highest column. It returns the highest sample: a
// column's mean can be below the samples in it, the current one included,
// and "max" below the value beside it reads as a bug. cols and cnt are
// scratch space of at least width entries.
func spark(b *strings.Builder, h *history, mbps bool, now int64, width int, cols []float64, cnt []int32) float64 {
	cols, cnt = cols[:width], cnt[:width]
	for i := range cols {
		cols[i], cnt[i] = 0, 0
	}
	start := now - int64(window)
	highest := 0.0
	for i := range h.n {
		s := h.at(i)
		if s.t <= start || s.t > now {
			continue
		}
		c := int((s.t - start) * int64(width) / int64(window))
		c = min(max(c, 0), width-1)
		v := s.iops
		if mbps {
			v = s.mbps
		}
		cols[c] += v
		cnt[c]++
		highest = max(highest, v)
	}
	peak := 0.0
	for i := range cols {
		if cnt[i] > 0 {
			cols[i] /= float64(cnt[i])
			peak = max(peak, cols[i])
		}
	}
	for i := range cols {
		if cnt[i] == 0 {
			b.WriteByte(' ')
			continue
		}
		lvl := 0
		if peak > 0 {
			lvl = int(math.Round(cols[i] / peak * float64(len(sparkRunes)-1)))
		}
		b.WriteRune(sparkRunes[min(max(lvl, 0), len(sparkRunes)-1)])
	}
	return highest
}

// gauge draws used against size as a bar of width cells, with a marker
// where the maximum reached is.
func gauge(full, empty lipgloss.Style, used, peak, size uint64, width int) string {
	if width <= 0 {
		return ""
	}
	if size == 0 { // unknown: nothing to measure against
		return empty.Render(strings.Repeat("░", width))
	}
	at := func(v uint64) int {
		return int(min(float64(v)/float64(size), 1) * float64(width))
	}
	u, p := at(used), at(peak)
	if used > 0 && u == 0 {
		u = 1
	}
	if p >= width {
		p = width - 1
	}
	var fb, eb strings.Builder
	for i := range width {
		switch {
		case i < u:
			fb.WriteString("█")
		case i == p && peak > used:
			eb.WriteString("│")
		default:
			eb.WriteString("░")
		}
	}
	return full.Render(fb.String()) + empty.Render(eb.String())
}
