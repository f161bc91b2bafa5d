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
