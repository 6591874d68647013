package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	gocmp "github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
)

const (
	testCorrelationID = "0d6f3c1e-5b7a-4e2c-9f10-3a4b5c6d7e8f"
	testResellerID    = "11111111-1111-4111-8111-111111111111"
)

// wantStatus is what a test expects of a status error: its code, message and
// details (in any order).
type wantStatus struct {
	code    codes.Code
	msg     string
	details []proto.Message
}

// details builds the details every error carries, ErrorInfo (with the
// operation and correlation id in its metadata, plus meta) and RequestInfo,
// followed by extra.
func details(reason, op, correlationID string, meta map[string]string, extra ...proto.Message) []proto.Message {
	md := map[string]string{"operation": op, "correlationId": correlationID}
	for k, v := range meta {
		md[k] = v
	}
	return append([]proto.Message{
		&errdetails.ErrorInfo{Reason: reason, Domain: "cloudcockpit-facade", Metadata: md},
		&errdetails.RequestInfo{RequestId: correlationID},
	}, extra...)
}

// statusDetails returns err's status and its details, failing the test when
// err is not a status or a detail cannot be decoded.
func statusDetails(t *testing.T, err error) (*status.Status, []proto.Message) {
	t.Helper()
	if err == nil {
		t.Fatal("got no error, want a status")
	}
	st, ok := status.FromError(err)
	if !ok {
		t.Fatalf("error %v (%T) is not a gRPC status", err, err)
	}
	var out []proto.Message
	for _, d := range st.Details() {
		m, ok := d.(proto.Message)
		if !ok {
			t.Fatalf("status detail does not decode: %v", d)
		}
		out = append(out, m)
	}
	return st, out
}

// byType orders details by message type, so that comparisons do not depend
// on the order in which they were attached.
func byType(ms []proto.Message) []proto.Message {
	out := slices.Clone(ms)
	slices.SortStableFunc(out, func(a, b proto.Message) int {
		return strings.Compare(string(proto.MessageName(a)), string(proto.MessageName(b)))
	})
	return out
}

// checkStatus compares err with want: code, message and every detail.
func checkStatus(t *testing.T, err error, want wantStatus) {
	t.Helper()
	st, got := statusDetails(t, err)
	if st.Code() != want.code {
		t.Errorf("code = %v, want %v (message %q)", st.Code(), want.code, st.Message())
	}
	if st.Message() != want.msg {
		t.Errorf("message = %q, want %q", st.Message(), want.msg)
	}
	if diff := gocmp.Diff(byType(want.details), byType(got), protocmp.Transform()); diff != "" {
		t.Errorf("details mismatch (-want +got):\n%s", diff)
	}
}

var (
	upperSnake = regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$`)
	camelCase  = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)
)

// checkErrorShape checks the contract every error status meets: exactly one
// ErrorInfo (fixed domain, UPPER_SNAKE_CASE reason, camelCase metadata keys
// with the correlation id) and exactly one RequestInfo whose request id is
// the correlation id. It returns the ErrorInfo.
func checkErrorShape(t *testing.T, err error, correlationID string) *errdetails.ErrorInfo {
	t.Helper()
	_, ds := statusDetails(t, err)
	var infos []*errdetails.ErrorInfo
	var reqs []*errdetails.RequestInfo
	for _, d := range ds {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			infos = append(infos, d)
		case *errdetails.RequestInfo:
			reqs = append(reqs, d)
		}
	}
	if len(infos) != 1 || len(reqs) != 1 {
		t.Fatalf("got %d ErrorInfo and %d RequestInfo, want one of each; details: %v", len(infos), len(reqs), ds)
	}
	info := infos[0]
	if info.GetDomain() != apierr.Domain || apierr.Domain != "cloudcockpit-facade" {
		t.Errorf("ErrorInfo.domain = %q, want %q", info.GetDomain(), "cloudcockpit-facade")
	}
	if !upperSnake.MatchString(info.GetReason()) {
		t.Errorf("ErrorInfo.reason = %q, want UPPER_SNAKE_CASE", info.GetReason())
	}
	for k := range info.GetMetadata() {
		if !camelCase.MatchString(k) {
			t.Errorf("ErrorInfo.metadata key %q is not camelCase", k)
		}
	}
	if got := info.GetMetadata()["correlationId"]; got != correlationID {
		t.Errorf("ErrorInfo.metadata[correlationId] = %q, want %q", got, correlationID)
	}
	if got := reqs[0].GetRequestId(); got != correlationID {
		t.Errorf("RequestInfo.request_id = %q, want %q", got, correlationID)
	}
	return info
}

func TestMapHTTPStatus(t *testing.T) {
	tests := []struct {
		give       int
		wantCode   codes.Code
		wantReason string
	}{
		// the table of ARCHITECTURE.md, row by row
		{400, codes.InvalidArgument, "UPSTREAM_BAD_REQUEST"},
		{401, codes.Unauthenticated, "UPSTREAM_UNAUTHENTICATED"},
		{403, codes.PermissionDenied, "UPSTREAM_PERMISSION_DENIED"},
		{404, codes.NotFound, "UPSTREAM_NOT_FOUND"},
		{409, codes.Aborted, "UPSTREAM_CONFLICT"},
		{412, codes.FailedPrecondition, "UPSTREAM_PRECONDITION_FAILED"},
		{429, codes.ResourceExhausted, "UPSTREAM_RATE_LIMITED"},
		{499, codes.Canceled, "UPSTREAM_CANCELLED"},
		{500, codes.Internal, "UPSTREAM_INTERNAL_ERROR"},
		{501, codes.Unimplemented, "UPSTREAM_NOT_IMPLEMENTED"},
		{502, codes.Unavailable, "UPSTREAM_UNAVAILABLE"},
		{503, codes.Unavailable, "UPSTREAM_UNAVAILABLE"},
		{504, codes.DeadlineExceeded, "UPSTREAM_TIMEOUT"},
		// other 4xx
		{402, codes.FailedPrecondition, "UPSTREAM_CLIENT_ERROR"},
		{405, codes.FailedPrecondition, "UPSTREAM_CLIENT_ERROR"},
		{406, codes.FailedPrecondition, "UPSTREAM_CLIENT_ERROR"},
		{408, codes.FailedPrecondition, "UPSTREAM_CLIENT_ERROR"},
		{410, codes.FailedPrecondition, "UPSTREAM_CLIENT_ERROR"},
		{413, codes.FailedPrecondition, "UPSTREAM_CLIENT_ERROR"},
		{415, codes.FailedPrecondition, "UPSTREAM_CLIENT_ERROR"},
		{418, codes.FailedPrecondition, "UPSTREAM_CLIENT_ERROR"},
		{422, codes.FailedPrecondition, "UPSTREAM_CLIENT_ERROR"},
		{451, codes.FailedPrecondition, "UPSTREAM_CLIENT_ERROR"},
		{498, codes.FailedPrecondition, "UPSTREAM_CLIENT_ERROR"},
		// other 5xx
		{505, codes.Internal, "UPSTREAM_SERVER_ERROR"},
		{507, codes.Internal, "UPSTREAM_SERVER_ERROR"},
		{508, codes.Internal, "UPSTREAM_SERVER_ERROR"},
		{511, codes.Internal, "UPSTREAM_SERVER_ERROR"},
		{520, codes.Internal, "UPSTREAM_SERVER_ERROR"},
		{599, codes.Internal, "UPSTREAM_SERVER_ERROR"},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.give), func(t *testing.T) {
			code, reason, _ := (&rest.Error{Kind: rest.KindAnswered, StatusCode: tt.give}).Status()
			if code != tt.wantCode || reason != tt.wantReason {
				t.Errorf("Status() of %d = %v, %q; want %v, %q", tt.give, code, reason, tt.wantCode, tt.wantReason)
			}
		})
	}
}

// upstreamErr wraps e the way the rest client does.
func upstreamErr(e *rest.Error) error {
	return fmt.Errorf("get reseller %q: %w", testResellerID, e)
}

func TestToStatusUpstreamError(t *testing.T) {
	reseller := testResellerID
	httpStatus := func(code int, more ...string) map[string]string {
		m := map[string]string{"upstreamHttpStatus": strconv.Itoa(code)}
		for i := 0; i+1 < len(more); i += 2 {
			m[more[i]] = more[i+1]
		}
		return m
	}
	d := func(reason string, meta map[string]string, extra ...proto.Message) []proto.Message {
		return details(reason, apierr.OpGetReseller, testCorrelationID, meta, extra...)
	}
	long := strings.Repeat("x", 2000)

	tests := []struct {
		name string
		give error
		res  string
		want wantStatus
	}{
		{
			name: "400 envelope with errors",
			give: upstreamErr(&rest.Error{Kind: rest.KindAnswered, StatusCode: 400, Envelope: &rest.Envelope{
				StatusCode: 400, Type: "ValidationError", Description: "One or more validation errors occurred.",
				CorrelationID: testCorrelationID,
				Errors: []rest.PropertyError{
					{PropertyName: "resellerId", Description: []string{"The value is not valid.", "The id is unknown."}},
					{PropertyName: "X-Tenant", Description: []string{"The X-Tenant header is required."}},
				},
			}}),
			res: reseller,
			want: wantStatus{codes.InvalidArgument, "One or more validation errors occurred.", d("UPSTREAM_BAD_REQUEST",
				httpStatus(400, "upstreamType", "ValidationError"),
				&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
					{Field: "resellerId", Description: "The value is not valid."},
					{Field: "resellerId", Description: "The id is unknown."},
					{Field: "X-Tenant", Description: "The X-Tenant header is required."},
				}})},
		},
		{
			name: "400 envelope error without descriptions",
			give: upstreamErr(&rest.Error{Kind: rest.KindAnswered, StatusCode: 400, Envelope: &rest.Envelope{
				Description: "Invalid request.",
				Errors:      []rest.PropertyError{{PropertyName: "providerInstanceId"}},
			}}),
			want: wantStatus{codes.InvalidArgument, "Invalid request.", d("UPSTREAM_BAD_REQUEST", httpStatus(400),
				&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
					{Field: "providerInstanceId", Description: "Invalid request."},
				}})},
		},
		{
			name: "400 envelope with a long property name",
			give: upstreamErr(&rest.Error{Kind: rest.KindAnswered, StatusCode: 400, Envelope: &rest.Envelope{
				Description: "Invalid request.",
				Errors:      []rest.PropertyError{{PropertyName: strings.Repeat("p", 1000), Description: []string{"bad"}}},
			}}),
			want: wantStatus{codes.InvalidArgument, "Invalid request.", d("UPSTREAM_BAD_REQUEST", httpStatus(400),
				&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
					{Field: apierr.Truncate(strings.Repeat("p", 1000), 256), Description: "bad"},
				}})},
		},
		{
			name: "400 envelope with a long correlation id",
			give: upstreamErr(&rest.Error{Kind: rest.KindAnswered, StatusCode: 400, Envelope: &rest.Envelope{
				Description: "Invalid request.", CorrelationID: strings.Repeat("c", 500),
			}}),
			want: wantStatus{codes.InvalidArgument, "Invalid request.", d("UPSTREAM_BAD_REQUEST",
				httpStatus(400, apierr.MetaUpstreamCorrelationID, apierr.Truncate(strings.Repeat("c", 500), 128)))},
		},
		{
			name: "400 envelope without errors",
			give: upstreamErr(&rest.Error{Kind: rest.KindAnswered, StatusCode: 400, Envelope: &rest.Envelope{StatusCode: 400, Description: "Bad input."}}),
			want: wantStatus{codes.InvalidArgument, "Bad input.", d("UPSTREAM_BAD_REQUEST", httpStatus(400))},
		},
		{
			name: "400 without envelope",
			give: upstreamErr(&rest.Error{Kind: rest.KindAnswered, StatusCode: 400}),
			want: wantStatus{codes.InvalidArgument, "upstream answered 400 Bad Request", d("UPSTREAM_BAD_REQUEST", httpStatus(400))},
		},
		{
			name: "400 with Retry-After has no RetryInfo",
			give: upstreamErr(&rest.Error{Kind: rest.KindAnswered, StatusCode: 400, RetryAfter: 5 * time.Second, HasRetryAfter: true}),
			want: wantStatus{codes.InvalidArgument, "upstream answered 400 Bad Request", d("UPSTREAM_BAD_REQUEST", httpStatus(400))},
		},
		{
			name: "401 without body",
			give: upstreamErr(&rest.Error{Kind: rest.KindAnswered, StatusCode: 401}),
			res:  reseller,
			want: wantStatus{codes.Unauthenticated, "upstream answered 401 Unauthorized", d("UPSTREAM_UNAUTHENTICATED", httpStatus(401))},
		},
		{
			name: "403 without body",
			give: upstreamErr(&rest.Error{Kind: rest.KindAnswered, StatusCode: 403}),
			res:  reseller,
			want: wantStatus{codes.PermissionDenied, "upstream answered 403 Forbidden", d("UPSTREAM_PERMISSION_DENIED", httpStatus(403))},
		},
		{
			// The upstream's text about rejected credentials may quote them: none of it reaches the caller.
			name: "401 envelope is not passed on",
			give: upstreamErr(&rest.Error{Kind: rest.KindAnswered, StatusCode: 401, Envelope: &rest.Envelope{
				StatusCode: 401, Type: "AuthError", Description: "token eyJhbGci rejected", CorrelationID: "upstream-id",
				Errors: []rest.PropertyError{{PropertyName: "Authorization", Description: []string{"token eyJhbGci expired"}}},
			}}),
			res:  reseller,
			want: wantStatus{codes.Unauthenticated, "upstream answered 401 Unauthorized", d("UPSTREAM_UNAUTHENTICATED", httpStatus(401))},
		},
		{
			name: "403 envelope is not passed on",
			give: upstreamErr(&rest.Error{Kind: rest.KindAnswered, StatusCode: 403, Envelope: &rest.Envelope{
				StatusCode: 403, Type: "AuthError", Description: "tenant a.example may not use token eyJhbGci", CorrelationID: "upstream-id",
				Errors: []rest.PropertyError{{PropertyName: "X-Tenant", Description: []string{"not allowed"}}},
			}}),
			res:  reseller,
			want: wantStatus{codes.PermissionDenied, "upstream answered 403 Forbidden", d("UPSTREAM_PERMISSION_DENIED", httpStatus(403))},
		},
		{
			name: "404 reseller with envelope",
			give: upstreamErr(&rest.Error{Kind: rest.KindAnswered, StatusCode: 404, Envelope: &rest.Envelope{StatusCode: 404, Type: "NotFound", Description: "Reseller not found."}}),
			res:  reseller,
			want: wantStatus{codes.NotFound, "Reseller not found.", d("UPSTREAM_NOT_FOUND", httpStatus(404, "upstreamType", "NotFound"),
				&errdetails.ResourceInfo{ResourceType: "cloudcockpit.v1.Reseller", ResourceName: testResellerID, Description: "Reseller not found."})},
		},
		{
			name: "404 reseller without envelope",
			give: upstreamErr(&rest.Error{Kind: rest.KindAnswered, StatusCode: 404}),
			res:  reseller,
			want: wantStatus{codes.NotFound, "upstream answered 404 Not Found", d("UPSTREAM_NOT_FOUND", httpStatus(404),
				&errdetails.ResourceInfo{ResourceType: "cloudcockpit.v1.Reseller", ResourceName: testResellerID, Description: "upstream answered 404 Not Found"})},
		},
		{
			name: "404 without a known resource",
			give: upstreamErr(&rest.Error{Kind: rest.KindAnswered, StatusCode: 404, Envelope: &rest.Envelope{Description: "Provider instance not found."}}),
			want: wantStatus{codes.NotFound, "Provider instance not found.", d("UPSTREAM_NOT_FOUND", httpStatus(404))},
		},
		{
			name: "409",
			give: upstreamErr(&rest.Error{Kind: rest.KindAnswered, StatusCode: 409}),
			want: wantStatus{codes.Aborted, "upstream answered 409 Conflict", d("UPSTREAM_CONFLICT", httpStatus(409))},
		},
		{
			name: "412",
			give: upstreamErr(&rest.Error{Kind: rest.KindAnswered, StatusCode: 412}),
			want: wantStatus{codes.FailedPrecondition, "upstream answered 412 Precondition Failed", d("UPSTREAM_PRECONDITION_FAILED", httpStatus(412))},
		},
		{
			name: "429 with Retry-After",
			give: upstreamErr(&rest.Error{Kind: rest.KindAnswered, StatusCode: 429, RetryAfter: 30 * time.Second, HasRetryAfter: true}),
			want: wantStatus{codes.ResourceExhausted, "upstream answered 429 Too Many Requests", d("UPSTREAM_RATE_LIMITED", httpStatus(429),
				&errdetails.RetryInfo{RetryDelay: durationpb.New(30 * time.Second)})},
		},
		{
			name: "429 with Retry-After 0",
			give: upstreamErr(&rest.Error{Kind: rest.KindAnswered, StatusCode: 429, HasRetryAfter: true}),
			want: wantStatus{codes.ResourceExhausted, "upstream answered 429 Too Many Requests", d("UPSTREAM_RATE_LIMITED", httpStatus(429),
				&errdetails.RetryInfo{RetryDelay: durationpb.New(0)})},
		},
		{
			name: "429 without Retry-After",
			give: upstreamErr(&rest.Error{Kind: rest.KindAnswered, StatusCode: 429}),
			want: wantStatus{codes.ResourceExhausted, "upstream answered 429 Too Many Requests", d("UPSTREAM_RATE_LIMITED", httpStatus(429))},
		},
		{
			name: "499",
			give: upstreamErr(&rest.Error{Kind: rest.KindAnswered, StatusCode: 499}),
			want: wantStatus{codes.Canceled, "upstream answered 499", d("UPSTREAM_CANCELLED", httpStatus(499))},
		},
		{
			name: "500 envelope with other status code and correlation id",
			give: upstreamErr(&rest.Error{Kind: rest.KindAnswered, StatusCode: 500, Envelope: &rest.Envelope{
				StatusCode: 42, Type: "string", Description: "An unexpected error occurred.", CorrelationID: "upstream-7",
			}}),
			want: wantStatus{codes.Internal, "An unexpected error occurred.", d("UPSTREAM_INTERNAL_ERROR",
				httpStatus(500, "upstreamStatusCode", "42", "upstreamType", "string", "upstreamCorrelationId", "upstream-7"))},
		},
		{
			name: "500 without envelope",
			give: upstreamErr(&rest.Error{Kind: rest.KindAnswered, StatusCode: 500}),
			want: wantStatus{codes.Internal, "upstream answered 500 Internal Server Error", d("UPSTREAM_INTERNAL_ERROR", httpStatus(500))},
		},
		{
			name: "501",
			give: upstreamErr(&rest.Error{Kind: rest.KindAnswered, StatusCode: 501}),
			want: wantStatus{codes.Unimplemented, "upstream answered 501 Not Implemented", d("UPSTREAM_NOT_IMPLEMENTED", httpStatus(501))},
		},
		{
			name: "502 with Retry-After",
			give: upstreamErr(&rest.Error{Kind: rest.KindAnswered, StatusCode: 502, RetryAfter: time.Second, HasRetryAfter: true}),
			want: wantStatus{codes.Unavailable, "upstream answered 502 Bad Gateway", d("UPSTREAM_UNAVAILABLE", httpStatus(502),
				&errdetails.RetryInfo{RetryDelay: durationpb.New(time.Second)})},
		},
		{
			name: "503 with Retry-After",
			give: upstreamErr(&rest.Error{Kind: rest.KindAnswered, StatusCode: 503, RetryAfter: 2 * time.Minute, HasRetryAfter: true}),
			want: wantStatus{codes.Unavailable, "upstream answered 503 Service Unavailable", d("UPSTREAM_UNAVAILABLE", httpStatus(503),
				&errdetails.RetryInfo{RetryDelay: durationpb.New(2 * time.Minute)})},
		},
		{
			name: "503 without Retry-After",
			give: upstreamErr(&rest.Error{Kind: rest.KindAnswered, StatusCode: 503}),
			want: wantStatus{codes.Unavailable, "upstream answered 503 Service Unavailable", d("UPSTREAM_UNAVAILABLE", httpStatus(503))},
		},
		{
			name: "504",
			give: upstreamErr(&rest.Error{Kind: rest.KindAnswered, StatusCode: 504}),
			want: wantStatus{codes.DeadlineExceeded, "upstream answered 504 Gateway Timeout", d("UPSTREAM_TIMEOUT", httpStatus(504))},
		},
		{
			name: "418",
			give: upstreamErr(&rest.Error{Kind: rest.KindAnswered, StatusCode: 418}),
			want: wantStatus{codes.FailedPrecondition, "upstream answered 418 I'm a teapot", d("UPSTREAM_CLIENT_ERROR", httpStatus(418))},
		},
		{
			name: "507",
			give: upstreamErr(&rest.Error{Kind: rest.KindAnswered, StatusCode: 507}),
			want: wantStatus{codes.Internal, "upstream answered 507 Insufficient Storage", d("UPSTREAM_SERVER_ERROR", httpStatus(507))},
		},
		{
			name: "control characters cleaned",
			give: upstreamErr(&rest.Error{Kind: rest.KindAnswered, StatusCode: 400, Envelope: &rest.Envelope{
				Type:        "Validation\u202eError", // a bidi override: a format character
				Description: "\r\n Bad\r\nthing\x1b[31m here\u0085 \t",
				Errors:      []rest.PropertyError{{PropertyName: "X-Tenant\n", Description: []string{"line1\nline2\x7f"}}},
			}}),
			want: wantStatus{codes.InvalidArgument, "Bad  thing [31m here", d("UPSTREAM_BAD_REQUEST",
				httpStatus(400, "upstreamType", "Validation Error"),
				&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
					{Field: "X-Tenant", Description: "line1 line2"},
				}})},
		},
		{
			name: "blank description falls back",
			give: upstreamErr(&rest.Error{Kind: rest.KindAnswered, StatusCode: 409, Envelope: &rest.Envelope{Description: " \r\n\t"}}),
			want: wantStatus{codes.Aborted, "upstream answered 409 Conflict", d("UPSTREAM_CONFLICT", httpStatus(409))},
		},
		{
			name: "long description cut",
			give: upstreamErr(&rest.Error{Kind: rest.KindAnswered, StatusCode: 500, Envelope: &rest.Envelope{Description: long, Type: long}}),
			want: wantStatus{codes.Internal, long[:1021] + "…", d("UPSTREAM_INTERNAL_ERROR",
				httpStatus(500, "upstreamType", long[:125]+"…"))},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c := &call{op: apierr.OpGetReseller, info: rest.CallInfo{CorrelationID: testCorrelationID}}
			err := toStatus(ctx, c, tt.give, tt.res)
			checkStatus(t, err, tt.want)
			checkErrorShape(t, err, testCorrelationID)
		})
	}
}

// TestToStatusUTF8 sends long non-ASCII upstream text: whatever is cut must
// stay valid UTF-8, or the details cannot be marshalled and are all lost.
func TestToStatusUTF8(t *testing.T) {
	desc := "x" + strings.Repeat("é", 700) // the 1024-byte cut falls inside an "é"
	typ := "y" + strings.Repeat("—", 60)   // the 128-byte cut falls inside an em dash
	give := upstreamErr(&rest.Error{Kind: rest.KindAnswered, StatusCode: 404, Envelope: &rest.Envelope{
		Description: desc, Type: typ,
		Errors: []rest.PropertyError{{PropertyName: "z" + strings.Repeat("ç", 200), Description: []string{desc}}},
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := toStatus(ctx, &call{op: apierr.OpGetReseller, info: rest.CallInfo{CorrelationID: testCorrelationID}}, give, testResellerID)

	st, ds := statusDetails(t, err)
	if st.Code() != codes.NotFound {
		t.Errorf("code = %v, want NotFound", st.Code())
	}
	if !utf8.ValidString(st.Message()) || !strings.HasPrefix(st.Message(), "xéé") || !strings.HasSuffix(st.Message(), "é…") {
		t.Errorf("message = %q, want valid UTF-8 cut at a rune boundary", st.Message())
	}
	info := checkErrorShape(t, err, testCorrelationID)
	if got := info.GetMetadata()["upstreamType"]; !utf8.ValidString(got) || !strings.HasSuffix(got, "—…") {
		t.Errorf("upstreamType = %q, want valid UTF-8 cut at a rune boundary", got)
	}
	var kinds []string
	for _, d := range ds {
		kinds = append(kinds, string(proto.MessageName(d)))
	}
	slices.Sort(kinds)
	want := []string{"google.rpc.BadRequest", "google.rpc.ErrorInfo", "google.rpc.RequestInfo", "google.rpc.ResourceInfo"}
	if diff := gocmp.Diff(want, kinds); diff != "" {
		t.Errorf("detail types mismatch (-want +got):\n%s", diff)
	}
	if _, err := proto.Marshal(st.Proto()); err != nil {
		t.Errorf("the status does not marshal: %v", err)
	}
}

// TestToStatusEveryHTTPStatus checks the shape of the status for every
// error status code an upstream could send.
func TestToStatusEveryHTTPStatus(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for code := 300; code <= 599; code++ {
		err := toStatus(ctx, &call{op: apierr.OpGetAcceptanceLink, info: rest.CallInfo{CorrelationID: testCorrelationID}}, upstreamErr(&rest.Error{Kind: rest.KindAnswered, StatusCode: code}), "")
		info := checkErrorShape(t, err, testCorrelationID)
		if got := info.GetMetadata()["upstreamHttpStatus"]; got != strconv.Itoa(code) {
			t.Errorf("%d: upstreamHttpStatus = %q", code, got)
		}
		st := status.Convert(err)
		if st.Code() == codes.OK || st.Code() == codes.Unknown {
			t.Errorf("%d: code = %v", code, st.Code())
		}
		if msg := st.Message(); msg != strings.TrimSpace(msg) || !strings.HasPrefix(msg, "upstream answered "+strconv.Itoa(code)) {
			t.Errorf("%d: message = %q", code, msg)
		}
	}
}

func TestToStatusLocalErrors(t *testing.T) {
	refused := &url.Error{Op: "Get", URL: "http://127.0.0.1:1/v1/Resellers/" + testResellerID, Err: &net.OpError{
		Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED},
	}}
	d := func(reason string) []proto.Message {
		return details(reason, apierr.OpGetReseller, testCorrelationID, nil) // no upstreamHttpStatus
	}
	dc := func(reason, cause string) []proto.Message {
		return details(reason, apierr.OpGetReseller, testCorrelationID, map[string]string{"cause": cause})
	}
	tests := []struct {
		name string
		ctx  func(*testing.T, context.Context) context.Context
		give error
		want wantStatus
	}{
		{
			name: "decode error",
			give: fmt.Errorf("get reseller %q: %w", testResellerID, &rest.Error{Kind: rest.KindUndecodable, Err: errors.New("unexpected end of JSON input")}),
			want: wantStatus{codes.Internal, "the upstream response could not be decoded", d("UPSTREAM_BAD_RESPONSE")},
		},
		{
			name: "body too large",
			give: fmt.Errorf("get reseller %q: %w", testResellerID, &rest.Error{Kind: rest.KindTooLarge, Limit: 1 << 20}),
			want: wantStatus{codes.Internal, "the upstream response is larger than the configured limit", d("UPSTREAM_RESPONSE_TOO_LARGE")},
		},
		{
			name: "caller cancelled",
			ctx: func(_ *testing.T, ctx context.Context) context.Context {
				ctx, cancel := context.WithCancel(ctx)
				cancel()
				return ctx
			},
			give: fmt.Errorf("get reseller %q: %w", testResellerID, &url.Error{Op: "Get", URL: "http://x", Err: context.Canceled}),
			want: wantStatus{codes.Canceled, "the call was cancelled by the caller", d("CANCELLED")},
		},
		{
			name: "caller deadline passed",
			ctx: func(t *testing.T, ctx context.Context) context.Context {
				ctx, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
				t.Cleanup(cancel)
				return ctx
			},
			give: fmt.Errorf("get reseller %q: %w", testResellerID, &url.Error{Op: "Get", URL: "http://x", Err: context.DeadlineExceeded}),
			want: wantStatus{codes.DeadlineExceeded, "the call's deadline passed before the upstream answered", d("DEADLINE_EXCEEDED")},
		},
		{
			// the caller's deadline wins over whatever the transport said
			name: "caller deadline passed during a reset",
			ctx: func(t *testing.T, ctx context.Context) context.Context {
				ctx, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
				t.Cleanup(cancel)
				return ctx
			},
			give: fmt.Errorf("get reseller %q: %w", testResellerID, io.ErrUnexpectedEOF),
			want: wantStatus{codes.DeadlineExceeded, "the call's deadline passed before the upstream answered", d("DEADLINE_EXCEEDED")},
		},
		{
			name: "transport timeout while the caller waits",
			give: fmt.Errorf("get reseller %q: %w", testResellerID, &url.Error{Op: "Get", URL: "http://x", Err: context.DeadlineExceeded}),
			want: wantStatus{codes.DeadlineExceeded, "the upstream did not answer in time", dc("UPSTREAM_TIMEOUT", "timeout")},
		},
		{
			name: "connection refused",
			give: fmt.Errorf("get reseller %q: %w", testResellerID, refused),
			want: wantStatus{codes.Unavailable, "the upstream could not be reached (connection refused)", dc("UPSTREAM_UNREACHABLE", "refused")},
		},
		{
			name: "connection reset",
			give: fmt.Errorf("get reseller %q: %w", testResellerID, &url.Error{Op: "Get", URL: "http://x", Err: syscall.ECONNRESET}),
			want: wantStatus{codes.Unavailable, "the upstream could not be reached (connection reset)", dc("UPSTREAM_UNREACHABLE", "reset")},
		},
		{
			name: "unexpected EOF",
			give: fmt.Errorf("get reseller %q: %w", testResellerID, io.ErrUnexpectedEOF),
			want: wantStatus{codes.Unavailable, "the upstream could not be reached (connection closed without an answer)", dc("UPSTREAM_UNREACHABLE", "closed")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if tt.ctx != nil {
				ctx = tt.ctx(t, ctx)
			}
			c := &call{op: apierr.OpGetReseller, info: rest.CallInfo{CorrelationID: testCorrelationID}}
			err := toStatus(ctx, c, tt.give, testResellerID)
			checkStatus(t, err, tt.want)
			info := checkErrorShape(t, err, testCorrelationID)
			if v, ok := info.GetMetadata()["upstreamHttpStatus"]; ok {
				t.Errorf("ErrorInfo has upstreamHttpStatus %q for an error without an upstream answer", v)
			}
			if strings.Contains(status.Convert(err).Message(), "127.0.0.1") {
				t.Errorf("message %q repeats the upstream URL", status.Convert(err).Message())
			}
		})
	}
}

// TestToStatusNeverEchoesErrorText checks that the message comes from the
// table or the envelope, not from the wrapped error's text (which may hold
// URLs, ids or bodies).
func TestToStatusNeverEchoesErrorText(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const secret = "Bearer s3cr3t <html>"
	for _, give := range []error{
		fmt.Errorf("%s: %w", secret, &rest.Error{Kind: rest.KindAnswered, StatusCode: 502}),
		fmt.Errorf("%s: %w", secret, &rest.Error{Kind: rest.KindUndecodable, Err: errors.New(secret)}),
		errors.New(secret),
	} {
		err := toStatus(ctx, &call{op: apierr.OpGetReseller, info: rest.CallInfo{CorrelationID: testCorrelationID}}, give, "")
		if msg := status.Convert(err).Message(); strings.Contains(msg, "s3cr3t") || strings.Contains(msg, "<html>") {
			t.Errorf("toStatus(%v) message = %q, echoes the error text", give, msg)
		}
	}
}

// TestToStatusBoundsTheWorkOnAHugeEnvelope: toStatus redacted every string of
// an error envelope in full, before anything was cut: a 1 MiB description, or
// thousands of errors[] of which 20 are shown, cost 8 to 20 MB allocated (and
// some 200 ms) per caller, each coalesced caller again. Only what can be
// shown is redacted now; what is shown is the same.
func TestToStatusBoundsTheWorkOnAHugeEnvelope(t *testing.T) {
	const token = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.c2lnbmF0dXJl" //nolint:gosec // G101: a fake token that must be redacted
	long := strings.Repeat("%41", 340_000) + " " + token
	var many []rest.PropertyError
	for range 3000 {
		many = append(many, rest.PropertyError{PropertyName: strings.Repeat("%42", 33), Description: []string{strings.Repeat("%41", 66)}})
	}
	tests := []struct {
		name        string
		give        *rest.Envelope
		wantMessage string
		wantOmitted string // ErrorInfo's omittedViolations
	}{
		{name: "1 MiB description", give: &rest.Envelope{Description: long}, wantMessage: long[:1021] + "…"},
		{name: "3,000 errors", give: &rest.Envelope{Description: "bad", Errors: many}, wantMessage: "bad", wantOmitted: "2988"}, // 12 fit in apierr.MaxStatusBytes,
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c := &call{op: apierr.OpGetReseller, info: rest.CallInfo{CorrelationID: testCorrelationID, Authorization: "Bearer " + token}}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := toStatus(ctx, c, &rest.Error{Kind: rest.KindAnswered, StatusCode: 400, Envelope: tt.give}, "")
			runtime.ReadMemStats(&after)
			if got := after.TotalAlloc - before.TotalAlloc; got > 4<<20 && !raceEnabled {
				t.Errorf("toStatus allocated %d KiB, want at most 4 MiB", got>>10)
			}
			st := status.Convert(err)
			if st.Message() != tt.wantMessage {
				t.Errorf("message = %.40q..., want %.40q...", st.Message(), tt.wantMessage)
			}
			info := checkErrorShape(t, err, testCorrelationID)
			if got := info.GetMetadata()[apierr.MetaOmittedViolations]; got != tt.wantOmitted {
				t.Errorf("omitted violations = %q, want %q", got, tt.wantOmitted)
			}
			if encoded, _ := proto.Marshal(st.Proto()); bytes.Contains(encoded, []byte("c2VjcmV0LXBheWxvYWQ")) {
				t.Error("the status quotes the caller's token")
			}
		})
	}
}

// TestToStatusRedactsTheCallersToken: upstream text that quotes the caller's
// own token (a 400's description and its errors) loses it, in the message
// and in every detail.
func TestToStatusRedactsTheCallersToken(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const token = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.c2lnbmF0dXJl" //nolint:gosec // G101: a fake token that must be redacted
	give := upstreamErr(&rest.Error{Kind: rest.KindAnswered, StatusCode: 400, Envelope: &rest.Envelope{
		Description: "token " + token + " is malformed", Type: "Bad " + token,
		Errors: []rest.PropertyError{{PropertyName: "Authorization " + token, Description: []string{"value " + token}}},
	}})
	c := &call{op: apierr.OpGetReseller, info: rest.CallInfo{CorrelationID: testCorrelationID, Authorization: "Bearer " + token}}
	encoded, err := proto.Marshal(status.Convert(toStatus(ctx, c, give, "")).Proto())
	if err != nil {
		t.Fatal(err)
	}
	for _, piece := range strings.Split(token, ".") {
		if bytes.Contains(encoded, []byte(piece)) {
			t.Errorf("the status quotes %q of the caller's token", piece)
		}
	}
	if !bytes.Contains(encoded, []byte(apierr.Redacted)) {
		t.Errorf("the status holds no %s", apierr.Redacted)
	}
}

// TestToStatusRedactsATokenSplitByFormatCharacters: docs/security.md
// promises that the caller's token with invisible format characters
// (U+200B, ...) between its characters is caught. toStatus's cleanText
// turned those characters into spaces before apierr.New's Redactor could
// strip them, and a token split by spaces is, by design, not caught: the
// caller's token came back whole, one space between its characters, in the
// message and in every envelope string.
func TestToStatusRedactsATokenSplitByFormatCharacters(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const token = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.c2lnbmF0dXJl" //nolint:gosec // G101: a fake token that must be redacted
	split := strings.Join(strings.Split(token, ""), "\u200b")
	give := upstreamErr(&rest.Error{Kind: rest.KindAnswered, StatusCode: 400, Envelope: &rest.Envelope{
		Description: "token " + split + " is malformed", Type: "Bad " + split, CorrelationID: split,
		Errors: []rest.PropertyError{{PropertyName: "Authorization " + split, Description: []string{"value " + split}}},
	}})
	c := &call{op: apierr.OpGetReseller, info: rest.CallInfo{CorrelationID: testCorrelationID, Authorization: "Bearer " + token}}
	st := status.Convert(toStatus(ctx, c, give, "")).Proto()
	encoded, err := proto.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	unspaced := strings.NewReplacer(" ", "", "\u200b", "").Replace(string(encoded))
	for _, piece := range strings.Split(token, ".") {
		if strings.Contains(unspaced, piece) {
			t.Errorf("the status quotes %q of the caller's token (message %q)", piece, st.GetMessage())
		}
	}
}

// TestCleanTextShowsWhatTheWholeTextWould: invisible characters shrink to
// a space each, so text past 1,024 bytes of them still reaches what is shown
// (docs/errors.md#bounds: the first 4,128 bytes are cleaned).
func TestCleanTextShowsWhatTheWholeTextWould(t *testing.T) {
	give := "a" + strings.Repeat("\u200b", 600) + "b" // 1,802 bytes, 602 once cleaned
	if got, want := cleanText(apierr.NewRedactor(""), give), "a"+strings.Repeat(" ", 600)+"b"; got != want {
		t.Errorf("cleanText = %q (%d bytes), want %d bytes ending in b", got, len(got), len(want))
	}
}
