package initiator

import (
	"context"
	"sync"
	"time"
)

// limiter spaces the starts of I/Os evenly at a rate, shared by all the
// workers of a run. It keeps no credit for idle time: after a pause the
// next I/O starts at once and the ones after it are spaced again, so a
// slow device is never followed by a burst.
type limiter struct {
	mu       sync.Mutex
	interval time.Duration
	next     time.Time // when the next I/O may start
	now      func() time.Time
}

func newLimiter(perSecond int, now func() time.Time) *limiter {
	return &limiter{interval: time.Second / time.Duration(perSecond), now: now}
}

// reserve books the next start and returns how long to wait for it.
func (l *limiter) reserve() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if l.next.Before(now) {
		l.next = now
	}
	wait := l.next.Sub(now)
	l.next = l.next.Add(l.interval)
	return wait
}

// wait blocks until the caller may start an I/O; false when ctx ended
// first.
func (l *limiter) wait(ctx context.Context) bool {
	d := l.reserve()
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
