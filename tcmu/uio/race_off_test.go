//go:build !race

package uio

const raceEnabled = false
