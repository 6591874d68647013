// Package rest is the typed client of the upstream CloudCockpit REST API
// (not the REST mirror the facade serves, which is internal/gateway).
//
// It builds requests (an id is always one escaped path segment), forwards
// the caller's headers (CallInfo) and nothing else, reads bounded bodies,
// decodes the upstream's ASP.NET JSON tolerantly (DecodeReseller), and turns
// every failure into an *Error wrapped with the operation ("get reseller
// ...: ..."), whose Kind is looked up in one table, kind.go. Calls are
// protected per tenant by internal/resilience (docs/resilience.md);
// identical concurrent calls share one upstream request unless
// Config.DisableCoalescing is set, and the first caller's X-Correlation-Id
// is the one sent.
package rest
