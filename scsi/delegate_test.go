package scsi

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/tcmsh/tcmsh/backends"
)

// clusterBackend is a memBackend that, like RBD, compares-and-writes and
// writes patterns itself: it records what reached it, so that the tests
// can tell the disk delegated rather than emulated.
type clusterBackend struct {
	*memBackend
	cawCalls, sameCalls int
	cawErr              error // returned instead of comparing, when set
	lastPattern         []byte
}

func (c *clusterBackend) CompareAndWrite(cmp, data []byte, off int64) error {
	c.cawCalls++
	if c.cawErr != nil {
		return c.cawErr
	}
	have := make([]byte, len(cmp))
	if _, err := c.ReadAt(have, off); err != nil {
		return err
	}
	for i := range cmp {
		if have[i] != cmp[i] {
			return &backends.MiscompareError{Offset: int64(i)}
		}
	}
	_, err := c.WriteAt(data, off)
	return err
}

func (c *clusterBackend) WriteSame(pattern []byte, off, length int64) error {
	c.sameCalls++
	c.lastPattern = append([]byte(nil), pattern...)
	for done := int64(0); done < length; done += int64(len(pattern)) {
		if _, err := c.WriteAt(pattern, off+done); err != nil {
			return err
		}
	}
	return nil
}

func newClusterDisk(t *testing.T, caps backends.Caps) (*Disk, *clusterBackend) {
	t.Helper()
	m := newMemBackend(64*512, caps)
	cb := &clusterBackend{memBackend: m}
	d, err := NewDisk(testConfig(), cb)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.assertClean(t) })
	return d, cb
}

// TestCompareAndWriteDelegated: a backend's CompareAndWriter does COMPARE
// AND WRITE (atomic in the storage); the disk falls back to its own
// compare and write only when the backend says it cannot.
func TestCompareAndWriteDelegated(t *testing.T) {
	stored := pattern(64*512, 1)
	newData := pattern(512, 200)
	match := append(append([]byte(nil), stored[2*512:3*512]...), newData...)
	mismatch := append([]byte(nil), match...)
	mismatch[77] ^= 1
	tests := []struct {
		name      string
		cawErr    error
		out       []byte
		wantKey   byte
		wantASC   byte
		wantASCQ  byte
		wantInfo  uint64
		wantCalls int
		wantData  []byte // at block 2 afterwards
	}{
		{name: "match", out: match, wantCalls: 1, wantData: newData},
		{name: "miscompare", out: mismatch, wantKey: SenseKeyMiscompare, wantASC: 0x1d, wantInfo: 77, wantCalls: 1, wantData: stored[2*512 : 3*512]},
		{name: "unsupported falls back", cawErr: fmt.Errorf("two objects: %w", errors.ErrUnsupported), out: match, wantCalls: 1, wantData: newData},
		{name: "unsupported falls back, miscompare", cawErr: errors.ErrUnsupported, out: mismatch, wantKey: SenseKeyMiscompare, wantASC: 0x1d, wantInfo: 77, wantCalls: 1, wantData: stored[2*512 : 3*512]},
		{name: "cluster timeout is retryable", out: match, wantCalls: 1, wantData: stored[2*512 : 3*512],
			cawErr:  &backends.SenseError{Key: backends.SenseKeyAbortedCommand, ASC: 0x08, ASCQ: 0x01},
			wantKey: SenseKeyAbortedCommand, wantASC: 0x08, wantASCQ: 0x01},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, cb := newClusterDisk(t, backends.Caps{AtomicCompareAndWrite: 512})
			fill(cb.memBackend, 0, stored)
			cb.cawErr = tt.cawErr
			cmd := run(d, 0, cawCDB(0, 2, 1), tt.out)
			if tt.wantKey == 0 {
				wantGood(t, cmd)
			} else {
				p := wantCheck(t, cmd, tt.wantKey, tt.wantASC, tt.wantASCQ)
				if tt.wantKey == SenseKeyMiscompare && (!p.infoValid || p.info != tt.wantInfo) {
					t.Fatalf("miscompare info %v %d, want %d", p.infoValid, p.info, tt.wantInfo)
				}
			}
			if cb.cawCalls != tt.wantCalls {
				t.Fatalf("%d CompareAndWrite calls, want %d", cb.cawCalls, tt.wantCalls)
			}
			if got := cb.snapshot()[2*512 : 3*512]; !bytes.Equal(got, tt.wantData) {
				t.Fatal("wrong data at block 2")
			}
		})
	}
}

// TestCompareAndWriteLimit: VPD b0 advertises no more than the backend
// does atomically, and a longer request is refused.
func TestCompareAndWriteLimit(t *testing.T) {
	tests := []struct {
		name   string
		atomic int64
		want   byte
	}{
		{"one sector", 512, 1},
		{"four sectors", 2048, 4},
		{"below a block: the disk's own", 256, 255},
		{"none: the disk's own", 0, 255},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := newClusterDisk(t, backends.Caps{AtomicCompareAndWrite: tt.atomic})
			cmd, data := runIn(d, inquiryCDB(true, 0xb0, 64), 64)
			wantGood(t, cmd)
			// MaxSectors is 1024 in testConfig; the SBC limit is 255.
			if got := data[5]; got != tt.want {
				t.Fatalf("MAXIMUM COMPARE AND WRITE LENGTH %d, want %d", got, tt.want)
			}
			if tt.want < 255 {
				wantCheck(t, run(d, 0, cawCDB(0, 0, tt.want+1), make([]byte, 2*512*(int(tt.want)+1))), SenseKeyIllegalRequest, 0x24, 0)
			}
		})
	}
}

// TestWriteSameDelegated: WRITE SAME with a non-zero block goes to the
// backend's SameWriter as one call; zeroes still take the zeroing path.
func TestWriteSameDelegated(t *testing.T) {
	block := pattern(512, 9)
	tests := []struct {
		name      string
		out       []byte
		unmap     bool
		wantCalls int
		want      []byte
	}{
		{name: "pattern", out: block, wantCalls: 1, want: bytes.Repeat(block, 8)},
		{name: "zeroes", out: make([]byte, 512), wantCalls: 0, want: make([]byte, 8*512)},
		{name: "zeroes with unmap", out: make([]byte, 512), unmap: true, wantCalls: 0, want: make([]byte, 8*512)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, cb := newClusterDisk(t, backends.Caps{Unmap: true, WriteZeroes: true})
			fill(cb.memBackend, 0, pattern(64*512, 3))
			var flags byte
			if tt.unmap {
				flags = 0x08
			}
			c := cdb16(opWriteSame16, flags, 4, 8)
			wantGood(t, run(d, 0, c, tt.out))
			if cb.sameCalls != tt.wantCalls {
				t.Fatalf("%d WriteSame calls, want %d", cb.sameCalls, tt.wantCalls)
			}
			if tt.wantCalls > 0 && !bytes.Equal(cb.lastPattern, block) {
				t.Fatal("WriteSame got another pattern")
			}
			if got := cb.snapshot()[4*512 : 12*512]; !bytes.Equal(got, tt.want) {
				t.Fatalf("blocks 4-11 hold %x…", got[:8])
			}
		})
	}
}
