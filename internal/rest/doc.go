// Package rest is the typed client of the upstream CloudCockpit REST API
// (not the REST mirror the facade serves, which is internal/gateway). It
// forwards the caller's headers (CallInfo) and nothing else, reads bounded
// bodies, decodes the upstream's ASP.NET JSON tolerantly (docs/upstream-client.md)
// and turns every failure into an *Error whose Kind is looked up in one table,
// kind.go. Calls are protected per tenant by internal/resilience
// (docs/resilience.md); identical concurrent calls share one upstream request
// by default, which sends the first caller's X-Correlation-Id.
package rest
