package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcmsh/tcmsh/cli"
	"github.com/tcmsh/tcmsh/shell"
)

// tcmsh runs the command line in-process with stdin from a string.
func tcmsh(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestCommandLineContract(t *testing.T) {
	state := t.TempDir()
	sim := []string{"--kernel", "sim", "--sim-state", state}

	code, out, _ := tcmsh(t, "", append(sim, "ls", "/", "1")...)
	if code != 0 || !strings.Contains(out, "o- backstores") || !strings.Contains(out, "o- iscsi") {
		t.Errorf("one-shot ls: code %d, output %q", code, out)
	}

	// auto falls back to the simulation when there is no LIO, and says so.
	code, _, errs := tcmsh(t, "", "--configfs", filepath.Join(state, "no-configfs"), "--sim-state", state, "pwd")
	if code != 0 || !strings.Contains(errs, "using the simulated kernel") {
		t.Errorf("auto without configfs: code %d, stderr %q", code, errs)
	}

	// real without configfs: the mount command, exit 1.
	missing := filepath.Join(state, "no-configfs")
	code, _, errs = tcmsh(t, "", "--kernel", "real", "--configfs", missing, "ls")
	if code != 1 || !strings.Contains(errs, "configfs not mounted") || !strings.Contains(errs, "mount -t configfs none "+missing) {
		t.Errorf("real without configfs: code %d, stderr %q", code, errs)
	}

	// Usage errors exit 2.
	if code, _, _ := tcmsh(t, "", "--no-such-flag"); code != 2 {
		t.Errorf("unknown flag: code %d", code)
	}
	if code, _, errs := tcmsh(t, "", "--kernel", "maybe", "ls"); code != 2 || !strings.Contains(errs, "expected auto, real or sim") {
		t.Errorf("bad --kernel: code %d, %q", code, errs)
	}
	if code, out, _ := tcmsh(t, "", "--version"); code != 0 || !strings.HasPrefix(out, "tcmsh ") {
		t.Errorf("--version: %d %q", code, out)
	}

	// A failing command exits 1 and says why.
	code, _, errs = tcmsh(t, "", append(sim, "cd", "/nope")...)
	if code != 1 || !strings.Contains(errs, "no such path /nope") {
		t.Errorf("failing one-shot: code %d, %q", code, errs)
	}

	// Batch: stops at the first failure with its line number.
	code, out, errs = tcmsh(t, "pwd\ncd /iscsi\nbogus\npwd\n", sim...)
	if code != 1 || !strings.Contains(errs, `line 3: bogus: unknown command "bogus"`) || strings.Contains(out, "/iscsi\n") {
		t.Errorf("batch: code %d, out %q, err %q", code, out, errs)
	}
	code, out, _ = tcmsh(t, "bogus\ncd /iscsi\npwd\n", append(sim, "--keep-going")...)
	if code != 1 || !strings.Contains(out, "/iscsi\n") {
		t.Errorf("batch --keep-going: code %d, out %q", code, out)
	}

	// --json.
	code, out, _ = tcmsh(t, "", append(sim, "--json", "version")...)
	var v map[string]string
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v["kernel"] != "sim" {
		t.Errorf("--json version: %d %q", code, out)
	}
}

func TestQuoteWords(t *testing.T) {
	for _, words := range [][]string{
		{"set", "auth", "password=a b", "x='q'", ""},
		{`back\slash`, `"dq"`, "tab\there"},
	} {
		got, err := shell.Split(cli.QuoteWords(words))
		if err != nil || strings.Join(got, "|") != strings.Join(words, "|") {
			t.Errorf("Split(QuoteWords(%q)) = %q, %v", words, got, err)
		}
	}
}

func TestMain(m *testing.M) {
	// Keep the default simulated state out of the user's home.
	dir, err := os.MkdirTemp("", "tcmsh-main-test")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_STATE_HOME", dir)
	os.Setenv("XDG_CONFIG_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
