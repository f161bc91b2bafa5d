package scsi

import (
	"bytes"
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/tcmsh/tcmsh/backends"
)

// TestCompareAndWriteCounter increments counters with COMPARE AND WRITE
// from many goroutines at once: no increment may be lost.
func TestCompareAndWriteCounter(t *testing.T) {
	d, m := newTestDisk(t, 8192, backends.Caps{}, nil)
	const workers, increments = 8, 200
	// Two counters in the same stripe and one in another stripe.
	counters := []uint64{5, 6, 4000}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			lba := counters[w%len(counters)]
			block := make([]byte, 512)
			for done := 0; done < increments; {
				cmd := run(d, uint32(w), cdb10(opRead10, 0, uint32(lba), 1), block)
				if cmd.Status != StatusGood {
					t.Errorf("READ status %#x", cmd.Status)
					return
				}
				v := binary.BigEndian.Uint64(block)
				data := make([]byte, 1024)
				copy(data, block)
				binary.BigEndian.PutUint64(data[512:], v+1)
				cmd = run(d, uint32(w), cawCDB(0, lba, 1), data)
				switch {
				case cmd.Status == StatusGood:
					done++
				case cmd.Status == StatusCheckCondition && cmd.Sense[2]&0x0f == SenseKeyMiscompare:
					// Someone else got there first: read again.
				default:
					t.Errorf("COMPARE AND WRITE status %#x sense % x", cmd.Status, cmd.Sense[:cmd.SenseLen])
					return
				}
			}
		}(w)
	}
	wg.Wait()
	got := m.snapshot()
	var sum uint64
	for _, lba := range counters {
		sum += binary.BigEndian.Uint64(got[lba*512:])
	}
	if sum != workers*increments {
		t.Fatalf("counters sum to %d, want %d: increments were lost", sum, workers*increments)
	}
}

// TestCompareAndWriteExcludesWrites holds a COMPARE AND WRITE between its
// read and its write while a WRITE to the same block is issued: the WRITE
// must land after the COMPARE AND WRITE, so its data is what remains.
func TestCompareAndWriteExcludesWrites(t *testing.T) {
	d, m := newTestDisk(t, 64, backends.Caps{}, nil)
	x, y, z := pattern(512, 1), pattern(512, 2), pattern(512, 3)
	fill(m, 9, x)

	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	m.readHook = func() {
		once.Do(func() {
			close(entered)
			<-release
		})
	}
	cawDone := make(chan *Command)
	go func() { cawDone <- run(d, 1, cawCDB(0, 9, 1), append(append([]byte(nil), x...), z...)) }()
	<-entered
	writeDone := make(chan *Command)
	go func() { writeDone <- run(d, 2, cdb10(opWrite10, 0, 9, 1), y) }()
	// Give the WRITE every chance to overtake; with the range locks it
	// cannot, whatever the timing.
	time.Sleep(20 * time.Millisecond)
	close(release)
	wantGood(t, <-cawDone)
	wantGood(t, <-writeDone)
	if got := m.snapshot()[9*512 : 10*512]; !bytes.Equal(got, y) {
		if bytes.Equal(got, z) {
			t.Fatal("the WRITE ran inside the COMPARE AND WRITE: its data was overwritten")
		}
		t.Fatal("block holds neither write")
	}
}

// TestConcurrentIO runs reads and writes of disjoint and overlapping ranges
// from many goroutines (for the race detector) and checks every read sees
// a whole block of one writer.
func TestConcurrentIO(t *testing.T) {
	d, _ := newTestDisk(t, 4096, thinCaps, nil)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			buf := make([]byte, 8*512)
			for i := 0; i < 200; i++ {
				lba := uint32((i*37 + w*512) % 4088)
				var cmd *Command
				switch i % 4 {
				case 0:
					cmd = run(d, uint32(w), cdb10(opWrite10, 0x08, lba, 8), bytes.Repeat([]byte{byte(w)}, len(buf)))
				case 1:
					cmd = run(d, uint32(w), cdb10(opRead10, 0, lba, 8), buf[:4096], buf[4096:])
				case 2:
					cmd = run(d, uint32(w), cdb16(opWriteSame16, 0x08, uint64(lba), 8), make([]byte, 512))
				default:
					cmd = run(d, uint32(w), unmapCDB(24), unmapList([2]uint64{uint64(lba), 4}))
				}
				if cmd.Status != StatusGood {
					t.Errorf("status %#x sense % x", cmd.Status, cmd.Sense[:cmd.SenseLen])
					return
				}
			}
		}(w)
	}
	wg.Wait()
}

func TestSpanOrdersStripes(t *testing.T) {
	for _, tc := range []struct {
		lba, n             uint64
		lo1, hi1, lo2, hi2 int
	}{
		{0, 1, 0, 0, 1, 0},
		{stripeBlocks - 1, 2, 0, 1, 1, 0},
		{63 * stripeBlocks, stripeBlocks + 1, 0, 0, 63, 63},
		{5, 64 * stripeBlocks, 0, 63, 1, 0},
		{^uint64(0) - 1, 10, 0, 63, 1, 0},
	} {
		lo1, hi1, lo2, hi2 := span(tc.lba, tc.n)
		if lo1 != tc.lo1 || hi1 != tc.hi1 || lo2 != tc.lo2 || hi2 != tc.hi2 {
			t.Errorf("span(%d, %d) = %d..%d, %d..%d; want %d..%d, %d..%d", tc.lba, tc.n, lo1, hi1, lo2, hi2, tc.lo1, tc.hi1, tc.lo2, tc.hi2)
		}
	}
}

// TestResizeDuringIO shrinks and grows the disk while commands run over
// the whole of its largest size: each command either completes or is
// refused (LBA OUT OF RANGE, CAPACITY DATA HAS CHANGED), and the backend is
// never accessed past its current size (the test backend records that).
func TestResizeDuringIO(t *testing.T) {
	d, _ := newTestDisk(t, 128, thinCaps, nil)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			buf := make([]byte, 8*512)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				lba := uint32((i*8 + w*24) % 120)
				var cmd *Command
				switch i % 3 {
				case 0:
					cmd = run(d, uint32(w), cdb10(opRead10, 0, lba, 8), buf)
				case 1:
					cmd = run(d, uint32(w), cdb10(opWrite10, 0, lba, 8), buf)
				default:
					cmd = run(d, uint32(w), cdb16(opWriteSame16, 0x08, uint64(lba), 8), make([]byte, 512))
				}
				if cmd.Status == StatusGood {
					continue
				}
				p, err := parseSense(cmd.Sense[:cmd.SenseLen])
				if err != nil || !(p.asc == 0x21 || p.asc == 0x2a && p.ascq == 0x09) {
					t.Errorf("status %#x sense % x", cmd.Status, cmd.Sense[:cmd.SenseLen])
					return
				}
			}
		}(w)
	}
	for i := 0; i < 200; i++ {
		size := int64(64 * 512)
		if i%2 == 1 {
			size = 128 * 512
		}
		if err := d.Resize(size); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
}
