// Package gateway is the facade's REST mirror: a grpc-gateway mux that serves
// the gRPC methods as JSON over HTTP on the upstream's own paths, with the
// OpenAPI documents and the health endpoints (docs/rest-mirror.md).
//
// The mirror holds no handler logic ([New]). What the package adds is the
// HTTP edge: which headers become metadata (headers.go), which query
// parameters are accepted (query.go), errors as google.rpc.Status JSON with
// the service's details (errors.go), and the marshaler (marshal.go).
package gateway
