package scsi

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/tcmsh/tcmsh/backends"
)

// modePagesIn splits the pages after a mode parameter header and block
// descriptors by page code.
func modePagesIn(t *testing.T, b []byte) map[byte][]byte {
	t.Helper()
	m := map[byte][]byte{}
	for len(b) > 0 {
		if len(b) < 2 || int(b[1])+2 > len(b) {
			t.Fatalf("truncated mode page % x", b)
		}
		m[b[0]&0x3f] = b[:int(b[1])+2]
		b = b[int(b[1])+2:]
	}
	return m
}

func TestModeSense(t *testing.T) {
	runCases(t, []cmdCase{
		{name: "6 all pages with block descriptor", cdb: modeSense6CDB(false, pcCurrent, 0x3f, 0, 255), in: 255,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if int(b[0]) != len(b)-1 || b[1] != 0 || b[2] != 0x10 || b[3] != 8 {
					t.Fatalf("header % x (length %d)", b[:4], len(b))
				}
				if binary.BigEndian.Uint32(b[4:]) != 64 || int(b[9])<<16|int(b[10])<<8|int(b[11]) != 512 {
					t.Fatalf("block descriptor % x", b[4:12])
				}
				pages := modePagesIn(t, b[12:])
				if len(pages) != 3 || len(pages[0x01]) != 12 || len(pages[0x08]) != 20 || len(pages[0x0a]) != 12 {
					t.Fatalf("pages %v", pages)
				}
				if pages[0x08][2]&0x04 == 0 {
					t.Fatal("WCE clear with the write cache on")
				}
				if pages[0x0a][2]&0x04 != 0 {
					t.Fatal("D_SENSE set by default")
				}
			}},
		{name: "6 DBD caching page", cdb: modeSense6CDB(true, pcCurrent, 0x08, 0, 255), in: 255,
			edit: func(c *DiskConfig) { c.WriteCache = false },
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if b[3] != 0 || len(b) != 4+20 || b[4] != 0x08 || b[6]&0x04 != 0 {
					t.Fatalf("got % x", b)
				}
			}},
		{name: "6 read-only sets WP", caps: backends.Caps{ReadOnly: true}, cdb: modeSense6CDB(true, pcCurrent, 0x3f, 0, 255), in: 255,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if b[2] != 0x90 {
					t.Fatalf("device-specific parameter %#x", b[2])
				}
			}},
		{name: "6 changeable masks", cdb: modeSense6CDB(true, pcChangeable, 0x3f, 0, 255), in: 255,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				pages := modePagesIn(t, b[4:])
				want := map[byte][]byte{
					0x01: append([]byte{0x01, 0x0a}, make([]byte, 10)...),
					0x08: append([]byte{0x08, 0x12, 0x04}, make([]byte, 17)...),
					0x0a: append([]byte{0x0a, 0x0a, 0x04}, make([]byte, 9)...),
				}
				for code, w := range want {
					if !bytes.Equal(pages[code], w) {
						t.Errorf("page %#x changeable % x, want % x", code, pages[code], w)
					}
				}
			}},
		{name: "6 default values", cdb: modeSense6CDB(true, pcDefault, 0x08, 0, 255), in: 255,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if b[6]&0x04 != 0 {
					t.Fatalf("default WCE set: % x", b)
				}
			}},
		{name: "6 saved values", cdb: modeSense6CDB(false, pcSaved, 0x3f, 0, 255), in: 255,
			key: SenseKeyIllegalRequest, asc: 0x39},
		{name: "6 unsupported page", cdb: modeSense6CDB(false, pcCurrent, 0x1c, 0, 255), in: 255,
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 2, 5}},
		{name: "6 unsupported subpage", cdb: modeSense6CDB(false, pcCurrent, 0x0a, 0x05, 255), in: 255,
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 3, 7}},
		{name: "6 all subpages", cdb: modeSense6CDB(true, pcCurrent, 0x3f, 0xff, 255), in: 255,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if len(modePagesIn(t, b[4:])) != 3 {
					t.Fatalf("got % x", b)
				}
			}},
		{name: "6 truncated by allocation length", cdb: modeSense6CDB(false, pcCurrent, 0x3f, 0, 4), in: 255,
			check: func(t *testing.T, b []byte, cmd *Command, _ *memBackend) {
				if cmd.ReadLen != 4 || int(b[0]) != 4+8+12+20+12-1 {
					t.Fatalf("ReadLen %d header % x", cmd.ReadLen, b)
				}
			}},
		{name: "6 reserved bit", cdb: []byte{opModeSense6, 0x01, 0x3f, 0, 255, 0}, in: 255,
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 1, 0}},
		{name: "10 LLBAA long descriptor", cdb: modeSense10CDB(0x10, pcCurrent, 0x0a, 0, 512), in: 512,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if int(binary.BigEndian.Uint16(b[0:]))+2 != len(b) || b[3] != 0x10 || b[4]&1 != 1 || binary.BigEndian.Uint16(b[6:]) != 16 {
					t.Fatalf("header % x", b[:8])
				}
				if binary.BigEndian.Uint64(b[8:]) != 64 || binary.BigEndian.Uint32(b[20:]) != 512 {
					t.Fatalf("descriptor % x", b[8:24])
				}
				if b[24] != 0x0a || len(b) != 8+16+12 {
					t.Fatalf("page % x", b[24:])
				}
			}},
		{name: "10 short descriptor", cdb: modeSense10CDB(0, pcCurrent, 0x01, 0, 512), in: 512,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if b[4] != 0 || binary.BigEndian.Uint16(b[6:]) != 8 || len(b) != 8+8+12 {
					t.Fatalf("got % x", b)
				}
			}},
		{name: "10 large capacity in short descriptor", blocks: 1, setup: func(t *testing.T, d *Disk, _ *memBackend) { d.blocks.Store(1 << 33) },
			cdb: modeSense10CDB(0, pcCurrent, 0x01, 0, 512), in: 512,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if binary.BigEndian.Uint32(b[8:]) != 0xffffffff {
					t.Fatalf("blocks % x", b[8:12])
				}
			}},
	})
}

// caching page with WCE as given, header of MODE SELECT(6) without
// block descriptor.
func modeSelect6Caching(wce bool) []byte {
	p := []byte{0, 0, 0, 0, 0x08, 0x12}
	p = append(p, make([]byte, 18)...)
	if wce {
		p[6] = 0x04
	}
	return p
}

func modeSelect6CDB(n byte) []byte { return []byte{opModeSelect6, 0x10, 0, 0, n, 0} }

func TestModeSelect(t *testing.T) {
	runCases(t, []cmdCase{
		{name: "caching page", cdb: modeSelect6CDB(24), out: modeSelect6Caching(false)},
		{name: "PF clear", cdb: []byte{opModeSelect6, 0, 0, 0, 24, 0}, out: modeSelect6Caching(false),
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 1, 4}},
		{name: "SP set", cdb: []byte{opModeSelect6, 0x11, 0, 0, 24, 0}, out: modeSelect6Caching(false),
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 1, 0}},
		{name: "zero length", cdb: modeSelect6CDB(0), out: []byte{}},
		{name: "short header", cdb: modeSelect6CDB(3), out: []byte{0, 0, 0},
			key: SenseKeyIllegalRequest, asc: 0x1a},
		{name: "list shorter than its length", cdb: modeSelect6CDB(24), out: modeSelect6Caching(false)[:20],
			key: SenseKeyIllegalRequest, asc: 0x1a},
		{name: "truncated page", cdb: modeSelect6CDB(20), out: modeSelect6Caching(false)[:20],
			key: SenseKeyIllegalRequest, asc: 0x1a},
		{name: "unchangeable bit", cdb: modeSelect6CDB(24),
			out: func() []byte { p := modeSelect6Caching(true); p[6] |= 0x01; return p }(), // RCD
			key: SenseKeyIllegalRequest, asc: 0x26, field: &field{false, 6, 0}},
		{name: "unchangeable byte", cdb: modeSelect6CDB(24),
			out: func() []byte { p := modeSelect6Caching(true); p[4+12] = 0x80; return p }(),
			key: SenseKeyIllegalRequest, asc: 0x26, field: &field{false, 16, 7}},
		{name: "wrong page length", cdb: modeSelect6CDB(24),
			out: func() []byte { p := modeSelect6Caching(true); p[5] = 0x0a; return p }(),
			key: SenseKeyIllegalRequest, asc: 0x26, field: &field{false, 5, 7}},
		{name: "unknown page", cdb: modeSelect6CDB(24),
			out: func() []byte { p := modeSelect6Caching(true); p[4] = 0x1c; return p }(),
			key: SenseKeyIllegalRequest, asc: 0x26, field: &field{false, 4, 5}},
		{name: "subpage format", cdb: modeSelect6CDB(24),
			out: func() []byte { p := modeSelect6Caching(true); p[4] = 0x48; return p }(),
			key: SenseKeyIllegalRequest, asc: 0x26, field: &field{false, 4, 6}},
		{name: "medium type", cdb: modeSelect6CDB(24),
			out: func() []byte { p := modeSelect6Caching(true); p[1] = 1; return p }(),
			key: SenseKeyIllegalRequest, asc: 0x26, field: &field{false, 1, 7}},
		{name: "block descriptor keeping the block size", cdb: modeSelect6CDB(32),
			out: append([]byte{0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 2, 0}, modeSelect6Caching(true)[4:]...)},
		{name: "block descriptor changing the block size", cdb: modeSelect6CDB(32),
			out: append([]byte{0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0x10, 0}, modeSelect6Caching(true)[4:]...),
			key: SenseKeyIllegalRequest, asc: 0x26, field: &field{false, 9, 7}},
		{name: "block descriptor changing the capacity", cdb: modeSelect6CDB(32),
			out: append([]byte{0, 0, 0, 8, 0, 0, 0, 9, 0, 0, 2, 0}, modeSelect6Caching(true)[4:]...),
			key: SenseKeyIllegalRequest, asc: 0x26, field: &field{false, 4, 7}},
		{name: "bad block descriptor length", cdb: modeSelect6CDB(28),
			out: append([]byte{0, 0, 0, 4, 0, 0, 0, 0}, modeSelect6Caching(true)[4:]...),
			key: SenseKeyIllegalRequest, asc: 0x26, field: &field{false, 3, 7}},
		{name: "control page D_SENSE", cdb: modeSelect6CDB(16),
			out: []byte{0, 0, 0, 0, 0x0a, 0x0a, 0x06, 0x10, 0, 0x40, 0, 0, 0xff, 0xff, 0, 0}},
		{name: "control page unchangeable TAS", cdb: modeSelect6CDB(16),
			out: []byte{0, 0, 0, 0, 0x0a, 0x0a, 0x02, 0x10, 0, 0x00, 0, 0, 0xff, 0xff, 0, 0},
			key: SenseKeyIllegalRequest, asc: 0x26, field: &field{false, 9, 6}},
	})
}

func TestModeSelectAppliesAndRaisesUnitAttention(t *testing.T) {
	d, _ := newTestDisk(t, 64, backends.Caps{}, nil)
	// Two initiators are known to the disk.
	wantGood(t, run(d, 1, []byte{opTestUnitReady, 0, 0, 0, 0, 0}))
	wantGood(t, run(d, 2, []byte{opTestUnitReady, 0, 0, 0, 0, 0}))

	wantGood(t, run(d, 1, modeSelect6CDB(24), modeSelect6Caching(false)))
	if d.WriteCache() {
		t.Fatal("WCE still set after MODE SELECT")
	}
	cmd, b := runIn(d, modeSense6CDB(true, pcCurrent, 0x08, 0, 255), 255)
	wantGood(t, cmd)
	if b[6]&0x04 != 0 {
		t.Fatalf("MODE SENSE shows WCE after it was cleared: % x", b)
	}
	// The initiator that changed it gets no unit attention; the other one
	// gets MODE PARAMETERS CHANGED once.
	wantGood(t, run(d, 1, []byte{opTestUnitReady, 0, 0, 0, 0, 0}))
	wantCheck(t, run(d, 2, []byte{opTestUnitReady, 0, 0, 0, 0, 0}), SenseKeyUnitAttention, 0x2a, 0x01)
	wantGood(t, run(d, 2, []byte{opTestUnitReady, 0, 0, 0, 0, 0}))

	// MODE SELECT(10) sets it back; a page read with MODE SENSE(10) can be
	// sent back as it is (PS bit included).
	cmd, b = runIn(d, modeSense10CDB(0x08, pcCurrent, 0x08, 0, 255), 255)
	wantGood(t, cmd)
	b[0], b[1] = 0, 0 // mode data length is reserved in MODE SELECT
	b[8] |= 0x80      // PS
	b[10] |= 0x04     // WCE
	ms10 := []byte{opModeSelect10, 0x10, 0, 0, 0, 0, 0, 0, byte(len(b)), 0}
	wantGood(t, run(d, 1, ms10, b))
	if !d.WriteCache() {
		t.Fatal("WCE not set by MODE SELECT(10)")
	}
}

func TestDescriptorSense(t *testing.T) {
	d, _ := newTestDisk(t, 64, backends.Caps{}, nil)
	// D_SENSE on: errors come back in descriptor format.
	wantGood(t, run(d, 0, modeSelect6CDB(16), []byte{0, 0, 0, 0, 0x0a, 0x0a, 0x06, 0x10, 0, 0x40, 0, 0, 0xff, 0xff, 0, 0}))
	cmd := run(d, 0, cdb10(opRead10, 0, 64, 1), make([]byte, 512))
	p := wantCheck(t, cmd, SenseKeyIllegalRequest, 0x21, 0x00)
	if !p.descriptor {
		t.Fatal("fixed-format sense with D_SENSE set")
	}
	cmd = run(d, 0, inquiryCDB(false, 1, 36), make([]byte, 36))
	p = wantCheck(t, cmd, SenseKeyIllegalRequest, 0x24, 0x00)
	if !p.descriptor {
		t.Fatal("fixed-format sense with D_SENSE set")
	}
	wantField(t, p, true, 2, 7)
	cmd, b := runIn(d, modeSense6CDB(true, pcCurrent, 0x0a, 0, 255), 255)
	wantGood(t, cmd)
	if b[6]&0x04 == 0 {
		t.Fatalf("D_SENSE not shown: % x", b)
	}
	// A miscompare carries the offset in an information descriptor.
	data := pattern(1024, 3)
	cmd = run(d, 0, cdb16(opCompareAndWrite, 0, 0, 0), data)
	wantGood(t, cmd) // zero blocks: nothing to do
	caw := cdb16(opCompareAndWrite, 0, 0, 0)
	caw[13] = 1
	cmd = run(d, 0, caw, data)
	p = wantCheck(t, cmd, SenseKeyMiscompare, 0x1d, 0)
	if !p.descriptor || !p.infoValid || p.info != 0 { // the first byte differs
		t.Fatalf("miscompare descriptor=%v info valid=%v %d", p.descriptor, p.infoValid, p.info)
	}
}
