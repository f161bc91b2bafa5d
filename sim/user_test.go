package sim

import (
	"errors"
	"sync"
	"syscall"
	"testing"

	"github.com/tcmsh/tcmsh/configfs"
)

// recorder is a UserDeviceHooks that records calls and can refuse them.
type recorder struct {
	mu       sync.Mutex
	k        *Kernel
	calls    []string
	devs     []UIODevice
	refuse   error
	reentred error
}

func (r *recorder) note(s string, d UIODevice) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, s)
	r.devs = append(r.devs, d)
	// Hooks run with the kernel's lock released: reading configfs from a
	// hook must not deadlock.
	if r.k != nil {
		_, r.reentred = r.k.ReadFile(d.ConfigPath + "/info")
	}
	return r.refuse
}

func (r *recorder) Added(d UIODevice) error { return r.note("added "+d.Name, d) }
func (r *recorder) Removed(d UIODevice)     { _ = r.note("removed "+d.Name, d) }
func (r *recorder) Reconfig(d UIODevice, attr, v string) error {
	return r.note("reconfig "+attr+"="+v, d)
}
func (r *recorder) Action(d UIODevice, action string, v int) error {
	return r.note("action "+action, d)
}

func userSteps(name, hba string) []step {
	p := "target/core/" + hba + "/" + name
	return []step{
		{op: "mkdir", a: "target/core/" + hba},
		{op: "mkdir", a: p},
		{op: "write", a: p + "/control", b: "dev_config=demo/x,dev_size=67108864"},
		{op: "write", a: p + "/enable", b: "1"},
	}
}

func TestUserDeviceLifecycle(t *testing.T) {
	k := newKernel(t)
	r := &recorder{k: k}
	k.SetHooks(r)
	run(t, k, userSteps("test", "user_0"))
	run(t, k, userSteps("second", "user_1"))
	devs := k.UIODevices()
	if len(devs) != 2 {
		t.Fatalf("devices: %+v", devs)
	}
	d := devs[0]
	if d.Minor != 0 || d.Name != "tcm-user/0/test/demo/x" || d.MapSize != 0x40800000 || d.DevSize != 67108864 ||
		d.ConfigPath != "target/core/user_0/test" || d.HwBlockSize != 512 || d.HwMaxSectors != 128 ||
		d.MaxDataAreaMB != 1024 || d.CmdRingSizeMB != 8 || d.DataPagesPerBlk != 1 {
		t.Fatalf("device 0 = %+v", d)
	}
	if devs[1].Minor != 1 {
		t.Fatalf("second device minor %d, want 1", devs[1].Minor)
	}
	if r.reentred != nil {
		t.Fatalf("reading configfs from a hook: %v", r.reentred)
	}
	p := "target/core/user_0/test"
	run(t, k, []step{
		{op: "write", a: p + "/attrib/dev_size", b: "134217728"},
		{op: "write", a: p + "/action/reset_ring", b: "1"},
		{op: "write", a: p + "/action/reset_ring", b: "3", want: syscall.EINVAL},
		{op: "write", a: p + "/action/block_dev", b: "1"},
		{op: "rmdir", a: p},
	})
	// The lowest free minor is reused.
	run(t, k, userSteps("third", "user_2"))
	if devs := k.UIODevices(); len(devs) != 2 || devs[0].Minor != 0 || devs[0].Name != "tcm-user/2/third/demo/x" {
		t.Fatalf("after rmdir and a new device: %+v", devs)
	}
	want := []string{
		"added tcm-user/0/test/demo/x", "added tcm-user/1/second/demo/x",
		"reconfig dev_size=134217728", "action reset_ring", "action block_dev",
		"removed tcm-user/0/test/demo/x", "added tcm-user/2/third/demo/x",
	}
	if len(r.calls) != len(want) {
		t.Fatalf("calls = %q, want %q", r.calls, want)
	}
	for i := range want {
		if r.calls[i] != want[i] {
			t.Fatalf("call %d = %q, want %q", i, r.calls[i], want[i])
		}
	}
	if r.devs[2].DevSize != 134217728 {
		t.Errorf("Reconfig got the device with size %d, want the new size", r.devs[2].DevSize)
	}
}

func TestUserDeviceHookRefusals(t *testing.T) {
	k := newKernel(t)
	refuse := errors.New("no handler for subtype demo")
	r := &recorder{refuse: refuse}
	k.SetHooks(r)
	p := "target/core/user_0/test"
	steps := userSteps("test", "user_0")
	run(t, k, steps[:3])
	err := k.WriteFile(p+"/enable", []byte("1"))
	if !errors.Is(err, refuse) {
		t.Fatalf("enable with a refusing hook: %v", err)
	}
	if got := read(t, k, p+"/enable"); got != "0\n" || len(k.UIODevices()) != 0 {
		t.Fatalf("after a refused Added: enable=%q devices=%v", got, k.UIODevices())
	}
	r.refuse = nil
	run(t, k, []step{{op: "write", a: p + "/enable", b: "1"}})
	r.refuse = refuse
	if err := k.WriteFile(p+"/attrib/dev_config", []byte("demo/y")); !errors.Is(err, refuse) {
		t.Fatalf("refused reconfig: %v", err)
	}
	if got := read(t, k, p+"/attrib/dev_config"); got != "demo/x\n" {
		t.Fatalf("dev_config after a refused reconfig = %q, want the old value", got)
	}
	if err := k.WriteFile(p+"/action/block_dev", []byte("1")); !errors.Is(err, refuse) {
		t.Fatalf("refused action: %v", err)
	}
	var ce *configfs.Error
	if !errors.As(err, &ce) || ce.Op != "write" {
		t.Fatalf("hook error not wrapped as a configfs write error: %#v", err)
	}
}

func TestUserControlAndAttributes(t *testing.T) {
	k := newKernel(t)
	p := "target/core/user_0/u"
	run(t, k, []step{
		{op: "mkdir", a: "target/core/user_0"},
		{op: "mkdir", a: p},
		{op: "write", a: p + "/action/block_dev", b: "1", want: syscall.EINVAL},
		{op: "write", a: p + "/control", b: "max_data_area_mb=64,cmd_ring_size_mb=2,hw_block_size=4096,hw_max_sectors=256,nl_reply_supported=-1"},
		{op: "write", a: p + "/control", b: "max_data_area_mb=99999"},
		{op: "write", a: p + "/attrib/qfull_time_out", b: "-2", want: syscall.EINVAL},
		{op: "write", a: p + "/attrib/tmr_notification", b: "2", want: syscall.EINVAL},
		{op: "write", a: p + "/attrib/max_data_area_mb", b: "1", want: syscall.EACCES},
		{op: "write", a: p + "/control", b: "max_data_area_mb=64,dev_config=fbo/a,dev_size=4096"},
		{op: "write", a: p + "/enable", b: "1"},
	})
	d := k.UIODevices()[0]
	if d.MapSize != (64+2)<<20 || d.HwBlockSize != 4096 || d.HwMaxSectors != 256 || d.NlReplySupported != -1 {
		t.Fatalf("device = %+v", d)
	}
	if got := read(t, k, p+"/info"); got != "Status: DEACTIVATED  Max Queue Depth: 0  SectorSize: 4096  HwMaxSectors: 256\n        Config: fbo/a Size: 4096 MaxDataAreaMB: 64 DataPagesPerBlk: 1 CmdRingSizeMB: 2\n" {
		t.Fatalf("info = %q", got)
	}
}

// Without a listener on the TCM-USER netlink group (no hooks), enabling
// works but a RECONFIG fails with ESRCH and changes nothing, as on a
// real kernel with no tcmu-runner.
func TestUserReconfigWithoutListener(t *testing.T) {
	k := newKernel(t)
	p := "target/core/user_6/usr"
	run(t, k, append(userSteps("usr", "user_6"),
		step{op: "write", a: p + "/attrib/dev_size", b: "134217728", want: syscall.ESRCH},
		step{op: "write", a: p + "/attrib/dev_config", b: "demo/z", want: syscall.ESRCH},
		step{op: "write", a: p + "/attrib/nl_reply_supported", b: "0"},
		step{op: "write", a: p + "/control", b: "dev_size=1048576"},
	))
	if got := read(t, k, p+"/attrib/dev_config"); got != "demo/x\n" {
		t.Fatalf("dev_config = %q", got)
	}
}
