package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tcmsh/tcmsh/engine"
)

// Latency histogram bounds: the engine counts latencies in log2
// nanosecond buckets (bucket b holds [2^(b-1), 2^b) ns). The exported
// histogram keeps the bounds 2^minLatencyLog2 ns (about 1 µs) to
// 2^maxLatencyLog2 ns (about 34 s, past the kernel's 30 s command
// timeout): finer buckets fold into the first, coarser ones into +Inf, so
// that every scrape has the same series.
const (
	minLatencyLog2 = 10
	maxLatencyLog2 = 35
)

// statsTimeout bounds one scrape's Stats call: a scrape must not pile up
// behind a wedged engine.
const statsTimeout = 5 * time.Second

// deviceCollector turns Engine.Stats into Prometheus metrics at scrape
// time. It holds no state of its own: Stats is a snapshot of counters the
// serving loops keep anyway, so a scrape never waits on a ring.
type deviceCollector struct {
	eng engine.Engine
	log *slog.Logger

	up, info                        *prometheus.Desc
	backendUp                       *prometheus.Desc
	commands, commandBytes          *prometheus.Desc
	readBytes, writtenBytes         *prometheus.Desc
	errors, checkConditions         *prometheus.Desc
	duration                        *prometheus.Desc
	inflight, inflightMax           *prometheus.Desc
	ringUsed, ringUsedMax, ringSize *prometheus.Desc
	dataUsed, dataUsedMax, dataSize *prometheus.Desc
	statsFailed                     *prometheus.Desc
	devices                         *prometheus.Desc
}

func newDeviceCollector(eng engine.Engine, log *slog.Logger) *deviceCollector {
	dev := []string{"device"}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("tcmsh_"+name, help, labels, nil)
	}
	return &deviceCollector{
		eng: eng, log: log,
		up:              d("device_up", "1 when the device's serving loop runs, 0 when it is down.", dev...),
		backendUp:       d("backend_up", "1 while the device's backend reaches its storage, 0 when it lost it (an RBD cluster connection; stats shows why as backend_error).", dev...),
		info:            d("device_info", "Always 1; labels name the device's configfs directory, uio device and subtype.", "device", "configfs", "uio", "subtype"),
		commands:        d("commands_total", "SCSI commands completed, by opcode name.", "device", "opcode"),
		commandBytes:    d("command_bytes_total", "Data bytes transferred by completed commands, by opcode name.", "device", "opcode"),
		readBytes:       d("read_bytes_total", "Bytes read by initiators.", dev...),
		writtenBytes:    d("written_bytes_total", "Bytes written by initiators.", dev...),
		errors:          d("command_errors_total", "Commands that ended in CHECK CONDITION.", dev...),
		checkConditions: d("check_conditions_total", "Commands that ended in CHECK CONDITION, by sense key.", "device", "sense_key"),
		duration:        d("command_duration_seconds", "Command latency from the ring entry to its completion. Bucket bounds are the engine's powers of two nanoseconds; the sum is estimated from bucket midpoints.", dev...),
		inflight:        d("inflight_commands", "Commands taken from the ring and not yet completed.", dev...),
		inflightMax:     d("inflight_commands_max", "Highest number of commands in flight at once since serving started.", dev...),
		ringUsed:        d("ring_used_bytes", "Command ring bytes in use.", dev...),
		ringUsedMax:     d("ring_used_max_bytes", "Highest command ring use since serving started, in bytes.", dev...),
		ringSize:        d("ring_size_bytes", "Command ring size in bytes.", dev...),
		dataUsed:        d("data_area_used_bytes", "Data area bytes held by commands in flight.", dev...),
		dataUsedMax:     d("data_area_used_max_bytes", "Highest data area use since serving started, in bytes.", dev...),
		dataSize:        d("data_area_size_bytes", "Data area size in bytes.", dev...),
		devices:         d("devices", "Devices the daemon serves."),
		statsFailed:     d("stats_failed", "1 when this scrape could not read the engine's statistics (the error is in the daemon's log)."),
	}
}

// Describe sends every descriptor.
func (c *deviceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.backendUp, c.info, c.commands, c.commandBytes, c.readBytes, c.writtenBytes,
		c.errors, c.checkConditions, c.duration, c.inflight, c.inflightMax, c.ringUsed, c.ringUsedMax,
		c.ringSize, c.dataUsed, c.dataUsedMax, c.dataSize, c.devices, c.statsFailed} {
		ch <- d
	}
}

// Collect reads one Stats snapshot and sends its metrics.
func (c *deviceCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), statsTimeout)
	defer cancel()
	stats, err := c.eng.Stats(ctx)
	failed := 0.0
	if err != nil {
		c.log.Warn("metrics: reading the engine's statistics failed", "err", err)
		failed = 1
	}
	ch <- prometheus.MustNewConstMetric(c.statsFailed, prometheus.GaugeValue, failed)
	ch <- prometheus.MustNewConstMetric(c.devices, prometheus.GaugeValue, float64(len(stats)))
	for i := range stats {
		c.collectDevice(ch, &stats[i])
	}
}

func (c *deviceCollector) collectDevice(ch chan<- prometheus.Metric, s *engine.DeviceStats) {
	dev := s.Path
	if dev == "" {
		dev = s.ConfigPath
	}
	gauge := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), dev)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), append([]string{dev}, labels...)...)
	}
	up := uint64(0)
	if s.Up {
		up = 1
	}
	gauge(c.up, up)
	backendUp := uint64(1)
	if s.BackendError != "" {
		backendUp = 0
	}
	gauge(c.backendUp, backendUp)
	ch <- prometheus.MustNewConstMetric(c.info, prometheus.GaugeValue, 1, dev, s.ConfigPath, s.UIO, s.Subtype)

	// By opcode; commands the per-opcode table does not account for (if
	// any) go under "other", so that the series add up to the total.
	seen := make(map[string]bool, len(s.ByOpcode)+1)
	var opCommands uint64
	for _, op := range s.ByOpcode {
		name := opcodeLabel(op)
		if seen[name] {
			name = fmt.Sprintf("%s_0x%02x", name, op.Opcode) // two opcodes sharing a name must stay two series
		}
		seen[name] = true
		counter(c.commands, op.Commands, name)
		counter(c.commandBytes, op.Bytes, name)
		opCommands += op.Commands
	}
	if s.Commands > opCommands && !seen["other"] {
		counter(c.commands, s.Commands-opCommands, "other")
		counter(c.commandBytes, 0, "other")
	}
	counter(c.readBytes, s.ReadBytes)
	counter(c.writtenBytes, s.WriteBytes)
	counter(c.errors, s.Errors)
	for key, n := range s.CheckConditions {
		counter(c.checkConditions, n, key)
	}

	count, sum, buckets := latencyHistogram(s.LatencyBuckets)
	ch <- prometheus.MustNewConstHistogram(c.duration, count, sum, buckets, dev)

	gauge(c.inflight, s.Inflight)
	gauge(c.inflightMax, s.InflightMax)
	gauge(c.ringUsed, s.RingUsedBytes)
	gauge(c.ringUsedMax, s.RingUsedMaxBytes)
	gauge(c.ringSize, s.RingSizeBytes)
	gauge(c.dataUsed, s.DataUsedBytes)
	gauge(c.dataUsedMax, s.DataUsedMaxBytes)
	gauge(c.dataSize, s.DataSizeBytes)
}

// opcodeLabel is the opcode's name in a label-friendly form
// ("WRITE(10)" → "write_10"), or its hex value when it has none.
func opcodeLabel(op engine.OpcodeStats) string {
	name := strings.ToLower(strings.TrimSpace(op.Name))
	if name == "" {
		return fmt.Sprintf("0x%02x", op.Opcode)
	}
	var b strings.Builder
	lastUnderscore := true // no leading underscore
	for _, r := range name {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			lastUnderscore = false
		} else if !lastUnderscore {
			b.WriteByte('_')
			lastUnderscore = true
		}
	}
	return strings.TrimSuffix(b.String(), "_")
}

// latencyHistogram converts the engine's log2 ns buckets into a
// Prometheus histogram in seconds: the cumulative count at each upper
// bound 2^b ns for b in [minLatencyLog2, maxLatencyLog2], the total count,
// and a sum estimated at each bucket's midpoint (the engine keeps no exact
// sum; the midpoint is off by at most a third within a bucket).
func latencyHistogram(log2ns []uint64) (count uint64, sum float64, buckets map[float64]uint64) {
	buckets = make(map[float64]uint64, maxLatencyLog2-minLatencyLog2+1)
	var cumulative uint64
	next := 0 // next engine bucket to fold in
	for b := minLatencyLog2; b <= maxLatencyLog2; b++ {
		for ; next <= b && next < len(log2ns); next++ {
			cumulative += log2ns[next]
		}
		buckets[math.Ldexp(1, b)/1e9] = cumulative
	}
	for i, n := range log2ns {
		count += n
		if n == 0 {
			continue
		}
		// Bucket i holds [2^(i-1), 2^i) ns; bucket 0 holds 0 ns.
		mid := 0.0
		if i > 0 {
			mid = 0.75 * math.Ldexp(1, i)
		}
		sum += float64(n) * mid / 1e9
	}
	return count, sum, buckets
}

// metricsServer is the HTTP endpoint of the metrics.
type metricsServer struct {
	addr string
	http *http.Server
	done chan struct{}
}

// metricsListenAddr reads the MetricsAddr option: a bare port, with or
// without its colon, means the loopback interface only; metrics tell who
// uses which device, which is not for the whole network by default.
func metricsListenAddr(addr string) (string, error) {
	port := strings.TrimPrefix(addr, ":")
	if n, err := strconv.Atoi(port); err == nil {
		if n < 0 || n > 65535 {
			return "", fmt.Errorf("metrics address %q: port out of range", addr)
		}
		return net.JoinHostPort("127.0.0.1", port), nil
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return "", fmt.Errorf("metrics address %q: expected PORT or HOST:PORT: %w", addr, err)
	}
	return addr, nil
}

func newMetricsRegistry(eng engine.Engine, log *slog.Logger, version string) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(newDeviceCollector(eng, log))
	reg.MustRegister(collectors.NewGoCollector())
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tcmsh_build_info", Help: "Always 1; the version label is the daemon's build.",
		ConstLabels: prometheus.Labels{"version": version},
	}, func() float64 { return 1 }))
	return reg
}

func startMetrics(addr string, eng engine.Engine, log *slog.Logger, version string) (*metricsServer, error) {
	listenAddr, err := metricsListenAddr(addr)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", listenAddr)
	if err != nil {
		return nil, fmt.Errorf("metrics endpoint: %w", err)
	}
	reg := newMetricsRegistry(eng, log, version)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, "tcmsh serve: metrics at /metrics")
	})
	m := &metricsServer{addr: ln.Addr().String(), done: make(chan struct{}),
		http: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	go func() {
		defer close(m.done)
		if err := m.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics endpoint stopped", "addr", m.addr, "err", err)
		}
	}()
	log.Info("metrics endpoint listening", "url", "http://"+m.addr+"/metrics")
	return m, nil
}

func (m *metricsServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = m.http.Shutdown(ctx)
	<-m.done
}
