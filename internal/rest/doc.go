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
// internal/resilience; Config documents each, docs/resilience.md what is
// retried, when, and within which budgets. Identical concurrent calls share
// one upstream request (resilience.Group) unless Config.DisableCoalescing is
// set; the first caller's X-Correlation-Id is the one sent.
package rest
