package scsi

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/tcmsh/tcmsh/backends"
)

// fill stores p at block lba of the backend.
func fill(m *memBackend, lba int64, p []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	copy(m.data[lba*512:], p)
}

func TestReadWrite(t *testing.T) {
	stored := pattern(64*512, 1)
	preload := func(t *testing.T, _ *Disk, m *memBackend) { fill(m, 0, stored) }
	readBack := func(lba, n int) func(*testing.T, []byte, *Command, *memBackend) {
		return func(t *testing.T, b []byte, cmd *Command, _ *memBackend) {
			if cmd.ReadLen != n*512 || !bytes.Equal(b, stored[lba*512:(lba+n)*512]) {
				t.Fatalf("ReadLen %d, data differs", cmd.ReadLen)
			}
		}
	}
	stores := func(lba int, data []byte) func(*testing.T, []byte, *Command, *memBackend) {
		return func(t *testing.T, _ []byte, _ *Command, m *memBackend) {
			if got := m.snapshot()[lba*512 : lba*512+len(data)]; !bytes.Equal(got, data) {
				t.Fatal("backend does not hold the data written")
			}
		}
	}
	untouched := func(t *testing.T, _ []byte, _ *Command, m *memBackend) {
		if m.reads+m.writes+m.fuaWrites+m.unmaps+m.zeroes != 0 {
			t.Fatalf("backend touched: %d reads %d writes", m.reads, m.writes)
		}
	}
	w := pattern(4*512, 9)
	runCases(t, []cmdCase{
		{name: "READ(6)", setup: preload, cdb: cdb6(opRead6, 3, 2), in: 1024, check: readBack(3, 2)},
		{name: "READ(6) length 0 means 256", blocks: 300, edit: func(c *DiskConfig) { c.MaxSectors = 256 },
			cdb: cdb6(opRead6, 0, 0), in: 256 * 512,
			check: func(t *testing.T, _ []byte, cmd *Command, _ *memBackend) {
				if cmd.ReadLen != 256*512 {
					t.Fatalf("ReadLen %d", cmd.ReadLen)
				}
			}},
		{name: "READ(10)", setup: preload, cdb: cdb10(opRead10, 0, 10, 4), in: 4096, check: readBack(10, 4)},
		{name: "READ(12)", setup: preload, cdb: cdb12(opRead12, 0, 60, 4), in: 2048, check: readBack(60, 4)},
		{name: "READ(16)", setup: preload, cdb: cdb16(opRead16, 0x08, 1, 63), in: 63 * 512, check: readBack(1, 63)},
		{name: "READ(10) zero length", cdb: cdb10(opRead10, 0, 64, 0), in: 512, check: untouched},
		{name: "READ(10) beyond capacity", cdb: cdb10(opRead10, 0, 63, 2), in: 1024,
			key: SenseKeyIllegalRequest, asc: 0x21, check: untouched},
		{name: "READ(16) LBA wraps", cdb: cdb16(opRead16, 0, ^uint64(0), 2), in: 1024,
			key: SenseKeyIllegalRequest, asc: 0x21, check: untouched},
		{name: "READ(10) zero length past the end", cdb: cdb10(opRead10, 0, 65, 0), in: 512,
			key: SenseKeyIllegalRequest, asc: 0x21, check: untouched},
		{name: "READ(10) above maximum transfer", edit: func(c *DiskConfig) { c.MaxSectors = 8 },
			cdb: cdb10(opRead10, 0, 0, 9), in: 9 * 512, key: SenseKeyIllegalRequest, asc: 0x24,
			field: &field{true, 7, 7}, check: untouched},
		{name: "READ(10) RDPROTECT", cdb: cdb10(opRead10, 0x20, 0, 1), in: 512,
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 1, 5}, check: untouched},
		{name: "READ(10) group number", cdb: func() []byte { c := cdb10(opRead10, 0, 0, 1); c[6] = 1; return c }(), in: 512,
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 6, 0}},
		{name: "READ(10) short buffer gets what fits", setup: preload, cdb: cdb10(opRead10, 0, 0, 4), in: 1000,
			check: func(t *testing.T, b []byte, cmd *Command, _ *memBackend) {
				if cmd.ReadLen != 1000 || !bytes.Equal(b, stored[:1000]) {
					t.Fatalf("ReadLen %d", cmd.ReadLen)
				}
			}},
		{name: "READ(10) truncated CDB", cdb: cdb10(opRead10, 0, 0, 1)[:9], in: 512,
			key: SenseKeyIllegalRequest, asc: 0x24},
		{name: "WRITE(6)", cdb: cdb6(opWrite6, 5, 4), out: w, check: stores(5, w)},
		{name: "WRITE(10)", cdb: cdb10(opWrite10, 0, 60, 4), out: w, check: stores(60, w)},
		{name: "WRITE(12)", cdb: cdb12(opWrite12, 0, 0, 4), out: w, check: stores(0, w)},
		{name: "WRITE(16)", cdb: cdb16(opWrite16, 0, 7, 4), out: w, check: stores(7, w)},
		{name: "WRITE(10) beyond capacity", cdb: cdb10(opWrite10, 0, 61, 4), out: w,
			key: SenseKeyIllegalRequest, asc: 0x21, check: untouched},
		{name: "WRITE(10) less data than announced", cdb: cdb10(opWrite10, 0, 0, 5), out: w,
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 7, 7}, check: untouched},
		{name: "WRITE(10) more data than announced", cdb: cdb10(opWrite10, 0, 0, 2), out: w,
			check: func(t *testing.T, _ []byte, _ *Command, m *memBackend) {
				got := m.snapshot()
				if !bytes.Equal(got[:1024], w[:1024]) || !allZero(got[1024:2048]) {
					t.Fatal("wrong bytes stored")
				}
			}},
		{name: "WRITE(10) read-only", caps: backends.Caps{ReadOnly: true}, cdb: cdb10(opWrite10, 0, 0, 4), out: w,
			key: SenseKeyDataProtect, asc: 0x27, check: untouched},
		{name: "WRITE(16) WRPROTECT", cdb: cdb16(opWrite16, 0x40, 0, 4), out: w,
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 1, 6}, check: untouched},
		{name: "WRITE(10) FUA with FUA backend", caps: thinCaps, cdb: cdb10(opWrite10, 0x08, 0, 4), out: w,
			check: func(t *testing.T, _ []byte, _ *Command, m *memBackend) {
				if m.fuaWrites != 1 || m.writes != 0 || m.flushes != 0 {
					t.Fatalf("%d FUA writes, %d writes, %d flushes", m.fuaWrites, m.writes, m.flushes)
				}
			}},
		{name: "WRITE(10) FUA without FUA backend flushes", cdb: cdb10(opWrite10, 0x08, 0, 4), out: w,
			check: func(t *testing.T, _ []byte, _ *Command, m *memBackend) {
				if m.fuaWrites != 0 || m.writes != 1 || m.flushes != 1 {
					t.Fatalf("%d FUA writes, %d writes, %d flushes", m.fuaWrites, m.writes, m.flushes)
				}
			}},
		{name: "WRITE(10) without FUA and write cache on does not flush", cdb: cdb10(opWrite10, 0, 0, 4), out: w,
			check: func(t *testing.T, _ []byte, _ *Command, m *memBackend) {
				if m.flushes != 0 {
					t.Fatalf("%d flushes", m.flushes)
				}
			}},
		{name: "WRITE(10) write cache off is write-through", edit: func(c *DiskConfig) { c.WriteCache = false },
			cdb: cdb10(opWrite10, 0, 0, 4), out: w,
			check: func(t *testing.T, _ []byte, _ *Command, m *memBackend) {
				if m.flushes != 1 {
					t.Fatalf("%d flushes", m.flushes)
				}
			}},
		{name: "WRITE AND VERIFY(10)", cdb: cdb10(opWriteAndVerify10, 0x02, 2, 4), out: w,
			check: func(t *testing.T, _ []byte, _ *Command, m *memBackend) {
				if m.flushes != 1 || m.reads == 0 || !bytes.Equal(m.snapshot()[1024:1024+len(w)], w) {
					t.Fatalf("%d flushes %d reads", m.flushes, m.reads)
				}
			}},
		{name: "WRITE AND VERIFY(16) BYTCHK 0", cdb: cdb16(opWriteAndVerify16, 0, 2, 4), out: w, check: stores(2, w)},
		{name: "WRITE AND VERIFY(10) BYTCHK 2", cdb: cdb10(opWriteAndVerify10, 0x04, 2, 4), out: w,
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 1, 2}},
	})
}

// TestReadWriteAcrossBuffers moves data through buffer lists cut at odd
// places, including empty buffers.
func TestReadWriteAcrossBuffers(t *testing.T) {
	for _, sizes := range [][]int{{4096}, {1, 4095}, {511, 0, 1, 3000, 584}, {100, 100, 100, 100, 3696}, {4000, 96, 512}} {
		t.Run(fmt.Sprint(sizes), func(t *testing.T) {
			d, m := newTestDisk(t, 64, backends.Caps{}, nil)
			src := pattern(4096, 5)
			var out, in [][]byte
			rest := src
			for _, n := range sizes {
				n = min(n, len(rest))
				out = append(out, rest[:n])
				rest = rest[n:]
				in = append(in, make([]byte, n))
			}
			wantGood(t, run(d, 0, cdb10(opWrite10, 0, 8, 8), out...))
			if !bytes.Equal(m.snapshot()[8*512:16*512], src) {
				t.Fatal("backend does not hold the data")
			}
			cmd := run(d, 0, cdb10(opRead10, 0, 8, 8), in...)
			wantGood(t, cmd)
			if cmd.ReadLen != 4096 || !bytes.Equal(bytes.Join(in, nil), src) {
				t.Fatalf("read back %d bytes, differ", cmd.ReadLen)
			}
		})
	}
}

func TestBackendErrors(t *testing.T) {
	senseErr := &backends.SenseError{Key: SenseKeyHardwareError, ASC: 0x44, ASCQ: 0x00}
	runCases(t, []cmdCase{
		{name: "read error", setup: func(_ *testing.T, _ *Disk, m *memBackend) { m.readErr = errors.New("boom") },
			cdb: cdb10(opRead10, 0, 5, 1), in: 512, key: SenseKeyMediumError, asc: 0x11, info: u64(5)},
		{name: "write error", setup: func(_ *testing.T, _ *Disk, m *memBackend) { m.writeErr = errors.New("boom") },
			cdb: cdb10(opWrite10, 0, 6, 1), out: make([]byte, 512), key: SenseKeyMediumError, asc: 0x0c, info: u64(6)},
		{name: "no space", setup: func(_ *testing.T, _ *Disk, m *memBackend) {
			m.writeErr = fmt.Errorf("pwrite: %w", syscall.ENOSPC)
		}, cdb: cdb10(opWrite10, 0, 0, 1), out: make([]byte, 512), key: SenseKeyDataProtect, asc: 0x27, ascq: 0x07},
		{name: "backend's own sense", setup: func(_ *testing.T, _ *Disk, m *memBackend) {
			m.readErr = fmt.Errorf("injected: %w", senseErr)
		}, cdb: cdb10(opRead10, 0, 0, 1), in: 512, key: SenseKeyHardwareError, asc: 0x44},
		{name: "flush error", setup: func(_ *testing.T, _ *Disk, m *memBackend) { m.flushErr = errors.New("boom") },
			cdb: cdb10(opSynchronizeCache10, 0, 0, 0), in: 0, key: SenseKeyMediumError, asc: 0x0c},
		{name: "FUA flush error", setup: func(_ *testing.T, _ *Disk, m *memBackend) { m.flushErr = errors.New("boom") },
			cdb: cdb10(opWrite10, 0x08, 0, 1), out: make([]byte, 512), key: SenseKeyMediumError, asc: 0x0c},
		{name: "unmap no space", caps: thinCaps, setup: func(_ *testing.T, _ *Disk, m *memBackend) { m.unmapErr = syscall.ENOSPC },
			cdb: unmapCDB(24), out: unmapList([2]uint64{0, 8}), key: SenseKeyDataProtect, asc: 0x27, ascq: 0x07},
		{name: "verify read error", setup: func(_ *testing.T, _ *Disk, m *memBackend) { m.readErr = errors.New("boom") },
			cdb: cdb10(opVerify10, 0, 3, 2), in: 0, key: SenseKeyMediumError, asc: 0x11, info: u64(3)},
	})
}

func TestVerify(t *testing.T) {
	stored := pattern(64*512, 1)
	preload := func(_ *testing.T, _ *Disk, m *memBackend) { fill(m, 0, stored) }
	changed := func(at int) []byte {
		b := append([]byte(nil), stored[512:3*512]...)
		b[at] ^= 0xff
		return b
	}
	oneBlock := append([]byte(nil), stored[:512]...)
	sameBlocks := func(_ *testing.T, _ *Disk, m *memBackend) {
		for i := int64(0); i < 4; i++ {
			fill(m, 10+i, oneBlock)
		}
	}
	runCases(t, []cmdCase{
		{name: "BYTCHK 0 medium verification", setup: preload, cdb: cdb10(opVerify10, 0, 0, 64), in: 0,
			check: func(t *testing.T, _ []byte, _ *Command, m *memBackend) {
				if m.reads == 0 {
					t.Fatal("the medium was not read")
				}
			}},
		{name: "BYTCHK 1 equal", setup: preload, cdb: cdb10(opVerify10, 0x02, 1, 2), out: stored[512 : 3*512]},
		{name: "BYTCHK 1 miscompare", setup: preload, cdb: cdb10(opVerify10, 0x02, 1, 2), out: changed(700),
			key: SenseKeyMiscompare, asc: 0x1d, info: u64(700)},
		{name: "VERIFY(16) BYTCHK 1 miscompare", setup: preload, cdb: cdb16(opVerify16, 0x02, 1, 2), out: changed(1023),
			key: SenseKeyMiscompare, asc: 0x1d, info: u64(1023)},
		{name: "BYTCHK 1 short data", setup: preload, cdb: cdb10(opVerify10, 0x02, 1, 2), out: stored[:600],
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 7, 7}},
		{name: "BYTCHK 3 one block for all", setup: sameBlocks, cdb: cdb10(opVerify10, 0x06, 10, 4), out: oneBlock},
		{name: "BYTCHK 3 miscompare", setup: func(t *testing.T, d *Disk, m *memBackend) {
			sameBlocks(t, d, m)
			m.data[12*512+17] ^= 1
		}, cdb: cdb10(opVerify10, 0x06, 10, 4), out: oneBlock, key: SenseKeyMiscompare, asc: 0x1d, info: u64(17)},
		{name: "BYTCHK 2 reserved", cdb: cdb10(opVerify10, 0x04, 0, 1), out: oneBlock,
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 1, 2}},
		{name: "beyond capacity", cdb: cdb10(opVerify10, 0, 60, 5), in: 0, key: SenseKeyIllegalRequest, asc: 0x21},
		{name: "zero length", cdb: cdb10(opVerify10, 0x02, 0, 0), out: []byte{}},
	})
}

func TestSynchronizeCache(t *testing.T) {
	flushed := func(t *testing.T, _ []byte, _ *Command, m *memBackend) {
		if m.flushes != 1 {
			t.Fatalf("%d flushes", m.flushes)
		}
	}
	runCases(t, []cmdCase{
		{name: "10 whole disk", cdb: cdb10(opSynchronizeCache10, 0, 0, 0), check: flushed},
		{name: "10 IMMED range", cdb: cdb10(opSynchronizeCache10, 0x02, 8, 8), check: flushed},
		{name: "16", cdb: cdb16(opSynchronizeCache16, 0, 0, 64), check: flushed},
		{name: "beyond capacity", cdb: cdb16(opSynchronizeCache16, 0, 60, 5), key: SenseKeyIllegalRequest, asc: 0x21},
		{name: "SYNC_NV obsolete bit", cdb: cdb10(opSynchronizeCache10, 0x04, 0, 0), key: SenseKeyIllegalRequest, asc: 0x24,
			field: &field{true, 1, 2}},
	})
}

func unmapCDB(n uint16) []byte {
	c := make([]byte, 10)
	c[0] = opUnmap
	binary.BigEndian.PutUint16(c[7:], n)
	return c
}

func unmapList(ranges ...[2]uint64) []byte {
	b := make([]byte, 8+16*len(ranges))
	binary.BigEndian.PutUint16(b[0:], uint16(len(b)-2))
	binary.BigEndian.PutUint16(b[2:], uint16(16*len(ranges)))
	for i, r := range ranges {
		binary.BigEndian.PutUint64(b[8+16*i:], r[0])
		binary.BigEndian.PutUint32(b[16+16*i:], uint32(r[1]))
	}
	return b
}

func TestUnmap(t *testing.T) {
	preload := func(_ *testing.T, _ *Disk, m *memBackend) { fill(m, 0, pattern(64*512, 1)) }
	unmapped := func(want ...[2]int64) func(*testing.T, []byte, *Command, *memBackend) {
		return func(t *testing.T, _ []byte, _ *Command, m *memBackend) {
			if fmt.Sprint(m.unmapped) != fmt.Sprint(want) {
				t.Fatalf("unmapped %v, want %v", m.unmapped, want)
			}
		}
	}
	none := unmapped()
	list := unmapList([2]uint64{0, 8}, [2]uint64{32, 4})
	runCases(t, []cmdCase{
		{name: "two ranges", caps: thinCaps, setup: preload, cdb: unmapCDB(40), out: list,
			check: func(t *testing.T, d []byte, c *Command, m *memBackend) {
				unmapped([2]int64{0, 4096}, [2]int64{16384, 2048})(t, d, c, m)
				if !allZero(m.snapshot()[:4096]) {
					t.Fatal("unmapped blocks do not read as zeroes")
				}
			}},
		{name: "not supported on a thick backend", cdb: unmapCDB(40), out: list,
			key: SenseKeyIllegalRequest, asc: 0x20},
		{name: "zero parameter list length", caps: thinCaps, cdb: unmapCDB(0), out: []byte{}, check: none},
		{name: "parameter list length below 8", caps: thinCaps, cdb: unmapCDB(7), out: list[:7],
			key: SenseKeyIllegalRequest, asc: 0x1a, check: none},
		{name: "data shorter than parameter list length", caps: thinCaps, cdb: unmapCDB(40), out: list[:30],
			key: SenseKeyIllegalRequest, asc: 0x1a, check: none},
		{name: "block descriptor data length too large", caps: thinCaps, cdb: unmapCDB(24), out: list[:24],
			key: SenseKeyIllegalRequest, asc: 0x1a, check: none},
		{name: "trailing partial descriptor ignored", caps: thinCaps, cdb: unmapCDB(30),
			out: func() []byte {
				b := append([]byte(nil), list[:30]...)
				binary.BigEndian.PutUint16(b[0:], 28)
				binary.BigEndian.PutUint16(b[2:], 22)
				return b
			}(), check: unmapped([2]int64{0, 4096})},
		{name: "beyond capacity", caps: thinCaps, cdb: unmapCDB(40), out: unmapList([2]uint64{0, 8}, [2]uint64{60, 5}),
			key: SenseKeyIllegalRequest, asc: 0x21, check: none},
		{name: "too many descriptors", caps: thinCaps, cdb: unmapCDB(88),
			out: unmapList([2]uint64{0, 1}, [2]uint64{1, 1}, [2]uint64{2, 1}, [2]uint64{3, 1}, [2]uint64{4, 1}),
			key: SenseKeyIllegalRequest, asc: 0x26, field: &field{false, 2, 7}, check: none},
		{name: "too many blocks", caps: thinCaps, blocks: 8192, cdb: unmapCDB(40),
			out: unmapList([2]uint64{0, 4000}, [2]uint64{5000, 97}),
			key: SenseKeyIllegalRequest, asc: 0x26, field: &field{false, 32, 7}, check: none},
		{name: "ANCHOR", caps: thinCaps, cdb: func() []byte { c := unmapCDB(40); c[1] = 1; return c }(), out: list,
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 1, 0}, check: none},
		{name: "read-only", caps: backends.Caps{Unmap: true, ReadOnly: true}, cdb: unmapCDB(40), out: list,
			key: SenseKeyDataProtect, asc: 0x27, check: none},
		{name: "zero-length descriptor", caps: thinCaps, cdb: unmapCDB(24), out: unmapList([2]uint64{64, 0}), check: none},
	})
}

func writeSame16CDB(flags byte, lba uint64, n uint32) []byte {
	return cdb16(opWriteSame16, flags, lba, n)
}

func TestWriteSame(t *testing.T) {
	block := pattern(512, 77)
	preload := func(_ *testing.T, _ *Disk, m *memBackend) { fill(m, 0, pattern(64*512, 1)) }
	repeated := func(lba, n int, b []byte) func(*testing.T, []byte, *Command, *memBackend) {
		return func(t *testing.T, _ []byte, _ *Command, m *memBackend) {
			got := m.snapshot()
			for i := lba; i < lba+n; i++ {
				if !bytes.Equal(got[i*512:(i+1)*512], b) {
					t.Fatalf("block %d differs", i)
				}
			}
			if !bytes.Equal(got[(lba+n)*512:(lba+n+1)*512], pattern(64*512, 1)[(lba+n)*512:(lba+n+1)*512]) {
				t.Fatal("the block after the range was changed")
			}
		}
	}
	toEnd := func(lba int, b []byte) func(*testing.T, []byte, *Command, *memBackend) {
		return func(t *testing.T, _ []byte, _ *Command, m *memBackend) {
			got := m.snapshot()
			if lba > 0 && bytes.Equal(got[(lba-1)*512:lba*512], b) {
				t.Fatal("the block before the range was written")
			}
			for i := lba; i < len(got)/512; i++ {
				if !bytes.Equal(got[i*512:(i+1)*512], b) {
					t.Fatalf("block %d differs", i)
				}
			}
		}
	}
	zeroes := make([]byte, 512)
	runCases(t, []cmdCase{
		{name: "10 pattern", setup: preload, cdb: cdb10(opWriteSame10, 0, 3, 20), out: block, check: repeated(3, 20, block)},
		{name: "16 pattern", setup: preload, cdb: writeSame16CDB(0, 40, 10), out: block, check: repeated(40, 10, block)},
		{name: "16 zeroes by WriteZeroes", caps: thinCaps, setup: preload, cdb: writeSame16CDB(0, 4, 8), out: zeroes,
			check: func(t *testing.T, d []byte, c *Command, m *memBackend) {
				repeated(4, 8, zeroes)(t, d, c, m)
				if m.zeroes != 1 || m.unmaps != 0 {
					t.Fatalf("%d WriteZeroes %d unmaps", m.zeroes, m.unmaps)
				}
			}},
		{name: "16 UNMAP with zeroes deallocates", caps: thinCaps, setup: preload, cdb: writeSame16CDB(0x08, 4, 8), out: zeroes,
			check: func(t *testing.T, d []byte, c *Command, m *memBackend) {
				repeated(4, 8, zeroes)(t, d, c, m)
				if m.unmaps != 1 {
					t.Fatalf("%d unmaps", m.unmaps)
				}
			}},
		{name: "16 UNMAP with data writes it", caps: thinCaps, setup: preload, cdb: writeSame16CDB(0x08, 4, 8), out: block,
			check: func(t *testing.T, d []byte, c *Command, m *memBackend) {
				repeated(4, 8, block)(t, d, c, m)
				if m.unmaps != 0 {
					t.Fatalf("%d unmaps", m.unmaps)
				}
			}},
		{name: "16 NDOB UNMAP", caps: thinCaps, setup: preload, cdb: writeSame16CDB(0x09, 10, 5), out: []byte{},
			check: repeated(10, 5, zeroes)},
		{name: "16 NDOB without unmap support writes zeroes", setup: preload, cdb: writeSame16CDB(0x09, 10, 5), out: []byte{},
			check: func(t *testing.T, d []byte, c *Command, m *memBackend) {
				repeated(10, 5, zeroes)(t, d, c, m)
				if m.writes == 0 {
					t.Fatal("no zeroes written")
				}
			}},
		{name: "10 UNMAP without LBPRZ writes zeroes", caps: backends.Caps{Unmap: true}, setup: preload,
			cdb: cdb10(opWriteSame10, 0x08, 0, 4), out: zeroes,
			check: func(t *testing.T, d []byte, c *Command, m *memBackend) {
				repeated(0, 4, zeroes)(t, d, c, m)
				if m.unmaps != 0 {
					t.Fatalf("%d unmaps", m.unmaps)
				}
			}},
		{name: "zero blocks writes to the last block (WSNZ 0)", cdb: writeSame16CDB(0, 60, 0), out: block,
			check: toEnd(60, block)},
		{name: "10 zero blocks writes to the last block", cdb: cdb10(opWriteSame10, 0, 62, 0), out: block,
			check: toEnd(62, block)},
		{name: "zero blocks past the end", cdb: writeSame16CDB(0, 64, 0), out: block,
			key: SenseKeyIllegalRequest, asc: 0x21},
		{name: "zero blocks to the end above the maximum", blocks: 8192, cdb: writeSame16CDB(0, 4000, 0), out: block,
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 10, 7}},
		{name: "zero blocks to the end at the maximum", blocks: 8192, cdb: writeSame16CDB(0, 4096, 0), out: block,
			check: toEnd(4096, block)},
		{name: "above maximum write same length", blocks: 8192, cdb: writeSame16CDB(0, 0, 4097), out: block,
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 10, 7}},
		{name: "beyond capacity", cdb: cdb10(opWriteSame10, 0, 60, 5), out: block, key: SenseKeyIllegalRequest, asc: 0x21},
		{name: "no data block", cdb: cdb10(opWriteSame10, 0, 0, 5), out: block[:100], key: SenseKeyIllegalRequest, asc: 0x24},
		{name: "ANCHOR", cdb: writeSame16CDB(0x10, 0, 1), out: block,
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 1, 4}},
		{name: "LBDATA obsolete", cdb: cdb10(opWriteSame10, 0x02, 0, 1), out: block,
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 1, 1}},
		{name: "read-only", caps: backends.Caps{ReadOnly: true}, cdb: cdb10(opWriteSame10, 0, 0, 1), out: block,
			key: SenseKeyDataProtect, asc: 0x27},
		{name: "write cache off flushes", edit: func(c *DiskConfig) { c.WriteCache = false },
			cdb: cdb10(opWriteSame10, 0, 0, 1), out: block,
			check: func(t *testing.T, _ []byte, _ *Command, m *memBackend) {
				if m.flushes != 1 {
					t.Fatalf("%d flushes", m.flushes)
				}
			}},
	})
}

func cawCDB(flags byte, lba uint64, n byte) []byte {
	c := cdb16(opCompareAndWrite, flags, lba, 0)
	c[13] = n
	return c
}

func TestCompareAndWrite(t *testing.T) {
	stored := pattern(64*512, 1)
	preload := func(_ *testing.T, _ *Disk, m *memBackend) { fill(m, 0, stored) }
	newData := pattern(1024, 200)
	both := append(append([]byte(nil), stored[2*512:4*512]...), newData...)
	runCases(t, []cmdCase{
		{name: "match writes", setup: preload, cdb: cawCDB(0, 2, 2), out: both,
			check: func(t *testing.T, _ []byte, _ *Command, m *memBackend) {
				if !bytes.Equal(m.snapshot()[2*512:4*512], newData) {
					t.Fatal("data not written")
				}
			}},
		{name: "miscompare leaves data", setup: preload, cdb: cawCDB(0, 2, 2),
			out: func() []byte { b := append([]byte(nil), both...); b[600] ^= 1; return b }(),
			key: SenseKeyMiscompare, asc: 0x1d, info: u64(600),
			check: func(t *testing.T, _ []byte, _ *Command, m *memBackend) {
				if !bytes.Equal(m.snapshot(), stored) {
					t.Fatal("data changed after a miscompare")
				}
			}},
		{name: "FUA", caps: thinCaps, setup: preload, cdb: cawCDB(0x08, 2, 2), out: both,
			check: func(t *testing.T, _ []byte, _ *Command, m *memBackend) {
				if m.fuaWrites != 1 {
					t.Fatalf("%d FUA writes", m.fuaWrites)
				}
			}},
		{name: "zero blocks", cdb: cawCDB(0, 0, 0), out: []byte{}},
		{name: "above maximum", edit: func(c *DiskConfig) { c.MaxSectors = 4 }, cdb: cawCDB(0, 0, 5), out: make([]byte, 5120),
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 13, 7}},
		{name: "beyond capacity", cdb: cawCDB(0, 63, 2), out: make([]byte, 2048), key: SenseKeyIllegalRequest, asc: 0x21},
		{name: "half the data", cdb: cawCDB(0, 0, 2), out: make([]byte, 1024),
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 13, 7}},
		{name: "read-only", caps: backends.Caps{ReadOnly: true}, cdb: cawCDB(0, 0, 1), out: make([]byte, 1024),
			key: SenseKeyDataProtect, asc: 0x27},
	})
}
