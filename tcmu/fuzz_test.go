package tcmu

import (
	"bytes"
	"encoding/binary"
	"errors"
	"sync"
	"testing"

	"github.com/tcmsh/tcmsh/scsi"
)

// touchHandler reads and writes every byte of every buffer it is given, so
// that a buffer outside the region faults under the fuzzer, and answers in
// a way chosen by the CDB (GOOD, short read, CHECK CONDITION).
type touchHandler struct{}

// touchMu serialises touchHandler: random entries may give two commands
// the same buffer, which a real kernel never does; the race that would be
// is the handler's, not the ring's.
var touchMu sync.Mutex

func (touchHandler) Execute(cmd *scsi.Command) {
	touchMu.Lock()
	defer touchMu.Unlock()
	var sum byte
	total := 0
	for _, bufs := range [][][]byte{cmd.Data, cmd.BidiIn} {
		for _, b := range bufs {
			for i := range b {
				sum += b[i]
				b[i] = sum
			}
			total += len(b)
		}
	}
	var sel byte
	if len(cmd.CDB) > 1 {
		sel = cmd.CDB[1]
	}
	switch sel % 3 {
	case 0:
		cmd.Status = scsi.StatusGood
	case 1:
		cmd.Status = scsi.StatusGood
		cmd.ReadLen = total / 2
	case 2:
		cmd.SetCheckCondition(scsi.SenseKeyMediumError, 0x11, 0)
	}
}

const (
	fuzzGuard    = 256
	fuzzDataSize = 2 * 4096
)

// fuzzRegion lays out a region from fuzz input: byte 0 picks the ring size,
// byte 1 the capability flags, bytes 2-3 the head and 4-5 the tail (in
// 8-byte units); the rest fills the ring and then the data area. The mailbox itself is valid (NewRing refuses bad
// mailboxes, tested elsewhere); everything the kernel writes per command is
// random.
func fuzzRegion(data []byte) (buf []byte, region []byte, head, tail uint32) {
	var hdr [6]byte
	copy(hdr[:], data)
	body := data[min(len(data), len(hdr)):]
	ringSize := uint32(256 + 8*int(hdr[0]))
	flags := uint16(hdr[1] & 0xf)
	buf = alignedBytes(fuzzGuard + MailboxSize + int(ringSize) + fuzzDataSize + fuzzGuard)
	for i := range buf {
		buf[i] = 0xa5
	}
	region = buf[fuzzGuard : len(buf)-fuzzGuard : len(buf)-fuzzGuard]
	clear(region)
	copy(region[MailboxSize:], body)
	Mailbox(region).SetHeader(MailboxVersion, flags, MailboxSize, ringSize)
	head = uint32(binary.LittleEndian.Uint16(hdr[2:])) * 8 % ringSize
	tail = uint32(binary.LittleEndian.Uint16(hdr[4:])) * 8 % ringSize
	return buf, region, head, tail
}

func FuzzRingEntries(f *testing.F) {
	for _, seed := range fuzzSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		buf, region, head, tail := fuzzRegion(data)
		rr := &rawRegion{region: region, ringSize: Mailbox(region).CmdrSize(), head: head, tail: tail}
		r, err := rr.run(t, touchHandler{}, 3)
		if err != nil && !errors.Is(err, ErrMalformedRing) {
			t.Fatalf("Run: %v", err)
		}
		// Nothing outside the region was written.
		for i := 0; i < fuzzGuard; i++ {
			if buf[i] != 0xa5 || buf[len(buf)-1-i] != 0xa5 {
				t.Fatalf("guard byte %d changed", i)
			}
		}
		// Every command taken got its completion: none in flight, and
		// the tail is where taking stopped (head, unless malformed).
		snap := r.Stats().Snapshot()
		if snap.InFlight != 0 || snap.DataBytesInFlight != 0 {
			t.Fatalf("after Run: %d commands, %d bytes still in flight", snap.InFlight, snap.DataBytesInFlight)
		}
		tail = Mailbox(region).LoadTail()
		if err == nil && tail != head {
			t.Fatalf("clean stop with tail %d, head %d", tail, head)
		}
		if tail != r.parsePos.Load() {
			t.Fatalf("tail %d, but entries were taken up to %d", tail, r.parsePos.Load())
		}
	})
}

// fuzzSeeds builds well-formed rings: commands with iovecs, a wrap with a
// PAD, a TMR, an unknown opcode, and a bidirectional command.
func fuzzSeeds() [][]byte {
	build := func(flags byte, fill func(rr *rawRegion)) []byte {
		const ringSize = 256 + 8*32
		rr := newRawRegion(ringSize, fuzzDataSize, 0)
		if flags == 0xe {
			rr.head = 248 // start near the end, so the ring wraps
		}
		start := rr.head
		fill(rr)
		out := []byte{32, flags, 0, 0, 0, 0}
		binary.LittleEndian.PutUint16(out[2:], uint16(rr.head/8))
		binary.LittleEndian.PutUint16(out[4:], uint16(start/8))
		return append(out, bytes.TrimRight(rr.region[MailboxSize:MailboxSize+ringSize], "\x00")...)
	}
	data := uint64(MailboxSize + 256 + 8*32)
	read10 := []byte{0x28, 1, 0, 0, 0, 0, 0, 0, 8, 0}
	return [][]byte{
		build(0xf, func(rr *rawRegion) {
			rr.addCmd(1, read10, [2]uint64{data, 4096})
			rr.addCmd(2, []byte{0x2a, 0, 0, 0, 0, 0, 0, 0, 8, 0}, [2]uint64{data + 4096, 512}, [2]uint64{data, 512})
		}),
		build(0xe, func(rr *rawRegion) {
			rr.addCmd(1, tur)
			rr.addCmd(2, read10, [2]uint64{data, 100})
			rr.addEntry(rr.ringSize-rr.head, OpPad, 0)
			rr.addCmd(3, tur)
		}),
		build(0x7, func(rr *rawRegion) {
			rr.addCmd(7, read10, [2]uint64{data, 4096})
			e := rr.addEntry(uint32(TMREntryLen(2)), OpTMR, 0)
			TMREntry(e).SetType(TMRAbortTask)
			TMREntry(e).SetCmdIDs([]uint16{7, 9})
			rr.addEntry(16, 4, 0)
		}),
		build(0x3, func(rr *rawRegion) {
			e := rr.addCmd(4, []byte{0x53, 2, 0, 0, 0, 0, 0, 0, 1, 0}, [2]uint64{data, 512}, [2]uint64{data + 512, 512})
			CmdRequest(e).SetCounts(1, 1)
		}),
	}
}

// The seeds are well-formed rings: each is consumed to its head.
func TestFuzzSeedsAreWellFormed(t *testing.T) {
	want := []uint64{2, 3, 1, 1}
	for i, seed := range fuzzSeeds() {
		_, region, head, tail := fuzzRegion(seed)
		rr := &rawRegion{region: region, ringSize: Mailbox(region).CmdrSize(), head: head, tail: tail}
		r, err := rr.run(t, touchHandler{}, 3)
		if err != nil {
			t.Fatalf("seed %d: Run: %v", i, err)
		}
		if got := r.Stats().Snapshot().Commands; got != want[i] || Mailbox(region).LoadTail() != head {
			t.Errorf("seed %d: %d commands (want %d), tail %d, head %d", i, got, want[i], Mailbox(region).LoadTail(), head)
		}
	}
}
