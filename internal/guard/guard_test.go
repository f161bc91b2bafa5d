package guard

import (
	"errors"
	"strings"
	"testing"
)

var errPlain = errors.New("plain")

func nth(s []int, i int) int { return s[i] }

func outOfRange() error {
	_ = nth(nil, 3) // panics: index out of range
	return nil
}

func TestRunTurnsAPanicIntoAnErrorNamingTheCommand(t *testing.T) {
	if err := Run("ls", func() error { return errPlain }); err != errPlain {
		t.Fatalf("an ordinary error changed: %v", err)
	}
	if err := Run("ls", func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	err := Run("`restoreconfig bad.json`", outOfRange)
	var pe *PanicError
	if !errors.As(err, &pe) {
		t.Fatalf("Run = %v, want a *PanicError", err)
	}
	msg := err.Error()
	for _, want := range []string{"`restoreconfig bad.json`", "index out of range", "guard.nth", "guard_test.go:"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q does not say %q", msg, want)
		}
	}
	if len(pe.Stack) == 0 {
		t.Error("no stack kept for the bug report")
	}
	err = Run("x", func() error { panic(errPlain) })
	if !errors.Is(err, errPlain) {
		t.Errorf("a panic with an error does not unwrap to it: %v", err)
	}
}
