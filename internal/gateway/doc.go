// Package gateway is the facade's REST mirror: a grpc-gateway mux that serves
// the gRPC methods as JSON over HTTP on the upstream CloudCockpit API's own
// paths (GET /v1/Resellers/{resellerId}, GET
// /v1/Customers/relationship-acceptance), together with the OpenAPI document
// (GET /openapi.json, and as OpenAPI 3.0 GET /openapi.v3.json) and the health endpoints (GET /healthz, GET /readyz).
//
// The mirror holds no handler logic. [New] registers the generated gateway
// handlers over the service implementations in process (grpc-gateway's
// RegisterXHandlerServer), each call wrapped in the gRPC server's own
// interceptor chain ([ChainUnaryInterceptors]: correlation id, access log,
// metrics, recovery), so that a REST call gets the same validation, errors
// and telemetry as a gRPC call without a second trip through a gRPC
// connection. What the package adds is the HTTP edge:
//
//   - Headers: only X-Tenant, Authorization and X-Correlation-Id become
//     metadata the service reads (x-tenant, authorization,
//     x-correlation-id); no other caller header does. The response carries
//     X-Correlation-Id as a plain header, on success and on errors, and no
//     other metadata.
//   - Query parameters: the upstream's camelCase names and the proto's
//     snake_case names are accepted, case-sensitively, each at most once and
//     only one spelling per field; anything else is a 400 answered before any
//     interceptor runs (see query.go).
//   - Errors: the HTTP status follows the gRPC code
//     (runtime.HTTPStatusFromCode), and the body is the google.rpc.Status as
//     JSON with its details resolved ("@type" plus fields). Errors raised by
//     the mirror itself (unknown path 404, wrong method 405, bad query 400)
//     have the same shape, with a google.rpc.ErrorInfo and a
//     google.rpc.RequestInfo like the service's.
//   - JSON: protojson with lowerCamelCase names. A field with presence (a
//     proto3 optional scalar or a message) is absent when unset, so an
//     upstream null stays absent and "" stays ""; fields without presence
//     always appear (zero enums as their UNSPECIFIED name, empty lists as [],
//     empty maps as {}).
package gateway
