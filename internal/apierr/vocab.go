package apierr

// Operation names: the RPC methods, as ErrorInfo metadata MetaOperation,
// metric labels and log fields name them, and the upstream client's
// operations that serve them.
const (
	OpGetReseller       = "GetReseller"
	OpGetAcceptanceLink = "GetAcceptanceLink"
)

// Headers the API forwards, by the upstream's names for them: a caller sends
// them as gRPC metadata (in lower case) or as HTTP headers to the REST mirror,
// and nothing else it sends reaches the upstream.
const (
	HeaderAuthorization = "Authorization"    // the caller's `Bearer <token>`
	HeaderTenant        = "X-Tenant"         // the tenant's portal domain
	HeaderCorrelationID = "X-Correlation-Id" // the call's correlation id, a UUID, in both directions
	HeaderTraceparent   = "Traceparent"      // W3C trace context
	HeaderTracestate    = "Tracestate"       // W3C trace context
)

// BadCorrelationID describes the violation of an `x-correlation-id` that is not one UUID.
const BadCorrelationID = "must be a UUID (8-4-4-4-12 hexadecimal digits), sent once"

// The gRPC metadata keys of the forwarded headers: their names in lower case.
const (
	MDAuthorization = "authorization"
	MDTenant        = "x-tenant"
	MDCorrelationID = "x-correlation-id"
	MDTraceparent   = "traceparent"
	MDTracestate    = "tracestate"
)

// Domain is the google.rpc.ErrorInfo domain of every error the facade returns.
const Domain = "cloudcockpit-facade"

// ErrorInfo reasons, each a row of the table in docs/errors.md that gives its
// gRPC code, HTTP status and details. A new reason is added here and there.
const (
	// Calls rejected before anything went upstream.
	ReasonInvalidRequest       = "INVALID_REQUEST"       // invalid arguments or metadata, all listed in BadRequest
	ReasonMissingCredentials   = "MISSING_CREDENTIALS"   // no `authorization`
	ReasonMalformedCredentials = "MALFORMED_CREDENTIALS" //nolint:gosec // G101: an error reason (`authorization` not one `Bearer <token>`), not a credential
	ReasonRequestTooLarge      = "REQUEST_TOO_LARGE"     // a request message, a REST body or a gRPC call's metadata names, over its limit

	// Calls the server's own limits refused before reading them.
	ReasonTooManyCalls = "TOO_MANY_CALLS_IN_FLIGHT" // the process has its most calls in flight
	ReasonClientShare  = "CLIENT_CALLS_IN_FLIGHT"   // the client certificate has its share of them
	ReasonTenantShare  = "TENANT_CALLS_IN_FLIGHT"   // the tenant has its share of them
	ReasonLargeHeaders = "LARGE_HEADERS_IN_FLIGHT"  // the calls in flight hold the process's budget of large headers

	// Upstream answers, by HTTP status.
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

	// Upstream calls that got no usable answer, or that the upstream
	// client's protections refused without sending anything.
	ReasonUpstreamUnreachable     = "UPSTREAM_UNREACHABLE"        // no answer at all; MetaCause says why
	ReasonUpstreamBadResponse     = "UPSTREAM_BAD_RESPONSE"       // a 2xx body that does not decode
	ReasonUpstreamTooLarge        = "UPSTREAM_RESPONSE_TOO_LARGE" // a body over the size limit
	ReasonUpstreamMismatch        = "UPSTREAM_ANSWER_MISMATCH"    // a 2xx answer about another resource (never returned)
	ReasonDeadlineExceeded        = "DEADLINE_EXCEEDED"           // the caller's deadline passed
	ReasonCancelled               = "CANCELLED"                   // the caller cancelled the call
	ReasonCircuitOpen             = "CIRCUIT_OPEN"                // the tenant's circuit breaker is open
	ReasonTooManyUpstreamRequests = "TOO_MANY_UPSTREAM_REQUESTS"  // no upstream slot came free in time

	// Refusals of the REST mirror itself.
	ReasonUnknownPath      = "UNKNOWN_PATH"            // 404
	ReasonMethodNotAllowed = "METHOD_NOT_ALLOWED"      // 405, with an Allow header
	ReasonInvalidQuery     = "INVALID_QUERY_PARAMETER" // 400, with BadRequest
)

// ErrorInfo metadata keys (camelCase, as google.rpc.ErrorInfo asks); the
// section "ErrorInfo metadata keys" of docs/errors.md says when each is set.
const (
	MetaOperation             = "operation"             // the RPC method, e.g. "GetReseller"
	MetaCorrelationID         = "correlationId"         // the call's correlation id (also RequestInfo's request_id)
	MetaUpstreamHTTPStatus    = "upstreamHttpStatus"    // the upstream's HTTP status code
	MetaUpstreamStatusCode    = "upstreamStatusCode"    // the envelope's statusCode, when it differs from the HTTP status
	MetaUpstreamType          = "upstreamType"          // the envelope's type
	MetaUpstreamCorrelationID = "upstreamCorrelationId" // the envelope's correlationId, when it differs from the call's
	MetaUpstreamAttempts      = "upstreamAttempts"      // the number of upstream attempts, when more than one
	MetaOmittedViolations     = "omittedViolations"     // field violations left out of BadRequest by Bound
	MetaCause                 = "cause"                 // why the upstream was not reached, a rest.Cause category: never an address or a host name
)
