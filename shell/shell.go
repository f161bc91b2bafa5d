// Package shell owns tcmsh's command layer: the grammar, targetcli-style
// paths over the LIO model, the command table, text and JSON output, and
// the three ways commands arrive (interactive, batch from stdin, one-shot).
package shell

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/engine"
)

// Env is what the shell works on: the LIO model over the real or the
// simulated kernel, and what that kernel offers.
type Env struct {
	LIO *configfs.LIO
	// Kind is "real" or "sim".
	Kind string
	// KernelVersion describes the kernel (uname release, or the simulation's).
	KernelVersion string
	// AvailableFabrics are fabric modules that can be loaded, shown at the
	// root even before their directory exists.
	AvailableFabrics []string
	// UserSubtypes are the TCMU handler subtypes tcmsh serves.
	UserSubtypes []string
	// Engine serves user backstores and reports their statistics; nil
	// when no engine is available.
	Engine engine.Engine
}

// Options configure a Shell.
type Options struct {
	Out, Err io.Writer
	JSON     bool
	// Width is the terminal width for tree lines; 0 means 80.
	Width int
	// Version is tcmsh's own version string.
	Version string
}

// Shell executes commands against an Env. A Shell is used by one goroutine.
type Shell struct {
	env     Env
	opts    Options
	cwd     string
	prevCwd string
}

// New returns a shell at the root.
func New(env Env, opts Options) *Shell {
	if opts.Width <= 0 {
		opts.Width = 80
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Err == nil {
		opts.Err = io.Discard
	}
	return &Shell{env: env, opts: opts, cwd: "/", prevCwd: "/"}
}

// Cwd is the current path.
func (sh *Shell) Cwd() string { return sh.cwd }

// Env returns the shell's environment.
func (sh *Shell) Env() Env { return sh.env }

// UsageError is a command used the wrong way (unknown command, bad
// parameter); the message says what is expected.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, a ...any) error { return &UsageError{Msg: fmt.Sprintf(format, a...)} }

// ErrExit is returned by the exit command.
var ErrExit = errors.New("exit")

// call is one parsed command line.
type call struct {
	node   *Node
	name   string
	args   []string          // positional, in order
	kv     map[string]string // key=value parameters
	kvKeys []string          // keys in the order given
}

// Exec parses and runs one command line. Empty lines and comments do
// nothing.
func (sh *Shell) Exec(ctx context.Context, line string) error {
	words, err := Split(line)
	if err != nil {
		return usagef("%v", err)
	}
	if len(words) == 0 || strings.HasPrefix(words[0], "#") {
		return nil
	}
	c := &call{kv: map[string]string{}}
	if looksLikePath(words[0]) {
		n, err := sh.Resolve(words[0])
		if err != nil {
			return err
		}
		c.node = n
		words = words[1:]
		if len(words) == 0 {
			return sh.changeDir(n)
		}
	} else {
		n, err := sh.Resolve(sh.cwd)
		if err != nil {
			// The current node was deleted (by another process): go up.
			sh.cwd = "/"
			n = sh.root()
		}
		c.node = n
	}
	c.name = words[0]
	for _, w := range words[1:] {
		if k, v, ok := strings.Cut(w, "="); ok && k != "" && !strings.HasPrefix(w, "/") {
			if _, dup := c.kv[k]; dup {
				return usagef("%s: parameter %s given twice", c.name, k)
			}
			c.kv[k] = v
			c.kvKeys = append(c.kvKeys, k)
			continue
		}
		c.args = append(c.args, w)
	}
	cmd, ok := commands[c.name]
	if !ok {
		names := make([]string, 0, len(commands))
		for n := range commands {
			names = append(names, n)
		}
		msg := fmt.Sprintf("unknown command %q", c.name)
		if s := suggest(c.name, names); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		return usagef("%s; `help` lists the commands", msg)
	}
	return cmd.run(ctx, sh, c)
}

// looksLikePath tells a leading path from a command word.
func looksLikePath(w string) bool {
	return strings.HasPrefix(w, "/") || strings.HasPrefix(w, ".") || strings.Contains(w, "/") || w == "-"
}

func (sh *Shell) changeDir(n *Node) error {
	sh.prevCwd, sh.cwd = sh.cwd, n.path
	return nil
}

// printJSON writes v as indented JSON.
func (sh *Shell) printJSON(v any) error {
	enc := json.NewEncoder(sh.opts.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (sh *Shell) printf(format string, a ...any) {
	fmt.Fprintf(sh.opts.Out, format, a...)
}

// Split breaks a line into words: blanks separate, single and double
// quotes group, a backslash escapes the next character.
func Split(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	escaped := false
	for _, r := range line {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case r == '\\' && quote != '\'':
			escaped, inWord = true, true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if escaped {
		return nil, errors.New("line ends with a backslash")
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
