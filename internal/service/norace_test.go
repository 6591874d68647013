//go:build !race

package service

// raceEnabled reports a build with the race detector.
const raceEnabled = false
