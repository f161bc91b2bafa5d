package serve_test

import (
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcmsh/tcmsh/serve"
	"github.com/tcmsh/tcmsh/serve/servetest"
)

// waitFor polls path until it contains want; the deadline only keeps a
// broken build from hanging (no timing is asserted).
func waitFor(t *testing.T, path, want string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if strings.Contains(string(b), want) {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never had %q:\n%s", path, want, b)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTCMUConfLevelAndDir: the daemon takes tcmu.conf's log_dir (the log
// is log_dir/tcmsh.log) and log_level (2, WARNING: the info start-up line
// is not logged), and when the file is replaced as an editor does, applies
// the new level at once (4, DEBUG: the reload line, at info, is logged).
func TestTCMUConfLevelAndDir(t *testing.T) {
	etc := t.TempDir()
	logDir := t.TempDir()
	conf := filepath.Join(etc, "tcmu.conf")
	if err := os.WriteFile(conf, []byte("# tcmu\nlog_level = 2\nlog_dir = \""+logDir+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := fakeOptions(servetest.NewFake())
	opts.TCMUConf = conf
	opts.LogFile = ""
	servetest.Start(t, opts)
	logFile := filepath.Join(logDir, serve.TCMULogFile)
	if b, err := os.ReadFile(logFile); err != nil {
		t.Fatalf("no log in log_dir: %v", err)
	} else if strings.Contains(string(b), "tcmsh serve ready") {
		t.Errorf("log_level 2 (WARNING) logged an info line:\n%s", b)
	}

	tmp := conf + ".new"
	if err := os.WriteFile(tmp, []byte("log_level = 4\nlog_dir = \""+logDir+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, conf); err != nil {
		t.Fatal(err)
	}
	waitFor(t, logFile, "tcmu.conf applied")

	// A bad edit keeps the previous settings and says why, with the line.
	if err := os.WriteFile(conf, []byte("log_level = 9\nlog_dir = \""+logDir+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, logFile, "tcmu.conf:1: log_level")
}

// TestLogLevelFlagWinsOverTCMUConf: --log-level given on the command line
// is kept whatever tcmu.conf says.
func TestLogLevelFlagWinsOverTCMUConf(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "tcmu.conf")
	if err := os.WriteFile(conf, []byte("log_level = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var opts serve.Options
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	serve.BindFlags(fs, &opts)
	if err := fs.Parse([]string{"--log-level", "info", "--tcmu-conf", conf}); err != nil {
		t.Fatal(err)
	}
	if !opts.LogLevelSet || opts.LogLevel != slog.LevelInfo || opts.TCMUConf != conf {
		t.Fatalf("flags → %+v", opts)
	}
	full := fakeOptions(servetest.NewFake())
	full.LogLevel, full.LogLevelSet, full.TCMUConf = opts.LogLevel, true, conf
	full.LogFile = filepath.Join(t.TempDir(), "serve.log")
	servetest.Start(t, full)
	waitFor(t, full.LogFile, "tcmsh serve ready")
}
