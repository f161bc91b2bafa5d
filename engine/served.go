package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tcmsh/tcmsh/backends"
	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/scsi"
	"github.com/tcmsh/tcmsh/sim/ring"
	"github.com/tcmsh/tcmsh/tcmu"
	"github.com/tcmsh/tcmsh/tcmu/uio"
)

// healthyRun is how long a ring loop must serve before its failure counts
// as a new one rather than another of a series.
const healthyRun = time.Minute

// maxBackoff bounds the wait between restarts of a failed ring loop.
const maxBackoff = 5 * time.Second

// errCrashed marks a ring loop stopped by SimulateCrash.
var errCrashed = errors.New("serving loop killed (simulated crash)")

// uioDevice is a user backstore's uio device as either kernel shows it.
type uioDevice struct {
	minor      int
	name       string // tcm-user/<hba>/<name>/<dev_config>
	configPath string // target/core/user_<hba>/<name>
	devConfig  string
	subtype    string
}

func (d uioDevice) uio() string { return "uio" + strconv.Itoa(d.minor) }

// kernelSide is what differs between the real and the simulated kernel.
type kernelSide interface {
	// devices lists the uio devices of enabled user backstores.
	devices() ([]uioDevice, error)
	// find returns the uio device of the backstore at configPath.
	find(configPath string) (uioDevice, error)
	// attach opens the device exclusively and readies its ring for a new
	// handler: block_dev=1, reset_ring=1, map, block_dev=0.
	attach(d uioDevice) (tcmu.Device, error)
	// crashable reports whether SimulateCrash can stop a ring loop
	// abruptly on this kernel.
	crashable() bool
	// workloadTarget resolves a LUN to what the initiator submits to.
	workloadTarget(lunPath string) (workloadTarget, error)
	close() error
}

// served is one device this engine serves: its disk and backend (which
// outlive restarts of the ring loop, as they would outlive a restarted
// serving thread) and the supervisor of its ring loop.
type served struct {
	l          *Local
	configPath string
	so         configfs.StorageObject
	dev        uioDevice
	qd         int
	attrs      uio.Attributes
	backend    backends.Backend
	disk       *scsi.Disk

	mu        sync.Mutex
	cancel    context.CancelFunc // stops the current supervisor
	done      chan struct{}      // closed when the current supervisor exits
	handle    tcmu.Device        // the open uio device of the running ring
	ring      *tcmu.Ring         // the running ring, nil while down
	up        bool
	lastErr   error
	restarts  int // ring loops restarted after a failure, over the device's life
	attaches  int // times the device was attached (first serve and every reattach)
	crashing  bool
	gone      bool       // the uio device went away
	total     statsTotal // statistics of the ring loops that ended
	ringSize  uint64
	dataSize  uint64
	backendMu sync.Once
	stopWatch func() // ends the backend's size watch (nil: none)
}

// newServed reads the backstore's attributes, opens its backend and builds
// its disk. Nothing runs yet.
func (l *Local) newServed(configPath string, so configfs.StorageObject) (*served, error) {
	dev, err := l.kern.find(configPath)
	if err != nil {
		return nil, err
	}
	if !handles(dev.subtype) {
		return nil, fmt.Errorf("engine: %s: no handler for subtype %q (dev_config %q); tcmsh serves %s",
			configPath, dev.subtype, dev.devConfig, strings.Join(backends.Subtypes(), ", "))
	}
	attrs, err := uio.ReadAttributes(l.lio.FS(), configPath)
	if err != nil {
		return nil, fmt.Errorf("engine: serve %s: %w", configPath, err)
	}
	if attrs.Size == 0 {
		return nil, fmt.Errorf("engine: serve %s: dev_size is 0: set a size with `control dev_size=<bytes>` before enabling", configPath)
	}
	qd := l.opts.QueueDepth
	if v, err := l.lio.ReadAttr(path.Join(configPath, "attrib", "hw_queue_depth")); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
			qd = min(qd, n)
		}
	}
	// optimal_sectors is the OPTIMAL TRANSFER LENGTH the kernel reports
	// for its own backstores (hw_max_sectors unless someone set it).
	var optimal uint32
	if v, err := l.lio.ReadAttr(path.Join(configPath, "attrib", "optimal_sectors")); err == nil {
		if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32); err == nil {
			optimal = uint32(n)
		}
	}
	b, err := backends.Open(dev.devConfig, int64(attrs.Size), attrs.BlockSize)
	if err != nil {
		return nil, fmt.Errorf("engine: serve %s: open backend %q: %w", configPath, dev.devConfig, err)
	}
	disk, err := scsi.NewDisk(scsi.DiskConfig{
		BlockSize:      attrs.BlockSize,
		Capacity:       int64(attrs.Size),
		MaxSectors:     attrs.MaxSectors,
		OptimalSectors: optimal,
		WriteCache:     attrs.WriteCache,
		VendorID:       attrs.Vendor,
		ProductID:      attrs.Product,
		Revision:       attrs.Revision,
		UnitSerial:     attrs.UnitSerial,
		ALUA:           &configfsALUA{lio: l.lio, configPath: configPath},
		CopyTargets:    localCopyTargets{l},
	}, b)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("engine: serve %s: %w", configPath, err)
	}
	s := &served{l: l, configPath: configPath, so: so, dev: dev, qd: qd, attrs: attrs, backend: b, disk: disk}
	if w, ok := b.(backends.SizeWatcher); ok {
		s.stopWatch = w.WatchSize(s.backendResized)
	}
	return s, nil
}

// backendResized follows a size change made outside tcmsh (an RBD image
// resized in the cluster). The new size goes to the backstore's dev_size,
// as `set attribute dev_size` would: the kernel keeps the size a restart
// opens the image with, and the RECONFIG it sends resizes the disk, which
// raises CAPACITY DATA HAS CHANGED for the initiators. Should the kernel not
// take the write, or its RECONFIG not have arrived yet, the disk is resized
// here; a second resize to the same size changes nothing.
func (s *served) backendResized(size int64) {
	bs := s.disk.BlockSize()
	size -= size % bs
	if size < bs || s.isGone() {
		return
	}
	err := s.l.lio.WriteAttr(path.Join(s.configPath, "attrib", "dev_size"), strconv.FormatInt(size, 10))
	if err != nil {
		s.l.logf("engine: %s: backend resized to %d bytes; dev_size not updated: %v", s.configPath, size, err)
	}
	if int64(s.disk.Blocks())*bs == size {
		return
	}
	if err := s.disk.Resize(size); err != nil {
		s.l.logf("engine: %s: backend resized to %d bytes: %v", s.configPath, size, err)
		return
	}
	s.mu.Lock()
	s.attrs.Size = uint64(size)
	s.mu.Unlock()
}

// backendError is why the backend cannot reach its storage, or "".
func (s *served) backendError() string {
	if h, ok := s.backend.(backends.HealthReporter); ok {
		if err := h.Health(); err != nil {
			return err.Error()
		}
	}
	return ""
}

// running reports whether the ring loop is being supervised (up, or
// between restarts).
func (s *served) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done == nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// attachRing attaches the device and prepares a Ring on it.
func (s *served) attachRing() (tcmu.Device, *tcmu.Ring, error) {
	h, err := s.l.kern.attach(s.dev)
	if err != nil {
		return nil, nil, err
	}
	r, err := tcmu.NewRing(h, tcmu.RingConfig{Handler: s.disk, QueueDepth: s.qd, Inline: s.inline()})
	if err != nil {
		h.Close()
		return nil, nil, fmt.Errorf("engine: serve %s (%s): %w", s.configPath, s.dev.uio(), err)
	}
	if s.l.opts.NoStats {
		r.Stats().SetEnabled(false)
	}
	region := h.Region()
	mb := tcmu.Mailbox(region[:tcmu.MailboxSize])
	s.mu.Lock()
	s.ringSize = uint64(mb.CmdrSize())
	s.dataSize = uint64(len(region)) - (uint64(mb.CmdrOff()) + uint64(mb.CmdrSize()))
	s.attaches++
	s.mu.Unlock()
	return h, r, nil
}

// inline is the ring's choice of commands to run on its own thread: the
// quick ones (scsi.Quick) of a backend that never blocks, which finish
// sooner there than the hand-off to a worker would take. With a backend
// that may block (a file on disk, a network image, an injected delay)
// every command goes to a worker, so that the ring thread stays free to
// take the next commands and TMRs.
func (s *served) inline() func(cdb []byte) bool {
	if nb, ok := s.backend.(backends.NonBlocker); ok && nb.NonBlocking() {
		return scsi.Quick
	}
	return nil
}

// start attaches the device and starts the supervisor of its ring loop.
// It returns once the ring loop runs, or why it could not start.
func (s *served) start() error {
	h, r, err := s.attachRing()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	s.mu.Lock()
	s.cancel, s.done = cancel, done
	s.crashing = false
	s.lastErr = nil
	// Up from here, not from when the goroutine gets to run: a caller
	// that sees Serve return sees the device up.
	s.handle, s.ring, s.up = h, r, true
	s.mu.Unlock()
	go s.supervise(ctx, done, h, r)
	return nil
}

// supervise runs the ring loop and restarts it when it fails, until ctx
// ends, the device goes away, the loop is crashed on purpose, or it failed
// too many times in a row.
func (s *served) supervise(ctx context.Context, done chan struct{}, h tcmu.Device, r *tcmu.Ring) {
	defer close(done)
	failures := 0
	backoff := s.l.opts.RestartBackoff
	for {
		s.mu.Lock()
		s.handle, s.ring, s.up = h, r, true
		s.mu.Unlock()
		began := time.Now()
		err := r.Run(ctx)
		s.mu.Lock()
		s.total.add(r.Stats().Snapshot())
		s.handle, s.ring, s.up = nil, nil, false
		crashed := s.crashing
		s.mu.Unlock()

		switch {
		case crashed:
			s.setDown(errCrashed)
			return
		case ctx.Err() != nil:
			return
		case err == nil:
			// Run returns nil only for a cancelled context.
			return
		case isRemoved(err):
			s.setGone(fmt.Errorf("the uio device %s went away: %w", s.dev.uio(), err))
			return
		}
		if time.Since(began) > healthyRun {
			failures, backoff = 0, s.l.opts.RestartBackoff
		}
		for {
			failures++
			if failures > s.l.opts.MaxRestarts {
				s.l.logf("engine: %s: giving up after %d failures: %v", s.configPath, failures-1, err)
				s.setDown(fmt.Errorf("ring loop failed %d times in a row, last: %w", failures-1, err))
				return
			}
			s.l.logf("engine: %s: ring loop failed (%v); reattaching in %v", s.configPath, err, backoff)
			s.mu.Lock()
			s.lastErr = err
			s.mu.Unlock()
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return
			}
			backoff = min(2*backoff, maxBackoff)
			h, r, err = s.attachRing()
			if err == nil {
				s.mu.Lock()
				s.restarts++
				s.mu.Unlock()
				break
			}
			if isRemoved(err) {
				s.setGone(err)
				return
			}
		}
	}
}

func (s *served) setGone(err error) {
	s.mu.Lock()
	s.gone = true
	s.mu.Unlock()
	s.setDown(err)
}

func (s *served) isGone() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gone
}

func (s *served) setDown(err error) {
	s.mu.Lock()
	s.lastErr = err
	s.up = false
	s.mu.Unlock()
}

// isRemoved reports whether err says the device is gone.
func isRemoved(err error) bool {
	return errors.Is(err, uio.ErrRemoved) || errors.Is(err, ring.ErrRemoved) ||
		errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENODEV)
}

// stop ends the supervisor. With block, the device is blocked first (new
// commands get BUSY) and its ring reset after the loop stopped, so that
// the commands the loop never took are answered BUSY too; the device stays
// blocked. The backend is closed once nothing can reach it.
func (s *served) stop(ctx context.Context, block bool) error {
	var errs []error
	if block {
		if err := s.l.action(s.configPath, "block_dev", "1"); err != nil && !isRemoved(err) {
			errs = append(errs, err)
			block = false
		}
	}
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		select {
		case <-done:
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("engine: release %s: commands still in flight: %w", s.configPath, ctx.Err()))
			return errors.Join(errs...)
		}
	}
	if block {
		if err := s.l.action(s.configPath, "reset_ring", "1"); err != nil && !isRemoved(err) {
			errs = append(errs, err)
		}
	}
	s.closeBackend()
	return errors.Join(errs...)
}

func (s *served) closeBackend() {
	s.backendMu.Do(func() {
		if s.stopWatch != nil {
			s.stopWatch()
		}
		if err := s.backend.Close(); err != nil {
			s.l.logf("engine: %s: close backend: %v", s.configPath, err)
		}
	})
}

// crash closes the uio device under a running ring loop, as the death of
// the serving process does: the kernel hears of no completion after this
// point. It waits until the loop has stopped touching the backend.
func (s *served) crash() error {
	s.mu.Lock()
	h, done := s.handle, s.done
	if h == nil || done == nil {
		s.mu.Unlock()
		return fmt.Errorf("engine: %s is not being served", s.configPath)
	}
	s.crashing = true
	s.mu.Unlock()
	// Closing the handle first is what makes this a crash: the ring loop
	// still finishes the commands it took, but their completions go into
	// a ring that nobody reaps (a closed handle cannot notify), and
	// reset_ring throws them away at the next attach.
	if err := h.Close(); err != nil {
		return fmt.Errorf("engine: crash %s: %w", s.configPath, err)
	}
	<-done
	return nil
}

// reconfigure applies a RECONFIG event to the running disk.
func (s *served) reconfigure(attribute, value string) error {
	switch attribute {
	case "dev_size":
		size, err := strconv.ParseInt(strings.TrimSpace(value), 0, 64)
		if err != nil || size <= 0 {
			return fmt.Errorf("engine: %s: dev_size %q is not a size in bytes: %w", s.configPath, value, syscall.EINVAL)
		}
		if err := s.disk.Resize(size); err != nil {
			return fmt.Errorf("engine: %s: resize to %d bytes: %w", s.configPath, size, err)
		}
		s.mu.Lock()
		s.attrs.Size = uint64(size)
		s.mu.Unlock()
	case "emulate_write_cache":
		v, err := strconv.ParseUint(strings.TrimSpace(value), 0, 8)
		if err != nil {
			return fmt.Errorf("engine: %s: emulate_write_cache %q: %w", s.configPath, value, syscall.EINVAL)
		}
		s.disk.SetWriteCache(v != 0)
		s.mu.Lock()
		s.attrs.WriteCache = v != 0
		s.mu.Unlock()
	case "dev_config":
		if strings.TrimSpace(value) == s.dev.devConfig {
			return nil
		}
		return fmt.Errorf("engine: %s: dev_config cannot change while the device is served (%q → %q): release it, change it, then serve it again: %w",
			s.configPath, s.dev.devConfig, value, syscall.EBUSY)
	}
	return nil
}

// action writes one of the backstore's action/ files.
func (l *Local) action(configPath, name, value string) error {
	if err := l.lio.WriteAttr(path.Join(configPath, "action", name), value); err != nil {
		return fmt.Errorf("engine: %s: write action/%s=%s: %w", configPath, name, value, err)
	}
	return nil
}

// recipe readies the ring of a device this process holds open for a new
// handler: block_dev=1 (the kernel holds new commands back with BUSY),
// reset_ring=1 (commands an earlier handler took and never completed are
// answered BUSY, so initiators retry them; head and tail go to 0; a broken
// ring is usable again), block_dev=0. On failure the device is unblocked
// again, best effort.
func (l *Local) recipe(configPath string) error {
	if err := l.action(configPath, "block_dev", "1"); err != nil {
		return err
	}
	if err := l.action(configPath, "reset_ring", "1"); err != nil {
		return errors.Join(err, l.action(configPath, "block_dev", "0"))
	}
	return l.action(configPath, "block_dev", "0")
}

// SimulateCrash stops the ring loop of a served device on the simulated
// kernel the way the death of the serving process would: the uio device is
// closed under the loop, so the completions of the commands it was running
// never reach the kernel, and nothing restarts it. The device stays in
// Stats as down until Serve attaches it again, which resets the ring and so
// answers the lost commands BUSY for the initiators to retry. The disk and
// its backend are kept, as they would be by a restarted thread. It is
// fault injection for tests and demonstrations; the real kernel refuses it
// (closing /dev/uioN unmaps the region under the running workers).
func (l *Local) SimulateCrash(configPath string) error {
	p, _, err := l.cleanConfigPath(configPath)
	if err != nil {
		return err
	}
	if !l.kern.crashable() {
		return errors.New("engine: a simulated crash is only possible on the simulated kernel")
	}
	l.serveMu.Lock()
	defer l.serveMu.Unlock()
	s := l.served(p)
	if s == nil {
		return fmt.Errorf("engine: %s is not being served", p)
	}
	return s.crash()
}
