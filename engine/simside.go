package engine

import (
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/sim"
	"github.com/tcmsh/tcmsh/sim/ring"
	"github.com/tcmsh/tcmsh/tcmu"
)

// simSide is the simulated kernel: the rings of its user backstores live
// in rk, in this process, and reach the engine through the kernel's
// user-device hooks.
type simSide struct {
	l  *Local
	k  *sim.Kernel
	rk *ring.Kernel
	// unlisten ends the subscription to the events other processes
	// cause (sim.Kernel.Listen).
	unlisten func()
}

var _ sim.UserDeviceHooks = (*simSide)(nil)

func newSimSide(l *Local, k *sim.Kernel) (*simSide, error) {
	s := &simSide{l: l, k: k, rk: ring.NewKernel(ring.Config{CmdTimeout: DefaultCmdTimeout})}
	// Hooks first, then the devices that exist: a device enabled in
	// between is then seen by the hook, and ensureRing tolerates both.
	k.SetHooks(s)
	// The devices other processes enable, remove or reconfigure reach
	// this process as TCM-USER events do a daemon on the real kernel.
	unlisten, err := k.Listen(s.otherProcess)
	if err != nil {
		k.SetHooks(nil)
		return nil, fmt.Errorf("engine: listening to the simulated kernel's TCM-USER events: %w", err)
	}
	s.unlisten = unlisten
	var errs []error
	for _, u := range k.UIODevices() {
		if err := s.ensureRing(u); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		// Not fatal: the other devices work, and Serve says it again
		// for the one that failed.
		l.logf("engine: re-creating the rings of enabled user backstores: %v", err)
	}
	return s, nil
}

// ensureRing creates the ring of an enabled device when this process has
// none yet: one enabled by an earlier run (the configfs state persists,
// rings live in the process) or by another process sharing the state.
func (s *simSide) ensureRing(u sim.UIODevice) error {
	if _, ok := s.rk.Device(u.Minor); ok {
		return nil
	}
	if err := s.rk.Added(u); err != nil && !errors.Is(err, syscall.EEXIST) {
		return fmt.Errorf("engine: ring of %s (uio%d): %w", u.ConfigPath, u.Minor, err)
	}
	return nil
}

// Added is the enable of a user backstore: its ring is created, and with
// AutoServe it is served.
func (s *simSide) Added(u sim.UIODevice) error {
	if err := s.rk.Added(u); err != nil {
		return err
	}
	sub, _, _ := strings.Cut(u.DevConfig, "/")
	s.l.autoServe(u.ConfigPath, sub)
	return nil
}

// Removed stops serving the device, then tears its ring down.
func (s *simSide) Removed(u sim.UIODevice) {
	s.l.deviceRemoved(u.ConfigPath)
	s.rk.Removed(u)
}

// Reconfig applies dev_size and emulate_write_cache to the served disk; an
// error refuses the configfs write, as a handler's reply would.
func (s *simSide) Reconfig(u sim.UIODevice, attribute, value string) error {
	if err := s.l.reconfigure(u.ConfigPath, attribute, value); err != nil {
		return err
	}
	// Enabled by another process, perhaps just now: the kernel has it.
	if err := s.ensureRing(u); err != nil {
		return err
	}
	return s.rk.Reconfig(u, attribute, value)
}

// Action forwards block_dev, reset_ring and free_kept_buf to the ring.
func (s *simSide) Action(u sim.UIODevice, action string, value int) error {
	return s.rk.Action(u, action, value)
}

// otherProcess follows an event another process caused, as realSide's
// onEvent follows a netlink event: the kernel has made the change already,
// so a failure is reported, not returned.
func (s *simSide) otherProcess(ev sim.Event) {
	u := ev.Dev
	switch ev.Kind {
	case sim.EventAdded:
		if err := s.ensureRing(u); err != nil {
			s.l.logf("%v", err)
			return
		}
		s.autoServe(u)
	case sim.EventRemoved:
		s.l.deviceRemoved(u.ConfigPath)
		s.rk.Removed(u)
	case sim.EventReconfig:
		if err := s.l.reconfigure(u.ConfigPath, ev.Attribute, ev.Value); err != nil {
			s.l.logf("engine: RECONFIG of %s not applied: %v", u.ConfigPath, err)
		}
		if _, ok := s.rk.Device(u.Minor); ok {
			_ = s.rk.Reconfig(u, ev.Attribute, ev.Value)
		}
	}
}

// autoServe is Local.autoServe for a device another process enabled:
// that process may delete it again before it is served, and a device gone
// by then is no error to report.
func (s *simSide) autoServe(u sim.UIODevice) {
	l := s.l
	sub, _, _ := strings.Cut(u.DevConfig, "/")
	if !l.opts.AutoServe || !handles(sub) {
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
		// As Local.autoServe: let the writes that follow the enable land.
		select {
		case <-time.After(200 * time.Millisecond):
		case <-l.bgCtx.Done():
			return
		}
		if !s.enabled(u) {
			return
		}
		if err := l.Serve(l.bgCtx, u.ConfigPath); err != nil && l.bgCtx.Err() == nil && s.enabled(u) {
			l.logf("engine: auto-serve %s: %v", u.ConfigPath, err)
		}
	}()
}

// enabled reports whether the device is still enabled at its path.
func (s *simSide) enabled(u sim.UIODevice) bool {
	for _, d := range s.k.UIODevices() {
		if d.ConfigPath == u.ConfigPath {
			return true
		}
	}
	return false
}

func toUIODevice(u sim.UIODevice) uioDevice {
	sub, _, _ := strings.Cut(u.DevConfig, "/")
	return uioDevice{minor: u.Minor, name: u.Name, configPath: u.ConfigPath, devConfig: u.DevConfig, subtype: sub}
}

func (s *simSide) devices() ([]uioDevice, error) {
	var out []uioDevice
	for _, u := range s.k.UIODevices() {
		out = append(out, toUIODevice(u))
	}
	return out, nil
}

func (s *simSide) find(configPath string) (uioDevice, error) {
	for _, u := range s.k.UIODevices() {
		if u.ConfigPath == configPath {
			if err := s.ensureRing(u); err != nil {
				return uioDevice{}, err
			}
			return toUIODevice(u), nil
		}
	}
	return uioDevice{}, notEnabled(s.l.lio, configPath)
}

// notEnabled explains why a backstore has no uio device.
func notEnabled(lio *configfs.LIO, configPath string) error {
	if _, err := lio.FS().Stat(configPath); err != nil {
		return fmt.Errorf("engine: no backstore at %s: %w", configPath, err)
	}
	if en, _ := lio.ReadAttr(path.Join(configPath, "enable")); en != "1" {
		return fmt.Errorf("engine: backstore %s is not enabled, so it has no uio device to serve: enable it first", configPath)
	}
	return fmt.Errorf("engine: backstore %s is enabled but has no uio device: %w", configPath, syscall.ENODEV)
}

func (s *simSide) attach(d uioDevice) (tcmu.Device, error) {
	dev, ok := s.rk.Device(d.minor)
	if !ok {
		return nil, fmt.Errorf("engine: %s: %s has no ring: %w", d.configPath, d.uio(), syscall.ENODEV)
	}
	// Open first, so that a ring another serving loop holds is never
	// reset under it.
	h, err := dev.Open()
	if err != nil {
		if errors.Is(err, syscall.EBUSY) {
			return nil, fmt.Errorf("engine: %s: %s is already open: another serving loop holds it (%w)", d.configPath, d.uio(), err)
		}
		return nil, fmt.Errorf("engine: %s: open %s: %w", d.configPath, d.uio(), err)
	}
	if err := s.l.recipe(d.configPath); err != nil {
		h.Close()
		return nil, err
	}
	s.applyTimeouts(dev, d.configPath)
	return h, nil
}

// applyTimeouts gives the simulated ring the device's attrib/cmd_time_out
// and qfull_time_out: the simulated kernel's uio device does not carry
// them, and the real kernel reads them for every command.
func (s *simSide) applyTimeouts(dev *ring.Dev, configPath string) {
	secs := func(name string) (int, bool) {
		v, err := s.l.lio.ReadAttr(path.Join(configPath, "attrib", name))
		if err != nil {
			return 0, false
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		return n, err == nil
	}
	cfg := dev.Config()
	cmd, qfull := cfg.CmdTimeout, cfg.QfullTimeout
	if n, ok := secs("cmd_time_out"); ok && n >= 0 {
		cmd = time.Duration(n) * time.Second
	}
	if n, ok := secs("qfull_time_out"); ok {
		switch {
		case n < 0:
			qfull = 0 // as cmd_time_out
		case n == 0:
			qfull = ring.QfullNoWait
		default:
			qfull = time.Duration(n) * time.Second
		}
	}
	dev.SetTimeouts(cmd, qfull)
}

func (s *simSide) crashable() bool { return true }

// workloadTarget finds the ring behind a loopback LUN, as the simulated
// initiator reaches it: LUN → storage object → uio device → ring.
func (s *simSide) workloadTarget(lunPath string) (workloadTarget, error) {
	var disk *sim.LoopbackDisk
	for _, d := range s.k.LoopbackDisks() {
		if d.LUNPath == lunPath {
			disk = &d
			break
		}
	}
	if disk == nil {
		return workloadTarget{}, noDisk(s.l.lio, lunPath)
	}
	sv := s.l.served(disk.StoragePath)
	if sv == nil {
		so, _ := configfs.StorageObjectAt(disk.StoragePath)
		if so.Plugin != "user" {
			return workloadTarget{}, fmt.Errorf("engine: workload: LUN %s exports the %s backstore %s; the simulated initiator reaches user backstores only (their rings)",
				lunPath, configfs.BackstoreName(so.Plugin), so.Name)
		}
		return workloadTarget{}, fmt.Errorf("engine: workload: LUN %s exports %s, which this process does not serve: serve it first", lunPath, disk.StoragePath)
	}
	if !sv.running() {
		return workloadTarget{}, fmt.Errorf("engine: workload: %s is down (%v): serve it again first", disk.StoragePath, sv.stats().LastError)
	}
	dev, ok := s.rk.Device(sv.dev.minor)
	if !ok {
		return workloadTarget{}, fmt.Errorf("engine: workload: %s has no ring: %w", disk.StoragePath, syscall.ENODEV)
	}
	bs := sv.disk.BlockSize()
	return workloadTarget{target: dev, blockSize: int(bs), size: int64(sv.disk.Blocks()) * bs, close: func() error { return nil }}, nil
}

// noDisk explains why a LUN presents no disk to the (simulated or real)
// initiator, following tcm_loop's rule: a LUN becomes a disk when it is
// linked to a storage object while its TPG has an I_T nexus.
func noDisk(lio *configfs.LIO, lunPath string) error {
	parts := strings.Split(lunPath, "/")
	if len(parts) != 6 || parts[0] != configfs.Root || parts[4] != "lun" || !strings.HasPrefix(parts[5], "lun_") {
		return fmt.Errorf("engine: workload: %q is not a LUN's configfs path (expected target/loopback/<wwn>/tpgt_N/lun/lun_M)", lunPath)
	}
	if parts[1] != "loopback" {
		return fmt.Errorf("engine: workload: %s is a LUN of the %s fabric; workloads run through loopback (tcm_loop) LUNs, which this host sees as disks", lunPath, parts[1])
	}
	if _, err := lio.FS().Stat(lunPath); err != nil {
		return fmt.Errorf("engine: workload: no LUN at %s: %w", lunPath, err)
	}
	linked := false
	if es, err := lio.FS().ReadDir(lunPath); err == nil {
		for _, e := range es {
			linked = linked || e.Kind == configfs.KindLink
		}
	}
	if !linked {
		return fmt.Errorf("engine: workload: LUN %s has no storage object linked, so there is no disk", lunPath)
	}
	tpg := path.Join(parts[:4]...)
	if nx, err := lio.ReadAttr(path.Join(tpg, "nexus")); err != nil || nx == "" || nx == "NULL" {
		return fmt.Errorf("engine: workload: LUN %s has no disk: its TPG has no I_T nexus. Create the nexus, then delete and re-create the LUN (tcm_loop presents a LUN only when it is linked while a nexus exists)", lunPath)
	}
	return fmt.Errorf("engine: workload: LUN %s has no disk: it was linked before its TPG had an I_T nexus, and tcm_loop presents a LUN only when it is linked while a nexus exists. Delete the LUN and create it again", lunPath)
}

// close tears the rings down, as the exit of the process would, and
// detaches from the simulated kernel.
func (s *simSide) close() error {
	s.unlisten()
	s.k.SetHooks(nil)
	for _, u := range s.k.UIODevices() {
		s.rk.Removed(u)
	}
	return nil
}
