package scsi

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/tcmsh/tcmsh/backends"
)

// vecBackend is a memBackend that also reads and writes buffer lists
// (backends.VectorIO), counting those calls.
type vecBackend struct {
	*memBackend
	readvs, writevs, fuaWritevs int
	readvErr, writevErr         error
	// short makes ReadvAt stop after that many bytes (with io.EOF); 0: off.
	short int
}

func (v *vecBackend) ReadvAt(bufs [][]byte, off int64) (int, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.readvs++
	if v.readvErr != nil {
		return 0, v.readvErr
	}
	done := 0
	for _, p := range bufs {
		if !v.check("readv", off+int64(done), int64(len(p))) {
			return done, errors.New("out of range")
		}
		n := copy(p, v.data[off+int64(done):])
		if v.short > 0 && done+n >= v.short {
			return v.short, io.EOF
		}
		done += n
	}
	return done, nil
}

func (v *vecBackend) WritevAt(bufs [][]byte, off int64, fua bool) (int, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.writevs++
	if fua {
		v.fuaWritevs++
		if !v.caps.FUA {
			v.violations = append(v.violations, "WritevAt with fua without the FUA capability")
		}
	}
	if v.writevErr != nil {
		return 0, v.writevErr
	}
	done := 0
	for _, p := range bufs {
		n, err := v.writeLocked(p, off+int64(done))
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

func newVecDisk(t testing.TB, blocks int64, caps backends.Caps) (*Disk, *vecBackend) {
	t.Helper()
	v := &vecBackend{memBackend: newMemBackend(blocks*512, caps)}
	d, err := NewDisk(testConfig(), v)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.assertClean(t) })
	return d, v
}

func TestVectorIO(t *testing.T) {
	data := pattern(8*512, 4)
	three := func(p []byte) [][]byte { return [][]byte{p[:1024], p[1024:1024], p[1024:3072], p[3072:]} }
	for _, caps := range []backends.Caps{{}, thinCaps} {
		d, v := newVecDisk(t, 64, caps)
		// WRITE(10) of 8 blocks in buffers that hold exactly 8 blocks:
		// one WritevAt, no WriteAt.
		if cmd := run(d, 0, cdb10(opWrite10, 0, 16, 8), three(bytes.Clone(data))...); cmd.Status != StatusGood {
			t.Fatalf("caps %+v: WRITE status %#x", caps, cmd.Status)
		}
		if v.writevs != 1 || v.writes != 0 || v.fuaWritevs != 0 {
			t.Fatalf("caps %+v: %d WritevAt (%d FUA), %d WriteAt; want 1, 0, 0", caps, v.writevs, v.fuaWritevs, v.writes)
		}
		if !bytes.Equal(v.data[16*512:24*512], data) {
			t.Fatal("WRITE through WritevAt stored different data")
		}
		back := make([]byte, len(data))
		cmd := run(d, 0, cdb10(opRead10, 0, 16, 8), three(back)...)
		if cmd.Status != StatusGood || cmd.ReadLen != len(data) || !bytes.Equal(back, data) {
			t.Fatalf("READ through ReadvAt: status %#x, ReadLen %d, same data %v", cmd.Status, cmd.ReadLen, bytes.Equal(back, data))
		}
		if v.readvs != 1 || v.reads != 0 {
			t.Fatalf("%d ReadvAt, %d ReadAt; want 1 and 0", v.readvs, v.reads)
		}
		// FUA: the backend's own when it has the capability, else a
		// write then a flush.
		flushes := v.flushes
		if cmd := run(d, 0, cdb10(opWrite10, 0x08, 16, 8), three(bytes.Clone(data))...); cmd.Status != StatusGood {
			t.Fatalf("caps %+v: WRITE FUA status %#x", caps, cmd.Status)
		}
		if caps.FUA && (v.fuaWritevs != 1 || v.flushes != flushes) {
			t.Fatalf("FUA backend: %d FUA WritevAt, %d flushes; want 1 and none", v.fuaWritevs, v.flushes-flushes)
		}
		if !caps.FUA && (v.fuaWritevs != 0 || v.flushes != flushes+1) {
			t.Fatalf("no FUA: %d FUA WritevAt, %d flushes; want 0 and 1", v.fuaWritevs, v.flushes-flushes)
		}
		// Buffers larger than the transfer: the buffer-by-buffer path,
		// which fills what the transfer holds.
		big := make([]byte, len(data)+512)
		cmd = run(d, 0, cdb10(opRead10, 0, 16, 8), big[:512], big[512:])
		if cmd.Status != StatusGood || cmd.ReadLen != len(data) || !bytes.Equal(big[:len(data)], data) || v.readvs != 1 {
			t.Fatalf("READ into larger buffers: status %#x, ReadLen %d, %d ReadvAt", cmd.Status, cmd.ReadLen, v.readvs)
		}
		cmd = run(d, 0, cdb10(opWrite10, 0, 16, 8), bytes.Clone(big))
		if cmd.Status != StatusGood || v.writevs != 2 || v.writes == 0 {
			t.Fatalf("WRITE from larger buffers: status %#x, %d WritevAt, %d WriteAt", cmd.Status, v.writevs, v.writes)
		}
	}
}

func TestVectorIOErrors(t *testing.T) {
	d, v := newVecDisk(t, 64, thinCaps)
	buf := make([]byte, 4*512)
	check := func(cmd *Command, key, asc byte, info uint64) {
		t.Helper()
		s, err := parseSense(cmd.Sense[:cmd.SenseLen])
		if err != nil || cmd.Status != StatusCheckCondition || s.key != key || s.asc != asc {
			t.Fatalf("status %#x sense %+v (%v); want key %#x asc %#x", cmd.Status, s, err, key, asc)
		}
		if info != 0 && (!s.infoValid || s.info != info) {
			t.Fatalf("sense information %d (valid %v), want %d", s.info, s.infoValid, info)
		}
	}
	v.readvErr = errors.New("boom")
	check(run(d, 0, cdb10(opRead10, 0, 5, 4), buf[:512], buf[512:]), SenseKeyMediumError, 0x11, 5)
	v.readvErr = nil
	// A short read (the storage ended early): the LBA where it stopped.
	v.short = 1024
	check(run(d, 0, cdb10(opRead10, 0, 5, 4), buf[:512], buf[512:]), SenseKeyMediumError, 0x11, 7)
	v.short = 0
	v.writevErr = errors.New("boom")
	check(run(d, 0, cdb10(opWrite10, 0, 6, 4), buf[:512], buf[512:]), SenseKeyMediumError, 0x0c, 6)
	v.writevErr = syscall.ENOSPC
	check(run(d, 0, cdb10(opWrite10, 0, 6, 4), buf[:512], buf[512:]), SenseKeyDataProtect, 0x27, 0)
	v.writevErr = nil
	// Out of range: refused before the backend is called.
	calls := v.readvs
	check(run(d, 0, cdb10(opRead10, 0, 62, 4), buf[:512], buf[512:]), SenseKeyIllegalRequest, 0x21, 0)
	if v.readvs != calls {
		t.Fatal("an out-of-range READ reached the backend")
	}
}

// TestVectorFileBackend runs READ and WRITE through a file backend's
// preadv and pwritev with a TCMU-like list of page buffers: the data comes
// back, and nothing is allocated per command.
func TestVectorFileBackend(t *testing.T) {
	b, err := backends.Open("file/"+filepath.Join(t.TempDir(), "d.img"), 4<<20, 512)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, ok := b.(backends.VectorIO); !ok {
		t.Fatal("the file backend does not implement VectorIO")
	}
	d, err := NewDisk(testConfig(), b)
	if err != nil {
		t.Fatal(err)
	}
	const pages = 128 // 512 KiB, more pages than one preadv takes here
	data := pattern(pages*4096, 8)
	out := make([][]byte, pages)
	back := make([]byte, len(data))
	in := make([][]byte, pages)
	for i := range out {
		out[i] = data[i*4096 : (i+1)*4096]
		in[i] = back[i*4096 : (i+1)*4096]
	}
	for _, cdb := range [][]byte{cdb10(opWrite10, 0, 40, pages*8), cdb10(opWrite10, 0x08, 2000, pages*8)} {
		if cmd := run(d, 0, cdb, out...); cmd.Status != StatusGood {
			t.Fatalf("WRITE status %#x", cmd.Status)
		}
		lba := cdb[2:6]
		cmd := run(d, 0, cdb10(opRead10, 0, uint32(lba[0])<<24|uint32(lba[1])<<16|uint32(lba[2])<<8|uint32(lba[3]), pages*8), in...)
		if cmd.Status != StatusGood || !bytes.Equal(back, data) {
			t.Fatalf("READ status %#x, same data %v", cmd.Status, bytes.Equal(back, data))
		}
	}
	if raceEnabled {
		return
	}
	read := &Command{CDB: cdb10(opRead10, 0, 40, pages*8), Data: in}
	write := &Command{CDB: cdb10(opWrite10, 0x08, 40, pages*8), Data: out}
	if n := testing.AllocsPerRun(20, func() { d.Execute(write); d.Execute(read) }); n != 0 {
		t.Fatalf("%v allocations per WRITE FUA + READ of %d pages through a file", n, pages)
	}
}
