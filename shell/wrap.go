package shell

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// wrapWords word-wraps text into lines of at most width display columns
// (a wide, CJK, character takes two). A word wider than a whole line is
// the only thing broken (a long path).
func wrapWords(text string, width int) []string {
	width = max(width, 10)
	var lines []string
	var cur strings.Builder
	col := 0
	for _, w := range strings.Fields(text) {
		ww := textWidth(w)
		if col > 0 && col+1+ww > width {
			lines = append(lines, cur.String())
			cur.Reset()
			col = 0
		}
		if col > 0 {
			cur.WriteByte(' ')
			col++
		}
		for ww > width-col {
			if col > 0 {
				lines = append(lines, cur.String())
				cur.Reset()
				col = 0
				continue
			}
			head := ansi.Truncate(w, width, "")
			lines = append(lines, head)
			w = strings.TrimPrefix(w, head)
			ww = textWidth(w)
		}
		cur.WriteString(w)
		col += ww
	}
	if cur.Len() > 0 || len(lines) == 0 {
		lines = append(lines, cur.String())
	}
	return lines
}

// wrapHanging wraps one line to width: its leading blanks stay, and the
// lines after the first start with indent spaces.
func wrapHanging(line string, width, indent int) string {
	if textWidth(line) <= width || width <= indent+10 {
		return line
	}
	body := strings.TrimLeft(line, " ")
	lead := len(line) - len(body)
	first := wrapWords(body, width-lead)
	rest := wrapWords(strings.TrimSpace(strings.TrimPrefix(body, first[0])), width-indent)
	out := line[:lead] + first[0]
	if strings.TrimSpace(strings.TrimPrefix(body, first[0])) == "" {
		return out
	}
	pad := strings.Repeat(" ", indent)
	for _, l := range rest {
		out += "\n" + pad + l
	}
	return out
}

// wrapParagraphs wraps each line of a multi-line text on its own, with
// continuation lines indented like the line itself (help texts are laid
// out by hand: lists and examples keep their shape).
func wrapParagraphs(text string, width int) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = wrapHanging(l, width, len(l)-len(strings.TrimLeft(l, " ")))
	}
	return strings.Join(lines, "\n")
}

// column lays out a left part padded to col display columns, then text
// word-wrapped to width with its continuation lines under col; a left part
// too wide for the column puts text on the next line.
func column(left string, col int, text string, width int) string {
	var b strings.Builder
	lw := textWidth(left)
	b.WriteString(left)
	if lw >= col {
		b.WriteString("\n")
		lw = 0
	}
	b.WriteString(strings.Repeat(" ", col-lw))
	for i, l := range wrapWords(text, width-col) {
		if i > 0 {
			b.WriteString("\n" + strings.Repeat(" ", col))
		}
		b.WriteString(l)
	}
	return b.String()
}

// textWidth is ansi.StringWidth with a fast path for printable ASCII, what
// nearly every line of a listing is (the grapheme walk was a tenth of an
// `ls`'s own CPU time).
func textWidth(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			return ansi.StringWidth(s)
		}
	}
	return len(s)
}
