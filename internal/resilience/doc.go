// Package resilience holds the facade's generic protections against a
// struggling upstream: retry back-off and budgets, circuit breakers,
// concurrency limits and the coalescing of identical concurrent calls. It
// knows nothing of HTTP or gRPC; internal/rest decides what an outcome means
// (see Outcome). What reacts to upstream trouble lives per tenant, in a
// bounded set (Tenants); global ceilings (Limiter, RetryCeiling) hold over
// all tenants, so that rotating tenant names cannot multiply the load.
package resilience
