// Package shell owns tcmsh's command layer: the grammar, targetcli-style
// paths over the LIO model, the command table (table.go), text and JSON
// output, and the three ways commands arrive (interactive, batch from
// stdin, one-shot).
//
// The tree is made of node kinds (kind.go), one value per kind in its own
// file (kind_tpg.go is everything a TPG node is: its children, lookup,
// commands, summary, info, groups, delete and recreate lines).
//
// What a front end (the REPL here, the TUI) uses:
//   - Resolve, Children, Summary, Info: the tree and what is shown of it;
//   - CommandsFor(node): the commands of a node, each with typed Params
//     (name, type, default, enumeration, help) and Usage;
//   - Parse(line) → *Call, then Run(ctx, call, IO) → Result: one command,
//     its output going to the writers it is handed, returning what it
//     created and deleted and where the shell is now (Exec(line) is both,
//     with the writers of Options);
//   - DeleteCall(node), RecreateLine(node): how the TUI deletes a node
//     and shows the command that makes it again;
//   - Complete(textBeforeCursor): completion candidates.
//
// The configuration as data (saveconfig.json, plan, apply, backstore
// creation) is package config's; commands here call it.
package shell

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/tcmsh/tcmsh/config"
	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/internal/guard"
	"github.com/tcmsh/tcmsh/internal/suggest"
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
	// root even before their directory exists. LoadableFabrics, when set,
	// lists them instead, once, when first needed: it reads the kernel's
	// module list, which a command below the root does without.
	AvailableFabrics []string
	LoadableFabrics  func() []string
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
	// PrefsPath is the preferences file (global preferences and
	// bookmarks); empty keeps them in memory only.
	PrefsPath string
	// Color turns on colours in tree lines.
	Color bool
	// Batch is true when commands come from a script: auto_save_on_exit
	// never applies there.
	Batch bool
	// SaveFile is the default saveconfig file; empty means
	// /etc/target/saveconfig.json.
	SaveFile string
	// Screens opens the TUI for `ui` and `monitor`; nil: they refuse.
	Screens Screens
}

// Shell executes commands against an Env. A Shell is used by one goroutine.
type Shell struct {
	env Env
	// fabrics: availableFabrics' answer, made once.
	fabrics     sync.Once
	fabricNamed []string
	opts        Options
	cwd         string
	prevCwd     string
	// history of visited paths for `cd <` and `cd >`.
	history []string
	histPos int
	prefs   *Prefs
	// commands is the command table (commandTable).
	commands []*Command
	// result collects what the command Run runs creates and deletes.
	result *Result
	// undo records what commands change outside configfs while an
	// --atomic run or export may have to undo it.
	undo *config.Undo
	// memo holds what a listing command read (nil outside one).
	memo *listing
	// resolved holds the nodes paths resolved to in a batch while it makes
	// nothing but creates (nil outside a batch): a batch's lines name the
	// same targets and TPGs again and again, and each look was a stat per
	// path element. A create removes nothing, so a node found stays; any
	// other command, or a failure, empties it. What another process
	// removes meanwhile is met as the kernel's error on the next change.
	resolved map[string]*Node
}

// store is the configuration layer as this shell sees it now: its kernel,
// its engine, its error writer, its undo log and preferences.
func (sh *Shell) store() config.Store {
	st := config.Store{LIO: sh.env.LIO, Warn: sh.opts.Err, Undo: sh.undo, NameAsModel: sh.prefs.Bool("export_backstore_name_as_model")}
	if sh.env.Engine != nil {
		st.Hooks = sh.env.Engine
	}
	return st
}

// beginUndo starts recording what the commands change outside configfs,
// unless a run already records it. It returns where this operation's
// record starts, and end, to call when the operation is over.
func (sh *Shell) beginUndo() (mark int, end func()) {
	if sh.undo != nil {
		return sh.undo.Mark(), func() {}
	}
	sh.undo = &config.Undo{}
	return 0, func() { sh.undo = nil }
}

// rollbackRun makes the kernel match before again and undoes what was
// recorded outside configfs since mark (config.Store.Rollback).
func (sh *Shell) rollbackRun(before *config.Config, mark int) ([]string, error) {
	return sh.store().Rollback(before, mark)
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
	sh := &Shell{env: env, opts: opts, cwd: "/", prevCwd: "/", history: []string{"/"}, commands: commandTable()}
	prefs, err := LoadPrefs(opts.PrefsPath)
	if err != nil {
		fmt.Fprintf(opts.Err, "tcmsh: %v (using the defaults)\n", err)
	}
	sh.prefs = prefs
	return sh
}

// Cwd is the current path.
func (sh *Shell) Cwd() string { return sh.cwd }

// Env returns the shell's environment.
func (sh *Shell) Env() Env { return sh.env }

// Prefs returns the shell's global preferences.
func (sh *Shell) Prefs() *Prefs { return sh.prefs }

// SetOutput redirects the shell's output (the TUI captures it per command).
func (sh *Shell) SetOutput(out, errw io.Writer) {
	sh.opts.Out, sh.opts.Err = out, errw
}

// UsageError is a command used the wrong way (unknown command, bad
// parameter); the message says what is expected. It is the configuration
// layer's, which reports bad names, sizes and paths the same way.
type UsageError = config.UsageError

func usagef(format string, a ...any) error { return &UsageError{Msg: fmt.Sprintf(format, a...)} }

// ErrExit is returned by the exit command.
var ErrExit = errors.New("exit")

// Call is one parsed command line: the node it acts on, the command and
// its checked arguments. A bare path parses to a `cd` Call.
type Call struct {
	Node *Node
	Cmd  *Command
	Args Args
}

// Parse turns a line into a Call without running it. Empty lines and
// comments give a nil Call.
func (sh *Shell) Parse(line string) (*Call, error) {
	words, err := Split(line)
	if err != nil {
		return nil, usagef("%v", err)
	}
	if len(words) == 0 || strings.HasPrefix(words[0], "#") {
		return nil, nil
	}
	var n *Node
	if sh.isChildPath(words[0]) || looksLikePath(words[0]) {
		target := words[0]
		if target == "-" {
			target = sh.prevCwd
		}
		if n, err = sh.Resolve(target); err != nil {
			return nil, err
		}
		words = words[1:]
		if len(words) == 0 {
			cd, _ := sh.LookupCommand(n, "cd")
			args, err := cd.bind([]string{n.path})
			return &Call{Node: n, Cmd: cd, Args: args}, err
		}
	} else {
		n, err = sh.Resolve(sh.cwd)
		if err != nil {
			// The current node was deleted (by another process): go up.
			sh.cwd = "/"
			n = sh.root()
		}
	}
	cmd, ok := sh.LookupCommand(n, words[0])
	if !ok {
		cmds := sh.CommandsFor(n)
		names := make([]string, len(cmds))
		for i, c := range cmds {
			names[i] = c.Name
		}
		msg := fmt.Sprintf("unknown command %q on %s", words[0], n.path)
		if s := suggest.Nearest(words[0], names); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		} else if strings.HasPrefix(words[0], "@") {
			msg = fmt.Sprintf("%q: to go to a bookmark, type `cd %s`", words[0], words[0])
		}
		return nil, usagef("%s; `help` lists the commands here", msg)
	}
	args, err := cmd.bind(words[1:])
	if err != nil {
		return nil, err
	}
	return &Call{Node: n, Cmd: cmd, Args: args}, nil
}

// IO is where one command writes: its output and its warnings and notes.
// A nil writer discards.
type IO struct{ Out, Err io.Writer }

// Result is what one command did: the targetcli paths it created and
// deleted (as it announced them), and where the shell is afterwards.
type Result struct {
	Created, Deleted []string
	Cwd              string
}

// Run executes a parsed Call, its output going to w, inside the recovery
// boundary: a panic comes back as a *guard.PanicError naming the command.
// The shell's own writers (Options) are left as they were.
func (sh *Shell) Run(ctx context.Context, c *Call, w IO) (Result, error) {
	if c == nil {
		return Result{Cwd: sh.cwd}, nil
	}
	if w.Out == nil {
		w.Out = io.Discard
	}
	if w.Err == nil {
		w.Err = io.Discard
	}
	out, errw, rec := sh.opts.Out, sh.opts.Err, sh.result
	sh.opts.Out, sh.opts.Err, sh.result = w.Out, w.Err, &Result{}
	defer func() { sh.opts.Out, sh.opts.Err, sh.result = out, errw, rec }()
	err := guard.Run(fmt.Sprintf("`%s` at %s", c.Cmd.Name, c.Node.path), func() error {
		return c.Cmd.Run(ctx, sh, c.Node, c.Args)
	})
	res := *sh.result
	res.Cwd = sh.cwd
	return res, err
}

// Exec parses and runs one command line inside the recovery boundary (a
// panic comes back as a *guard.PanicError naming the line). Empty lines
// and comments do nothing.
func (sh *Shell) Exec(ctx context.Context, line string) error {
	return guard.Run("`"+line+"`", func() error {
		c, err := sh.Parse(line)
		if err != nil || c == nil {
			sh.forgetResolved()
			return err
		}
		usedResolved := len(sh.resolved) > 0
		err = c.Cmd.Run(ctx, sh, c.Node, c.Args)
		if err != nil || c.Cmd.Name != "create" {
			sh.forgetResolved()
		}
		if usedResolved && errors.Is(err, syscall.ENOENT) {
			// Another process removed a node the batch had resolved:
			// say which, as a fresh look at the path does.
			if _, perr := sh.Parse(line); perr != nil {
				err = perr
			}
		}
		return err
	})
}

// forgetResolved empties the batch's resolved nodes (see Shell.resolved).
func (sh *Shell) forgetResolved() { clear(sh.resolved) }

// isChildPath reports whether a word that is not a command of the current
// node names one of its children (`tpg1 set auth …`, as targetcli allows).
func (sh *Shell) isChildPath(w string) bool {
	n, err := sh.Resolve(sh.cwd)
	if err != nil {
		return false
	}
	if _, isCmd := sh.LookupCommand(n, w); isCmd {
		return false
	}
	k, err := sh.lookupChild(n, w)
	return err == nil && k != nil
}

// looksLikePath tells a leading path from a command word.
func looksLikePath(w string) bool {
	return strings.HasPrefix(w, "/") || strings.HasPrefix(w, ".") || strings.Contains(w, "/") || w == "-"
}

// Chdir makes p the current node, as cd does.
func (sh *Shell) Chdir(p string) error {
	n, err := sh.Resolve(p)
	if err != nil {
		return err
	}
	return sh.changeDir(n)
}

func (sh *Shell) changeDir(n *Node) error {
	if n.path == sh.cwd {
		return nil
	}
	sh.prevCwd, sh.cwd = sh.cwd, n.path
	// A new move drops the forward history, as a browser does.
	sh.history = append(sh.history[:sh.histPos+1], n.path)
	sh.histPos = len(sh.history) - 1
	return nil
}

// gotoHistory moves to the history entry at histPos.
func (sh *Shell) gotoHistory() error {
	n, err := sh.Resolve(sh.history[sh.histPos])
	if err != nil {
		return err
	}
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

// Quote makes a word safe for Split: it is returned as it is when it has
// no blank, quote or backslash, and in single quotes otherwise.
func Quote(w string) string {
	if w != "" && !strings.ContainsAny(w, " \t'\"\\") {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'"'"'`) + "'"
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
