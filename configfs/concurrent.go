package configfs

import (
	"errors"
	"sync"
)

// maxConcurrentOps bounds the configfs calls a bulk removal or creation has
// in flight. The kernel spends most of a LUN link's creation or removal
// waiting (for an RCU grace period, a per-CPU reference to die), not
// computing, and those waits overlap when the calls are made side by side
// on different directories; beyond a few dozen they only queue on the
// kernel's locks.
const maxConcurrentOps = 32

// Gather runs read(i) for each i < n as Concurrently does and returns
// what each call returned, in the order of i: for reads (or calls whose
// errors the caller weighs itself) that land in a result per index.
func Gather[T any](n int, read func(i int) T) []T {
	out := make([]T, n)
	_ = Concurrently(n, func(i int) error {
		out[i] = read(i)
		return nil
	})
	return out
}

// Concurrently runs do(i) for each i < n on up to maxConcurrentOps
// goroutines and returns the errors, in the order of i. Every call is
// made even when some fail, as a serial loop that went on would.
func Concurrently(n int, do func(i int) error) error {
	if n == 1 {
		return do(0)
	}
	errs := make([]error, n)
	workers := min(n, maxConcurrentOps)
	next := make(chan int)
	var wg sync.WaitGroup
	wg.Add(workers)
	for range workers {
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = do(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}
