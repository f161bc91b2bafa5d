package tcmu

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/tcmsh/tcmsh/scsi"
)

// memDevice is a Device over a plain byte slice, for building ring states
// by hand: one event is pending when it starts.
type memDevice struct {
	region   []byte
	events   chan struct{}
	closed   chan struct{}
	once     sync.Once
	notifies atomic.Int64
}

func newMemDevice(region []byte) *memDevice {
	m := &memDevice{region: region, events: make(chan struct{}, 1), closed: make(chan struct{})}
	m.events <- struct{}{}
	return m
}

func (m *memDevice) Region() []byte { return m.region }
func (m *memDevice) Wait() error {
	select {
	case <-m.events:
		return nil
	case <-m.closed:
		return os.ErrClosed
	}
}
func (m *memDevice) Notify() error { m.notifies.Add(1); return nil }
func (m *memDevice) Close() error  { m.once.Do(func() { close(m.closed) }); return nil }

// alignedBytes returns n zero bytes, 8-byte aligned.
func alignedBytes(n int) []byte {
	words := make([]uint64, (n+7)/8)
	return unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), n)
}

// rawRegion is a hand-built region: mailbox, ring of ringSize bytes, data
// area of dataSize bytes.
type rawRegion struct {
	region   []byte
	ringSize uint32
	head     uint32
	tail     uint32 // where the ring starts: the userspace tail
}

const rawRingOff = MailboxSize

func newRawRegion(ringSize uint32, dataSize int, flags uint16) *rawRegion {
	region := alignedBytes(rawRingOff + int(ringSize) + dataSize)
	Mailbox(region).SetHeader(MailboxVersion, flags, rawRingOff, ringSize)
	return &rawRegion{region: region, ringSize: ringSize}
}

func (rr *rawRegion) dataOff() uint64 { return uint64(rawRingOff) + uint64(rr.ringSize) }

// addEntry appends an entry of length n with opcode op and returns it.
func (rr *rawRegion) addEntry(n uint32, op uint32, id uint16) Entry {
	e := Entry(rr.region[rawRingOff+rr.head : rawRingOff+rr.head+n])
	clear(e)
	e.SetLenOp(n, op)
	e.SetCmdID(id)
	rr.head = (rr.head + n) % rr.ringSize
	return e
}

// addCmd appends a CMD entry with cdb and iovecs {base, len}.
func (rr *rawRegion) addCmd(id uint16, cdb []byte, iovs ...[2]uint64) Entry {
	n := uint32(CmdEntryLen(len(iovs), len(cdb)))
	at := rr.head
	e := rr.addEntry(n, OpCmd, id)
	r := CmdRequest(e)
	r.SetCounts(uint32(len(iovs)), 0)
	for i, v := range iovs {
		r.SetIovec(i, v[0], v[1])
	}
	cdbAt := n - uint32(alignUp(len(cdb), 8))
	copy(e[cdbAt:], cdb)
	r.SetCdbOff(uint64(rawRingOff) + uint64(at) + uint64(cdbAt))
	return e
}

// run serves the region until the ring goroutine is idle (or fails), then
// stops cleanly. It returns the ring and Run's error.
func (rr *rawRegion) run(t testing.TB, h scsi.Handler, qd int) (*Ring, error) {
	t.Helper()
	r, _, err := rr.runConfig(t, RingConfig{Handler: h, QueueDepth: qd})
	return r, err
}

// runConfig is run with any configuration; it also returns the notifies
// made before the ring goroutine was idle (Run's last one, on the way
// out, left aside).
func (rr *rawRegion) runConfig(t testing.TB, cfg RingConfig) (*Ring, int64, error) {
	t.Helper()
	Mailbox(rr.region).StoreHead(rr.head)
	Mailbox(rr.region).StoreTail(rr.tail)
	dev := newMemDevice(rr.region)
	r, err := NewRing(dev, cfg)
	if err != nil {
		t.Fatalf("NewRing: %v", err)
	}
	idle := make(chan struct{}, 1)
	var notifies atomic.Int64
	r.onIdle = func() {
		select {
		case idle <- struct{}{}:
			notifies.Store(dev.notifies.Load())
		default:
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	select {
	case <-idle:
		cancel()
		err = <-done
	case err = <-done:
	}
	return r, notifies.Load(), err
}

// entryAt returns the entry at ring offset off.
func (rr *rawRegion) entryAt(off uint32) Entry {
	n := EntryLen(binary.LittleEndian.Uint32(rr.region[rawRingOff+off:]))
	return Entry(rr.region[rawRingOff+off : rawRingOff+off+n])
}

// goodHandler answers every command GOOD and counts them.
type goodHandler struct{ n atomic.Int64 }

func (g *goodHandler) Execute(cmd *scsi.Command) {
	g.n.Add(1)
	cmd.Status = scsi.StatusGood
}

var tur = []byte{0, 0, 0, 0, 0, 0}

func TestUnknownOpcodeIsFlaggedAndSkipped(t *testing.T) {
	rr := newRawRegion(1024, 4096, FlagCapOOOC|FlagCapReadLen)
	rr.addCmd(1, tur)
	unknownAt := rr.head
	rr.addEntry(64, 5, 0) // opcode 5 does not exist
	rr.addCmd(2, tur)
	h := &goodHandler{}
	r, err := rr.run(t, h, 4)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := rr.entryAt(unknownAt).UFlags(); got&UFlagUnknownOp == 0 {
		t.Errorf("uflags of the unknown entry = %#x, want UNKNOWN_OP", got)
	}
	if h.n.Load() != 2 {
		t.Errorf("handler ran %d commands, want 2", h.n.Load())
	}
	if tail := Mailbox(rr.region).LoadTail(); tail != rr.head {
		t.Errorf("tail %d, want head %d: the ring was not consumed", tail, rr.head)
	}
	if s := r.Stats().Snapshot(); s.UnknownOps != 1 {
		t.Errorf("UnknownOps = %d", s.UnknownOps)
	}
}

func TestBadOffsetsFailTheCommandOnly(t *testing.T) {
	rr := newRawRegion(4096, 8192, FlagCapOOOC)
	data := rr.dataOff()
	regionLen := uint64(len(rr.region))
	read10 := []byte{0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0}
	cases := []struct {
		name string
		add  func(id uint16) Entry
		key  byte
	}{
		{"iovec beyond the region", func(id uint16) Entry {
			return rr.addCmd(id, read10, [2]uint64{regionLen - 100, 4096})
		}, scsi.SenseKeyHardwareError},
		{"iovec over the ring", func(id uint16) Entry {
			return rr.addCmd(id, read10, [2]uint64{rawRingOff, 64})
		}, scsi.SenseKeyHardwareError},
		{"iovec length wraps", func(id uint16) Entry {
			return rr.addCmd(id, read10, [2]uint64{data, ^uint64(0) - 10})
		}, scsi.SenseKeyHardwareError},
		{"cdb_off beyond the region", func(id uint16) Entry {
			e := rr.addCmd(id, read10, [2]uint64{data, 4096})
			CmdRequest(e).SetCdbOff(regionLen + 5)
			return e
		}, scsi.SenseKeyHardwareError},
		{"CDB running off the region", func(id uint16) Entry {
			e := rr.addCmd(id, read10, [2]uint64{data, 4096})
			rr.region[regionLen-2] = 0x88 // a 16-byte CDB with 2 bytes left
			CmdRequest(e).SetCdbOff(regionLen - 2)
			return e
		}, scsi.SenseKeyHardwareError},
		{"iov_cnt larger than the entry", func(id uint16) Entry {
			e := rr.addCmd(id, read10, [2]uint64{data, 4096})
			CmdRequest(e).SetCounts(1000, 0)
			return e
		}, scsi.SenseKeyHardwareError},
		{"bidi count overflowing", func(id uint16) Entry {
			e := rr.addCmd(id, read10, [2]uint64{data, 4096})
			CmdRequest(e).SetCounts(1, 0xFFFFFFFF)
			return e
		}, scsi.SenseKeyHardwareError},
		{"reserved opcode group", func(id uint16) Entry {
			return rr.addCmd(id, []byte{0xc0, 0, 0, 0, 0, 0})
		}, scsi.SenseKeyIllegalRequest},
	}
	offs := make([]uint32, len(cases))
	for i, c := range cases {
		offs[i] = rr.head
		c.add(uint16(i + 1))
	}
	rr.addCmd(100, tur)
	h := &goodHandler{}
	// In-order completion, so each answer lands in its own entry.
	Mailbox(rr.region).SetHeader(MailboxVersion, 0, rawRingOff, rr.ringSize)
	_, err := rr.run(t, h, 4)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if h.n.Load() != 1 {
		t.Fatalf("handler ran %d commands, want only the good one", h.n.Load())
	}
	for i, c := range cases {
		e := rr.entryAt(offs[i])
		rsp := CmdResponse(e)
		if e.CmdID() != uint16(i+1) || rsp.Status() != scsi.StatusCheckCondition || scsi.SenseKeyOf(rsp.Sense()) != c.key {
			t.Errorf("%s: id %d status %#x sense key %#x, want id %d CHECK CONDITION key %#x",
				c.name, e.CmdID(), rsp.Status(), scsi.SenseKeyOf(rsp.Sense()), i+1, c.key)
		}
	}
}

func TestMalformedLengthStopsTheRing(t *testing.T) {
	for _, tc := range []struct {
		name string
		len  uint32
	}{{"zero", 0}, {"beyond head", 512}, {"short CMD", 64}} {
		t.Run(tc.name, func(t *testing.T) {
			rr := newRawRegion(1024, 4096, FlagCapOOOC)
			rr.addCmd(1, tur)
			bad := rr.head
			rr.addEntry(128, OpCmd, 2)
			binary.LittleEndian.PutUint32(rr.region[rawRingOff+bad:], tc.len|OpCmd)
			h := &goodHandler{}
			_, err := rr.run(t, h, 2)
			if !errors.Is(err, ErrMalformedRing) {
				t.Fatalf("Run = %v, want ErrMalformedRing", err)
			}
			if tail := Mailbox(rr.region).LoadTail(); tail != bad {
				t.Errorf("tail %d: want it at the bad entry (%d), after the good command's completion", tail, bad)
			}
		})
	}
}

// TestInlineBatchOneNotify: the commands Inline accepts are answered by
// the ring goroutine, all those found at one look with one notify, beside
// the ones handed to workers (each notifying its own); every command gets
// its answer in the ring and the tail reaches the head.
func TestInlineBatchOneNotify(t *testing.T) {
	for _, ooo := range []bool{true, false} {
		t.Run(fmt.Sprintf("ooo=%v", ooo), func(t *testing.T) {
			var flags uint16
			if ooo {
				flags = FlagCapOOOC
			}
			rr := newRawRegion(8192, 4096, flags)
			read10 := []byte{0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0}
			offs := map[uint16]uint32{}
			const inline, handed = 12, 3
			id := uint16(1)
			for i := range inline + handed {
				offs[id] = rr.head
				if i%5 == 2 {
					rr.addCmd(id, tur) // handed to a worker
				} else {
					rr.addCmd(id, read10, [2]uint64{rr.dataOff(), 4096})
				}
				id++
			}
			h := &goodHandler{}
			r, notifies, err := rr.runConfig(t, RingConfig{Handler: h, QueueDepth: 32,
				Inline: func(cdb []byte) bool { return cdb[0] == 0x28 }})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if h.n.Load() != inline+handed {
				t.Errorf("handler ran %d commands, want %d", h.n.Load(), inline+handed)
			}
			if notifies > 1+handed {
				t.Errorf("%d notifies, want at most 1 for the %d inline commands and 1 for each of %d handed off", notifies, inline, handed)
			}
			snap := r.Stats().Snapshot()
			if snap.Handoffs != handed || snap.Commands != inline+handed {
				t.Errorf("Handoffs %d, Commands %d; want %d and %d", snap.Handoffs, snap.Commands, handed, inline+handed)
			}
			// Answered inline, a command is in flight for the kernel
			// until the notify: the whole look at the ring was.
			if snap.InFlightMax < inline || snap.DataBytesInFlightMax < int64(inline-1)*4096 {
				t.Errorf("in flight at most %d commands, %d bytes; the %d inline commands of one look were all in flight until the notify",
					snap.InFlightMax, snap.DataBytesInFlightMax, inline)
			}
			if snap.InFlight != 0 || snap.DataBytesInFlight != 0 {
				t.Errorf("idle ring: %d commands, %d bytes in flight", snap.InFlight, snap.DataBytesInFlight)
			}
			if tail := Mailbox(rr.region).LoadTail(); tail != rr.head {
				t.Errorf("tail %d, want head %d", tail, rr.head)
			}
			seen := map[uint16]bool{}
			for want, off := range offs {
				e := rr.entryAt(off)
				if !ooo && e.CmdID() != want {
					t.Errorf("in-order completion: entry of %d answered as %d", want, e.CmdID())
				}
				if CmdResponse(e).Status() != scsi.StatusGood {
					t.Errorf("command %d: status %#x", e.CmdID(), CmdResponse(e).Status())
				}
				seen[e.CmdID()] = true
			}
			if len(seen) != inline+handed {
				t.Errorf("%d distinct answers in the ring, want %d", len(seen), inline+handed)
			}
		})
	}
}

// blockingHandler holds every command until release is closed.
type blockingHandler struct {
	started chan struct{}
	release chan struct{}
}

func (b *blockingHandler) Execute(cmd *scsi.Command) {
	b.started <- struct{}{}
	<-b.release
	cmd.Status = scsi.StatusGood
}

// TestFullRecordQueueWaitsForCompletions: behind a command held by a
// worker, entries cannot be retired; once the record queue is full the
// ring goroutine waits, and the command's completion lets it take the rest.
func TestFullRecordQueueWaitsForCompletions(t *testing.T) {
	const qd, tmrs = 1, 150 // the queue holds 2*qd+64 records
	tmrLen := uint32(TMREntryLen(0))
	rr := newRawRegion(4096+tmrs*tmrLen, 4096, FlagCapOOOC)
	read10 := []byte{0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0}
	rr.addCmd(1, read10, [2]uint64{rr.dataOff(), 4096})
	for i := range tmrs {
		TMREntry(rr.addEntry(tmrLen, OpTMR, uint16(100+i))).SetType(TMRAbortTask)
	}
	Mailbox(rr.region).StoreHead(rr.head)
	Mailbox(rr.region).StoreTail(rr.tail)
	h := &blockingHandler{started: make(chan struct{}, 1), release: make(chan struct{})}
	r, err := NewRing(newMemDevice(rr.region), RingConfig{Handler: h, QueueDepth: qd})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	<-h.started
	// The ring goroutine takes records until the queue is full, then waits.
	full := 2*qd + 64
	taken := uint32(CmdEntryLen(1, len(read10))) + uint32(full-1)*tmrLen // the command and full-1 TMRs
	for deadline := time.Now().Add(10 * time.Second); r.parsePos.Load() != taken; {
		if time.Now().After(deadline) {
			t.Fatalf("taken up to %d; want the queue's %d records", r.parsePos.Load(), full)
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // a schedule: it must not take more
	if got := r.parsePos.Load(); got != taken {
		t.Errorf("with a full record queue the ring went on to %d", got)
	}
	if tail := Mailbox(rr.region).LoadTail(); tail != 0 {
		t.Errorf("tail %d moved past a command still held", tail)
	}
	close(h.release)
	for deadline := time.Now().Add(10 * time.Second); Mailbox(rr.region).LoadTail() != rr.head; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("tail %d, want head %d after the completion", Mailbox(rr.region).LoadTail(), rr.head)
		}
	}
	if s := r.Stats().Snapshot(); s.Commands != 1 || s.InFlight != 0 {
		t.Errorf("%d commands, %d in flight", s.Commands, s.InFlight)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}
