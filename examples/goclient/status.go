package main

import (
	"fmt"
	"maps"
	"slices"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"
)

// printStatus prints the gRPC status of a failed call and every
// google.rpc detail it carries. Importing errdetails registers the detail
// types, so st.Details() returns them decoded.
func printStatus(op string, err error) {
	st, ok := status.FromError(err)
	if !ok {
		fmt.Printf("%s failed: %v\n", op, err)
		return
	}
	fmt.Printf("%s failed: code %s: %s\n", op, st.Code(), st.Message())
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			fmt.Printf("  ErrorInfo reason=%s domain=%s\n", d.GetReason(), d.GetDomain())
			for _, k := range slices.Sorted(maps.Keys(d.GetMetadata())) {
				fmt.Printf("    %s=%s\n", k, d.GetMetadata()[k])
			}
		case *errdetails.RequestInfo:
			fmt.Printf("  RequestInfo request_id=%s\n", d.GetRequestId())
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				fmt.Printf("  BadRequest field=%s: %s\n", v.GetField(), v.GetDescription())
			}
		case *errdetails.ResourceInfo:
			fmt.Printf("  ResourceInfo type=%s name=%s: %s\n", d.GetResourceType(), d.GetResourceName(), d.GetDescription())
		case *errdetails.RetryInfo:
			fmt.Printf("  RetryInfo retry_delay=%s\n", d.GetRetryDelay().AsDuration())
		case error: // a detail whose type is not linked in
			fmt.Printf("  undecodable detail: %v\n", d)
		default:
			fmt.Printf("  %T %v\n", d, d)
		}
	}
}
