package scsi

import (
	"encoding/binary"
	"testing"
)

func TestUserMaxSectors(t *testing.T) {
	for _, tc := range []struct {
		blockSize uint32
		dataArea  int64
		want      uint32
	}{
		{512, 1 << 30, 16384},    // 8 MiB
		{4096, 1 << 30, 2048},    // 8 MiB
		{0, 1 << 30, 16384},      // 512 when unset
		{512, 8 << 20, 4096},     // a quarter of an 8 MiB data area
		{512, 1 << 20, 512},      // 256 KiB
		{4096, 4096, 1},          // never below a page
		{512, 0, 8},              // one page of 512-byte blocks
		{1024, 64 << 20, 8192},   // 8 MiB
		{2048, 16 << 20, 2048},   // 4 MiB
		{512, 2048 << 20, 16384}, // the cap
	} {
		if got := UserMaxSectors(tc.blockSize, tc.dataArea); got != tc.want {
			t.Errorf("UserMaxSectors(%d, %d) = %d, want %d", tc.blockSize, tc.dataArea, got, tc.want)
		}
	}
}

// The LBA range is checked before the transfer length, as the kernel's
// sbc_parse_cdb does: a long transfer past the end is LBA OUT OF RANGE.
func TestRangeBeforeLength(t *testing.T) {
	small := func(c *DiskConfig) { c.MaxSectors = 8 }
	out := make([]byte, 16*512)
	runCases(t, []cmdCase{
		{name: "READ(10) long and past the end", edit: small, cdb: cdb10(opRead10, 0, 60, 16), in: 16 * 512,
			key: SenseKeyIllegalRequest, asc: 0x21},
		{name: "READ(16) long and wrapping", edit: small, cdb: cdb16(opRead16, 0, ^uint64(0)-1, 16), in: 16 * 512,
			key: SenseKeyIllegalRequest, asc: 0x21},
		{name: "WRITE(10) long and past the end", edit: small, cdb: cdb10(opWrite10, 0, 60, 16), out: out,
			key: SenseKeyIllegalRequest, asc: 0x21},
		{name: "WRITE(12) long and past the end", edit: small, cdb: cdb12(opWrite12, 0, 100, 16), out: out,
			key: SenseKeyIllegalRequest, asc: 0x21},
		{name: "WRITE AND VERIFY(16) long and past the end", edit: small, cdb: cdb16(opWriteAndVerify16, 0, 60, 16), out: out,
			key: SenseKeyIllegalRequest, asc: 0x21},
		{name: "VERIFY(10) BYTCHK long and past the end", edit: small, cdb: cdb10(opVerify10, 0x02, 60, 16), out: out,
			key: SenseKeyIllegalRequest, asc: 0x21},
		{name: "READ(10) long within range", edit: small, cdb: cdb10(opRead10, 0, 0, 16), in: 16 * 512,
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 7, 7}},
		{name: "READ(10) at the maximum", edit: small, cdb: cdb10(opRead10, 0, 0, 8), in: 8 * 512},
		{name: "VERIFY(10) without BYTCHK is not a transfer", edit: small, cdb: cdb10(opVerify10, 0, 0, 64), in: 0},
	})
}

// The optimal transfer length never exceeds the maximum: Linux ignores
// both when it does.
func TestOptimalWithinMaximum(t *testing.T) {
	d, _ := newTestDisk(t, 64, thinCaps, func(c *DiskConfig) { c.MaxSectors = 64; c.OptimalSectors = 128 })
	cmd, b := runIn(d, inquiryCDB(true, 0xb0, 64), 64)
	wantGood(t, cmd)
	if maxT, opt := binary.BigEndian.Uint32(b[8:]), binary.BigEndian.Uint32(b[12:]); maxT != 64 || opt != 64 {
		t.Fatalf("maximum %d, optimal %d", maxT, opt)
	}
}

// Without limits configured, the unmap limits are a plausible 32 MiB in
// 16 descriptors.
func TestDefaultUnmapLimits(t *testing.T) {
	d, _ := newTestDisk(t, 64, thinCaps, func(c *DiskConfig) { c.MaxUnmapBlocks = 0; c.MaxUnmapDescriptors = 0 })
	cmd, b := runIn(d, inquiryCDB(true, 0xb0, 64), 64)
	wantGood(t, cmd)
	if n, descs := binary.BigEndian.Uint32(b[20:]), binary.BigEndian.Uint32(b[24:]); n != 65536 || descs != 16 {
		t.Fatalf("max unmap %d blocks in %d descriptors", n, descs)
	}
}
