// Package loadtest holds the load and soak test of the built cloudcockpit-facade
// binary (load_test.go, build tag "load"): many concurrent gRPC and REST callers
// against the standalone sandbox upstream (cmd/sandbox) injecting faults at a set
// rate and echoing a fingerprint of each caller's credentials. It checks that every
// call is answered in time, that every success carries exactly the data of the
// reseller (or the link) it asked for under the credentials it sent, that no error
// falls outside the codes the fault mix explains, and that the facade's goroutines
// and heap return to their baseline afterwards.
//
//	make load         # 60 s (LOAD_DURATION)
//	make load-short   # the CI version, 12 s
//
// docs/load.md describes the settings and records the figures.
package loadtest
