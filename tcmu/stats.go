package tcmu

import (
	"cmp"
	"runtime"
	"slices"
	"sync/atomic"
	"time"

	"github.com/tcmsh/tcmsh/scsi"
)

// latencyBuckets are log2 buckets: bucket b counts latencies in
// [2^(b-1), 2^b) ns, bucket 0 counts 0 ns.
const latencyBuckets = 65

// recentLogSize is the number of recent commands kept.
const recentLogSize = 256

// Stats holds the statistics of one device's ring. Writers (the ring
// goroutine and the workers) never lock and never wait: the ring goroutine
// keeps its figures in fields only it writes, publishing them with plain
// atomic stores (a maximum only when it grows); the workers do a few atomic
// adds into shards (each shared by a fixed group of workers), on cache
// lines no other shard shares, and write the recent-commands log as tagged
// words that a reader checks for a torn entry. Readers call Snapshot,
// which never blocks a writer (it may wait, briefly, for a writer to
// finish accounting what the kernel has already seen).
type Stats struct {
	enabled  atomic.Bool
	shards   []statShard
	ringSize uint64

	// Written only by the ring goroutine, on their own cache line: a
	// counter that the ring goroutine and the workers both modified would
	// move between cores on every command. In-flight values are derived:
	// commands from the busy slots, bytes as taken minus completed.
	_               [64]byte
	takenBytes      atomic.Uint64
	inFlightMax     atomic.Int64
	dataInFlightMax atomic.Int64
	ringBytes       atomic.Uint64
	ringBytesMax    atomic.Uint64
	takenLocal      uint64 // ring goroutine only, from here on
	inFlightMaxLoc  int64
	dataMaxLocal    int64
	ringMaxLocal    uint64
	_               [64]byte

	busySlots  func() int     // commands in flight now
	handoffs   *atomic.Uint64 // commands the ring gave to a worker
	ringUsed   func() uint64  // ring bytes between the tail and the head now
	badEntries atomic.Uint64
	unknownOps atomic.Uint64
	tmrs       [8]atomic.Uint64 // by TMR type; index 0 also counts types beyond 7
}

// statShard is written by the workers whose number is its index modulo the
// number of shards; padded so that two shards never share a cache line.
type statShard struct {
	// Written on every command, on one line.
	latMax     atomic.Int64
	recentNext atomic.Uint64 // entries claimed in recent
	// Answers the kernel may have seen (shown), and those of them already
	// accounted: the kernel is told before accounting, so a reader that
	// saw a command end waits for accounted to catch up (see Snapshot).
	shown, accounted atomic.Uint64
	_                [32]byte

	ops       [256]opCounters                     // by opcode: commands and bytes on one line
	latency   [LatencyHistogramSize]atomic.Uint64 // log-linear, see LatencyBucketIndex
	senseKeys [16]atomic.Uint64

	// The shard's part of the recent-commands log, a ring buffer. Each
	// shard keeps a full log: workers do not spread evenly over shards,
	// and the newest recentLogSize commands overall are then always among
	// the shards' newest.
	recent [recentLogSize]recentEntry
	_      [64]byte
}

type opCounters struct {
	commands, bytes atomic.Uint64
}

// recentEntry is one entry of a shard's recent-commands log, written
// without a lock. The writer of log position n (claimed from recentNext,
// so n is unique) stores four words, each carrying the tag of n's lap of
// the log (recentTag, 16 bits) beside 48 bits of the record; a
// reader that finds all four words tagged with n's lap has n's record
// whole. A torn entry (two writers a lap or more apart, one of them
// stalled) shows as words with different tags and is left out; only a
// writer stalled for 2^16 laps could pass for the current one.
type recentEntry struct {
	words [4]atomic.Uint64
}

const (
	tagShift  = 48
	fieldMask = 1<<tagShift - 1
	// The log keeps when a command finished in units of 2^10 ticks
	// since calibration: about 1 µs, 48 bits of which last years.
	finishedShift = 10
)

// recentTag is the tag of log position n: its lap plus one, so that an
// entry never written (all zero) holds no position.
func recentTag(n uint64) uint64 { return (n/recentLogSize + 1) << tagShift }

func (e *recentEntry) write(n uint64, c *completion, latency int64) {
	tag := recentTag(n)
	e.words[0].Store(tag | min(c.lba, fieldMask))
	e.words[1].Store(tag | uint64(max(c.end-clock.tick0, 0))>>finishedShift&fieldMask)
	e.words[2].Store(tag | min(uint64(latency), fieldMask))
	e.words[3].Store(tag | min(c.dataBytes, 1<<32-1)<<16 | uint64(c.status)<<8 | uint64(c.opcode))
}

// read returns log position n if the entry holds it, whole.
func (e *recentEntry) read(n uint64) (RecentCommand, bool) {
	tag := recentTag(n)
	var w [4]uint64
	for i := range w {
		w[i] = e.words[i].Load()
		if w[i]&^fieldMask != tag {
			return RecentCommand{}, false
		}
		w[i] &= fieldMask
	}
	return RecentCommand{
		LBA:      w[0],
		finished: clock.tick0 + int64(w[1]<<finishedShift),
		Latency:  time.Duration(w[2]),
		Length:   w[3] >> 16,
		Status:   byte(w[3] >> 8),
		Opcode:   byte(w[3]),
	}, true
}

func newStats(queueDepth int) *Stats {
	n := max(min(queueDepth, 2*runtime.GOMAXPROCS(0), 16), 1)
	initClock()
	s := &Stats{shards: make([]statShard, n)}
	s.enabled.Store(true)
	return s
}

// SetEnabled turns statistics collection on or off (on by default).
// Commands in flight when it changes are accounted as they started.
func (s *Stats) SetEnabled(on bool) { s.enabled.Store(on) }

// Enabled reports whether statistics are being collected.
func (s *Stats) Enabled() bool { return s.enabled.Load() }

// newBatch records the ring occupancy (bytes between tail and head) found
// at a look at cmd_head, before the entries up to head are taken. Ring
// goroutine only.
func (s *Stats) newBatch(ringUsed uint64) {
	s.ringBytes.Store(ringUsed)
	if ringUsed > s.ringMaxLocal {
		s.ringMaxLocal = ringUsed
		s.ringBytesMax.Store(ringUsed)
	}
}

// takeCommand accounts a command taken from the ring; busy is the number
// of commands in flight with it. Ring goroutine only.
func (s *Stats) takeCommand(dataBytes uint64, busy int) {
	s.takenLocal += dataBytes
	s.takenBytes.Store(s.takenLocal)
	if int64(busy) > s.inFlightMaxLoc {
		s.inFlightMaxLoc = int64(busy)
		s.inFlightMax.Store(int64(busy))
	}
}

// noteDataInFlight compares the data in flight, taken minus done (the
// data of the commands answered, as the Ring counts them under its
// completion lock), with its maximum. Ring goroutine only.
func (s *Stats) noteDataInFlight(done uint64) {
	if cur := int64(s.takenLocal - done); cur > s.dataMaxLocal {
		s.dataMaxLocal = cur
		s.dataInFlightMax.Store(cur)
	}
}

// completion is what statistics keep of a command, copied out of its slot
// before the slot is reused.
type completion struct {
	opcode, status, senseKey byte
	lba, dataBytes           uint64
	start, end               int64
}

func (c *completion) fill(sl *slot) {
	*c = completion{status: sl.cmd.Status, dataBytes: sl.dataBytes, start: sl.start}
	if len(sl.cmd.CDB) > 0 {
		c.opcode = sl.cmd.CDB[0]
		c.lba = cdbLBA(sl.cmd.CDB)
	}
	if c.status == 0x02 {
		c.senseKey = scsi.SenseKeyOf(sl.cmd.Sense[:min(max(sl.cmd.SenseLen, 0), len(sl.cmd.Sense))])
	}
}

// willComplete says that an answer from shard is about to reach the
// kernel, before it is accounted with complete and accounted.
func (s *Stats) willComplete(shard int) {
	s.shards[shard%len(s.shards)].shown.Add(1)
}

// accounted pairs with willComplete, once the answer's complete is done.
func (s *Stats) accounted(shard int) {
	s.shards[shard%len(s.shards)].accounted.Add(1)
}

// awaitAccounting waits until every answer shown to the kernel before it
// was called is accounted: a workload that saw its last command end, then
// reads statistics, counts that command. The wait is on writers that never
// block (at most a notify), so it is short; accountingWait bounds it all
// the same.
func (s *Stats) awaitAccounting() {
	var deadline time.Time
	for i := range s.shards {
		sh := &s.shards[i]
		target := sh.shown.Load()
		for sh.accounted.Load() < target {
			if deadline.IsZero() {
				deadline = time.Now().Add(accountingWait)
			} else if time.Now().After(deadline) {
				return
			}
			runtime.Gosched()
		}
	}
}

// accountingWait bounds awaitAccounting.
const accountingWait = 100 * time.Millisecond

// complete accounts a command answered.
func (s *Stats) complete(shard int, c *completion) {
	sh := &s.shards[shard%len(s.shards)]
	latency := ticksToNS(c.end - c.start)
	if latency > sh.latMax.Load() {
		storeMax(&sh.latMax, latency)
	}
	n := sh.recentNext.Add(1) - 1
	op := &sh.ops[c.opcode]
	op.commands.Add(1)
	if c.dataBytes > 0 {
		op.bytes.Add(c.dataBytes)
	}
	sh.latency[latencyIndex(uint64(latency))].Add(1)
	if c.status == 0x02 {
		sh.senseKeys[c.senseKey].Add(1)
	}
	sh.recent[n%recentLogSize].write(n, c, latency)
}

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

// RecentCommand is one entry of the recent-commands log. The log keeps an
// LBA up to 2^48-1 and a length up to 2^32-1 (larger ones show as those),
// and Finished to about a microsecond.
type RecentCommand struct {
	Opcode   byte
	LBA      uint64
	Length   uint64 // bytes of data buffers
	Latency  time.Duration
	Status   byte
	Finished time.Time
	finished int64 // ticks
}

// Snapshot is a copy of a Ring's statistics at one moment (each counter is
// read atomically; counters are not read all at the same instant).
type Snapshot struct {
	Enabled  bool
	Commands uint64
	Bytes    uint64
	ByOpcode []OpcodeStats // opcodes seen, in opcode order

	// Latency is measured from the ring goroutine taking the entry (one
	// clock read per look at cmd_head) to the worker having its answer.
	// LatencyHistogram counts it in log-linear buckets (16 per power of
	// two, see LatencyBucketIndex); LatencyBuckets are the same counts
	// summed by power of two. P50 and P99 are interpolated within the
	// fine buckets, and never above Max.
	LatencyHistogram LatencyHistogram
	LatencyBuckets   [latencyBuckets]uint64 // bucket b: [2^(b-1), 2^b) ns
	P50, P99, Max    time.Duration

	InFlight, InFlightMax                   int64
	DataBytesInFlight, DataBytesInFlightMax int64
	RingBytes, RingBytesMax, RingSize       uint64

	CheckConditions [16]uint64 // by sense key
	BadEntries      uint64     // CMD entries failed by the ring (bad offsets, unknown CDB length)
	UnknownOps      uint64
	// Handoffs counts the commands given to a worker goroutine; the
	// others the ring goroutine answered itself (RingConfig.Inline).
	Handoffs uint64
	TMRs     [8]uint64 // by TMR type (LUN_RESET_PRO and unknown types count in 0)

	Recent []RecentCommand // oldest first
}

// Snapshot copies the statistics, every command whose end the kernel has
// seen before the call included.
func (s *Stats) Snapshot() Snapshot {
	initClock()
	s.awaitAccounting()
	snap := Snapshot{
		Enabled:              s.enabled.Load(),
		InFlightMax:          s.inFlightMax.Load(),
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
	if s.handoffs != nil {
		snap.Handoffs = s.handoffs.Load()
	}
	if s.busySlots != nil {
		snap.InFlight = int64(s.busySlots())
	}
	// The occupancy seen when the ring goroutine last found work is no
	// longer true once completions have moved the tail: an idle ring
	// would keep showing its last batch.
	if s.ringUsed != nil && s.enabled.Load() {
		snap.RingBytes = s.ringUsed()
	}
	var cmds, byts [256]uint64
	var maxLat int64
	for i := range s.shards {
		sh := &s.shards[i]
		for op := range cmds {
			cmds[op] += sh.ops[op].commands.Load()
			byts[op] += sh.ops[op].bytes.Load()
		}
		for b := range snap.LatencyHistogram {
			snap.LatencyHistogram[b] += sh.latency[b].Load()
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
	// Completed first (above), then taken: a command taken in between
	// shows as in flight rather than the difference going negative.
	snap.DataBytesInFlight = int64(s.takenBytes.Load() - snap.Bytes)
	snap.Max = time.Duration(maxLat)
	for b, n := range snap.LatencyHistogram {
		if n != 0 {
			snap.LatencyBuckets[latencyLog2Bucket(b)] += n
		}
	}
	snap.P50 = min(snap.LatencyHistogram.Quantile(0.50), snap.Max)
	snap.P99 = min(snap.LatencyHistogram.Quantile(0.99), snap.Max)

	for i := range s.shards {
		sh := &s.shards[i]
		next := sh.recentNext.Load()
		for n := next - min(next, recentLogSize); n < next; n++ {
			// Entries not yet written, being rewritten, or already a lap
			// ahead are left out.
			if c, ok := sh.recent[n%recentLogSize].read(n); ok {
				snap.Recent = append(snap.Recent, c)
			}
		}
	}
	slices.SortStableFunc(snap.Recent, func(a, b RecentCommand) int { return cmp.Compare(a.finished, b.finished) })
	if len(snap.Recent) > recentLogSize {
		snap.Recent = snap.Recent[len(snap.Recent)-recentLogSize:]
	}
	// Times are converted from now back, so that the ratio's error
	// counts only over a recent command's age.
	nowTicks, now := ticks(), time.Now()
	for i := range snap.Recent {
		snap.Recent[i].Finished = now.Add(-time.Duration(ticksToNS(nowTicks - snap.Recent[i].finished)))
	}
	return snap
}
