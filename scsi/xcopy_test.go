package scsi

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// copyPool is every disk of a test, found by NAA.
type copyPool []*Disk

func (p *copyPool) DiskByNAA(naa [16]byte) *Disk {
	for _, d := range *p {
		if n, ok := d.NAA(); ok && n == naa {
			return d
		}
	}
	return nil
}

// xcopyDisks makes two 64-block disks with distinct serials that can copy
// between each other, the first holding a pattern.
func xcopyDisks(t *testing.T) (*Disk, *memBackend, *Disk, *memBackend, []byte) {
	pool := &copyPool{}
	a, ma := newTestDisk(t, 64, thinCaps, func(c *DiskConfig) { c.CopyTargets = pool })
	b, mb := newTestDisk(t, 64, thinCaps, func(c *DiskConfig) {
		c.CopyTargets = pool
		c.UnitSerial = "7b3c5d9e-2f30-4b6c-8d1e-23456789abcd"
	})
	*pool = append(*pool, a, b)
	stored := pattern(64*512, 21)
	fill(ma, 0, stored)
	return a, ma, b, mb, stored
}

func identCSCD(d *Disk) []byte {
	c := make([]byte, 32)
	c[0] = cscdIdentification
	c[4], c[5], c[7] = designatorCodeSetBinary, designatorNAA, 16
	naa, _ := d.NAA()
	copy(c[8:], naa[:])
	c[30] = 0x02 // disk block length 512
	return c
}

func b2bSegment(src, dst uint16, blocks uint16, srcLBA, dstLBA uint64) []byte {
	s := make([]byte, 28)
	s[0] = segmentBlockToBlock
	binary.BigEndian.PutUint16(s[2:], 24)
	binary.BigEndian.PutUint16(s[4:], src)
	binary.BigEndian.PutUint16(s[6:], dst)
	binary.BigEndian.PutUint16(s[10:], blocks)
	binary.BigEndian.PutUint64(s[12:], srcLBA)
	binary.BigEndian.PutUint64(s[20:], dstLBA)
	return s
}

func xcopyParams(cscds [][]byte, segs [][]byte) []byte {
	p := make([]byte, 16)
	p[1] = 0x18 // LIST ID USAGE 11b
	var cl, sl int
	for _, c := range cscds {
		cl += len(c)
	}
	for _, s := range segs {
		sl += len(s)
	}
	binary.BigEndian.PutUint16(p[2:], uint16(cl))
	binary.BigEndian.PutUint32(p[8:], uint32(sl))
	for _, c := range cscds {
		p = append(p, c...)
	}
	for _, s := range segs {
		p = append(p, s...)
	}
	return p
}

func xcopyCDB(length uint32) []byte {
	c := make([]byte, 16)
	c[0] = opExtendedCopy
	binary.BigEndian.PutUint32(c[10:], length)
	return c
}

func TestExtendedCopy(t *testing.T) {
	t.Run("between two disks, sent to either", func(t *testing.T) {
		a, _, b, mb, stored := xcopyDisks(t)
		p := xcopyParams([][]byte{identCSCD(a), identCSCD(b)}, [][]byte{b2bSegment(0, 1, 8, 2, 40), b2bSegment(0, 1, 4, 60, 0)})
		wantGood(t, run(b, 0, xcopyCDB(uint32(len(p))), p))
		got := mb.snapshot()
		if !bytes.Equal(got[40*512:48*512], stored[2*512:10*512]) || !bytes.Equal(got[:4*512], stored[60*512:]) {
			t.Fatal("copied data differs")
		}
		if !allZero(got[4*512 : 40*512]) {
			t.Fatal("copied outside the segments")
		}
		// Sent to the source disk, the other way round.
		p = xcopyParams([][]byte{identCSCD(b), identCSCD(a)}, [][]byte{b2bSegment(0, 1, 8, 40, 20)})
		wantGood(t, run(a, 0, xcopyCDB(uint32(len(p))), p))
	})
	t.Run("within one disk, overlapping", func(t *testing.T) {
		a, ma, _, _, stored := xcopyDisks(t)
		p := xcopyParams([][]byte{identCSCD(a)}, [][]byte{b2bSegment(0, 0, 16, 4, 8)})
		wantGood(t, run(a, 0, xcopyCDB(uint32(len(p))), p))
		if !bytes.Equal(ma.snapshot()[8*512:24*512], stored[4*512:20*512]) {
			t.Fatal("overlapping copy forward is not a move")
		}
		p = xcopyParams([][]byte{identCSCD(a)}, [][]byte{b2bSegment(0, 0, 16, 8, 4)})
		wantGood(t, run(a, 0, xcopyCDB(uint32(len(p))), p))
		if !bytes.Equal(ma.snapshot()[4*512:20*512], stored[4*512:20*512]) {
			t.Fatal("overlapping copy backward is not a move")
		}
	})
	a, _, b, _, _ := xcopyDisks(t)
	unknown := identCSCD(a)
	unknown[10] ^= 0xff
	badType := identCSCD(a)
	badType[0] = 0xe5
	badSeg := b2bSegment(0, 1, 1, 0, 0)
	badSeg[0] = 0x0a
	inline := xcopyParams([][]byte{identCSCD(a), identCSCD(b)}, [][]byte{b2bSegment(0, 1, 1, 0, 0)})
	inline[15] = 4
	tooMany := make([][]byte, 9)
	for i := range tooMany {
		tooMany[i] = identCSCD(a)
	}
	blockLen := identCSCD(b)
	blockLen[30] = 0x10
	for _, tc := range []struct {
		name           string
		p              []byte
		length         uint32
		key, asc, ascq byte
		fld            *field
	}{
		{name: "unknown NAA", p: xcopyParams([][]byte{identCSCD(a), unknown}, [][]byte{b2bSegment(0, 1, 1, 0, 0)}),
			key: SenseKeyCopyAborted, asc: 0x0d, ascq: 0x02},
		{name: "unsupported CSCD type", p: xcopyParams([][]byte{identCSCD(a), badType}, nil),
			key: SenseKeyIllegalRequest, asc: 0x26, ascq: 0x07, fld: &field{false, 48, 7}},
		{name: "unsupported segment type", p: xcopyParams([][]byte{identCSCD(a), identCSCD(b)}, [][]byte{badSeg}),
			key: SenseKeyIllegalRequest, asc: 0x26, ascq: 0x09, fld: &field{false, 80, 7}},
		{name: "too many CSCDs", p: xcopyParams(tooMany, nil), key: SenseKeyIllegalRequest, asc: 0x26, ascq: 0x06},
		{name: "inline data", p: inline, key: SenseKeyIllegalRequest, asc: 0x26, fld: &field{false, 12, 7}},
		{name: "CSCD index out of range", p: xcopyParams([][]byte{identCSCD(a)}, [][]byte{b2bSegment(0, 1, 1, 0, 0)}),
			key: SenseKeyIllegalRequest, asc: 0x26, fld: &field{false, 54, 7}},
		{name: "block length differs", p: xcopyParams([][]byte{identCSCD(a), blockLen}, nil),
			key: SenseKeyIllegalRequest, asc: 0x26, fld: &field{false, 77, 7}},
		{name: "source past the end", p: xcopyParams([][]byte{identCSCD(a), identCSCD(b)}, [][]byte{b2bSegment(0, 1, 8, 60, 0)}),
			key: SenseKeyCopyAborted, asc: 0x21},
		{name: "destination past the end", p: xcopyParams([][]byte{identCSCD(a), identCSCD(b)}, [][]byte{b2bSegment(0, 1, 8, 0, 57)}),
			key: SenseKeyCopyAborted, asc: 0x21},
		{name: "short header", p: make([]byte, 8), key: SenseKeyIllegalRequest, asc: 0x1a},
		{name: "lists longer than the parameter list", p: xcopyParams([][]byte{identCSCD(a), identCSCD(b)}, [][]byte{b2bSegment(0, 1, 1, 0, 0)})[:90],
			key: SenseKeyIllegalRequest, asc: 0x1a},
	} {
		t.Run(tc.name, func(t *testing.T) {
			length := uint32(len(tc.p))
			if tc.length != 0 {
				length = tc.length
			}
			p := wantCheck(t, run(b, 0, xcopyCDB(length), tc.p), tc.key, tc.asc, tc.ascq)
			if tc.fld != nil {
				wantField(t, p, tc.fld.inCDB, tc.fld.byteIndex, tc.fld.bit)
			}
		})
	}
	wantGood(t, run(b, 0, xcopyCDB(0)))
}

func TestReceiveCopyResultsOperatingParameters(t *testing.T) {
	a, _, _, _, _ := xcopyDisks(t)
	c := make([]byte, 16)
	c[0], c[1] = opReceiveCopyResults, saOperatingParameters
	binary.BigEndian.PutUint32(c[10:], 64)
	cmd, b := runIn(a, c, 64)
	wantGood(t, cmd)
	if len(b) != 46 || binary.BigEndian.Uint32(b) != 42 || b[4]&1 != 1 ||
		binary.BigEndian.Uint16(b[8:]) != xcopyMaxCSCDs || binary.BigEndian.Uint16(b[10:]) != xcopyMaxSegments ||
		binary.BigEndian.Uint32(b[16:]) != 32<<20 || b[43] != 2 || b[44] != 0x02 || b[45] != 0xe4 {
		t.Fatalf("operating parameters % x", b)
	}
	inq, _ := runIn(a, inquiryCDB(false, 0, 96), 96)
	wantGood(t, inq)
	_, std := runIn(a, inquiryCDB(false, 0, 96), 96)
	if std[5]&0x08 == 0 {
		t.Fatal("no 3PC bit")
	}
	// A disk without copy targets has neither command.
	plain, _ := newTestDisk(t, 64, thinCaps, nil)
	wantCheck(t, run(plain, 0, c, make([]byte, 64)), SenseKeyIllegalRequest, 0x20, 0)
}
