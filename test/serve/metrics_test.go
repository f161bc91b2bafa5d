package serve_test

import (
	"context"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/serve"
	"github.com/tcmsh/tcmsh/serve/servetest"
)

// sumSeries adds the values of every series of a family whose device label
// is dev.
func sumSeries(fam map[string]*dto.MetricFamily, name, dev string) float64 {
	total := 0.0
	for _, m := range fam[name].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "device" && l.GetValue() == dev {
				total += servetest.Value(m)
			}
		}
	}
	return total
}

// A scrape during a workload, parsed with Prometheus's own text parser,
// lies between the Stats taken before and after it; once the device is
// idle, the scrape and Stats agree exactly.
func TestMetricsDuringWorkloadMatchStats(t *testing.T) {
	e := newEnv(t, serve.Options{MetricsAddr: "127.0.0.1:0"}, true)
	eng := e.dial()
	so := e.userBackstore(eng, "r1", "ram/", 16<<20)
	lun := e.loopbackLUN(so)

	done := make(chan error, 1)
	go func() {
		_, err := eng.Workload(context.Background(), lun, engine.WorkloadSpec{RW: "randrw", BlockSize: 8192, QueueDepth: 8, Count: 30000})
		done <- err
	}()
	for statsOf(t, eng, so.Path()).Commands == 0 {
		time.Sleep(time.Millisecond) // until the workload's I/O is under way
	}
	before := statsOf(t, eng, so.Path())
	fam := servetest.Scrape(t, e.daemon.Listening.MetricsAddr)
	after := statsOf(t, eng, so.Path())
	dev := before.Path
	if got := sumSeries(fam, "tcmsh_commands_total", dev); got < float64(before.Commands) || got > float64(after.Commands) {
		t.Errorf("commands during the workload: scrape %v, Stats before %d and after %d", got, before.Commands, after.Commands)
	}
	if got := servetest.Value(servetest.Sample(fam, "tcmsh_written_bytes_total", "device", dev)); got < float64(before.WriteBytes) || got > float64(after.WriteBytes) {
		t.Errorf("written bytes during the workload: scrape %v, Stats %d..%d", got, before.WriteBytes, after.WriteBytes)
	}
	if got := servetest.Value(servetest.Sample(fam, "tcmsh_inflight_commands", "device", dev)); got > 8 {
		t.Errorf("%v commands in flight with a queue depth of 8", got)
	}
	if got := servetest.Value(servetest.Sample(fam, "tcmsh_device_up", "device", dev)); got != 1 {
		t.Errorf("device_up during the workload = %v", got)
	}
	if err := <-done; err != nil {
		t.Fatalf("workload: %v", err)
	}

	// Idle: exact agreement.
	st := statsOf(t, eng, so.Path())
	fam = servetest.Scrape(t, e.daemon.Listening.MetricsAddr)
	if got := sumSeries(fam, "tcmsh_commands_total", dev); got != float64(st.Commands) {
		t.Errorf("tcmsh_commands_total over opcodes = %v, Stats.Commands = %d", got, st.Commands)
	}
	for _, op := range st.ByOpcode {
		var found bool
		for _, m := range fam["tcmsh_commands_total"].GetMetric() {
			if hasLabel(m, "device", dev) && servetest.Value(m) == float64(op.Commands) {
				found = true
			}
		}
		if !found {
			t.Errorf("no tcmsh_commands_total series with %s's %d commands", op.Name, op.Commands)
		}
	}
	for name, want := range map[string]uint64{
		"tcmsh_read_bytes_total":         st.ReadBytes,
		"tcmsh_written_bytes_total":      st.WriteBytes,
		"tcmsh_command_errors_total":     st.Errors,
		"tcmsh_inflight_commands":        st.Inflight,
		"tcmsh_inflight_commands_max":    st.InflightMax,
		"tcmsh_ring_used_bytes":          st.RingUsedBytes,
		"tcmsh_ring_used_max_bytes":      st.RingUsedMaxBytes,
		"tcmsh_ring_size_bytes":          st.RingSizeBytes,
		"tcmsh_data_area_used_bytes":     st.DataUsedBytes,
		"tcmsh_data_area_used_max_bytes": st.DataUsedMaxBytes,
		"tcmsh_data_area_size_bytes":     st.DataSizeBytes,
	} {
		if got := servetest.Value(servetest.Sample(fam, name, "device", dev)); got != float64(want) {
			t.Errorf("%s = %v, Stats says %d", name, got, want)
		}
	}
	if st.RingSizeBytes == 0 || st.DataSizeBytes == 0 || st.InflightMax == 0 {
		t.Errorf("Stats of a device that ran a workload lack ring figures: %+v", st)
	}
	var latencyCount uint64
	for _, n := range st.LatencyBuckets {
		latencyCount += n
	}
	h := servetest.Sample(fam, "tcmsh_command_duration_seconds", "device", dev).GetHistogram()
	if h.GetSampleCount() != latencyCount || latencyCount == 0 {
		t.Errorf("latency histogram counts %d commands, Stats' buckets %d", h.GetSampleCount(), latencyCount)
	}
	if p50 := st.LatP50us / 1e6; h.GetSampleSum()/float64(h.GetSampleCount()) < p50/4 {
		t.Errorf("mean latency %gs from the histogram is far below the median %gs", h.GetSampleSum()/float64(h.GetSampleCount()), p50)
	}
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}
