package shell

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/sim"
)

// ctrlD in a scriptedReader's lines ends the input as Ctrl-D on an empty
// line does; so does the end of the lines.
const ctrlD = "\x04"

// scriptedReader feeds lines to the REPL as a person would type them. A
// Loop started again goes on after the line the last one stopped at.
type scriptedReader struct {
	lines []string
	ran   int
	next  int
	loops int
}

func (r *scriptedReader) Loop(_ func() string, _ func(string) []Suggestion, handle func(string) bool) error {
	r.loops++
	for r.next < len(r.lines) {
		l := r.lines[r.next]
		r.next++
		r.ran++
		if l == ctrlD {
			return nil
		}
		if handle(l) {
			return nil
		}
	}
	return nil
}

// TestExitAsksWhileServedLUNInUse: with the engine in this process, leaving
// takes its LUNs down, so the first exit only says so.
func TestExitAsksWhileServedLUNInUse(t *testing.T) {
	dir := t.TempDir()
	k, err := sim.Open(dir, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	l, err := configfs.Open(k, "/sys/kernel/config", configfs.Options{Kind: "sim", LockPath: filepath.Join(dir, "hba.lock")})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.NewLocal(engine.Options{LIO: l, Sim: k})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	var out bytes.Buffer
	sh := New(Env{LIO: l, Kind: "sim", Engine: eng, UserSubtypes: eng.Subtypes(), AvailableFabrics: sim.DefaultFabrics},
		Options{Out: &out, Err: &out, Width: 80, PrefsPath: filepath.Join(dir, "prefs.json")})
	ctx := context.Background()

	// Served but not exported: exit leaves at once.
	if err := sh.Exec(ctx, "/backstores/user:ram create r1 16M"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "note: r1 is served by this tcmsh process") {
		t.Errorf("creating a user backstore served in-process does not say so:\n%s", out.String())
	}
	r := &scriptedReader{lines: []string{"exit", "pwd"}}
	if err := sh.RunInteractive(ctx, InteractiveOptions{Reader: r}); err != nil {
		t.Fatal(err)
	}
	if r.ran != 1 {
		t.Fatalf("exit with nothing exported did not leave at once (%d lines ran)", r.ran)
	}

	// Exported through a LUN: the first exit warns and stays.
	for _, line := range []string{"/loopback create naa.5001405aaaaaaaaa", "/loopback/naa.5001405aaaaaaaaa/luns create /backstores/user:ram/r1"} {
		if err := sh.Exec(ctx, line); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
	}
	out.Reset()
	r = &scriptedReader{lines: []string{"exit", "exit", "pwd"}}
	if err := sh.RunInteractive(ctx, InteractiveOptions{Reader: r}); err != nil {
		t.Fatal(err)
	}
	if r.ran != 2 {
		t.Errorf("%d lines ran, want the second exit to leave", r.ran)
	}
	if !strings.Contains(out.String(), "/backstores/user:ram/r1 served by this tcmsh process and exported") ||
		!strings.Contains(out.String(), "Type exit again") {
		t.Errorf("no warning before leaving:\n%s", out.String())
	}

	// Ctrl-D has the same guard: the first one warns and the shell reads
	// on; a second one (here the end of the lines) leaves.
	out.Reset()
	r = &scriptedReader{lines: []string{ctrlD, "pwd"}}
	if err := sh.RunInteractive(ctx, InteractiveOptions{Reader: r}); err != nil {
		t.Fatal(err)
	}
	if r.ran != 2 || r.loops != 2 {
		t.Errorf("Ctrl-D left at once (%d lines ran, %d loops)", r.ran, r.loops)
	}
	if !strings.Contains(out.String(), "/backstores/user:ram/r1 served by this tcmsh process and exported") ||
		!strings.Contains(out.String(), "Press Ctrl-D or type exit again") {
		t.Errorf("no warning before Ctrl-D leaves:\n%s", out.String())
	}
}
