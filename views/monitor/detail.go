package monitor

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/views"
)

// detailPane shows the selected device: IOPS and MB/s over the last
// minute, ring and data-area gauges, CHECK CONDITIONs by sense key, the
// latency histogram with p50/p99/max, and the opcode mix. Wide, it is two
// frames side by side (activity | latency and opcodes); narrow, one frame
// that keeps what fits, activity first.
type detailPane struct {
	views.Common
	split bool
	bx    *boxes

	// Scratch space reused from frame to frame.
	cols []float64
	cnt  []int32
	ops  []engine.OpcodeStats
	ccs  []senseCount
	l, r []string
}

type senseCount struct {
	key string
	n   uint64
}

func (p *detailPane) SetSize(w, h int) { p.Width, p.Height = w, h }

// rightWidth is the width of the latency and opcodes frame when split.
func (p *detailPane) rightWidth() int { return max(34, p.Width*2/5) }

// View renders the selected device d (nil: none) in Width × Height.
func (p *detailPane) View(d *device) string { return strings.Join(p.render(nil, d), "\n") }

// render appends the lines of View to out.
func (p *detailPane) render(out []string, d *device) []string {
	if d == nil {
		return p.bx.box(out, "device", nil, p.Width, p.Height)
	}
	title := fmt.Sprintf("%s · %s · %s · qd %d", strings.TrimPrefix(d.cur.Path, "/backstores/"), plainState(&d.cur), d.cur.UIO, d.cur.QueueDepth)
	rows := p.Height - 2
	if !p.split {
		// One column: the activity, then the latency and opcodes, then
		// the activity's last lines (counts) if there is room.
		iw := p.Width - 2
		lines := p.activity(d, iw)
		core := lines[:len(lines)-activityExtra]
		extra := lines[len(lines)-activityExtra:]
		left := rows - len(core)
		one := append(p.l[:0], core...)
		if left > 0 {
			one = append(one, p.latency(d, iw, max(left-activityExtra, min(left, 4)))...)
		}
		one = append(one, extra...)
		p.l = one
		return p.bx.box(out, title, one, p.Width, p.Height)
	}
	rw := p.rightWidth()
	lw := p.Width - rw
	p.l = p.bx.box(p.l[:0], title, p.activity(d, lw-2), lw, p.Height)
	p.r = p.bx.box(p.r[:0], "latency · opcodes", p.latency(d, rw-2, rows), rw, p.Height)
	for i := range p.l {
		out = append(out, p.l[i]+p.r[i])
	}
	return out
}

// activityExtra is how many of activity's lines are counts that a narrow
// frame shows last.
const activityExtra = 2

// activity is the left column: errors first (they matter most), then the
// sparklines, the gauges, CHECK CONDITIONs, and last (activityExtra
// lines) in-flight commands and counts.
func (p *detailPane) activity(d *device, iw int) []string {
	s := &d.cur
	st := p.Styles
	lines := make([]string, 0, 9)
	if s.BackendError != "" {
		lines = append(lines, st.Err.Render("BACKEND LOST: "+s.BackendError))
	}
	if s.LastError != "" {
		label := "last error: "
		if !s.Up {
			label = "DOWN: "
		}
		lines = append(lines, st.Err.Render(label+s.LastError))
	}

	// Sparklines: label(5) spark ' ' now(6) ' ' "max " peak(6).
	sw := max(iw-5-1-6-5-6, 4)
	if cap(p.cols) < sw {
		p.cols, p.cnt = make([]float64, sw), make([]int32, sw)
	}
	now := s.Time.UnixNano()
	for _, mb := range []bool{false, true} {
		var b strings.Builder
		label, cur, fmtv := "IOPS ", d.iops, fmtCount
		if mb {
			label, cur, fmtv = "MB/s ", d.mbps, fmtMBps
		}
		b.WriteString(st.Key.Render(label))
		var sb strings.Builder
		peak := spark(&sb, &d.hist, mb, now, sw, p.cols, p.cnt)
		b.WriteString(st.Spark.Render(sb.String()))
		if d.rated {
			fmt.Fprintf(&b, " %6s", fmtv(cur))
		} else {
			b.WriteString("      -")
		}
		b.WriteString(st.Dim.Render(fmt.Sprintf(" max %s", fmtv(peak))))
		lines = append(lines, b.String())
	}

	// Gauges: label(5) bar ' ' used/size max peak.
	for _, g := range []struct {
		label            string
		used, peak, size uint64
	}{
		{"ring ", s.RingUsedBytes, s.RingUsedMaxBytes, s.RingSizeBytes},
		{"data ", s.DataUsedBytes, s.DataUsedMaxBytes, s.DataSizeBytes},
	} {
		text := fmt.Sprintf(" %s/%s max %s", fmtBytes(g.used), fmtBytes(g.size), fmtBytes(g.peak))
		bw := max(iw-5-len([]rune(text)), 4)
		lines = append(lines, st.Key.Render(g.label)+gauge(st.GaugeFull, st.GaugeEmpty, g.used, g.peak, g.size, bw)+st.Dim.Render(text))
	}

	lines = append(lines, p.checkConditions(s))
	lines = append(lines, st.Dim.Render(fmt.Sprintf("in flight %d (max %d) · %s read · %s written · %d restarts",
		s.Inflight, s.InflightMax, fmtBytes(s.ReadBytes), fmtBytes(s.WriteBytes), s.Restarts)))
	lines = append(lines, st.Dim.Render(fmt.Sprintf("%d commands · %d attaches · configfs %s", s.Commands, s.Attaches, s.ConfigPath)))
	return lines
}

// checkConditions is one line of CHECK CONDITIONs by sense key, most
// frequent first.
func (p *detailPane) checkConditions(s *engine.DeviceStats) string {
	p.ccs = p.ccs[:0]
	for k, n := range s.CheckConditions {
		if n > 0 {
			p.ccs = append(p.ccs, senseCount{k, n})
		}
	}
	if len(p.ccs) == 0 {
		return p.Styles.Dim.Render("no CHECK CONDITIONs")
	}
	slices.SortFunc(p.ccs, func(a, b senseCount) int {
		if c := cmp.Compare(b.n, a.n); c != 0 {
			return c
		}
		return cmp.Compare(a.key, b.key)
	})
	var b strings.Builder
	b.WriteString("CHECK CONDITION")
	for _, c := range p.ccs {
		fmt.Fprintf(&b, " · %s %s", c.key, fmtCount(float64(c.n)))
	}
	return p.Styles.Err.Render(b.String())
}

// latency is the right column: p50/p99/max, the histogram of the log2
// latency buckets (merged to fit), and the opcode mix.
func (p *detailPane) latency(d *device, iw, rows int) []string {
	s := &d.cur
	st := p.Styles
	lines := make([]string, 0, max(rows, 1))
	lines = append(lines, fmt.Sprintf("p50 %s p99 %s max %s", fmtMicros(s.LatP50us), fmtMicros(s.LatP99us), fmtMicros(s.LatMaxus)))
	if rows <= 1 {
		return lines
	}

	// The non-empty range of buckets.
	lo, hi := -1, -1
	var total uint64
	for b, n := range s.LatencyBuckets {
		if n == 0 {
			continue
		}
		if lo < 0 {
			lo = b
		}
		hi = b
		total += n
	}

	// The opcodes get at least a third of the rows, and whatever the
	// histogram does not need.
	p.ops = append(p.ops[:0], s.ByOpcode...)
	slices.SortStableFunc(p.ops, func(a, b engine.OpcodeStats) int { return cmp.Compare(b.Commands, a.Commands) })
	opRows := 0
	if len(p.ops) > 0 {
		opRows = min(len(p.ops), max(1, (rows-1)/3, rows-1-(hi-lo+1)))
	}
	histRows := rows - 1 - opRows
	if lo < 0 {
		lines = append(lines, st.Dim.Render("no commands yet"))
	} else if histRows > 0 {
		group := (hi - lo + histRows) / histRows
		var peak uint64
		for g := lo; g <= hi; g += group {
			var n uint64
			for b := g; b < g+group && b <= hi; b++ {
				n += s.LatencyBuckets[b]
			}
			peak = max(peak, n)
		}
		bw := max(iw-7-1-6, 2)
		for g := lo; g <= hi; g += group {
			last := min(g+group-1, hi)
			var n uint64
			for b := g; b <= last; b++ {
				n += s.LatencyBuckets[b]
			}
			bar := int(float64(n) / float64(peak) * float64(bw))
			if n > 0 && bar == 0 {
				bar = 1
			}
			lines = append(lines, fmt.Sprintf("%6s ", "<"+bucketLabel(last))+
				st.Spark.Render(strings.Repeat("█", bar))+strings.Repeat(" ", bw-bar)+
				st.Dim.Render(fmt.Sprintf(" %4.0f%%", float64(n)/float64(total)*100)))
		}
	}

	// Opcode mix: name, share, count.
	var all uint64
	for _, o := range p.ops {
		all += o.Commands
	}
	nw := max(iw-1-6-1-7, 4)
	for _, o := range p.ops[:opRows] {
		share := 0.0
		if all > 0 {
			share = float64(o.Commands) / float64(all) * 100
		}
		lines = append(lines, fit(cut(o.Name, nw), nw)+fmt.Sprintf(" %5.1f%% %7s", share, fmtCount(float64(o.Commands))))
	}
	return lines
}
