//go:build race

package service

// raceEnabled reports a build with the race detector, under which sync.Pool
// drops what it is given: regexp then allocates per match, and allocation
// bounds do not hold.
const raceEnabled = true
