package shell

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/tcmsh/tcmsh/config"
	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/internal/guard"
)

// BatchOptions configure RunBatch.
type BatchOptions struct {
	// KeepGoing runs the remaining lines after a failure (the run still fails).
	KeepGoing bool
	// Atomic undoes everything the script changed when a line fails, so
	// that the kernel is left as it was before the run.
	Atomic bool
}

// LineError is a batch line that failed.
type LineError struct {
	Line int
	Text string
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %s: %v", e.Line, e.Text, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// RunBatch runs commands from r, one per line, starting at the root. `#`
// comments and blank lines are skipped. The first failing line stops the
// run (unless KeepGoing) and is reported with its number; the returned
// error is the first failure. Every failure is reported on the error
// writer (as JSON with Options.JSON), so the caller prints nothing more.
// Nothing is saved unless the script says saveconfig.
func (sh *Shell) RunBatch(ctx context.Context, r io.Reader, opts BatchOptions) error {
	sh.cwd, sh.prevCwd = "/", "/"
	sh.opts.Batch = true
	sh.resolved = map[string]*Node{}
	defer func() { sh.resolved = nil }()
	var le *LineError
	if !opts.Atomic {
		err := sh.runLines(ctx, r, opts)
		if err != nil && !errors.As(err, &le) {
			sh.reportError(err, 1, "") // failing lines were reported as they failed
		}
		return err
	}
	before, err := sh.store().Snapshot()
	if err != nil {
		err = fmt.Errorf("--atomic: reading the configuration before the run: %w", err)
		sh.reportError(err, 1, "")
		return err
	}
	// Besides configfs, the run's image files, saveconfig files,
	// preferences and bookmarks are recorded, to be put back too.
	mark, end := sh.beginUndo()
	defer end()
	err = sh.runLines(ctx, r, opts)
	if err != nil {
		done, rerr := sh.rollbackRun(before, mark)
		if rerr != nil {
			sh.reportError(err, 1, fmt.Sprintf("--atomic: undoing the run failed: %v%s", rerr, config.UndoneText(done)))
			return errors.Join(err, rerr)
		}
		sh.reportError(err, 1, "--atomic: undid every change of this run; the configuration is as before"+config.UndoneText(done))
	}
	return err
}

func (sh *Shell) runLines(ctx context.Context, r io.Reader, opts BatchOptions) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	var first error
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		err := sh.Exec(ctx, line)
		if errors.Is(err, ErrExit) {
			break
		}
		if err != nil {
			le := &LineError{Line: n, Text: line, Err: err}
			if !opts.Atomic {
				// An --atomic run reports its failure with the rollback.
				sh.reportError(le, 1, "")
			}
			if first == nil {
				first = le
			}
			if !opts.KeepGoing || opts.Atomic {
				return first
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading commands: %w", err)
	}
	return first
}

// LineReader is where the interactive shell gets its lines: go-prompt on
// a terminal, or a scripted reader in tests.
type LineReader interface {
	// Loop shows prompt(), reads a line, and calls handle with it, until
	// handle returns true (exit) or input ends (Ctrl-D on an empty line).
	Loop(prompt func() string, complete func(before string) []Suggestion, handle func(line string) (exit bool)) error
}

// Suggestion is one completion candidate.
type Suggestion struct {
	Text        string
	Description string
}

// InteractiveOptions configure RunInteractive.
type InteractiveOptions struct {
	// Reader reads lines (go-prompt on a terminal, which the command line
	// wires; a scripted reader in tests). Required.
	Reader LineReader
	// HistoryPath keeps the command history between runs; empty: none.
	HistoryPath string
	// SaveOnExit is called when the shell exits normally and the
	// auto_save_on_exit preference is on.
	SaveOnExit func() error
}

// RunInteractive runs the REPL until exit or Ctrl-D. Each command runs
// with its own interrupt context so that Ctrl-C stops the command, not
// the shell.
func (sh *Shell) RunInteractive(ctx context.Context, opts InteractiveOptions) error {
	reader := opts.Reader
	if reader == nil {
		return errors.New("interactive shell: no line reader")
	}
	warnedExit := false
	// leaving is the guard that exit and Ctrl-D share: LUNs served by
	// this process go down with it, so say which, and leave only when
	// asked a second time.
	leaving := func(how string) bool {
		if !warnedExit {
			if busy := sh.servedInUse(); len(busy) > 0 {
				warnedExit = true
				fmt.Fprintf(sh.opts.Err, "%s served by this tcmsh process and exported; leaving takes %s down.\n%s again to leave anyway, or run `tcmsh serve` to keep them served.\n",
					strings.Join(busy, ", "), pronoun(len(busy)), how)
				return false
			}
		}
		return true
	}
	runLine := func(line string) (exit bool) {
		appendHistory(opts.HistoryPath, line)
		cctx, stop := signal.NotifyContext(ctx, os.Interrupt)
		err := sh.Exec(cctx, line)
		interrupted := cctx.Err() != nil && ctx.Err() == nil
		stop()
		switch {
		case errors.Is(err, ErrExit):
			return leaving("Type exit")
		case interrupted || errors.Is(err, context.Canceled):
			sh.reportError(errors.New("interrupted"), 0, "")
		case err != nil:
			sh.reportError(err, 0, "")
		}
		return ctx.Err() != nil
	}
	handle := func(input string) (exit bool) {
		// Pasted or fast-typed text may hold several lines: each runs as
		// if typed alone, and an exit among them stops the rest.
		for _, line := range strings.FieldsFunc(input, func(r rune) bool { return r == '\n' || r == '\r' }) {
			if strings.TrimSpace(line) == "" {
				continue
			}
			if perr := guard.Run("`"+line+"`", func() error { exit = runLine(line); return nil }); perr != nil {
				fmt.Fprintln(sh.opts.Err, perr)
			}
			if exit {
				return true
			}
		}
		return false
	}
	complete := func(before string) (out []Suggestion) {
		// A bug in completion must not take the shell down with the line
		// being typed.
		_ = guard.Run("completion", func() error { out = sh.Complete(before); return nil })
		return out
	}
	for {
		exited := false
		err := reader.Loop(func() string { return sh.cwd + "> " }, complete, func(line string) bool {
			exited = handle(line)
			return exited
		})
		if err != nil {
			return err
		}
		// Input ended without exit (Ctrl-D on an empty line): the same
		// guard as exit, then read on.
		if !exited && ctx.Err() == nil && !leaving("Press Ctrl-D or type exit") {
			continue
		}
		break
	}
	if opts.SaveOnExit != nil && sh.prefs.Bool("auto_save_on_exit") {
		if serr := opts.SaveOnExit(); serr != nil {
			fmt.Fprintf(sh.opts.Err, "auto_save_on_exit: %v\n", serr)
		}
	}
	return nil
}

// DefaultHistoryPath is $XDG_STATE_HOME/tcmsh/history (~/.local/state/…).
func DefaultHistoryPath() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "tcmsh", "history")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "tcmsh", "history")
	}
	return ""
}

const historyKeep = 1000

// LoadHistory reads the command history kept at p (the newest last).
func LoadHistory(p string) []string {
	if p == "" {
		return nil
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > historyKeep {
		lines = lines[len(lines)-historyKeep:]
	}
	var out []string
	for _, l := range lines {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

func appendHistory(p, line string) {
	if p == "" || strings.ContainsAny(line, "\n\r") {
		return
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = f.WriteString(line + "\n")
}

// servedInUse lists the user backstores this process's engine serves that
// are exported through a LUN, for the exit question.
func (sh *Shell) servedInUse() []string {
	eng := sh.env.Engine
	if eng == nil || !eng.InProcess() {
		return nil
	}
	stats, err := eng.Stats(context.Background())
	if err != nil {
		return nil
	}
	var out []string
	for _, st := range stats {
		so, ok := configfs.StorageObjectAt(st.ConfigPath)
		if !ok {
			continue
		}
		if luns, err := sh.env.LIO.LUNsOf(so); err == nil && len(luns) > 0 {
			out = append(out, st.Path)
		}
	}
	return out
}

func pronoun(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}
