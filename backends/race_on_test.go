//go:build race

package backends

// raceEnabled: under the race detector sync.Pool drops some items on
// purpose, so pooled paths allocate now and then.
const raceEnabled = true
