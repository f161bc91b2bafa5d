package scsi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tcmsh/tcmsh/backends"
)

// mapCaps is a thin backend that can tell mapped blocks from deallocated ones.
var mapCaps = backends.Caps{Unmap: true, UnmapZeroes: true, WriteZeroes: true, FUA: true, Mapping: true}

// lbaDesc is one decoded LBA status descriptor.
type lbaDesc struct {
	lba    uint64
	blocks uint32
	status byte
}

func (l lbaDesc) String() string { return fmt.Sprintf("{%d +%d st%d}", l.lba, l.blocks, l.status) }

// parseLBAStatus decodes complete GET LBA STATUS parameter data, checking
// its parameter data length and reserved bytes.
func parseLBAStatus(t testing.TB, b []byte) []lbaDesc {
	t.Helper()
	if len(b) < 8 || (len(b)-8)%16 != 0 {
		t.Fatalf("%d bytes of GET LBA STATUS data", len(b))
	}
	if got := binary.BigEndian.Uint32(b); int(got) != len(b)-4 {
		t.Fatalf("parameter data length %d for %d bytes", got, len(b))
	}
	var out []lbaDesc
	for d := b[8:]; len(d) > 0; d = d[16:] {
		if d[12]&0xf0 != 0 || !allZero(d[13:16]) {
			t.Fatalf("reserved bits set in descriptor % x", d[:16])
		}
		out = append(out, lbaDesc{binary.BigEndian.Uint64(d), binary.BigEndian.Uint32(d[8:]), d[12]})
	}
	return out
}

func wantLBAStatus(want ...lbaDesc) func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
	return func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
		t.Helper()
		if got := parseLBAStatus(t, b); !slices.Equal(got, want) {
			t.Fatalf("descriptors %v, want %v", got, want)
		}
	}
}

// byteExtents answers MappedExtent from a list of byte runs covering the
// device in order.
func byteExtents(runs ...extentRun) func(off int64) (bool, int64, error) {
	return func(off int64) (bool, int64, error) {
		start := int64(0)
		for _, r := range runs {
			if off < start+r.length {
				return r.mapped, start + r.length - off, nil
			}
			start += r.length
		}
		return false, 0, io.EOF
	}
}

type extentRun struct {
	mapped bool
	length int64
}

// unmapBlocks deallocates 512-byte blocks in the test backend.
func unmapBlocks(t *testing.T, m *memBackend, lba, n int64) {
	t.Helper()
	if err := m.Unmap(lba*512, n*512); err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	m.unmaps, m.unmapped = 0, nil
	m.mu.Unlock()
}

func TestGetLBAStatus(t *testing.T) {
	holes := func(t *testing.T, _ *Disk, m *memBackend) {
		unmapBlocks(t, m, 8, 8)
		unmapBlocks(t, m, 32, 16)
	}
	const mapped, dealloc = provisionMapped, provisionDeallocated
	runCases(t, []cmdCase{
		{name: "without a mapper everything is mapped", caps: thinCaps, setup: holes, cdb: getLBAStatusCDB(10, 64), in: 64,
			check: wantLBAStatus(lbaDesc{10, 54, mapped})},
		{name: "mapping without unmap: fully provisioned, not asked", caps: backends.Caps{Mapping: true}, cdb: getLBAStatusCDB(0, 64), in: 64,
			check: func(t *testing.T, b []byte, cmd *Command, m *memBackend) {
				wantLBAStatus(lbaDesc{0, 64, mapped})(t, b, cmd, m)
				if m.extents != 0 {
					t.Fatalf("%d MappedExtent calls", m.extents)
				}
			}},
		{name: "all mapped", caps: mapCaps, cdb: getLBAStatusCDB(0, 1024), in: 1024,
			check: wantLBAStatus(lbaDesc{0, 64, mapped})},
		{name: "all deallocated", caps: mapCaps, setup: func(t *testing.T, _ *Disk, m *memBackend) { unmapBlocks(t, m, 0, 64) },
			cdb: getLBAStatusCDB(0, 1024), in: 1024, check: wantLBAStatus(lbaDesc{0, 64, dealloc})},
		{name: "runs", caps: mapCaps, setup: holes, cdb: getLBAStatusCDB(0, 1024), in: 1024,
			check: wantLBAStatus(lbaDesc{0, 8, mapped}, lbaDesc{8, 8, dealloc}, lbaDesc{16, 16, mapped},
				lbaDesc{32, 16, dealloc}, lbaDesc{48, 16, mapped})},
		{name: "from inside a hole", caps: mapCaps, setup: holes, cdb: getLBAStatusCDB(10, 1024), in: 1024,
			check: wantLBAStatus(lbaDesc{10, 6, dealloc}, lbaDesc{16, 16, mapped}, lbaDesc{32, 16, dealloc}, lbaDesc{48, 16, mapped})},
		{name: "last block", caps: mapCaps, setup: holes, cdb: getLBAStatusCDB(63, 1024), in: 1024,
			check: wantLBAStatus(lbaDesc{63, 1, mapped})},
		{name: "allocation length holds two descriptors", caps: mapCaps, setup: holes, cdb: getLBAStatusCDB(0, 8+2*16), in: 1024,
			check: wantLBAStatus(lbaDesc{0, 8, mapped}, lbaDesc{8, 8, dealloc})},
		{name: "allocation length between descriptors", caps: mapCaps, setup: holes, cdb: getLBAStatusCDB(0, 8+3*16-1), in: 1024,
			check: wantLBAStatus(lbaDesc{0, 8, mapped}, lbaDesc{8, 8, dealloc})},
		{name: "buffer shorter than the allocation length", caps: mapCaps, setup: holes, cdb: getLBAStatusCDB(0, 1024), in: 8 + 16,
			check: wantLBAStatus(lbaDesc{0, 8, mapped})},
		{name: "allocation length shorter than a descriptor", caps: mapCaps, setup: holes, cdb: getLBAStatusCDB(8, 12), in: 1024,
			check: func(t *testing.T, b []byte, cmd *Command, _ *memBackend) {
				if cmd.ReadLen != 12 || binary.BigEndian.Uint32(b) != 20 || !allZero(b[4:12]) {
					t.Fatalf("ReadLen %d: % x", cmd.ReadLen, b)
				}
			}},
		{name: "allocation length zero", caps: mapCaps, setup: holes, cdb: getLBAStatusCDB(0, 0), in: 1024,
			check: func(t *testing.T, _ []byte, cmd *Command, _ *memBackend) {
				if cmd.ReadLen != 0 {
					t.Fatalf("ReadLen %d", cmd.ReadLen)
				}
			}},
		{name: "beyond capacity", caps: mapCaps, cdb: getLBAStatusCDB(64, 64), in: 64, key: SenseKeyIllegalRequest, asc: 0x21},
		{name: "far beyond capacity", caps: mapCaps, cdb: getLBAStatusCDB(1<<63, 64), in: 64, key: SenseKeyIllegalRequest, asc: 0x21},
		{name: "capacity below the backend size", caps: mapCaps, edit: func(c *DiskConfig) { c.Capacity = 40 * 512 }, setup: holes,
			cdb: getLBAStatusCDB(20, 1024), in: 1024,
			check: wantLBAStatus(lbaDesc{20, 12, mapped}, lbaDesc{32, 8, dealloc})},
		{name: "4K blocks", caps: mapCaps, blocks: 16, edit: func(c *DiskConfig) { c.BlockSize = 4096 },
			setup: func(t *testing.T, _ *Disk, m *memBackend) { unmapBlocks(t, m, 8*4, 8*4) }, // blocks 4..7
			cdb:   getLBAStatusCDB(0, 1024), in: 1024,
			check: wantLBAStatus(lbaDesc{0, 4, mapped}, lbaDesc{4, 4, dealloc}, lbaDesc{8, 8, mapped})},
		{name: "partial blocks count as mapped", caps: mapCaps, blocks: 8,
			setup: func(_ *testing.T, _ *Disk, m *memBackend) {
				// hole [0,1000), data [1000,1100), hole [1100,2048), data
				// [2048,2560), hole to the end.
				m.extentHook = byteExtents(extentRun{false, 1000}, extentRun{true, 100}, extentRun{false, 948},
					extentRun{true, 512}, extentRun{false, 8*512 - 2560})
			},
			cdb: getLBAStatusCDB(0, 1024), in: 1024,
			check: wantLBAStatus(lbaDesc{0, 1, dealloc}, lbaDesc{1, 2, mapped}, lbaDesc{3, 1, dealloc},
				lbaDesc{4, 1, mapped}, lbaDesc{5, 3, dealloc})},
		{name: "runs the backend splits are merged", caps: mapCaps,
			setup: func(_ *testing.T, _ *Disk, m *memBackend) {
				m.extentHook = func(off int64) (bool, int64, error) { return off < 20*512, 512, nil }
			},
			cdb: getLBAStatusCDB(0, 1024), in: 1024,
			check: func(t *testing.T, b []byte, cmd *Command, m *memBackend) {
				wantLBAStatus(lbaDesc{0, 20, mapped}, lbaDesc{20, 44, dealloc})(t, b, cmd, m)
				if m.extents != 64 {
					t.Fatalf("%d MappedExtent calls", m.extents)
				}
			}},
		{name: "backend queries are bounded", caps: mapCaps, blocks: 2 * lbaStatusMaxQueries,
			setup: func(_ *testing.T, _ *Disk, m *memBackend) {
				m.extentHook = func(int64) (bool, int64, error) { return true, 512, nil }
			},
			cdb: getLBAStatusCDB(5, 1024), in: 1024,
			check: func(t *testing.T, b []byte, cmd *Command, m *memBackend) {
				wantLBAStatus(lbaDesc{5, lbaStatusMaxQueries, mapped})(t, b, cmd, m)
				if m.extents != lbaStatusMaxQueries {
					t.Fatalf("%d MappedExtent calls", m.extents)
				}
			}},
		{name: "backend failure", caps: mapCaps, setup: func(_ *testing.T, _ *Disk, m *memBackend) {
			m.extentHook = func(int64) (bool, int64, error) { return false, 0, errors.New("broken") }
		}, cdb: getLBAStatusCDB(7, 1024), in: 1024, key: SenseKeyMediumError, asc: 0x11, info: u64(7)},
		{name: "backend sense", caps: mapCaps, setup: func(_ *testing.T, _ *Disk, m *memBackend) {
			m.extentHook = func(int64) (bool, int64, error) {
				return false, 0, &backends.SenseError{Key: SenseKeyNotReady, ASC: 0x04, ASCQ: 0x00}
			}
		}, cdb: getLBAStatusCDB(7, 1024), in: 1024, key: SenseKeyNotReady, asc: 0x04},
		{name: "UNMAP then query", caps: mapCaps,
			setup: func(t *testing.T, d *Disk, _ *memBackend) {
				wantGood(t, run(d, 0, unmapCDB(40), unmapList([2]uint64{4, 4}, [2]uint64{40, 8})))
			},
			cdb: getLBAStatusCDB(0, 1024), in: 1024,
			check: wantLBAStatus(lbaDesc{0, 4, mapped}, lbaDesc{4, 4, dealloc}, lbaDesc{8, 32, mapped},
				lbaDesc{40, 8, dealloc}, lbaDesc{48, 16, mapped})},
	})
}

// hugeBackend is a thin backend of 2^34 512-byte blocks that stores
// nothing: a hole of holeBytes, then data.
type hugeBackend struct {
	holeBytes int64
}

const hugeBytes = int64(1) << 43

func (h *hugeBackend) ReadAt(p []byte, off int64) (int, error) { clear(p); return len(p), nil }
func (h *hugeBackend) WriteAt(p []byte, _ int64) (int, error)  { return len(p), nil }
func (h *hugeBackend) Unmap(_, _ int64) error                  { return nil }
func (h *hugeBackend) Flush() error                            { return nil }
func (h *hugeBackend) Size() int64                             { return hugeBytes }
func (h *hugeBackend) Close() error                            { return nil }
func (h *hugeBackend) Caps() backends.Caps {
	return backends.Caps{Unmap: true, UnmapZeroes: true, Mapping: true}
}

func (h *hugeBackend) MappedExtent(off int64) (bool, int64, error) {
	if off < h.holeBytes {
		return false, h.holeBytes - off, nil
	}
	return true, hugeBytes - off, nil
}

// TestGetLBAStatusLongRuns: a run longer than a descriptor's 32-bit count
// takes several descriptors.
func TestGetLBAStatusLongRuns(t *testing.T) {
	const holeBlocks = 5_000_000_000
	d, err := NewDisk(testConfig(), &hugeBackend{holeBytes: holeBlocks * 512})
	if err != nil {
		t.Fatal(err)
	}
	cmd, b := runIn(d, getLBAStatusCDB(0, 1024), 1024)
	wantGood(t, cmd)
	const total = hugeBytes / 512
	want := []lbaDesc{
		{0, 0xffffffff, provisionDeallocated},
		{0xffffffff, holeBlocks - 0xffffffff, provisionDeallocated},
		{holeBlocks, 0xffffffff, provisionMapped},
		{holeBlocks + 0xffffffff, 0xffffffff, provisionMapped},
		{holeBlocks + 2*0xffffffff, uint32(total - holeBlocks - 2*0xffffffff), provisionMapped},
	}
	if got := parseLBAStatus(t, b); !slices.Equal(got, want) {
		t.Fatalf("descriptors %v, want %v", got, want)
	}
	// Room for one: the first 2^32-1 blocks.
	cmd, b = runIn(d, getLBAStatusCDB(0, 24), 1024)
	wantGood(t, cmd)
	if got := parseLBAStatus(t, b); !slices.Equal(got, want[:1]) {
		t.Fatalf("descriptors %v, want %v", got, want[:1])
	}
}

func TestNewDiskRejectsFalseMapping(t *testing.T) {
	b := struct{ backends.Backend }{newMemBackend(1<<20, mapCaps)}
	if _, err := NewDisk(DiskConfig{}, unmapOnly{b}); err == nil {
		t.Fatal("NewDisk accepted a backend that claims Mapping without MappedExtent")
	}
}

// unmapOnly implements Unmapper but not Mapper.
type unmapOnly struct{ backends.Backend }

func (unmapOnly) Unmap(_, _ int64) error { return nil }

// TestGetLBAStatusRealBackends writes, unmaps and queries through the SCSI
// layer over the ram, file, null and fault backends.
func TestGetLBAStatusRealBackends(t *testing.T) {
	const bs = 4096
	const blocks = 64
	for _, tc := range []struct {
		name, config string
		// after writing blocks 2..9 and 20..23, then unmapping 4..5 and
		// 21 with UNMAP and 30..39 with WRITE SAME(16) UNMAP
		want []lbaDesc
	}{
		{"ram", "ram/chunk=4k", nil},
		{"ram 16k chunks", "ram/chunk=16k", []lbaDesc{{0, 12, 0}, {12, 8, 1}, {20, 4, 0}, {24, 40, 1}}},
		{"file", "file/" + filepath.Join(t.TempDir(), "d.img"), nil},
		{"fault over ram", "fault/ram/chunk=4k;delay=0", nil},
		{"null", "null/", []lbaDesc{{0, blocks, 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := backends.Open(tc.config, blocks*bs, bs)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			caps := b.Caps()
			if !caps.Mapping || !caps.Unmap {
				t.Skipf("caps %+v: the backend cannot tell holes here", caps)
			}
			cfg := testConfig()
			cfg.BlockSize = bs
			d, err := NewDisk(cfg, b)
			if err != nil {
				t.Fatal(err)
			}
			// A fresh device is all deallocated.
			cmd, got := runIn(d, getLBAStatusCDB(0, 1024), 1024)
			wantGood(t, cmd)
			if descs := parseLBAStatus(t, got); !slices.Equal(descs, []lbaDesc{{0, blocks, 1}}) {
				t.Fatalf("fresh: %v", descs)
			}
			data := pattern(8*bs, 1)
			wantGood(t, run(d, 0, cdb16(opWrite16, 0, 2, 8), data))
			wantGood(t, run(d, 0, cdb16(opWrite16, 0, 20, 4), data[:4*bs]))
			wantGood(t, run(d, 0, unmapCDB(40), unmapList([2]uint64{4, 2}, [2]uint64{21, 1})))
			wantGood(t, run(d, 0, cdb16(opWriteSame16, 0x08, 30, 10), make([]byte, bs)))
			want := tc.want
			if want == nil {
				want = []lbaDesc{{0, 2, 1}, {2, 2, 0}, {4, 2, 1}, {6, 4, 0}, {10, 10, 1}, {20, 1, 0}, {21, 1, 1}, {22, 2, 0}, {24, 40, 1}}
			}
			cmd, got = runIn(d, getLBAStatusCDB(0, 1024), 1024)
			wantGood(t, cmd)
			if descs := parseLBAStatus(t, got); !slices.Equal(descs, want) {
				t.Fatalf("descriptors %v, want %v", descs, want)
			}
			// The data left mapped is intact, and the unmapped blocks read zero.
			read := make([]byte, 8*bs)
			wantGood(t, run(d, 0, cdb16(opRead16, 0, 2, 8), read))
			if tc.config != "null/" {
				if firstDifference(read[:2*bs], data[:2*bs]) >= 0 || !allZero(read[2*bs:4*bs]) || firstDifference(read[4*bs:], data[4*bs:]) >= 0 {
					t.Fatal("data after unmap")
				}
			}
			// From the middle, two descriptors.
			cmd, got = runIn(d, getLBAStatusCDB(5, 8+2*16), 1024)
			wantGood(t, cmd)
			if descs := parseLBAStatus(t, got); len(descs) > 2 || descs[0].lba != 5 {
				t.Fatalf("from 5: %v", descs)
			}
			// READ CAPACITY(16) and VPD b2 advertise provisioning.
			cmd, rc := runIn(d, readCapacity16CDB(32), 32)
			wantGood(t, cmd)
			cmd, b2 := runIn(d, inquiryCDB(true, 0xb2, 64), 64)
			wantGood(t, cmd)
			if rc[14]&0xc0 != 0xc0 || b2[5]&0x80 == 0 || b2[6] != 0x02 {
				t.Fatalf("LBPME/LBPRZ % x, VPD b2 % x", rc[14], b2[:8])
			}
			cmd, _ = runIn(d, getLBAStatusCDB(blocks, 1024), 1024)
			wantCheck(t, cmd, SenseKeyIllegalRequest, 0x21, 0x00)
		})
	}
}

// TestGetLBAStatusConcurrent queries a ram disk while other commands write,
// unmap and resize it: every answer is well formed and contiguous.
func TestGetLBAStatusConcurrent(t *testing.T) {
	const blocks = 256
	b, err := backends.Open("ram/chunk=4k", blocks*512, 512)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	d, err := NewDisk(testConfig(), b)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	errs := make(chan error, 3)
	go func() {
		defer func() { errs <- nil }()
		data := pattern(8*512, 3)
		for i := uint64(0); ; i++ {
			select {
			case <-done:
				return
			default:
			}
			lba := i * 8 % (blocks - 8)
			run(d, 1, cdb16(opWrite16, 0, lba, 8), data)
			run(d, 1, unmapCDB(24), unmapList([2]uint64{(lba + 64) % (blocks - 8), 8}))
		}
	}()
	go func() {
		defer func() { errs <- nil }()
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			if err := d.Resize(int64(blocks-i%2*64) * 512); err != nil {
				errs <- err
				return
			}
		}
	}()
	for range 2000 {
		buf := make([]byte, 1024)
		cmd := run(d, 2, getLBAStatusCDB(3, 1024), buf)
		if cmd.Status != StatusGood {
			// A capacity change is reported once per change.
			wantCheck(t, cmd, SenseKeyUnitAttention, 0x2a, 0x09)
			continue
		}
		descs := parseLBAStatus(t, buf[:cmd.ReadLen])
		next := uint64(3)
		for _, l := range descs {
			if l.lba != next || l.blocks == 0 || l.status > provisionDeallocated {
				t.Fatalf("descriptors %v", descs)
			}
			next += uint64(l.blocks)
		}
		if next > blocks || (len(descs) < 63 && next != blocks && next != blocks-64) {
			t.Fatalf("descriptors %v end at %d", descs, next)
		}
	}
	close(done)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkGetLBAStatus: a full answer (63 descriptors) over a 1 GiB ram
// disk whose first chunks alternate between written and not, and a query
// over a device with no holes at all.
func BenchmarkGetLBAStatus(b *testing.B) {
	for _, tc := range []struct {
		name      string
		alternate bool
	}{{"alternating chunks", true}, {"one run", false}} {
		b.Run(tc.name, func(b *testing.B) {
			be, err := backends.Open("ram/chunk=64k", 1<<30, 512)
			if err != nil {
				b.Fatal(err)
			}
			defer be.Close()
			chunk := make([]byte, 64<<10)
			for off := int64(0); off < 1<<30; off += 64 << 10 {
				if !tc.alternate || (off < 256<<20 && off/(64<<10)%2 == 0) {
					if _, err := be.WriteAt(chunk, off); err != nil {
						b.Fatal(err)
					}
				}
			}
			d, err := NewDisk(testConfig(), be)
			if err != nil {
				b.Fatal(err)
			}
			cmd := &Command{CDB: getLBAStatusCDB(0, 1024), Data: [][]byte{make([]byte, 1024)}}
			b.ReportAllocs()
			for b.Loop() {
				d.Execute(cmd)
			}
			if cmd.Status != StatusGood || cmd.ReadLen != 8+16*63 && tc.alternate {
				b.Fatalf("status %#x, %d bytes", cmd.Status, cmd.ReadLen)
			}
		})
	}
}
