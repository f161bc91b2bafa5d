package scsi

import (
	"errors"
	"sync"
	"sync/atomic"
	"syscall"
)

// Unit attention conditions, as bits of an initiator's pending set, in the
// order they are reported.
const (
	uaCapacityChanged uint32 = 1 << iota
	uaModeParamsChanged
)

var uaSense = [...]senseData{senseCapacityChanged, senseModeParamsChanged}

// initiatorState is what the disk keeps per I_T nexus.
type initiatorState struct {
	pending atomic.Uint32
}

// take reports and clears the oldest pending unit attention, if any.
func (s *initiatorState) take() (senseData, bool) {
	for {
		p := s.pending.Load()
		if p == 0 {
			return good, false
		}
		var bit uint32
		var i int
		for i = 0; i < len(uaSense); i++ {
			bit = 1 << i
			if p&bit != 0 {
				break
			}
		}
		if i == len(uaSense) {
			s.pending.Store(0)
			return good, false
		}
		if s.pending.CompareAndSwap(p, p&^bit) {
			return uaSense[i], true
		}
	}
}

// initiatorTable maps the initiators the disk has seen to their state. The
// map is copied on write so that the per-command lookup takes no lock and
// allocates nothing.
type initiatorTable struct {
	mu sync.Mutex
	m  atomic.Pointer[map[uint32]*initiatorState]
}

func (t *initiatorTable) init() {
	m := map[uint32]*initiatorState{}
	t.m.Store(&m)
}

// lookup returns the state of an initiator, adding it on first sight.
func (t *initiatorTable) lookup(id uint32) *initiatorState {
	if s := (*t.m.Load())[id]; s != nil {
		return s
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.m.Load()
	if s := old[id]; s != nil {
		return s
	}
	m := make(map[uint32]*initiatorState, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	s := &initiatorState{}
	m[id] = s
	t.m.Store(&m)
	return s
}

// raise makes a unit attention pending for every initiator seen so far,
// except one when hasExcept is set (the initiator that caused it).
func (t *initiatorTable) raise(ua uint32, except uint32, hasExcept bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, s := range *t.m.Load() {
		if hasExcept && id == except {
			continue
		}
		s.pending.Or(ua)
	}
}

func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC)
}
