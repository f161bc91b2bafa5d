package tcmu_test

import (
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tcmsh/tcmsh/scsi"
	"github.com/tcmsh/tcmsh/sim/initiator"
	"github.com/tcmsh/tcmsh/sim/ring"
	"github.com/tcmsh/tcmsh/tcmu"
)

func newDev(t *testing.T, cfg ring.Config) *ring.Dev {
	t.Helper()
	d, err := ring.New(cfg)
	if err != nil {
		t.Fatalf("ring.New: %v", err)
	}
	t.Cleanup(d.Remove)
	return d
}

// serve runs a Ring with h on a new uio handle of d; stop cancels it and
// returns Run's error.
func serve(t *testing.T, d *ring.Dev, h scsi.Handler, qd int) (*tcmu.Ring, func() error) {
	t.Helper()
	u, err := d.Open()
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	r, err := tcmu.NewRing(u, tcmu.RingConfig{Handler: h, QueueDepth: qd})
	if err != nil {
		t.Fatalf("NewRing: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() { cancel(); runErr = <-done })
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	return r, stop
}

// eventually polls cond until it holds or the test's patience ends.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// gate holds every command in the handler until released; it then runs
// the command on disk. A command that is aborted while held answers TASK
// ABORTED.
type gate struct {
	disk     *initiator.MemDisk
	arrived  chan uint64 // LBA of each command entering the handler
	mu       sync.Mutex
	releases map[uint64]chan struct{}
	all      chan struct{}
	held     atomic.Int32
	readLen  int // when > 0, reads report only this many bytes
}

func newGate(disk *initiator.MemDisk) *gate {
	return &gate{disk: disk, arrived: make(chan uint64, 1024), releases: map[uint64]chan struct{}{}, all: make(chan struct{})}
}

func (g *gate) release(lba uint64) chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	ch, ok := g.releases[lba]
	if !ok {
		ch = make(chan struct{})
		g.releases[lba] = ch
	}
	return ch
}

func (g *gate) releaseAll() { close(g.all) }

func lbaOf(cdb []byte) uint64 {
	switch cdb[0] {
	case 0x28, 0x2a:
		return uint64(binary.BigEndian.Uint32(cdb[2:]))
	case 0x88, 0x8a:
		return binary.BigEndian.Uint64(cdb[2:])
	}
	return 0
}

func (g *gate) Execute(cmd *scsi.Command) {
	lba := lbaOf(cmd.CDB)
	g.held.Add(1)
	g.arrived <- lba
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
wait:
	for {
		select {
		case <-g.release(lba):
			break wait
		case <-g.all:
			break wait
		case <-tick.C:
			if cmd.Aborted() {
				g.held.Add(-1)
				cmd.Status = scsi.StatusTaskAborted
				return
			}
		}
	}
	g.held.Add(-1)
	g.disk.Execute(cmd)
	if g.readLen > 0 && cmd.ReadLen > g.readLen {
		cmd.ReadLen = g.readLen
	}
}

func read10(lba uint64, blocks uint16) []byte {
	cdb := make([]byte, 10)
	cdb[0] = 0x28
	binary.BigEndian.PutUint32(cdb[2:], uint32(lba))
	binary.BigEndian.PutUint16(cdb[7:], blocks)
	return cdb
}

func write10(lba uint64, blocks uint16) []byte {
	cdb := read10(lba, blocks)
	cdb[0] = 0x2a
	return cdb
}

// patternDisk is a 1 MiB disk whose every 512-byte block holds its LBA.
func patternDisk() *initiator.MemDisk {
	disk := initiator.NewMemDisk(1<<20, 512)
	for lba := 0; lba < len(disk.Store)/512; lba++ {
		for i := 0; i < 512; i += 8 {
			binary.LittleEndian.PutUint64(disk.Store[lba*512+i:], uint64(lba))
		}
	}
	return disk
}

func checkLBAData(t *testing.T, buf []byte, lba uint64) {
	t.Helper()
	for i := 0; i+8 <= len(buf); i += 8 {
		if got := binary.LittleEndian.Uint64(buf[i:]); got != lba+uint64(i/512) {
			t.Fatalf("read of LBA %d: byte %d holds LBA %d", lba, i, got)
		}
	}
}

type outcome struct {
	lba uint64
	res ring.Result
	buf []byte
	err error
}

// submitReads sends one 4 KiB read per LBA, concurrently.
func submitReads(d *ring.Dev, lbas []uint64) chan outcome {
	out := make(chan outcome, len(lbas))
	for _, lba := range lbas {
		go func() {
			buf := make([]byte, 4096)
			res, err := d.Submit(context.Background(), &ring.Request{CDB: read10(lba, 8), DataIn: buf})
			out <- outcome{lba, res, buf, err}
		}()
	}
	return out
}

func TestOutOfOrderCompletion(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags uint16
	}{{"OOOC", ring.DefaultFlags}, {"in order", tcmu.FlagCapReadLen}} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDev(t, ring.Config{RingSize: 16 << 10, DataSize: 256 << 10, Flags: tc.flags})
			g := newGate(patternDisk())
			_, stop := serve(t, d, g, 8)
			lbas := []uint64{0, 8, 16, 24, 32, 40, 48, 56}
			out := submitReads(d, lbas)
			for range lbas {
				<-g.arrived
			}
			// Release newest first: with OOOC each answer lands in the
			// oldest entry, carrying another command's cmd_id.
			got := map[uint64]outcome{}
			for i := len(lbas) - 1; i >= 0; i-- {
				close(g.release(lbas[i]))
				if tc.flags&tcmu.FlagCapOOOC != 0 {
					o := <-out
					if o.lba != lbas[i] {
						t.Fatalf("released LBA %d, but LBA %d completed", lbas[i], o.lba)
					}
					got[o.lba] = o
				}
			}
			for len(got) < len(lbas) {
				o := <-out
				got[o.lba] = o
			}
			for _, o := range got {
				if o.err != nil || o.res.Status != scsi.StatusGood || o.res.DataIn != 4096 {
					t.Fatalf("LBA %d: %v status %#x, %d bytes", o.lba, o.err, o.res.Status, o.res.DataIn)
				}
				checkLBAData(t, o.buf, o.lba)
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestRingWrapsWithPads(t *testing.T) {
	// 120-byte TEST UNIT READY entries among 128-byte READ/WRITE(10)
	// entries make the head land short of the end: the kernel pads.
	d := newDev(t, ring.Config{RingSize: 8 << 10, DataSize: 128 << 10})
	disk := initiator.NewMemDisk(1<<20, 512)
	_, stop := serve(t, d, disk, 4)
	ctx := context.Background()
	buf := make([]byte, 4096)
	for i := 0; i < 400; i++ {
		lba := uint64(i%200) * 8
		for j := range buf {
			buf[j] = byte(i + j)
		}
		for _, req := range []*ring.Request{
			{CDB: make([]byte, 6)},
			{CDB: write10(lba, 8), DataOut: buf},
			{CDB: read10(lba, 8), DataIn: make([]byte, 4096)},
		} {
			res, err := d.Submit(ctx, req)
			if err != nil || res.Status != scsi.StatusGood {
				t.Fatalf("command %d (%#x): %v status %#x", i, req.CDB[0], err, res.Status)
			}
			if req.DataIn != nil {
				for j := range req.DataIn {
					if req.DataIn[j] != byte(i+j) {
						t.Fatalf("command %d: read back byte %d = %d", i, j, req.DataIn[j])
					}
				}
			}
		}
	}
	if c := d.Counters(); c.PadEntries == 0 {
		t.Fatalf("no PAD in 1200 commands on an 8 KiB ring: %+v", c)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestTaskManagementAborts(t *testing.T) {
	d := newDev(t, ring.Config{RingSize: 16 << 10, DataSize: 256 << 10, TMRNotification: true})
	g := newGate(patternDisk())
	r, stop := serve(t, d, g, 8)

	out := submitReads(d, []uint64{0})
	<-g.arrived
	ids := d.InRing()
	if len(ids) != 1 {
		t.Fatalf("in ring: %v", ids)
	}
	if err := d.TaskManagement(tcmu.TMRAbortTask, ids); err != nil {
		t.Fatal(err)
	}
	if o := <-out; o.err != nil || o.res.Status != scsi.StatusTaskAborted {
		t.Fatalf("aborted read: %v status %#x", o.err, o.res.Status)
	}

	lbas := []uint64{8, 16, 24}
	out = submitReads(d, lbas)
	for range lbas {
		<-g.arrived
	}
	if err := d.TaskManagement(tcmu.TMRLUNReset, d.InRing()); err != nil {
		t.Fatal(err)
	}
	for range lbas {
		if o := <-out; o.err != nil || o.res.Status != scsi.StatusTaskAborted {
			t.Fatalf("LUN reset: LBA %d: %v status %#x", o.lba, o.err, o.res.Status)
		}
	}
	snap := r.Stats().Snapshot()
	if snap.TMRs[tcmu.TMRAbortTask] != 1 || snap.TMRs[tcmu.TMRLUNReset] != 1 {
		t.Errorf("TMR counts %v", snap.TMRs)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if c := d.Counters(); c.InRing != 0 {
		t.Errorf("left in ring: %+v", c)
	}
}

func TestReadLenResidual(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags uint16
		want  int
	}{{"CAP_READ_LEN", ring.DefaultFlags, 1000}, {"without CAP_READ_LEN", tcmu.FlagCapOOOC, 4096}} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDev(t, ring.Config{RingSize: 16 << 10, DataSize: 256 << 10, Flags: tc.flags})
			g := newGate(patternDisk())
			g.readLen = 1000
			g.releaseAll()
			_, stop := serve(t, d, g, 2)
			o := <-submitReads(d, []uint64{8})
			if o.err != nil || o.res.Status != scsi.StatusGood || o.res.DataIn != tc.want {
				t.Fatalf("read: %v status %#x, %d bytes, want %d", o.err, o.res.Status, o.res.DataIn, tc.want)
			}
			checkLBAData(t, o.buf[:1000], 8)
			if err := stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestQfullWaitsForSpace(t *testing.T) {
	// Four 4 KiB data blocks: the fifth write waits in the kernel until
	// one completes.
	d := newDev(t, ring.Config{RingSize: 16 << 10, DataSize: 16 << 10})
	g := newGate(initiator.NewMemDisk(1<<20, 512))
	_, stop := serve(t, d, g, 8)
	results := make(chan error, 5)
	for i := range 5 {
		go func() {
			res, err := d.Submit(context.Background(), &ring.Request{CDB: write10(uint64(i)*8, 8), DataOut: make([]byte, 4096)})
			if err == nil && res.Status != scsi.StatusGood {
				err = errors.New("not GOOD")
			}
			results <- err
		}()
	}
	for range 4 {
		<-g.arrived
	}
	eventually(t, "the fifth command to wait", func() bool { return d.Counters().Queued == 1 })
	if c := d.Counters(); c.InRing != 4 || c.FreeBlocks != 0 || c.QfullWaits != 1 {
		t.Fatalf("counters %+v", c)
	}
	g.releaseAll()
	for range 5 {
		if err := <-results; err != nil {
			t.Fatal(err)
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestQfullTimeout(t *testing.T) {
	d := newDev(t, ring.Config{RingSize: 16 << 10, DataSize: 4 << 10, QfullTimeout: 20 * time.Millisecond})
	g := newGate(initiator.NewMemDisk(1<<20, 512))
	_, stop := serve(t, d, g, 8)
	first := submitReads(d, []uint64{0})
	<-g.arrived
	res, err := d.Submit(context.Background(), &ring.Request{CDB: read10(8, 8), DataIn: make([]byte, 4096)})
	if err != nil || res.Status != scsi.StatusTaskSetFull {
		t.Fatalf("second command while full: %v status %#x, want TASK SET FULL", err, res.Status)
	}
	g.releaseAll()
	if o := <-first; o.err != nil || o.res.Status != scsi.StatusGood {
		t.Fatalf("first: %v %#x", o.err, o.res.Status)
	}
	if c := d.Counters(); c.QfullTimeouts != 1 {
		t.Errorf("counters %+v", c)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestCmdTimeOutKeepsSlotUntilCompleted(t *testing.T) {
	d := newDev(t, ring.Config{RingSize: 16 << 10, DataSize: 64 << 10, CmdTimeout: 30 * time.Millisecond})
	g := newGate(patternDisk())
	_, stop := serve(t, d, g, 4)
	o := <-submitReads(d, []uint64{0})
	if o.err != nil || o.res.Status != scsi.StatusCheckCondition || o.res.SenseKey() != 0x2 {
		t.Fatalf("timed-out read: %v status %#x key %#x", o.err, o.res.Status, o.res.SenseKey())
	}
	if asc, _ := o.res.ASC(); asc != 0x08 {
		t.Errorf("ASC %#x, want LOGICAL UNIT COMMUNICATION FAILURE", asc)
	}
	if c := d.Counters(); c.InRing != 1 || c.FreeBlocks != 15 || c.CmdTimeouts != 1 {
		t.Fatalf("after the timeout the command must keep its slot and block: %+v", c)
	}
	g.releaseAll()
	eventually(t, "the late completion", func() bool { return d.Counters().LateCompletions == 1 })
	if c := d.Counters(); c.InRing != 0 || c.FreeBlocks != 16 {
		t.Fatalf("after the late completion: %+v", c)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestBrokenRingAndResetRing(t *testing.T) {
	d := newDev(t, ring.Config{RingSize: 16 << 10, DataSize: 64 << 10})
	u, err := d.Open()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Open(); !errors.Is(err, syscall.EBUSY) {
		t.Fatalf("second open: %v, want EBUSY", err)
	}
	stuck := make(chan ring.Result, 1)
	go func() {
		res, _ := d.Submit(context.Background(), &ring.Request{CDB: make([]byte, 6)})
		stuck <- res
	}()
	mb := tcmu.Mailbox(u.Region())
	eventually(t, "the command in the ring", func() bool { return mb.LoadHead() != 0 })
	// A completion naming a cmd_id the kernel never issued.
	e := tcmu.Entry(u.Region()[mb.CmdrOff():])
	n := e.Len()
	e.SetCmdID(e.CmdID() + 1000)
	mb.StoreTail(n)
	if err := u.Notify(); err != nil {
		t.Fatal(err)
	}
	if !d.Counters().Broken {
		t.Fatal("ring not broken after an unknown cmd_id")
	}
	res, err := d.Submit(context.Background(), &ring.Request{CDB: make([]byte, 6)})
	if asc, _ := res.ASC(); err != nil || res.Status != scsi.StatusCheckCondition || asc != 0x08 {
		t.Fatalf("command on a broken ring: %v status %#x asc %#x", err, res.Status, asc)
	}
	if err := d.ResetRing(1); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("reset_ring on an unblocked device: %v, want EINVAL", err)
	}
	// The recovery recipe.
	_ = u.Close()
	d.BlockDev(true)
	if err := d.ResetRing(1); err != nil {
		t.Fatal(err)
	}
	if res := <-stuck; res.Status != scsi.StatusBusy {
		t.Fatalf("command in flight at reset_ring=1: status %#x, want BUSY", res.Status)
	}
	_, stop := serve(t, d, initiator.NewMemDisk(1<<20, 512), 4)
	d.BlockDev(false)
	res, err = d.Submit(context.Background(), &ring.Request{CDB: make([]byte, 6)})
	if err != nil || res.Status != scsi.StatusGood {
		t.Fatalf("after reset_ring: %v status %#x", err, res.Status)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestCleanStopCompletesInFlight(t *testing.T) {
	d := newDev(t, ring.Config{RingSize: 16 << 10, DataSize: 256 << 10})
	g := newGate(patternDisk())
	r, stop := serve(t, d, g, 8)
	lbas := []uint64{0, 8, 16, 24, 32, 40}
	out := submitReads(d, lbas)
	for range lbas {
		<-g.arrived
	}
	if s := r.Stats().Snapshot(); s.InFlight != 6 || s.InFlightMax != 6 || s.DataBytesInFlight != 6*4096 || s.DataBytesInFlightMax != 6*4096 {
		t.Errorf("with 6 commands in the handler: in flight %d (max %d), data %d (max %d)",
			s.InFlight, s.InFlightMax, s.DataBytesInFlight, s.DataBytesInFlightMax)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	select {
	case err := <-stopped:
		t.Fatalf("Run returned (%v) with %d commands in the handler", err, g.held.Load())
	default:
	}
	g.releaseAll()
	if err := <-stopped; err != nil {
		t.Fatalf("Run: %v", err)
	}
	for range lbas {
		o := <-out
		if o.err != nil || o.res.Status != scsi.StatusGood {
			t.Fatalf("LBA %d: %v status %#x", o.lba, o.err, o.res.Status)
		}
		checkLBAData(t, o.buf, o.lba)
	}
	if snap := r.Stats().Snapshot(); snap.InFlight != 0 || snap.Commands != uint64(len(lbas)) {
		t.Fatalf("stats after stop: %d in flight, %d commands", snap.InFlight, snap.Commands)
	}
	// Stopped: a new command waits in the ring for the next handler.
	late := submitReads(d, []uint64{48})
	eventually(t, "the late command in the ring", func() bool { return d.Counters().InRing == 1 })
	_, stop2 := serve(t, d, g, 8)
	if o := <-late; o.err != nil || o.res.Status != scsi.StatusGood {
		t.Fatalf("late command: %v status %#x", o.err, o.res.Status)
	}
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
}

// killable parks every command once killed, like a handler process that
// died: the parked commands are never completed.
type killable struct {
	h      scsi.Handler
	killed atomic.Bool
	parked atomic.Int32
	never  chan struct{}
}

func (k *killable) Execute(cmd *scsi.Command) {
	if k.killed.Load() {
		k.parked.Add(1)
		<-k.never
	}
	k.h.Execute(cmd)
}

func TestKillAndReattachMidWorkload(t *testing.T) {
	d := newDev(t, ring.Config{RingSize: 32 << 10, DataSize: 512 << 10})
	disk := initiator.NewMemDisk(8<<20, 512)
	const qd1 = 8
	dead := &killable{h: disk, never: make(chan struct{})}
	u1, err := d.Open()
	if err != nil {
		t.Fatal(err)
	}
	r1, err := tcmu.NewRing(u1, tcmu.RingConfig{Handler: dead, QueueDepth: qd1})
	if err != nil {
		t.Fatal(err)
	}
	// r1 never returns: its workers stay parked, as in a dead process.
	go func() { _ = r1.Run(context.Background()) }()

	report := make(chan initiator.Report, 1)
	go func() {
		rep, err := initiator.Run(context.Background(), d, initiator.Config{
			RW: "randrw", BS: 4096, QD: 16, Count: 20000, Verify: true, Size: 8 << 20, Seed: 7,
		})
		if err != nil {
			t.Error(err)
		}
		report <- rep
	}()
	eventually(t, "the workload to get going", func() bool { return disk.Executed.Load() >= 4000 })
	dead.killed.Store(true)
	// Once every worker is parked the old loop writes nothing more.
	eventually(t, "the old handler to die", func() bool { return dead.parked.Load() == qd1 })
	_ = u1.Close() // the process's file descriptor goes away

	// tcmu-runner's recipe: block, reset (in-flight commands get BUSY and
	// are retried), map, unblock.
	d.BlockDev(true)
	if err := d.ResetRing(1); err != nil {
		t.Fatal(err)
	}
	_, stop := serve(t, d, disk, 8)
	d.BlockDev(false)

	rep := <-report
	t.Log(rep)
	if rep.Errors != 0 || rep.VerifyErrors != 0 {
		t.Fatalf("workload across the reattach: %v", rep)
	}
	if rep.Ops != 20000 || rep.Retries == 0 {
		t.Fatalf("want 20000 ops with BUSY retries across the reset: %v", rep)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// TestInlineSlotKeptIsNotInFlight: the ring goroutine keeps the slot of the
// command it answered last for its next one; an idle ring still shows no
// command in flight, and a mix of inline and handed-off commands at a queue
// depth below the initiator's gets every command answered.
func TestInlineSlotKeptIsNotInFlight(t *testing.T) {
	for _, qd := range []int{1, 2, 8} {
		d := newDev(t, ring.Config{RingSize: 64 << 10, DataSize: 1 << 20})
		u, err := d.Open()
		if err != nil {
			t.Fatal(err)
		}
		r, err := tcmu.NewRing(u, tcmu.RingConfig{Handler: initiator.NewMemDisk(4<<20, 512), QueueDepth: qd,
			Inline: func(cdb []byte) bool { return cdb[0] == 0x28 }}) // reads inline, writes to workers
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		rep, err := initiator.Run(context.Background(), d, initiator.Config{RW: "randrw", BS: 4096, QD: 16, Count: 2000, Verify: true, Size: 4 << 20, Seed: 3})
		if err != nil || rep.Errors != 0 || rep.VerifyErrors != 0 || rep.Ops != 2000 {
			t.Fatalf("qd %d: workload: %v %v", qd, err, rep)
		}
		if n := r.Stats().Snapshot().Commands; n != 2000 {
			t.Fatalf("qd %d: 2000 commands ended, statistics count %d", qd, n)
		}
		// In flight for the kernel: at most the initiator's 16 (commands
		// answered inline count until the notify, so more than qd).
		if s := r.Stats().Snapshot(); s.InFlight != 0 || s.InFlightMax < 1 || s.InFlightMax > 16 {
			t.Errorf("qd %d: idle ring shows %d commands in flight (max %d)", qd, s.InFlight, s.InFlightMax)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("qd %d: Run: %v", qd, err)
		}
		if s := r.Stats().Snapshot(); s.InFlight != 0 || s.Handoffs == 0 || s.Handoffs == 2000 {
			t.Errorf("qd %d: after Run: %d in flight, %d of 2000 handed off", qd, s.InFlight, s.Handoffs)
		}
	}
}

// slowNotify is a device whose notify returns late, after the kernel has
// seen the answers: the ring accounts statistics after its notify.
type slowNotify struct {
	tcmu.Device
	delay time.Duration
}

func (s slowNotify) Notify() error {
	err := s.Device.Notify()
	time.Sleep(s.delay)
	return err
}

// An initiator that saw its command end, then reads statistics, finds the
// command counted, whether the ring goroutine or a worker answered it.
func TestStatisticsCountWhatTheKernelSaw(t *testing.T) {
	for _, inline := range []bool{true, false} {
		d := newDev(t, ring.Config{RingSize: 64 << 10, DataSize: 1 << 20})
		u, err := d.Open()
		if err != nil {
			t.Fatal(err)
		}
		r, err := tcmu.NewRing(slowNotify{u, 5 * time.Millisecond}, tcmu.RingConfig{Handler: patternDisk(), QueueDepth: 2,
			Inline: func([]byte) bool { return inline }})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		for i := range 10 {
			res, err := d.Submit(context.Background(), &ring.Request{CDB: read10(uint64(i), 8), DataIn: make([]byte, 4096)})
			if err != nil || res.Status != 0 {
				t.Fatalf("inline %v: read %d: %v %+v", inline, i, err, res)
			}
			if n := r.Stats().Snapshot().Commands; n != uint64(i+1) {
				t.Fatalf("inline %v: %d commands ended, statistics count %d", inline, i+1, n)
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("inline %v: Run: %v", inline, err)
		}
	}
}
