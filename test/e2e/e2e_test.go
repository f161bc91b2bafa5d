// Package e2e runs tcmsh end to end on the simulated kernel: batch files,
// one-shot commands and their exit codes, written as testscript files in
// testdata/. Each script gets its own simulated kernel (--sim-state under
// its work directory) and its own preferences.
package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/tcmsh/tcmsh/cli"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"tcmsh": func() { os.Exit(cli.Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata",
		Setup: func(e *testscript.Env) error {
			e.Setenv("XDG_CONFIG_HOME", filepath.Join(e.WorkDir, ".config"))
			e.Setenv("XDG_STATE_HOME", filepath.Join(e.WorkDir, ".state"))
			e.Setenv("NO_COLOR", "1")
			return nil
		},
		// [blockdev]: /dev/loop0 is a block device (the block backstore
		// scripts need one; the simulated kernel checks the device type).
		Condition: func(cond string) (bool, error) {
			if cond != "blockdev" {
				return false, fmt.Errorf("unknown condition %q", cond)
			}
			fi, err := os.Stat("/dev/loop0")
			return err == nil && fi.Mode()&os.ModeDevice != 0 && fi.Mode()&os.ModeCharDevice == 0, nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// expand IN OUT: copy a file with $WORK and other variables replaced
			// (fixtures name files in the script's work directory).
			"expand": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 2 {
					ts.Fatalf("usage: expand in out")
				}
				out := os.Expand(ts.ReadFile(args[0]), ts.Getenv)
				if err := os.WriteFile(ts.MkAbs(args[1]), []byte(out), 0o644); err != nil {
					ts.Fatalf("expand: %v", err)
				}
			},
			// status N command args…: run a command and check its exit status.
			"status": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) < 2 {
					ts.Fatalf("usage: status N command [args...]")
				}
				want, err := strconv.Atoi(args[0])
				if err != nil {
					ts.Fatalf("status: %v", err)
				}
				got := 0
				if err := ts.Exec(args[1], args[2:]...); err != nil {
					var ee *exec.ExitError
					if !errors.As(err, &ee) {
						ts.Fatalf("status: %v", err)
					}
					got = ee.ExitCode()
				}
				if (got == want) == neg {
					ts.Fatalf("exit status %d, want %d", got, want)
				}
			},
		},
	})
}
