// Package rest is the typed HTTP client for the CloudCockpit partner REST API.
//
// It owns everything that touches the upstream over HTTP: one shared, tuned
// transport (see NewTransport); request building, in which an id is always a
// single escaped path segment and query parameters are always url.Values
// encoded; forwarding exactly the caller's X-Tenant, Authorization and
// X-Correlation-Id headers (see CallInfo) and nothing else the caller sent;
// bounded reading of response bodies; tolerant decoding of the upstream's
// ASP.NET JSON (any property casing, nulls, unknown properties, the
// dictionary wrapper around offerTypeMargins) with
// github.com/go-json-experiment/json and options that make it decode exactly
// as encoding/json did (see DecodeReseller); and turning every non-2xx
// answer into a typed *Error.
//
// The package knows nothing about gRPC. Mapping its errors to statuses is the
// service package's job; every error a Client method returns is wrapped with
// the operation ("get reseller ...: ...") and is one of:
//
//   - *Error when the upstream answered with a non-2xx status;
//   - *DecodeError when a 2xx body does not decode into the documented shape;
//   - *BodyTooLargeError when a 2xx body exceeds Config.MaxBodyBytes;
//   - ErrInvalidRequest when the arguments cannot form a safe request, in
//     which case nothing was sent;
//   - *CircuitOpenError when the circuit breaker refused the call, in which
//     case nothing was sent;
//   - *ConcurrencyLimitError when no upstream request slot became free in
//     time (Config.MaxConcurrent, Config.QueueTimeout);
//   - ErrAttemptTimeout when the last attempt got no response headers
//     within Config.AttemptTimeout;
//   - otherwise a transport error (connection refused, reset, TLS, ...), for
//     which errors.Is(err, context.DeadlineExceeded) and
//     errors.Is(err, context.Canceled) report the call's deadline (the
//     caller's, or Config.Timeout when it set none) and cancellation.
//
// When a call made more than one attempt, its error is the last attempt's,
// and Attempts(err) tells how many there were.
//
// # Failure handling
//
// Every call is bounded by its context's deadline, all attempts and back-off
// included, or by Config.Timeout when the context has none; each attempt is
// also bounded by Config.AttemptTimeout until the response headers arrive.
//
// Calls are idempotent GETs, so a call is retried (Config.MaxAttempts in
// all) after a connection failure, a reset (also a 2xx body cut mid-way),
// an attempt timeout, or a 429, 502, 503 or 504 answer; never after another
// status or an undecodable body. The wait before a retry is the upstream's
// Retry-After when it sent one, else full-jitter exponential back-off; a
// retry whose wait would not end before the deadline is not made, and the
// caller gets the upstream's answer (with its Retry-After) at once. A retry
// budget shared by all calls of a Client, in the manner of gRFC A6's retry
// throttling (a bucket of 10 tokens, −1 per failed attempt, +0.1 per
// successful one, retries only while more than 5 are left), stops retries
// during an outage so that they do not multiply the load on the upstream.
//
// A circuit breaker per Client (so per upstream) opens after
// Config.BreakerFailures consecutive failed attempts and then fails calls
// fast; see Config.BreakerFailures and Config.OnBreakerStateChange. At most
// Config.MaxConcurrent upstream requests are in flight; the others queue
// for a while (Config.QueueTimeout).
//
// Identical concurrent calls (same method and arguments, same X-Tenant,
// same Authorization) share one upstream request unless
// Config.DisableCoalescing is set. The first caller (the leader) performs
// the shared request on its own goroutine, on a context detached from the
// callers': a caller whose context ends gets its context's error without
// disturbing the others, and the request is cancelled only when every
// caller has gone. The others get that error at once; the leader gets it
// when the request ends, since it performs the request for those still
// waiting (a gRPC client's own deadline or cancellation ends the call on
// the client's side without waiting for the handler to return). The first
// caller's X-Correlation-Id is the one sent upstream. Errors are shared as they are
// (they are never modified), and so are results, as with
// golang.org/x/sync/singleflight: the callers of one shared request get the
// same *Reseller, which they must treat as read-only.
package rest
