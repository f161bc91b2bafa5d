//go:build !amd64

package tcmu

// haveTSC says rdtsc reads the time-stamp counter.
const haveTSC = false

func rdtsc() int64 { return 0 }
