// Package rest is the typed client of the upstream CloudCockpit REST API
// (not the REST mirror the facade serves, which is internal/gateway).
//
// It owns what is specific to that API: building requests (an id is always
// one escaped path segment, query parameters are url.Values encoded);
// forwarding the caller's X-Tenant, Authorization, X-Correlation-Id and W3C
// trace context (CallInfo) and nothing else; reading bounded bodies;
// decoding the upstream's ASP.NET JSON tolerantly, as encoding/json did
// (DecodeReseller); and turning every failure into an *Error wrapped with
// the operation ("get reseller ...: ..."). Its Kind is looked up in
// one table, kind.go, for what it means to retries, the circuit breaker and
// the gRPC status (Error.Status). Each upstream request's context names its
// operation (Operation), so that transports label what they measure
// without reading the URL.
//
// # Failure handling
//
// The upstream is partitioned by tenant (X-Tenant), with the protections of
// internal/resilience; Config documents each. A call is bounded by its
// context's deadline, else Config.Timeout, and each attempt by
// Config.AttemptTimeout. Calls are idempotent GETs, retried after a
// connection failure, a reset, an attempt timeout or a 429, 502, 503 or 504,
// after the upstream's Retry-After or full-jitter back-off, never past the
// deadline: when the wait does not fit, the caller gets the upstream's
// answer at once. Retries are bounded per tenant (gRFC A6) and overall.
//
// Identical concurrent calls (same URL, X-Tenant and Authorization) share
// one upstream request (resilience.Group) unless Config.DisableCoalescing is
// set; the first caller's X-Correlation-Id is the one sent. Callers of one
// shared request get the same *Reseller, which they must treat as read-only.
package rest
