package scsi

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/tcmsh/tcmsh/backends"
)

func TestMiscCommands(t *testing.T) {
	tur := []byte{opTestUnitReady, 0, 0, 0, 0, 0}
	runCases(t, []cmdCase{
		{name: "TEST UNIT READY", cdb: tur},
		{name: "TEST UNIT READY reserved byte", cdb: []byte{opTestUnitReady, 0, 0, 1, 0, 0},
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 3, 0}},
		{name: "TEST UNIT READY LINK", cdb: []byte{opTestUnitReady, 0, 0, 0, 0, 0x01},
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 5, 0}},
		{name: "TEST UNIT READY vendor control bits ignored", cdb: []byte{opTestUnitReady, 0, 0, 0, 0, 0xc0}},
		{name: "unknown operation code", cdb: []byte{0xc5, 0, 0, 0, 0, 0}, key: SenseKeyIllegalRequest, asc: 0x20},
		{name: "REPORT LUNS belongs to the kernel", cdb: make12(opReportLUNs), in: 64, key: SenseKeyIllegalRequest, asc: 0x20},
		{name: "empty CDB", cdb: []byte{}, in: 0, key: SenseKeyIllegalRequest, asc: 0x20},
		{name: "unknown service action", cdb: func() []byte { c := readCapacity16CDB(32); c[1] = 0x11; return c }(), in: 32,
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 1, 4}},
		{name: "REQUEST SENSE nothing pending fixed", cdb: []byte{opRequestSense, 0, 0, 0, 252, 0}, in: 252,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if len(b) != 18 || b[0] != 0x70 || b[2] != 0 || b[12] != 0 || b[7] != 10 {
					t.Fatalf("got % x", b)
				}
			}},
		{name: "REQUEST SENSE nothing pending descriptor", cdb: []byte{opRequestSense, 1, 0, 0, 252, 0}, in: 252,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if len(b) != 8 || b[0] != 0x72 || b[1] != 0 || b[7] != 0 {
					t.Fatalf("got % x", b)
				}
			}},
		{name: "REQUEST SENSE truncated", cdb: []byte{opRequestSense, 0, 0, 0, 8, 0}, in: 252,
			check: func(t *testing.T, _ []byte, cmd *Command, _ *memBackend) {
				if cmd.ReadLen != 8 {
					t.Fatalf("ReadLen %d", cmd.ReadLen)
				}
			}},
		{name: "START STOP UNIT start", cdb: []byte{opStartStopUnit, 1, 0, 0, 1, 0}},
		{name: "START STOP UNIT stop flushes", cdb: []byte{opStartStopUnit, 0, 0, 0, 0, 0},
			check: func(t *testing.T, _ []byte, _ *Command, m *memBackend) {
				if m.flushes != 1 {
					t.Fatalf("%d flushes", m.flushes)
				}
			}},
		{name: "START STOP UNIT stop NO_FLUSH", cdb: []byte{opStartStopUnit, 0, 0, 0, 4, 0},
			check: func(t *testing.T, _ []byte, _ *Command, m *memBackend) {
				if m.flushes != 0 {
					t.Fatalf("%d flushes", m.flushes)
				}
			}},
		{name: "START STOP UNIT eject", cdb: []byte{opStartStopUnit, 0, 0, 0, 2, 0},
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 4, 1}},
		{name: "START STOP UNIT power condition", cdb: []byte{opStartStopUnit, 0, 0, 0, 0x31, 0},
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 4, 5}},
		{name: "START STOP UNIT power condition modifier", cdb: []byte{opStartStopUnit, 0, 0, 1, 1, 0},
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 3, 0}},
		{name: "PREVENT ALLOW MEDIUM REMOVAL prevent", cdb: []byte{opPreventAllow, 0, 0, 0, 1, 0}},
		{name: "PREVENT ALLOW MEDIUM REMOVAL allow", cdb: []byte{opPreventAllow, 0, 0, 0, 0, 0}},
		{name: "PREVENT ALLOW MEDIUM REMOVAL reserved", cdb: []byte{opPreventAllow, 0, 0, 0, 4, 0},
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 4, 2}},
		{name: "READ CAPACITY(10)", cdb: []byte{opReadCapacity10, 0, 0, 0, 0, 0, 0, 0, 0, 0}, in: 8,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if binary.BigEndian.Uint32(b) != 63 || binary.BigEndian.Uint32(b[4:]) != 512 {
					t.Fatalf("got % x", b)
				}
			}},
		{name: "READ CAPACITY(10) too large", cdb: []byte{opReadCapacity10, 0, 0, 0, 0, 0, 0, 0, 0, 0}, in: 8,
			setup: func(_ *testing.T, d *Disk, _ *memBackend) { d.blocks.Store(1 << 32) },
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if binary.BigEndian.Uint32(b) != 0xffffffff {
					t.Fatalf("got % x", b)
				}
			}},
		{name: "READ CAPACITY(16) thick", cdb: readCapacity16CDB(32), in: 32,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if binary.BigEndian.Uint64(b) != 63 || binary.BigEndian.Uint32(b[8:]) != 512 || b[14] != 0 {
					t.Fatalf("got % x", b)
				}
			}},
		{name: "READ CAPACITY(16) thin", caps: thinCaps, cdb: readCapacity16CDB(32), in: 32,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if b[14]&0xc0 != 0xc0 {
					t.Fatalf("LBPME/LBPRZ % x", b[14])
				}
			}},
		{name: "READ CAPACITY(16) thin without zeroes", caps: backends.Caps{Unmap: true}, cdb: readCapacity16CDB(32), in: 32,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if b[14]&0xc0 != 0x80 {
					t.Fatalf("LBPME/LBPRZ % x", b[14])
				}
			}},
		{name: "READ CAPACITY(16) 4K blocks", edit: func(c *DiskConfig) { c.BlockSize = 4096 }, cdb: readCapacity16CDB(32), in: 32,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if binary.BigEndian.Uint64(b) != 63 || binary.BigEndian.Uint32(b[8:]) != 4096 {
					t.Fatalf("got % x", b)
				}
			}},
		{name: "READ CAPACITY(16) allocation length", cdb: readCapacity16CDB(12), in: 32,
			check: func(t *testing.T, _ []byte, cmd *Command, _ *memBackend) {
				if cmd.ReadLen != 12 {
					t.Fatalf("ReadLen %d", cmd.ReadLen)
				}
			}},
		{name: "GET LBA STATUS", cdb: getLBAStatusCDB(10, 64), in: 64,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if len(b) != 24 || binary.BigEndian.Uint32(b) != 20 || binary.BigEndian.Uint64(b[8:]) != 10 ||
					binary.BigEndian.Uint32(b[16:]) != 54 || b[20] != 0 {
					t.Fatalf("got % x", b)
				}
			}},
		{name: "GET LBA STATUS beyond capacity", cdb: getLBAStatusCDB(64, 64), in: 64, key: SenseKeyIllegalRequest, asc: 0x21},
		{name: "FORMAT UNIT thin unmaps", caps: thinCaps, setup: func(_ *testing.T, _ *Disk, m *memBackend) { fill(m, 0, pattern(64*512, 1)) },
			cdb: []byte{opFormatUnit, 0, 0, 0, 0, 0}, in: 0,
			check: func(t *testing.T, _ []byte, _ *Command, m *memBackend) {
				if m.unmaps != 1 || !allZero(m.snapshot()) || m.flushes != 1 {
					t.Fatalf("%d unmaps %d flushes", m.unmaps, m.flushes)
				}
			}},
		{name: "FORMAT UNIT thick writes zeroes", setup: func(_ *testing.T, _ *Disk, m *memBackend) { fill(m, 0, pattern(64*512, 1)) },
			cdb: []byte{opFormatUnit, 0, 0, 0, 0, 0}, in: 0,
			check: func(t *testing.T, _ []byte, _ *Command, m *memBackend) {
				if !allZero(m.snapshot()) {
					t.Fatal("data left after FORMAT UNIT")
				}
			}},
		{name: "FORMAT UNIT empty parameter list", cdb: []byte{opFormatUnit, 0x10, 0, 0, 0, 0}, out: []byte{0, 0, 0, 0}},
		{name: "FORMAT UNIT IMMED", cdb: []byte{opFormatUnit, 0x10, 0, 0, 0, 0}, out: []byte{0, 0x82, 0, 0}},
		{name: "FORMAT UNIT long list", cdb: []byte{opFormatUnit, 0x30, 0, 0, 0, 0}, out: make([]byte, 8)},
		{name: "FORMAT UNIT defect list", cdb: []byte{opFormatUnit, 0x10, 0, 0, 0, 0}, out: []byte{0, 0, 0, 8},
			key: SenseKeyIllegalRequest, asc: 0x26, field: &field{false, 2, 7}},
		{name: "FORMAT UNIT protection", cdb: []byte{opFormatUnit, 0x10, 0, 0, 0, 0}, out: []byte{1, 0, 0, 0},
			key: SenseKeyIllegalRequest, asc: 0x26, field: &field{false, 0, 0}},
		{name: "FORMAT UNIT bits without FOV", cdb: []byte{opFormatUnit, 0x10, 0, 0, 0, 0}, out: []byte{0, 0x20, 0, 0},
			key: SenseKeyIllegalRequest, asc: 0x26, field: &field{false, 1, 5}},
		{name: "FORMAT UNIT short list", cdb: []byte{opFormatUnit, 0x10, 0, 0, 0, 0}, out: []byte{0, 0},
			key: SenseKeyIllegalRequest, asc: 0x1a},
		{name: "FORMAT UNIT FMTPINFO", cdb: []byte{opFormatUnit, 0x80, 0, 0, 0, 0}, in: 0,
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 1, 7}},
		{name: "FORMAT UNIT read-only", caps: backends.Caps{ReadOnly: true}, cdb: []byte{opFormatUnit, 0, 0, 0, 0, 0}, in: 0,
			key: SenseKeyDataProtect, asc: 0x27},
	})
}

func make12(op byte) []byte {
	c := make([]byte, 12)
	c[0] = op
	c[9] = 64
	return c
}

func getLBAStatusCDB(lba uint64, alloc uint32) []byte {
	c := make([]byte, 16)
	c[0], c[1] = opServiceActionIn16, saGetLBAStatus
	binary.BigEndian.PutUint64(c[2:], lba)
	binary.BigEndian.PutUint32(c[10:], alloc)
	return c
}

func TestCapacityChangeUnitAttention(t *testing.T) {
	d, m := newTestDisk(t, 64, backends.Caps{}, nil)
	tur := []byte{opTestUnitReady, 0, 0, 0, 0, 0}
	for _, id := range []uint32{1, 2, 3} {
		wantGood(t, run(d, id, tur))
	}
	if err := d.Resize(128 * 512); err != nil {
		t.Fatal(err)
	}
	if m.Size() != 128*512 || d.Blocks() != 128 {
		t.Fatalf("backend %d bytes, disk %d blocks", m.Size(), d.Blocks())
	}
	// Initiator 1 sees it on its next command; INQUIRY does not consume it.
	wantGood(t, run(d, 1, inquiryCDB(false, 0, 36), make([]byte, 36)))
	wantCheck(t, run(d, 1, tur), SenseKeyUnitAttention, 0x2a, 0x09)
	wantGood(t, run(d, 1, tur))
	// Initiator 2 fetches it with REQUEST SENSE, which clears it.
	cmd, b := runIn(d, []byte{opRequestSense, 0, 0, 0, 18, 0}, 18)
	wantGood(t, cmd) // initiator 0 (runIn) had none pending: it was new
	if b[2] != 0 {
		t.Fatalf("initiator 0 got sense % x", b)
	}
	buf := make([]byte, 18)
	cmd = run(d, 2, []byte{opRequestSense, 0, 0, 0, 18, 0}, buf)
	wantGood(t, cmd)
	if buf[2] != SenseKeyUnitAttention || buf[12] != 0x2a || buf[13] != 0x09 {
		t.Fatalf("REQUEST SENSE % x", buf)
	}
	wantGood(t, run(d, 2, tur))
	// Initiator 3 sees it on a READ, which is not executed.
	reads := m.reads
	wantCheck(t, run(d, 3, cdb10(opRead10, 0, 100, 1), make([]byte, 512)), SenseKeyUnitAttention, 0x2a, 0x09)
	if m.reads != reads {
		t.Fatal("the READ ran despite the unit attention")
	}
	// The new capacity is in force.
	cmd = run(d, 3, cdb10(opRead10, 0, 127, 1), make([]byte, 512))
	wantGood(t, cmd)
	cmd, b = runIn(d, readCapacity16CDB(32), 32)
	wantGood(t, cmd)
	if binary.BigEndian.Uint64(b) != 127 {
		t.Fatalf("last LBA %d", binary.BigEndian.Uint64(b))
	}
	// The same size again raises nothing.
	if err := d.Resize(128 * 512); err != nil {
		t.Fatal(err)
	}
	wantGood(t, run(d, 1, tur))
	if err := d.Resize(100); err == nil {
		t.Fatal("resize below one block accepted")
	}
}

func TestSetWriteCache(t *testing.T) {
	d, _ := newTestDisk(t, 64, backends.Caps{}, nil)
	tur := []byte{opTestUnitReady, 0, 0, 0, 0, 0}
	wantGood(t, run(d, 7, tur))
	d.SetWriteCache(false)
	wantCheck(t, run(d, 7, tur), SenseKeyUnitAttention, 0x2a, 0x01)
	cmd, b := runIn(d, modeSense6CDB(true, pcCurrent, 0x08, 0, 255), 255)
	wantGood(t, cmd)
	if b[6]&0x04 != 0 {
		t.Fatal("WCE still reported")
	}
	d.SetWriteCache(false) // no change, no unit attention
	wantGood(t, run(d, 7, tur))
}

func TestAbortedLongCommand(t *testing.T) {
	d, m := newTestDisk(t, 4096, backends.Caps{}, nil)
	cmd := &Command{CDB: cdb16(opWriteSame16, 0, 0, 4096), Data: [][]byte{pattern(512, 1)}}
	cmd.Abort()
	d.Execute(cmd)
	wantCheck(t, cmd, SenseKeyAbortedCommand, 0, 0)
	if m.writes != 0 {
		t.Fatalf("%d writes after the abort", m.writes)
	}
	cmd = &Command{CDB: cdb16(opVerify16, 0, 0, 4096)}
	cmd.Abort()
	d.Execute(cmd)
	wantCheck(t, cmd, SenseKeyAbortedCommand, 0, 0)
}

func TestUnitAttentionsQueueInOrder(t *testing.T) {
	d, _ := newTestDisk(t, 64, backends.Caps{}, nil)
	tur := []byte{opTestUnitReady, 0, 0, 0, 0, 0}
	wantGood(t, run(d, 9, tur))
	if err := d.Resize(96 * 512); err != nil {
		t.Fatal(err)
	}
	d.SetWriteCache(false)
	// One per command, the capacity change first; REQUEST SENSE with DESC
	// reports the second in descriptor format.
	wantCheck(t, run(d, 9, tur), SenseKeyUnitAttention, 0x2a, 0x09)
	buf := make([]byte, 64)
	cmd := run(d, 9, []byte{opRequestSense, 1, 0, 0, 64, 0}, buf)
	wantGood(t, cmd)
	p, err := parseSense(buf[:cmd.ReadLen])
	if err != nil || !p.descriptor || p.key != SenseKeyUnitAttention || p.asc != 0x2a || p.ascq != 0x01 {
		t.Fatalf("REQUEST SENSE % x: %+v %v", buf[:cmd.ReadLen], p, err)
	}
	wantGood(t, run(d, 9, tur))
}

func TestFourKiBlocks(t *testing.T) {
	d, m := newTestDisk(t, 16, backends.Caps{}, func(c *DiskConfig) { c.BlockSize = 4096 })
	data := pattern(2*4096, 11)
	wantGood(t, run(d, 0, cdb10(opWrite10, 0, 14, 2), data))
	if !bytes.Equal(m.snapshot()[14*4096:], data) {
		t.Fatal("data not at byte 14*4096")
	}
	wantCheck(t, run(d, 0, cdb10(opWrite10, 0, 15, 2), data), SenseKeyIllegalRequest, 0x21, 0)
	cmd, b := runIn(d, []byte{opReadCapacity10, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 8)
	wantGood(t, cmd)
	if binary.BigEndian.Uint32(b) != 15 || binary.BigEndian.Uint32(b[4:]) != 4096 {
		t.Fatalf("READ CAPACITY(10) % x", b)
	}
	cmd, b = runIn(d, modeSense6CDB(false, pcCurrent, 0x08, 0, 255), 255)
	wantGood(t, cmd)
	if binary.BigEndian.Uint32(b[4:]) != 16 || int(b[9])<<16|int(b[10])<<8|int(b[11]) != 4096 {
		t.Fatalf("block descriptor % x", b[4:12])
	}
}
