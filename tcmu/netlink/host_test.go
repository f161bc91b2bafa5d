package netlink

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// TestListenOnThisKernel runs the thin constructor against the running
// kernel's generic netlink controller. Where target_core_user is loaded
// it must join the group; elsewhere it must say the module is not loaded.
func TestListenOnThisKernel(t *testing.T) {
	l, err := Listen(Config{Handler: func(Event) error { return nil }})
	if err == nil {
		if l.Requests().Family().Name != FamilyName {
			t.Errorf("family %+v", l.Requests().Family())
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		return
	}
	var e *Error
	if errors.As(err, &e) && e.Op == "dial" {
		t.Skipf("no generic netlink here: %v", err)
	}
	if !errors.Is(err, ErrNotLoaded) || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "target_core_user is not loaded") {
		t.Fatalf("Listen: %v", err)
	}
}
