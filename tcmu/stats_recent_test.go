package tcmu

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// recentRecord is the completion of number k in the tests below: every
// field of the record derives from k, so a record mixed from two writers
// shows.
func recentRecord(k uint64) completion {
	end := clock.tick0 + int64(k)<<finishedShift
	return completion{
		opcode: byte(k), status: byte(k>>8) & 0x3e,
		lba: k * 8, dataBytes: k % 4096 * 512,
		start: end - 1000, end: end,
	}
}

func checkRecent(t *testing.T, c RecentCommand) uint64 {
	t.Helper()
	k := uint64(c.finished-clock.tick0) >> finishedShift
	want := recentRecord(k)
	if c.Opcode != want.opcode || c.Status != want.status || c.LBA != want.lba || c.Length != want.dataBytes ||
		c.Latency != time.Duration(ticksToNS(1000)) {
		t.Fatalf("entry %+v is not record %d", c, k)
	}
	return k
}

func TestRecentEntryTornIsLeftOut(t *testing.T) {
	initClock()
	var e recentEntry
	if _, ok := e.read(0); ok {
		t.Fatal("an entry never written reads as position 0")
	}
	c := recentRecord(5)
	e.write(5, &c, 7)
	got, ok := e.read(5)
	if !ok || got.Opcode != 5 || got.LBA != 40 || got.Latency != 7 {
		t.Fatalf("read(5) = %+v, %v", got, ok)
	}
	if _, ok := e.read(5 + recentLogSize); ok {
		t.Fatal("position 5 read as the position a lap later")
	}
	// A writer a lap ahead has stored two of its four words.
	next := recentRecord(5 + recentLogSize)
	tag := recentTag(5 + recentLogSize)
	e.words[0].Store(tag | next.lba)
	e.words[2].Store(tag | 9)
	for _, n := range []uint64{5, 5 + recentLogSize} {
		if got, ok := e.read(n); ok {
			t.Fatalf("torn entry read as position %d: %+v", n, got)
		}
	}
	e.write(5+recentLogSize, &next, 9)
	if got, ok := e.read(5 + recentLogSize); !ok || got.LBA != next.lba || got.Latency != 9 {
		t.Fatalf("rewritten entry: %+v, %v", got, ok)
	}
}

// TestRecentLogConcurrent: writers on shared shards and readers taking
// snapshots meanwhile; every entry a reader gets is one record whole, in
// order, and once the writers are done the log holds exactly the newest
// recentLogSize commands. Run with -race.
func TestRecentLogConcurrent(t *testing.T) {
	st := newStats(4)
	var next atomic.Uint64
	const writers, perWriter = 8, 5000
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perWriter {
				c := recentRecord(next.Add(1))
				st.complete(w, &c)
			}
		}()
	}
	stop := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			s := st.Snapshot()
			if len(s.Recent) > recentLogSize {
				t.Errorf("%d recent commands", len(s.Recent))
				return
			}
			var last uint64
			for _, c := range s.Recent {
				k := checkRecent(t, c)
				if k <= last {
					t.Errorf("recent log out of order: %d after %d", k, last)
					return
				}
				last = k
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-readerDone

	// One writer after the others: the log is its newest commands.
	for range recentLogSize {
		c := recentRecord(next.Add(1))
		st.complete(1, &c)
	}
	s := st.Snapshot()
	if len(s.Recent) != recentLogSize {
		t.Fatalf("%d recent commands", len(s.Recent))
	}
	total := next.Load()
	for i, c := range s.Recent {
		if k := checkRecent(t, c); k != total-recentLogSize+1+uint64(i) {
			t.Fatalf("entry %d is record %d, want %d", i, k, total-recentLogSize+1+uint64(i))
		}
	}
	if s.Commands != total {
		t.Errorf("%d commands counted, want %d", s.Commands, total)
	}
}

// TestTicksToNS: the statistics clock's ticks convert to the monotonic
// clock's nanoseconds. The bound is loose: it tells a wrong ratio (a
// factor) from a right one, and tolerates a preempted read.
func TestTicksToNS(t *testing.T) {
	initClock()
	if got := ticksToNS(-5); got != 0 {
		t.Errorf("ticksToNS(-5) = %d", got)
	}
	if !clock.tsc {
		if got := ticksToNS(123456789); got != 123456789 {
			t.Errorf("ticksToNS is not the identity without the TSC: %d", got)
		}
		t.Skip("statistics clock is nanotime here")
	}
	var err float64
	for range 5 {
		n0, c0 := nanotime(), ticks()
		time.Sleep(20 * time.Millisecond)
		n1, c1 := nanotime(), ticks()
		d := float64(n1 - n0)
		err = (float64(ticksToNS(c1-c0)) - d) / d
		if err > -0.01 && err < 0.01 {
			return
		}
	}
	t.Errorf("an interval in ticks converts %.2f %% off the monotonic clock", err*100)
}
