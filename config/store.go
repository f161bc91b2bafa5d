package config

import (
	"context"
	"fmt"
	"io"

	"github.com/tcmsh/tcmsh/configfs"
)

// Hooks are what the configuration needs from the TCMU engine: user
// backstores are served after they are created and released before they
// are deleted. engine.Engine satisfies it.
type Hooks interface {
	// Validate checks a dev_config ("<subtype>/<cfgstring>") for a device
	// of size bytes before the backstore is made.
	Validate(devConfig string, size int64) error
	// Serve starts serving the enabled user backstore at a configfs path.
	Serve(ctx context.Context, configPath string) error
	// Release stops serving a backstore before it is deleted.
	Release(ctx context.Context, configPath string) error
	// InProcess reports whether the engine lives in this process (and so
	// stops serving when it exits).
	InProcess() bool
}

// Store is what configuration changes work on: the LIO model over the
// real or the simulated kernel, and what lies beside it. A Store is a
// small value; its methods do not change it, so that a caller (the shell)
// can build one per operation from its current settings.
type Store struct {
	LIO *configfs.LIO
	// Hooks serve and release user backstores; nil: user backstores are
	// created with a warning that nothing serves them.
	Hooks Hooks
	// Warn receives warnings (values skipped, nothing serving a backstore);
	// nil discards them.
	Warn io.Writer
	// Undo records what operations change outside configfs, while a run
	// may have to be undone; nil records nothing.
	Undo *Undo
	// NameAsModel writes a backstore's name (16 characters at most) as its
	// SCSI model (targetcli's export_backstore_name_as_model).
	NameAsModel bool
}

func (st Store) warn() io.Writer {
	if st.Warn == nil {
		return io.Discard
	}
	return st.Warn
}

func (st Store) warnf(format string, a ...any) { fmt.Fprintf(st.warn(), format, a...) }

// UsageError is input that cannot be used as given (a bad name, size or
// path); the message says what is expected. The shell reports these as
// usage errors.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, a ...any) error { return &UsageError{Msg: fmt.Sprintf(format, a...)} }
