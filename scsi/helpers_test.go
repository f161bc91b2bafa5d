package scsi

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/tcmsh/tcmsh/backends"
)

// thinCaps is a backend that can unmap into zeroes, write zeroes and FUA.
var thinCaps = backends.Caps{Unmap: true, UnmapZeroes: true, WriteZeroes: true, FUA: true}

const testSerial = "6a2b4c8d-1e2f-4a5b-9c0d-123456789abc"

func testConfig() DiskConfig {
	return DiskConfig{
		BlockSize:           512,
		MaxSectors:          1024,
		OptimalSectors:      256,
		WriteCache:          true,
		UnitSerial:          testSerial,
		RelativePortID:      1,
		TargetPortGroup:     0,
		HasTargetPortGroup:  true,
		MaxUnmapBlocks:      4096,
		MaxUnmapDescriptors: 4,
		MaxWriteSameBlocks:  4096,
	}
}

// newTestDisk builds a disk of blocks 512-byte blocks.
func newTestDisk(t testing.TB, blocks int64, caps backends.Caps, edit func(*DiskConfig)) (*Disk, *memBackend) {
	t.Helper()
	cfg := testConfig()
	if edit != nil {
		edit(&cfg)
	}
	bs := int64(cfg.BlockSize)
	if bs == 0 {
		bs = 512
	}
	m := newMemBackend(blocks*bs, caps)
	d, err := NewDisk(cfg, m)
	if err != nil {
		t.Fatalf("NewDisk: %v", err)
	}
	t.Cleanup(func() { m.assertClean(t) })
	return d, m
}

// run executes a CDB with data-out buffers (or data-in buffers to fill).
func run(d *Disk, initiator uint32, cdb []byte, bufs ...[]byte) *Command {
	cmd := &Command{CDB: cdb, Data: bufs, Initiator: initiator}
	d.Execute(cmd)
	return cmd
}

// runIn executes a data-in command with one buffer of n bytes and returns
// the command and the bytes it produced.
func runIn(d *Disk, cdb []byte, n int) (*Command, []byte) {
	buf := make([]byte, n)
	cmd := run(d, 0, cdb, buf)
	return cmd, buf[:min(cmd.ReadLen, n)]
}

// parsedSense is sense data decoded from either format.
type parsedSense struct {
	descriptor     bool
	key, asc, ascq byte
	infoValid      bool
	info           uint64
	sksValid       bool
	sks            [3]byte
}

// parseSense decodes and validates sense data; it returns an error for
// anything malformed.
func parseSense(b []byte) (parsedSense, error) {
	var p parsedSense
	if len(b) < 8 {
		return p, fmt.Errorf("sense of %d bytes", len(b))
	}
	switch b[0] & 0x7f {
	case 0x70, 0x71:
		if len(b) != 18 || b[7] != 10 {
			return p, fmt.Errorf("fixed sense of %d bytes with additional length %d", len(b), b[7])
		}
		p.key = b[2] & 0x0f
		p.asc, p.ascq = b[12], b[13]
		p.infoValid = b[0]&0x80 != 0
		p.info = uint64(binary.BigEndian.Uint32(b[3:7]))
		p.sksValid = b[15]&0x80 != 0
		copy(p.sks[:], b[15:18])
		if b[2]&0xf0 != 0 {
			return p, fmt.Errorf("fixed sense with FILEMARK/EOM/ILI set: %#x", b[2])
		}
	case 0x72, 0x73:
		p.descriptor = true
		if int(b[7])+8 != len(b) {
			return p, fmt.Errorf("descriptor sense of %d bytes with additional length %d", len(b), b[7])
		}
		p.key = b[1] & 0x0f
		p.asc, p.ascq = b[2], b[3]
		for d := b[8:]; len(d) > 0; {
			if len(d) < 2 || int(d[1])+2 > len(d) {
				return p, fmt.Errorf("truncated sense descriptor % x", d)
			}
			switch d[0] {
			case 0x00:
				if d[1] != 0x0a {
					return p, fmt.Errorf("information descriptor length %d", d[1])
				}
				p.infoValid = d[2]&0x80 != 0
				p.info = binary.BigEndian.Uint64(d[4:12])
			case 0x02:
				if d[1] != 0x06 {
					return p, fmt.Errorf("sense key specific descriptor length %d", d[1])
				}
				p.sksValid = d[4]&0x80 != 0
				copy(p.sks[:], d[4:7])
			}
			d = d[int(d[1])+2:]
		}
	default:
		return p, fmt.Errorf("response code %#x", b[0])
	}
	if p.key == SenseKeyNoSense && p.asc == 0 {
		return p, fmt.Errorf("CHECK CONDITION with NO SENSE")
	}
	return p, nil
}

// wantCheck asserts CHECK CONDITION with the given sense and returns it.
func wantCheck(t testing.TB, cmd *Command, key, asc, ascq byte) parsedSense {
	t.Helper()
	if cmd.Status != StatusCheckCondition {
		t.Fatalf("status %#x, want CHECK CONDITION", cmd.Status)
	}
	p, err := parseSense(cmd.Sense[:cmd.SenseLen])
	if err != nil {
		t.Fatalf("sense % x: %v", cmd.Sense[:cmd.SenseLen], err)
	}
	if p.key != key || p.asc != asc || p.ascq != ascq {
		t.Fatalf("sense %#x/%#02x/%#02x, want %#x/%#02x/%#02x", p.key, p.asc, p.ascq, key, asc, ascq)
	}
	return p
}

func wantGood(t testing.TB, cmd *Command) {
	t.Helper()
	if cmd.Status != StatusGood {
		p, _ := parseSense(cmd.Sense[:cmd.SenseLen])
		t.Fatalf("status %#x sense %#x/%#02x/%#02x, want GOOD", cmd.Status, p.key, p.asc, p.ascq)
	}
}

// wantField asserts a field pointer (bit < 0: no bit pointer).
func wantField(t testing.TB, p parsedSense, inCDB bool, byteIndex, bit int) {
	t.Helper()
	if !p.sksValid {
		t.Fatalf("no sense-key-specific field pointer")
	}
	cd := p.sks[0]&0x40 != 0
	gotByte := int(binary.BigEndian.Uint16(p.sks[1:]))
	gotBit := -1
	if p.sks[0]&0x08 != 0 {
		gotBit = int(p.sks[0] & 0x07)
	}
	if cd != inCDB || gotByte != byteIndex || gotBit != bit {
		t.Fatalf("field pointer C/D=%v byte %d bit %d, want C/D=%v byte %d bit %d", cd, gotByte, gotBit, inCDB, byteIndex, bit)
	}
}

// CDB builders.

func cdb10(op byte, flags byte, lba uint32, n uint16) []byte {
	c := make([]byte, 10)
	c[0], c[1] = op, flags
	binary.BigEndian.PutUint32(c[2:], lba)
	binary.BigEndian.PutUint16(c[7:], n)
	return c
}

func cdb16(op byte, flags byte, lba uint64, n uint32) []byte {
	c := make([]byte, 16)
	c[0], c[1] = op, flags
	binary.BigEndian.PutUint64(c[2:], lba)
	binary.BigEndian.PutUint32(c[10:], n)
	return c
}

func cdb12(op byte, flags byte, lba uint32, n uint32) []byte {
	c := make([]byte, 12)
	c[0], c[1] = op, flags
	binary.BigEndian.PutUint32(c[2:], lba)
	binary.BigEndian.PutUint32(c[6:], n)
	return c
}

func cdb6(op byte, lba uint32, n byte) []byte {
	return []byte{op, byte(lba>>16) & 0x1f, byte(lba >> 8), byte(lba), n, 0}
}

func inquiryCDB(evpd bool, page byte, alloc uint16) []byte {
	c := []byte{opInquiry, 0, page, 0, 0, 0}
	if evpd {
		c[1] = 1
	}
	binary.BigEndian.PutUint16(c[3:], alloc)
	return c
}

func readCapacity16CDB(alloc uint32) []byte {
	c := make([]byte, 16)
	c[0], c[1] = opServiceActionIn16, saReadCapacity16
	binary.BigEndian.PutUint32(c[10:], alloc)
	return c
}

func modeSense6CDB(dbd bool, pc, page, subpage, alloc byte) []byte {
	c := []byte{opModeSense6, 0, pc<<6 | page, subpage, alloc, 0}
	if dbd {
		c[1] = 0x08
	}
	return c
}

func modeSense10CDB(flags byte, pc, page, subpage byte, alloc uint16) []byte {
	c := make([]byte, 10)
	c[0], c[1], c[2], c[3] = opModeSense10, flags, pc<<6|page, subpage
	binary.BigEndian.PutUint16(c[7:], alloc)
	return c
}

func rsocCDB(rctd bool, options, opcode byte, sa uint16, alloc uint32) []byte {
	c := make([]byte, 12)
	c[0], c[1], c[2], c[3] = opMaintenanceIn, saReportSupportedOpcodes, options, opcode
	if rctd {
		c[2] |= 0x80
	}
	binary.BigEndian.PutUint16(c[4:], sa)
	binary.BigEndian.PutUint32(c[6:], alloc)
	return c
}

// pattern returns n bytes of a recognisable pattern.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) + seed
	}
	return b
}
