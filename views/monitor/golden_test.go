package monitor

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

var sizes = []struct{ w, h int }{{80, 24}, {120, 40}, {60, 20}}

// TestGoldenViews draws the monitor in its representative states at each
// size.
func TestGoldenViews(t *testing.T) {
	states := []struct {
		name  string
		setup func(t *testing.T, w, h int) *Model
	}{
		{"empty", func(t *testing.T, w, h int) *Model {
			f := &fakeEngine{}
			f.push(reading{})
			m := newModel(f, w, h)
			poll(t, m, 2)
			return m
		}},
		{"waiting", func(t *testing.T, w, h int) *Model {
			return newModel(&fakeEngine{}, w, h)
		}},
		{"error", func(t *testing.T, w, h int) *Model {
			f := &fakeEngine{}
			f.push(script(busySpecs(), 40, 200*time.Millisecond)...)
			f.push(reading{err: errors.New("dial unix control.sock: connect: connection refused")})
			m := newModel(f, w, h)
			poll(t, m, 45)
			return m
		}},
		{"error-first", func(t *testing.T, w, h int) *Model {
			f := &fakeEngine{}
			f.push(reading{err: fmt.Errorf("control socket: %w", errors.New("context deadline exceeded"))})
			m := newModel(f, w, h)
			poll(t, m, 1)
			return m
		}},
		{"busy", func(t *testing.T, w, h int) *Model {
			f := &fakeEngine{}
			f.push(script(busySpecs(), 300, 200*time.Millisecond)...)
			m := newModel(f, w, h)
			poll(t, m, 300)
			press(m, keyEnd) // the RBD image: CHECK CONDITIONs and a lost backend
			return m
		}},
		{"paused", func(t *testing.T, w, h int) *Model {
			f := &fakeEngine{}
			f.push(script(busySpecs(), 100, 200*time.Millisecond)...)
			m := newModel(f, w, h)
			poll(t, m, 80)
			press(m, keyDown, keyDown, keyP) // r1, the fast one
			poll(t, m, 20)
			return m
		}},
	}
	for _, st := range states {
		for _, sz := range sizes {
			name := fmt.Sprintf("%s-%dx%d", st.name, sz.w, sz.h)
			t.Run(name, func(t *testing.T) {
				m := st.setup(t, sz.w, sz.h)
				checkGolden(t, name, m.View(), sz.w, sz.h)
			})
		}
	}
}
