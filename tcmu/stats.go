package tcmu

import (
	"math/bits"
	"runtime"
	"sync/atomic"
	"time"
)

// epoch anchors nanotime on the monotonic clock.
var epoch = time.Now()

// nanotime is monotonic nanoseconds; time.Since does not allocate.
func nanotime() int64 { return int64(time.Since(epoch)) }

// latencyBuckets are log2 buckets: bucket b counts latencies in
// [2^(b-1), 2^b) ns, bucket 0 counts 0 ns.
const latencyBuckets = 65

// recentLogSize is the number of recent commands kept.
const recentLogSize = 256

// Stats holds the statistics of one device's ring. Writers (the ring
// goroutine and the workers) only do atomic adds and stores, spread over
// per-worker shards, so leaving statistics on costs a few uncontended
// atomics per command; readers call Snapshot, which never blocks a writer.
type Stats struct {
	enabled  atomic.Bool
	shards   []statShard
	ringSize uint64

	inFlight, inFlightMax         atomic.Int64
	dataInFlight, dataInFlightMax atomic.Int64
	ringBytes, ringBytesMax       atomic.Uint64
	badEntries                    atomic.Uint64
	unknownOps                    atomic.Uint64
	tmrs                          [8]atomic.Uint64 // by TMR type; index 0 also counts types beyond 7

	recentNext atomic.Uint64
	recent     [recentLogSize]recentSlot
}

// statShard is written by a subset of the workers; padded so that two
// shards never share a cache line.
type statShard struct {
	commands  [256]atomic.Uint64
	bytes     [256]atomic.Uint64
	latency   [latencyBuckets]atomic.Uint64
	latMax    atomic.Int64
	senseKeys [16]atomic.Uint64
	_         [64]byte
}

// recentSlot is one entry of the recent-commands log, guarded by a
// sequence number: odd while being written, so a reader can tell a torn
// read and skip it.
type recentSlot struct {
	seq       atomic.Uint64
	opcode    atomic.Uint32
	status    atomic.Uint32
	lba       atomic.Uint64
	length    atomic.Uint64
	latency   atomic.Int64
	completed atomic.Int64
}

func newStats(queueDepth int) *Stats {
	n := min(queueDepth, 2*runtime.GOMAXPROCS(0), 16)
	s := &Stats{shards: make([]statShard, max(n, 1))}
	s.enabled.Store(true)
	return s
}

// SetEnabled turns statistics collection on or off (on by default).
// Commands in flight when it changes are accounted as they started.
func (s *Stats) SetEnabled(on bool) { s.enabled.Store(on) }

// Enabled reports whether statistics are being collected.
func (s *Stats) Enabled() bool { return s.enabled.Load() }

func storeMax[T int64 | uint64](m interface {
	Load() T
	CompareAndSwap(old, new T) bool
}, v T) {
	for {
		old := m.Load()
		if v <= old || m.CompareAndSwap(old, v) {
			return
		}
	}
}

// takeCommand accounts a command taken from the ring.
func (s *Stats) takeCommand(dataBytes uint64) {
	storeMax(&s.inFlightMax, s.inFlight.Add(1))
	storeMax(&s.dataInFlightMax, s.dataInFlight.Add(int64(dataBytes)))
}

// complete accounts a command answered after latency ns.
func (s *Stats) complete(shard int, sl *slot, latency int64) {
	s.inFlight.Add(-1)
	s.dataInFlight.Add(-int64(sl.dataBytes))
	sh := &s.shards[shard%len(s.shards)]
	var op byte
	if len(sl.cmd.CDB) > 0 {
		op = sl.cmd.CDB[0]
	}
	sh.commands[op].Add(1)
	if sl.dataBytes > 0 {
		sh.bytes[op].Add(sl.dataBytes)
	}
	if latency < 0 {
		latency = 0
	}
	sh.latency[bits.Len64(uint64(latency))].Add(1)
	if latency > sh.latMax.Load() {
		storeMax(&sh.latMax, latency)
	}
	if sl.cmd.Status == 0x02 {
		sh.senseKeys[senseKey(sl.cmd.Sense[:min(max(sl.cmd.SenseLen, 0), len(sl.cmd.Sense))])].Add(1)
	}

	n := s.recentNext.Add(1) - 1
	r := &s.recent[n%recentLogSize]
	r.seq.Store(2*n + 1)
	r.opcode.Store(uint32(op))
	r.status.Store(uint32(sl.cmd.Status))
	r.lba.Store(cdbLBA(sl.cmd.CDB))
	r.length.Store(sl.dataBytes)
	r.latency.Store(latency)
	r.completed.Store(sl.start + latency)
	r.seq.Store(2*n + 2)
}

func (s *Stats) countTMR(t TMREntry) {
	typ := 0
	if len(t) > TMRTypeOff {
		typ = int(t.Type())
	}
	if typ >= len(s.tmrs) {
		typ = 0
	}
	s.tmrs[typ].Add(1)
}

// OpcodeStats counts the commands of one SCSI opcode.
type OpcodeStats struct {
	Opcode   byte
	Commands uint64
	Bytes    uint64
}

// RecentCommand is one entry of the recent-commands log.
type RecentCommand struct {
	Opcode   byte
	LBA      uint64
	Length   uint64 // bytes of data buffers
	Latency  time.Duration
	Status   byte
	Finished time.Time
}

// Snapshot is a copy of a Ring's statistics at one moment (each counter is
// read atomically; counters are not read all at the same instant).
type Snapshot struct {
	Enabled  bool
	Commands uint64
	Bytes    uint64
	ByOpcode []OpcodeStats // opcodes seen, in opcode order

	// Latency is measured from taking the entry to writing its completion.
	LatencyBuckets [latencyBuckets]uint64 // bucket b: [2^(b-1), 2^b) ns
	P50, P99, Max  time.Duration

	InFlight, InFlightMax                   int64
	DataBytesInFlight, DataBytesInFlightMax int64
	RingBytes, RingBytesMax, RingSize       uint64

	CheckConditions [16]uint64 // by sense key
	BadEntries      uint64     // CMD entries failed by the ring (bad offsets, unknown CDB length)
	UnknownOps      uint64
	TMRs            [8]uint64 // by TMR type (LUN_RESET_PRO and unknown types count in 0)

	Recent []RecentCommand // oldest first
}

// Snapshot copies the statistics.
func (s *Stats) Snapshot() Snapshot {
	snap := Snapshot{
		Enabled:              s.enabled.Load(),
		InFlight:             s.inFlight.Load(),
		InFlightMax:          s.inFlightMax.Load(),
		DataBytesInFlight:    s.dataInFlight.Load(),
		DataBytesInFlightMax: s.dataInFlightMax.Load(),
		RingBytes:            s.ringBytes.Load(),
		RingBytesMax:         s.ringBytesMax.Load(),
		RingSize:             s.ringSize,
		BadEntries:           s.badEntries.Load(),
		UnknownOps:           s.unknownOps.Load(),
	}
	for i := range s.tmrs {
		snap.TMRs[i] = s.tmrs[i].Load()
	}
	var cmds, byts [256]uint64
	var maxLat int64
	for i := range s.shards {
		sh := &s.shards[i]
		for op := range cmds {
			cmds[op] += sh.commands[op].Load()
			byts[op] += sh.bytes[op].Load()
		}
		for b := range snap.LatencyBuckets {
			snap.LatencyBuckets[b] += sh.latency[b].Load()
		}
		for k := range snap.CheckConditions {
			snap.CheckConditions[k] += sh.senseKeys[k].Load()
		}
		maxLat = max(maxLat, sh.latMax.Load())
	}
	for op := range cmds {
		if cmds[op] == 0 {
			continue
		}
		snap.ByOpcode = append(snap.ByOpcode, OpcodeStats{Opcode: byte(op), Commands: cmds[op], Bytes: byts[op]})
		snap.Commands += cmds[op]
		snap.Bytes += byts[op]
	}
	snap.Max = time.Duration(maxLat)
	snap.P50 = min(bucketQuantile(&snap.LatencyBuckets, 0.50), snap.Max)
	snap.P99 = min(bucketQuantile(&snap.LatencyBuckets, 0.99), snap.Max)

	next := s.recentNext.Load()
	first := uint64(0)
	if next > recentLogSize {
		first = next - recentLogSize
	}
	for n := first; n < next; n++ {
		r := &s.recent[n%recentLogSize]
		seq := r.seq.Load()
		if seq != 2*n+2 {
			continue // being written, or already overwritten by a newer command
		}
		rc := RecentCommand{
			Opcode:   byte(r.opcode.Load()),
			Status:   byte(r.status.Load()),
			LBA:      r.lba.Load(),
			Length:   r.length.Load(),
			Latency:  time.Duration(r.latency.Load()),
			Finished: epoch.Add(time.Duration(r.completed.Load())),
		}
		if r.seq.Load() != seq {
			continue
		}
		snap.Recent = append(snap.Recent, rc)
	}
	return snap
}

// bucketQuantile returns the upper bound of the bucket holding quantile q.
func bucketQuantile(b *[latencyBuckets]uint64, q float64) time.Duration {
	var total uint64
	for _, c := range b {
		total += c
	}
	if total == 0 {
		return 0
	}
	rank := uint64(q*float64(total) + 0.5)
	rank = max(rank, 1)
	var cum uint64
	for i, c := range b {
		cum += c
		if cum >= rank {
			if i == 0 {
				return 0
			}
			if i >= 63 {
				return time.Duration(1<<63 - 1)
			}
			return time.Duration(uint64(1) << i)
		}
	}
	return 0
}
