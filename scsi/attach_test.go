package scsi

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// TestLinuxAttachSequence replays what Linux's sd driver sends when it
// attaches a disk and then uses it, and asserts the answers from which sd
// decides to enable the write cache, FUA, discard and write-zeroes.
func TestLinuxAttachSequence(t *testing.T) {
	d, m := newTestDisk(t, 1<<16, thinCaps, nil)
	in := func(cdb []byte, n int) []byte {
		t.Helper()
		cmd, b := runIn(d, cdb, n)
		wantGood(t, cmd)
		return b
	}

	// 1. Standard INQUIRY: 36 bytes, then as many as the additional length says.
	b := in(inquiryCDB(false, 0, 36), 36)
	if len(b) != 36 || b[0]&0x1f != 0 {
		t.Fatalf("short INQUIRY % x", b)
	}
	full := int(b[4]) + 5
	b = in(inquiryCDB(false, 0, uint16(full)), full)
	if len(b) != full || b[2] < 0x05 {
		t.Fatalf("INQUIRY of %d bytes, version %#x: sd would not use READ CAPACITY(16)", len(b), b[2])
	}

	// 2. VPD 0x00, then the pages it lists that sd reads.
	b = in(inquiryCDB(true, 0x00, 255), 255)
	listed := b[4 : 4+int(binary.BigEndian.Uint16(b[2:]))]
	for _, page := range []byte{0x83, 0xb0, 0xb1, 0xb2} {
		if bytes.IndexByte(listed, page) < 0 {
			t.Fatalf("VPD %#x not listed in % x", page, listed)
		}
	}
	var b0, b1, b2 []byte
	for _, page := range []byte{0x80, 0x83, 0x89, 0xb0, 0xb1, 0xb2, 0xb7} {
		if bytes.IndexByte(listed, page) < 0 {
			continue
		}
		p := in(inquiryCDB(true, page, 255), 255)
		if p[1] != page || int(binary.BigEndian.Uint16(p[2:]))+4 != len(p) {
			t.Fatalf("VPD %#x header % x for %d bytes", page, p[:4], len(p))
		}
		switch page {
		case 0xb0:
			b0 = p
		case 0xb1:
			b1 = p
		case 0xb2:
			b2 = p
		}
	}

	// 3. TEST UNIT READY, READ CAPACITY(16): LBPME decides discard.
	wantGood(t, run(d, 0, []byte{opTestUnitReady, 0, 0, 0, 0, 0}))
	rc := in(readCapacity16CDB(32), 32)
	if binary.BigEndian.Uint64(rc)+1 != 1<<16 || binary.BigEndian.Uint32(rc[8:]) != 512 {
		t.Fatalf("READ CAPACITY(16) % x", rc)
	}
	lbpme, lbprz := rc[14]&0x80 != 0, rc[14]&0x40 != 0
	if !lbpme || !lbprz {
		t.Fatalf("LBPME %v LBPRZ %v", lbpme, lbprz)
	}

	// 4. MODE SENSE: all pages with 4 bytes for WP, then the caching page
	// (header first, then the whole of it).
	b = in(modeSense6CDB(false, pcCurrent, 0x3f, 0, 4), 4)
	if b[2]&0x80 != 0 {
		t.Fatal("write protected")
	}
	b = in(modeSense6CDB(false, pcCurrent, 0x08, 0, 4), 4)
	n := int(b[0]) + 1
	b = in(modeSense6CDB(false, pcCurrent, 0x08, 0, byte(n)), n)
	page := b[4+int(b[3]):]
	if page[0]&0x3f != 0x08 || len(page) < 3 {
		t.Fatalf("sd would say \"Got wrong page\": % x", b)
	}
	wce, rcd, dpofua := page[2]&0x04 != 0, page[2]&0x01 != 0, b[2]&0x10 != 0
	if !wce || rcd || !dpofua {
		t.Fatalf("WCE %v RCD %v DPOFUA %v: sd would not report \"write back, supports DPO and FUA\"", wce, rcd, dpofua)
	}
	// Newer kernels ask for the I/O advice hints subpage; its absence is a
	// plain ILLEGAL REQUEST that sd tolerates.
	cmd := run(d, 0, modeSense10CDB(0, pcCurrent, 0x0a, 0x05, 512), make([]byte, 512))
	wantCheck(t, cmd, SenseKeyIllegalRequest, 0x24, 0)

	// 5. REPORT SUPPORTED OPERATION CODES for single commands.
	for _, op := range []byte{opInquiry, opWriteSame16, opWriteSame10} {
		r := in(rsocCDB(false, 1, op, 0, 512), 512)
		if r[1]&0x07 != 3 {
			t.Fatalf("opcode %#x reported as %#x: sd would not use it", op, r[1])
		}
	}

	// Block limits (VPD b0), characteristics (b1) and provisioning (b2) as sd
	// reads them.
	if len(b0) < 64 {
		t.Fatalf("block limits page of %d bytes: sd ignores the unmap fields", len(b0))
	}
	maxXfer := binary.BigEndian.Uint32(b0[8:])
	maxUnmap := binary.BigEndian.Uint32(b0[20:])
	maxUnmapDescs := binary.BigEndian.Uint32(b0[24:])
	maxWS := binary.BigEndian.Uint64(b0[36:])
	if maxXfer == 0 || maxUnmap == 0 || maxUnmapDescs == 0 || maxWS == 0 {
		t.Fatalf("max transfer %d, max unmap %d (%d descriptors), max write same %d", maxXfer, maxUnmap, maxUnmapDescs, maxWS)
	}
	if binary.BigEndian.Uint16(b1[4:]) != 1 {
		t.Fatal("rotational")
	}
	lbpu, lbpws, lbpws10 := b2[5]&0x80 != 0, b2[5]&0x40 != 0, b2[5]&0x20 != 0
	if !lbpu || !lbpws || !lbpws10 {
		t.Fatalf("LBPU %v LBPWS %v LBPWS10 %v", lbpu, lbpws, lbpws10)
	}
	// sd's choice: discard by UNMAP (lbpu and max unmap blocks), zeroing
	// by WRITE SAME(16) with UNMAP (lbprz and lbpws).

	// 6. I/O as the block layer sends it.
	data := pattern(8*512, 42)
	wantGood(t, run(d, 0, cdb10(opWrite10, 0x08, 100, 8), data)) // FUA write
	if m.fuaWrites == 0 {
		t.Fatal("FUA write did not reach the backend as FUA")
	}
	rd := make([]byte, 8*512)
	wantGood(t, run(d, 0, cdb10(opRead10, 0, 100, 8), rd))
	if !bytes.Equal(rd, data) {
		t.Fatal("read back differs")
	}
	wantGood(t, run(d, 0, cdb16(opWrite16, 0, 1<<16-8, 8), data))
	wantGood(t, run(d, 0, cdb10(opSynchronizeCache10, 0, 0, 0)))
	// Discard: one UNMAP descriptor within the limits.
	wantGood(t, run(d, 0, unmapCDB(24), unmapList([2]uint64{100, 8})))
	wantGood(t, run(d, 0, cdb10(opRead10, 0, 100, 8), rd))
	if !allZero(rd) {
		t.Fatal("discarded blocks do not read as zeroes (LBPRZ)")
	}
	// Write zeroes: WRITE SAME(16) with UNMAP and a zero block.
	wantGood(t, run(d, 0, cdb16(opWrite16, 0, 200, 8), data))
	wantGood(t, run(d, 0, cdb16(opWriteSame16, 0x08, 200, 8), make([]byte, 512)))
	wantGood(t, run(d, 0, cdb10(opRead10, 0, 200, 8), rd))
	if !allZero(rd) {
		t.Fatal("zeroed blocks are not zero")
	}
	// Error handling ends with TEST UNIT READY.
	wantGood(t, run(d, 0, []byte{opTestUnitReady, 0, 0, 0, 0, 0}))
}
