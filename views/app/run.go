package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/shell"
	"github.com/tcmsh/tcmsh/views"
	"github.com/tcmsh/tcmsh/views/browser"
	"github.com/tcmsh/tcmsh/views/monitor"
)

// browserRefresh is how often the browser reads the tree again by itself:
// often enough that another shell's change appears while one looks, rarely
// enough that a large real configfs tree costs nothing noticeable.
const browserRefresh = 3 * time.Second

// Options configure Run.
type Options struct {
	// Start is the face shown first: FaceBrowser (the default) or
	// FaceMonitor.
	Start string
	// Shell is the browser's command layer (required): the TUI changes
	// the kernel only through it.
	Shell *shell.Shell
	// Engine is what the monitor polls; nil: the shell's engine.
	Engine engine.Engine
	// Input and Output are the terminal; nil: os.Stdin and os.Stdout.
	Input  io.Reader
	Output io.Writer
	// Common is the program's shared state; nil: views.NewCommon()
	// (colours follow NO_COLOR).
	Common *views.Common
}

// Run runs the TUI until the user quits or ctx ends (both are a normal
// end: nil). The terminal is restored before it returns.
func Run(ctx context.Context, opts Options) error {
	if opts.Shell == nil {
		return errors.New("tui: no shell to browse with")
	}
	c := opts.Common
	if c == nil {
		c = views.NewCommon()
	}
	eng := opts.Engine
	if eng == nil {
		eng = opts.Shell.Env().Engine
	}
	in, out := opts.Input, opts.Output
	if in == nil {
		in = os.Stdin
	}
	if out == nil {
		out = os.Stdout
	}
	b := browser.New(c, opts.Shell)
	b.SetAutoRefresh(browserRefresh)
	m := New(c, b, monitor.New(c, eng), opts.Start, KernelTitle(opts.Shell.Env()))
	p := tea.NewProgram(m, tea.WithContext(ctx), tea.WithInput(in), tea.WithOutput(out))
	if _, err := p.Run(); err != nil {
		if ctx.Err() != nil && errors.Is(err, tea.ErrProgramKilled) {
			return nil
		}
		return fmt.Errorf("tui: %w", err)
	}
	return nil
}

// KernelTitle is what the title bar says of the kernel.
func KernelTitle(env shell.Env) string {
	if env.Kind == "real" {
		if env.KernelVersion != "" {
			return "kernel " + env.KernelVersion
		}
		return "real kernel"
	}
	return "simulated kernel"
}
