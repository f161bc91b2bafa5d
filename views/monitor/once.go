package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tcmsh/tcmsh/engine"
)

// OnceInterval is how far apart PrintOnce takes its two snapshots.
var OnceInterval = time.Second

// OnceDevice is one device of PrintOnce's JSON output.
type OnceDevice struct {
	Path     string  `json:"path"`
	Up       bool    `json:"up"`
	IOPS     float64 `json:"iops"`
	MBps     float64 `json:"mbps"`
	Inflight uint64  `json:"inflight"`
	Errors   uint64  `json:"errors"`
	LatP50us float64 `json:"lat_p50_us"`
	LatP99us float64 `json:"lat_p99_us"`
	LatMaxus float64 `json:"lat_max_us"`
	// Between the two snapshots; nil when no command completed between
	// them, or the engine keeps no fine latency histogram.
	WindowLatP50us *float64 `json:"window_lat_p50_us,omitempty"`
	WindowLatP99us *float64 `json:"window_lat_p99_us,omitempty"`
	RingUsedBytes  uint64   `json:"ring_used_bytes"`
	RingSizeBytes  uint64   `json:"ring_size_bytes"`
	DataUsedBytes  uint64   `json:"data_used_bytes"`
	DataSizeBytes  uint64   `json:"data_size_bytes"`
	LastError      string   `json:"last_error,omitempty"`
	BackendError   string   `json:"backend_error,omitempty"`
}

// PrintOnce takes two snapshots of eng OnceInterval apart and prints, per
// device, its state and the rates between them: for `monitor --once`, in
// scripts.
//
// As text it is an aligned table (DEVICE UP IOPS MB/S INFLIGHT ERRORS
// P50(us) P99(us) MAX(us) RING DATA, the last two as used/size), where
// P50 and P99 are those of the commands between the two snapshots ("-"
// when none completed; since served when the engine keeps no fine
// latency histogram) and MAX the maximum since served. As JSON it is a
// list (empty: []) of objects with these names, a contract with scripts:
//
//	path             the targetcli path, /backstores/user:ram/r1
//	up               whether the device is served
//	iops, mbps       commands and MB (10^6 bytes) per second between the snapshots
//	inflight         commands being served now
//	errors           commands ended in CHECK CONDITION since the device was served
//	lat_p50_us, lat_p99_us, lat_max_us   latency since served, in µs
//	window_lat_p50_us, window_lat_p99_us latency between the snapshots, in µs
//	                 (omitted when no command completed between them)
//	ring_used_bytes, ring_size_bytes     command ring occupancy and size
//	data_used_bytes, data_size_bytes     data area occupancy and size
//	last_error       why the device is down or was last restarted (omitted when none)
//	backend_error    why its storage is unreachable (omitted when none)
//
// A device that appears between the snapshots has rates of 0; one that is
// gone by the second is not listed.
func PrintOnce(ctx context.Context, eng engine.Engine, w io.Writer, asJSON bool) error {
	if eng == nil {
		return fmt.Errorf("monitor --once: no TCMU engine in this process")
	}
	first, err := eng.Stats(ctx)
	if err != nil {
		return fmt.Errorf("monitor --once: reading the TCMU engine's statistics: %w", err)
	}
	t := time.NewTimer(OnceInterval)
	select {
	case <-t.C:
	case <-ctx.Done():
		t.Stop()
		return fmt.Errorf("monitor --once: %w", ctx.Err())
	}
	second, err := eng.Stats(ctx)
	if err != nil {
		return fmt.Errorf("monitor --once: reading the TCMU engine's statistics: %w", err)
	}
	out, windowed := onceDevices(first, second)
	if asJSON {
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return fmt.Errorf("monitor --once: %w", err)
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	if len(out) == 0 {
		_, err := fmt.Fprintln(w, "No TCMU devices are served by this process (create a /backstores/user:ram backstore, or run `tcmsh demo`).")
		return err
	}
	pw := len("DEVICE")
	for _, d := range out {
		pw = max(pw, len(d.Path))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-*s  %-3s %9s %8s %8s %7s %9s %9s %9s %17s %17s\n", pw, "DEVICE", "UP", "IOPS", "MB/S", "INFLIGHT", "ERRORS", "P50(us)", "P99(us)", "MAX(us)", "RING", "DATA")
	for i, d := range out {
		up := "yes"
		if !d.Up {
			up = "no"
		}
		p50, p99 := fmt.Sprintf("%.1f", d.LatP50us), fmt.Sprintf("%.1f", d.LatP99us)
		switch {
		case d.WindowLatP50us != nil:
			p50, p99 = fmt.Sprintf("%.1f", *d.WindowLatP50us), fmt.Sprintf("%.1f", *d.WindowLatP99us)
		case windowed[i]:
			p50, p99 = "-", "-"
		}
		fmt.Fprintf(&b, "%-*s  %-3s %9.0f %8.1f %8d %7d %9s %9s %9.1f %17s %17s\n", pw, d.Path, up, d.IOPS, d.MBps, d.Inflight, d.Errors,
			p50, p99, d.LatMaxus, fmtBytes(d.RingUsedBytes)+"/"+fmtBytes(d.RingSizeBytes), fmtBytes(d.DataUsedBytes)+"/"+fmtBytes(d.DataSizeBytes))
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	for _, d := range out {
		var notes []string
		if d.BackendError != "" {
			notes = append(notes, "backend lost: "+d.BackendError)
		}
		if d.LastError != "" {
			notes = append(notes, "last error: "+d.LastError)
		}
		if len(notes) > 0 {
			if _, err := fmt.Fprintf(w, "%s: %s\n", d.Path, strings.Join(notes, "; ")); err != nil {
				return err
			}
		}
	}
	return nil
}

// onceDevices pairs the two readings by device. windowed[i] says the
// latency between the snapshots is known for out[i] (and may be none).
func onceDevices(first, second []engine.DeviceStats) (out []OnceDevice, windowed []bool) {
	before := make(map[string]*engine.DeviceStats, len(first))
	for i := range first {
		before[deviceKey(&first[i])] = &first[i]
	}
	out = make([]OnceDevice, 0, len(second))
	windowed = make([]bool, len(second))
	for i := range second {
		s := &second[i]
		d := OnceDevice{
			Path: s.Path, Up: s.Up, Inflight: s.Inflight, Errors: s.Errors,
			LatP50us: s.LatP50us, LatP99us: s.LatP99us, LatMaxus: s.LatMaxus,
			RingUsedBytes: s.RingUsedBytes, RingSizeBytes: s.RingSizeBytes,
			DataUsedBytes: s.DataUsedBytes, DataSizeBytes: s.DataSizeBytes,
			LastError: s.LastError, BackendError: s.BackendError,
		}
		if p := before[deviceKey(s)]; p != nil {
			if dt := s.Time.Sub(p.Time).Seconds(); dt > 0 {
				d.IOPS = float64(counterDelta(s.Commands, p.Commands)) / dt
				d.MBps = float64(counterDelta(s.ReadBytes, p.ReadBytes)+counterDelta(s.WriteBytes, p.WriteBytes)) / dt / 1e6
			}
			if s.LatencyHistogram != nil && p.LatencyHistogram != nil {
				windowed[i] = true
				d.WindowLatP50us, d.WindowLatP99us = windowLatency(s, p)
			}
		}
		out = append(out, d)
	}
	return out, windowed
}

// windowLatency returns p50 and p99 of the commands that completed
// between the snapshots p and s, capped at s's maximum; nil when none
// did.
func windowLatency(s, p *engine.DeviceStats) (p50, p99 *float64) {
	base := make([]uint32, engine.LatencyHistogramSize)
	if s.Commands >= p.Commands { // else counters reset: all they hold is new
		for _, b := range p.LatencyHistogram {
			base[engine.LatencyBucketIndex(b.LowNS)] += uint32(b.Count)
		}
	}
	win := windowOf(nil, s.LatencyHistogram, base)
	if len(win) == 0 {
		return nil, nil
	}
	maxLat := time.Duration(s.LatMaxus * 1e3)
	a, b := micros(min(engine.LatencyQuantile(win, 0.50), maxLat)), micros(min(engine.LatencyQuantile(win, 0.99), maxLat))
	return &a, &b
}
