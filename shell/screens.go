package shell

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/tcmsh/tcmsh/engine"
)

// Screens opens tcmsh's full-screen faces (the TUI) for the `ui` and
// `monitor` commands. Package shell cannot import the TUI, which imports
// shell: the command line provides it in Options.Screens.
type Screens interface {
	// Terminal reports whether a terminal is there for the TUI to take
	// over (stdin and stdout both terminals).
	Terminal() bool
	// Open runs the TUI over sh, starting on face ("browser" or
	// "monitor"), until the user quits; the terminal is then as it was.
	Open(ctx context.Context, sh *Shell, face string) error
	// PrintOnce writes one snapshot of the engine's devices, as the
	// monitor shows them (JSON when asJSON).
	PrintOnce(ctx context.Context, eng engine.Engine, w io.Writer, asJSON bool) error
}

// ErrNeedsTerminal is the refusal of `ui` and `monitor` without a terminal
// (a script, a pipe): the message says what scripts use instead.
var ErrNeedsTerminal = errors.New("needs a terminal: in scripts use `monitor --once [--json]` for the TCMU devices' figures, and the shell's commands for the rest")

var uiCommand = &Command{
	Name:    "ui",
	Summary: "Open the full-screen browser of the configfs tree (m: the live monitor, q: back to the prompt).",
	Params:  []Param{{Name: "face", Type: TypeEnum, Enum: []string{"browser", "monitor"}, Default: "browser"}},
	Run: func(ctx context.Context, sh *Shell, _ *Node, a Args) error {
		return sh.openScreen(ctx, "ui", a.Str("face"))
	},
}

var monitorCommand = &Command{
	Name: "monitor",
	Summary: "Open the live monitor of the TCMU devices served here (b: the browser, q: back); " +
		"--once prints one snapshot instead (--json: as JSON), also in scripts.",
	Variadic: true,
	Run:      cmdMonitor,
}

func cmdMonitor(ctx context.Context, sh *Shell, _ *Node, a Args) error {
	once, asJSON := false, sh.opts.JSON
	for _, w := range a.Extra {
		switch w {
		case "--once":
			once = true
		case "--json":
			asJSON = true
		default:
			return usagef("monitor: unexpected argument %q; usage: monitor [--once [--json]]", w)
		}
	}
	if asJSON && !once {
		return usagef("monitor: --json goes with --once (one snapshot for scripts): monitor --once --json")
	}
	if !once {
		return sh.openScreen(ctx, "monitor", "monitor")
	}
	if sh.opts.Screens == nil {
		return errors.New("monitor --once: not available in this front end")
	}
	if sh.env.Engine == nil {
		return errNoEngine
	}
	return sh.opts.Screens.PrintOnce(ctx, sh.env.Engine, sh.opts.Out, asJSON)
}

// openScreen hands the terminal to the TUI and takes it back with the
// shell as it was: the same current node and output writers.
func (sh *Shell) openScreen(ctx context.Context, cmd, face string) error {
	scr := sh.opts.Screens
	switch {
	case sh.opts.Batch || (scr != nil && !scr.Terminal()):
		return fmt.Errorf("%s %w", cmd, ErrNeedsTerminal)
	case scr == nil:
		return usagef("%s: no full-screen front end in this shell", cmd)
	}
	out, errw := sh.opts.Out, sh.opts.Err
	cwd, prev := sh.cwd, sh.prevCwd
	hist, pos := slices.Clone(sh.history), sh.histPos
	defer func() {
		sh.opts.Out, sh.opts.Err = out, errw
		if _, err := sh.Resolve(cwd); err == nil {
			sh.cwd, sh.prevCwd, sh.history, sh.histPos = cwd, prev, hist, pos
		}
	}()
	return scr.Open(ctx, sh, face)
}
