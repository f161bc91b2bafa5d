package tcmu

import "testing"

func BenchmarkNanotime(b *testing.B) {
	var sink int64
	for b.Loop() {
		sink += nanotime()
	}
	_ = sink
}

// BenchmarkTicks is the statistics clock (the TSC where the kernel keeps
// time with it).
func BenchmarkTicks(b *testing.B) {
	initClock()
	var sink int64
	for b.Loop() {
		sink += ticks()
	}
	_ = sink
}

// BenchmarkStatsComplete is the cost statistics add to each completion,
// clock read excluded.
func BenchmarkStatsComplete(b *testing.B) {
	st := newStats(8)
	s := &slot{dataBytes: 4096, statsOn: true}
	s.cmd.CDB = []byte{0x28, 0, 0, 0, 1, 0, 0, 0, 8, 0}
	var c completion
	for b.Loop() {
		st.takeCommand(4096, 1)
		c.fill(s)
		c.end = c.start + 1500
		st.complete(0, &c)
	}
}
