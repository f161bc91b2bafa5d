package engine

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tcmsh/tcmsh/backends"
	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/sim"
	"github.com/tcmsh/tcmsh/sim/ring"
)

// Queue depth bounds of a served device.
const (
	// DefaultQueueDepth is the number of commands a served device runs
	// at once when Options.QueueDepth is 0.
	DefaultQueueDepth = 32
	// MaxQueueDepth is the kernel's default queue depth of a TCMU device
	// (attrib/hw_queue_depth): the target core never has more commands
	// outstanding on one device, so more workers would only wait.
	MaxQueueDepth = 128
)

// DefaultCmdTimeout is the kernel's default attrib/cmd_time_out; the
// simulated kernel's rings use it too.
const DefaultCmdTimeout = 30 * time.Second

// Options configure NewLocal.
type Options struct {
	// LIO is the configfs model of the kernel whose devices are served
	// (real or simulated). Required.
	LIO *configfs.LIO
	// Sim is the simulated kernel behind LIO; nil means LIO is the real
	// kernel's configfs, and devices are reached through /dev/uioN.
	Sim *sim.Kernel
	// QueueDepth is the number of commands each served device runs at
	// once; 0 means DefaultQueueDepth. It is capped by the device's
	// attrib/hw_queue_depth and by MaxQueueDepth.
	QueueDepth int
	// AutoServe serves every user backstore whose subtype tcmsh handles
	// as soon as its uio device appears, and those that exist at start-up
	// (the `serve` daemon). Off, devices are served only by Serve (the
	// shell).
	AutoServe bool
	// NoStats turns the per-command statistics of every served device off
	// (tcmsh serve --stats=false): no clock reads, latency histograms or
	// occupancy figures per command, so the monitor and the metrics show
	// counts of TMRs and bad entries only. They are on by default: their
	// cost is a few percent at most (test/vm/bench measures it).
	NoStats bool
	// Logf receives what happens in the background that no caller can be
	// told through an error: a serving loop that failed and was restarted
	// or given up, an event that could not be applied. Nil discards it.
	// It may be called from any goroutine.
	Logf func(format string, args ...any)

	// Real kernel only: the roots of sysfs and /dev ("" means /sys and
	// /dev); tests point them at fake trees.
	Sysfs, DevDir string
	// ScanInterval is how often the uio devices are rescanned when the
	// TCM-USER netlink family is absent and AutoServe is on; 0 means 2s.
	ScanInterval time.Duration
	// NoNetlink skips the netlink listener on the real kernel (scanning
	// only), for tests and for machines where generic netlink is filtered.
	NoNetlink bool

	// RestartBackoff is the first wait before a failed serving loop is
	// restarted; it doubles up to 5s. 0 means 100ms.
	RestartBackoff time.Duration
	// MaxRestarts is how many failures in a row (without a minute of
	// healthy serving between them) are retried before a device is
	// reported down for good; 0 means 5.
	MaxRestarts int
}

// Local is the in-process TCMU engine: it serves user backstores from this
// process, each through a tcmu.Ring over a scsi.Disk over a backend, on the
// real kernel (uio and netlink) or on the simulated one (sim/ring).
//
// All methods are safe for concurrent use. Serve, Release and Close are
// serialised among themselves; Stats and Workload run alongside them.
type Local struct {
	opts Options
	lio  *configfs.LIO
	kern kernelSide

	// serveMu serialises Serve, Release and Close: each changes what is
	// served, and two of them on one device would race for its uio open.
	serveMu sync.Mutex

	mu     sync.Mutex
	devs   map[string]*served // by configfs path
	closed bool

	bg     sync.WaitGroup // background goroutines (events, scanning, auto-serve)
	bgCtx  context.Context
	bgStop context.CancelFunc
}

var _ Engine = (*Local)(nil)

// NewLocal starts the in-process engine. With opts.Sim set it serves the
// simulated kernel: it creates the kernel side of the rings (sim/ring),
// installs it as the kernel's user-device hooks so that enabling a user
// backstore creates its ring, and re-creates the rings of user backstores
// that the persisted simulated state already has enabled (ring state lives
// in the process; configfs state survives it). Without opts.Sim it serves
// the real kernel through /dev/uioN and follows TCM-USER netlink events
// (without ever turning the kernel's netlink reply mode on); when the
// family is absent it keeps working by scanning /sys/class/uio.
//
// Nothing is served until Serve is called, unless opts.AutoServe is set.
// Close stops everything NewLocal started.
//
//	eng, err := engine.NewLocal(engine.Options{LIO: lio, Sim: simKernel})
//	defer eng.Close()
//	err = eng.Serve(ctx, "target/core/user_0/r1")
func NewLocal(opts Options) (*Local, error) {
	if opts.LIO == nil {
		return nil, errors.New("engine: NewLocal needs the LIO model (Options.LIO)")
	}
	if opts.QueueDepth < 0 {
		return nil, fmt.Errorf("engine: queue depth %d: want 0 (default %d) to %d", opts.QueueDepth, DefaultQueueDepth, MaxQueueDepth)
	}
	if opts.QueueDepth == 0 {
		opts.QueueDepth = DefaultQueueDepth
	}
	opts.QueueDepth = min(opts.QueueDepth, MaxQueueDepth)
	if opts.RestartBackoff <= 0 {
		opts.RestartBackoff = 100 * time.Millisecond
	}
	if opts.MaxRestarts <= 0 {
		opts.MaxRestarts = 5
	}
	if opts.ScanInterval <= 0 {
		opts.ScanInterval = 2 * time.Second
	}
	l := &Local{opts: opts, lio: opts.LIO, devs: make(map[string]*served)}
	l.bgCtx, l.bgStop = context.WithCancel(context.Background())
	var err error
	if opts.Sim != nil {
		l.kern, err = newSimSide(l, opts.Sim)
	} else {
		l.kern, err = newRealSide(l)
	}
	if err != nil {
		l.bgStop()
		return nil, err
	}
	if opts.AutoServe {
		l.autoServeExisting()
	}
	return l, nil
}

// logf reports a background event.
func (l *Local) logf(format string, args ...any) {
	if l.opts.Logf != nil {
		l.opts.Logf(format, args...)
	}
}

// Subtypes lists the user backstore subtypes this engine serves.
func (l *Local) Subtypes() []string { return backends.Subtypes() }

// Validate checks a dev_config for a backstore of size bytes.
func (l *Local) Validate(devConfig string, size int64) error {
	if err := backends.Validate(devConfig, size); err != nil {
		return fmt.Errorf("dev_config %q: %w", devConfig, err)
	}
	return nil
}

// InProcess is true: devices stop being served when this process exits.
func (l *Local) InProcess() bool { return true }

// SimRing returns the kernel side of the simulated rings, nil on the real
// kernel. It is for tests and diagnostics (counters of the simulated
// kernel: BUSY answers, ring resets); the engine owns it.
func (l *Local) SimRing() *ring.Kernel {
	if s, ok := l.kern.(*simSide); ok {
		return s.rk
	}
	return nil
}

// cleanConfigPath normalises the path of a backstore and checks that it
// names a user backstore. It takes the configfs path the Engine interface
// documents ("target/core/user_N/name"), the same under the configfs mount
// point ("/sys/kernel/config/target/core/user_N/name"), or targetcli's
// path ("/backstores/user:<subtype>/name"), which is looked up.
func (l *Local) cleanConfigPath(configPath string) (string, configfs.StorageObject, error) {
	p := strings.TrimPrefix(path.Clean("/"+configPath), "/")
	if rest, ok := strings.CutPrefix(p, "backstores/"); ok {
		kind, name, _ := strings.Cut(rest, "/")
		plugin, known := configfs.PluginOf(kind)
		if !known || name == "" || strings.Contains(name, "/") {
			return p, configfs.StorageObject{}, fmt.Errorf("engine: %q is not a backstore path (expected /backstores/user:<subtype>/<name>)", configPath)
		}
		so, err := l.lio.FindStorageObject(plugin, name)
		if err != nil {
			return p, so, fmt.Errorf("engine: %s: %w", configPath, err)
		}
		p = so.Path()
	} else if i := strings.Index(p, configfs.Root+"/core/"); i > 0 {
		p = p[i:]
	}
	so, ok := configfs.StorageObjectAt(p)
	if !ok {
		return p, so, fmt.Errorf("engine: %q is not a backstore's configfs path (expected target/core/user_N/<name>)", configPath)
	}
	if so.Plugin != "user" {
		return p, so, fmt.Errorf("engine: %s is a %s backstore; only user backstores are served by tcmsh (the kernel serves the others itself)",
			p, configfs.BackstoreName(so.Plugin))
	}
	return p, so, nil
}

// Serve starts serving the enabled user backstore at configPath. Serving
// one that is already served is not an error; one whose serving loop
// failed or crashed is attached again (reset_ring recipe). The call
// returns once the device is attached and its ring loop runs, or with why
// it could not be.
func (l *Local) Serve(ctx context.Context, configPath string) error {
	p, so, err := l.cleanConfigPath(configPath)
	if err != nil {
		return err
	}
	l.serveMu.Lock()
	defer l.serveMu.Unlock()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return errors.New("engine: closed")
	}
	s := l.devs[p]
	l.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("engine: serve %s: %w", p, err)
	}
	if s != nil {
		if s.running() {
			return nil
		}
		if !s.isGone() {
			// The ring loop failed or crashed while the device stayed:
			// attach again with the same disk and backend, as a
			// restarted serving thread would (a ram backend keeps its
			// data).
			return s.start()
		}
		// The device was removed (and perhaps made again): start afresh.
		_ = s.stop(ctx, false)
		l.mu.Lock()
		delete(l.devs, p)
		l.mu.Unlock()
	}
	s, err = l.newServed(p, so)
	if err != nil {
		return err
	}
	if err := s.start(); err != nil {
		s.closeBackend()
		return err
	}
	l.mu.Lock()
	l.devs[p] = s
	l.mu.Unlock()
	return nil
}

// Release stops serving the backstore at configPath, before it is deleted
// or handed to another handler: the device is blocked (new commands get
// BUSY, which initiators retry), the commands the ring loop took complete,
// the ones still in the ring are answered BUSY by a ring reset, and the
// device is left blocked. Releasing a backstore that is not served is not
// an error.
func (l *Local) Release(ctx context.Context, configPath string) error {
	p, _, err := l.cleanConfigPath(configPath)
	if err != nil {
		return err
	}
	l.serveMu.Lock()
	defer l.serveMu.Unlock()
	l.mu.Lock()
	s := l.devs[p]
	l.mu.Unlock()
	if s == nil {
		return nil
	}
	err = s.stop(ctx, true)
	l.mu.Lock()
	if l.devs[p] == s {
		delete(l.devs, p)
	}
	l.mu.Unlock()
	return err
}

// Close releases every served device, stops the background work and, on
// the simulated kernel, tears the rings down as a process exit would.
func (l *Local) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	// The background goroutines first, before taking serveMu: one of
	// them may be waiting for serveMu inside Serve, and sees closed once
	// it has it.
	l.bgStop()
	l.bg.Wait()
	// serveMu waits for a Serve that got past the closed check to finish
	// registering its device, so that it is stopped below.
	l.serveMu.Lock()
	defer l.serveMu.Unlock()
	l.mu.Lock()
	devs := make([]*served, 0, len(l.devs))
	for _, s := range l.devs {
		devs = append(devs, s)
	}
	l.devs = map[string]*served{}
	l.mu.Unlock()
	var errs []error
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, s := range devs {
		if err := s.stop(ctx, true); err != nil {
			errs = append(errs, err)
		}
	}
	if err := l.kern.close(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// served returns the device served at configPath (nil if none).
func (l *Local) served(configPath string) *served {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.devs[configPath]
}

// servedDevices returns the served devices sorted by path.
func (l *Local) servedDevices() []*served {
	l.mu.Lock()
	out := make([]*served, 0, len(l.devs))
	for _, s := range l.devs {
		out = append(out, s)
	}
	l.mu.Unlock()
	slices.SortFunc(out, func(a, b *served) int { return strings.Compare(a.configPath, b.configPath) })
	return out
}

// Stats returns one snapshot per served device, ordered by configfs path.
func (l *Local) Stats(ctx context.Context) ([]DeviceStats, error) {
	devs := l.servedDevices()
	out := make([]DeviceStats, 0, len(devs))
	for _, s := range devs {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("engine: stats: %w", err)
		}
		out = append(out, s.stats())
	}
	return out, nil
}

// handles reports whether this engine has a handler for subtype.
func handles(subtype string) bool { return slices.Contains(backends.Subtypes(), subtype) }

// autoServe serves configPath in the background (AutoServe), reporting a
// failure through Logf.
func (l *Local) autoServe(configPath, subtype string) {
	if !l.opts.AutoServe || !handles(subtype) {
		return
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.bg.Add(1)
	l.mu.Unlock()
	go func() {
		defer l.bg.Done()
		// The enable write that announced the device is followed by the
		// writes of its unit serial and attributes; let them land, since
		// the SCSI identity is read once, at attach.
		select {
		case <-time.After(200 * time.Millisecond):
		case <-l.bgCtx.Done():
			return
		}
		if err := l.Serve(l.bgCtx, configPath); err != nil && l.bgCtx.Err() == nil {
			l.logf("engine: auto-serve %s: %v", configPath, err)
		}
	}()
}

// autoServeExisting serves the user backstores that exist at start-up.
func (l *Local) autoServeExisting() {
	devs, err := l.kern.devices()
	if err != nil {
		l.logf("engine: auto-serve: listing uio devices: %v", err)
		return
	}
	for _, d := range devs {
		if handles(d.subtype) {
			if err := l.Serve(l.bgCtx, d.configPath); err != nil {
				l.logf("engine: auto-serve %s: %v", d.configPath, err)
			}
		}
	}
}

// deviceRemoved stops serving a device whose uio device is going away.
func (l *Local) deviceRemoved(configPath string) {
	s := l.served(configPath)
	if s == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Not blocked and not reset: the device is being removed, and the
	// kernel fails what is left in its ring itself.
	if err := s.stop(ctx, false); err != nil {
		l.logf("engine: %s removed: %v", configPath, err)
	}
	l.mu.Lock()
	if l.devs[configPath] == s {
		delete(l.devs, configPath)
	}
	l.mu.Unlock()
}

// reconfigure applies a RECONFIG of a served device: a new dev_size
// resizes the disk (initiators get CAPACITY DATA HAS CHANGED), a new
// emulate_write_cache switches WCE (MODE PARAMETERS CHANGED). A new
// dev_config cannot be applied to a running device.
func (l *Local) reconfigure(configPath, attribute, value string) error {
	s := l.served(configPath)
	if s == nil {
		return nil // not served here: nothing to change
	}
	return s.reconfigure(attribute, value)
}
