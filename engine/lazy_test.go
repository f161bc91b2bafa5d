package engine

import (
	"context"
	"errors"
	"testing"
)

// TestLazyStartsOnServe: nothing starts for Subtypes, Validate, Stats,
// Release or Close; Serve starts the engine once, a failed start is
// every later caller's error.
func TestLazyStartsOnServe(t *testing.T) {
	starts := 0
	z := NewLazy(func() (Engine, error) {
		starts++
		return nil, errors.New("no uio")
	})
	ctx := context.Background()
	if len(z.Subtypes()) == 0 || z.Validate("ram/", 1<<20) != nil || !z.InProcess() {
		t.Fatalf("Subtypes %v, Validate %v", z.Subtypes(), z.Validate("ram/", 1<<20))
	}
	if st, err := z.Stats(ctx); err != nil || len(st) != 0 {
		t.Fatalf("Stats before start = %v, %v", st, err)
	}
	if err := z.Release(ctx, "target/core/user_0/x"); err != nil {
		t.Fatalf("Release before start: %v", err)
	}
	if starts != 0 {
		t.Fatalf("started %d times before Serve", starts)
	}
	for i := 0; i < 2; i++ {
		if err := z.Serve(ctx, "target/core/user_0/x"); err == nil || starts != 1 {
			t.Fatalf("Serve %d: %v, %d starts", i, err, starts)
		}
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
}
