// Package resilience holds the facade's generic protections against a
// struggling upstream: retry back-off and budgets, circuit breakers,
// concurrency limits and the coalescing of identical concurrent calls. It
// knows nothing of HTTP or gRPC; internal/rest decides what an outcome means
// (see Outcome) and applies these mechanisms to its upstream requests.
//
// The upstream is partitioned by tenant (X-Tenant): everything that reacts
// to upstream trouble lives per tenant in a bounded set (Tenants), so that one
// tenant's failures, throttling or slow calls stay theirs. Global ceilings
// still hold over all tenants (the concurrency limit of a Limiter and the
// RetryCeiling), so that rotating tenant names cannot multiply the load on
// the upstream.
package resilience
