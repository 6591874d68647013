//go:build !race

package stale_test

// raceEnabled reports a build with the race detector.
const raceEnabled = false
