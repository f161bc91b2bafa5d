package monitor

import (
	"fmt"
	"math"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// fit cuts a (possibly styled) line to w cells, with an ellipsis when it
// had to cut, and pads it with spaces to exactly w cells.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := ansi.StringWidth(s)
	if sw > w {
		s = ansi.Truncate(s, w, "…")
		sw = ansi.StringWidth(s)
	}
	if sw < w {
		s += strings.Repeat(" ", w-sw)
	}
	return s
}

// cut is fit for plain text, without the padding.
func cut(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if ansi.StringWidth(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

// box frames lines in border (a style with a border), w × h cells in all,
// with title set into the top edge. Lines beyond the inner height are
// dropped, missing ones are blank.
func box(border, titleStyle lipgloss.Style, title string, lines []string, w, h int) string {
	if w < 2 || h < 2 {
		return ""
	}
	iw, ih := w-2, h-2
	var b strings.Builder
	for i := range ih {
		if i > 0 {
			b.WriteByte('\n')
		}
		if i < len(lines) {
			b.WriteString(fit(lines[i], iw))
		} else {
			b.WriteString(strings.Repeat(" ", iw))
		}
	}
	out := border.Render(b.String())
	if title == "" || iw < 5 {
		return out
	}
	top, rest, _ := strings.Cut(out, "\n")
	t := titleStyle.Render(" " + cut(title, iw-4) + " ")
	tw := ansi.StringWidth(t)
	return ansi.Truncate(top, 2, "") + t + ansi.TruncateLeft(top, 2+tw, "") + "\n" + rest
}

// fitBlock makes s exactly w × h cells: each line cut or padded, lines
// added or dropped.
func fitBlock(lines []string, w, h int) string {
	var b strings.Builder
	for i := range h {
		if i > 0 {
			b.WriteByte('\n')
		}
		if i < len(lines) {
			b.WriteString(fit(lines[i], w))
		} else {
			b.WriteString(strings.Repeat(" ", w))
		}
	}
	return b.String()
}

// sideBySide joins two blocks of equal height.
func sideBySide(a, b string) string {
	al := strings.Split(a, "\n")
	bl := strings.Split(b, "\n")
	var out strings.Builder
	for i := range max(len(al), len(bl)) {
		if i > 0 {
			out.WriteByte('\n')
		}
		if i < len(al) {
			out.WriteString(al[i])
		}
		if i < len(bl) {
			out.WriteString(bl[i])
		}
	}
	return out.String()
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

// fmtBytes is a size in IEC units: 512B, 12.0KiB, 1.0GiB.
func fmtBytes(n uint64) string {
	const units = "KMGTPE"
	if n < 1024 {
		return fmt.Sprintf("%dB", n)
	}
	f := float64(n)
	i := -1
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	return fmt.Sprintf("%.1f%ciB", f, units[i])
}

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

// bucketLabel names log2 latency bucket b by its upper bound (2^b ns).
func bucketLabel(b int) string {
	if b <= 0 {
		return "0"
	}
	ns := math.Ldexp(1, b)
	switch {
	case ns < 1000:
		return fmt.Sprintf("%.0fns", ns)
	case ns < 1e6:
		return fmt.Sprintf("%.0fµs", ns/1e3)
	case ns < 1e9:
		return fmt.Sprintf("%.0fms", ns/1e6)
	}
	return fmt.Sprintf("%.0fs", ns/1e9)
}

// statusName is SAM's name of a SCSI status byte.
func statusName(s byte) string {
	switch s {
	case 0x00:
		return "GOOD"
	case 0x02:
		return "CHECK CONDITION"
	case 0x04:
		return "CONDITION MET"
	case 0x08:
		return "BUSY"
	case 0x18:
		return "RESERVATION CONFLICT"
	case 0x28:
		return "TASK SET FULL"
	case 0x30:
		return "ACA ACTIVE"
	case 0x40:
		return "TASK ABORTED"
	}
	return fmt.Sprintf("STATUS 0x%02x", s)
}

var sparkRunes = []rune("▁▂▃▄▅▆▇█")

// spark draws the samples of h over the window ending at now as width
// columns (each the mean of the samples that fall in it, blank where none
// do), scaled to the highest column, which it returns. cols and cnt are
// scratch space of at least width entries.
func spark(b *strings.Builder, h *history, mbps bool, now int64, width int, cols []float64, cnt []int32) float64 {
	cols, cnt = cols[:width], cnt[:width]
	for i := range cols {
		cols[i], cnt[i] = 0, 0
	}
	start := now - int64(window)
	for i := range h.n {
		s := h.at(i)
		if s.t <= start || s.t > now {
			continue
		}
		c := int((s.t - start) * int64(width) / int64(window))
		c = min(max(c, 0), width-1)
		if mbps {
			cols[c] += s.mbps
		} else {
			cols[c] += s.iops
		}
		cnt[c]++
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
	return peak
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
