//go:build linux && realkernel

// Tests against a real kernel with target_core_user loaded and configfs
// mounted (the qemu guest): go test -c -tags realkernel, run as root. They
// never call SetFeatures.
package netlink

import (
	"context"
	"errors"
	"os"
	"path"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestRealKernelEvents(t *testing.T) {
	const root = "/sys/kernel/config/target/core"
	if _, err := os.Stat(root); err != nil {
		t.Skipf("no LIO configfs: %v", err)
	}
	var mu sync.Mutex
	var events []Event
	l, err := Listen(Config{
		Handler: func(ev Event) error {
			mu.Lock()
			events = append(events, ev)
			mu.Unlock()
			return nil
		},
		Errors: func(err error) { t.Errorf("listener: %v", err) },
	})
	if errors.Is(err, ErrNotLoaded) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()

	write := func(p, v string) {
		t.Helper()
		if err := os.WriteFile(path.Join(root, p), []byte(v), 0); err != nil {
			t.Fatal(err)
		}
	}
	hba := path.Join(root, "user_98")
	so := path.Join(hba, "nltest")
	if err := os.Mkdir(hba, 0o755); err != nil && !errors.Is(err, syscall.EEXIST) {
		t.Fatal(err)
	}
	if err := os.Mkdir(so, 0o755); err != nil {
		t.Fatal(err)
	}
	write("user_98/nltest/control", "dev_size=1048576,dev_config=tcmshtest/x,nl_reply_supported=-1")
	write("user_98/nltest/enable", "1")
	write("user_98/nltest/attrib/dev_size", "2097152")
	write("user_98/nltest/attrib/emulate_write_cache", "1")
	write("user_98/nltest/attrib/dev_config", "tcmshtest/y")
	if err := os.Remove(so); err != nil {
		t.Fatal(err)
	}
	os.Remove(hba)

	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(events)
		mu.Unlock()
		if n >= 5 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, ev := range events {
		t.Logf("event: %v", ev)
	}
	want := []struct {
		cmd    Command
		change Change
	}{
		{CmdAddedDevice, ChangeNone},
		{CmdReconfigDevice, ChangeDevSize},
		{CmdReconfigDevice, ChangeWriteCache},
		{CmdReconfigDevice, ChangeDevConfig},
		{CmdRemovedDevice, ChangeNone},
	}
	if len(events) != len(want) {
		t.Fatalf("%d events, want %d", len(events), len(want))
	}
	for i, w := range want {
		ev := events[i]
		if ev.Command != w.cmd || ev.Change != w.change || !ev.HasDeviceID || ev.Version != Version {
			t.Errorf("event %d = %v, want %v/%v", i, ev, w.cmd, w.change)
		}
	}
	if events[0].Device != "tcm-user/98/nltest/tcmshtest/x" {
		t.Errorf("added device %q", events[0].Device)
	}
	if events[1].DevSize != 2097152 || !events[2].WriteCache || events[3].DevConfig != "tcmshtest/y" {
		t.Errorf("reconfig values: %v / %v / %v", events[1], events[2], events[3])
	}
}

// TestRealKernelReplyMode turns the module's reply mode on, which makes
// every later enable of a device without nl_reply_supported=-1 wait for a
// reply: it runs only in a throwaway guest, with TCMSH_REPLY_MODE_TEST=1.
func TestRealKernelReplyMode(t *testing.T) {
	if os.Getenv("TCMSH_REPLY_MODE_TEST") != "1" {
		t.Skip("set TCMSH_REPLY_MODE_TEST=1 in a throwaway guest: this switches the module's reply mode")
	}
	const root = "/sys/kernel/config/target/core"
	if _, err := os.Stat(root); err != nil {
		t.Skipf("no LIO configfs: %v", err)
	}
	var mu sync.Mutex
	var events []Event
	l, err := Listen(Config{
		Handler: func(ev Event) error {
			mu.Lock()
			events = append(events, ev)
			mu.Unlock()
			if ev.Command == CmdAddedDevice && strings.Contains(ev.Device, "/refuse/") {
				return syscall.ENOENT
			}
			return nil
		},
		Reply:  ReplyAlways,
		Errors: func(err error) { t.Logf("listener: %v", err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go l.Run(ctx)

	// With the mode off, the kernel refuses a reply it is not waiting for.
	err = l.Requests().Reply(Event{Command: CmdAddedDevice, Device: "none", DeviceID: 12345, HasDeviceID: true}, 0)
	t.Logf("reply with the mode off: %v", err)
	if err == nil {
		t.Error("the kernel accepted a reply it was not waiting for")
	}

	if err := l.Requests().SetFeatures(true); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := l.Requests().SetFeatures(false); err != nil {
			t.Errorf("SetFeatures(false): %v", err)
		}
	}()
	mk := func(name, cfg string) error {
		dir := path.Join(root, "user_96", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path.Join(dir, "control"), []byte("dev_size=1048576,dev_config="+cfg), 0); err != nil {
			t.Fatal(err)
		}
		return os.WriteFile(path.Join(dir, "enable"), []byte("1"), 0)
	}
	start := time.Now()
	if err := mk("accepted", "tcmshtest/ok"); err != nil {
		t.Errorf("enable answered with status 0: %v", err)
	}
	t.Logf("enable with a reply took %v", time.Since(start))
	err = mk("refused", "refuse/x")
	t.Logf("enable answered with -ENOENT: %v", err)
	if !errors.Is(err, syscall.ENOENT) {
		t.Errorf("enable answered with -ENOENT returned %v", err)
	}
	for _, name := range []string{"accepted", "refused"} {
		if err := os.Remove(path.Join(root, "user_96", name)); err != nil {
			t.Errorf("remove %s: %v", name, err)
		}
	}
	os.Remove(path.Join(root, "user_96"))
	mu.Lock()
	defer mu.Unlock()
	for _, ev := range events {
		t.Logf("event: %v", ev)
	}
}
