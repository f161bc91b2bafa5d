package uio

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindRunners(t *testing.T) {
	proc := t.TempDir()
	dev := "/dev"
	mk := func(pid, comm string, fds map[string]string) {
		dir := filepath.Join(proc, pid)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "comm"), []byte(comm), 0o644); err != nil {
			t.Fatal(err)
		}
		if fds == nil {
			return
		}
		if err := os.MkdirAll(filepath.Join(dir, "fd"), 0o755); err != nil {
			t.Fatal(err)
		}
		for fd, target := range fds {
			if err := os.Symlink(target, filepath.Join(dir, "fd", fd)); err != nil {
				t.Fatal(err)
			}
		}
	}
	mk("812", "tcmu-runner\n", map[string]string{
		"0": "/dev/null", "3": "socket:[1234]", "7": "/dev/uio2", "8": "/dev/uio0",
		"9": "/dev/uio0", "10": "/dev/uio12", "11": "/dev/uioX", "12": "/dev/sub/uio5", "13": "/devx/uio6",
		"14": "/srv/debian/dev/uio7", // a tcmu-runner in a chroot, seen from outside
	})
	mk("90", "tcmu-runner\n", map[string]string{"0": "/dev/null"})
	mk("91", "bash\n", map[string]string{"3": "/dev/uio1"})
	mk("92", "tcmu-runner-x\n", map[string]string{"3": "/dev/uio3"})
	mk("93", "tcmu-runner\n", nil) // exited while scanned: no fd dir
	mk("self", "tcmu-runner\n", map[string]string{"3": "/dev/uio4"})

	rs, err := FindRunners(proc, dev)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].PID != 90 || rs[1].PID != 812 {
		t.Fatalf("runners = %+v", rs)
	}
	if len(rs[0].Minors) != 0 || rs[0].Err != nil {
		t.Errorf("pid 90: %+v", rs[0])
	}
	if !equalInts(rs[1].Minors, []int{0, 2, 7, 12}) {
		t.Errorf("pid 812 holds %v", rs[1].Minors)
	}
	if r, ok := HeldBy(rs, 12); !ok || r.PID != 812 {
		t.Errorf("HeldBy(12) = %+v, %v", r, ok)
	}
	if _, ok := HeldBy(rs, 1); ok {
		t.Error("uio1 (held by bash) reported as held by tcmu-runner")
	}
	if s := rs[1].String(); s != "tcmu-runner (pid 812) holds uio0, uio2, uio7, uio12" {
		t.Errorf("String() = %q", s)
	}
	if s := rs[0].String(); s != "tcmu-runner (pid 90) holds no uio device" {
		t.Errorf("String() = %q", s)
	}

	// The EBUSY hint names the runner holding the device, or guesses.
	if h := busyHint(proc, dev, 2); !strings.Contains(h, "tcmu-runner (pid 812)") {
		t.Errorf("busy hint for uio2: %q", h)
	}
	if h := busyHint(proc, dev, 1); !strings.Contains(h, "another handler, for example tcmu-runner") {
		t.Errorf("busy hint for uio1: %q", h)
	}
}

func TestFindRunnersOnThisMachine(t *testing.T) {
	if _, err := os.Stat("/proc/self/comm"); err != nil {
		t.Skip("no /proc")
	}
	if _, err := FindRunners("", ""); err != nil {
		t.Fatal(err)
	}
}

func TestFindRunnersNoProc(t *testing.T) {
	if _, err := FindRunners(filepath.Join(t.TempDir(), "none"), ""); err == nil {
		t.Fatal("no error for a missing proc")
	}
}
