package serve

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// DefaultTCMUConf is tcmu-runner's configuration file, which `tcmsh serve`
// reads too (--tcmu-conf): an admin who set its log level or log directory
// keeps them.
const DefaultTCMUConf = "/etc/tcmu/tcmu.conf"

// TCMULogFile is the name of the daemon's log file in tcmu.conf's log_dir
// (tcmu-runner writes tcmu-runner.log there).
const TCMULogFile = "tcmsh.log"

// tcmuConf is what tcmsh takes from tcmu.conf. Unset fields are zero:
// logLevel -1, logDir "".
type tcmuConf struct {
	logLevel int
	logDir   string
}

// tcmuLevels maps tcmu-runner's log levels to slog's: 0 CRIT and 1 ERROR
// are errors, 2 WARNING, 3 INFO (tcmu-runner's default), 4 DEBUG, and 5
// DEBUG SCSI CMD is below debug (tcmsh logs no line per command; the
// monitor's recent-commands log and `stats` show them).
var tcmuLevels = []slog.Level{slog.LevelError, slog.LevelError, slog.LevelWarn, slog.LevelInfo, slog.LevelDebug, slog.LevelDebug - 4}

// level is the slog level of c's log_level, ok false when it is unset.
func (c tcmuConf) level() (slog.Level, bool) {
	if c.logLevel < 0 {
		return 0, false
	}
	return tcmuLevels[c.logLevel], true
}

// parseTCMUConf reads tcmu.conf's syntax: `key = value` lines, `#`
// comments, string values optionally in double or single quotes. Keys
// tcmsh has no use for are returned in ignored (tcmu-runner ignores
// unknown keys too); a bad value of a known key is an error naming its line.
func parseTCMUConf(name string, data []byte) (c tcmuConf, ignored []string, err error) {
	c.logLevel = -1
	for n, line := range bytes.Split(data, []byte("\n")) {
		text := strings.TrimSpace(string(line))
		if text == "" || text[0] == '#' {
			continue
		}
		key, value, ok := strings.Cut(text, "=")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if !ok || key == "" {
			return c, ignored, fmt.Errorf("%s:%d: %q: expected key = value", name, n+1, text)
		}
		if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
			value = value[1 : len(value)-1]
		}
		switch key {
		case "log_level":
			l, err := strconv.Atoi(value)
			if err != nil || l < 0 || l >= len(tcmuLevels) {
				return c, ignored, fmt.Errorf("%s:%d: log_level %q: expected 0 (CRIT) to 5 (DEBUG SCSI CMD)", name, n+1, value)
			}
			c.logLevel = l
		case "log_dir":
			if !filepath.IsAbs(value) {
				return c, ignored, fmt.Errorf("%s:%d: log_dir %q: expected an absolute path", name, n+1, value)
			}
			c.logDir = filepath.Clean(value)
		default:
			ignored = append(ignored, fmt.Sprintf("%s:%d: %s", name, n+1, key))
		}
	}
	return c, ignored, nil
}

// readTCMUConf reads and parses path; a missing file is an empty
// configuration.
func readTCMUConf(path string) (tcmuConf, []string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return tcmuConf{logLevel: -1}, nil, nil
	}
	if err != nil {
		return tcmuConf{logLevel: -1}, nil, fmt.Errorf("tcmu.conf: %w", err)
	}
	return parseTCMUConf(path, data)
}

// confWatch reports changes to one file by watching its directory, as
// tcmu-runner does (an editor's save replaces the file, which a watch on
// the file itself would miss).
type confWatch struct {
	f       *os.File
	name    string
	Changed chan struct{}
}

// watchFile starts watching path's directory; nil with an error when the
// directory cannot be watched (it does not exist).
func watchFile(path string) (*confWatch, error) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	dir := filepath.Dir(path)
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_MODIFY|unix.IN_CLOSE_WRITE|unix.IN_MOVED_TO|unix.IN_CREATE|unix.IN_DELETE); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("watching %s: %w", dir, err)
	}
	// A non-blocking descriptor goes through the runtime's poller, so that
	// Close ends a pending Read.
	w := &confWatch{f: os.NewFile(uintptr(fd), "inotify"), name: filepath.Base(path), Changed: make(chan struct{}, 1)}
	go w.loop()
	return w, nil
}

// settle is how long the file must stay quiet before a change is
// reported, so that a file written in place (truncate, write, close) is read
// whole, not empty.
const settle = 100 * time.Millisecond

func (w *confWatch) loop() {
	notify := time.AfterFunc(time.Hour, func() {
		select {
		case w.Changed <- struct{}{}:
		default: // one pending notice covers any number of changes
		}
	})
	notify.Stop()
	defer notify.Stop()
	buf := make([]byte, 4096)
	for {
		n, err := w.f.Read(buf)
		if err != nil {
			return
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			nameBytes := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
			off += unix.SizeofInotifyEvent + int(ev.Len)
			if string(bytes.TrimRight(nameBytes, "\x00")) != w.name {
				continue
			}
			notify.Reset(settle)
		}
	}
}

func (w *confWatch) Close() error { return w.f.Close() }
