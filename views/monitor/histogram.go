package monitor

import (
	"fmt"

	"github.com/tcmsh/tcmsh/engine"
)

// segment is a row of the latency histogram drawn: the fine buckets
// [from, to) and the commands they count.
type segment struct {
	from, to int
	n        uint64
}

// bucketBounds returns the latencies fine bucket i counts, in ns.
func bucketBounds(i int) (lo, hi uint64) {
	return engine.LatencyBucketBounds(min(i, engine.LatencyHistogramSize-1))
}

// histogram divides the non-empty fine buckets lo..hi (prefix holds
// their cumulative counts) into at most rows rows, appended to segs: a
// row per power of two (or per several, when there are more than rows),
// then the busiest row split in halves, again and again, while the rows
// last and a row is wider than minSeg buckets: the rows are finest where
// most commands are. Runs of empty rows are drawn as one.
func histogram(segs []segment, prefix *[engine.LatencyHistogramSize + 1]uint64, lo, hi, minSeg, rows int) []segment {
	const size = engine.LatencyHistogramSize
	sum := func(from, to int) uint64 { return prefix[min(to, size)] - prefix[min(from, size)] }
	g := max(latSub, minSeg)
	for hi/g-lo/g+1 > rows && g < size {
		g *= 2
	}
	used := 0
	for f := lo / g * g; f <= hi; f += g {
		s := segment{f, f + g, sum(f, f+g)}
		if s.n > 0 || len(segs) == 0 || segs[len(segs)-1].n > 0 {
			used++
		}
		segs = append(segs, s)
	}
	for {
		best := -1
		for i, s := range segs {
			if s.n > 0 && s.to-s.from > minSeg && (best < 0 || s.n > segs[best].n) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		s := segs[best]
		mid := (s.from + s.to) / 2
		a, b := segment{s.from, mid, sum(s.from, mid)}, segment{mid, s.to, sum(mid, s.to)}
		last := len(segs) - 1
		switch {
		case a.n == 0 && best == 0: // an empty end is not drawn
			segs[best] = b
			continue
		case b.n == 0 && best == last:
			segs[best] = a
			continue
		case a.n == 0 && segs[best-1].n == 0, b.n == 0 && segs[best+1].n == 0:
			// The empty half joins an empty run: no row more.
		default:
			if used == rows {
				return mergeEmpty(segs)
			}
			used++
		}
		segs = append(segs, segment{})
		copy(segs[best+2:], segs[best+1:])
		segs[best], segs[best+1] = a, b
	}
	return mergeEmpty(segs)
}

// mergeEmpty makes each run of empty segments one.
func mergeEmpty(segs []segment) []segment {
	out := segs[:0]
	for _, s := range segs {
		if k := len(out) - 1; s.n == 0 && k >= 0 && out[k].n == 0 {
			out[k].to = s.to
			continue
		}
		out = append(out, s)
	}
	return out
}

// fmtNS is a latency bound in ns to three significant digits: 512ns,
// 8.19µs, 524µs, 2.36ms, 1.07s.
func fmtNS(ns uint64) string {
	v := float64(ns)
	unit := "ns"
	switch {
	case v >= 1e9:
		v, unit = v/1e9, "s"
	case v >= 1e6:
		v, unit = v/1e6, "ms"
	case v >= 1e3:
		v, unit = v/1e3, "µs"
	default:
		return fmt.Sprintf("%dns", ns)
	}
	switch {
	case v < 9.995:
		return fmt.Sprintf("%.2f%s", v, unit)
	case v < 99.95:
		return fmt.Sprintf("%.1f%s", v, unit)
	}
	return fmt.Sprintf("%.0f%s", v, unit)
}
