// Package cli is tcmsh's command line and composition root: flags, the
// choice of kernel and engine, and the wiring of the shell, the TUI and the
// daemon, in the three modes (one-shot, batch, interactive). main calls
// Run; the end-to-end tests run it in-process through testscript.
package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/term"

	"github.com/tcmsh/tcmsh/backends"
	"github.com/tcmsh/tcmsh/config"
	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/internal/guard"
	"github.com/tcmsh/tcmsh/serve"
	"github.com/tcmsh/tcmsh/shell"
	"github.com/tcmsh/tcmsh/sim"
)

// Version is set at build time with -ldflags "-X github.com/tcmsh/tcmsh/cli.Version=…".
var Version = "0.1.0-dev"

const usageText = `tcmsh — admin shell, TUI and TCMU storage engine for the Linux SCSI target (LIO)

Usage:
  tcmsh [flags]                 interactive shell (stdin is a terminal)
  tcmsh [flags] < script        batch: one command per line from stdin
  tcmsh [flags] COMMAND...      run one command and exit, e.g. tcmsh ls /backstores
  tcmsh [flags] serve [...]     the daemon that keeps user backstores served (tcmsh serve --help)
  tcmsh [flags] ui [monitor]    the full-screen browser of the configfs tree (or the monitor first)
  tcmsh [flags] monitor         the live monitor of the TCMU devices served by this process
  tcmsh [flags] monitor --once [--json]   one snapshot of them, for scripts
  tcmsh demo [--sim-state DIR]  a small living system on the simulated kernel, in the monitor

Flags:
`

// Exit statuses.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

// Run runs the command line and returns the exit status.
func Run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tcmsh", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kernelFlag := fs.String("kernel", "auto", "which kernel to work on: auto (real when <configfs>/target exists, otherwise simulated), real, or sim")
	configfsRoot := fs.String("configfs", "/sys/kernel/config", "where configfs is mounted")
	simState := fs.String("sim-state", defaultSimState(), "where the simulated kernel keeps its state between runs")
	jsonOut := fs.Bool("json", false, "machine-readable output")
	keepGoing := fs.Bool("keep-going", false, "batch mode: run the remaining lines after a failure (the run still exits 1)")
	atomic := fs.Bool("atomic", false, "batch mode: when a line fails, undo everything the script changed (the kernel is left as before the run)")
	saveFile := fs.String("savefile", shell.DefaultSaveFile, "the default file of saveconfig and restoreconfig")
	prefsFile := fs.String("prefs", shell.DefaultPrefsPath(), "the preferences file (global preferences and bookmarks)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprint(stderr, usageText)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if *showVersion {
		fmt.Fprintf(stdout, "tcmsh %s\n", Version)
		return exitOK
	}

	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	if fs.Arg(0) == "demo" {
		state := ""
		if explicit["sim-state"] {
			state = *simState
		}
		return runDemo(fs.Args()[1:], demoEnv{configfsRoot: *configfsRoot, simState: state,
			stdin: stdin, stdout: stdout, stderr: stderr})
	}

	env, err := openKernel(*kernelFlag, *configfsRoot, *simState, stderr)
	if err != nil {
		status := exitFailed
		var ue usageErr
		if errors.As(err, &ue) {
			status = exitUsage
		}
		reportErr(stderr, *jsonOut, err, status, "")
		return status
	}
	defer func() { env.close() }()
	if env.Kind == "sim" && !explicit["savefile"] {
		// The simulated kernel's configuration is saved beside its state,
		// not over the real /etc/target.
		*saveFile = filepath.Join(*simState, "saveconfig.json")
	}

	words := fs.Args()
	// A one-shot or batch command printing to a file or pipe writes its
	// output in large pieces (bufferedOutput).
	oneShot := len(words) > 0 && words[0] != "ui" && words[0] != "monitor" && words[0] != "serve"
	if (oneShot || len(words) == 0 && !isTerminal(stdin)) && !isTerminal(stdout) {
		out := newBufferedOutput(stdout)
		defer func() { _ = out.Flush() }()
		stdout, stderr = out, flushingFirst{out: out, w: stderr}
	}
	if len(words) > 0 && words[0] == "serve" {
		return runServe(env, words[1:], *saveFile, *prefsFile, stderr)
	}
	env.attachEngine(stderr, len(words) == 0 && isTerminal(stdin))

	width := 80
	if f, ok := stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 20 {
			width = w
		}
	}
	color := os.Getenv("NO_COLOR") == "" && isTerminal(stdout)
	sh := shell.New(env.Env, shell.Options{Out: stdout, Err: stderr, JSON: *jsonOut, Width: width, Version: Version,
		SaveFile: *saveFile, PrefsPath: *prefsFile, Color: color, Screens: screens{stdin: stdin, stdout: stdout}})

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()

	switch {
	case len(words) > 0:
		if words[0] != "ui" && words[0] != "monitor" {
			shortLivedGC()
		}
		ictx, istop := signal.NotifyContext(ctx, os.Interrupt)
		defer istop()
		line := QuoteWords(words)
		if err := sh.Exec(ictx, line); err != nil && !errors.Is(err, shell.ErrExit) {
			status := exitFailed
			if errors.Is(err, shell.ErrNeedsTerminal) {
				status = exitUsage
			}
			reportErr(stderr, *jsonOut, err, status, line)
			return status
		}
		return exitOK
	case isTerminal(stdin):
		save := func() error { return sh.SaveConfig(*saveFile, false) }
		if err := sh.RunInteractive(ctx, shell.InteractiveOptions{Reader: &goPrompt{history: shell.LoadHistory(shell.DefaultHistoryPath()), color: color},
			HistoryPath: shell.DefaultHistoryPath(), SaveOnExit: save}); err != nil {
			fmt.Fprintf(stderr, "tcmsh: %v\n", err)
			return exitFailed
		}
		return exitOK
	default:
		shortLivedGC()
		ictx, istop := signal.NotifyContext(ctx, os.Interrupt)
		defer istop()
		if err := sh.RunBatch(ictx, stdin, shell.BatchOptions{KeepGoing: *keepGoing, Atomic: *atomic}); err != nil {
			return exitFailed // RunBatch reported it
		}
		return exitOK
	}
}

// shortLivedGC lets a command that ends when its work is done (one-shot,
// batch) grow its heap to five times the live data between collections
// (GOGC=400) instead of twice: a saveconfig of a few hundred objects then
// collects a few times instead of dozens, each a stop of every thread
// (slow on a guest under software emulation), and the process exits
// before the memory matters. GOGC in the environment still wins.
func shortLivedGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}

// reportErr prints an error that ends tcmsh: "tcmsh: …", or with --json
// one JSON object (shell.ErrorReport).
func reportErr(stderr io.Writer, jsonOut bool, err error, status int, command string) {
	if !jsonOut {
		fmt.Fprintf(stderr, "tcmsh: %v\n", err)
		return
	}
	r := shell.NewErrorReport(err, status)
	r.Command = command
	r.WriteJSON(stderr)
}

// runServe is `tcmsh serve`: the daemon that keeps user backstores served
// when no shell runs, with the control socket shells attach to.
func runServe(env *kernelEnv, args []string, saveFile, prefsFile string, stderr io.Writer) int {
	var opts serve.Options
	opts = serve.Options{
		Version: Version,
		NewEngine: func(log *slog.Logger) (engine.Engine, error) {
			return engine.NewLocal(engine.Options{LIO: env.LIO, Sim: env.sim, AutoServe: true, NoStats: opts.NoStats, Logf: serve.Logf(log)})
		},
		Restore: func(ctx context.Context, eng engine.Engine, file string) error {
			prefs, err := shell.LoadPrefs(prefsFile)
			if err != nil {
				fmt.Fprintf(stderr, "tcmsh: %v (using the defaults)\n", err)
			}
			st := config.Store{LIO: env.LIO, Warn: stderr, NameAsModel: prefs.Bool("export_backstore_name_as_model")}
			if eng != nil {
				st.Hooks = eng
			}
			if abs, err := filepath.Abs(file); err == nil {
				file = abs
			}
			// As rtslib at boot: everything that can be restored is, and
			// each failure is named. A bug in it is an error, not the end
			// of the daemon.
			return guard.Run("the boot restore of "+file, func() error {
				_, err := st.Restore(ctx, file, config.RestoreOptions{Partial: true, WaitDevices: opts.RestoreWait})
				return err
			})
		},
	}
	fs := flag.NewFlagSet("tcmsh serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	serve.BindFlags(fs, &opts)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "tcmsh serve: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if !given["socket"] {
		opts.Socket = env.socket
	}
	// targetcli-fb on this machine looks at the real LIO: the simulated
	// kernel's daemon offers the D-Bus service only when asked to.
	if !given["dbus"] && env.Kind == "sim" {
		opts.DBus = ""
	}
	if opts.RestoreFile == serve.DefaultRestoreFile && env.Kind == "sim" {
		opts.RestoreFile = saveFile
	}
	if err := serve.Run(context.Background(), opts); err != nil {
		fmt.Fprintf(stderr, "tcmsh serve: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// QuoteWords joins command-line words back into one line for the shell's
// grammar, quoting words that need it.
func QuoteWords(words []string) string {
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = shell.Quote(w)
	}
	return strings.Join(out, " ")
}

func isTerminal(r any) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func defaultSimState() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "tcmsh", "sim")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "tcmsh", "sim")
	}
	return filepath.Join(os.TempDir(), "tcmsh-sim")
}

type usageErr struct{ msg string }

func (e usageErr) Error() string { return e.msg }

// kernelEnv is the chosen kernel and what must be closed with it.
type kernelEnv struct {
	shell.Env
	close  func()
	sim    *sim.Kernel // nil on the real kernel
	socket string      // where a tcmsh serve daemon for this kernel listens
}

// openKernel picks the real configfs or the simulated kernel.
func openKernel(kind, configfsRoot, simState string, stderr io.Writer) (*kernelEnv, error) {
	switch kind {
	case "auto":
		if st, err := os.Stat(filepath.Join(configfsRoot, configfs.Root)); err == nil && st.IsDir() {
			return openReal(configfsRoot)
		}
		fmt.Fprintf(stderr, "tcmsh: no LIO at %s/%s: using the simulated kernel (state in %s; --kernel real to insist)\n", configfsRoot, configfs.Root, simState)
		return openSim(simState, stderr)
	case "real":
		return openReal(configfsRoot)
	case "sim":
		return openSim(simState, stderr)
	}
	return nil, usageErr{fmt.Sprintf("--kernel %q: expected auto, real or sim", kind)}
}

func openReal(root string) (*kernelEnv, error) {
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%w at %s: run `mount -t configfs none %s`", configfs.ErrNotMounted, root, root)
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("tcmsh needs root to manage LIO through configfs: run it with sudo")
	}
	lio, err := configfs.Open(configfs.NewRealFS(root), root, configfs.Options{Kind: "real", LockPath: "/run/lock/tcmsh/hba.lock"})
	if err != nil {
		return nil, err
	}
	return &kernelEnv{
		Env: shell.Env{LIO: lio, Kind: "real", KernelVersion: unameRelease(),
			LoadableFabrics: loadableFabrics, UserSubtypes: userSubtypes()},
		close:  func() {},
		socket: engine.DefaultSocket,
	}, nil
}

func openSim(stateDir string, stderr io.Writer) (*kernelEnv, error) {
	k, err := sim.Open(stateDir, sim.Options{})
	if err != nil {
		return nil, fmt.Errorf("simulated kernel: %w", err)
	}
	if d := k.Damage(); d != "" {
		fmt.Fprintf(stderr, "tcmsh: the simulated kernel's state is damaged: %s\n", d)
	}
	lio, err := configfs.Open(k, "/sys/kernel/config", configfs.Options{Kind: "sim", LockPath: filepath.Join(stateDir, "hba.lock")})
	if err != nil {
		k.Close()
		return nil, err
	}
	return &kernelEnv{
		Env:    shell.Env{LIO: lio, Kind: "sim", KernelVersion: "simulated", AvailableFabrics: sim.DefaultFabrics, UserSubtypes: userSubtypes()},
		close:  func() { k.Close() },
		sim:    k,
		socket: engine.SimSocket(stateDir),
	}, nil
}

// attachEngine gives the shell its TCMU engine: the `tcmsh serve` daemon's
// when one is running (LUNs then outlive this process), otherwise one in
// this process (the shell's LUNs stop when it exits).
func (env *kernelEnv) attachEngine(stderr io.Writer, interactive bool) {
	if engine.DaemonRunning(env.socket) {
		eng, err := engine.Dial(env.socket)
		if err == nil {
			env.Engine = eng
			closeKernel := env.close
			env.close = func() { eng.Close(); closeKernel() }
			if interactive {
				fmt.Fprintf(stderr, "tcmsh: user backstores are served by the tcmsh serve daemon at %s\n", env.socket)
			}
			return
		}
		fmt.Fprintf(stderr, "tcmsh: a tcmsh serve daemon listens at %s but refused this shell (%v): serving in this process\n", env.socket, err)
	}
	if env.sim == nil {
		// On the real kernel the engine's netlink listener is opened
		// only when a user backstore is served: a one-shot `ls` or a
		// batch of other objects does without it.
		lazy := engine.NewLazy(func() (engine.Engine, error) {
			return engine.NewLocal(engine.Options{LIO: env.LIO})
		})
		env.Engine = lazy
		closeKernel := env.close
		env.close = func() { lazy.Close(); closeKernel() }
		return
	}
	// Without the engine (no target_core_user, no uio) the shell still
	// manages LIO.
	eng, err := engine.NewLocal(engine.Options{LIO: env.LIO, Sim: env.sim})
	if err != nil {
		fmt.Fprintf(stderr, "tcmsh: TCMU engine not started: %v\n", err)
		return
	}
	env.Engine = eng
	closeKernel := env.close
	env.close = func() { eng.Close(); closeKernel() }
}

// userSubtypes are the TCMU handler subtypes this binary serves.
func userSubtypes() []string { return backends.Subtypes() }

func unameRelease() string {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return ""
	}
	var b strings.Builder
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		b.WriteByte(byte(c))
	}
	return b.String()
}

// loadableFabrics lists the known fabrics whose module the running kernel
// has (listed in modules.dep, wherever under kernel/ it lives) or has
// loaded (a module loaded by hand or built outside the module tree), so
// that the root shows them before first use.
func loadableFabrics() []string {
	have := fabricsInModulesDep(filepath.Join("/lib/modules", unameRelease(), "modules.dep"))
	for _, f := range loadedFabrics("/sys/module") {
		if !slices.Contains(have, f) {
			have = append(have, f)
		}
	}
	return have
}

// loadedFabrics lists the known fabrics whose module is loaded: a
// directory under sysModule (/sys/module) names it, '-' as '_'.
func loadedFabrics(sysModule string) []string {
	var names []string
	for _, f := range configfs.KnownFabrics {
		if _, err := os.Stat(filepath.Join(sysModule, strings.ReplaceAll(f.Module, "-", "_"))); err == nil {
			names = append(names, f.Name)
		}
	}
	return names
}

// fabricsInModulesDep lists the known fabrics whose module modules.dep
// lists (each line begins with a module's file, "…/tcm_loop.ko:",
// compressed or not). The file is half a megabyte on a distribution kernel
// and read by every one-shot `ls`, so only each line's first path is
// looked at, in place: splitting the file into strings cost a copy of it
// and a string per line. The file may spell a module's '_' as '-' or the
// reverse: both are looked for.
func fabricsInModulesDep(depFile string) []string {
	b, err := os.ReadFile(depFile)
	if err != nil {
		return nil
	}
	fabricOf := map[string]int{}
	for i, f := range configfs.KnownFabrics {
		for _, spelling := range []string{f.Module, strings.ReplaceAll(f.Module, "-", "_"), strings.ReplaceAll(f.Module, "_", "-")} {
			fabricOf[spelling] = i
		}
	}
	found := make([]bool, len(configfs.KnownFabrics))
	for len(b) > 0 {
		line := b
		if nl := bytes.IndexByte(b, '\n'); nl >= 0 {
			line, b = b[:nl], b[nl+1:]
		} else {
			b = nil
		}
		file, _, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name := file[bytes.LastIndexByte(file, '/')+1:]
		i := bytes.Index(name, []byte(".ko"))
		if i < 0 || i+3 < len(name) && name[i+3] != '.' {
			continue // not a module file (.ko, .ko.xz, .ko.zst)
		}
		if f, ok := fabricOf[string(name[:i])]; ok {
			found[f] = true
		}
	}
	var names []string
	for i, f := range configfs.KnownFabrics {
		if found[i] {
			names = append(names, f.Name)
		}
	}
	return names
}
