// Package apierr holds the facade's vocabulary and error model in one place:
// the operation names, the forwarded headers and their metadata keys, the
// google.rpc.ErrorInfo vocabulary (domain, reasons, metadata keys) that the
// gRPC services and the REST mirror share, the construction of error
// statuses with their standard details, the removal of the caller's token
// from everything a status carries, and the bounds on a status's size.
//
// docs/errors.md describes the model for callers; a new reason or key is
// added here and listed there.
package apierr
