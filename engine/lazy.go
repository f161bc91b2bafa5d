package engine

import (
	"context"
	"fmt"
	"sync"

	"github.com/tcmsh/tcmsh/backends"
)

// Lazy is an in-process engine started on the first call that needs one
// (Serve, Release, Stats, Workload): a one-shot `tcmsh ls` or a batch that
// makes no user backstore then opens no netlink socket and has no
// listener to stop at exit. Subtypes, Validate and InProcess answer
// without starting it, as Local does.
type Lazy struct {
	start func() (Engine, error)

	mu      sync.Mutex
	eng     Engine
	err     error
	started bool
}

// NewLazy returns an engine that calls start the first time it is needed.
func NewLazy(start func() (Engine, error)) *Lazy { return &Lazy{start: start} }

// get starts the engine once; a failed start is reported to every caller.
func (z *Lazy) get() (Engine, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if !z.started {
		z.started = true
		z.eng, z.err = z.start()
		if z.err != nil {
			z.err = fmt.Errorf("TCMU engine not started: %w", z.err)
		}
	}
	return z.eng, z.err
}

// Subtypes implements Engine.
func (z *Lazy) Subtypes() []string { return backends.Subtypes() }

// Validate implements Engine.
func (z *Lazy) Validate(devConfig string, size int64) error {
	if err := backends.Validate(devConfig, size); err != nil {
		return fmt.Errorf("dev_config %q: %w", devConfig, err)
	}
	return nil
}

// Serve implements Engine.
func (z *Lazy) Serve(ctx context.Context, configPath string) error {
	e, err := z.get()
	if err != nil {
		return err
	}
	return e.Serve(ctx, configPath)
}

// Release implements Engine. An engine not started serves nothing.
func (z *Lazy) Release(ctx context.Context, configPath string) error {
	e, ok := z.running()
	if !ok {
		return nil
	}
	return e.Release(ctx, configPath)
}

// Stats implements Engine. An engine not started serves nothing.
func (z *Lazy) Stats(ctx context.Context) ([]DeviceStats, error) {
	e, ok := z.running()
	if !ok {
		return nil, nil
	}
	return e.Stats(ctx)
}

// running returns the engine if it was started.
func (z *Lazy) running() (Engine, bool) {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.eng, z.eng != nil
}

// Workload implements Engine.
func (z *Lazy) Workload(ctx context.Context, lunConfigPath string, spec WorkloadSpec) (WorkloadResult, error) {
	e, err := z.get()
	if err != nil {
		return WorkloadResult{}, err
	}
	return e.Workload(ctx, lunConfigPath, spec)
}

// InProcess implements Engine: an engine in this process, started or not.
func (z *Lazy) InProcess() bool { return true }

// Close implements Engine: it stops the engine if it was started.
func (z *Lazy) Close() error {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.started = true // none starts after Close
	if z.eng == nil {
		return nil
	}
	return z.eng.Close()
}
