package engine

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tcmsh/tcmsh/tcmu"
	"github.com/tcmsh/tcmsh/tcmu/netlink"
	"github.com/tcmsh/tcmsh/tcmu/uio"
)

// realSide is the real kernel: devices are /dev/uioN (tcmu/uio), events
// come over TCM-USER netlink (tcmu/netlink), and when that family is
// absent the uio class is scanned instead.
type realSide struct {
	l *Local

	mu       sync.Mutex
	listener *netlink.Listener
	// tried remembers the devices AutoServe failed to serve while
	// scanning (configfs path → minor), so a broken one is not retried
	// every interval; a new minor (the device made again) is tried anew.
	tried map[string]int
}

func newRealSide(l *Local) (*realSide, error) {
	r := &realSide{l: l, tried: map[string]int{}}
	if l.opts.NoNetlink {
		r.startScanning("netlink disabled by the caller")
		return r, nil
	}
	// tcmsh never turns the kernel's reply mode on, and the devices it
	// creates opt out of it (nl_reply_supported=-1). But once a
	// tcmu-runner has run, the mode stays on, and a device another tool
	// makes (rtslib, so targetcli-fb, does not opt out) waits for an
	// answer without a timeout. The daemon (AutoServe) stands in for
	// tcmu-runner, so it answers whenever no tcmu-runner runs to answer
	// itself; with the mode off the kernel refuses the answer, which is
	// not worth a log line.
	var reply netlink.ReplyPolicy
	if l.opts.AutoServe {
		reply = replyWithoutRunner(uio.DefaultProc, r.devDir(), r.readAttr)
	}
	lst, err := netlink.Listen(netlink.Config{
		Handler: r.onEvent,
		Reply:   reply,
		Errors: func(err error) {
			if reply != nil && unwantedReply(err) {
				return
			}
			if errors.Is(err, netlink.ErrEventsLost) {
				l.logf("engine: netlink events lost; rescanning uio devices")
				r.scanOnce()
				return
			}
			l.logf("engine: netlink: %v", err)
		},
	})
	if err != nil {
		r.startScanning(err.Error())
		return r, nil
	}
	r.listener = lst
	l.bg.Add(1)
	go func() {
		defer l.bg.Done()
		if err := lst.Run(l.bgCtx); err != nil {
			r.startScanning(err.Error())
		}
	}()
	return r, nil
}

// replyWithoutRunner answers events while no tcmu-runner runs (proc and
// devDir as for uio.FindRunners), except for devices that opted out of
// replies (nl_reply_supported=-1, as every device tcmsh makes): the kernel
// refuses those answers and logs an error line for each ("completion could
// not find device"), at every create and removal. readAttr reads a configfs
// attribute (a path relative to the mount point). A device's opt-out is
// read when it is added and remembered for its removal, when its configfs
// directory is already gone.
func replyWithoutRunner(proc, devDir string, readAttr func(string) (string, error)) netlink.ReplyPolicy {
	optedOut := map[string]bool{} // uio name's config path → nl_reply_supported=-1
	return func(ev netlink.Event) bool {
		if n, err := uio.ParseName(ev.Device); err == nil && readAttr != nil {
			p := n.ConfigPath()
			out, known := optedOut[p]
			if ev.Command != netlink.CmdRemovedDevice || !known {
				v, err := readAttr(p + "/attrib/nl_reply_supported")
				out, known = err == nil && strings.TrimSpace(v) == "-1", err == nil
			}
			if ev.Command == netlink.CmdRemovedDevice {
				delete(optedOut, p)
			} else if known {
				optedOut[p] = out
			}
			if out {
				return false
			}
		}
		runners, _ := uio.FindRunners(proc, devDir)
		return len(runners) == 0
	}
}

// readAttr reads a configfs attribute of the real kernel.
func (r *realSide) readAttr(p string) (string, error) {
	if r.l.lio == nil {
		return "", errors.New("no configfs model")
	}
	return r.l.lio.ReadAttr(p)
}

// unwantedReply is the kernel's refusal of an answer it was not waiting
// for (reply mode off, or a device that opted out).
func unwantedReply(err error) bool {
	var ne *netlink.Error
	return errors.As(err, &ne) && strings.HasPrefix(ne.Op, "reply to ") &&
		(errors.Is(err, syscall.ENODEV) || errors.Is(err, syscall.EINVAL))
}

// startScanning follows devices by rescanning /sys/class/uio: what the
// engine does when netlink events cannot be had. Only AutoServe needs to
// hear of new devices; a served device that goes away is noticed by its
// ring loop (the uio read fails).
func (r *realSide) startScanning(why string) {
	l := r.l
	if !l.opts.AutoServe {
		return
	}
	l.logf("engine: no TCM-USER netlink events (%s): scanning uio devices every %v", why, l.opts.ScanInterval)
	l.bg.Add(1)
	go func() {
		defer l.bg.Done()
		t := time.NewTicker(l.opts.ScanInterval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				r.scanOnce()
			case <-l.bgCtx.Done():
				return
			}
		}
	}()
}

// scanOnce serves the handled devices that appeared since the last scan.
func (r *realSide) scanOnce() {
	l := r.l
	if !l.opts.AutoServe {
		return
	}
	devs, err := r.devices()
	if err != nil {
		l.logf("engine: scan: %v", err)
		return
	}
	for _, d := range devs {
		if !handles(d.subtype) || l.served(d.configPath) != nil {
			continue
		}
		r.mu.Lock()
		minor, tried := r.tried[d.configPath]
		r.mu.Unlock()
		if tried && minor == d.minor {
			continue
		}
		if err := l.Serve(l.bgCtx, d.configPath); err != nil {
			r.mu.Lock()
			r.tried[d.configPath] = d.minor
			r.mu.Unlock()
			if l.bgCtx.Err() == nil {
				l.logf("engine: auto-serve %s: %v", d.configPath, err)
			}
		}
	}
}

// onEvent follows one TCM-USER event. Its error would become a reply
// status, but no reply is ever sent (no reply policy).
func (r *realSide) onEvent(ev netlink.Event) error {
	name, err := uio.ParseName(ev.Device)
	if err != nil {
		return err
	}
	cp := name.ConfigPath()
	switch ev.Command {
	case netlink.CmdAddedDevice:
		r.l.autoServe(cp, name.Subtype)
	case netlink.CmdRemovedDevice:
		r.l.deviceRemoved(cp)
	case netlink.CmdReconfigDevice:
		var attr, value string
		switch ev.Change {
		case netlink.ChangeDevSize:
			attr, value = "dev_size", strconv.FormatUint(ev.DevSize, 10)
		case netlink.ChangeWriteCache:
			attr, value = "emulate_write_cache", "0"
			if ev.WriteCache {
				value = "1"
			}
		case netlink.ChangeDevConfig:
			attr, value = "dev_config", ev.DevConfig
		default:
			return nil
		}
		if err := r.l.reconfigure(cp, attr, value); err != nil {
			// Without reply mode the kernel has applied the change
			// already; say that the device did not follow.
			r.l.logf("engine: RECONFIG of %s not applied: %v", cp, err)
			return err
		}
	}
	return nil
}

func (r *realSide) sysfs() string { return r.l.opts.Sysfs }
func (r *realSide) devDir() string {
	if r.l.opts.DevDir == "" {
		return uio.DefaultDev
	}
	return r.l.opts.DevDir
}

func fromInfo(info uio.Info) uioDevice {
	return uioDevice{minor: info.Minor, name: info.RawName, configPath: info.ConfigPath(),
		devConfig: info.DevConfig, subtype: info.Subtype}
}

func (r *realSide) devices() ([]uioDevice, error) {
	infos, err := uio.Scan(r.sysfs())
	if err != nil {
		return nil, err
	}
	var out []uioDevice
	for _, info := range infos {
		if info.Err == nil {
			out = append(out, fromInfo(info))
		}
	}
	return out, nil
}

func (r *realSide) find(configPath string) (uioDevice, error) {
	infos, err := uio.Scan(r.sysfs())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return uioDevice{}, fmt.Errorf("engine: serve %s: %w", configPath, err)
	}
	for _, info := range infos {
		if info.ConfigPath() != configPath {
			continue
		}
		if info.Err != nil {
			return uioDevice{}, fmt.Errorf("engine: serve %s: %w", configPath, info.Err)
		}
		return fromInfo(info), nil
	}
	return uioDevice{}, notEnabled(r.l.lio, configPath)
}

func (r *realSide) attach(d uioDevice) (tcmu.Device, error) {
	info, err := uio.Lookup(r.sysfs(), d.minor)
	if err != nil {
		return nil, fmt.Errorf("engine: serve %s: %w", d.configPath, err)
	}
	if info.ConfigPath() != d.configPath {
		// The minor was reused by another device since the scan.
		return nil, fmt.Errorf("engine: serve %s: %s now belongs to %s: %w", d.configPath, d.uio(), info.ConfigPath(), os.ErrNotExist)
	}
	// On EBUSY, uio's error names the tcmu-runner (and its pid) holding
	// the device when there is one.
	dev, err := uio.Reattach(r.l.lio.FS(), info, r.l.opts.DevDir)
	if err != nil {
		return nil, fmt.Errorf("engine: serve %s: %w", d.configPath, err)
	}
	return dev, nil
}

func (r *realSide) crashable() bool { return false }

// diskAddWait bounds how long a workload waits for a disk the kernel is
// still adding (a variable for the test that waits it out).
var diskAddWait = 5 * time.Second

// workloadTarget finds the /dev/sdX of a tcm_loop LUN: the TPG's address
// attribute gives the SCSI host, channel and target; the LUN's index is the
// SCSI LUN; sysfs names the block device of that SCSI device.
func (r *realSide) workloadTarget(lunPath string) (workloadTarget, error) {
	parts := strings.Split(lunPath, "/")
	if len(parts) != 6 || parts[1] != "loopback" || !strings.HasPrefix(parts[5], "lun_") {
		return workloadTarget{}, noDisk(r.l.lio, lunPath)
	}
	lun, err := strconv.ParseUint(strings.TrimPrefix(parts[5], "lun_"), 10, 64)
	if err != nil {
		return workloadTarget{}, noDisk(r.l.lio, lunPath)
	}
	addr, err := r.l.lio.ReadAttr(path.Join(path.Join(parts[:4]...), "address"))
	if err != nil || strings.Count(addr, ":") != 2 {
		return workloadTarget{}, fmt.Errorf("engine: workload: the TPG of %s shows no SCSI address (%q): %w", lunPath, addr, errors.Join(err, noDisk(r.l.lio, lunPath)))
	}
	sysfs := r.sysfs()
	if sysfs == "" {
		sysfs = uio.DefaultSysfs
	}
	hctl := fmt.Sprintf("%s:%d", strings.TrimSpace(addr), lun)
	devDir := filepath.Join(sysfs, "class", "scsi_device", hctl, "device")
	if _, err := os.Stat(devDir); err != nil {
		return workloadTarget{}, errors.Join(fmt.Errorf("engine: workload: no SCSI device %s for %s", hctl, lunPath), noDisk(r.l.lio, lunPath))
	}
	blocks, _ := os.ReadDir(filepath.Join(devDir, "block"))
	if len(blocks) == 0 {
		return workloadTarget{}, fmt.Errorf("engine: workload: SCSI device %s (%s) has no block device: load the disk driver (modprobe sd_mod)", hctl, lunPath)
	}
	disk := blocks[0].Name()
	bs := 512
	if b, err := os.ReadFile(filepath.Join(sysfs, "block", disk, "queue", "logical_block_size")); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n > 0 {
			bs = n
		}
	}
	devPath := filepath.Join(r.devDir(), disk)
	fi, err := os.Stat(devPath)
	if err != nil {
		return workloadTarget{}, fmt.Errorf("engine: workload: %s (SCSI %s): %w", devPath, hctl, err)
	}
	if fi.Mode()&os.ModeDevice == 0 || fi.Mode()&os.ModeCharDevice != 0 {
		// Writing to a path that is not the disk would "pass" against
		// a regular file.
		return workloadTarget{}, fmt.Errorf("engine: workload: %s is not a block device", devPath)
	}
	bt, err := openBlockTarget(devPath, bs, true)
	// A LUN just linked has its sysfs directory and /dev node before the
	// kernel has finished adding the disk (add_disk makes it openable
	// last); until then open fails with ENXIO. Wait that out, briefly.
	for deadline := time.Now().Add(diskAddWait); errors.Is(err, unix.ENXIO) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		bt, err = openBlockTarget(devPath, bs, true)
	}
	if errors.Is(err, unix.ENXIO) {
		return workloadTarget{}, fmt.Errorf("%w (the kernel has not finished adding the disk of SCSI %s after %v)", err, hctl, diskAddWait)
	}
	if err != nil {
		return workloadTarget{}, err
	}
	return workloadTarget{target: bt, blockSize: bs, size: bt.size, close: bt.Close}, nil
}

func (r *realSide) close() error {
	r.mu.Lock()
	lst := r.listener
	r.mu.Unlock()
	if lst != nil {
		return lst.Close()
	}
	return nil
}
