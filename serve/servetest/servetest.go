// Package servetest helps test the `tcmsh serve` daemon and its clients:
// Fake is a small engine.Engine whose behaviour tests control, and Start
// runs a daemon in the test's process.
package servetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/serve"
)

// Fake is an engine.Engine for protocol tests: it serves nothing, but
// keeps the set of served paths, returns the statistics a test sets, and
// runs workloads that last until cancelled (or Count operations).
type Fake struct {
	mu       sync.Mutex
	served   []string
	stats    map[string]engine.DeviceStats
	closed   bool
	started  chan string // workload LUN paths as they start
	canceled chan string // workload LUN paths as they see their context end
}

var _ engine.Engine = (*Fake)(nil)

// NewFake returns an empty Fake.
func NewFake() *Fake {
	return &Fake{stats: make(map[string]engine.DeviceStats), started: make(chan string, 16), canceled: make(chan string, 16)}
}

// SetStats sets what Stats returns for a served path.
func (f *Fake) SetStats(s engine.DeviceStats) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stats[s.ConfigPath] = s
}

// WorkloadStarted receives the LUN path of each workload as it starts.
func (f *Fake) WorkloadStarted() <-chan string { return f.started }

// WorkloadCanceled receives the LUN path of each workload whose context
// ended before it finished.
func (f *Fake) WorkloadCanceled() <-chan string { return f.canceled }

// Closed reports whether Close was called.
func (f *Fake) Closed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed
}

// Served lists the served paths.
func (f *Fake) Served() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.served)
}

// Subtypes implements engine.Engine.
func (f *Fake) Subtypes() []string { return []string{"file", "ram"} }

// Validate accepts "<ram|file>/<anything>" and a positive size.
func (f *Fake) Validate(devConfig string, size int64) error {
	sub, _, _ := strings.Cut(devConfig, "/")
	if !slices.Contains(f.Subtypes(), sub) {
		return fmt.Errorf("dev_config %q: unknown subtype %q (served: file, ram)", devConfig, sub)
	}
	if size <= 0 {
		return fmt.Errorf("dev_config %q: size %d: must be positive", devConfig, size)
	}
	return nil
}

// Serve records a user backstore path as served.
func (f *Fake) Serve(ctx context.Context, configPath string) error {
	if !strings.HasPrefix(configPath, "target/core/user_") {
		return fmt.Errorf("engine: %q is not a user backstore's configfs path", configPath)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return errors.New("engine: closed")
	}
	if !slices.Contains(f.served, configPath) {
		f.served = append(f.served, configPath)
		slices.Sort(f.served)
	}
	return nil
}

// Release forgets a served path.
func (f *Fake) Release(ctx context.Context, configPath string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := slices.Index(f.served, configPath)
	if i < 0 {
		return fmt.Errorf("engine: %s is not served", configPath)
	}
	f.served = slices.Delete(f.served, i, i+1)
	return nil
}

// Stats returns the statistics set for each served path, in path order.
func (f *Fake) Stats(ctx context.Context) ([]engine.DeviceStats, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []engine.DeviceStats
	for _, p := range f.served {
		s, ok := f.stats[p]
		if !ok {
			s = engine.DeviceStats{ConfigPath: p, Up: true}
		}
		out = append(out, s)
	}
	return out, nil
}

// Workload counts operations until ctx ends, or until spec.Count of them
// when set; a cancelled workload returns what it did and ctx's error.
func (f *Fake) Workload(ctx context.Context, lun string, spec engine.WorkloadSpec) (engine.WorkloadResult, error) {
	if !strings.HasPrefix(lun, "target/") {
		return engine.WorkloadResult{}, fmt.Errorf("engine: %q is not a LUN's configfs path", lun)
	}
	start := time.Now()
	select {
	case f.started <- lun:
	default: // nobody is watching (a fuzz run): do not block the workload
	}
	var res engine.WorkloadResult
	for spec.Count == 0 || res.Ops < spec.Count {
		select {
		case <-ctx.Done():
			select {
			case f.canceled <- lun:
			default:
			}
			res.Seconds = time.Since(start).Seconds()
			return res, ctx.Err()
		default:
		}
		res.Ops++
		if spec.Count == 0 {
			time.Sleep(100 * time.Microsecond) // an I/O's worth of waiting
		}
	}
	res.Seconds = time.Since(start).Seconds()
	res.IOPS = float64(res.Ops) / max(res.Seconds, 1e-9)
	return res, nil
}

// InProcess is true, as for any engine the daemon runs.
func (f *Fake) InProcess() bool { return true }

// Close marks the engine closed.
func (f *Fake) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

// Daemon is a daemon running in the test's process.
type Daemon struct {
	Listening serve.Listening
	cancel    context.CancelFunc
	done      chan error
	stopped   bool
	err       error
}

// Stop cancels the daemon's context (its SIGTERM) and returns Run's
// result.
func (d *Daemon) Stop() error {
	if !d.stopped {
		d.cancel()
		d.err = <-d.done
		d.stopped = true
	}
	return d.err
}

// Wait waits for Run to return by itself (after a signal) and returns
// its result.
func (d *Daemon) Wait() error {
	if !d.stopped {
		d.err = <-d.done
		d.stopped = true
		d.cancel()
	}
	return d.err
}

// ShortSocketPath is a control socket path in a fresh temporary folder
// short enough for a unix socket (108 bytes), which t.TempDir's long
// names can exceed.
func ShortSocketPath(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "c.sock")
	if len(p) > 100 {
		t.Fatalf("temporary folder %s too long for a unix socket path", dir)
	}
	return p
}

// Start runs serve.Run with opts in the background and returns once it
// takes requests (or fails the test if Run returns first). Socket defaults
// to a fresh temporary path and the log to a temporary file, shown when
// the test fails (unless TCMUConf is set: its log_dir decides). AllowedUID is taken as given: set it to os.Getuid() to
// connect as yourself. The daemon is stopped at the end of the test.
func Start(t testing.TB, opts serve.Options) *Daemon {
	t.Helper()
	if opts.Socket == "" {
		opts.Socket = ShortSocketPath(t)
	}
	if opts.LogFile == "" && opts.TCMUConf == "" { // with tcmu.conf, its log_dir decides
		opts.LogFile = filepath.Join(t.TempDir(), "serve.log")
		t.Cleanup(func() { dumpLog(t, opts.LogFile) })
	}
	if opts.LogLevel == slog.LevelInfo { // the zero value: tests want every request in the log they show on failure
		opts.LogLevel = slog.LevelDebug
	}
	ready := make(chan serve.Listening, 1)
	userReady := opts.Ready
	opts.Ready = func(l serve.Listening) {
		if userReady != nil {
			userReady(l)
		}
		ready <- l
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Daemon{cancel: cancel, done: make(chan error, 1)}
	go func() { d.done <- serve.Run(ctx, opts) }()
	select {
	case d.Listening = <-ready:
	case err := <-d.done:
		cancel()
		t.Fatalf("serve.Run returned before it was ready: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Errorf("serve.Run: %v", err)
		}
	})
	return d
}

func dumpLog(t testing.TB, path string) {
	if !t.Failed() {
		return
	}
	if b, err := os.ReadFile(path); err == nil {
		t.Logf("daemon log:\n%s", b)
	}
}

// Scrape fetches http://addr/metrics and parses it with Prometheus's own
// text parser, failing the test on any error.
func Scrape(t testing.TB, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("scrape: %s\n%s", resp.Status, b)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("scrape: parsing the text format: %v", err)
	}
	return families
}

// Sample finds the metric of family name whose labels include labels
// (name, value pairs); nil when there is none.
func Sample(families map[string]*dto.MetricFamily, name string, labels ...string) *dto.Metric {
	f := families[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range m.GetLabel() {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		return m
	}
	return nil
}

// Value is a counter's or gauge's value, NaN for another kind or nil.
func Value(m *dto.Metric) float64 {
	switch {
	case m == nil:
		return math.NaN()
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	}
	return math.NaN()
}
