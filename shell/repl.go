package shell

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	prompt "github.com/elk-language/go-prompt"
	pstrings "github.com/elk-language/go-prompt/strings"
)

// BatchOptions configure RunBatch.
type BatchOptions struct {
	// KeepGoing runs the remaining lines after a failure (the run still fails).
	KeepGoing bool
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
// error is the first failure.
func (sh *Shell) RunBatch(ctx context.Context, r io.Reader, opts BatchOptions) error {
	sh.cwd, sh.prevCwd = "/", "/"
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
			fmt.Fprintf(sh.opts.Err, "%v\n", le)
			if first == nil {
				first = le
			}
			if !opts.KeepGoing {
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

// RunInteractive runs the REPL on the terminal until exit or Ctrl-D.
// go-prompt reads /dev/tty itself; each command runs with its own
// interrupt context so that Ctrl-C stops the command, not the shell.
func (sh *Shell) RunInteractive(ctx context.Context) error {
	exit := false
	exec := func(line string) {
		if strings.TrimSpace(line) == "" {
			return
		}
		cctx, stop := signal.NotifyContext(ctx, os.Interrupt)
		err := sh.Exec(cctx, line)
		stop()
		switch {
		case errors.Is(err, ErrExit):
			exit = true
		case errors.Is(err, context.Canceled):
			fmt.Fprintln(sh.opts.Err, "interrupted")
		case err != nil:
			fmt.Fprintln(sh.opts.Err, err)
		}
	}
	p := prompt.New(exec,
		prompt.WithPrefixCallback(func() string { return sh.cwd + "> " }),
		prompt.WithCompleter(sh.complete),
		prompt.WithExitChecker(func(string, bool) bool { return exit }),
		prompt.WithTitle("tcmsh"),
	)
	p.Run()
	return nil
}

// complete offers command names, then child paths of the current node.
func (sh *Shell) complete(d prompt.Document) ([]prompt.Suggest, pstrings.RuneNumber, pstrings.RuneNumber) {
	word := d.GetWordBeforeCursor()
	end := d.CurrentRuneIndex()
	start := end - pstrings.RuneCountInString(word)
	var out []prompt.Suggest
	dir, base := "", word
	if i := strings.LastIndexByte(word, '/'); i >= 0 {
		dir, base = word[:i+1], word[i+1:]
	}
	if dir == "" && !strings.Contains(d.TextBeforeCursor(), " ") {
		for _, name := range sortedKeys(commands) {
			if strings.HasPrefix(name, base) {
				out = append(out, prompt.Suggest{Text: name, Description: firstSentence(commands[name].help)})
			}
		}
	}
	parent := dir
	if parent == "" {
		parent = "."
	}
	if n, err := sh.Resolve(parent); err == nil {
		if kids, err := sh.Children(n); err == nil {
			for _, k := range kids {
				if strings.HasPrefix(k.name, base) {
					out = append(out, prompt.Suggest{Text: dir + k.name + "/"})
				}
			}
		}
	}
	return out, start, end
}
