package uio

import (
	"os"
	"runtime"
	"sync"
)

// A thread bound by BindWaiter sleeps in a blocking read of the uio device
// while holding its P (the Go scheduler's right to run Go code) in the
// syscall state. When no other P is idle, the runtime's monitor thread
// (sysmon) takes such a P away after about 20 µs and starts another thread
// to run it; the reader, woken by the kernel, must then get a P handed back
// by that thread before it can run the command. Measured on a real 6.1
// kernel with the handler pinned to one CPU (GOMAXPROCS then defaults to
// 1), that costs two to four thread wake-ups per command, and sysmon polls
// every 20 µs instead of backing off to 10 ms. One idle P beside every
// bound waiter avoids all of it: sysmon leaves a P in a syscall alone while
// another is idle (until 10 ms), and the woken reader takes its own P back
// without help.
//
// So binding a waiter raises GOMAXPROCS to the bound waiters plus one when
// it is below that, and fixes it: the runtime would otherwise lower it again
// to the CPUs of the affinity mask, which it checks every second (taskset
// on a running handler). Unbinding the last waiter gives GOMAXPROCS back
// to the runtime. A GOMAXPROCS set in the environment is the operator's
// choice and is left alone.
var procs struct {
	mu     sync.Mutex
	bound  int
	raised bool
}

// reserveProc accounts one more bound waiter.
func reserveProc() {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	procs.mu.Lock()
	defer procs.mu.Unlock()
	procs.bound++
	runtime.GOMAXPROCS(max(runtime.GOMAXPROCS(0), procs.bound+1))
	procs.raised = true
}

// releaseProc accounts one bound waiter fewer.
func releaseProc() {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	procs.mu.Lock()
	defer procs.mu.Unlock()
	procs.bound--
	if procs.bound == 0 && procs.raised {
		runtime.SetDefaultGOMAXPROCS()
		procs.raised = false
	}
}
