package initiator

import (
	"context"
	"testing"
	"time"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestLimiterSpacesStartsAndKeepsNoCredit(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	l := newLimiter(1000, clk.now) // one I/O per millisecond
	var waits []time.Duration
	for range 4 {
		waits = append(waits, l.reserve())
	}
	want := []time.Duration{0, time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("waits of 4 back-to-back starts = %v, want %v", waits, want)
		}
	}
	// Half-way through the booked slots: the next start waits for its slot.
	clk.t = clk.t.Add(2 * time.Millisecond)
	if w := l.reserve(); w != 2*time.Millisecond {
		t.Errorf("after 2ms, wait = %v, want 2ms", w)
	}
	// A long idle time gives no burst: one start at once, the next spaced.
	clk.t = clk.t.Add(time.Second)
	if w := l.reserve(); w != 0 {
		t.Errorf("after an idle second, wait = %v, want 0", w)
	}
	if w := l.reserve(); w != time.Millisecond {
		t.Errorf("the start after that waits %v, want 1ms (no credit for idle time)", w)
	}
}

func TestLimiterWaitEndsWithContext(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	l := newLimiter(1, clk.now)
	ctx, cancel := context.WithCancel(context.Background())
	if !l.wait(ctx) {
		t.Fatal("the first start waited")
	}
	cancel()
	if l.wait(ctx) {
		t.Error("a wait for a slot a second away returned true after cancel")
	}
}

// TestRateCapsARun runs a count-based workload with a cap and reports the
// achieved rate; what it asserts is the count, not the time taken.
func TestRateCapsARun(t *testing.T) {
	tgt := &direct{h: NewMemDisk(1<<20, 512)}
	rep, err := Run(context.Background(), tgt, Config{RW: "randrw", BS: 4096, QD: 4, Count: 200, Size: 1 << 20, Rate: 2000})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Ops != 200 || rep.Errors != 0 {
		t.Fatalf("%v", rep)
	}
	t.Logf("rate=2000 count=200 qd=4: %.0f IOPS achieved in %v (uncapped this target does far more)", rep.IOPS, rep.Elapsed)
	if _, err := Run(context.Background(), tgt, Config{RW: "read", BS: 4096, Count: 1, Size: 1 << 20, Rate: -1}); err == nil {
		t.Error("rate=-1 accepted")
	}
}
