package uio

import (
	"runtime"
	"testing"
)

// Every bound waiter gets a spare P beside it; the last one unbound gives
// GOMAXPROCS back to the runtime. A GOMAXPROCS from the environment wins.
func TestBoundWaitersKeepASpareProc(t *testing.T) {
	t.Setenv("GOMAXPROCS", "")
	defer runtime.SetDefaultGOMAXPROCS()
	runtime.GOMAXPROCS(1)
	reserveProc()
	if got := runtime.GOMAXPROCS(0); got < 2 {
		t.Errorf("one bound waiter: GOMAXPROCS %d, want ≥ 2", got)
	}
	reserveProc()
	if got := runtime.GOMAXPROCS(0); got < 3 {
		t.Errorf("two bound waiters: GOMAXPROCS %d, want ≥ 3", got)
	}
	releaseProc()
	releaseProc()
	runtime.GOMAXPROCS(1) // what an affinity of one CPU would make it
	runtime.SetDefaultGOMAXPROCS()
	want := runtime.GOMAXPROCS(0)
	runtime.GOMAXPROCS(1)
	reserveProc()
	releaseProc()
	if got := runtime.GOMAXPROCS(0); got != want {
		t.Errorf("after the last waiter: GOMAXPROCS %d, want the default %d", got, want)
	}

	t.Setenv("GOMAXPROCS", "1")
	runtime.GOMAXPROCS(1)
	reserveProc()
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Errorf("GOMAXPROCS=1 in the environment: raised to %d", got)
	}
	releaseProc()
}
