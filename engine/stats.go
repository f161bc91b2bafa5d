package engine

import (
	"fmt"
	"math"
	"time"

	"github.com/tcmsh/tcmsh/scsi"
	"github.com/tcmsh/tcmsh/tcmu"
)

// latencyBucketCount is the number of log2 latency buckets tcmu keeps:
// bucket b counts latencies in [2^(b-1), 2^b) ns, bucket 0 counts 0 ns.
const latencyBucketCount = len(tcmu.Snapshot{}.LatencyBuckets)

// statsTotal accumulates the statistics of the ring loops of one device
// that have ended, so that a restart (after a failure or a crash) does not
// make the counters start again from zero.
type statsTotal struct {
	commands, bytes [256]uint64
	latency         [latencyBucketCount]uint64
	fine            tcmu.LatencyHistogram
	latMax          time.Duration
	checkConditions [16]uint64
	inFlightMax     int64
	dataMax         int64
	ringMax         uint64
	recent          []tcmu.RecentCommand
}

// add folds a final snapshot of a ring loop into t.
func (t *statsTotal) add(s tcmu.Snapshot) {
	for _, o := range s.ByOpcode {
		t.commands[o.Opcode] += o.Commands
		t.bytes[o.Opcode] += o.Bytes
	}
	for b, n := range s.LatencyBuckets {
		t.latency[b] += n
	}
	for b, n := range s.LatencyHistogram {
		t.fine[b] += n
	}
	t.latMax = max(t.latMax, s.Max)
	for k, n := range s.CheckConditions {
		t.checkConditions[k] += n
	}
	t.inFlightMax = max(t.inFlightMax, s.InFlightMax)
	t.dataMax = max(t.dataMax, s.DataBytesInFlightMax)
	t.ringMax = max(t.ringMax, s.RingBytesMax)
	if len(s.Recent) > 0 {
		t.recent = s.Recent
	}
}

// stats builds the device's DeviceStats: the ended ring loops plus the
// running one.
func (s *served) stats() DeviceStats {
	s.mu.Lock()
	t := s.total
	r := s.ring
	ds := DeviceStats{
		Path:          fmt.Sprintf("/backstores/user:%s/%s", s.dev.subtype, s.so.Name),
		ConfigPath:    s.configPath,
		UIO:           s.dev.uio(),
		Subtype:       s.dev.subtype,
		Up:            s.up,
		RingSizeBytes: s.ringSize,
		DataSizeBytes: s.dataSize,
		Restarts:      s.restarts,
		Attaches:      s.attaches,
		QueueDepth:    s.qd,
	}
	if s.lastErr != nil {
		ds.LastError = s.lastErr.Error()
	}
	s.mu.Unlock()
	ds.BackendError = s.backendError()
	ds.Time = time.Now()

	var cur tcmu.Snapshot
	if r != nil {
		cur = r.Stats().Snapshot()
		t.add(cur)
		ds.Inflight = uint64(max(cur.InFlight, 0))
		ds.RingUsedBytes = cur.RingBytes
		ds.DataUsedBytes = uint64(max(cur.DataBytesInFlight, 0))
		if cur.RingSize != 0 {
			ds.RingSizeBytes = cur.RingSize
		}
	}
	ds.InflightMax = uint64(max(t.inFlightMax, 0))
	ds.RingUsedMaxBytes = t.ringMax
	ds.DataUsedMaxBytes = uint64(max(t.dataMax, 0))

	for op := range 256 {
		n := t.commands[op]
		if n == 0 {
			continue
		}
		ds.Commands += n
		ds.ByOpcode = append(ds.ByOpcode, OpcodeStats{Opcode: byte(op), Name: scsi.OpcodeName(byte(op)), Commands: n, Bytes: t.bytes[op]})
		switch direction(byte(op)) {
		case dirRead:
			ds.ReadBytes += t.bytes[op]
		case dirWrite:
			ds.WriteBytes += t.bytes[op]
		}
	}
	ds.CheckConditions = map[string]uint64{}
	for k, n := range t.checkConditions {
		if n > 0 {
			ds.CheckConditions[scsi.SenseKeyName(byte(k))] += n
			ds.Errors += n
		}
	}
	ds.LatencyBuckets = append([]uint64(nil), t.latency[:]...)
	ds.LatencyHistogram = latencyHistogram(&t.fine)
	if len(ds.LatencyHistogram) > 0 {
		ds.LatP50us = micros(min(LatencyQuantile(ds.LatencyHistogram, 0.50), t.latMax))
		ds.LatP99us = micros(min(LatencyQuantile(ds.LatencyHistogram, 0.99), t.latMax))
	} else { // a snapshot made without the fine histogram
		ds.LatP50us = micros(min(bucketQuantile(t.latency[:], 0.50), t.latMax))
		ds.LatP99us = micros(min(bucketQuantile(t.latency[:], 0.99), t.latMax))
	}
	ds.LatMaxus = micros(t.latMax)

	recent := cur.Recent
	if r == nil || len(recent) == 0 {
		recent = t.recent
	}
	for _, rc := range recent {
		ds.Recent = append(ds.Recent, RecentCommand{
			Opcode:    rc.Opcode,
			Name:      scsi.OpcodeName(rc.Opcode),
			LBA:       rc.LBA,
			Length:    rc.Length,
			LatencyUs: micros(rc.Latency),
			Status:    rc.Status,
			Finished:  rc.Finished,
		})
	}
	return ds
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// LatencyBucket is one bucket of DeviceStats.LatencyHistogram: Count
// commands took from LowNS (included) to HighNS (excluded) nanoseconds.
type LatencyBucket struct {
	LowNS  uint64 `json:"lo_ns"`
	HighNS uint64 `json:"hi_ns"`
	Count  uint64 `json:"count"`
}

// LatencyHistogramSize is the number of buckets of the fine latency
// histogram: LatencyBucketIndex is below it.
const LatencyHistogramSize = tcmu.LatencyHistogramSize

// LatencyBucketIndex returns the index of the fine histogram's bucket
// that holds a latency of ns nanoseconds, or starts at ns (a
// LatencyBucket's LowNS): from 0 to LatencyHistogramSize-1.
func LatencyBucketIndex(ns uint64) int {
	return tcmu.LatencyBucketIndex(int64(min(ns, math.MaxInt64)))
}

// LatencyBucketBounds returns the latencies the fine histogram's bucket i
// counts: from lo (included) to hi (excluded) ns.
func LatencyBucketBounds(i int) (lo, hi uint64) { return tcmu.LatencyBucketBounds(i) }

// latencyHistogram lists the non-empty buckets of h.
func latencyHistogram(h *tcmu.LatencyHistogram) []LatencyBucket {
	n := 0
	for _, c := range h {
		if c != 0 {
			n++
		}
	}
	out := make([]LatencyBucket, 0, n)
	for i, c := range h {
		if c != 0 {
			lo, hi := tcmu.LatencyBucketBounds(i)
			out = append(out, LatencyBucket{LowNS: lo, HighNS: hi, Count: c})
		}
	}
	return out
}

// LatencyQuantile returns quantile q (0 < q ≤ 1) of the latencies counted
// in buckets (in order of latency, as in DeviceStats.LatencyHistogram):
// tcmu.LatencyHistogram.Quantile of the same counts, interpolated within
// the bucket that holds it (within the bucket's width, ≤ 6.25 %, of the
// exact one). 0 without counts; callers cap it at the maximum latency seen.
func LatencyQuantile(buckets []LatencyBucket, q float64) time.Duration {
	var h tcmu.LatencyHistogram
	for _, b := range buckets {
		h[LatencyBucketIndex(b.LowNS)] += b.Count
	}
	return h.Quantile(q)
}

// bucketQuantile returns the upper bound of the log2 bucket that holds
// quantile q (so a percentile is never understated by more than 2×).
func bucketQuantile(buckets []uint64, q float64) time.Duration {
	var total uint64
	for _, n := range buckets {
		total += n
	}
	if total == 0 {
		return 0
	}
	rank := max(uint64(q*float64(total)+0.5), 1)
	var cum uint64
	for b, n := range buckets {
		cum += n
		if cum >= rank {
			if b == 0 {
				return 0
			}
			if b >= 63 {
				return time.Duration(1<<63 - 1)
			}
			return time.Duration(uint64(1) << b)
		}
	}
	return 0
}

type dataDirection uint8

const (
	dirNone dataDirection = iota
	dirRead
	dirWrite
)

// direction tells which opcodes move data from the initiator (write
// bytes) or to it (read bytes), for the read/write byte counters.
func direction(op byte) dataDirection {
	switch op {
	case 0x08, 0x28, 0x88, 0xa8: // READ(6/10/16/12)
		return dirRead
	case 0x0a, 0x2a, 0x8a, 0xaa, // WRITE(6/10/16/12)
		0x2e, 0x8e, // WRITE AND VERIFY(10/16)
		0x41, 0x93, // WRITE SAME(10/16)
		0x89: // COMPARE AND WRITE
		return dirWrite
	}
	return dirNone
}
