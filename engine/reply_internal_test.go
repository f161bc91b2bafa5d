package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/tcmsh/tcmsh/tcmu/netlink"
)

// The daemon answers the kernel's device events only while no tcmu-runner
// runs (one that does answers them itself).
func TestReplyWithoutRunner(t *testing.T) {
	proc := t.TempDir()
	policy := replyWithoutRunner(proc, t.TempDir())
	if err := os.MkdirAll(filepath.Join(proc, "41"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(proc, "41", "comm"), []byte("bash\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if !policy(netlink.Event{}) {
		t.Error("no tcmu-runner running, but the event is not answered")
	}
	if err := os.MkdirAll(filepath.Join(proc, "42", "fd"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(proc, "42", "comm"), []byte("tcmu-runner\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if policy(netlink.Event{}) {
		t.Error("a tcmu-runner runs, but tcmsh answers in its place")
	}
}

// A refused answer the kernel was not waiting for is no error worth
// logging; others are.
func TestUnwantedReply(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{&netlink.Error{Op: "reply to ADDED_DEVICE of tcm-user/0/x/file/y", Err: syscall.ENODEV}, true},
		{&netlink.Error{Op: "reply to REMOVED_DEVICE of d", Err: fmt.Errorf("netlink receive: %w", syscall.EINVAL)}, true},
		{&netlink.Error{Op: "reply to ADDED_DEVICE of d", Err: syscall.EPERM}, false},
		{&netlink.Error{Op: "receive", Err: syscall.ENODEV}, false},
		{fmt.Errorf("other: %w", syscall.EINVAL), false},
	} {
		if got := unwantedReply(tt.err); got != tt.want {
			t.Errorf("unwantedReply(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
