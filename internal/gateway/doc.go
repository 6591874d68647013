// Package gateway is the facade's REST mirror: a grpc-gateway mux that serves
// the gRPC methods as JSON over HTTP on the upstream CloudCockpit API's own
// paths (GET /v1/Resellers/{resellerId}, GET
// /v1/Customers/relationship-acceptance), together with the OpenAPI documents
// and the health endpoints. docs/rest-mirror.md describes it for callers.
//
// The mirror holds no handler logic: [New] registers the generated handlers
// over the service implementations in process, each call wrapped in the gRPC
// server's own interceptor chain, so that a REST call gets the same
// validation, errors and telemetry as a gRPC call. What the package adds is
// the HTTP edge: which headers become metadata (headers.go), which query
// parameters are accepted (query.go), errors as google.rpc.Status JSON with
// the service's details (errors.go), and protojson with lowerCamelCase names
// (marshal.go).
package gateway
