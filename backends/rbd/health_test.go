//go:build rbd

package rbd

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHealthEvidence: a lost connection is marked up again only by an
// OSD-served success of an operation that began while it was down; a
// success librbd may have answered by itself (a read, a flush, the size)
// only hints the supervisor; outcomes of operations that began before the
// latest transition change nothing.
func TestHealthEvidence(t *testing.T) {
	c := &cluster{key: clusterKey{conf: "test.conf", id: "admin"}, timeout: 5 * time.Second,
		wake: make(chan struct{}, 1), hint: make(chan struct{}, 1)}
	up := func(want bool, when string) {
		t.Helper()
		if err := c.Health(); (err == nil) != want {
			t.Fatalf("%s: Health() = %v, want up %v", when, err, want)
		}
	}
	up(true, "new")

	beforeLoss := c.begin()
	c.noteError("write", beforeLoss, syscall.EIO) // not a lost connection
	up(true, "after EIO")
	c.noteError("write", beforeLoss, syscall.ETIMEDOUT)
	up(false, "after a timeout")
	if err := c.Health(); !strings.Contains(err.Error(), "write timed out after 5s") {
		t.Fatalf("Health() = %v, want the timed-out write", err)
	}
	if len(c.wake) != 1 {
		t.Fatal("the supervisor was not woken")
	}

	// An operation that began before the loss and succeeded after it.
	c.noteOK("write", beforeLoss)
	up(false, "after a success that began before the loss")
	// Successes that do not show an OSD answered.
	during := c.begin()
	c.noteDone()
	up(false, "after a read, flush or size")
	if len(c.hint) != 1 {
		t.Fatal("a success while down did not hint the supervisor")
	}
	// Another timeout while down keeps it down, with the latest cause.
	c.noteError("read", during, syscall.ETIMEDOUT)
	if err := c.Health(); err == nil || !strings.Contains(err.Error(), "read timed out") {
		t.Fatalf("Health() = %v, want the timed-out read", err)
	}
	if c.losses.Load() != 1 {
		t.Fatalf("%d losses, want 1", c.losses.Load())
	}

	// An OSD-served success that began while down: up.
	c.noteOK("probe", during)
	up(true, "after the probe")
	if c.upBy != "probe" {
		t.Fatalf("up by %q, want probe", c.upBy)
	}
	// A timeout of an operation that began while down is stale.
	c.noteError("write", during, syscall.ETIMEDOUT)
	up(true, "after a stale timeout")
	// A new loss.
	c.noteError("write", c.begin(), syscall.ESHUTDOWN)
	up(false, "after ESHUTDOWN")
	if c.losses.Load() != 2 {
		t.Fatalf("%d losses, want 2", c.losses.Load())
	}
	// The recovery of the first loss does not end the second.
	c.noteOK("write", during)
	up(false, "after a success that began in the first loss")
}
