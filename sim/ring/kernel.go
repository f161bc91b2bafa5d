package ring

import (
	"fmt"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/tcmsh/tcmsh/sim"
	"github.com/tcmsh/tcmsh/tcmu"
)

// Kernel is the ring side of the simulated target_core_user module: it
// keeps one Dev per enabled user backstore, keyed by uio minor, and
// implements sim.UserDeviceHooks.
type Kernel struct {
	// Defaults holds the attributes the UIODevice does not carry
	// (cmd_time_out, qfull_time_out, tmr_notification, flags); ring and
	// data sizes come from the device's control values.
	Defaults Config

	mu   sync.Mutex
	devs map[int]*kernelDev
}

type kernelDev struct {
	dev   *Dev
	uio   sim.UIODevice
	attrs map[string]string // attributes changed after enable (RECONFIG)
}

var _ sim.UserDeviceHooks = (*Kernel)(nil)

// NewKernel returns a Kernel whose devices start with defaults.
func NewKernel(defaults Config) *Kernel {
	return &Kernel{Defaults: defaults, devs: make(map[int]*kernelDev)}
}

// Added creates the ring of a newly enabled device.
func (k *Kernel) Added(u sim.UIODevice) error {
	cfg := k.Defaults
	if u.CmdRingSizeMB != 0 {
		cfg.RingSize = u.CmdRingSizeMB << 20
	}
	if u.MaxDataAreaMB != 0 {
		cfg.DataSize = uint64(u.MaxDataAreaMB) << 20
	}
	if u.DataPagesPerBlk != 0 {
		cfg.DataPagesPerBlk = u.DataPagesPerBlk
	}
	ringSize := uint64(cfg.RingSize)
	if ringSize == 0 {
		ringSize = DefaultRingSize
	}
	if u.MapSize != 0 && u.MaxDataAreaMB == 0 && u.MapSize > ringSize {
		cfg.DataSize = u.MapSize - ringSize
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.devs[u.Minor]; ok {
		return fmt.Errorf("sim/ring: uio%d already exists: %w", u.Minor, syscall.EEXIST)
	}
	d, err := New(cfg)
	if err != nil {
		return fmt.Errorf("sim/ring: enable %s: %w", u.ConfigPath, err)
	}
	if u.MapSize != 0 && u.MapSize != d.MapSize() {
		d.Remove()
		return fmt.Errorf("sim/ring: enable %s: map size %d, but the ring and data area make %d",
			u.ConfigPath, u.MapSize, d.MapSize())
	}
	k.devs[u.Minor] = &kernelDev{dev: d, uio: u, attrs: make(map[string]string)}
	return nil
}

// Removed tears a device's ring down.
func (k *Kernel) Removed(u sim.UIODevice) {
	k.mu.Lock()
	kd := k.devs[u.Minor]
	delete(k.devs, u.Minor)
	k.mu.Unlock()
	if kd != nil {
		kd.dev.Remove()
	}
}

// Reconfig records an attribute changed on an enabled device (the RECONFIG
// event). cmd_time_out, qfull_time_out (seconds) and tmr_notification are
// applied too, should the configfs side forward them.
func (k *Kernel) Reconfig(u sim.UIODevice, attribute, value string) error {
	kd, err := k.lookup(u)
	if err != nil {
		return err
	}
	switch attribute {
	case "dev_size":
		if _, err := strconv.ParseUint(value, 0, 64); err != nil {
			return fmt.Errorf("sim/ring: dev_size %q: %w", value, syscall.EINVAL)
		}
	case "cmd_time_out", "qfull_time_out":
		secs, err := strconv.Atoi(value)
		if err != nil {
			return fmt.Errorf("sim/ring: %s %q: %w", attribute, value, syscall.EINVAL)
		}
		cfg := kd.dev.Config()
		tmo := time.Duration(secs) * time.Second
		if attribute == "cmd_time_out" {
			kd.dev.SetTimeouts(tmo, cfg.QfullTimeout)
		} else {
			switch {
			case secs < 0:
				tmo = 0
			case secs == 0:
				tmo = QfullNoWait
			}
			kd.dev.SetTimeouts(cfg.CmdTimeout, tmo)
		}
	case "tmr_notification":
		kd.dev.SetTMRNotification(value == "1")
	}
	k.mu.Lock()
	kd.attrs[attribute] = value
	k.mu.Unlock()
	return nil
}

// Action handles writes to action/block_dev, action/reset_ring and
// action/free_kept_buf.
func (k *Kernel) Action(u sim.UIODevice, action string, value int) error {
	kd, err := k.lookup(u)
	if err != nil {
		return err
	}
	switch action {
	case "block_dev":
		if value != 0 && value != 1 {
			return fmt.Errorf("sim/ring: block_dev %d: %w", value, syscall.EINVAL)
		}
		kd.dev.BlockDev(value == 1)
		return nil
	case "reset_ring":
		return kd.dev.ResetRing(value)
	case "free_kept_buf":
		if value <= 0 || value > 0xFFFF {
			return fmt.Errorf("sim/ring: free_kept_buf %d: %w", value, syscall.EINVAL)
		}
		return kd.dev.FreeKeptBuf(uint16(value))
	}
	return fmt.Errorf("sim/ring: unknown action %q: %w", action, syscall.EINVAL)
}

func (k *Kernel) lookup(u sim.UIODevice) (*kernelDev, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	kd := k.devs[u.Minor]
	if kd == nil {
		return nil, fmt.Errorf("sim/ring: no device uio%d: %w", u.Minor, syscall.ENODEV)
	}
	return kd, nil
}

// Device returns the ring of uio minor.
func (k *Kernel) Device(minor int) (*Dev, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	kd := k.devs[minor]
	if kd == nil {
		return nil, false
	}
	return kd.dev, true
}

// Open opens /dev/uio<minor>: the userspace side of its ring.
func (k *Kernel) Open(minor int) (tcmu.Device, error) {
	d, ok := k.Device(minor)
	if !ok {
		return nil, fmt.Errorf("sim/ring: open uio%d: %w", minor, syscall.ENOENT)
	}
	return d.Open()
}

// Attributes returns the attributes recorded by Reconfig for uio minor.
func (k *Kernel) Attributes(minor int) map[string]string {
	k.mu.Lock()
	defer k.mu.Unlock()
	kd := k.devs[minor]
	if kd == nil {
		return nil
	}
	out := make(map[string]string, len(kd.attrs))
	for a, v := range kd.attrs {
		out[a] = v
	}
	return out
}
