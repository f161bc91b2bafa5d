package backends

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

func openFault(t testing.TB, config string) *faultBackend {
	t.Helper()
	b, err := Open(config, 1<<20, 512)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	fb := b.(*faultBackend)
	fb.sleep = func(d time.Duration) { t.Fatalf("unexpected wait of %v", d) }
	return fb
}

func senseOf(err error) (SenseError, bool) {
	var se *SenseError
	if !errors.As(err, &se) {
		return SenseError{}, false
	}
	return SenseError{Key: se.Key, ASC: se.ASC, ASCQ: se.ASCQ}, true
}

// failures counts failed reads among n.
func failures(t *testing.T, b Backend, n int) int {
	t.Helper()
	p := make([]byte, 512)
	failed := 0
	for range n {
		if _, err := b.ReadAt(p, 0); err != nil {
			if _, ok := senseOf(err); !ok {
				t.Fatalf("injected error is not a SenseError: %v", err)
			}
			failed++
		}
	}
	return failed
}

func TestFaultErrorRate(t *testing.T) {
	const n = 20000
	for _, rate := range []float64{0, 0.01, 0.1, 0.5, 1} {
		b := openFault(t, "fault/null/;seed=42;error_rate="+strconv.FormatFloat(rate, 'g', -1, 64))
		got := float64(failures(t, b, n)) / n
		// Four standard deviations of a binomial proportion: a fixed
		// seed makes the count exact, this bounds any seed.
		tol := 4*math.Sqrt(rate*(1-rate)/n) + 1e-9
		if math.Abs(got-rate) > tol {
			t.Errorf("error_rate=%v: observed %v over %d reads (tolerance %v)", rate, got, n, tol)
		}
	}
}

func TestFaultSeedRepeats(t *testing.T) {
	run := func(config string) []bool {
		b := openFault(t, config)
		var out []bool
		p := make([]byte, 512)
		for range 1000 {
			_, err := b.ReadAt(p, 0)
			out = append(out, err != nil)
		}
		return out
	}
	a, b := run("fault/ram/;error_rate=0.3;seed=7"), run("fault/ram/;error_rate=0.3;seed=7")
	c := run("fault/ram/;error_rate=0.3;seed=8")
	if !equalBools(a, b) {
		t.Fatal("the same seed gave different failures")
	}
	if equalBools(a, c) {
		t.Fatal("different seeds gave the same 1000 failures")
	}
}

func equalBools(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestFaultFailAfter(t *testing.T) {
	b := openFault(t, "fault/ram/;fail_after=5;sense=not_ready")
	p := make([]byte, 512)
	for i := 1; i <= 8; i++ {
		var err error
		if i%2 == 0 {
			_, err = b.WriteAt(p, 0)
		} else {
			_, err = b.ReadAt(p, 0)
		}
		se, isSense := senseOf(err)
		switch {
		case i <= 5 && err != nil:
			t.Fatalf("operation %d failed: %v", i, err)
		case i > 5 && (!isSense || se != SenseError{Key: 2, ASC: 4}):
			t.Fatalf("operation %d: %v, want NOT READY 02/04/00", i, err)
		}
	}
	if b.Operations() != 8 {
		t.Fatalf("counted %d operations", b.Operations())
	}
	zero := openFault(t, "fault/null/;fail_after=0")
	if _, err := zero.ReadAt(p, 0); err == nil {
		t.Fatal("fail_after=0: the first operation succeeded")
	}
}

func TestFaultSenseByDirection(t *testing.T) {
	p := make([]byte, 512)
	tests := []struct {
		config      string
		read, write SenseError
	}{
		{"fault/null/;error_rate=1", SenseError{Key: 3, ASC: 0x11}, SenseError{Key: 3, ASC: 0x0c}},
		{"fault/null/;error_rate=1;sense=medium", SenseError{Key: 3, ASC: 0x11}, SenseError{Key: 3, ASC: 0x0c}},
		{"fault/null/;error_rate=1;sense=hardware", SenseError{Key: 4, ASC: 0x44}, SenseError{Key: 4, ASC: 0x44}},
		{"fault/null/;error_rate=1;sense=write_protect", SenseError{Key: 7, ASC: 0x27}, SenseError{Key: 7, ASC: 0x27}},
		{"fault/null/;error_rate=1;sense=aborted", SenseError{Key: 0xb, ASC: 0x08}, SenseError{Key: 0xb, ASC: 0x08}},
		{"fault/null/;error_rate=1;sense=5/21/1", SenseError{Key: 5, ASC: 0x21, ASCQ: 1}, SenseError{Key: 5, ASC: 0x21, ASCQ: 1}},
	}
	for _, tt := range tests {
		b := openFault(t, tt.config)
		_, rerr := b.ReadAt(p, 0)
		_, werr := b.WriteAt(p, 0)
		if got, _ := senseOf(rerr); got != tt.read {
			t.Errorf("%s: read %v, want %+v", tt.config, rerr, tt.read)
		}
		if got, _ := senseOf(werr); got != tt.write {
			t.Errorf("%s: write %v, want %+v", tt.config, werr, tt.write)
		}
		ops := map[string]error{
			"fua":    second(b.WriteAtFUA(p, 0)),
			"unmap":  b.Unmap(0, 512),
			"zeroes": b.WriteZeroes(0, 512),
			"flush":  b.Flush(),
		}
		for name, err := range ops {
			if got, _ := senseOf(err); got != tt.write {
				t.Errorf("%s: %s %v, want %+v", tt.config, name, err, tt.write)
			}
		}
	}
}

func TestFaultOpsScope(t *testing.T) {
	p := make([]byte, 512)
	reads := openFault(t, "fault/ram/;ops=read;error_rate=1")
	if _, err := reads.WriteAt(p, 0); err != nil {
		t.Fatalf("ops=read failed a write: %v", err)
	}
	if err := reads.Flush(); err != nil {
		t.Fatalf("ops=read failed a flush: %v", err)
	}
	if _, err := reads.ReadAt(p, 0); err == nil {
		t.Fatal("ops=read did not fail a read")
	}
	if reads.Operations() != 1 {
		t.Fatalf("ops=read counted %d operations, want 1", reads.Operations())
	}
	writes := openFault(t, "fault/ram/;ops=write;fail_after=1")
	for range 3 {
		if _, err := writes.ReadAt(p, 0); err != nil {
			t.Fatalf("ops=write failed a read: %v", err)
		}
	}
	if _, err := writes.WriteAt(p, 0); err != nil {
		t.Fatalf("first write failed: %v", err)
	}
	if _, err := writes.WriteAt(p, 0); err == nil {
		t.Fatal("second write (fail_after=1, ops=write) succeeded")
	}
}

func TestFaultReadonly(t *testing.T) {
	b := openFault(t, "fault/ram/;readonly")
	if !b.Caps().ReadOnly {
		t.Fatal("readonly not in caps")
	}
	p := pattern(512, 1)
	for name, err := range map[string]error{
		"write":  second(b.WriteAt(p, 0)),
		"fua":    second(b.WriteAtFUA(p, 0)),
		"unmap":  b.Unmap(0, 512),
		"zeroes": b.WriteZeroes(0, 512),
	} {
		if got, ok := senseOf(err); !ok || got != (SenseError{Key: 7, ASC: 0x27}) {
			t.Errorf("%s: %v, want DATA PROTECT 07/27/00", name, err)
		}
	}
	if !isZero(readBack(t, b, 0, 512)) {
		t.Fatal("a refused write reached the inner backend")
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
}

// TestFaultDelays records the waits instead of sleeping: delay plus a
// jitter drawn uniformly from [0, jitter).
func TestFaultDelays(t *testing.T) {
	b := openFault(t, "fault/null/;delay=2ms;jitter=1ms;seed=3;ops=write")
	var waits []time.Duration
	b.sleep = func(d time.Duration) { waits = append(waits, d) }
	p := make([]byte, 512)
	const n = 10000
	for range n {
		b.WriteAt(p, 0)
		b.ReadAt(p, 0) // out of scope: no wait
	}
	if len(waits) != n {
		t.Fatalf("%d waits for %d writes", len(waits), n)
	}
	var sum time.Duration
	lowHalf := 0
	for _, w := range waits {
		if w < 2*time.Millisecond || w > 3*time.Millisecond {
			t.Fatalf("wait %v outside [2ms, 3ms]", w)
		}
		if w < 2500*time.Microsecond {
			lowHalf++
		}
		sum += w
	}
	mean := sum / n
	// Uniform on [2ms, 3ms]: mean 2.5ms, sd of the mean ~2.9us.
	if mean < 2490*time.Microsecond || mean > 2510*time.Microsecond {
		t.Fatalf("mean wait %v, want about 2.5ms", mean)
	}
	if lowHalf < n/2-200 || lowHalf > n/2+200 {
		t.Fatalf("%d of %d waits in the lower half of the jitter", lowHalf, n)
	}

	fixed := openFault(t, "fault/null/;delay=1ms")
	var got []time.Duration
	fixed.sleep = func(d time.Duration) { got = append(got, d) }
	fixed.ReadAt(p, 0)
	fixed.Flush()
	if len(got) != 2 || got[0] != time.Millisecond || got[1] != time.Millisecond {
		t.Fatalf("delay=1ms waits: %v", got)
	}
}

// TestFaultRealSleep checks the real timer path once: a 1ms delay
// returns, and returns the inner data.
// TestFaultLongestJitter: the largest duration is a valid jitter.
func TestFaultLongestJitter(t *testing.T) {
	b := openFault(t, "fault/null/;jitter=2562047h47m16.854775807s;seed=1")
	var waited time.Duration
	b.sleep = func(d time.Duration) { waited = d }
	if _, err := b.ReadAt(make([]byte, 512), 0); err != nil {
		t.Fatal(err)
	}
	if waited <= 0 {
		t.Fatalf("waited %v", waited)
	}
}

func TestFaultRealSleep(t *testing.T) {
	b, err := Open("fault/ram/;delay=1ms", 1<<20, 512)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.WriteAt(pattern(512, 5), 512); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readBack(t, b, 512, 512), pattern(512, 5)) {
		t.Fatal("data did not pass through")
	}
}

func TestFaultPassesThrough(t *testing.T) {
	b := openFault(t, "fault/ram/chunk=64k;seed=1")
	if c := b.Caps(); !c.Unmap || !c.UnmapZeroes || !c.WriteZeroes || !c.FUA || c.ReadOnly || c.UnmapGranularity != 64<<10 {
		t.Fatalf("caps %+v", c)
	}
	data := pattern(4096, 3)
	if _, err := b.WriteAtFUA(data, 4096); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readBack(t, b, 4096, 4096), data) {
		t.Fatal("data did not pass through")
	}
	if err := b.Unmap(4096, 4096); err != nil {
		t.Fatal(err)
	}
	if !isZero(readBack(t, b, 4096, 4096)) {
		t.Fatal("unmap did not pass through")
	}
	if err := b.Resize(2 << 20); err != nil || b.Size() != 2<<20 {
		t.Fatalf("resize: %v, size %d", err, b.Size())
	}
	inner := b.inner.(*ramBackend)
	if inner.chunkSize != 64<<10 {
		t.Fatalf("inner option chunk=64k not applied: chunk %d", inner.chunkSize)
	}
}

func TestFaultConcurrent(t *testing.T) {
	b := openFault(t, "fault/ram/;error_rate=0.2;jitter=1us;fail_after=100000")
	b.sleep = func(time.Duration) {}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			p := make([]byte, 512)
			for i := range 1000 {
				b.WriteAt(p, int64(i%100)*512)
				b.ReadAt(p, int64(i%100)*512)
			}
		})
	}
	wg.Wait()
	if b.Operations() != 8000 {
		t.Fatalf("counted %d operations, want 8000", b.Operations())
	}
}

func TestFaultReadonlyOpensFileReadonly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "golden.img")
	if err := os.WriteFile(path, pattern(4096, 1), 0o400); err != nil {
		t.Fatal(err)
	}
	b, err := Open("fault/file/"+path+";readonly;sense=hardware", 4096, 512)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	inner := b.(*faultBackend).inner.(*fileBackend)
	if !inner.cfg.readonly || !inner.Caps().ReadOnly || !b.Caps().ReadOnly {
		t.Fatal("readonly did not reach the inner file")
	}
	if _, err := b.WriteAt(make([]byte, 512), 0); err == nil {
		t.Fatal("write succeeded")
	}
	if !bytes.Equal(readBack(t, b, 0, 4096), pattern(4096, 1)) {
		t.Fatal("read differs")
	}
}
