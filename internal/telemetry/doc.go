// Package telemetry owns what the facade tells its operators: Prometheus
// metrics (gRPC server, upstream client, build info, Go runtime), OpenTelemetry
// tracing configured by the standard OTEL_* variables, the per-call statistics
// the access log reports, and W3C trace context propagation to the upstream.
// Label values are bounded: never ids, tenants or tokens.
package telemetry
