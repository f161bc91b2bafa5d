package engine

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/tcmu"
)

// TestFineLatencyHistogram: the fine histogram of ring loops adds up,
// goes out as its non-empty buckets, and gives interpolated percentiles
// where the log2 buckets gave a power of two.
func TestFineLatencyHistogram(t *testing.T) {
	var first, second tcmu.Snapshot
	// The demo's fault device: 2.2 to 2.4 ms.
	for i := range 1000 {
		ns := int64(2_200_000 + i*200)
		b := tcmu.LatencyBucketIndex(ns)
		if i%2 == 0 {
			first.LatencyHistogram[b]++
		} else {
			second.LatencyHistogram[b]++
		}
		first.LatencyBuckets[22]++
	}
	first.Max, second.Max = 2_399_000, 2_399_800
	var total statsTotal
	total.add(first)
	total.add(second)
	s := &served{dev: uioDevice{minor: 3, subtype: "fault"}, so: configfs.StorageObject{Plugin: "user", HBA: 2, Name: "x"}, configPath: "target/core/user_2/x", total: total}
	ds := s.stats()
	if math.Abs(ds.LatP50us-2300) > 2300*0.01 || math.Abs(ds.LatP99us-2398) > 2398*0.01 || ds.LatP99us > ds.LatMaxus {
		t.Errorf("p50 %.1fµs p99 %.1fµs max %.1fµs, want about 2300, 2398 (log2: 4194)", ds.LatP50us, ds.LatP99us, ds.LatMaxus)
	}
	var n uint64
	for i, b := range ds.LatencyHistogram {
		n += b.Count
		if b.Count == 0 || b.HighNS <= b.LowNS || i > 0 && b.LowNS < ds.LatencyHistogram[i-1].HighNS {
			t.Errorf("bucket %d: %+v", i, b)
		}
		if LatencyBucketIndex(b.LowNS) != LatencyBucketIndex(b.HighNS-1) {
			t.Errorf("bucket %+v: its ends are in different buckets", b)
		}
	}
	if n != 1000 || len(ds.LatencyHistogram) != 3 { // 131072 ns wide, from 2097152
		t.Errorf("%d commands in %d buckets: %+v", n, len(ds.LatencyHistogram), ds.LatencyHistogram)
	}
	js, err := json.Marshal(ds)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `"latency_histogram":[{"lo_ns":2097152,"hi_ns":2228224,"count":142},{"lo_ns":2228224,`) ||
		!strings.Contains(string(js), `"latency_buckets_ns_log2":[`) {
		t.Errorf("JSON: %s", js)
	}

	// The same percentiles as tcmu's, from the dense histogram.
	var h tcmu.LatencyHistogram
	for b := range h {
		h[b] = first.LatencyHistogram[b] + second.LatencyHistogram[b]
	}
	for _, q := range []float64{0.01, 0.5, 0.99, 1} {
		if got, want := LatencyQuantile(ds.LatencyHistogram, q), h.Quantile(q); got != want {
			t.Errorf("q %g: %v from the buckets, %v from tcmu", q, got, want)
		}
	}
	if got := LatencyQuantile(nil, 0.5); got != 0 {
		t.Errorf("no buckets: %v", got)
	}
	if got := LatencyBucketIndex(math.MaxUint64); got != LatencyHistogramSize-1 {
		t.Errorf("LatencyBucketIndex(2^64-1) = %d", got)
	}
}
