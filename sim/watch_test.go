package sim

import (
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// events collects what a listener hears.
type events struct {
	mu  sync.Mutex
	got []Event
	ch  chan struct{}
}

func listen(t *testing.T, k *Kernel) (*events, func()) {
	t.Helper()
	ev := &events{ch: make(chan struct{}, 1)}
	stop, err := k.Listen(func(e Event) {
		ev.mu.Lock()
		ev.got = append(ev.got, e)
		ev.mu.Unlock()
		select {
		case ev.ch <- struct{}{}:
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return ev, stop
}

func (ev *events) list() []string {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	var out []string
	for _, e := range ev.got {
		s := fmt.Sprintf("%v %s uio%d", e.Kind, e.Dev.ConfigPath, e.Dev.Minor)
		if e.Kind == EventReconfig {
			s += " " + e.Attribute + "=" + e.Value
		}
		out = append(out, s)
	}
	return out
}

// wait waits until n events arrived; the deadline bounds a broken run.
func (ev *events) wait(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		if l := ev.list(); len(l) >= n {
			return l
		}
		select {
		case <-ev.ch:
		case <-deadline:
			t.Fatalf("waited for %d events, have %q", n, ev.list())
		}
	}
}

func sameList(t *testing.T, got, want []string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events:\n got %q\nwant %q", got, want)
	}
}

// watchModes runs f with inotify and with polling only.
func watchModes(t *testing.T, f func(t *testing.T)) {
	t.Run("inotify", f)
	t.Run("polling", func(t *testing.T) {
		noInotify = true
		defer func() { noInotify = false }()
		f(t)
	})
}

// F-150: another process's enable, RECONFIG writes and removal reach a
// listener as ADDED, RECONFIG and REMOVED; its own changes do not (its
// hooks hear them).
func TestListenHearsOtherProcess(t *testing.T) {
	watchModes(t, func(t *testing.T) {
		dir := t.TempDir()
		daemon := openAt(t, dir, Options{})
		other := openAt(t, dir, Options{})
		ev, _ := listen(t, daemon)
		p := "target/core/user_0/a"
		run(t, other, userSteps("a", "user_0"))
		ev.wait(t, 1)
		// The other process has no hooks: its RECONFIG succeeds because
		// this one listens.
		for i, s := range []step{
			{op: "write", a: p + "/attrib/dev_size", b: "134217728"},
			{op: "write", a: p + "/attrib/emulate_write_cache", b: "1"},
			{op: "write", a: p + "/attrib/dev_config", b: "demo/y"},
		} {
			run(t, other, []step{s})
			ev.wait(t, 2+i)
		}
		// The listener's own change is its hooks' business.
		daemon.SetHooks(&recorder{k: daemon})
		run(t, daemon, []step{{op: "write", a: p + "/attrib/dev_size", b: "268435456"}})
		run(t, other, []step{{op: "rmdir", a: p}})
		sameList(t, ev.wait(t, 5), []string{
			"ADDED_DEVICE target/core/user_0/a uio0",
			"RECONFIG_DEVICE target/core/user_0/a uio0 dev_size=134217728",
			"RECONFIG_DEVICE target/core/user_0/a uio0 emulate_write_cache=1",
			"RECONFIG_DEVICE target/core/user_0/a uio0 dev_config=demo/y",
			"REMOVED_DEVICE target/core/user_0/a uio0",
		})
		ev.mu.Lock()
		if d := ev.got[0].Dev; d.DevConfig != "demo/x" || d.DevSize != 67108864 || d.Name != "tcm-user/0/a/demo/x" {
			t.Errorf("ADDED device = %+v", d)
		}
		ev.mu.Unlock()
	})
}

// Nobody listening anywhere: a RECONFIG without hooks fails with ESRCH
// (F-094); once the listener of another process stops, that holds again.
func TestReconfigNeedsAListenerSomewhere(t *testing.T) {
	dir := t.TempDir()
	daemon := openAt(t, dir, Options{})
	other := openAt(t, dir, Options{})
	p := "target/core/user_0/a"
	run(t, other, userSteps("a", "user_0"))
	run(t, other, []step{{op: "write", a: p + "/attrib/dev_size", b: "1048576", want: syscall.ESRCH}})
	_, stop := listen(t, daemon)
	run(t, other, []step{{op: "write", a: p + "/attrib/dev_size", b: "1048576"}})
	stop()
	run(t, other, []step{{op: "write", a: p + "/attrib/dev_size", b: "2097152", want: syscall.ESRCH}})
	if got := read(t, other, p+"/attrib/dev_size"); got != "1048576\n" {
		t.Fatalf("dev_size = %q", got)
	}
}

// A device enabled and removed before the watcher delivers is never
// announced, even when catch-ups of the listener's own (reads) saw it
// enabled and then gone; what follows is delivered in order.
func TestListenSkipsDeviceGoneBeforeDelivery(t *testing.T) {
	dir := t.TempDir()
	daemon := openAt(t, dir, Options{})
	other := openAt(t, dir, Options{})
	// The first listener holds the watcher inside the delivery of the
	// first event until gate is closed.
	gate := make(chan struct{})
	held := make(chan struct{})
	var once sync.Once
	stop, err := daemon.Listen(func(Event) {
		once.Do(func() {
			close(held)
			<-gate
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	ev, _ := listen(t, daemon)
	run(t, other, userSteps("gate", "user_0"))
	select {
	case <-held:
	case <-time.After(20 * time.Second):
		t.Fatal("the first event never came")
	}
	run(t, other, userSteps("brief", "user_1"))
	_ = read(t, daemon, "target/core/user_1/brief/enable") // sees it enabled
	run(t, other, []step{{op: "rmdir", a: "target/core/user_1/brief"}})
	if _, err := daemon.ReadDir("target/core/user_1"); err != nil { // sees it gone
		t.Fatal(err)
	}
	run(t, other, userSteps("stays", "user_2"))
	_ = read(t, daemon, "target/core/user_2/stays/enable")
	close(gate)
	sameList(t, ev.wait(t, 2), []string{
		"ADDED_DEVICE target/core/user_0/gate uio0",
		"ADDED_DEVICE target/core/user_2/stays uio1",
	})
}

// The listener keeps up while the other process compacts the journal into
// snapshots many times: the events add up to the devices there are.
func TestListenAcrossCompaction(t *testing.T) {
	watchModes(t, func(t *testing.T) {
		dir := t.TempDir()
		daemon := openAt(t, dir, Options{})
		other := openAt(t, dir, Options{CompactBytes: 2048})
		ev, _ := listen(t, daemon)
		have := map[string]bool{}
		var want []string
		for i := range 12 {
			hba := fmt.Sprintf("user_%d", i)
			run(t, other, userSteps("d", hba))
			p := "target/core/" + hba + "/d"
			run(t, other, []step{{op: "write", a: p + "/attrib/dev_size", b: "1048576"}})
			if i%3 == 0 {
				run(t, other, []step{{op: "rmdir", a: p}})
				continue
			}
			have[p] = true
			want = append(want, p)
		}
		// A last device announces that everything before it was seen.
		run(t, other, userSteps("last", "user_99"))
		deadline := time.Now().Add(20 * time.Second)
		for {
			state := map[string]string{}
			for _, e := range ev.list() {
				var kind, path string
				fmt.Sscan(e, &kind, &path)
				state[path] = kind
			}
			if state["target/core/user_99/last"] == "ADDED_DEVICE" {
				for p := range have {
					if k := state[p]; k != "ADDED_DEVICE" && k != "RECONFIG_DEVICE" {
						t.Errorf("%s: last event %q, want the device added", p, k)
					}
				}
				for p, k := range state {
					if !have[p] && p != "target/core/user_99/last" && k != "REMOVED_DEVICE" {
						t.Errorf("%s was removed; its last event is %q", p, k)
					}
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("never heard of the last device: %q", ev.list())
			}
			time.Sleep(5 * time.Millisecond)
		}
		if got := len(daemon.UIODevices()); got != len(want)+1 {
			t.Errorf("%d devices, want %d", got, len(want)+1)
		}
	})
}

// Stopping the last listener and closing the kernel end the watcher's
// goroutines; a closed kernel refuses Listen.
func TestListenStopsItsGoroutines(t *testing.T) {
	watchModes(t, func(t *testing.T) {
		before := runtime.NumGoroutine()
		dir := t.TempDir()
		k, err := Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, stop1 := listen(t, k)
		_, stop2 := listen(t, k)
		stop1()
		stop1() // twice is harmless
		if k.watch == nil {
			t.Fatal("the watcher stopped while a listener is left")
		}
		stop2()
		_, _ = listen(t, k) // a new watcher, ended by Close
		if err := k.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := k.Listen(func(Event) {}); err == nil {
			t.Error("Listen on a closed kernel succeeded")
		}
		deadline := time.Now().Add(10 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				t.Fatalf("%d goroutines after Close, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
			}
			time.Sleep(time.Millisecond)
		}
	})
}

// In memory there are no other processes: Listen works and hears nothing.
func TestListenInMemory(t *testing.T) {
	k := newKernel(t)
	ev, stop := listen(t, k)
	run(t, k, userSteps("m", "user_0"))
	stop()
	if l := ev.list(); len(l) != 0 {
		t.Fatalf("in-memory kernel delivered %q", l)
	}
}
