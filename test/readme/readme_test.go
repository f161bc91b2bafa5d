// Package readme runs the README's shell examples verbatim, in order, in a
// copy of the module on the simulated kernel, as a newcomer would after the
// README's own set-up: an example that does not run is a defect.
package readme

import (
	"bufio"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// notHere are the examples this test cannot run, by a piece of their first
// line, and why. Every other ```sh block of the README runs.
var notHere = map[string]string{
	"go run . demo":                  "opens the TUI: needs a terminal (test/tui drives it)",
	"go test -race ./...":            "the test suite itself",
	"sudo test/vm/run":               "boots a kernel under qemu as root (.ci/run runs it)",
	"modprobe target_core_mod":       "needs root and a real kernel with LIO",
	"apt-get install librbd-dev":     "installs packages as root",
	"rbd create":                     "needs a Ceph cluster",
	"go test -race -tags rbd":        "needs a Ceph cluster and librbd",
	"sudo test/vm/bench/run":         "boots a kernel under qemu as root",
	"go test -tags rbd,pacific -run": "needs a Ceph cluster and librbd",
}

type example struct {
	line int // of the opening fence
	text string
}

func shExamples(t *testing.T, readme string) []example {
	f, err := os.Open(readme)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []example
	var cur *example
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		switch {
		case cur == nil && strings.TrimSpace(l) == "```sh":
			cur = &example{line: n}
		case cur != nil && strings.TrimSpace(l) == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.text += l + "\n"
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func skipReason(ex example) string {
	first, _, _ := strings.Cut(strings.TrimSpace(ex.text), "\n")
	for k, why := range notHere {
		if strings.Contains(first, k) {
			return why
		}
	}
	return ""
}

// copyModule copies the module's files (not .git) to dir.
func copyModule(t *testing.T, root, dir string) {
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReadmeExamplesRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds tcmsh and runs a 5 s workload")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	examples := shExamples(t, filepath.Join(root, "README.md"))
	if len(examples) < 5 {
		t.Fatalf("found %d sh examples in the README", len(examples))
	}
	work := t.TempDir()
	mod := filepath.Join(work, "tcmsh")
	copyModule(t, root, mod)
	home := filepath.Join(work, "home")
	env := append(os.Environ(), "HOME="+home, "XDG_STATE_HOME="+filepath.Join(home, ".local", "state"),
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "NO_COLOR=1")
	// A new HOME, but Go's caches stay where they are (they live under
	// HOME by default): the examples build tcmsh, they do not download.
	for _, v := range []string{"GOPATH", "GOMODCACHE", "GOCACHE"} {
		out, err := exec.Command("go", "env", v).Output()
		if err != nil {
			t.Fatalf("go env %s: %v", v, err)
		}
		env = append(env, v+"="+strings.TrimSpace(string(out)))
	}
	ran := 0
	for _, ex := range examples {
		if why := skipReason(ex); why != "" {
			t.Logf("README line %d: not run here: %s", ex.line, why)
			continue
		}
		cmd := exec.Command("bash", "-e", "-o", "pipefail", "-c", ex.text)
		cmd.Dir, cmd.Env = mod, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("README line %d does not run verbatim (%v):\n%s\n---\n%s", ex.line, err, ex.text, out)
			continue
		}
		ran++
	}
	if ran < 4 {
		t.Errorf("only %d README examples ran", ran)
	}
}
