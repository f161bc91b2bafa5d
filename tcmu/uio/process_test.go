package uio

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestHelperHoldDevice is not a test: TestFindRunnersRealProcess runs the
// test binary under the name tcmu-runner with TCMSH_HOLD set, and this
// function then holds that file open until its stdin closes.
func TestHelperHoldDevice(t *testing.T) {
	p := os.Getenv("TCMSH_HOLD")
	if p == "" {
		t.Skip("helper process only")
	}
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		os.Stdout.WriteString("error " + err.Error() + "\n")
		os.Exit(1)
	}
	defer f.Close()
	os.Stdout.WriteString("ready\n")
	buf := make([]byte, 1)
	os.Stdin.Read(buf)
	os.Exit(0)
}

// TestFindRunnersRealProcess starts a process whose comm is tcmu-runner
// and which holds <dev>/uio3 open, and finds it through the real /proc.
func TestFindRunnersRealProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("no /proc")
	}
	dev := t.TempDir()
	node := filepath.Join(dev, "uio3")
	if err := os.WriteFile(node, make([]byte, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), RunnerComm)
	if err := os.Symlink(self, link); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(link, "-test.run=^TestHelperHoldDevice$")
	cmd.Env = append(os.Environ(), "TCMSH_HOLD="+node)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("helper: %q, %v", line, err)
	}

	runners, err := FindRunners("", dev)
	if err != nil {
		t.Fatal(err)
	}
	r, ok := HeldBy(runners, 3)
	if !ok || r.PID != cmd.Process.Pid {
		t.Fatalf("runners %+v; want pid %d holding uio3", runners, cmd.Process.Pid)
	}
	if h := busyHint("", dev, 3); !strings.Contains(h, "pid") {
		t.Errorf("busy hint %q does not name the pid", h)
	}
}

// TestScanThisMachine scans the real sysfs: it either lists devices or
// says that uio is not loaded.
func TestScanThisMachine(t *testing.T) {
	devs, err := Scan("")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	for _, d := range devs {
		t.Logf("%s %q err=%v", d.UIO, d.RawName, d.Err)
	}
}
