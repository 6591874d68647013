package apierr

// Operation names: the RPC methods, as ErrorInfo metadata MetaOperation,
// metric labels and log fields name them, and the upstream client's
// operations that serve them.
const (
	OpGetReseller       = "GetReseller"
	OpGetAcceptanceLink = "GetAcceptanceLink"
)

// Headers the API forwards: the caller sends them (as gRPC metadata, in
// lower case, or as HTTP headers to the REST mirror) and the facade passes
// them on to the upstream, whose names they are. Nothing else a caller sends
// reaches the upstream.
const (
	// HeaderAuthorization carries the caller's `Bearer <token>`.
	HeaderAuthorization = "Authorization"
	// HeaderTenant names the tenant: its portal domain.
	HeaderTenant = "X-Tenant"
	// HeaderCorrelationID carries the call's correlation id, a UUID, in
	// both directions.
	HeaderCorrelationID = "X-Correlation-Id"
	// HeaderTraceparent and HeaderTracestate carry the W3C trace context.
	HeaderTraceparent = "Traceparent"
	HeaderTracestate  = "Tracestate"
)

// The gRPC metadata keys of the forwarded headers: their names in lower case.
const (
	MDAuthorization = "authorization"
	MDTenant        = "x-tenant"
	MDCorrelationID = "x-correlation-id"
	MDTraceparent   = "traceparent"
	MDTracestate    = "tracestate"
)

// Domain is the google.rpc.ErrorInfo domain of every error the facade
// returns, over gRPC and over the REST mirror.
const Domain = "cloudcockpit-facade"

// ErrorInfo reasons of calls rejected before anything went upstream.
const (
	// ReasonInvalidRequest: the call's arguments or metadata are invalid
	// (INVALID_ARGUMENT, with google.rpc.BadRequest listing every problem).
	ReasonInvalidRequest = "INVALID_REQUEST"
	// ReasonMissingCredentials: no `authorization` metadata (UNAUTHENTICATED).
	ReasonMissingCredentials = "MISSING_CREDENTIALS"
	// ReasonMalformedCredentials: `authorization` is not one `Bearer <token>`
	// in printable ASCII (UNAUTHENTICATED).
	ReasonMalformedCredentials = "MALFORMED_CREDENTIALS" //nolint:gosec // G101: an error reason, not a credential
	// ReasonRequestTooLarge: a request message over the size limit once
	// decompressed (RESOURCE_EXHAUSTED), or a REST body over the mirror's
	// (413).
	ReasonRequestTooLarge = "REQUEST_TOO_LARGE"
)

// ErrorInfo reasons of calls the server's own limits refused before reading
// them.
const (
	// ReasonTooManyCalls: the process already has its most calls in flight,
	// over both ports (RESOURCE_EXHAUSTED, HTTP 429, RetryInfo).
	ReasonTooManyCalls = "TOO_MANY_CALLS_IN_FLIGHT"
	// ReasonClientShare: the calling client certificate (mutual TLS)
	// already has its share of those calls in flight (RESOURCE_EXHAUSTED,
	// HTTP 429, RetryInfo).
	ReasonClientShare = "CLIENT_CALLS_IN_FLIGHT"
)

// ErrorInfo reasons of upstream answers, one per row of the HTTP status
// table (docs/errors.md).
const (
	ReasonUpstreamBadRequest     = "UPSTREAM_BAD_REQUEST"         // 400
	ReasonUpstreamUnauthorized   = "UPSTREAM_UNAUTHENTICATED"     // 401
	ReasonUpstreamForbidden      = "UPSTREAM_PERMISSION_DENIED"   // 403
	ReasonUpstreamNotFound       = "UPSTREAM_NOT_FOUND"           // 404
	ReasonUpstreamConflict       = "UPSTREAM_CONFLICT"            // 409
	ReasonUpstreamPrecondition   = "UPSTREAM_PRECONDITION_FAILED" // 412
	ReasonUpstreamRateLimited    = "UPSTREAM_RATE_LIMITED"        // 429
	ReasonUpstreamCancelled      = "UPSTREAM_CANCELLED"           // 499
	ReasonUpstreamInternal       = "UPSTREAM_INTERNAL_ERROR"      // 500
	ReasonUpstreamNotImplemented = "UPSTREAM_NOT_IMPLEMENTED"     // 501
	ReasonUpstreamUnavailable    = "UPSTREAM_UNAVAILABLE"         // 502, 503
	ReasonUpstreamTimeout        = "UPSTREAM_TIMEOUT"             // 504, or no answer in time
	ReasonUpstreamClientError    = "UPSTREAM_CLIENT_ERROR"        // other 4xx
	ReasonUpstreamServerError    = "UPSTREAM_SERVER_ERROR"        // other statuses
)

// ErrorInfo reasons of upstream calls that got no usable answer.
const (
	// ReasonUpstreamUnreachable: no answer at all (DNS, refused, reset, TLS,
	// ...); metadata key MetaCause names the category.
	ReasonUpstreamUnreachable = "UPSTREAM_UNREACHABLE"
	// ReasonUpstreamBadResponse: a 2xx body that does not decode.
	ReasonUpstreamBadResponse = "UPSTREAM_BAD_RESPONSE"
	// ReasonUpstreamTooLarge: a body over the configured size limit.
	ReasonUpstreamTooLarge = "UPSTREAM_RESPONSE_TOO_LARGE"
	// ReasonUpstreamMismatch: a 2xx answer about another resource than the
	// one asked for (never returned to the caller).
	ReasonUpstreamMismatch = "UPSTREAM_ANSWER_MISMATCH"
	// ReasonDeadlineExceeded: the caller's deadline passed.
	ReasonDeadlineExceeded = "DEADLINE_EXCEEDED"
	// ReasonCancelled: the caller cancelled the call.
	ReasonCancelled = "CANCELLED"
)

// ErrorInfo reasons of calls the upstream client's protections refused
// without sending anything.
const (
	// ReasonCircuitOpen: the circuit breaker is open (UNAVAILABLE, RetryInfo).
	ReasonCircuitOpen = "CIRCUIT_OPEN"
	// ReasonTooManyUpstreamRequests: no upstream slot came free in time
	// (RESOURCE_EXHAUSTED, RetryInfo).
	ReasonTooManyUpstreamRequests = "TOO_MANY_UPSTREAM_REQUESTS"
)

// ErrorInfo reasons the REST mirror raises itself.
const (
	// ReasonUnknownPath: no route matches the request path (404).
	ReasonUnknownPath = "UNKNOWN_PATH"
	// ReasonMethodNotAllowed: the path exists, but not for this HTTP method
	// (405, with an Allow header).
	ReasonMethodNotAllowed = "METHOD_NOT_ALLOWED"
	// ReasonInvalidQuery: the query names an unknown parameter, repeats one,
	// spells one field twice, or does not parse (400, with
	// google.rpc.BadRequest).
	ReasonInvalidQuery = "INVALID_QUERY_PARAMETER"
)

// ErrorInfo metadata keys (camelCase, as google.rpc.ErrorInfo asks).
const (
	// MetaOperation names the RPC method, e.g. "GetReseller".
	MetaOperation = "operation"
	// MetaCorrelationID is the call's correlation id (also RequestInfo's
	// request_id).
	MetaCorrelationID = "correlationId"
	// MetaUpstreamHTTPStatus is the upstream's HTTP status code.
	MetaUpstreamHTTPStatus = "upstreamHttpStatus"
	// MetaUpstreamStatusCode is the envelope's statusCode when it differs
	// from the HTTP status.
	MetaUpstreamStatusCode = "upstreamStatusCode"
	// MetaUpstreamType is the envelope's type.
	MetaUpstreamType = "upstreamType"
	// MetaUpstreamCorrelationID is the envelope's correlationId when it
	// differs from the call's.
	MetaUpstreamCorrelationID = "upstreamCorrelationId"
	// MetaUpstreamAttempts is the number of upstream attempts, when more
	// than one.
	MetaUpstreamAttempts = "upstreamAttempts"
	// MetaCause is the category of a failure to reach the upstream: one of
	// the rest.Cause values (dns, refused, reset, tls, timeout, closed,
	// network). It never holds an address or a host name.
	MetaCause = "cause"
	// MetaOmittedViolations is the number of field violations left out of
	// google.rpc.BadRequest to keep the status within its bounds.
	MetaOmittedViolations = "omittedViolations"
)
