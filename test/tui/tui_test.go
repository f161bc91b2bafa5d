// Package tui holds the end-to-end tests of tcmsh's full-screen faces: the
// real binary on a real terminal (a tmux pane of 100×30, read back with
// capture-pane), as a user meets it: `tcmsh demo`, and `ui` from the
// interactive shell. Each checks that the terminal's settings (stty -g)
// are the same after tcmsh as before.
package tui

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	// What the binary is built from: imported so that go test's cache
	// runs these tests again when any of it changes.
	_ "github.com/tcmsh/tcmsh/cli"
)

// binary is tcmsh, built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "tcmsh-tui-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "tcmsh")
	if out, err := exec.Command("go", "build", "-o", binary, "github.com/tcmsh/tcmsh").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building tcmsh: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// Bounds against a hung tcmsh; the tests wait for what the screen shows,
// never for a fixed time.
const (
	waitLimit = 30 * time.Second
	pollEvery = 50 * time.Millisecond
)

// pane is a command running in its own tmux server, on a pane of a fixed
// size.
type pane struct {
	t      *testing.T
	socket string
	dir    string // where the shell around the command leaves its files
}

// startPane runs command in a 100×30 tmux pane, inside a shell that
// records the terminal's settings before and after it and its exit status.
func startPane(t *testing.T, command string) *pane {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (CI installs it)")
	}
	dir := t.TempDir()
	p := &pane{t: t, socket: "tcmsh-test-" + strconv.Itoa(os.Getpid()) + "-" + strings.ReplaceAll(t.Name(), "/", "-"), dir: dir}
	script := fmt.Sprintf("stty -g > %[1]s/before; %[2]s; echo $? > %[1]s/exit.tmp; mv %[1]s/exit.tmp %[1]s/exit; stty -g > %[1]s/after.tmp; mv %[1]s/after.tmp %[1]s/after; exec sleep 600",
		dir, command)
	p.tmux("new-session", "-d", "-s", "t", "-x", "100", "-y", "30", "sh", "-c", script)
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", p.socket, "kill-server").Run() })
	return p
}

func (p *pane) tmux(args ...string) string {
	p.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", p.socket, "-f", "/dev/null"}, args...)...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// screen is the pane's text as shown now.
func (p *pane) screen() string { return p.tmux("capture-pane", "-p", "-t", "t") }

// keys sends tmux key names (b, q, Enter, C-u); text sends literal text.
func (p *pane) keys(keys ...string) { p.tmux(append([]string{"send-keys", "-t", "t"}, keys...)...) }
func (p *pane) text(s string)       { p.tmux("send-keys", "-t", "t", "-l", s) }

// line types a command at the prompt and runs it. go-prompt takes text
// and Enter arriving in one read as a paste: Enter goes once the text is
// echoed.
func (p *pane) line(prompt, text string) {
	p.t.Helper()
	p.text(text)
	p.waitFor(fmt.Sprintf("%q echoed", text), func(s string) bool { return strings.Contains(s, prompt+" "+text) })
	p.keys("Enter")
}

// waitFor polls the screen until ok holds, and returns that screen.
func (p *pane) waitFor(what string, ok func(screen string) bool) string {
	p.t.Helper()
	deadline := time.Now().Add(waitLimit)
	var s string
	for time.Now().Before(deadline) {
		if s = p.screen(); ok(s) {
			return s
		}
		time.Sleep(pollEvery)
	}
	p.t.Fatalf("waited %v for %s; the screen:\n%s", waitLimit, what, s)
	return ""
}

// finish waits for the command to end and checks its exit status and the
// terminal's settings.
func (p *pane) finish() {
	p.t.Helper()
	exitFile := filepath.Join(p.dir, "after")
	deadline := time.Now().Add(waitLimit)
	for {
		if _, err := os.Stat(exitFile); err == nil {
			break
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("tcmsh did not exit within %v; the screen:\n%s", waitLimit, p.screen())
		}
		time.Sleep(pollEvery)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(p.dir, name))
		if err != nil {
			p.t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	if code := read("exit"); code != "0" {
		p.t.Errorf("exit status %s; the screen:\n%s", code, p.screen())
	}
	if before, after := read("before"), read("after"); before != after {
		p.t.Errorf("terminal settings changed:\nbefore %s\nafter  %s", before, after)
	}
}

// env runs tcmsh with its state, history and preferences in dir.
func env(dir string) string {
	return fmt.Sprintf("env XDG_STATE_HOME=%[1]s/state XDG_CONFIG_HOME=%[1]s/config", dir)
}

// iops reads a device's IOPS column from the monitor's device list
// ("user:ram/r0   up   2.0k   8.1 …"); -1 when the row is not shown.
func iops(screen, device string) float64 {
	m := regexp.MustCompile(regexp.QuoteMeta(device) + `\s+up\s+([0-9][0-9.]*)([kM]?)\s`).FindStringSubmatch(screen)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return -1
	}
	switch m[2] {
	case "k":
		v *= 1e3
	case "M":
		v *= 1e6
	}
	return v
}

func TestDemoShowsLiveIOPSThenTheBrowser(t *testing.T) {
	p := startPane(t, env(t.TempDir())+" "+binary+" demo")
	s := p.waitFor("non-zero IOPS on the three demo devices", func(s string) bool {
		return iops(s, "user:ram/r0") > 0 && iops(s, "user:file/f0") > 0 && iops(s, "user:fault/slow") > 0
	})
	if !strings.Contains(s, "simulated kernel") {
		t.Errorf("the title bar does not say the kernel is simulated:\n%s", s)
	}
	// Down to 80×24: the screen is drawn again at the new size, the title
	// bar's faces at the right edge and the help line at the bottom.
	p.tmux("resize-window", "-t", "t", "-x", "80", "-y", "24")
	p.waitFor("the monitor redrawn at 80×24", func(s string) bool {
		lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
		return len(lines) == 24 && strings.HasSuffix(lines[0], "browser  [monitor]") && len([]rune(lines[0])) == 80 &&
			strings.HasSuffix(lines[23], "q quit") && iops(s, "user:ram/r0") >= 0
	})
	p.keys("b")
	p.waitFor("the browser's tree", func(s string) bool {
		return strings.Contains(s, "backstores") && strings.Contains(s, "loopback") && !strings.Contains(s, "IOPS")
	})
	// Into the tree, on a path of the demo.
	p.keys(":")
	p.keys("C-u")
	p.text("/loopback/naa.5001405dec0de001/luns/lun2")
	p.keys("Enter")
	p.waitFor("the demo's LUN in the tree", func(s string) bool {
		return strings.Contains(s, "lun2 user:fault/slow")
	})
	p.keys("q")
	p.finish()
}

func TestUIFromTheShellGivesThePromptBack(t *testing.T) {
	home := t.TempDir()
	p := startPane(t, fmt.Sprintf("%s %s --kernel=sim --sim-state=%s/st", env(home), binary, home))
	// capture-pane drops trailing blanks: the prompt "/> " reads "/>".
	p.waitFor("the prompt", func(s string) bool { return strings.Contains(s, "/>") })
	p.line("/>", "ui")
	p.waitFor("the browser", func(s string) bool {
		return strings.Contains(s, "configfs") && strings.Contains(s, "backstores") && strings.Contains(s, "q quit")
	})
	p.keys("q")
	p.waitFor("the prompt back", func(s string) bool {
		return strings.Contains(s, "/> ui") && !strings.Contains(s, "q quit")
	})
	p.line("/>", "cd /iscsi")
	p.waitFor("a command after the TUI", func(s string) bool { return strings.Contains(s, "/iscsi>") })
	p.line("/iscsi>", "exit")
	p.finish()
}
