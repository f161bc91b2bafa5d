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
	policy := replyWithoutRunner(proc, t.TempDir(), nil)
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

// A device that opted out of replies (as tcmsh makes them) gets none: the
// kernel would refuse it and log an error line; one that did not, or whose
// attribute cannot be read, is answered while no tcmu-runner runs.
func TestReplySkipsOptedOutDevices(t *testing.T) {
	attrs := map[string]string{
		"target/core/user_3/mine/attrib/nl_reply_supported":   "-1\n",
		"target/core/user_4/rtslib/attrib/nl_reply_supported": "0\n",
	}
	read := func(p string) (string, error) {
		v, ok := attrs[p]
		if !ok {
			return "", syscall.ENOENT
		}
		return v, nil
	}
	policy := replyWithoutRunner(t.TempDir(), t.TempDir(), read)
	ev := func(cmd netlink.Command, dev string) netlink.Event {
		return netlink.Event{Command: cmd, Device: "tcm-user/" + dev + "/file/x", HasDeviceID: true}
	}
	for _, tt := range []struct {
		ev   netlink.Event
		want bool
	}{
		{ev(netlink.CmdAddedDevice, "3/mine"), false},
		{ev(netlink.CmdAddedDevice, "4/rtslib"), true},
		{ev(netlink.CmdAddedDevice, "5/unknown"), true},
		{ev(netlink.CmdReconfigDevice, "3/mine"), false},
	} {
		if got := policy(tt.ev); got != tt.want {
			t.Errorf("%s of %s answered %v, want %v", tt.ev.Command, tt.ev.Device, got, tt.want)
		}
	}
	// At removal the configfs directory is gone: what was read at the
	// add decides.
	delete(attrs, "target/core/user_3/mine/attrib/nl_reply_supported")
	delete(attrs, "target/core/user_4/rtslib/attrib/nl_reply_supported")
	if policy(ev(netlink.CmdRemovedDevice, "3/mine")) {
		t.Error("removal of an opted-out device answered")
	}
	if !policy(ev(netlink.CmdRemovedDevice, "4/rtslib")) {
		t.Error("removal of a device waiting for replies not answered")
	}
	// Forgotten after its removal: a device made again under that name
	// is read again.
	attrs["target/core/user_3/mine/attrib/nl_reply_supported"] = "0"
	if !policy(ev(netlink.CmdAddedDevice, "3/mine")) {
		t.Error("a device made again without the opt-out not answered")
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
