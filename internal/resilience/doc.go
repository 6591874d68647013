// Package resilience holds the facade's generic protections against a
// struggling upstream: retry back-off and budgets, circuit breakers,
// concurrency limits and the coalescing of identical concurrent calls. It
// knows nothing of HTTP or gRPC; internal/rest decides what an Outcome means.
// Per-tenant state (Tenants) is bounded, and global ceilings (Limiter,
// RetryCeiling) keep rotating tenant names from multiplying the load.
package resilience
