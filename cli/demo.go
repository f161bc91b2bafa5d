package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/shell"
	"github.com/tcmsh/tcmsh/views/app"
)

// demoEnv is what `tcmsh demo` takes from the command line.
type demoEnv struct {
	configfsRoot string
	simState     string // given with --sim-state; "" for a temporary one
	stdin        io.Reader
	stdout       io.Writer
	stderr       io.Writer
}

// DemoWWN is the loopback target of the demo.
const DemoWWN = "naa.5001405dec0de001"

// demoLUN is one LUN of the demo: its backstore, made by a shell command
// line, and the workload that keeps it busy.
type demoLUN struct {
	Backstore string // /backstores/user:ram/r0
	Create    string // the command line that creates the backstore
	LUN       string // /loopback/<wwn>/luns/lunN
	Workload  engine.WorkloadSpec
}

// demoLUNs is the demo's system: a RAM disk, a sparse image file in dir,
// and a RAM disk behind the fault backend that adds 2ms to every command
// and fails one in 500 with a MEDIUM ERROR (so CHECK CONDITIONs show).
// Each workload is capped (rate=) so that the demo stays light: about
// 3,500 I/Os a second in all.
func demoLUNs(dir string) []demoLUN {
	const forever = 365 * 24 * time.Hour // until the demo ends
	lun := func(i int) string { return fmt.Sprintf("/loopback/%s/luns/lun%d", DemoWWN, i) }
	return []demoLUN{
		{Backstore: "/backstores/user:ram/r0", Create: "/backstores/user:ram create r0 256M", LUN: lun(0),
			Workload: engine.WorkloadSpec{RW: "randrw", BlockSize: 4096, QueueDepth: 4, Duration: forever, Rate: 2000}},
		{Backstore: "/backstores/user:file/f0", Create: "/backstores/user:file create f0 256M " + QuoteWords([]string{"cfgstring=" + filepath.Join(dir, "f0.img")}), LUN: lun(1),
			Workload: engine.WorkloadSpec{RW: "randwrite", BlockSize: 16384, QueueDepth: 2, Duration: forever, Rate: 500}},
		{Backstore: "/backstores/user:fault/slow", Create: "/backstores/user:fault create slow 64M 'cfgstring=ram/;delay=2ms;error_rate=0.002'", LUN: lun(2),
			Workload: engine.WorkloadSpec{RW: "randread", BlockSize: 4096, QueueDepth: 8, Duration: forever, Rate: 1000}},
	}
}

func runDemo(args []string, de demoEnv) int {
	fs := flag.NewFlagSet("tcmsh demo", flag.ContinueOnError)
	fs.SetOutput(de.stderr)
	simState := fs.String("sim-state", de.simState, "keep the demo's simulated kernel in this directory (default: a temporary one, removed at exit)")
	fs.Usage = func() {
		fmt.Fprint(de.stderr, "Usage: tcmsh demo [--sim-state DIR]\n\n"+
			"Builds a small living system on the simulated kernel (a user:ram, a user:file and a\n"+
			"user:fault LUN behind a loopback target, each with a running workload) and opens the\n"+
			"monitor; b opens the browser, q quits and takes it all down.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(de.stderr, "tcmsh demo: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if !isTerminal(de.stdin) || !isTerminal(de.stdout) {
		fmt.Fprintln(de.stderr, "tcmsh demo needs a terminal: it opens the full-screen monitor "+
			"(in scripts, `workload` and `monitor --once --json` give the same figures)")
		return exitUsage
	}
	if err := demo(*simState, de); err != nil {
		fmt.Fprintf(de.stderr, "tcmsh demo: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// demo builds the system, runs the TUI on the monitor, and takes it all
// down when the user quits.
func demo(state string, de demoEnv) (err error) {
	if st, serr := os.Stat(filepath.Join(de.configfsRoot, configfs.Root)); serr == nil && st.IsDir() {
		fmt.Fprintf(de.stderr, "tcmsh demo: LIO is present at %s/%s, but the demo runs on the simulated kernel and leaves the real one alone\n", de.configfsRoot, configfs.Root)
	}
	if state == "" {
		tmp, terr := os.MkdirTemp("", "tcmsh-demo-")
		if terr != nil {
			return fmt.Errorf("a directory for the simulated kernel: %w", terr)
		}
		defer func() {
			if rerr := os.RemoveAll(tmp); rerr != nil {
				err = errors.Join(err, fmt.Errorf("removing %s: %w", tmp, rerr))
			}
		}()
		state = tmp
		fmt.Fprintf(de.stderr, "tcmsh demo: on the simulated kernel (state in %s, removed at exit)\n", state)
	} else {
		fmt.Fprintf(de.stderr, "tcmsh demo: on the simulated kernel (state kept in %s)\n", state)
	}
	env, err := openSim(state, de.stderr)
	if err != nil {
		return err
	}
	env.attachEngine(de.stderr, false)
	defer func() { env.close() }()
	if env.Engine == nil {
		return errors.New("no TCMU engine: the demo's LUNs cannot be served")
	}
	sh := shell.New(env.Env, shell.Options{Out: io.Discard, Err: io.Discard, Version: Version,
		SaveFile: filepath.Join(state, "saveconfig.json"), Screens: screens{stdin: de.stdin, stdout: de.stdout}})

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	luns := demoLUNs(state)
	if err := buildDemo(ctx, sh, luns); err != nil {
		return err
	}
	wl, err := startDemoWorkloads(ctx, sh, luns)
	if err != nil {
		return err
	}
	uiErr := app.Run(ctx, app.Options{Start: app.FaceMonitor, Shell: sh, Input: de.stdin, Output: de.stdout})
	for _, werr := range wl.stop() {
		fmt.Fprintf(de.stderr, "tcmsh demo: %v\n", werr)
	}
	return uiErr
}

// buildDemo makes the demo's objects through the shell's command layer,
// with the command lines a user would type. Objects that exist already
// (a kept --sim-state) are left as they are.
func buildDemo(ctx context.Context, sh *shell.Shell, luns []demoLUN) error {
	var lines []string
	for _, l := range luns {
		if _, err := sh.Resolve(l.Backstore); err != nil {
			lines = append(lines, l.Create)
		}
	}
	if _, err := sh.Resolve("/loopback/" + DemoWWN); err != nil {
		lines = append(lines, "/loopback create "+DemoWWN)
	}
	for i, l := range luns {
		if _, err := sh.Resolve(l.LUN); err != nil {
			lines = append(lines, fmt.Sprintf("/loopback/%s/luns create %s lun=%d", DemoWWN, l.Backstore, i))
		}
	}
	for _, line := range lines {
		if err := sh.Exec(ctx, line); err != nil {
			return fmt.Errorf("building the demo: %s: %w", line, err)
		}
	}
	return nil
}

// demoWorkloads are the demo's running workloads.
type demoWorkloads struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	errs   []error
}

// startDemoWorkloads serves each LUN's backstore (a no-op when served
// already) and starts its workload in the background, until stop.
func startDemoWorkloads(ctx context.Context, sh *shell.Shell, luns []demoLUN) (*demoWorkloads, error) {
	eng := sh.Env().Engine
	type target struct {
		lun, cfg string
		spec     engine.WorkloadSpec
	}
	var targets []target
	for _, l := range luns {
		so, err := sh.Resolve(l.Backstore)
		if err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
		if eng.InProcess() {
			if err := eng.Serve(ctx, so.ConfigPath()); err != nil {
				return nil, fmt.Errorf("demo: serving %s: %w", l.Backstore, err)
			}
		}
		n, err := sh.Resolve(l.LUN)
		if err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
		targets = append(targets, target{lun: l.LUN, cfg: n.ConfigPath(), spec: l.Workload})
	}
	wctx, cancel := context.WithCancel(ctx)
	w := &demoWorkloads{cancel: cancel}
	for _, t := range targets {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			_, err := eng.Workload(wctx, t.cfg, t.spec)
			if err != nil && wctx.Err() == nil {
				// A LUN deleted in the browser ends its workload: said
				// after the TUI, not over it.
				w.mu.Lock()
				w.errs = append(w.errs, fmt.Errorf("workload on %s stopped: %w", t.lun, err))
				w.mu.Unlock()
			}
		}()
	}
	return w, nil
}

// stop ends the workloads, waits for them, and returns why any of them
// ended early.
func (w *demoWorkloads) stop() []error {
	w.cancel()
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.errs
}
