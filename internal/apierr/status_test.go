package apierr

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/testing/protocmp"
)

// TestLocalShape: a status the facade raises itself has its code and message,
// then exactly one ErrorInfo (the facade's domain, the reason, the
// correlation id and, when given, the operation), one RequestInfo naming the
// correlation id, and the extra details in order.
func TestLocalShape(t *testing.T) {
	const cid = "0d6f3c1e-5b7a-4e2c-9f10-3a4b5c6d7e8f"
	extra := &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "resellerId", Description: "required"}}}
	for _, tt := range []struct {
		name, op string
		want     map[string]string
	}{
		{"with an operation", OpGetReseller, map[string]string{MetaCorrelationID: cid, MetaOperation: OpGetReseller}},
		{"without one", "", map[string]string{MetaCorrelationID: cid}},
	} {
		st := Local(codes.InvalidArgument, "invalid request", ReasonInvalidRequest, tt.op, cid, extra)
		if st.Code() != codes.InvalidArgument || st.Message() != "invalid request" {
			t.Errorf("%s: status %v %q", tt.name, st.Code(), st.Message())
		}
		want := []any{
			&errdetails.ErrorInfo{Reason: ReasonInvalidRequest, Domain: Domain, Metadata: tt.want},
			&errdetails.RequestInfo{RequestId: cid},
			extra,
		}
		if diff := cmp.Diff(want, st.Details(), protocmp.Transform()); diff != "" {
			t.Errorf("%s: details (-want +got):\n%s", tt.name, diff)
		}
	}
}
