package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/shell"
)

func TestDemoBuildsALivingSystemThroughTheShell(t *testing.T) {
	state := t.TempDir()
	env, err := openSim(state, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	env.attachEngine(&stderr, false)
	defer env.close()
	if env.Engine == nil {
		t.Fatalf("no engine: %s", stderr.String())
	}
	sh := shell.New(env.Env, shell.Options{Out: io.Discard, Err: io.Discard})
	ctx := context.Background()
	luns := demoLUNs(state)
	if err := buildDemo(ctx, sh, luns); err != nil {
		t.Fatal(err)
	}
	// Building again (a kept --sim-state) changes nothing and fails nothing.
	if err := buildDemo(ctx, sh, luns); err != nil {
		t.Fatalf("second build: %v", err)
	}
	for i, l := range luns {
		if _, err := sh.Resolve(l.LUN); err != nil {
			t.Fatalf("LUN %d: %v", i, err)
		}
		if l.Workload.Rate <= 0 {
			t.Errorf("%s: the workload has no rate cap", l.LUN)
		}
		// A few hundred commands each instead of running until the end.
		luns[i].Workload.Duration, luns[i].Workload.Count = 0, 200
	}
	w, err := startDemoWorkloads(ctx, sh, luns)
	if err != nil {
		t.Fatal(err)
	}
	w.wg.Wait()
	if errs := w.stop(); len(errs) > 0 {
		t.Fatalf("workloads: %v", errs)
	}
	// A worker accounts a command just after telling the kernel, so the
	// last one may reach the statistics a moment after the workload ends.
	var stats []engine.DeviceStats
	for try := 0; ; try++ {
		if stats, err = env.Engine.Stats(ctx); err != nil {
			t.Fatal(err)
		}
		if try == 100 || !slices.ContainsFunc(stats, func(st engine.DeviceStats) bool { return st.Commands < 200 }) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(stats) != 3 {
		t.Fatalf("%d devices served, want 3: %+v", len(stats), stats)
	}
	for _, st := range stats {
		if !st.Up || st.Commands < 200 {
			t.Errorf("%s: up=%v commands=%d, want up with at least 200", st.Path, st.Up, st.Commands)
		}
	}
	if _, err := os.Stat(filepath.Join(state, "f0.img")); err != nil {
		t.Errorf("the user:file image: %v", err)
	}
}

func TestTUIRefusesWithoutATerminal(t *testing.T) {
	for _, args := range [][]string{{"demo"}, {"ui"}, {"monitor"}} {
		var out, errw bytes.Buffer
		argv := append([]string{"--kernel=sim", "--sim-state=" + t.TempDir(), "--prefs=" + filepath.Join(t.TempDir(), "p.json")}, args...)
		code := Run(argv, strings.NewReader(""), &out, &errw)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d; stderr %s", args, code, exitUsage, errw.String())
		}
		if !strings.Contains(errw.String(), "needs a terminal") || !strings.Contains(errw.String(), "monitor --once --json") && !strings.Contains(errw.String(), "monitor --once [--json]") {
			t.Errorf("%v: stderr %q does not say what to use instead", args, errw.String())
		}
	}
	var out, errw bytes.Buffer
	code := Run([]string{"--kernel=sim", "--sim-state=" + t.TempDir(), "--prefs=" + filepath.Join(t.TempDir(), "p.json"), "monitor", "--once", "--json"}, strings.NewReader(""), &out, &errw)
	if code != exitOK {
		t.Errorf("monitor --once --json: exit %d; stderr %s", code, errw.String())
	}
	if !strings.HasPrefix(strings.TrimSpace(out.String()), "{") && !strings.HasPrefix(strings.TrimSpace(out.String()), "[") {
		t.Errorf("monitor --once --json printed %q", out.String())
	}
}
