package shell

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcmsh/tcmsh/internal/guard"
)

// A saveconfig file whose top level is not an object is refused by
// restoreconfig, diff and apply, with nothing changed; in an --atomic run
// the earlier lines are undone.
func TestSaveconfigWhoseTopLevelIsNotAnObject(t *testing.T) {
	sh, out, _ := newTestShell(t, false)
	ctx := context.Background()
	dir := t.TempDir()
	before := configJSON(t, sh)
	for _, top := range []string{"[]", "null", "5", `"x"`, "true"} {
		file := filepath.Join(dir, "bad.json")
		if err := os.WriteFile(file, []byte(top+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, line := range []string{"restoreconfig " + file, "restoreconfig " + file + " clear_existing=true", "diff " + file, "apply " + file} {
			err := sh.Exec(ctx, line)
			var pe *guard.PanicError
			if err == nil || errors.As(err, &pe) || !strings.Contains(err.Error(), "expected an object") || !strings.Contains(err.Error(), file) {
				t.Errorf("%s with %s: %v; want a refusal naming the file", line, top, err)
			}
		}
		out.Reset()
		err := sh.RunBatch(ctx, strings.NewReader("/backstores/ramdisk create a1 8M\nrestoreconfig "+file+"\n"), BatchOptions{Atomic: true})
		var le *LineError
		if !errors.As(err, &le) || le.Line != 2 {
			t.Errorf("--atomic run with %s: %v", top, err)
		}
		if got := configJSON(t, sh); got != before {
			t.Fatalf("--atomic run with %s left a change behind:\n%s", top, got)
		}
	}
}

func nth(s []int, i int) int { return s[i] }

// panicIn makes the root command name panic for the test's duration.
func panicIn(t *testing.T, sh *Shell, name string, before func()) {
	t.Helper()
	cmd, ok := sh.LookupCommand(sh.root(), name)
	if !ok {
		t.Fatalf("no %s command", name)
	}
	run := cmd.Run
	t.Cleanup(func() { cmd.Run = run })
	cmd.Run = func(context.Context, *Shell, *Node, Args) error {
		if before != nil {
			before()
		}
		return fmt.Errorf("%d", nth(nil, 3)) // index out of range
	}
}

// The recovery boundary: a command that panics is an error naming it; the
// REPL reads on, and an --atomic run undoes its earlier lines.
func TestPanicInACommandIsAnErrorNamingIt(t *testing.T) {
	sh, out, _ := newTestShell(t, false)
	ctx := context.Background()
	before := configJSON(t, sh)
	panicIn(t, sh, "version", nil)

	err := sh.Exec(ctx, "version")
	var pe *guard.PanicError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "internal error in `version`") || !strings.Contains(err.Error(), "index out of range") {
		t.Fatalf("Exec = %v, want an internal error naming the command", err)
	}
	if c, perr := sh.Parse("version"); perr != nil {
		t.Fatal(perr)
	} else if _, err := sh.Run(ctx, c, IO{}); !errors.As(err, &pe) || !strings.Contains(err.Error(), "`version` at /") {
		t.Fatalf("Run = %v", err)
	}

	out.Reset()
	r := &scriptedReader{lines: []string{"version", "cd /backstores", "pwd"}}
	if err := sh.RunInteractive(ctx, InteractiveOptions{Reader: r}); err != nil {
		t.Fatal(err)
	}
	if r.ran != 3 || sh.Cwd() != "/backstores" || !strings.Contains(out.String(), "internal error in `version`") {
		t.Fatalf("the REPL did not live on after the panic (%d lines, at %s):\n%s", r.ran, sh.Cwd(), out)
	}

	out.Reset()
	err = sh.RunBatch(ctx, strings.NewReader("/backstores/ramdisk create a1 8M\n/loopback create naa.5001405ccccccccc\nversion\n"), BatchOptions{Atomic: true})
	var le *LineError
	if !errors.As(err, &le) || le.Line != 3 || !errors.As(err, &pe) {
		t.Fatalf("--atomic run: %v", err)
	}
	if !strings.Contains(out.String(), "--atomic: undid every change of this run") {
		t.Errorf("no rollback message:\n%s", out)
	}
	if got := configJSON(t, sh); got != before {
		t.Fatalf("--atomic run left a change behind:\n%s", got)
	}
}

// panicEngine panics when it is asked to serve a backstore, as a bug in
// the engine would.
type panicEngine struct{ fakeEngine }

func (p *panicEngine) Serve(context.Context, string) error { panic("engine bug") }

// A panic in the middle of apply (and so of restoreconfig) is undone like
// any failed step: the configuration is as before.
func TestPanicInApplyIsRolledBack(t *testing.T) {
	sh, out, l := newTestShell(t, false)
	ctx := context.Background()
	sh.env.Engine = &panicEngine{fakeEngine{lio: l}}
	before := configJSON(t, sh)
	file := filepath.Join(t.TempDir(), "want.json")
	want := strings.Replace(before, `"storage_objects": [`, `"storage_objects": [
    {"plugin": "ramdisk", "name": "r0", "size": 1048576, "nullio": false, "wwn": "0a1b2c3d-0000-4000-8000-000000000001"},
    {"plugin": "user", "name": "u0", "size": 1048576, "config": "ram/", "wwn": "0a1b2c3d-0000-4000-8000-000000000002"},`, 1)
	if err := os.WriteFile(file, []byte(want), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"apply " + file, "restoreconfig " + file + " clear_existing=true"} {
		out.Reset()
		err := sh.Exec(ctx, line)
		var pe *guard.PanicError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), "engine bug") || !strings.Contains(err.Error(), "the previous configuration is back") {
			t.Fatalf("%s: %v\n%s", line, err, out)
		}
		if got := configJSON(t, sh); got != before {
			t.Fatalf("%s left a change behind:\n%s", line, got)
		}
	}
}

// Lines pasted together (or typed faster than read) run one by one.
func TestPastedLinesRunOneByOne(t *testing.T) {
	sh, out, _ := newTestShell(t, false)
	r := &scriptedReader{lines: []string{"cd /backstores\npwd\r\nversion\n", "pwd"}}
	if err := sh.RunInteractive(context.Background(), InteractiveOptions{Reader: r}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "unknown command") || strings.Count(out.String(), "/backstores\n") != 2 || !strings.Contains(out.String(), "test") {
		t.Errorf("pasted lines:\n%s", out)
	}
}
