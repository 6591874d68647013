// Package sandbox is an in-memory imitation of the CloudCockpit partner REST API: what
// `cloudcockpit-facade -sandbox` and cmd/sandbox serve instead of the real upstream, and
// what tests and benchmarks point the facade's REST client at. docs/sandbox.md is its
// specification: the two routes, the order of the checks, the error envelopes, the sample
// data ([Resellers] and the *ID constants) and the faults.
//
// By default a [Server] answers at once, without faults and without credential echo;
// [WithLatency], [WithFaults] and [WithCredentialEcho] change that for load and failure
// tests.
package sandbox
