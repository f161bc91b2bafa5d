package monitor

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/views"
)

// detailPane shows the selected device: IOPS and MB/s over the last
// minute, ring and data-area gauges, CHECK CONDITIONs by sense key, the
// latency histogram and p50/p99 of the last 10 s with the all-time p99
// and maximum, and the opcode mix. Wide, it is two
// frames side by side (activity | latency and opcodes); narrow, one frame
// that keeps what fits, activity first.
type detailPane struct {
	views.Common
	split bool
	bx    *views.Boxes

	// Scratch space reused from frame to frame.
	cols []float64
	cnt  []int32
	ops  []engine.OpcodeStats
	ccs  []senseCount
	l, r []string

	// The histogram drawn: cumulative counts by fine bucket, the
	// non-empty range, the total, the finest rows (in buckets).
	prefix         [engine.LatencyHistogramSize + 1]uint64
	lo, hi, minSeg int
	total          uint64
	segs           []segment
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
		return p.bx.Box(out, "device", nil, p.Width, p.Height)
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
		return p.bx.Box(out, title, one, p.Width, p.Height)
	}
	rw := p.rightWidth()
	lw := p.Width - rw
	p.l = p.bx.Box(p.l[:0], title, p.activity(d, lw-2), lw, p.Height)
	p.r = p.bx.Box(p.r[:0], "latency · opcodes", p.latency(d, rw-2, rows), rw, p.Height)
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

// latency is the right column: p50 and p99 over the last 10 s, the
// all-time p99 and maximum, the histogram of the window (see histogram),
// and the opcode mix. Without a window (the device's first reading, or
// an engine that keeps no fine histogram) it shows the all-time figures
// and histogram.
func (p *detailPane) latency(d *device, iw, rows int) []string {
	s := &d.cur
	st := p.Styles
	lines := make([]string, 0, max(rows, 2))
	empty := "no commands yet"
	switch {
	case d.winSpan == 0:
		lines = append(lines, "all time p50 "+fmtMicros(s.LatP50us))
		p.fill(s.LatencyHistogram, s.LatencyBuckets)
	case len(d.win) == 0:
		empty = "no commands in the " + windowLabel(d.winSpan)
		lines = append(lines, windowLabel(d.winSpan)+" no commands")
		p.fill(nil, nil)
	default:
		lines = append(lines, fmt.Sprintf("%s p50 %s p99 %s", windowLabel(d.winSpan), fmtMicros(d.winP50), fmtMicros(d.winP99)))
		p.fill(d.win, nil)
	}
	if rows <= 1 {
		return lines
	}
	lines = append(lines, st.Dim.Render(fmt.Sprintf("all time p99 %s max %s", fmtMicros(s.LatP99us), fmtMicros(s.LatMaxus))))
	if rows <= 2 {
		return lines
	}

	// The opcodes get at least a third of the rows, and whatever the
	// histogram does not need (a row per power of two, and a few to
	// show the busiest ones finer).
	p.ops = append(p.ops[:0], s.ByOpcode...)
	slices.SortStableFunc(p.ops, func(a, b engine.OpcodeStats) int { return cmp.Compare(b.Commands, a.Commands) })
	opRows := 0
	if len(p.ops) > 0 {
		want := 0
		if p.total > 0 {
			want = p.hi/latSub - p.lo/latSub + 1 + 3
		}
		opRows = min(len(p.ops), max(1, (rows-2)/3, rows-2-want))
	}
	histRows := rows - 2 - opRows
	if p.total == 0 {
		lines = append(lines, st.Dim.Render(empty))
	} else if histRows > 0 {
		p.segs = histogram(p.segs[:0], &p.prefix, p.lo, p.hi, p.minSeg, histRows)
		var peak uint64
		for _, g := range p.segs {
			peak = max(peak, g.n)
		}
		bw := max(iw-8-1-6, 2) // label(7) ' ' bar share(6) ' '
		for _, g := range p.segs {
			bar := int(float64(g.n) / float64(peak) * float64(bw))
			if g.n > 0 && bar == 0 {
				bar = 1
			}
			_, hi := bucketBounds(min(g.to, (p.hi/p.minSeg+1)*p.minSeg) - 1) // the last row ends with the last commands
			lines = append(lines, fmt.Sprintf("%7s", "<"+fmtNS(hi))+" "+
				st.Spark.Render(strings.Repeat("█", bar))+strings.Repeat(" ", bw-bar)+
				st.Dim.Render(fmt.Sprintf(" %4.0f%%", float64(g.n)/float64(p.total)*100)))
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
		lines = append(lines, views.Fit(views.Cut(o.Name, nw), nw)+fmt.Sprintf(" %5.1f%% %7s", share, fmtCount(float64(o.Commands))))
	}
	return lines
}

// windowLabel names a latency window of span: "last 10s", or shorter
// while the monitor has known the device for less.
func windowLabel(span time.Duration) string {
	switch {
	case span >= latWindow:
		return fmt.Sprintf("last %ds", int(latWindow/time.Second))
	case span >= time.Second:
		return fmt.Sprintf("last %ds", int(span/time.Second))
	}
	return fmt.Sprintf("last %.1fs", span.Seconds())
}

// latSub is the number of fine buckets in a power of two.
const latSub = 16

// fill loads the histogram to draw into p.prefix (cumulative counts by
// fine bucket) and sets p.lo, p.hi (its non-empty range), p.total and
// p.minSeg: the fine buckets, or, from an engine without them, the log2
// buckets put at the start of their power of two, drawn no finer.
func (p *detailPane) fill(fine []engine.LatencyBucket, log2 []uint64) {
	var h [engine.LatencyHistogramSize]uint64
	p.minSeg = 1
	if fine == nil && log2 != nil {
		p.minSeg = latSub
		for b, n := range log2 {
			if n > 0 && b < 64 {
				h[engine.LatencyBucketIndex(uint64(1)<<b>>1)] += n
			}
		}
	}
	for _, b := range fine {
		h[engine.LatencyBucketIndex(b.LowNS)] += b.Count
	}
	p.lo, p.hi, p.total = -1, -1, 0
	for i, n := range h {
		if n > 0 {
			if p.lo < 0 {
				p.lo = i
			}
			p.hi = i
		}
		p.total += n
		p.prefix[i+1] = p.total
	}
}
