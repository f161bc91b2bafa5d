//go:build race

package uio

// raceEnabled: the race detector's instrumentation moves values to the
// heap, so allocation counts hold only without it.
const raceEnabled = true
