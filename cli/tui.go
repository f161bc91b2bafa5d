package cli

import (
	"context"
	"io"
	"os"

	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/shell"
	"github.com/tcmsh/tcmsh/views/app"
	"github.com/tcmsh/tcmsh/views/monitor"
)

// screens is the shell's way to the TUI (shell.Screens): the REPL's `ui`
// and `monitor`, and `tcmsh ui` / `tcmsh monitor`.
type screens struct {
	stdin  io.Reader
	stdout io.Writer
}

// Terminal reports whether stdin and stdout are both terminals.
func (s screens) Terminal() bool { return isTerminal(s.stdin) && isTerminal(s.stdout) }

// Open runs the TUI on the terminal. Launched from the REPL's executor,
// the terminal is in its normal mode (go-prompt restored it before the
// call and takes it back after), so the TUI has it to itself.
func (s screens) Open(ctx context.Context, sh *shell.Shell, face string) error {
	return app.Run(ctx, app.Options{Start: face, Shell: sh, Input: s.stdin, Output: s.stdout})
}

// PrintOnce is `monitor --once [--json]`.
func (s screens) PrintOnce(ctx context.Context, eng engine.Engine, w io.Writer, asJSON bool) error {
	return monitor.PrintOnce(ctx, eng, w, asJSON)
}

var _ shell.Screens = screens{stdin: os.Stdin, stdout: os.Stdout}
