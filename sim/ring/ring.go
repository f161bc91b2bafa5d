// Package ring owns the simulated kernel's side of the TCMU command ring:
// the shared region (an anonymous shared mapping laid out exactly as
// target_core_user lays out a uio device's map0), the producer that turns a
// SCSI command from a simulated initiator into data-area blocks and a CMD
// entry, the reaping of completions, the kernel's flow control (qfull,
// cmd_time_out, qfull_time_out), the broken-ring state, and the actions
// block_dev, reset_ring and free_kept_buf. A Kernel implements
// sim.UserDeviceHooks so the simulated configfs kernel can drive it, and a
// Dev hands out a tcmu.Device that behaves like an opened /dev/uioN.
package ring

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tcmsh/tcmsh/scsi"
	"github.com/tcmsh/tcmsh/tcmu"
)

// Defaults the kernel uses when control does not say otherwise.
const (
	DefaultRingSize        = 8 << 20  // cmd_ring_size_mb = 8
	DefaultDataSize        = 64 << 20 // a small data area keeps simulated devices light
	DefaultDataPagesPerBlk = 1
	pageSize               = 4096
	// DefaultFlags are the capabilities a current kernel advertises.
	DefaultFlags = tcmu.FlagCapOOOC | tcmu.FlagCapReadLen | tcmu.FlagCapTMR | tcmu.FlagCapKeepBuf
)

// QfullNoWait as Config.QfullTimeout makes a full ring fail new commands at
// once with TASK SET FULL (qfull_time_out = 0).
const QfullNoWait time.Duration = -1

// Config describes one simulated TCMU device.
type Config struct {
	// RingSize is the bytes of mailbox plus command ring (cmd_ring_size_mb).
	RingSize uint32
	// DataSize is the bytes of the data area (max_data_area_mb).
	DataSize uint64
	// DataPagesPerBlk is the data block size in 4 KiB pages.
	DataPagesPerBlk uint32
	// Flags are the mailbox capability flags; 0 means DefaultFlags.
	Flags uint16
	// CmdTimeout is cmd_time_out: a command in the ring longer than this
	// fails to the initiator (it keeps its ring slot and blocks until
	// userspace completes it). 0 disables it.
	CmdTimeout time.Duration
	// QfullTimeout is qfull_time_out: how long a command waits for ring
	// or data space. 0 means "as CmdTimeout" (the kernel's -1), QfullNoWait
	// fails at once; with both 0 a command waits for ever.
	QfullTimeout time.Duration
	// TMRNotification is tmr_notification: TaskManagement posts TMR entries.
	TMRNotification bool
}

// ErrRemoved is returned for commands on a device that was removed.
var ErrRemoved = errors.New("sim/ring: device removed")

// Request is one SCSI command from the initiator.
type Request struct {
	CDB     []byte
	DataOut []byte // data-out buffer (a write, or the out half of a bidirectional command)
	DataIn  []byte // data-in buffer (a read, or the in half of a bidirectional command)
}

// Result is the initiator's view of a completed command.
type Result struct {
	Status   byte
	Sense    [scsi.SenseSize]byte
	SenseLen int
	// DataIn is the number of bytes copied into Request.DataIn; less than
	// its length when userspace reported a short read (read_len).
	DataIn int
}

// SenseKey returns the sense key of a CHECK CONDITION, 0 otherwise.
func (r *Result) SenseKey() byte {
	if r.Status != scsi.StatusCheckCondition {
		return 0
	}
	return scsi.SenseKeyOf(r.Sense[:min(max(r.SenseLen, 0), len(r.Sense))])
}

// ASC returns the additional sense code and qualifier of a CHECK CONDITION.
func (r *Result) ASC() (asc, ascq byte) {
	return scsi.SenseASC(r.Sense[:min(max(r.SenseLen, 0), len(r.Sense))])
}

// Counters count what the device did, for tests and the shell.
type Counters struct {
	Submitted, Completed      uint64
	Busy                      uint64 // answered BUSY (blocked device, reset_ring=1)
	QfullWaits, QfullTimeouts uint64
	CmdTimeouts               uint64
	LateCompletions           uint64 // completions of timed-out commands
	BrokenFailures            uint64 // commands failed because the ring is broken
	PadEntries, TMREntries    uint64
	KeptBuffers, ResetRings   uint64
	// What the userspace side cost, as the real kernel charges it:
	// Wakeups counts the Waits that found no event and slept until one
	// came (a handler thread put to sleep and woken), Notifies the
	// 4-byte writes that tell the kernel the tail moved.
	Wakeups, Notifies          uint64
	Broken, Blocked            bool
	InRing, Queued, FreeBlocks int
}

type cmdState uint8

const (
	stateIdle     cmdState = iota
	stateQueued            // waiting for ring or data space
	stateRing              // in the ring, the initiator waits
	stateExpired           // in the ring, the initiator was answered (timeout or ctx)
	stateKept              // completed with KEEP_BUF: blocks and id held until free_kept_buf
	stateFinished          // answered; the submitter owns it again
)

// pending is the kernel's state for one command (struct tcmu_cmd).
type pending struct {
	req    *Request
	id     uint16
	state  cmdState
	blocks []uint32 // data-out (or data-in) blocks, then bidi data-in blocks
	nOut   int      // blocks of the first part
	res    Result
	// removed: answered because the device went away, not by userspace.
	removed bool
	// failedQueued: answered while waiting for space, never in the ring.
	failedQueued bool
	done         chan struct{}
	wake         chan struct{}
	timer        *time.Timer
}

// Dev is one simulated TCMU device: the kernel's side of its ring.
type Dev struct {
	cfg       Config
	region    []byte
	mb        tcmu.Mailbox
	ring      []byte
	cmdrOff   uint32
	cmdrSize  uint32
	dataOff   uint64
	blockSize uint64
	nBlocks   int

	mu          sync.Mutex
	head        uint32
	lastCleaned uint32
	bitmap      []uint64
	freeBlocks  int
	cmds        []*pending // by cmd_id
	inRing      int
	nextID      uint16
	qfull       []*pending
	pool        []*pending
	iovScratch  [][2]uint64
	blocked     bool
	broken      bool
	removed     bool
	unmapped    bool
	counters    Counters

	evMu   sync.Mutex
	evCond *sync.Cond
	events uint64
	// evRemoved makes Wait fail: the device is gone. The region stays
	// mapped until the handle is closed.
	evRemoved bool
	user      *handle // the open uio handle, nil when closed

	wakeups, notifies atomic.Uint64
}

// New creates a device's shared region with the mailbox initialised as the
// kernel does (version 2, the capability flags, cmdr_off 128, cmdr_size the
// ring minus the mailbox, head and tail 0).
func New(cfg Config) (*Dev, error) {
	if cfg.RingSize == 0 {
		cfg.RingSize = DefaultRingSize
	}
	if cfg.DataSize == 0 {
		cfg.DataSize = DefaultDataSize
	}
	if cfg.DataPagesPerBlk == 0 {
		cfg.DataPagesPerBlk = DefaultDataPagesPerBlk
	}
	if cfg.Flags == 0 {
		cfg.Flags = DefaultFlags
	}
	blockSize := uint64(cfg.DataPagesPerBlk) * pageSize
	switch {
	case cfg.RingSize%pageSize != 0 || cfg.RingSize < 2*pageSize:
		return nil, fmt.Errorf("sim/ring: ring size %d is not a multiple of 4 KiB of at least 8 KiB", cfg.RingSize)
	case cfg.DataSize%blockSize != 0 || cfg.DataSize < blockSize:
		return nil, fmt.Errorf("sim/ring: data area %d is not a multiple of the %d-byte block", cfg.DataSize, blockSize)
	}
	total := uint64(cfg.RingSize) + cfg.DataSize
	// MAP_NORESERVE: like the kernel's data area, pages are backed only
	// when used; without it a 1 GiB data area is refused outright on a
	// small machine under the default overcommit heuristic.
	region, err := unix.Mmap(-1, 0, int(total), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return nil, fmt.Errorf("sim/ring: map %d-byte shared region: %w", total, err)
	}
	d := &Dev{
		cfg:       cfg,
		region:    region,
		mb:        tcmu.Mailbox(region[:tcmu.MailboxSize]),
		cmdrOff:   tcmu.MailboxSize,
		cmdrSize:  cfg.RingSize - tcmu.MailboxSize,
		dataOff:   uint64(cfg.RingSize),
		blockSize: blockSize,
		nBlocks:   int(cfg.DataSize / blockSize),
		cmds:      make([]*pending, 1<<16),
	}
	d.ring = region[d.cmdrOff : d.cmdrOff+d.cmdrSize]
	d.bitmap = make([]uint64, (d.nBlocks+63)/64)
	d.freeBlocks = d.nBlocks
	d.evCond = sync.NewCond(&d.evMu)
	d.mb.SetHeader(tcmu.MailboxVersion, cfg.Flags, d.cmdrOff, d.cmdrSize)
	d.mb.StoreHead(0)
	d.mb.StoreTail(0)
	return d, nil
}

// MapSize is the size of the shared region (maps/map0/size).
func (d *Dev) MapSize() uint64 { return uint64(len(d.region)) }

// Config returns the device's configuration with defaults filled in.
func (d *Dev) Config() Config {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cfg
}

// SetTimeouts sets cmd_time_out and qfull_time_out (see Config).
func (d *Dev) SetTimeouts(cmd, qfull time.Duration) {
	d.mu.Lock()
	d.cfg.CmdTimeout, d.cfg.QfullTimeout = cmd, qfull
	d.mu.Unlock()
}

// SetTMRNotification sets tmr_notification.
func (d *Dev) SetTMRNotification(on bool) {
	d.mu.Lock()
	d.cfg.TMRNotification = on
	d.mu.Unlock()
}

// Counters returns a copy of the device's counters.
func (d *Dev) Counters() Counters {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.counters
	c.Broken, c.Blocked = d.broken, d.blocked
	c.InRing, c.Queued, c.FreeBlocks = d.inRing, len(d.qfull), d.freeBlocks
	c.Wakeups, c.Notifies = d.wakeups.Load(), d.notifies.Load()
	return c
}

// InRing returns the cmd_ids of the commands in the ring (including timed
// out ones that userspace has not completed).
func (d *Dev) InRing() []uint16 {
	d.mu.Lock()
	defer d.mu.Unlock()
	var ids []uint16
	for id, p := range d.cmds {
		if p != nil && (p.state == stateRing || p.state == stateExpired) {
			ids = append(ids, uint16(id))
		}
	}
	return ids
}

// --- the uio side -----------------------------------------------------------

// handle is an open /dev/uioN: it implements tcmu.Device and
// tcmu.StoppableWaiter.
type handle struct {
	d       *Dev
	seen    uint64 // event count at the last Wait, guarded by d.evMu
	closed  atomic.Bool
	stopped atomic.Bool
}

var _ tcmu.StoppableWaiter = (*handle)(nil)

// Open opens the device's uio side. Like /dev/uioN it is exclusive: a
// second Open before Close fails with EBUSY.
func (d *Dev) Open() (tcmu.Device, error) {
	d.mu.Lock()
	removed := d.removed
	d.mu.Unlock()
	if removed {
		return nil, fmt.Errorf("sim/ring: open: %w", ErrRemoved)
	}
	d.evMu.Lock()
	defer d.evMu.Unlock()
	if d.user != nil {
		return nil, fmt.Errorf("sim/ring: open: %w", syscall.EBUSY)
	}
	h := &handle{d: d, seen: d.events}
	d.user = h
	return h, nil
}

func (h *handle) Region() []byte { return h.d.region }

// Wait blocks until the event count moves past the one seen last, like a
// blocking read of /dev/uioN.
func (h *handle) Wait() error {
	d := h.d
	d.evMu.Lock()
	defer d.evMu.Unlock()
	slept := false
	for d.events == h.seen && !h.closed.Load() && !d.evRemoved && !h.stopped.Load() {
		if !slept {
			slept = true
			d.wakeups.Add(1)
		}
		d.evCond.Wait()
	}
	if h.closed.Load() {
		return fmt.Errorf("sim/ring: wait: %w", os.ErrClosed)
	}
	if h.stopped.Load() {
		return fmt.Errorf("sim/ring: wait: %w", tcmu.ErrWaitStopped)
	}
	if d.evRemoved {
		return fmt.Errorf("sim/ring: wait: %w", ErrRemoved)
	}
	h.seen = d.events
	return nil
}

// Notify is the 4-byte write to /dev/uioN: the kernel reaps completions.
func (h *handle) Notify() error {
	if h.closed.Load() {
		return fmt.Errorf("sim/ring: notify: %w", os.ErrClosed)
	}
	h.d.notifies.Add(1)
	h.d.reap()
	return nil
}

// StopWaiting ends a Wait in progress and every later one.
func (h *handle) StopWaiting() {
	d := h.d
	d.evMu.Lock()
	h.stopped.Store(true)
	d.evCond.Broadcast()
	d.evMu.Unlock()
}

// Close releases the uio side; ring state stays for the next opener. The
// region is unmapped only once the device is also removed.
func (h *handle) Close() error {
	if h.closed.Swap(true) {
		return nil
	}
	d := h.d
	d.evMu.Lock()
	if d.user == h {
		d.user = nil
	}
	d.evCond.Broadcast()
	d.evMu.Unlock()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.unmapIfUnusedLocked()
	return nil
}

// signal is uio_event_notify.
func (d *Dev) signal() {
	d.evMu.Lock()
	d.events++
	d.evCond.Broadcast()
	d.evMu.Unlock()
}

// --- submission ----------------------------------------------------------------

func (d *Dev) getPendingLocked() *pending {
	if n := len(d.pool); n > 0 {
		p := d.pool[n-1]
		d.pool = d.pool[:n-1]
		return p
	}
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &pending{done: make(chan struct{}, 1), wake: make(chan struct{}, 1), timer: t, blocks: make([]uint32, 0, 16)}
}

func (d *Dev) putPendingLocked(p *pending) {
	p.req = nil
	p.state = stateIdle
	p.removed = false
	p.failedQueued = false
	p.blocks = p.blocks[:0]
	d.pool = append(d.pool, p)
}

// kernelSense fills a fixed-format sense for a command the kernel fails.
func kernelSense(res *Result, status, key, asc, ascq byte) {
	*res = Result{Status: status}
	if status != scsi.StatusCheckCondition {
		return
	}
	res.SenseLen = scsi.FixedSense(res.Sense[:], key, asc, ascq)
}

// Sense codes the kernel side uses.
const (
	keyNotReady       = 0x2
	keyIllegalRequest = 0x5
	ascLUCommFailure  = 0x08
	ascInvalidField   = 0x24
)

func (d *Dev) blocksFor(n int) int { return int((uint64(n) + d.blockSize - 1) / d.blockSize) }

// entrySizes returns the worst-case entry size of req (one iovec per block).
func (d *Dev) entrySize(req *Request) int {
	return tcmu.CmdEntryLen(d.blocksFor(len(req.DataOut))+d.blocksFor(len(req.DataIn)), len(req.CDB))
}

// Submit runs one SCSI command through the ring and waits for its answer,
// as the target core does for an initiator's command. An error is returned
// only when the device is removed or ctx ends; SCSI failures are in Result.
func (d *Dev) Submit(ctx context.Context, req *Request) (Result, error) {
	var res Result
	d.mu.Lock()
	d.counters.Submitted++
	switch {
	case d.removed:
		d.mu.Unlock()
		return res, fmt.Errorf("sim/ring: submit: %w", ErrRemoved)
	case d.blocked:
		d.counters.Busy++
		d.mu.Unlock()
		res.Status = scsi.StatusBusy
		return res, nil
	case d.broken:
		d.counters.BrokenFailures++
		d.mu.Unlock()
		kernelSense(&res, scsi.StatusCheckCondition, keyNotReady, ascLUCommFailure, 0)
		return res, nil
	}
	blocks := d.blocksFor(len(req.DataOut)) + d.blocksFor(len(req.DataIn))
	if blocks > d.nBlocks || d.entrySize(req) > int(d.cmdrSize/2) || len(req.CDB) == 0 || len(req.CDB) > 260 {
		d.mu.Unlock()
		kernelSense(&res, scsi.StatusCheckCondition, keyIllegalRequest, ascInvalidField, 0)
		return res, nil
	}
	p := d.getPendingLocked()
	p.req = req
	if len(d.qfull) == 0 && d.spaceLocked(p) {
		d.queueLocked(p)
		d.mu.Unlock()
		d.signal()
		return d.awaitRing(ctx, p)
	}
	if d.cfg.QfullTimeout == QfullNoWait {
		d.putPendingLocked(p)
		d.mu.Unlock()
		res.Status = scsi.StatusTaskSetFull
		return res, nil
	}
	p.state = stateQueued
	d.qfull = append(d.qfull, p)
	d.counters.QfullWaits++
	tmo := d.cfg.QfullTimeout
	if tmo == 0 {
		tmo = d.cfg.CmdTimeout
	}
	d.mu.Unlock()

	var expired <-chan time.Time
	if tmo > 0 {
		p.timer.Reset(tmo)
		expired = p.timer.C
	}
	select {
	case <-p.wake:
	case <-expired:
	case <-ctx.Done():
	}
	p.timer.Stop()
	d.mu.Lock()
	if p.state == stateQueued { // timed out or cancelled while waiting for space
		d.removeQueuedLocked(p)
		d.putPendingLocked(p)
		d.counters.QfullTimeouts++
		d.mu.Unlock()
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("sim/ring: submit: %w", err)
		}
		res.Status = scsi.StatusTaskSetFull
		return res, nil
	}
	// Woken, or timed out just as it was woken: the wake may still be in
	// the channel.
	select {
	case <-p.wake:
	default:
	}
	if p.failedQueued { // failed while queued (device blocked, broken or removed)
		res = p.res
		removed := p.removed
		d.putPendingLocked(p)
		d.mu.Unlock()
		if removed {
			return res, fmt.Errorf("sim/ring: submit: %w", ErrRemoved)
		}
		return res, nil
	}
	// Placed in the ring (and perhaps already completed: awaitRing
	// collects its answer).
	d.mu.Unlock()
	return d.awaitRing(ctx, p)
}

func (d *Dev) removeQueuedLocked(p *pending) {
	for i, q := range d.qfull {
		if q == p {
			d.qfull = append(d.qfull[:i], d.qfull[i+1:]...)
			return
		}
	}
}

// awaitRing waits for the answer of a command in the ring, applying
// cmd_time_out.
func (d *Dev) awaitRing(ctx context.Context, p *pending) (Result, error) {
	var expired <-chan time.Time
	d.mu.Lock()
	tmo := d.cfg.CmdTimeout
	d.mu.Unlock()
	if tmo > 0 {
		p.timer.Reset(tmo)
		expired = p.timer.C
	}
	var res Result
	select {
	case <-p.done:
		p.timer.Stop()
		d.mu.Lock()
		res = p.res
		removed := p.removed
		d.putPendingLocked(p)
		d.mu.Unlock()
		if removed {
			return res, fmt.Errorf("sim/ring: submit: %w", ErrRemoved)
		}
		return res, nil
	case <-expired:
	case <-ctx.Done():
	}
	p.timer.Stop()
	d.mu.Lock()
	if p.state == stateFinished {
		// Answered as the timer fired.
		d.mu.Unlock()
		<-p.done
		d.mu.Lock()
		res = p.res
		d.putPendingLocked(p)
		d.mu.Unlock()
		return res, nil
	}
	// The command keeps its slot and blocks until userspace completes it
	// (or reset_ring); the initiator is answered now and its buffers are
	// not touched again.
	p.state = stateExpired
	p.req = nil
	d.counters.CmdTimeouts++
	d.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("sim/ring: submit: %w", err)
	}
	// target_complete_cmd turns a bare CHECK CONDITION into LOGICAL UNIT
	// COMMUNICATION FAILURE.
	kernelSense(&res, scsi.StatusCheckCondition, keyNotReady, ascLUCommFailure, 0)
	return res, nil
}

// spaceLocked reports whether p fits now: data blocks, a cmd_id, and ring
// space for its worst-case entry plus a PAD to the end of the ring.
func (d *Dev) spaceLocked(p *pending) bool {
	req := p.req
	if d.blocksFor(len(req.DataOut))+d.blocksFor(len(req.DataIn)) > d.freeBlocks || d.inRing >= 0xFFFF {
		return false
	}
	size := uint32(d.entrySize(req))
	needed := size
	if toEnd := d.cmdrSize - d.head; toEnd < size {
		needed += toEnd
	}
	used := (d.head + d.cmdrSize - d.lastCleaned) % d.cmdrSize
	// One byte stays unused so that a full ring differs from an empty one.
	return d.cmdrSize-used-1 >= needed
}

// allocBlocksLocked takes n free blocks, lowest first.
func (d *Dev) allocBlocksLocked(p *pending, n int) {
	for w := 0; n > 0 && w < len(d.bitmap); w++ {
		for d.bitmap[w] != ^uint64(0) && n > 0 {
			bit := bits.TrailingZeros64(^d.bitmap[w])
			blk := w*64 + bit
			if blk >= d.nBlocks {
				break
			}
			d.bitmap[w] |= 1 << bit
			p.blocks = append(p.blocks, uint32(blk))
			d.freeBlocks--
			n--
		}
	}
}

func (d *Dev) freeBlocksLocked(p *pending) {
	for _, b := range p.blocks {
		d.bitmap[b/64] &^= 1 << (b % 64)
	}
	d.freeBlocks += len(p.blocks)
	p.blocks = p.blocks[:0]
}

// appendIovecs appends the iovecs of blocks covering length bytes, merging
// neighbouring blocks.
func (d *Dev) appendIovecs(iov [][2]uint64, blocks []uint32, length int) [][2]uint64 {
	left := uint64(length)
	start := len(iov)
	for _, b := range blocks {
		n := min(left, d.blockSize)
		base := d.dataOff + uint64(b)*d.blockSize
		if last := len(iov) - 1; last >= start && iov[last][0]+iov[last][1] == base {
			iov[last][1] += n
		} else {
			iov = append(iov, [2]uint64{base, n})
		}
		left -= n
	}
	return iov
}

// queueLocked places p in the ring: blocks, data-out, entry, head.
func (d *Dev) queueLocked(p *pending) {
	req := p.req
	var outLen, inLen int // first part (data), second part (bidi)
	switch {
	case len(req.DataOut) > 0 && len(req.DataIn) > 0:
		outLen, inLen = len(req.DataOut), len(req.DataIn)
	case len(req.DataOut) > 0:
		outLen = len(req.DataOut)
	default:
		outLen = len(req.DataIn)
	}
	p.blocks = p.blocks[:0]
	d.allocBlocksLocked(p, d.blocksFor(outLen))
	p.nOut = len(p.blocks)
	d.allocBlocksLocked(p, d.blocksFor(inLen))

	if len(req.DataOut) > 0 {
		d.scatter(p.blocks[:p.nOut], req.DataOut)
	}
	iov := d.appendIovecs(d.iovScratch[:0], p.blocks[:p.nOut], outLen)
	nData := len(iov)
	iov = d.appendIovecs(iov, p.blocks[p.nOut:], inLen)
	d.iovScratch = iov

	size := uint32(tcmu.CmdEntryLen(len(iov), len(req.CDB)))
	if toEnd := d.cmdrSize - d.head; toEnd < size {
		pad := tcmu.Entry(d.ring[d.head : d.head+toEnd])
		pad.SetLenOp(toEnd, tcmu.OpPad)
		pad.SetCmdID(0)
		pad.SetKFlags(0)
		pad.SetUFlags(0)
		d.head = 0
		d.counters.PadEntries++
	}
	p.id = d.allocIDLocked()
	d.cmds[p.id] = p
	e := tcmu.Entry(d.ring[d.head : d.head+size])
	clear(e[:tcmu.CmdEntrySize])
	e.SetLenOp(size, tcmu.OpCmd)
	e.SetCmdID(p.id)
	r := tcmu.CmdRequest(e)
	r.SetCounts(uint32(nData), uint32(len(iov)-nData))
	for i, v := range iov {
		r.SetIovec(i, v[0], v[1])
	}
	cdbAt := size - uint32((len(req.CDB)+7)&^7)
	copy(e[cdbAt:], req.CDB)
	r.SetCdbOff(uint64(d.cmdrOff) + uint64(d.head) + uint64(cdbAt))
	p.state = stateRing
	d.inRing++
	d.head = (d.head + size) % d.cmdrSize
	d.mb.StoreHead(d.head)
}

func (d *Dev) allocIDLocked() uint16 {
	for {
		d.nextID++
		if d.nextID == 0 {
			d.nextID = 1
		}
		if d.cmds[d.nextID] == nil {
			return d.nextID
		}
	}
}

// scatter copies src into blocks.
func (d *Dev) scatter(blocks []uint32, src []byte) {
	for _, b := range blocks {
		base := d.dataOff + uint64(b)*d.blockSize
		n := copy(d.region[base:base+d.blockSize], src)
		src = src[n:]
	}
}

// gather copies n bytes out of blocks into dst.
func (d *Dev) gather(dst []byte, blocks []uint32, n int) {
	dst = dst[:n]
	for _, b := range blocks {
		if len(dst) == 0 {
			return
		}
		base := d.dataOff + uint64(b)*d.blockSize
		c := copy(dst, d.region[base:base+d.blockSize])
		dst = dst[c:]
	}
}

// runQfullLocked moves waiting commands into the ring in arrival order while
// they fit; it reports whether any moved (the caller signals userspace).
func (d *Dev) runQfullLocked() bool {
	moved := false
	for len(d.qfull) > 0 {
		p := d.qfull[0]
		if d.blocked || d.broken || d.removed {
			// queue_cmd_ring fails them as it would a new command.
			switch {
			case d.removed:
				p.res = Result{}
				p.removed = true
			case d.blocked:
				d.counters.Busy++
				p.res = Result{Status: scsi.StatusBusy}
			default:
				d.counters.BrokenFailures++
				kernelSense(&p.res, scsi.StatusCheckCondition, keyNotReady, ascLUCommFailure, 0)
			}
			p.state = stateFinished
			p.failedQueued = true
		} else {
			if !d.spaceLocked(p) {
				break
			}
			d.queueLocked(p)
			moved = true
		}
		d.qfull[0] = nil
		d.qfull = d.qfull[1:]
		p.wake <- struct{}{}
	}
	if len(d.qfull) == 0 {
		d.qfull = d.qfull[:0:0]
	}
	return moved
}

// --- completion ------------------------------------------------------------------

// reap handles the completions between the last cleaned entry and
// cmd_tail (tcmu_handle_completions).
func (d *Dev) reap() {
	d.mu.Lock()
	if d.broken || d.removed {
		d.mu.Unlock()
		return
	}
	tail := d.mb.LoadTail()
	if tail >= d.cmdrSize || tail%tcmu.EntryAlign != 0 {
		d.broken = true
	}
	for !d.broken && d.lastCleaned != tail {
		off := d.lastCleaned
		lenOp := binary.LittleEndian.Uint32(d.ring[off:])
		n, op := tcmu.EntryLen(lenOp), tcmu.EntryOp(lenOp)
		if n < tcmu.EntryHeaderSize || uint64(off)+uint64(n) > uint64(d.cmdrSize) {
			d.broken = true
			break
		}
		if op == tcmu.OpPad || op == tcmu.OpTMR {
			d.lastCleaned = (off + n) % d.cmdrSize
			continue
		}
		e := tcmu.Entry(d.ring[off : off+n])
		var p *pending
		if n >= tcmu.CmdEntrySize {
			p = d.cmds[e.CmdID()]
		}
		if p == nil || (p.state != stateRing && p.state != stateExpired) {
			// A cmd_id the kernel does not know: the ring is broken.
			d.broken = true
			break
		}
		d.completeLocked(p, e)
		d.lastCleaned = (off + n) % d.cmdrSize
	}
	moved := d.runQfullLocked()
	d.mu.Unlock()
	if moved {
		d.signal()
	}
}

// completeLocked hands a completed command's answer and data-in to the
// initiator (tcmu_handle_completion).
func (d *Dev) completeLocked(p *pending, e tcmu.Entry) {
	d.counters.Completed++
	rsp := tcmu.CmdResponse(e)
	if p.state == stateExpired {
		d.counters.LateCompletions++
	} else {
		req := p.req
		res := &p.res
		*res = Result{Status: rsp.Status()}
		if res.Status == scsi.StatusCheckCondition {
			copy(res.Sense[:], rsp.Sense())
			res.SenseLen = tcmu.SenseBufferSize
		}
		if n := len(req.DataIn); n > 0 {
			if e.UFlags()&tcmu.UFlagReadLen != 0 && d.cfg.Flags&tcmu.FlagCapReadLen != 0 {
				n = min(n, int(rsp.ReadLen()))
			}
			in := p.blocks[:p.nOut]
			if len(req.DataOut) > 0 {
				in = p.blocks[p.nOut:]
			}
			d.gather(req.DataIn, in, n)
			res.DataIn = n
		}
	}
	keep := e.UFlags()&tcmu.UFlagKeepBuf != 0 && d.cfg.Flags&tcmu.FlagCapKeepBuf != 0
	finished := p.state == stateRing
	d.inRing--
	if keep {
		p.state = stateKept
		d.counters.KeptBuffers++
	} else {
		d.freeBlocksLocked(p)
		d.cmds[p.id] = nil
		if !finished {
			d.putPendingLocked(p)
		}
	}
	if finished {
		if keep {
			// The initiator is done with it; a separate record keeps
			// the blocks and the id until free_kept_buf.
			kept := d.getPendingLocked()
			kept.id, kept.state = p.id, stateKept
			kept.blocks = append(kept.blocks, p.blocks...)
			p.blocks = p.blocks[:0]
			d.cmds[p.id] = kept
		}
		p.state = stateFinished
		p.done <- struct{}{}
	}
}

// --- actions ---------------------------------------------------------------------

// BlockDev is action/block_dev: while blocked, new commands get BUSY.
func (d *Dev) BlockDev(block bool) {
	d.mu.Lock()
	d.blocked = block
	moved := d.runQfullLocked()
	d.mu.Unlock()
	if moved {
		d.signal()
	}
}

// ResetRing is action/reset_ring: every command in the ring is answered
// (level 1: BUSY, so the initiator retries; level 2: CHECK CONDITION),
// head and tail go to 0 and a broken ring is usable again. The device
// must be blocked first.
func (d *Dev) ResetRing(level int) error {
	if level != 1 && level != 2 {
		return fmt.Errorf("sim/ring: reset_ring %d: %w", level, syscall.EINVAL)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.blocked {
		return fmt.Errorf("sim/ring: reset_ring: the device must be blocked first: %w", syscall.EINVAL)
	}
	if d.removed {
		return fmt.Errorf("sim/ring: reset_ring: %w", ErrRemoved)
	}
	for id, p := range d.cmds {
		if p == nil {
			continue
		}
		d.cmds[id] = nil
		d.freeBlocksLocked(p)
		switch p.state {
		case stateRing:
			if level == 1 {
				d.counters.Busy++
				p.res = Result{Status: scsi.StatusBusy}
			} else {
				kernelSense(&p.res, scsi.StatusCheckCondition, keyNotReady, ascLUCommFailure, 0)
			}
			p.state = stateFinished
			p.done <- struct{}{}
		default: // expired or kept: nobody waits for it
			d.putPendingLocked(p)
		}
	}
	d.inRing = 0
	d.head, d.lastCleaned = 0, 0
	d.mb.StoreHead(0)
	d.mb.StoreTail(0)
	d.broken = false
	d.counters.ResetRings++
	d.runQfullLocked()
	return nil
}

// FreeKeptBuf is action/free_kept_buf: release the data blocks of a
// command completed with KEEP_BUF.
func (d *Dev) FreeKeptBuf(id uint16) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	p := d.cmds[id]
	if p == nil || p.state != stateKept {
		return fmt.Errorf("sim/ring: free_kept_buf %d: no kept buffer: %w", id, syscall.EINVAL)
	}
	d.freeBlocksLocked(p)
	d.cmds[id] = nil
	d.putPendingLocked(p)
	if d.runQfullLocked() {
		go d.signal()
	}
	return nil
}

// TaskManagement posts a TMR entry naming ids (the commands the target
// core aborts), when tmr_notification is on and the ring has room.
func (d *Dev) TaskManagement(tmrType uint8, ids []uint16) error {
	d.mu.Lock()
	if !d.cfg.TMRNotification || d.cfg.Flags&tcmu.FlagCapTMR == 0 {
		d.mu.Unlock()
		return nil
	}
	size := uint32(tcmu.TMREntryLen(len(ids)))
	needed := size
	if toEnd := d.cmdrSize - d.head; toEnd < size {
		needed += toEnd
	}
	used := (d.head + d.cmdrSize - d.lastCleaned) % d.cmdrSize
	if d.removed || d.cmdrSize-used-1 < needed {
		d.mu.Unlock()
		return fmt.Errorf("sim/ring: TMR: no ring space: %w", syscall.EAGAIN)
	}
	if toEnd := d.cmdrSize - d.head; toEnd < size {
		pad := tcmu.Entry(d.ring[d.head : d.head+toEnd])
		pad.SetLenOp(toEnd, tcmu.OpPad)
		pad.SetCmdID(0)
		pad.SetKFlags(0)
		pad.SetUFlags(0)
		d.head = 0
	}
	e := d.ring[d.head : d.head+size]
	clear(e)
	tcmu.Entry(e).SetLenOp(size, tcmu.OpTMR)
	t := tcmu.TMREntry(e)
	t.SetType(tmrType)
	t.SetCmdIDs(ids)
	d.head = (d.head + size) % d.cmdrSize
	d.mb.StoreHead(d.head)
	d.counters.TMREntries++
	d.mu.Unlock()
	d.signal()
	return nil
}

// Remove tears the device down: waiting initiators get ErrRemoved, the uio
// side sees its Wait fail, and the region is unmapped once no handle is
// open.
func (d *Dev) Remove() {
	d.mu.Lock()
	if d.removed {
		d.mu.Unlock()
		return
	}
	d.removed = true
	for id, p := range d.cmds {
		if p == nil {
			continue
		}
		d.cmds[id] = nil
		if p.state == stateRing {
			p.res = Result{}
			p.removed = true
			p.state = stateFinished
			p.done <- struct{}{}
		}
	}
	d.runQfullLocked()
	d.mu.Unlock()
	d.evMu.Lock()
	d.evRemoved = true
	d.evCond.Broadcast()
	d.evMu.Unlock()
	d.mu.Lock()
	d.unmapIfUnusedLocked()
	d.mu.Unlock()
}

// unmapIfUnusedLocked unmaps the region once the device is removed and the
// uio side closed: never earlier, since a serving loop may still touch it.
func (d *Dev) unmapIfUnusedLocked() {
	d.evMu.Lock()
	open := d.user != nil
	d.evMu.Unlock()
	if !d.removed || open || d.unmapped {
		return
	}
	d.unmapped = true
	_ = unix.Munmap(d.region)
}
