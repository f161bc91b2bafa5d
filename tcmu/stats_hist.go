package tcmu

import (
	"math"
	"math/bits"
	"time"
)

// The fine latency histogram is log-linear (HDR-like): latencies below
// 2·latSub ns have a bucket each (1 ns wide); above, every power of two
// [2^k, 2^(k+1)) is split into latSub equal buckets 2^(k-latSubBits) ns
// wide. A bucket is then at most 1/latSub of its lower bound wide, and a
// percentile interpolated within its bucket is off by less than that
// (6.25 %), by much less for a spread of latencies. Every int64 has a
// bucket: the last one, [31·2^58, 2^63), holds math.MaxInt64.
const (
	latSubBits = 4
	latSub     = 1 << latSubBits // linear sub-buckets per power of two

	// LatencyHistogramSize is the number of buckets of a LatencyHistogram.
	LatencyHistogramSize = (64 - latSubBits) * latSub
)

// LatencyHistogram counts latencies in the log-linear buckets that
// LatencyBucketIndex and LatencyBucketBounds describe.
type LatencyHistogram [LatencyHistogramSize]uint64

// latencyIndex is LatencyBucketIndex for a latency known to be in
// [0, 2^63): one bit length, one shift, one add.
func latencyIndex(v uint64) int {
	e := bits.Len64(v|latSub) - latSubBits - 1 // 0 below 2·latSub
	return e<<latSubBits + int(v>>uint(e))
}

// LatencyBucketIndex returns the bucket counting a latency of ns
// nanoseconds: ns itself below 32 ns (negative latencies count as 0),
// then 16 buckets per power of two.
func LatencyBucketIndex(ns int64) int { return latencyIndex(uint64(max(ns, 0))) }

// LatencyBucketBounds returns the latencies bucket i counts: from lo
// (included) to hi (excluded) ns. The last bucket's hi is 2^63.
func LatencyBucketBounds(i int) (lo, hi uint64) { return latencyBucketLow(i), latencyBucketLow(i + 1) }

func latencyBucketLow(i int) uint64 {
	if i < 2*latSub {
		return uint64(max(i, 0))
	}
	e := i>>latSubBits - 1
	return uint64(i-e<<latSubBits) << uint(e)
}

// latencyLog2Bucket is the log2 bucket (Snapshot.LatencyBuckets) that
// holds fine bucket i whole.
func latencyLog2Bucket(i int) int { return bits.Len64(latencyBucketLow(i)) }

// Quantile returns quantile q (0 < q ≤ 1) of the latencies h counts,
// interpolated linearly within the bucket that holds it; 0 when h is
// empty. Callers cap it at the maximum latency seen.
func (h *LatencyHistogram) Quantile(q float64) time.Duration {
	var total uint64
	for _, n := range h {
		total += n
	}
	if total == 0 {
		return 0
	}
	target := q * float64(total)
	var cum uint64
	last := 0
	for i, n := range h {
		if n == 0 {
			continue
		}
		last = i
		if float64(cum+n) >= target {
			return interpolate(i, (target-float64(cum))/float64(n))
		}
		cum += n
	}
	return interpolate(last, 1)
}

// interpolate returns the latency at fraction f of bucket i.
func interpolate(i int, f float64) time.Duration {
	lo, hi := LatencyBucketBounds(i)
	v := float64(lo) + min(max(f, 0), 1)*float64(hi-lo)
	if v >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(v)
}
