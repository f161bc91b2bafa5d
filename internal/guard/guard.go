// Package guard is tcmsh's recovery boundary: each command (from the
// REPL, a batch, the command line, the TUI) and each control-socket
// request runs inside Run, so that a bug that panics becomes an error
// naming what was running, and the shell or daemon lives on. Callers that
// must undo a failed operation (--atomic, apply, restoreconfig) get the
// panic as an ordinary error and roll back as for any other.
package guard

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// PanicError is a panic caught by Run.
type PanicError struct {
	// What names what was running (a command line, a request).
	What string
	// Value is what was passed to panic.
	Value any
	// At is the function and line that panicked.
	At string
	// Stack is the goroutine's stack at the panic, for a bug report.
	Stack []byte
}

func (e *PanicError) Error() string {
	at := ""
	if e.At != "" {
		at = " at " + e.At
	}
	return fmt.Sprintf("internal error in %s: %v%s (a bug in tcmsh: please report it)", e.What, e.Value, at)
}

// Unwrap gives the panic's value when it was an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// Run calls f and returns its error, or a *PanicError naming what if f
// panics.
func Run(what string, f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &PanicError{What: what, Value: p, At: panicSite(), Stack: debug.Stack()}
		}
	}()
	return f()
}

// panicSite is the first frame below the panic that is not the runtime's
// or this package's, called from Run's deferred function.
func panicSite() string {
	pcs := make([]uintptr, 32)
	n := runtime.Callers(3, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		own := strings.HasSuffix(f.Function, "/guard.Run.func1") || strings.HasSuffix(f.Function, "/guard.panicSite")
		if !strings.HasPrefix(f.Function, "runtime.") && !own && f.Function != "" {
			file := f.File
			if i := strings.LastIndexByte(file, '/'); i >= 0 {
				file = file[i+1:]
			}
			fn := f.Function
			if i := strings.LastIndexByte(fn, '/'); i >= 0 {
				fn = fn[i+1:]
			}
			return fmt.Sprintf("%s (%s:%d)", fn, file, f.Line)
		}
		if !more {
			return ""
		}
	}
}
