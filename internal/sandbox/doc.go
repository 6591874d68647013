// Package sandbox is an in-memory imitation of the CloudCockpit partner REST API: what
// `cloudcockpit-facade -sandbox` and cmd/sandbox serve instead of the real upstream, and
// what tests and benchmarks point the facade's REST client at. docs/sandbox.md is its
// specification: the two routes, the order of the checks, the error envelopes, the sample
// data ([Resellers] and the *ID constants), and what [WithLatency], [WithFaults] and
// [WithCredentialEcho] change for load and failure tests.
package sandbox
