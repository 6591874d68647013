// Package service implements the cloudcockpit.v1 gRPC services. A handler
// validates the call (credentials, tenant, ids), asks the upstream client for
// the resource, and maps the answer to protobuf with pure functions
// (mapping.go) or the error to a gRPC status with google.rpc details in one
// place (errors.go). It never speaks HTTP itself.
package service
