//go:build race

package stale_test

// raceEnabled reports a build with the race detector, which makes every
// allocation several times slower.
const raceEnabled = true
