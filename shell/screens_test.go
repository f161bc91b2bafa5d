package shell

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/tcmsh/tcmsh/engine"
)

// fakeScreens stands in for the TUI: it records what was opened and, while
// "open", does what a browser may do to the shell (cd, capture output).
type fakeScreens struct {
	terminal bool
	opened   []string
	once     []bool
}

func (f *fakeScreens) Terminal() bool { return f.terminal }
func (f *fakeScreens) Open(ctx context.Context, sh *Shell, face string) error {
	f.opened = append(f.opened, face)
	sh.SetOutput(io.Discard, io.Discard)
	return sh.Exec(ctx, "cd /backstores")
}
func (f *fakeScreens) PrintOnce(_ context.Context, eng engine.Engine, w io.Writer, asJSON bool) error {
	f.once = append(f.once, asJSON)
	_, err := fmt.Fprintf(w, "snapshot json=%v\n", asJSON)
	return err
}

func TestUIAndMonitorOpenTheScreensAndGiveTheShellBack(t *testing.T) {
	sh, out, l := newTestShell(t, false)
	scr := &fakeScreens{terminal: true}
	sh.opts.Screens = scr
	sh.env.Engine = &fakeEngine{lio: l}
	ctx := context.Background()
	if err := sh.Exec(ctx, "cd /iscsi"); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"ui", "ui monitor", "monitor"} {
		if err := sh.Exec(ctx, line); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
	}
	if got := strings.Join(scr.opened, ","); got != "browser,monitor,monitor" {
		t.Errorf("faces opened: %s", got)
	}
	if sh.Cwd() != "/iscsi" {
		t.Errorf("after the TUI the shell is at %s, want /iscsi", sh.Cwd())
	}
	out.Reset()
	if err := sh.Exec(ctx, "pwd"); err != nil || out.String() != "/iscsi\n" {
		t.Errorf("the shell's output was not given back: pwd wrote %q (%v)", out, err)
	}

	// --once prints one snapshot, also without a terminal and in batch.
	scr.terminal = false
	out.Reset()
	if err := sh.RunBatch(ctx, strings.NewReader("monitor --once\nmonitor --once --json\n"), BatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "snapshot json=false\nsnapshot json=true\n" {
		t.Errorf("monitor --once wrote %q", out)
	}
}

func TestUIAndMonitorRefuseWithoutATerminal(t *testing.T) {
	sh, _, l := newTestShell(t, false)
	sh.env.Engine = &fakeEngine{lio: l}
	ctx := context.Background()
	if err := sh.Exec(ctx, "ui"); err == nil || !strings.Contains(err.Error(), "no full-screen front end") {
		t.Errorf("ui without Screens: %v", err)
	}
	scr := &fakeScreens{terminal: false}
	sh.opts.Screens = scr
	for _, line := range []string{"ui", "monitor"} {
		err := sh.Exec(ctx, line)
		if !errors.Is(err, ErrNeedsTerminal) || !strings.HasPrefix(err.Error(), line+" needs a terminal: in scripts use `monitor --once [--json]`") {
			t.Errorf("%s without a terminal: %v", line, err)
		}
	}
	// In batch mode even with a terminal.
	scr.terminal = true
	var errw bytes.Buffer
	sh.SetOutput(io.Discard, &errw)
	err := sh.RunBatch(ctx, strings.NewReader("ui\n"), BatchOptions{})
	if !errors.Is(err, ErrNeedsTerminal) || !strings.Contains(errw.String(), "line 1: ui: ui needs a terminal") {
		t.Errorf("ui in batch: %v; stderr %q", err, errw.String())
	}
	if len(scr.opened) != 0 {
		t.Errorf("opened %v without a terminal", scr.opened)
	}
	for _, line := range []string{"monitor --json", "monitor --twice"} {
		var ue *UsageError
		if err := sh.Exec(ctx, line); !errors.As(err, &ue) {
			t.Errorf("%s: %v, want a usage error", line, err)
		}
	}
}
