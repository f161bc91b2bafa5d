//go:build rbd

package rbd

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/tcmsh/tcmsh/scsi"
	"github.com/tcmsh/tcmsh/test/cephtest"
)

// exec runs one CDB on the disk with one data buffer.
func exec(d *scsi.Disk, cdb []byte, data []byte) *scsi.Command {
	cmd := &scsi.Command{CDB: cdb, Data: [][]byte{data}}
	d.Execute(cmd)
	return cmd
}

// senseOf returns key, asc, ascq and the information field of fixed-format
// sense.
func senseOf(cmd *scsi.Command) (key, asc, ascq byte, info uint32) {
	s := cmd.Sense[:cmd.SenseLen]
	if len(s) < 14 {
		return 0, 0, 0, 0
	}
	return s[2] & 0x0f, s[12], s[13], binary.BigEndian.Uint32(s[3:7])
}

func cdb16(op byte, lba uint64, n uint32) []byte {
	c := make([]byte, 16)
	c[0] = op
	binary.BigEndian.PutUint64(c[2:], lba)
	binary.BigEndian.PutUint32(c[10:], n)
	return c
}

// TestSCSIOnRBD runs the SCSI commands that map to librbd operations on a
// disk over an image: what the block limits and capacity advertise, and
// COMPARE AND WRITE, WRITE SAME, UNMAP and writes to a snapshot as an
// initiator sees them.
func TestSCSIOnRBD(t *testing.T) {
	c := cephtest.Shared(t)
	cfg := newImage(t, c, 16*mib)
	im := openImageT(t, cfg, 16*mib)
	d, err := scsi.NewDisk(scsi.DiskConfig{}, im)
	if err != nil {
		t.Fatal(err)
	}
	block := func(seed byte) []byte { return bytes.Repeat([]byte{seed}, 512) }
	caw := func(lba uint64, n byte) []byte {
		cdb := cdb16(0x89, lba, 0)
		cdb[13] = n
		return cdb
	}
	spec := strings.Split(cfg, ";")[0]
	tests := []struct {
		name  string
		cdb   []byte
		data  []byte
		sense [3]byte // 0/0/0: GOOD
		info  uint32
		check func(t *testing.T, data []byte)
	}{
		{name: "block limits", cdb: []byte{0x12, 0x01, 0xb0, 0x00, 0x40, 0x00}, data: make([]byte, 64),
			check: func(t *testing.T, p []byte) {
				if p[5] != 1 {
					t.Errorf("MAXIMUM COMPARE AND WRITE LENGTH %d, want 1 (librbd's one sector)", p[5])
				}
				if g := binary.BigEndian.Uint32(p[28:32]); g != 4*mib/512 {
					t.Errorf("OPTIMAL UNMAP GRANULARITY %d blocks, want the object size, %d", g, 4*mib/512)
				}
			}},
		{name: "read capacity", cdb: []byte{0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0}, data: make([]byte, 32),
			check: func(t *testing.T, p []byte) {
				if last := binary.BigEndian.Uint64(p[0:8]); last != 16*mib/512-1 {
					t.Errorf("last LBA %d", last)
				}
				if p[14]&0x80 == 0 || p[14]&0x40 != 0 {
					t.Errorf("LBPME/LBPRZ byte %#x, want LBPME set and LBPRZ clear (a discard may leave data)", p[14])
				}
			}},
		{name: "write", cdb: cdb16(0x8a, 8, 1), data: block(0x11)},
		{name: "compare and write", cdb: caw(8, 1), data: append(block(0x11), block(0x22)...)},
		{name: "compare and write miscompare", cdb: caw(8, 1),
			data:  append(append(block(0x22)[:100:100], block(0x33)[:412]...), block(0x44)...),
			sense: [3]byte{0x0e, 0x1d, 0x00}, info: 100},
		{name: "compare and write of two blocks", cdb: caw(8, 2), data: make([]byte, 2048),
			sense: [3]byte{0x05, 0x24, 0x00}},
		{name: "read after compare and write", cdb: cdb16(0x88, 8, 1), data: make([]byte, 512),
			check: func(t *testing.T, p []byte) {
				if !bytes.Equal(p, block(0x22)) {
					t.Errorf("block 8 holds %x…, want the written 22", p[:4])
				}
			}},
		{name: "write same", cdb: cdb16(0x93, 100, 16), data: block(0x5a)},
		{name: "read after write same", cdb: cdb16(0x88, 100, 16), data: make([]byte, 16*512),
			check: func(t *testing.T, p []byte) {
				if !bytes.Equal(p, bytes.Repeat(block(0x5a), 16)) {
					t.Error("WRITE SAME did not write its block 16 times")
				}
			}},
		{name: "write same unmap", cdb: func() []byte { c := cdb16(0x93, 100, 16); c[1] = 0x08; return c }(), data: make([]byte, 512)},
		{name: "read after write same unmap", cdb: cdb16(0x88, 100, 16), data: make([]byte, 16*512),
			check: func(t *testing.T, p []byte) {
				if !bytes.Equal(p, make([]byte, 16*512)) {
					t.Error("WRITE SAME with UNMAP of zeroes left data")
				}
			}},
		{name: "unmap", cdb: []byte{0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0},
			data: []byte{0, 22, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20, 0, 0, 0, 0, 0}},
		{name: "synchronize cache", cdb: []byte{0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec(d, tt.cdb, tt.data)
			key, asc, ascq, info := senseOf(cmd)
			if tt.sense == ([3]byte{}) {
				if cmd.Status != scsi.StatusGood {
					t.Fatalf("status %#x sense %x/%x/%x", cmd.Status, key, asc, ascq)
				}
			} else if [3]byte{key, asc, ascq} != tt.sense || (tt.info != 0 && info != tt.info) {
				t.Fatalf("sense %x/%x/%x info %d, want %x/%x/%x info %d", key, asc, ascq, info, tt.sense[0], tt.sense[1], tt.sense[2], tt.info)
			}
			if tt.check != nil {
				tt.check(t, tt.data)
			}
		})
	}

	// A snapshot is a write-protected LUN.
	if _, err := c.RBD("snap", "create", spec+"@ro"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.RBD("snap", "rm", spec+"@ro") })
	snap := openImageT(t, strings.Replace(cfg, spec, spec+"@ro", 1), 16*mib)
	sd, err := scsi.NewDisk(scsi.DiskConfig{}, snap)
	if err != nil {
		t.Fatal(err)
	}
	ms := make([]byte, 4)
	if cmd := exec(sd, []byte{0x1a, 0, 0x3f, 0, 4, 0}, ms); cmd.Status != scsi.StatusGood || ms[2]&0x80 == 0 {
		t.Errorf("MODE SENSE of a snapshot: status %#x, WP byte %#x", cmd.Status, ms[2])
	}
	cmd := exec(sd, cdb16(0x8a, 0, 1), block(1))
	if key, asc, _, _ := senseOf(cmd); key != 0x07 || asc != 0x27 {
		t.Errorf("WRITE to a snapshot: sense %x/%x, want DATA PROTECT 07/27", key, asc)
	}
}
