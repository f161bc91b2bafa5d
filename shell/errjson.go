package shell

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/tcmsh/tcmsh/configfs"
)

// ErrorReport is an error as --json shows it on stderr: one object a
// failure, {"error": {...}}, for scripts that read stderr as JSON lines.
type ErrorReport struct {
	Message string `json:"message"`
	// Command is the failing line (batch) or command (one-shot).
	Command string `json:"command,omitempty"`
	// Line is the failing line's number in a batch.
	Line int `json:"line,omitempty"`
	// Path is the configfs path or file the error is about, when known.
	Path string `json:"path,omitempty"`
	// ExitStatus is what tcmsh exits with because of this error.
	ExitStatus int `json:"exit_status"`
	// Rollback says what an --atomic run undid after the failure.
	Rollback string `json:"rollback,omitempty"`
}

// NewErrorReport describes err (a *LineError gives its line and text).
func NewErrorReport(err error, exitStatus int) ErrorReport {
	r := ErrorReport{Message: err.Error(), ExitStatus: exitStatus}
	var le *LineError
	if errors.As(err, &le) {
		r.Line, r.Command, r.Message = le.Line, le.Text, le.Err.Error()
	}
	var ce *configfs.Error
	var pe *fs.PathError
	switch {
	case errors.As(err, &ce):
		r.Path = ce.Path
	case errors.As(err, &pe):
		r.Path = pe.Path
	}
	return r
}

// WriteJSON writes the report as one line of JSON.
func (r ErrorReport) WriteJSON(w io.Writer) {
	b, err := json.Marshal(map[string]ErrorReport{"error": r})
	if err != nil {
		fmt.Fprintf(w, "tcmsh: %s\n", r.Message)
		return
	}
	fmt.Fprintf(w, "%s\n", b)
}

// reportError writes a command's error on the error writer: as text, or
// with --json as one JSON object.
func (sh *Shell) reportError(err error, exitStatus int, rollback string) {
	if !sh.opts.JSON {
		fmt.Fprintln(sh.opts.Err, err)
		if rollback != "" {
			fmt.Fprintln(sh.opts.Err, rollback)
		}
		return
	}
	r := NewErrorReport(err, exitStatus)
	r.Rollback = rollback
	r.WriteJSON(sh.opts.Err)
}
