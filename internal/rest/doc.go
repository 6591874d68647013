// Package rest is the typed client of the upstream CloudCockpit REST API
// (not the REST mirror the facade serves, which is internal/gateway).
//
// It owns what is specific to that API: request building, in which an id is
// always a single escaped path segment and query parameters are always
// url.Values encoded; forwarding exactly the caller's X-Tenant,
// Authorization, X-Correlation-Id and W3C trace context headers (see
// CallInfo) and nothing else the caller sent; bounded reading of response bodies; tolerant decoding of
// the upstream's ASP.NET JSON (any property casing, nulls, unknown
// properties, the dictionary wrapper around offerTypeMargins) with
// github.com/go-json-experiment/json and options that make it decode as
// encoding/json did (see DecodeReseller); and turning every non-2xx answer
// into a typed *Error. Requests go through net/http (see NewTransport). The
// generic protections (breakers, retry budgets, limits, coalescing) come
// from internal/resilience; this package decides what an upstream outcome
// means for them.
//
// The package knows nothing about gRPC statuses. Every error a Client
// method returns is an *Error wrapped with the operation ("get reseller
// ...: ..."): what the call learned, with its Kind (KindOf). What a kind
// means for retries, the circuit breaker and the gRPC status the services
// answer is one table, in kind.go; Error.Status gives the code, reason and
// message. Each upstream request's context names its operation (Operation),
// so that transports label what they measure without reading the URL.
//
// # Failure handling
//
// The upstream is partitioned by tenant (X-Tenant). Every call is bounded by
// its context's deadline, all attempts and back-off included, or by
// Config.Timeout when the context has none; each attempt, from sending the
// request to the end of the response body, is also bounded by
// Config.AttemptTimeout.
//
// Calls are idempotent GETs, so a call is retried (Config.MaxAttempts in
// all) after a connection failure, a reset (also a 2xx body cut mid-way),
// an attempt timeout, or a 429, 502, 503 or 504 answer; never after another
// status or an undecodable body. The wait before a retry is the upstream's
// Retry-After when it sent one, else full-jitter exponential back-off; a
// retry whose wait would not end before the deadline is not made, and the
// caller gets the upstream's answer (with its Retry-After) at once. Each
// tenant has its own retry budget (gRFC A6), so one tenant's throttling or
// failures never switch off another tenant's retries, and a global ceiling
// keeps the retries of all tenants together at a small share of the first
// attempts (Config.RetryRatio).
//
// Each tenant has its own circuit breaker (Config.Breaker), which opens on
// a failure ratio over a rolling window once enough calls were counted, and
// counts a call once, after its retries; only 502, 503, 504, connection
// failures and attempt timeouts are failures. At most Config.MaxConcurrent
// upstream requests are in flight, and at most Config.TenantMaxConcurrent
// of one caller (its certificate identity, CallInfo.Caller, else its
// tenant); the others queue for a while (Config.QueueTimeout). Per-tenant
// state lives in two bounded sets, one for tenants the upstream has answered
// with a success and one for the others, whose idle entries are evicted
// (Config.MaxTenants, Config.TenantIdle): names made up on the fly never
// take a proven tenant's state nor refuse another tenant's calls.
//
// Identical concurrent calls (same method and arguments, same X-Tenant,
// same Authorization) share one upstream request unless
// Config.DisableCoalescing is set (resilience.Group). The first caller
// performs the shared request on a context detached from the callers': a
// caller whose context ends gets its context's error without disturbing the
// others (at once, or for the first caller when the request ends), and the
// request is cancelled only when every caller has gone. The first caller's
// X-Correlation-Id is the one sent upstream. Errors and results are shared
// as they are: the callers of one shared request get the same *Reseller,
// which they must treat as read-only.
package rest
