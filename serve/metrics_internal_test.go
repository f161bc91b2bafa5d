package serve

import (
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tcmsh/tcmsh/engine"
)

func TestMetricsListenAddr(t *testing.T) {
	for in, want := range map[string]string{
		"9500":         "127.0.0.1:9500",
		":9500":        "127.0.0.1:9500",
		"0.0.0.0:9500": "0.0.0.0:9500",
		"[::]:9500":    "[::]:9500",
		"host:http":    "host:http",
	} {
		if got, err := metricsListenAddr(in); err != nil || got != want {
			t.Errorf("metricsListenAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"70000", "nonsense", "1.2.3.4"} {
		if got, err := metricsListenAddr(bad); err == nil {
			t.Errorf("metricsListenAddr(%q) = %q, want an error", bad, got)
		}
	}
}

func TestOpcodeLabel(t *testing.T) {
	for _, c := range []struct {
		op   engine.OpcodeStats
		want string
	}{
		{engine.OpcodeStats{Opcode: 0x2a, Name: "WRITE(10)"}, "write_10"},
		{engine.OpcodeStats{Opcode: 0x35, Name: "SYNCHRONIZE CACHE(10)"}, "synchronize_cache_10"},
		{engine.OpcodeStats{Opcode: 0x9e, Name: "SERVICE ACTION IN(16)"}, "service_action_in_16"},
		{engine.OpcodeStats{Opcode: 0xc1}, "0xc1"},
	} {
		if got := opcodeLabel(c.op); got != c.want {
			t.Errorf("opcodeLabel(%+v) = %q, want %q", c.op, got, c.want)
		}
	}
}

// The collector passes Prometheus's own consistency checks (descriptors
// match metrics, no duplicate series) for devices with odd data: two
// opcodes of one name, no latency buckets, more buckets than bounds.
func TestCollectorLint(t *testing.T) {
	fake := &statsEngine{stats: []engine.DeviceStats{
		{Path: "/backstores/user:ram/a", ConfigPath: "target/core/user_0/a",
			ByOpcode: []engine.OpcodeStats{{Opcode: 1, Name: "X"}, {Opcode: 2, Name: "X"}}},
		{Path: "/backstores/user:ram/b", ConfigPath: "target/core/user_1/b", LatencyBuckets: make([]uint64, 64)},
	}}
	c := newDeviceCollector(fake, slog.New(slog.NewTextHandler(io.Discard, nil)))
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	if n := testutil.CollectAndCount(c, "tcmsh_commands_total"); n != 2 {
		t.Errorf("%d tcmsh_commands_total series, want 2 (one per opcode)", n)
	}
	if err := testutil.CollectAndCompare(c, strings.NewReader(`
# HELP tcmsh_devices Devices the daemon serves.
# TYPE tcmsh_devices gauge
tcmsh_devices 2
`), "tcmsh_devices"); err != nil {
		t.Error(err)
	}
}

func TestLatencyHistogram(t *testing.T) {
	buckets := make([]uint64, 64)
	buckets[0] = 1  // 0 ns
	buckets[5] = 2  // [16, 32) ns: below the first bound, folds into it
	buckets[20] = 3 // [2^19, 2^20) ns
	buckets[63] = 4 // beyond the last bound: only in +Inf (the count)
	count, _, hist := latencyHistogram(buckets)
	if count != 10 {
		t.Errorf("count %d, want 10", count)
	}
	if len(hist) != maxLatencyLog2-minLatencyLog2+1 {
		t.Errorf("%d bounds, want %d", len(hist), maxLatencyLog2-minLatencyLog2+1)
	}
	if got := hist[1024e-9]; got != 3 {
		t.Errorf("le=2^10 ns: %d, want 3", got)
	}
	if got := hist[float64(1<<19)/1e9]; got != 3 {
		t.Errorf("le=2^19 ns: %d, want 3", got)
	}
	if got := hist[float64(1<<20)/1e9]; got != 6 {
		t.Errorf("le=2^20 ns: %d, want 6", got)
	}
	if _, _, h := latencyHistogram(nil); h[1024e-9] != 0 {
		t.Error("empty buckets give non-zero counts")
	}
}

// BenchmarkCollect is one scrape's collection for 16 devices with full
// statistics, the work a scrape adds to the daemon (beyond Stats).
func BenchmarkCollect(b *testing.B) {
	var stats []engine.DeviceStats
	for i := range 16 {
		s := engine.DeviceStats{Path: "/backstores/user:ram/d" + string(rune('a'+i)), ConfigPath: "target/core/user_0/d", Up: true,
			LatencyBuckets: make([]uint64, 64), CheckConditions: map[string]uint64{"NOT READY": 1}}
		for op := range 12 {
			s.ByOpcode = append(s.ByOpcode, engine.OpcodeStats{Opcode: byte(op), Name: "OP" + string(rune('A'+op)), Commands: 5})
		}
		stats = append(stats, s)
	}
	reg := newMetricsRegistry(&statsEngine{stats: stats}, slog.New(slog.NewTextHandler(io.Discard, nil)), "bench")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}
