package monitor

import (
	"fmt"
	"math"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/tcmsh/tcmsh/internal/size"
)

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
