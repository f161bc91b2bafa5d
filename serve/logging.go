package serve

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
)

// logOutput is the daemon's log destination: stderr, or a file that
// Reopen swaps for a fresh one (logrotate renames the old one, then sends
// SIGHUP).
type logOutput struct {
	path string

	mu sync.Mutex
	f  *os.File // nil: stderr
}

func openLogOutput(path string) (*logOutput, error) {
	o := &logOutput{path: path}
	if path == "" {
		return o, nil
	}
	f, err := openLogFile(path)
	if err != nil {
		return nil, err
	}
	o.f = f
	return o, nil
}

func openLogFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	return f, nil
}

func (o *logOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f == nil {
		return os.Stderr.Write(p)
	}
	return o.f.Write(p)
}

// Reopen opens the log file by its path again; on failure the old file
// stays in use.
func (o *logOutput) Reopen() error {
	path := o.Path()
	if path == "" {
		return nil
	}
	f, err := openLogFile(path)
	if err != nil {
		return err
	}
	o.mu.Lock()
	old := o.f
	o.f = f
	o.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return nil
}

// Path is where the log goes now, "" for stderr.
func (o *logOutput) Path() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.path
}

// SetPath moves the log to another file ("" for stderr); on failure the
// old destination stays.
func (o *logOutput) SetPath(path string) error {
	var f *os.File
	if path != "" {
		var err error
		if f, err = openLogFile(path); err != nil {
			return err
		}
	}
	o.mu.Lock()
	old := o.f
	o.f, o.path = f, path
	o.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return nil
}

func (o *logOutput) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f == nil {
		return nil
	}
	err := o.f.Close()
	o.f = nil
	return err
}

// newLogger builds the daemon's structured logger.
func newLogger(w io.Writer, format string, level slog.Leveler) (*slog.Logger, error) {
	hopts := &slog.HandlerOptions{Level: level}
	switch format {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, hopts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, hopts)), nil
	}
	return nil, fmt.Errorf("log format %q: expected text or json", format)
}
