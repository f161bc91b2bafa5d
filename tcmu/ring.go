package tcmu

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/tcmsh/tcmsh/scsi"
)

// DefaultQueueDepth is the number of commands a Ring serves at once when
// RingConfig.QueueDepth is zero.
const DefaultQueueDepth = 64

// maxCDBLen is the longest CDB: a variable-length CDB (opcode 0x7f) of
// 8 + 255 bytes, rounded up.
const maxCDBLen = 264

// maxIovecs bounds the iovecs of one command. The kernel never sends more
// than one per data block of the command; this bound only stops a corrupt
// iov_cnt from making us grow per-slot buffers without limit.
const maxIovecs = 1 << 16

// ErrMalformedRing reports a ring whose entries cannot be followed (a length
// or head that does not fit): the Ring stops, since no later entry can be
// found.
var ErrMalformedRing = errors.New("tcmu: malformed command ring")

// ErrBadRegion reports a shared region whose mailbox the Ring cannot use.
var ErrBadRegion = errors.New("tcmu: unusable shared region")

// RingConfig configures a Ring.
type RingConfig struct {
	// Handler executes the commands; Execute is called from QueueDepth
	// goroutines at once.
	Handler scsi.Handler
	// QueueDepth is the number of commands in the handler at once (the
	// number of workers and preallocated command slots).
	QueueDepth int
	// Inline reports whether the handler answers a command (by its CDB)
	// without waiting for anything but memory: a read or write of a
	// backend in RAM, say. Such a command is executed on the thread that
	// took it from the ring, and the commands found at one look at the
	// ring are completed with one notify, as a single-threaded C handler
	// does; the others go to the workers, so that a slow one never stops
	// the ring from seeing TMRs and new work. Nil sends every command to
	// the workers.
	Inline func(cdb []byte) bool
}

// Ring serves the command ring of one TCMU device. One goroutine, locked
// to its OS thread, waits for the kernel's events and takes entries from
// the ring; the commands RingConfig.Inline accepts it executes itself,
// completing each look's worth with one notify. The others go to
// QueueDepth workers (so a slow backend never stops the ring goroutine
// from seeing TMRs or new work); each worker writes its completion into
// the entry at the tail (out-of-order completion), moves the tail and
// notifies.
//
// Run may be called once. Stats may be read at any time, from any goroutine.
type Ring struct {
	dev     Device
	region  []byte
	mb      Mailbox
	ring    []byte // the command ring: region[cmdrOff : cmdrOff+cmdrSize]
	size    uint32 // cmdr_size
	dataOff uint64 // first byte of the data area
	ooo     bool   // CAP_OOOC: completions may go into any CMD slot at the tail
	readLen bool   // CAP_READ_LEN
	handler scsi.Handler
	inline  func(cdb []byte) bool
	stats   *Stats

	slots    []slot
	idToSlot []uint16 // cmd_id → slot index + 1, for TMRs; stale entries are checked against slot.id
	free     chan *slot
	work     chan *slot
	kick     chan struct{}
	progress chan struct{}

	parse uint32 // next entry to take; ring goroutine only
	// spare is the slot of the last command the ring goroutine answered
	// itself, kept for the next one instead of a round trip through free
	// (two channel operations per command); spareHeld says so to readers
	// of inFlight on other goroutines.
	spare      *slot
	spareHeld  atomic.Int32
	lastSched  int64 // ticks when the ring goroutine last yielded (see schedSlice); ring goroutine only
	batchStart int64 // ticks when the ring goroutine last found new entries; 0 = not read yet
	// The commands the ring goroutine answered itself since its last
	// notify: how many, their data bytes and what statistics keep of them
	// (those taken with statistics on), accounted once the kernel has
	// been told. Until then they are in flight for the kernel, and for
	// the statistics (unnotified: inlineDone, for readers).
	inlineDone  int
	inlineData  uint64
	inlineStats []completion
	unnotified  atomic.Int64
	handoffs    atomic.Uint64 // commands given to a worker
	parsePos    atomic.Uint32
	onIdle      func() // test hook: the ring goroutine has taken everything up to head

	complMu sync.Mutex
	tail    uint32 // our cmd_tail, guarded by complMu
	// tailPos and headSeen are the tail as last stored and the head as
	// last read, for the statistics' occupancy now: readers get it from
	// here, never from the shared mapping, which may be gone.
	tailPos  atomic.Uint32
	headSeen atomic.Uint32
	doneData uint64 // data bytes of the commands answered with statistics on, guarded by complMu
	fifo     []record
	fifoHead int
	fifoLen  int
	// fifoRoom is how many records were free when the ring goroutine last
	// looked (ring goroutine only): a lower bound until it pushes again,
	// as only it adds records, so its check for room needs no lock.
	fifoRoom int

	running atomic.Bool
}

// record is one entry taken from the ring and not yet passed by the tail.
type record struct {
	off, length uint32
	isCmd       bool
	slot        *slot // the command taken from this entry (in-order completion)
}

// slot is the preallocated state of one command in flight.
type slot struct {
	index     int
	cmd       scsi.Command
	cdb       [maxCDBLen]byte
	iov       [][]byte // backing array of cmd.Data and cmd.BidiIn
	id        uint16
	failed    bool // answered by the ring itself (bad entry); the handler is not called
	done      bool // in-order completion: answered, waiting for its turn; guarded by complMu
	dataInLen int
	dataBytes uint64
	start     int64 // ticks when taken (statistics on); the worker reads it after the handoff
	statsOn   bool
}

// NewRing checks the mailbox of dev's region and prepares a Ring for it.
// The ring starts taking entries at the current cmd_tail, so a handler can
// attach to a ring that already holds state (after reset_ring).
func NewRing(dev Device, cfg RingConfig) (*Ring, error) {
	if cfg.Handler == nil {
		return nil, errors.New("tcmu: ring: no handler")
	}
	qd := cfg.QueueDepth
	if qd <= 0 {
		qd = DefaultQueueDepth
	}
	if qd > 0xFFFF {
		return nil, fmt.Errorf("tcmu: ring: queue depth %d exceeds the number of command ids", qd)
	}
	region := dev.Region()
	if len(region) < MailboxSize {
		return nil, fmt.Errorf("%w: %d bytes, smaller than the mailbox", ErrBadRegion, len(region))
	}
	if uintptr(unsafe.Pointer(&region[0]))%8 != 0 {
		return nil, fmt.Errorf("%w: region is not 8-byte aligned", ErrBadRegion)
	}
	mb := Mailbox(region[:MailboxSize])
	if v := mb.Version(); v != MailboxVersion {
		return nil, fmt.Errorf("%w: mailbox version %d, want %d", ErrBadRegion, v, MailboxVersion)
	}
	off, size := uint64(mb.CmdrOff()), uint64(mb.CmdrSize())
	switch {
	case off < MailboxSize || off%EntryAlign != 0:
		return nil, fmt.Errorf("%w: cmdr_off %d", ErrBadRegion, off)
	case size < 2*CmdEntrySize || size%EntryAlign != 0:
		return nil, fmt.Errorf("%w: cmdr_size %d", ErrBadRegion, size)
	case off+size > uint64(len(region)):
		return nil, fmt.Errorf("%w: ring %d+%d beyond the %d-byte region", ErrBadRegion, off, size, len(region))
	}
	tail := mb.LoadTail()
	if uint64(tail) >= size || tail%EntryAlign != 0 {
		return nil, fmt.Errorf("%w: cmd_tail %d in a %d-byte ring", ErrBadRegion, tail, size)
	}
	flags := mb.Flags()
	r := &Ring{
		dev:      dev,
		region:   region,
		mb:       mb,
		ring:     region[off : off+size],
		size:     uint32(size),
		dataOff:  off + size,
		ooo:      flags&FlagCapOOOC != 0,
		readLen:  flags&FlagCapReadLen != 0,
		handler:  cfg.Handler,
		inline:   cfg.Inline,
		stats:    newStats(qd),
		slots:    make([]slot, qd),
		idToSlot: make([]uint16, 1<<16),
		free:     make(chan *slot, qd),
		work:     make(chan *slot, qd),
		kick:     make(chan struct{}, 1),
		progress: make(chan struct{}, 1),
		parse:    tail,
		tail:     tail,
		// Room for every command in flight plus the PAD and TMR entries
		// between them; when full, the ring goroutine waits for completions.
		fifo:        make([]record, 2*qd+64),
		inlineStats: make([]completion, 0, qd),
	}
	r.fifoRoom = len(r.fifo)
	r.stats.ringSize = uint64(size)
	r.stats.handoffs = &r.handoffs
	r.stats.busySlots = func() int { return r.inFlight() }
	r.stats.ringUsed = func() uint64 {
		return (uint64(r.headSeen.Load()) + uint64(r.size) - uint64(r.tailPos.Load())) % uint64(r.size)
	}
	r.parsePos.Store(tail)
	r.tailPos.Store(tail)
	r.headSeen.Store(tail)
	for i := range r.slots {
		s := &r.slots[i]
		s.index = i
		s.iov = make([][]byte, 0, 16)
		r.free <- s
	}
	return r, nil
}

// Stats returns the ring's statistics.
func (r *Ring) Stats() *Stats { return r.stats }

// Run serves the ring until ctx is cancelled, the device is closed, or the
// ring turns out malformed. On the way out it stops taking entries, waits
// for every command already taken to complete (each gets its completion
// written and the tail moved past it), notifies the kernel, and closes the
// device — closing is what releases the goroutine blocked in Device.Wait.
// A cancelled ctx is a clean stop and returns nil.
func (r *Ring) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("tcmu: ring: Run called twice")
	}
	var workers sync.WaitGroup
	for i := range r.slots {
		workers.Add(1)
		go func(shard int) {
			defer workers.Done()
			r.worker(shard)
		}(i)
	}
	var err error
	if sw, ok := r.dev.(StoppableWaiter); ok {
		stop := context.AfterFunc(ctx, sw.StopWaiting)
		err = r.serve(ctx, r.dev.Wait, true)
		stop()
	} else {
		err = r.serve(ctx, r.waitInGoroutine(ctx), false)
	}

	// Every slot back in the free list means every command taken has its
	// completion written.
	r.returnSpare()
	for range r.slots {
		<-r.free
	}
	close(r.work)
	workers.Wait()
	for i := range r.slots {
		r.free <- &r.slots[i] // idle again, for Stats
	}
	notifyErr := r.dev.Notify()
	closeErr := r.dev.Close()
	if err == nil && notifyErr != nil && ctx.Err() == nil {
		err = fmt.Errorf("tcmu: ring: final notify: %w", notifyErr)
	}
	if err == nil && closeErr != nil {
		err = fmt.Errorf("tcmu: ring: close device: %w", closeErr)
	}
	return err
}

// errStopping says the context ended while the ring goroutine waited.
var errStopping = errors.New("stopping")

// waitInGoroutine waits for a device that cannot stop a Wait from a
// goroutine of its own (it ends when Run closes the device), and returns
// the ring goroutine's wait: for that goroutine's news or the end of ctx.
func (r *Ring) waitInGoroutine(ctx context.Context) func() error {
	waitErr := make(chan error, 1)
	go func() {
		for {
			if err := r.dev.Wait(); err != nil {
				waitErr <- err
				return
			}
			select {
			case r.kick <- struct{}{}:
			default:
			}
		}
	}()
	return func() error {
		select {
		case <-r.kick:
			return nil
		case <-ctx.Done():
			return errStopping
		case err := <-waitErr:
			return err
		}
	}
}

// serve is the ring goroutine: look at the head, take every entry up to
// it, notify once, wait for the kernel's next event (waitsHere: on this
// goroutine, which the device may then bind its waiting to). It keeps its OS
// thread, so that the thread that sleeps in the kernel's wait is the one
// that runs the inline commands when it wakes, with no hand-off between
// threads.
func (r *Ring) serve(ctx context.Context, wait func() error, waitsHere bool) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if b, ok := r.dev.(WaiterBinder); ok && waitsHere {
		b.BindWaiter()
	}
	for {
		if ctx.Err() != nil {
			return nil
		}
		head := r.mb.LoadHead()
		if head >= r.size || head%EntryAlign != 0 {
			return fmt.Errorf("%w: cmd_head %d in a %d-byte ring", ErrMalformedRing, head, r.size)
		}
		r.noteOccupancy(head)
		// Commands found in one look at the head share one clock read
		// (reading the clock costs as much as the rest of the statistics).
		r.batchStart = 0
		notify := false
		for r.parse != head {
			moved, err := r.takeEntry(ctx, head)
			if errors.Is(err, errStopping) {
				r.flushInline(false)
				return nil
			}
			if err != nil {
				r.flushInline(false)
				return err
			}
			notify = notify || moved
		}
		// PAD and TMR entries retired without a completion moved the
		// tail too; the kernel frees that space only when told.
		r.flushInline(notify)
		if r.onIdle != nil {
			r.onIdle()
		}
		if waitsHere {
			r.yieldIfDue()
		}
		if err := wait(); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("tcmu: ring: waiting for the kernel: %w", err)
		}
	}
}

// schedSlice is how long the ring goroutine runs, waits in the kernel
// included, before it yields to the Go scheduler. The runtime's monitor
// (sysmon) counts a goroutine that has not been rescheduled for 10 ms as
// running too long: it preempts it, or, when it sits in a system call as
// the ring goroutine mostly does, takes its P away, and then polls every
// 20 µs for a while. The ring goroutine, locked to its thread and never
// parked, would pay that every 10 ms however busy; measured on a real 6.1
// kernel under qemu, sysmon then woke 1,000-3,000 times a second. A yield
// costs less, but not nothing: the goroutine yields unlocked (see
// yieldIfDue), and the scheduler wakes an idle thread that may take it
// up. So the slice is as long as sysmon allows: it measures 10
// ms from when it first sees the goroutine's current schedule, which is
// never before the last yield, and 8 ms leaves room for a batch in
// progress when the slice runs out. (A wait for the kernel that lasts over
// 10 ms is still retaken, once per idle period.)
const schedSlice = 8 * time.Millisecond

// yieldIfDue yields to the scheduler when schedSlice has passed since the
// last yield, before the ring goroutine waits for the kernel.
func (r *Ring) yieldIfDue() {
	now := ticks()
	if ticksToNS(now-r.lastSched) < int64(schedSlice) {
		return
	}
	// Off its thread for the yield: a locked goroutine's yield hands the
	// P to another thread and sleeps until that thread hands it back, two
	// wake-ups; an unlocked one goes on on whichever thread takes it up.
	// The device then learns which thread waits. Measured on a real 6.1
	// kernel under qemu at QD 1 (perf, every thread): futex calls per
	// command 0.46-0.52 locked, 0.17-0.18 unlocked; system calls 2.8-3.1
	// against 2.6-2.7 (gettid, 0.08, included).
	runtime.UnlockOSThread()
	runtime.Gosched()
	runtime.LockOSThread()
	if b, ok := r.dev.(WaiterBinder); ok {
		b.MoveWaiter()
	}
	r.lastSched = ticks()
}

// flushInline tells the kernel about the commands the ring goroutine
// answered since its last notify (and about a tail moved past other
// entries, with notify), then accounts their statistics. Their latency
// ends here, just before the notify: the kernel sees none of them earlier.
func (r *Ring) flushInline(notify bool) {
	if r.inlineDone == 0 {
		if notify {
			_ = r.dev.Notify()
		}
		return
	}
	r.inlineDone, r.inlineData = 0, 0
	if len(r.inlineStats) == 0 {
		_ = r.dev.Notify()
		r.unnotified.Store(0)
		return
	}
	end := ticks()
	_ = r.dev.Notify()
	r.unnotified.Store(0)
	shard := r.inlineShard()
	for i := range r.inlineStats {
		c := &r.inlineStats[i]
		c.end = end
		r.stats.complete(shard, c)
	}
	r.inlineStats = r.inlineStats[:0]
	r.stats.accounted(shard)
}

// noteOccupancy records the bytes between the tail and head.
func (r *Ring) noteOccupancy(head uint32) {
	if !r.stats.enabled.Load() {
		return
	}
	r.headSeen.Store(head)
	tail := r.mb.LoadTail()
	r.stats.newBatch((uint64(head) + uint64(r.size) - uint64(tail)) % uint64(r.size))
}

// takeEntry takes the entry at r.parse. It reports whether it moved the
// tail itself (PAD, TMR and unknown entries with nothing in flight before
// them).
func (r *Ring) takeEntry(ctx context.Context, head uint32) (bool, error) {
	off := r.parse
	avail := (head + r.size - off) % r.size
	lenOp := binary.LittleEndian.Uint32(r.ring[off:])
	n, op := EntryLen(lenOp), EntryOp(lenOp)
	if n < EntryHeaderSize || n > avail || uint64(off)+uint64(n) > uint64(r.size) {
		return false, fmt.Errorf("%w: entry at %d has length %d (%d bytes to head, %d to the end)",
			ErrMalformedRing, off, n, avail, r.size-off)
	}
	entry := Entry(r.ring[off : off+n : off+n])
	if err := r.waitFIFOSpace(ctx); err != nil {
		return false, err
	}
	moved := false
	switch op {
	case OpCmd:
		if n < CmdEntrySize {
			return false, fmt.Errorf("%w: CMD entry at %d has length %d, below %d",
				ErrMalformedRing, off, n, CmdEntrySize)
		}
		s, err := r.takeSlot(ctx)
		if err != nil {
			return false, err
		}
		r.prepare(s, entry)
		r.push(record{off: off, length: n, isCmd: true, slot: s})
		// Stamped before the handoff: a fast handler could otherwise
		// finish before the stamp.
		r.stampStart(s)
		switch {
		case s.failed:
			r.answerInline(s)
		case r.inline != nil && r.inline(s.cmd.CDB):
			r.handler.Execute(&s.cmd)
			r.answerInline(s)
		default:
			r.handoffs.Add(1)
			r.work <- s
		}
	case OpTMR:
		r.taskManagement(TMREntry(entry))
		moved = r.push(record{off: off, length: n})
	case OpPad:
		moved = r.push(record{off: off, length: n})
	default:
		// The kernel sends only PAD, CMD and TMR; tell it we skipped
		// this one.
		entry.SetUFlags(entry.UFlags() | UFlagUnknownOp)
		r.stats.unknownOps.Add(1)
		moved = r.push(record{off: off, length: n})
	}
	r.parse = (off + n) % r.size
	r.parsePos.Store(r.parse)
	return moved, nil
}

// stampStart records when s was taken. Commands found in one look at the
// head share one clock read.
func (r *Ring) stampStart(s *slot) {
	if !s.statsOn {
		return
	}
	if r.batchStart == 0 {
		r.batchStart = ticks()
	}
	s.start = r.batchStart
}

// waitFIFOSpace waits until the record queue has room for one more entry.
func (r *Ring) waitFIFOSpace(ctx context.Context) error {
	for r.fifoRoom == 0 {
		r.complMu.Lock()
		r.fifoRoom = len(r.fifo) - r.fifoLen
		r.complMu.Unlock()
		if r.fifoRoom > 0 {
			return nil
		}
		r.flushInline(false)
		select {
		case <-r.progress:
		case <-ctx.Done():
			return errStopping
		}
	}
	return nil
}

// push queues a taken entry behind the tail, then retires what can be
// retired. It reports whether the tail moved.
func (r *Ring) push(rec record) bool {
	r.complMu.Lock()
	defer r.complMu.Unlock()
	r.fifo[(r.fifoHead+r.fifoLen)%len(r.fifo)] = rec
	r.fifoLen++
	if rec.isCmd && rec.slot.statsOn {
		r.stats.noteDataInFlight(r.doneData - r.inlineData)
	}
	moved := r.retireSkipsLocked()
	r.fifoRoom = len(r.fifo) - r.fifoLen
	if moved {
		r.mb.StoreTail(r.tail)
		r.tailPos.Store(r.tail)
	}
	return moved
}

// retireSkipsLocked moves the tail past PAD, TMR and unknown entries at the
// front of the queue.
func (r *Ring) retireSkipsLocked() bool {
	moved := false
	for r.fifoLen > 0 {
		rec := &r.fifo[r.fifoHead]
		if rec.isCmd {
			break
		}
		r.popLocked()
		moved = true
	}
	return moved
}

func (r *Ring) popLocked() {
	rec := &r.fifo[r.fifoHead]
	r.tail = (r.tail + rec.length) % r.size
	rec.slot = nil
	r.fifoHead = (r.fifoHead + 1) % len(r.fifo)
	r.fifoLen--
}

// prepare copies the CDB and iovec list out of a CMD entry into s — the
// entry may be overwritten by any completion from now on — checking every
// offset against the region. A bad entry leaves s failed with a CHECK
// CONDITION for the kernel.
func (r *Ring) prepare(s *slot, entry Entry) {
	s.cmd.Reset()
	s.cmd.CDB = s.cdb[:0]
	s.cmd.Data, s.cmd.BidiIn = nil, nil
	s.failed, s.done = false, false
	s.dataInLen, s.dataBytes = 0, 0
	s.id = entry.CmdID()
	r.idToSlot[s.id] = uint16(s.index + 1)
	s.statsOn = r.stats.enabled.Load()
	s.start = 0

	req := CmdRequest(entry)
	regionLen := uint64(len(r.region))
	cdbOff := req.CdbOff()
	if cdbOff >= regionLen {
		r.fail(s, scsi.SenseKeyHardwareError, scsi.ASCInternalTargetFailure, 0)
		return
	}
	op := r.region[cdbOff]
	length := cdbLenAt(r.region, cdbOff)
	if length == 0 {
		s.cdb[0] = op
		s.cmd.CDB = s.cdb[:1]
		r.fail(s, scsi.SenseKeyIllegalRequest, scsi.ASCInvalidOpcode, 0)
		return
	}
	if uint64(length) > regionLen-cdbOff {
		r.fail(s, scsi.SenseKeyHardwareError, scsi.ASCInternalTargetFailure, 0)
		return
	}
	s.cmd.CDB = s.cdb[:copy(s.cdb[:length], r.region[cdbOff:])]

	iovCnt, bidiCnt := uint64(req.IovCnt()), uint64(req.IovBidiCnt())
	total := iovCnt + bidiCnt
	if total > maxIovecs || ReqIovOff+IovecSize*total > uint64(len(entry)) {
		r.fail(s, scsi.SenseKeyHardwareError, scsi.ASCInternalTargetFailure, 0)
		return
	}
	if uint64(cap(s.iov)) < total {
		s.iov = make([][]byte, 0, total) // rare: more iovecs than ever before on this slot
	}
	iov := s.iov[:total]
	var inLen, allLen uint64
	for i := range iov {
		base, n := req.Iovec(i)
		// Data buffers live in the data area only: an iovec over the
		// mailbox or ring would let a data-in command overwrite them.
		if base < r.dataOff || base > regionLen || n > regionLen-base {
			clear(iov)
			r.fail(s, scsi.SenseKeyHardwareError, scsi.ASCInternalTargetFailure, 0)
			return
		}
		iov[i] = r.region[base : base+n : base+n]
		allLen += n
		if bidiCnt == 0 || uint64(i) >= iovCnt {
			inLen += n
		}
	}
	s.cmd.Data = iov[:iovCnt]
	if bidiCnt > 0 {
		s.cmd.BidiIn = iov[iovCnt:]
	}
	s.dataInLen = int(inLen)
	s.dataBytes = allLen
	if s.statsOn {
		r.stats.takeCommand(allLen, r.inFlight())
	}
}

// fail answers s with a CHECK CONDITION without running the handler.
func (r *Ring) fail(s *slot, key, asc, ascq byte) {
	s.failed = true
	s.cmd.Data, s.cmd.BidiIn = nil, nil
	s.cmd.SetCheckCondition(key, asc, ascq)
	r.stats.badEntries.Add(1)
	if s.statsOn {
		r.stats.takeCommand(0, r.inFlight())
	}
}

// cdbLenAt returns the length of the CDB at off in region, 0 if unknown.
func cdbLenAt(region []byte, off uint64) int {
	op := region[off]
	return scsi.CDBLength(op, func() (byte, bool) {
		if off+7 < uint64(len(region)) {
			return region[off+7], true
		}
		return 0, false
	})
}

// taskManagement aborts the commands a TMR names. The kernel lists every
// command it aborts (ABORT TASK names one, LUN RESET all of them on this
// LUN), so one rule serves every TMR type; userspace only has to finish
// those commands early and move the tail past the TMR.
func (r *Ring) taskManagement(t TMREntry) {
	r.stats.countTMR(t)
	if len(t) < TMREntrySize {
		return
	}
	n := uint64(t.CmdCnt())
	if most := uint64(len(t)-TMRCmdIDsOff) / 2; n > most {
		n = most
	}
	for i := 0; i < int(n); i++ {
		id := t.CmdID(i)
		if idx := r.idToSlot[id]; idx != 0 {
			if s := &r.slots[idx-1]; s.id == id {
				s.cmd.Abort()
			}
		}
	}
}

func (r *Ring) worker(shard int) {
	for s := range r.work {
		r.handler.Execute(&s.cmd)
		r.complete(s, shard)
	}
}

// inFlight is the number of commands taken and not yet reported to the
// kernel: those in slots, and those answered inline but not notified.
func (r *Ring) inFlight() int {
	return cap(r.free) - len(r.free) - int(r.spareHeld.Load()) + int(r.unnotified.Load())
}

// takeSlot returns a slot for the next command: the one the last inline
// answer kept, else one from free, waiting for a worker to release one.
func (r *Ring) takeSlot(ctx context.Context) (*slot, error) {
	if s := r.takeSpare(); s != nil {
		return s, nil
	}
	select {
	case s := <-r.free:
		return s, nil
	default:
	}
	// Every slot is with a worker: what the ring goroutine answered must
	// reach the kernel before it waits.
	r.flushInline(false)
	select {
	case s := <-r.free:
		return s, nil
	case <-ctx.Done():
		return nil, errStopping
	}
}

// takeSpare returns the slot kept by the last inline answer, if any.
func (r *Ring) takeSpare() *slot {
	s := r.spare
	if s != nil {
		r.spare = nil
		r.spareHeld.Store(0)
	}
	return s
}

// returnSpare puts a kept slot back into free, for Run's drain.
func (r *Ring) returnSpare() {
	if s := r.takeSpare(); s != nil {
		r.free <- s
	}
}

// answerInline writes the answer of a command the ring goroutine ran (or
// failed) itself; flushInline notifies.
func (r *Ring) answerInline(s *slot) {
	if s.statsOn {
		if len(r.inlineStats) == 0 {
			// The batch's answers reach the kernel from retire on
			// (another notify may carry them); flushInline accounts.
			r.stats.willComplete(r.inlineShard())
		}
		r.inlineStats = append(r.inlineStats, completion{})
		r.inlineStats[len(r.inlineStats)-1].fill(s)
	}
	r.retire(s, true)
	r.inlineDone++
	if s.statsOn {
		r.inlineData += s.dataBytes
	}
	r.unnotified.Store(int64(r.inlineDone))
	if r.inlineDone >= len(r.slots) {
		// A long look at the ring: let the kernel have these back.
		r.flushInline(false)
	}
}

// complete writes a worker's answer into the ring, moves the tail and
// notifies.
func (r *Ring) complete(s *slot, shard int) {
	// What statistics need is copied now, the slot being reused once
	// released; the accounting itself waits until the kernel has been
	// told, off the command's path.
	statsOn := s.statsOn
	var c completion
	if statsOn {
		c.fill(s)
		c.end = ticks()
		r.stats.willComplete(shard)
	}
	r.retire(s, false)
	_ = r.dev.Notify()
	if statsOn {
		r.stats.complete(shard, &c)
		r.stats.accounted(shard)
	}
}

// retire writes s's answer into the ring and moves the tail. With
// CAP_OOOC the answer goes into the first CMD entry at the tail, whichever
// command that entry carried (its request was copied when it was taken);
// without it, answers wait for the commands before them. inline: the ring
// goroutine answered s itself; it keeps the slot for its next command, and
// signals no progress (it is the only waiter for progress, and not
// waiting now).
func (r *Ring) retire(s *slot, inline bool) {
	r.complMu.Lock()
	if r.ooo {
		r.retireSkipsLocked()
		if r.fifoLen > 0 {
			rec := r.fifo[r.fifoHead]
			r.writeCompletion(rec.off, rec.length, s)
			r.popLocked()
		}
		r.retireSkipsLocked()
		if inline { // s came from takeSlot, so no other slot is kept
			r.spare = s
			r.spareHeld.Store(1)
		} else {
			r.free <- s
		}
	} else {
		s.done = true
		for r.fifoLen > 0 {
			rec := r.fifo[r.fifoHead]
			if rec.isCmd {
				if !rec.slot.done {
					break
				}
				r.writeCompletion(rec.off, rec.length, rec.slot)
				r.free <- rec.slot
			}
			r.popLocked()
		}
	}
	r.mb.StoreTail(r.tail)
	r.tailPos.Store(r.tail)
	r.complMu.Unlock()
	if inline {
		return
	}
	select {
	case r.progress <- struct{}{}:
	default:
	}
}

// writeCompletion writes s's answer into the CMD entry at off.
func (r *Ring) writeCompletion(off, length uint32, s *slot) {
	e := Entry(r.ring[off : off+length])
	e.SetCmdID(s.id)
	if s.statsOn {
		r.doneData += s.dataBytes
	}
	rsp := CmdResponse(e)
	var uflags uint8
	rsp.SetStatus(s.cmd.Status)
	// A handler that produced fewer data-in bytes than the buffers hold
	// reports a residual. ReadLen 0 means "not set" (a write, or a
	// handler that filled the whole buffer).
	if r.readLen && s.cmd.ReadLen > 0 && s.cmd.ReadLen < s.dataInLen {
		uflags |= UFlagReadLen
		rsp.SetReadLen(uint32(s.cmd.ReadLen))
	}
	e.SetUFlags(uflags)
	if s.cmd.Status != scsi.StatusGood {
		sense := rsp.Sense()
		n := copy(sense, s.cmd.Sense[:min(max(s.cmd.SenseLen, 0), len(s.cmd.Sense))])
		clear(sense[n:])
	}
}

// inlineShard is the statistics shard of the ring goroutine's own answers,
// one no worker starts with.
func (r *Ring) inlineShard() int { return len(r.slots) }
