package serve_test

import (
	"context"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/serve/servetest"
)

func metricsDaemon(t *testing.T, fake *servetest.Fake) *servetest.Daemon {
	t.Helper()
	opts := fakeOptions(fake)
	opts.MetricsAddr = "127.0.0.1:0"
	opts.Version = "1.2.3-test"
	return servetest.Start(t, opts)
}

// A scrape shows Stats' figures under Prometheus names and units.
func TestMetricsMatchStats(t *testing.T) {
	fake := servetest.NewFake()
	d := metricsDaemon(t, fake)
	ctx := context.Background()
	const p = "target/core/user_0/r1"
	fake.Serve(ctx, p)
	fake.Serve(ctx, "target/core/user_1/down")
	s := engine.DeviceStats{
		Path: "/backstores/user:ram/r1", ConfigPath: p, UIO: "uio0", Subtype: "ram", Up: true,
		Commands: 10, ReadBytes: 4096, WriteBytes: 3 * 4096, Errors: 2,
		Inflight: 3, InflightMax: 7, RingUsedBytes: 448, RingUsedMaxBytes: 1024, RingSizeBytes: 8 << 20,
		DataUsedBytes: 12288, DataUsedMaxBytes: 65536, DataSizeBytes: 1 << 30,
		// 2 commands in [4096, 8192) ns, 5 in [8192, 16384) ns, 1 in [2^39/2, 2^39) ns.
		LatencyBuckets: append(make([]uint64, 13), 2, 5, 0),
		ByOpcode: []engine.OpcodeStats{
			{Opcode: 0x28, Name: "READ(10)", Commands: 1, Bytes: 4096},
			{Opcode: 0x2a, Name: "WRITE(10)", Commands: 3, Bytes: 3 * 4096},
			{Opcode: 0x12, Name: "INQUIRY", Commands: 4, Bytes: 0},
		},
		CheckConditions: map[string]uint64{"ILLEGAL REQUEST": 2},
		Time:            time.Now(),
	}
	s.LatencyBuckets = append(s.LatencyBuckets, make([]uint64, 40-len(s.LatencyBuckets))...)
	s.LatencyBuckets[39] = 1
	fake.SetStats(s)
	fake.SetStats(engine.DeviceStats{Path: "/backstores/user:file/down", ConfigPath: "target/core/user_1/down", Up: false,
		BackendError: "cluster connection lost: read timed out after 5s"})

	fam := servetest.Scrape(t, d.Listening.MetricsAddr)
	dev := []string{"device", s.Path}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"tcmsh_devices", nil, 2},
		{"tcmsh_stats_failed", nil, 0},
		{"tcmsh_device_up", dev, 1},
		{"tcmsh_device_up", []string{"device", "/backstores/user:file/down"}, 0},
		{"tcmsh_backend_up", dev, 1},
		{"tcmsh_backend_up", []string{"device", "/backstores/user:file/down"}, 0},
		{"tcmsh_device_info", []string{"device", s.Path, "configfs", p, "uio", "uio0", "subtype", "ram"}, 1},
		{"tcmsh_commands_total", append(dev, "opcode", "read_10"), 1},
		{"tcmsh_commands_total", append(dev, "opcode", "write_10"), 3},
		{"tcmsh_commands_total", append(dev, "opcode", "inquiry"), 4},
		{"tcmsh_commands_total", append(dev, "opcode", "other"), 2}, // 10 − 8 by opcode
		{"tcmsh_command_bytes_total", append(dev, "opcode", "write_10"), 3 * 4096},
		{"tcmsh_read_bytes_total", dev, 4096},
		{"tcmsh_written_bytes_total", dev, 3 * 4096},
		{"tcmsh_command_errors_total", dev, 2},
		{"tcmsh_check_conditions_total", append(dev, "sense_key", "ILLEGAL REQUEST"), 2},
		{"tcmsh_inflight_commands", dev, 3},
		{"tcmsh_inflight_commands_max", dev, 7},
		{"tcmsh_ring_used_bytes", dev, 448},
		{"tcmsh_ring_used_max_bytes", dev, 1024},
		{"tcmsh_ring_size_bytes", dev, 8 << 20},
		{"tcmsh_data_area_used_bytes", dev, 12288},
		{"tcmsh_data_area_used_max_bytes", dev, 65536},
		{"tcmsh_data_area_size_bytes", dev, 1 << 30},
		{"tcmsh_build_info", []string{"version", "1.2.3-test"}, 1},
	} {
		if got := servetest.Value(servetest.Sample(fam, c.name, c.labels...)); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}

	h := servetest.Sample(fam, "tcmsh_command_duration_seconds", dev...).GetHistogram()
	if h.GetSampleCount() != 8 {
		t.Errorf("histogram count %d, want 8", h.GetSampleCount())
	}
	bounds := map[float64]uint64{}
	for _, b := range h.GetBucket() {
		bounds[b.GetUpperBound()] = b.GetCumulativeCount()
	}
	for _, c := range []struct {
		le   float64
		want uint64
	}{
		{4096e-9, 0},                 // 2^12 ns: nothing below 4096 ns
		{8192e-9, 2},                 // 2^13 ns
		{16384e-9, 7},                // 2^14 ns
		{math.Ldexp(1, 35) / 1e9, 7}, // the last finite bound: the 2^39 ns command is past it
	} {
		if got, ok := bounds[c.le]; !ok || got != c.want {
			t.Errorf("bucket le=%g: %d (present %v), want %d", c.le, got, ok, c.want)
		}
	}
	wantSum := (2*0.75*8192 + 5*0.75*16384 + 0.75*math.Ldexp(1, 39)) / 1e9
	if math.Abs(h.GetSampleSum()-wantSum) > 1e-9 {
		t.Errorf("histogram sum %g, want %g (midpoint estimate)", h.GetSampleSum(), wantSum)
	}
	for _, name := range []string{"go_goroutines", "process_open_fds"} {
		if fam[name] == nil {
			t.Errorf("no %s: the standard collectors are missing", name)
		}
	}
}

// Every tcmsh metric name follows the Prometheus conventions: a tcmsh_
// prefix, counters ending in _total, units spelled out as base units.
func TestMetricNamesFollowConventions(t *testing.T) {
	fake := servetest.NewFake()
	d := metricsDaemon(t, fake)
	fake.Serve(context.Background(), "target/core/user_0/r1")
	for name, f := range servetest.Scrape(t, d.Listening.MetricsAddr) {
		if !strings.HasPrefix(name, "tcmsh_") {
			continue
		}
		if f.GetHelp() == "" {
			t.Errorf("%s has no help text", name)
		}
		isCounter := f.GetType().String() == "COUNTER"
		if isCounter != strings.HasSuffix(name, "_total") {
			t.Errorf("%s is a %s: counters and only counters end in _total", name, f.GetType())
		}
		for _, word := range strings.Split(name, "_") {
			switch word {
			case "ms", "us", "ns", "kb", "mb", "kib", "mib", "milliseconds", "microseconds", "nanoseconds", "minutes":
				t.Errorf("%s: %s is not a base unit (seconds, bytes)", name, word)
			}
		}
	}
}

// Only /metrics and / exist.
func TestMetricsEndpointPaths(t *testing.T) {
	d := metricsDaemon(t, servetest.NewFake())
	resp, err := http.Get("http://" + d.Listening.MetricsAddr + "/nothing")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/nothing: %s", resp.Status)
	}
}
