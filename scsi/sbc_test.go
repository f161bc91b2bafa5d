package scsi

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/tcmsh/tcmsh/backends"
)

func preFetch10CDB(immed bool, lba uint32, n uint16) []byte {
	c := cdb10(opPreFetch10, 0, lba, n)
	if immed {
		c[1] = 0x02
	}
	return c
}

func sanitizeCDB(flags, sa byte, paramLen uint16) []byte {
	c := make([]byte, 10)
	c[0], c[1] = opSanitize, flags|sa
	binary.BigEndian.PutUint16(c[7:], paramLen)
	return c
}

func writeAtomicCDB(flags byte, lba uint64, boundary, n uint16) []byte {
	c := make([]byte, 16)
	c[0], c[1] = opWriteAtomic16, flags
	binary.BigEndian.PutUint64(c[2:], lba)
	binary.BigEndian.PutUint16(c[10:], boundary)
	binary.BigEndian.PutUint16(c[12:], n)
	return c
}

func readDefect10CDB(flags byte, alloc uint16) []byte {
	c := make([]byte, 10)
	c[0], c[2] = opReadDefectData10, flags
	binary.BigEndian.PutUint16(c[7:], alloc)
	return c
}

func readDefect12CDB(flags byte, alloc uint32) []byte {
	c := make([]byte, 12)
	c[0], c[1] = opReadDefectData12, flags
	binary.BigEndian.PutUint32(c[6:], alloc)
	return c
}

// overwriteParams is a SANITIZE OVERWRITE parameter list.
func overwriteParams(invert bool, passes byte, pat []byte) []byte {
	p := make([]byte, 4+len(pat))
	p[0] = passes
	if invert {
		p[0] |= 0x80
	}
	binary.BigEndian.PutUint16(p[2:], uint16(len(pat)))
	copy(p[4:], pat)
	return p
}

func TestVerifyAndWriteAndVerify12(t *testing.T) {
	stored := pattern(64*512, 3)
	preload := func(t *testing.T, _ *Disk, m *memBackend) { fill(m, 0, stored) }
	w := pattern(4*512, 8)
	runCases(t, []cmdCase{
		{name: "VERIFY(12) medium", setup: preload, cdb: cdb12(opVerify12, 0, 0, 64), in: 0},
		{name: "VERIFY(12) BYTCHK match", setup: preload, cdb: cdb12(opVerify12, 0x02, 8, 4), out: stored[8*512 : 12*512]},
		{name: "VERIFY(12) BYTCHK miscompare", setup: preload, cdb: cdb12(opVerify12, 0x02, 8, 4), out: w,
			key: SenseKeyMiscompare, asc: 0x1d, info: u64(0)},
		{name: "VERIFY(12) past the end", cdb: cdb12(opVerify12, 0, 60, 5), in: 0, key: SenseKeyIllegalRequest, asc: 0x21},
		{name: "VERIFY(12) wrapping", cdb: cdb12(opVerify12, 0, 0xffffffff, 2), in: 0, key: SenseKeyIllegalRequest, asc: 0x21},
		{name: "VERIFY(12) VRPROTECT", cdb: cdb12(opVerify12, 0x20, 0, 1), in: 0,
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 1, 5}},
		{name: "VERIFY(12) BYTCHK 10b", cdb: cdb12(opVerify12, 0x04, 0, 1), in: 0,
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 1, 2}},
		{name: "WRITE AND VERIFY(12)", cdb: cdb12(opWriteAndVerify12, 0x02, 20, 4), out: w,
			check: func(t *testing.T, _ []byte, _ *Command, m *memBackend) {
				if !bytes.Equal(m.snapshot()[20*512:24*512], w) {
					t.Fatal("not written")
				}
				if m.reads == 0 {
					t.Fatal("BYTCHK did not read back")
				}
			}},
		{name: "WRITE AND VERIFY(12) past the end", cdb: cdb12(opWriteAndVerify12, 0, 62, 4), out: w,
			key: SenseKeyIllegalRequest, asc: 0x21},
		{name: "WRITE AND VERIFY(12) WRPROTECT", cdb: cdb12(opWriteAndVerify12, 0x20, 0, 4), out: w,
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 1, 5}},
		{name: "WRITE AND VERIFY(12) above maximum", edit: func(c *DiskConfig) { c.MaxSectors = 2 },
			cdb: cdb12(opWriteAndVerify12, 0, 0, 4), out: w, key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 6, 7}},
	})
}

// prefetchBackend is a memBackend with a cache to prefetch into.
type prefetchBackend struct {
	*memBackend
	calls [][2]int64
}

func (p *prefetchBackend) Prefetch(off, length int64) (bool, error) {
	p.calls = append(p.calls, [2]int64{off, length})
	return true, nil
}

func TestPreFetch(t *testing.T) {
	// Without a cache: GOOD, nothing done.
	d, _ := newTestDisk(t, 64, thinCaps, nil)
	for _, cdb := range [][]byte{preFetch10CDB(false, 0, 8), preFetch10CDB(true, 60, 0), cdb16(opPreFetch16, 0x02, 63, 1)} {
		cmd := run(d, 0, cdb)
		wantGood(t, cmd)
	}
	for _, tc := range []struct {
		name string
		cdb  []byte
		key  byte
		asc  byte
		fld  *field
	}{
		{"past the end", preFetch10CDB(false, 60, 8), SenseKeyIllegalRequest, 0x21, nil},
		{"LBA past the end with length 0", preFetch10CDB(false, 65, 0), SenseKeyIllegalRequest, 0x21, nil},
		{"16 wrapping", cdb16(opPreFetch16, 0, ^uint64(0), 2), SenseKeyIllegalRequest, 0x21, nil},
		{"group number", func() []byte { c := preFetch10CDB(false, 0, 1); c[6] = 1; return c }(), SenseKeyIllegalRequest, 0x24, &field{true, 6, 0}},
		{"reserved bit", cdb10(opPreFetch10, 0x01, 0, 1), SenseKeyIllegalRequest, 0x24, &field{true, 1, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := wantCheck(t, run(d, 0, tc.cdb), tc.key, tc.asc, 0)
			if tc.fld != nil {
				wantField(t, p, tc.fld.inCDB, tc.fld.byteIndex, tc.fld.bit)
			}
		})
	}

	// With a cache: CONDITION MET, the range (to the end for length 0)
	// asked of the backend.
	pb := &prefetchBackend{memBackend: newMemBackend(64*512, thinCaps)}
	d, err := NewDisk(testConfig(), pb)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cdb  []byte
		want [2]int64
	}{
		{preFetch10CDB(false, 4, 8), [2]int64{4 * 512, 8 * 512}},
		{cdb16(opPreFetch16, 0, 60, 0), [2]int64{60 * 512, 4 * 512}},
	} {
		cmd := run(d, 0, tc.cdb)
		if cmd.Status != StatusConditionMet || cmd.SenseLen != 0 {
			t.Fatalf("status %#x, want CONDITION MET", cmd.Status)
		}
		if got := pb.calls[len(pb.calls)-1]; got != tc.want {
			t.Fatalf("prefetched %v, want %v", got, tc.want)
		}
	}
}

func TestReadDefectData(t *testing.T) {
	runCases(t, []cmdCase{
		{name: "10 both lists, long block format", cdb: readDefect10CDB(0x18|0x03, 64), in: 64,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if !bytes.Equal(b, []byte{0, 0x1b, 0, 0}) {
					t.Fatalf("got % x", b)
				}
			}},
		{name: "10 grown list only", cdb: readDefect10CDB(0x08, 64), in: 64,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if !bytes.Equal(b, []byte{0, 0x08, 0, 0}) {
					t.Fatalf("got % x", b)
				}
			}},
		{name: "10 allocation length 2", cdb: readDefect10CDB(0x10, 2), in: 64,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if len(b) != 2 {
					t.Fatalf("got % x", b)
				}
			}},
		{name: "10 reserved format", cdb: readDefect10CDB(0x07, 64), in: 64,
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 2, 2}},
		{name: "10 reserved byte", cdb: func() []byte { c := readDefect10CDB(0, 64); c[1] = 0x10; return c }(), in: 64,
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 1, 4}},
		{name: "12 physical sector format", cdb: readDefect12CDB(0x18|0x05, 64), in: 64,
			check: func(t *testing.T, b []byte, _ *Command, _ *memBackend) {
				if !bytes.Equal(b, []byte{0, 0x1d, 0, 0, 0, 0, 0, 0}) {
					t.Fatalf("got % x", b)
				}
			}},
		{name: "12 vendor format", cdb: readDefect12CDB(0x06, 64), in: 64,
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 1, 2}},
	})
}

func TestORWrite(t *testing.T) {
	stored := pattern(64*512, 5)
	preload := func(t *testing.T, _ *Disk, m *memBackend) { fill(m, 0, stored) }
	w := pattern(2*512, 11)
	runCases(t, []cmdCase{
		{name: "ORs the data in", setup: preload, cdb: cdb16(opORWrite16, 0, 10, 2), out: w,
			check: func(t *testing.T, _ []byte, _ *Command, m *memBackend) {
				got := m.snapshot()
				for i := 0; i < 1024; i++ {
					if got[10*512+i] != stored[10*512+i]|w[i] {
						t.Fatalf("byte %d: %#x, want %#x", i, got[10*512+i], stored[10*512+i]|w[i])
					}
				}
				if !bytes.Equal(got[12*512:13*512], stored[12*512:13*512]) {
					t.Fatal("the next block changed")
				}
			}},
		{name: "zero length", cdb: cdb16(opORWrite16, 0, 64, 0), out: []byte{}},
		{name: "past the end", cdb: cdb16(opORWrite16, 0, 63, 2), out: w, key: SenseKeyIllegalRequest, asc: 0x21},
		{name: "above maximum", edit: func(c *DiskConfig) { c.MaxSectors = 1 }, cdb: cdb16(opORWrite16, 0, 0, 2), out: w,
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 10, 7}},
		{name: "short data", cdb: cdb16(opORWrite16, 0, 0, 3), out: w, key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 10, 7}},
		{name: "ORPROTECT", cdb: cdb16(opORWrite16, 0x20, 0, 2), out: w, key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 1, 5}},
		{name: "read-only", caps: thinCapsReadOnly(), cdb: cdb16(opORWrite16, 0, 0, 2), out: w, key: SenseKeyDataProtect, asc: 0x27},
		{name: "read error", setup: func(t *testing.T, _ *Disk, m *memBackend) { m.readErr = errors.New("boom") },
			cdb: cdb16(opORWrite16, 0, 5, 2), out: w, key: SenseKeyMediumError, asc: 0x11, info: u64(5)},
	})
}

func thinCapsReadOnly() (c backends.Caps) {
	c = thinCaps
	c.ReadOnly = true
	return c
}

func TestWriteAtomic(t *testing.T) {
	w := pattern(8*512, 13)
	runCases(t, []cmdCase{
		{name: "eight blocks aligned", cdb: writeAtomicCDB(0x08, 16, 0, 8), out: w,
			check: func(t *testing.T, _ []byte, _ *Command, m *memBackend) {
				if !bytes.Equal(m.snapshot()[16*512:24*512], w) {
					t.Fatal("not written")
				}
				if m.fuaWrites+m.writes != 1 {
					t.Fatalf("%d writes: not one backend call", m.fuaWrites+m.writes)
				}
			}},
		{name: "misaligned", cdb: writeAtomicCDB(0, 3, 0, 1), out: w, key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 2, 7}},
		{name: "too long", cdb: writeAtomicCDB(0, 0, 0, 9), out: pattern(9*512, 1), key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 12, 7}},
		{name: "past the end", cdb: writeAtomicCDB(0, 64, 0, 8), out: w, key: SenseKeyIllegalRequest, asc: 0x21},
		{name: "atomic boundary", cdb: writeAtomicCDB(0, 0, 4, 8), out: w, key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 11, 2}},
		{name: "short data", cdb: writeAtomicCDB(0, 0, 0, 8), out: w[:512], key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 12, 7}},
		{name: "zero length", cdb: writeAtomicCDB(0, 8, 0, 0), out: []byte{}},
		{name: "4096-byte blocks: one block", edit: func(c *DiskConfig) { c.BlockSize = 4096 }, blocks: 8,
			cdb: writeAtomicCDB(0, 3, 0, 2), out: pattern(8192, 1), key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 12, 7}},
	})
}

func TestSanitize(t *testing.T) {
	stored := pattern(64*512, 7)
	preload := func(t *testing.T, _ *Disk, m *memBackend) { fill(m, 0, stored) }
	every := func(want func(i int) byte) func(*testing.T, []byte, *Command, *memBackend) {
		return func(t *testing.T, _ []byte, _ *Command, m *memBackend) {
			for i, b := range m.snapshot() {
				if b != want(i) {
					t.Fatalf("byte %d: %#x, want %#x", i, b, want(i))
				}
			}
			if m.flushes == 0 {
				t.Fatal("not flushed")
			}
		}
	}
	pat := []byte{0xa5, 0x0f, 0x33}
	runCases(t, []cmdCase{
		{name: "overwrite", setup: preload, cdb: sanitizeCDB(0, saSanitizeOverwrite, 7), out: overwriteParams(false, 2, pat),
			check: every(func(i int) byte { return pat[i%512%3] })},
		{name: "overwrite inverted, even passes", setup: preload, cdb: sanitizeCDB(0, saSanitizeOverwrite, 7),
			out: overwriteParams(true, 2, pat), check: every(func(i int) byte { return ^pat[i%512%3] })},
		{name: "overwrite inverted, odd passes", setup: preload, cdb: sanitizeCDB(0, saSanitizeOverwrite, 7),
			out: overwriteParams(true, 3, pat), check: every(func(i int) byte { return pat[i%512%3] })},
		{name: "block erase unmaps", caps: thinCaps, setup: preload, cdb: sanitizeCDB(0, saSanitizeBlockErase, 0), out: []byte{},
			check: func(t *testing.T, _ []byte, _ *Command, m *memBackend) {
				if !allZero(m.snapshot()) || m.unmaps == 0 {
					t.Fatalf("not erased by unmap (%d unmaps)", m.unmaps)
				}
			}},
		{name: "block erase zeroes", setup: preload, cdb: sanitizeCDB(0, saSanitizeBlockErase, 0), out: []byte{},
			check: every(func(int) byte { return 0 })},
		{name: "crypto erase unsupported", cdb: sanitizeCDB(0, 0x03, 0), out: []byte{},
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 1, 4}},
		{name: "block erase with parameters", cdb: sanitizeCDB(0, saSanitizeBlockErase, 8), out: make([]byte, 8),
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 7, 7}},
		{name: "overwrite without parameters", cdb: sanitizeCDB(0, saSanitizeOverwrite, 0), out: []byte{},
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 7, 7}},
		{name: "overwrite count 0", cdb: sanitizeCDB(0, saSanitizeOverwrite, 7), out: overwriteParams(false, 0, pat),
			key: SenseKeyIllegalRequest, asc: 0x26, field: &field{false, 0, 4}},
		{name: "overwrite pattern longer than a block", cdb: sanitizeCDB(0, saSanitizeOverwrite, 4+513), out: overwriteParams(false, 1, make([]byte, 513)),
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 7, 7}},
		{name: "overwrite pattern length disagrees", cdb: sanitizeCDB(0, saSanitizeOverwrite, 8), out: append(overwriteParams(false, 1, pat), 0),
			key: SenseKeyIllegalRequest, asc: 0x1a},
		{name: "overwrite test mode", cdb: sanitizeCDB(0, saSanitizeOverwrite, 7), out: overwriteParams(false, 0x21, pat),
			key: SenseKeyIllegalRequest, asc: 0x26, field: &field{false, 0, 6}},
		{name: "ZNR", cdb: sanitizeCDB(0x40, saSanitizeBlockErase, 0), out: []byte{},
			key: SenseKeyIllegalRequest, asc: 0x24, field: &field{true, 1, 6}},
		{name: "read-only", caps: thinCapsReadOnly(), cdb: sanitizeCDB(0, saSanitizeBlockErase, 0), out: []byte{},
			key: SenseKeyDataProtect, asc: 0x27},
		{name: "exit failure mode when not failed", cdb: sanitizeCDB(0, saSanitizeExitFailure, 0), out: []byte{}},
	})
}

// A sanitize that fails leaves the disk in sanitize failure mode: media
// access is MEDIUM ERROR, SANITIZE COMMAND FAILED until EXIT FAILURE MODE
// (when AUSE allowed it) or a sanitize that completes.
func TestSanitizeFailureMode(t *testing.T) {
	for _, ause := range []bool{false, true} {
		d, m := newTestDisk(t, 64, thinCaps, nil)
		m.writeErr = errors.New("disk on fire")
		flags := byte(0)
		if ause {
			flags = 0x20
		}
		pat := []byte{1}
		wantCheck(t, run(d, 0, sanitizeCDB(flags, saSanitizeOverwrite, 5), overwriteParams(false, 1, pat)), SenseKeyMediumError, 0x0c, 0)
		m.mu.Lock()
		m.writeErr = nil
		m.mu.Unlock()
		wantCheck(t, run(d, 0, cdb10(opRead10, 0, 0, 1), make([]byte, 512)), SenseKeyMediumError, 0x31, 0x03)
		cmd, b := runIn(d, []byte{opRequestSense, 0, 0, 0, 252, 0}, 252)
		wantGood(t, cmd)
		if b[2]&0x0f != SenseKeyMediumError || b[12] != 0x31 || b[13] != 0x03 {
			t.Fatalf("REQUEST SENSE % x", b[:18])
		}
		wantGood(t, run(d, 0, inquiryCDB(false, 0, 96), make([]byte, 96)))
		exit := run(d, 0, sanitizeCDB(0, saSanitizeExitFailure, 0))
		if !ause {
			wantCheck(t, exit, SenseKeyIllegalRequest, 0x24, 0)
			wantGood(t, run(d, 0, sanitizeCDB(0, saSanitizeBlockErase, 0)))
		} else {
			wantGood(t, exit)
		}
		wantGood(t, run(d, 0, cdb10(opRead10, 0, 0, 1), make([]byte, 512)))
	}
}

// With IMMED the sanitize runs on after GOOD; meanwhile commands are NOT
// READY, SANITIZE IN PROGRESS with a progress indication, and REQUEST SENSE
// reports the progress.
func TestSanitizeImmediate(t *testing.T) {
	m := newMemBackend(64*512, thinCaps)
	release := make(chan struct{})
	gate := &gatedBackend{memBackend: m, gate: release}
	d, err := NewDisk(testConfig(), gate)
	if err != nil {
		t.Fatal(err)
	}
	wantGood(t, run(d, 0, sanitizeCDB(0x80, saSanitizeBlockErase, 0)))
	p := wantCheck(t, run(d, 0, cdb10(opRead10, 0, 0, 1), make([]byte, 512)), SenseKeyNotReady, 0x04, 0x1b)
	if !p.sksValid {
		t.Fatal("no progress indication")
	}
	cmd, b := runIn(d, []byte{opRequestSense, 0, 0, 0, 252, 0}, 252)
	wantGood(t, cmd)
	if b[2]&0x0f != SenseKeyNotReady || b[12] != 0x04 || b[13] != 0x1b || b[15]&0x80 == 0 {
		t.Fatalf("REQUEST SENSE % x", b[:18])
	}
	wantGood(t, run(d, 0, inquiryCDB(false, 0, 96), make([]byte, 96)))
	close(release)
	deadline := time.Now().Add(10 * time.Second)
	for {
		cmd := run(d, 0, []byte{opTestUnitReady, 0, 0, 0, 0, 0})
		if cmd.Status == StatusGood {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("sanitize did not finish")
		}
		time.Sleep(time.Millisecond)
	}
	if !allZero(m.snapshot()) {
		t.Fatal("not erased")
	}
}

// gatedBackend holds every unmap and zeroing until gate is closed.
type gatedBackend struct {
	*memBackend
	gate chan struct{}
}

func (g *gatedBackend) Unmap(off, n int64) error {
	<-g.gate
	return g.memBackend.Unmap(off, n)
}

func (g *gatedBackend) WriteZeroes(off, n int64) error {
	<-g.gate
	return g.memBackend.WriteZeroes(off, n)
}
