package views

// The one frame helper of the faces: fitting styled text to a width
// (Width, Fit, Cut, FitBlock) and drawing frames with a title in the top
// edge (Boxes), fast enough for the monitor's 5 Hz redraw.

import (
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// Width is the cells s takes on screen. Most of what the monitor draws is
// ASCII, box drawing, blocks and a few symbols, all one cell each: it
// counts those without the full grapheme segmentation, which dominated
// the cost of a frame.
func Width(s string) int {
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

// Fit cuts a (possibly styled) line to w cells, with an ellipsis when it
// had to cut, and pads it with spaces to exactly w cells.
func Fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := Width(s)
	if sw > w {
		s = ansi.Truncate(s, w, "…")
		sw = Width(s)
	}
	if sw < w {
		s += Spaces(w - sw)
	}
	return s
}

const blanks = "                                                                                                                                "

// Spaces is n blanks.
func Spaces(n int) string {
	if n <= len(blanks) {
		return blanks[:n]
	}
	return strings.Repeat(" ", n)
}

// Cut is Fit text, without the padding.
func Cut(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if Width(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

// edges are the styled pieces of a frame of one width: its top and bottom
// lines and the left and right edge of the lines between.
type edges struct {
	top, bottom, left, right string
}

// Boxes draws frames in one border style. The edges of each width are
// rendered by lipgloss once and reused: rendering the whole frame each
// time measured every line again.
type Boxes struct {
	border, title lipgloss.Style
	byWidth       map[int]*edges
}

// NewBoxes draws frames with border and titles in title.
func NewBoxes(border, title lipgloss.Style) *Boxes {
	return &Boxes{border: border, title: title, byWidth: map[int]*edges{}}
}

func (bx *Boxes) edges(w int) *edges {
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
	if Width(e.top) != w || Width(e.left)+Width(e.right) != 2 {
		// A border that is not one cell on each side: draw none.
		e = &edges{top: Spaces(w), bottom: Spaces(w), left: " ", right: " "}
	}
	bx.byWidth[w] = e
	return e
}

// Box frames lines, w × h cells in all, with title set into the top edge.
// Lines beyond the inner height are dropped, missing ones are blank. It
// appends the frame's lines to out.
func (bx *Boxes) Box(out []string, title string, lines []string, w, h int) []string {
	if w < 2 || h < 2 {
		for range max(h, 0) {
			out = append(out, Spaces(max(w, 0)))
		}
		return out
	}
	iw, ih := w-2, h-2
	e := bx.edges(w)
	top := e.top
	if title != "" && iw >= 5 {
		t := bx.title.Render(" " + Cut(title, iw-4) + " ")
		top = ansi.Truncate(top, 2, "") + t + ansi.TruncateLeft(top, 2+Width(t), "")
	}
	out = append(out, top)
	for i := range ih {
		if i < len(lines) {
			out = append(out, e.left+Fit(lines[i], iw)+e.right)
		} else {
			out = append(out, e.left+Spaces(iw)+e.right)
		}
	}
	return append(out, e.bottom)
}

// FitBlock makes lines exactly w × h cells: each line cut or padded,
// lines added or dropped.
func FitBlock(lines []string, w, h int) string {
	var b strings.Builder
	b.Grow(h * (w + 8))
	for i := range h {
		if i > 0 {
			b.WriteByte('\n')
		}
		if i < len(lines) {
			b.WriteString(Fit(lines[i], w))
		} else {
			b.WriteString(Spaces(w))
		}
	}
	return b.String()
}
