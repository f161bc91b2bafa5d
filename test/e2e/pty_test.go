package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// tcmshBinary builds tcmsh once for the terminal tests, which need a real
// process on a pseudo-terminal (go-prompt opens /dev/tty itself).
func tcmshBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tcmsh-pty")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "tcmsh")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/tcmsh/tcmsh").CombinedOutput()
		if err != nil {
			buildErr = err
			binPath = string(out)
		}
	})
	if buildErr != nil {
		t.Fatalf("building tcmsh: %v\n%s", buildErr, binPath)
	}
	return binPath
}

// session is tcmsh running on a pseudo-terminal.
type session struct {
	t    *testing.T
	cmd  *exec.Cmd
	pty  *os.File
	tty  *os.File
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\x1b[DM78]`)

func startSession(t *testing.T, home string) *session {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: 120}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tcmshBinary(t), "--kernel=sim", "--sim-state="+filepath.Join(home, "st"))
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+filepath.Join(home, "config"), "XDG_STATE_HOME="+filepath.Join(home, "state"), "TERM=xterm")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &unix.SysProcAttr{Setsid: true, Setctty: true}
	s := &session{t: t, cmd: cmd, pty: ptmx, tty: tty, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			s.mu.Lock()
			s.out.Write(buf[:n])
			s.mu.Unlock()
			if err != nil {
				close(s.done)
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		ptmx.Close()
		tty.Close()
	})
	return s
}

// text is everything shown so far, without escape sequences.
func (s *session) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ansi.ReplaceAllString(s.out.String(), "")
}

// waitFor waits until the screen text matches, counting from offset.
func (s *session) waitFor(from int, re string) int {
	s.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		txt := s.text()
		if from > len(txt) {
			from = len(txt)
		}
		if loc := rx.FindStringIndex(txt[from:]); loc != nil {
			return from + loc[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("timed out waiting for %q; screen:\n%s", re, s.text())
	return 0
}

// send types keys. Text and Enter go separately: go-prompt takes them in
// one read as a paste.
func (s *session) send(keys string) {
	s.t.Helper()
	if _, err := s.pty.Write([]byte(keys)); err != nil {
		s.t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
}

func (s *session) line(text string) {
	s.send(text)
	s.send("\r")
}

// exit sends Ctrl-D and waits for the process.
func (s *session) exit() error {
	s.send("\x04")
	errc := make(chan error, 1)
	go func() { errc <- s.cmd.Wait() }()
	select {
	case err := <-errc:
		return err
	case <-time.After(10 * time.Second):
		s.t.Fatalf("tcmsh did not exit on Ctrl-D; screen:\n%s", s.text())
	}
	return nil
}

func termios(t *testing.T, f *os.File) *unix.Termios {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	return tio
}

func TestREPLPromptCompletionAndTerminal(t *testing.T) {
	home := t.TempDir()
	s := startSession(t, home)
	before := *termios(t, s.tty)
	at := s.waitFor(0, `/> `)

	// Tab completes a path; the prompt then shows where cd went.
	s.send("cd /backstores/fil")
	s.send("\t")
	at = s.waitFor(at, `fileio/`)
	s.send("\r")
	at = s.waitFor(at, `/backstores/fileio> `)

	// Completion of parameter names and enumeration values.
	s.send("create d1 disk.img 1M write_back=")
	s.send("\t")
	at = s.waitFor(at, `true`)
	s.send("\x15") // Ctrl-U: clear the line
	s.line("pwd")
	at = s.waitFor(at, `\n/backstores/fileio\r?\n`)

	// A failing command reports and the shell goes on.
	s.line("nosuch")
	s.waitFor(at, `unknown command "nosuch"`)

	if err := s.exit(); err != nil {
		t.Fatalf("exit status after Ctrl-D: %v", err)
	}
	after := *termios(t, s.tty)
	if before != after {
		t.Errorf("terminal settings changed:\nbefore %+v\nafter  %+v", before, after)
	}
}

func TestREPLCtrlCStopsTheCommandNotTheShell(t *testing.T) {
	home := t.TempDir()
	s := startSession(t, home)
	before := *termios(t, s.tty)
	at := s.waitFor(0, `/> `)
	s.line("sleep 1m")
	time.Sleep(300 * time.Millisecond)
	s.send("\x03")
	// The minute-long sleep ends on Ctrl-C (waitFor gives up long before).
	at = s.waitFor(at, `interrupted`)
	at = s.waitFor(at, `/> `)
	s.line("cd /iscsi")
	s.waitFor(at, `/iscsi> `)
	s.line("exit")
	errc := make(chan error, 1)
	go func() { errc <- s.cmd.Wait() }()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("exit: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no exit; screen:\n%s", s.text())
	}
	if after := *termios(t, s.tty); before != after {
		t.Errorf("terminal settings changed:\nbefore %+v\nafter  %+v", before, after)
	}
}

func TestREPLHistoryBetweenRuns(t *testing.T) {
	home := t.TempDir()
	s := startSession(t, home)
	at := s.waitFor(0, `/> `)
	s.line("cd /backstores/ramdisk")
	s.waitFor(at, `/backstores/ramdisk> `)
	if err := s.exit(); err != nil {
		t.Fatal(err)
	}
	hist, err := os.ReadFile(filepath.Join(home, "state", "tcmsh", "history"))
	if err != nil || !strings.Contains(string(hist), "cd /backstores/ramdisk") {
		t.Fatalf("history file: %q, %v", hist, err)
	}

	s2 := startSession(t, home)
	at = s2.waitFor(0, `/> `)
	s2.send("\x1b[A") // Up: the last line of the previous run
	at = s2.waitFor(at, `cd /backstores/ramdisk`)
	s2.send("\r")
	s2.waitFor(at, `/backstores/ramdisk> `)
	if err := s2.exit(); err != nil {
		t.Fatal(err)
	}
}
