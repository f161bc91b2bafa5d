package serve

import (
	"log/slog"
	"strings"
	"testing"
)

// TestParseTCMUConf: tcmu-runner's shipped file (every line a comment),
// the settings tcmsh applies, quoting, keys tcmsh ignores, and bad values
// named by line.
func TestParseTCMUConf(t *testing.T) {
	for _, tt := range []struct {
		name, text string
		level      int
		dir        string
		ignored    int
		err        string
	}{
		{"shipped", "# Master TCMU configuration file\n# log_level = 3\n# log_dir = \"/var/log\"\n", -1, "", 0, ""},
		{"level", "log_level = 4\n", 4, "", 0, ""},
		{"no spaces", "log_level=0", 0, "", 0, ""},
		{"dir double quotes", "log_dir = \"/var/log/tcmu\"\n", -1, "/var/log/tcmu", 0, ""},
		{"dir single quotes", "log_dir = '/srv/logs/'\n", -1, "/srv/logs", 0, ""},
		{"dir bare", "  log_dir=/tmp  \n", -1, "/tmp", 0, ""},
		{"both, last wins", "log_level = 1\nlog_level = 5\nlog_dir = /a\n", 5, "/a", 0, ""},
		{"unknown key", "log_level = 2\nsome_future_knob = 7\n", 2, "", 1, ""},
		{"level too high", "log_level = 6\n", 0, "", 0, "x.conf:1: log_level \"6\""},
		{"level not a number", "# c\nlog_level = debug\n", 0, "", 0, "x.conf:2: log_level \"debug\""},
		{"relative dir", "log_dir = logs\n", 0, "", 0, "x.conf:1: log_dir \"logs\": expected an absolute path"},
		{"no equals", "log_level 3\n", 0, "", 0, "x.conf:1: \"log_level 3\": expected key = value"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, ignored, err := parseTCMUConf("x.conf", []byte(tt.text))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want …%s…", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.logLevel != tt.level || c.logDir != tt.dir || len(ignored) != tt.ignored {
				t.Errorf("got level %d dir %q ignored %v; want %d %q %d", c.logLevel, c.logDir, ignored, tt.level, tt.dir, tt.ignored)
			}
		})
	}
}

// TestTCMULevels: tcmu-runner's six levels in slog's order.
func TestTCMULevels(t *testing.T) {
	want := []slog.Level{slog.LevelError, slog.LevelError, slog.LevelWarn, slog.LevelInfo, slog.LevelDebug, slog.LevelDebug - 4}
	for i, w := range want {
		if l, ok := (tcmuConf{logLevel: i}).level(); !ok || l != w {
			t.Errorf("log_level %d → %v, want %v", i, l, w)
		}
	}
	if _, ok := (tcmuConf{logLevel: -1}).level(); ok {
		t.Error("unset log_level has a level")
	}
}
