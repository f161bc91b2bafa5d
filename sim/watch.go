package sim

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// This file is the TCM-USER netlink multicast group as other processes
// see it. On the kernel every listener hears ADDED_DEVICE, REMOVED_DEVICE
// and RECONFIG_DEVICE, whoever caused them; here a process's own changes
// reach its UserDeviceHooks, and Listen delivers those of the other
// processes sharing the state directory: a watcher goroutine wakes on
// inotify events of the journal (or polls it when inotify is not to be
// had), applies the new records as every operation does, and reports how
// the enabled user devices changed.
//
// Events are derived from the state, not from the records: what a
// catch-up (the watcher's or any operation's) finds changed since the
// last one becomes a batch, and what changed and changed back before the
// watcher delivered it is dropped (a device enabled and removed in
// between is never announced), so a compaction, a snapshot or a reload in
// between loses nothing.

// EventKind is the TCM-USER netlink command an Event stands for.
type EventKind int

// The TCM-USER commands a listener hears.
const (
	EventAdded    EventKind = iota + 1 // TCMU_CMD_ADDED_DEVICE
	EventRemoved                       // TCMU_CMD_REMOVED_DEVICE
	EventReconfig                      // TCMU_CMD_RECONFIG_DEVICE
)

func (e EventKind) String() string {
	switch e {
	case EventAdded:
		return "ADDED_DEVICE"
	case EventRemoved:
		return "REMOVED_DEVICE"
	case EventReconfig:
		return "RECONFIG_DEVICE"
	}
	return "EventKind(" + strconv.Itoa(int(e)) + ")"
}

// Event is a TCM-USER event another process caused.
type Event struct {
	Kind EventKind
	// Dev is the device as it is after the event (EventRemoved: as it
	// was).
	Dev UIODevice
	// Attribute and Value are the change of an EventReconfig: dev_config,
	// dev_size or emulate_write_cache, and the value written.
	Attribute, Value string

	id string // the device instance: index, minor, path
}

// pollInterval is how often the watcher looks at the journal: without
// inotify it is the only way to hear of changes; with inotify it is a
// safety net (a file system that does not report other processes'
// writes).
var (
	pollInterval       = 200 * time.Millisecond
	safetyPollInterval = 2 * time.Second
	// noInotify makes the watcher poll only (tests of the fallback).
	noInotify = false
)

type listener struct {
	id int
	fn func(Event)
}

type watcher struct {
	stop    chan struct{}
	wake    chan struct{}
	done    sync.WaitGroup
	inotify *os.File // nil: polling
	listen  *os.File // holds the shared flock that says "a process listens"
}

// Listen joins the simulated TCM-USER netlink group: fn is called for each
// ADDED, REMOVED and RECONFIG event that another process sharing the
// state directory causes (this process's own reach its UserDeviceHooks),
// in order, from one goroutine, with no lock held, within about a tenth
// of a second of the change. While a process listens, RECONFIG writes of
// processes without hooks succeed (the kernel's multicast has a
// listener). The returned stop ends the subscription and, for the last
// one, the watcher, waiting for it; neither stop nor Close may be called
// from fn. A Kernel without a state directory has no other processes:
// fn is never called.
func (k *Kernel) Listen(fn func(Event)) (stop func(), err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil, os.ErrClosed
	}
	if k.store != nil && k.watch == nil {
		w, err := k.startWatcher()
		if err != nil {
			return nil, err
		}
		k.watch = w
	}
	k.nextListener++
	id := k.nextListener
	k.listeners = append(k.listeners, listener{id: id, fn: fn})
	var once sync.Once
	return func() { once.Do(func() { k.unlisten(id) }) }, nil
}

func (k *Kernel) unlisten(id int) {
	k.mu.Lock()
	for i, l := range k.listeners {
		if l.id == id {
			k.listeners = append(k.listeners[:i:i], k.listeners[i+1:]...)
			break
		}
	}
	var w *watcher
	if len(k.listeners) == 0 {
		w, k.watch = k.watch, nil
		k.pending = nil
	}
	k.mu.Unlock()
	w.shutdown()
}

func (k *Kernel) listening() bool { return len(k.listeners) > 0 }

// startWatcher starts the goroutines; the caller holds k.mu.
func (k *Kernel) startWatcher() (*watcher, error) {
	s := k.store
	lf, err := os.OpenFile(s.path("listeners"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("simulated kernel listener lock: %w", err)
	}
	if err := flockRetry(lf, unix.LOCK_SH); err != nil {
		lf.Close()
		return nil, fmt.Errorf("locking %s: %w", s.path("listeners"), err)
	}
	w := &watcher{stop: make(chan struct{}), wake: make(chan struct{}, 1), listen: lf}
	if !noInotify {
		w.inotify = watchDir(s.dir)
	}
	if w.inotify != nil {
		w.done.Add(1)
		go w.readInotify()
	}
	w.done.Add(1)
	go k.runWatcher(w)
	return w, nil
}

// shutdown stops the watcher's goroutines and waits for them.
func (w *watcher) shutdown() {
	if w == nil {
		return
	}
	close(w.stop)
	if w.inotify != nil {
		w.inotify.Close() // ends the pending read
	}
	w.done.Wait()
	w.listen.Close() // drops the shared flock
}

// watchDir returns a non-blocking inotify descriptor watching dir for
// changes of its files, or nil.
func watchDir(dir string) *os.File {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil
	}
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_MODIFY|unix.IN_MOVED_TO|unix.IN_CREATE); err != nil {
		unix.Close(fd)
		return nil
	}
	// Non-blocking: the runtime's poller waits for it, and Close ends
	// a pending Read.
	return os.NewFile(uintptr(fd), "inotify")
}

// readInotify wakes the watcher when the journal changes.
func (w *watcher) readInotify() {
	defer w.done.Done()
	buf := make([]byte, 4096)
	for {
		n, err := w.inotify.Read(buf)
		if err != nil {
			if errors.Is(err, syscall.EINTR) || errors.Is(err, syscall.EAGAIN) {
				continue
			}
			return // closed
		}
		if journalTouched(buf[:n]) {
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}
	}
}

// journalTouched reports whether a batch of inotify events concerns the
// journal (or overflowed).
func journalTouched(b []byte) bool {
	for len(b) >= unix.SizeofInotifyEvent {
		mask := binary.NativeEndian.Uint32(b[4:])
		n := int(binary.NativeEndian.Uint32(b[12:]))
		if mask&unix.IN_Q_OVERFLOW != 0 {
			return true
		}
		end := unix.SizeofInotifyEvent + n
		if end > len(b) {
			return true
		}
		name := b[unix.SizeofInotifyEvent:end]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		if string(name) == "journal" {
			return true
		}
		b = b[end:]
	}
	return false
}

func (k *Kernel) runWatcher(w *watcher) {
	defer w.done.Done()
	every := pollInterval
	if w.inotify != nil {
		every = safetyPollInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-w.wake:
		case <-t.C:
		}
		k.look()
		evs, fns := k.takePending(w)
		for _, e := range evs {
			for _, fn := range fns {
				select {
				case <-w.stop:
					return
				default:
				}
				fn(e)
			}
		}
	}
}

// look catches up with the state files when they changed. Errors are left
// to the next operation, which reports them.
func (k *Kernel) look() {
	k.mu.Lock()
	defer k.mu.Unlock()
	s := k.store
	if k.closed || s == nil {
		return
	}
	var st unix.Stat_t
	if s.valid && unix.Stat(s.path("journal"), &st) == nil && st.Ino == s.ino && st.Size == s.off {
		return // nothing new: no lock taken
	}
	if err := s.lock(false); err != nil {
		return
	}
	_ = k.catchUp()
	s.unlock()
}

// takePending returns the events to deliver, folded, and the listeners.
func (k *Kernel) takePending(w *watcher) ([]Event, []func(Event)) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.watch != w {
		return nil, nil
	}
	evs := foldEvents(k.pending)
	k.pending = nil
	fns := make([]func(Event), len(k.listeners))
	for i, l := range k.listeners {
		fns[i] = l.fn
	}
	return evs, fns
}

// foldEvents drops the events of a device that was added and removed
// again within the batch: a listener looking now would never have seen it.
func foldEvents(evs []Event) []Event {
	added := map[string]int{} // device → index of its ADDED
	drop := make([]bool, len(evs))
	for i, e := range evs {
		switch e.Kind {
		case EventAdded:
			added[e.id] = i
		case EventRemoved:
			if a, ok := added[e.id]; ok {
				for j := a; j <= i; j++ {
					if evs[j].id == e.id {
						drop[j] = true
					}
				}
				delete(added, e.id)
			}
		}
	}
	out := evs[:0:0]
	for i, e := range evs {
		if !drop[i] {
			out = append(out, e)
		}
	}
	return out
}

// devState is an enabled user device as a listener knows it.
type devState struct {
	id  string
	dev UIODevice
	// the RECONFIG attributes as stored
	config, size, wc string
}

// uioState describes the enabled user devices; the caller holds k.mu.
func (k *Kernel) uioState() map[int]devState {
	m := make(map[int]devState, len(k.uio))
	for minor, so := range k.uio {
		d := k.uioDevice(so)
		m[minor] = devState{id: so.meta["dev_index"] + "/" + strconv.Itoa(minor) + "/" + d.ConfigPath, dev: d,
			config: userValue(so, "dev_config"), size: userValue(so, "dev_size"), wc: userValue(so, "emulate_write_cache")}
	}
	return m
}

// queueChanges turns the difference between two uioStates into events
// for the watcher to deliver; the caller holds k.mu.
func (k *Kernel) queueChanges(before, after map[int]devState) {
	minors := func(m map[int]devState) []int {
		out := make([]int, 0, len(m))
		for minor := range m {
			out = append(out, minor)
		}
		sort.Ints(out)
		return out
	}
	var evs []Event
	for _, minor := range minors(before) {
		b := before[minor]
		if a, ok := after[minor]; !ok || a.id != b.id {
			evs = append(evs, Event{Kind: EventRemoved, Dev: b.dev, id: b.id})
		}
	}
	for _, minor := range minors(after) {
		a := after[minor]
		b, ok := before[minor]
		if !ok || a.id != b.id {
			evs = append(evs, Event{Kind: EventAdded, Dev: a.dev, id: a.id})
			continue
		}
		reconfig := func(attr, was, is string) {
			if was != is {
				evs = append(evs, Event{Kind: EventReconfig, Dev: a.dev, Attribute: attr, Value: is, id: a.id})
			}
		}
		reconfig("dev_config", b.config, a.config)
		reconfig("dev_size", b.size, a.size)
		reconfig("emulate_write_cache", b.wc, a.wc)
	}
	if len(evs) == 0 || k.watch == nil {
		return
	}
	// Delivered when the watcher looks next: it is woken by the same
	// journal change (or polls), and what changed back by then is folded.
	k.pending = append(k.pending, evs...)
}

// othersListen reports whether a process listens on the simulated
// TCM-USER group (holds the listeners file's shared flock).
func (k *Kernel) othersListen() bool {
	if k.store == nil {
		return false
	}
	f, err := os.OpenFile(k.store.path("listeners"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return false
	}
	defer f.Close()
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if err == nil {
		_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
		return false
	}
	return errors.Is(err, syscall.EWOULDBLOCK)
}

func flockRetry(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			return err
		}
	}
}
