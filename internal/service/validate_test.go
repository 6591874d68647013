package service

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"buf.build/go/protovalidate"
	gocmp "github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/testing/protocmp"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/correlation"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
)

func TestBearer(t *testing.T) {
	const secret = "s3cr3t" // must never appear in a problem message
	maxToken := strings.Repeat("a", 16<<10)
	tests := []struct {
		name       string
		give       []string
		wantValue  string
		wantReason string // "" means accepted
	}{
		{name: "missing", give: nil, wantReason: "MISSING_CREDENTIALS"},
		{name: "empty", give: []string{""}, wantReason: "MISSING_CREDENTIALS"},
		{name: "blank", give: []string{"  \t"}, wantReason: "MISSING_CREDENTIALS"},
		{name: "two values", give: []string{"Bearer " + secret, "Bearer " + secret}, wantReason: "MALFORMED_CREDENTIALS"},
		{name: "two values one empty", give: []string{"Bearer " + secret, ""}, wantReason: "MALFORMED_CREDENTIALS"},
		{name: "basic", give: []string{"Basic " + secret}, wantReason: "MALFORMED_CREDENTIALS"},
		{name: "scheme only", give: []string{"Bearer"}, wantReason: "MALFORMED_CREDENTIALS"},
		{name: "scheme and space", give: []string{"Bearer "}, wantReason: "MALFORMED_CREDENTIALS"},
		{name: "no space", give: []string{"Bearer" + secret}, wantReason: "MALFORMED_CREDENTIALS"},
		{name: "token only", give: []string{secret}, wantReason: "MALFORMED_CREDENTIALS"},
		{name: "other scheme", give: []string{"Token " + secret}, wantReason: "MALFORMED_CREDENTIALS"},
		{name: "leading space", give: []string{" Bearer " + secret}, wantReason: "MALFORMED_CREDENTIALS"},
		{name: "two spaces", give: []string{"Bearer  " + secret}, wantReason: "MALFORMED_CREDENTIALS"},
		{name: "space in token", give: []string{"Bearer " + secret + " " + secret}, wantReason: "MALFORMED_CREDENTIALS"},
		{name: "trailing space", give: []string{"Bearer " + secret + " "}, wantReason: "MALFORMED_CREDENTIALS"},
		{name: "tab in token", give: []string{"Bearer " + secret + "\t" + secret}, wantReason: "MALFORMED_CREDENTIALS"},
		{name: "CRLF in token", give: []string{"Bearer " + secret + "\r\nX-Evil: 1"}, wantReason: "MALFORMED_CREDENTIALS"},
		{name: "NUL in token", give: []string{"Bearer " + secret + "\x00"}, wantReason: "MALFORMED_CREDENTIALS"},
		{name: "DEL in token", give: []string{"Bearer " + secret + "\x7f"}, wantReason: "MALFORMED_CREDENTIALS"},
		{name: "non-ASCII token", give: []string{"Bearer " + secret + "é"}, wantReason: "MALFORMED_CREDENTIALS"},
		{name: "token over 16 KiB", give: []string{"Bearer " + maxToken + "a"}, wantReason: "MALFORMED_CREDENTIALS"},

		{name: "Bearer", give: []string{"Bearer " + secret}, wantValue: "Bearer " + secret},
		{name: "lower-case scheme", give: []string{"bearer tok"}, wantValue: "bearer tok"},
		{name: "upper-case scheme", give: []string{"BEARER tok"}, wantValue: "BEARER tok"},
		{name: "JWT characters", give: []string{"Bearer eyJ0eXAiO.eyJhdWQi-_~+/.sig=="}, wantValue: "Bearer eyJ0eXAiO.eyJhdWQi-_~+/.sig=="},
		{name: "token of 16 KiB", give: []string{"Bearer " + maxToken}, wantValue: "Bearer " + maxToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			value, reason, problem := bearer(tt.give)
			if value != tt.wantValue || reason != tt.wantReason {
				t.Errorf("bearer() = value %.40q, reason %q; want value %.40q, reason %q", value, reason, tt.wantValue, tt.wantReason)
			}
			if (problem == "") != (tt.wantReason == "") {
				t.Errorf("bearer() problem = %q, want one exactly when rejected", problem)
			}
			if strings.Contains(problem, secret) || strings.Contains(problem, "aaaa") {
				t.Errorf("bearer() problem %q repeats the credentials", problem)
			}
		})
	}
}

func TestIsDomainName(t *testing.T) {
	label63 := strings.Repeat("a", 63)
	// 4 labels of 63 plus 3 dots = 255; trimmed to exactly 253 and 254
	long253 := (label63 + "." + label63 + "." + label63 + "." + label63)[:253]
	long254 := label63 + "." + label63 + "." + label63 + "." + strings.Repeat("a", 62)
	tests := []struct {
		give string
		want bool
	}{
		{"portal.cloudcockpit.com", true},
		{"PORTAL.CloudCockpit.COM", true},
		{"a.b", true},
		{"my-portal.example.com", true},
		{"xn--caf-dma.example", true},
		{"1.2.3.4", true},
		{label63 + ".com", true},
		{long253, true},

		{"", false},
		{"localhost", false},
		{"com", false},
		{".com", false},
		{"portal.", false},
		{"portal..com", false},
		{"-portal.com", false},
		{"portal-.com", false},
		{"portal.com-", false},
		{"portal_x.com", false},
		{"portal x.com", false},
		{"café.example", false},
		{"portal.com:443", false},
		{"portal.com/evil", false},
		{"user@portal.com", false},
		{"portal.com\r\nX-Evil: 1", false},
		{"portal.com\x00", false},
		{"*.portal.com", false},
		{strings.Repeat("a", 64) + ".com", false},
		{long254, false},
	}
	if len(long253) != 253 || len(long254) != 254 || strings.HasSuffix(long253, ".") {
		t.Fatalf("bad fixtures: %d %d", len(long253), len(long254))
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			if got := rest.IsDomainName(tt.give); got != tt.want {
				t.Errorf("IsDomainName(%q) = %v, want %v", tt.give, got, tt.want)
			}
		})
	}
}

// beginCtx returns an incoming call context with the given metadata pairs.
func beginCtx(t *testing.T, kv ...string) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return metadata.NewIncomingContext(ctx, metadata.Pairs(kv...))
}

func TestBeginAccepts(t *testing.T) {
	tests := []struct {
		name              string
		md                []string
		defaultTenant     string
		wantTenant        string
		wantCorrelationID string // "" means: a generated UUID
	}{
		{
			name:              "every value given",
			md:                []string{"authorization", "Bearer tok", "x-tenant", "portal.cloudcockpit.com", "x-correlation-id", testCorrelationID},
			wantTenant:        "portal.cloudcockpit.com",
			wantCorrelationID: testCorrelationID,
		},
		{
			name:       "correlation id generated",
			md:         []string{"authorization", "Bearer tok", "x-tenant", "portal.cloudcockpit.com"},
			wantTenant: "portal.cloudcockpit.com",
		},
		{
			name:          "default tenant when x-tenant is absent",
			md:            []string{"authorization", "Bearer tok"},
			defaultTenant: "default.cloudcockpit.com",
			wantTenant:    "default.cloudcockpit.com",
		},
		{
			name:          "default tenant when x-tenant is empty",
			md:            []string{"authorization", "Bearer tok", "x-tenant", ""},
			defaultTenant: "default.cloudcockpit.com",
			wantTenant:    "default.cloudcockpit.com",
		},
		{
			name:          "x-tenant wins over the default",
			md:            []string{"authorization", "Bearer tok", "x-tenant", "portal.cloudcockpit.com"},
			defaultTenant: "default.cloudcockpit.com",
			wantTenant:    "portal.cloudcockpit.com",
		},
		{
			name:              "other metadata ignored",
			md:                []string{"authorization", "Bearer tok", "x-tenant", "portal.cloudcockpit.com", "x-correlation-id", testCorrelationID, "x-secret", "s3cr3t", "cookie", "a=b"},
			wantTenant:        "portal.cloudcockpit.com",
			wantCorrelationID: testCorrelationID,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := newConfig([]Option{WithDefaultTenant(tt.defaultTenant)})
			ctx, c, err := begin(beginCtx(t, tt.md...), apierr.OpGetReseller, cfg, &pb.GetResellerRequest{ResellerId: testResellerID})
			if err != nil {
				t.Fatalf("begin() error = %v", err)
			}
			cid := tt.wantCorrelationID
			if cid == "" {
				cid = c.info.CorrelationID
				if !correlation.IsUUID(cid) {
					t.Errorf("generated correlation id %q is not a UUID", cid)
				}
			}
			want := rest.CallInfo{Tenant: tt.wantTenant, Authorization: "Bearer tok", CorrelationID: cid}
			if diff := gocmp.Diff(want, c.info); diff != "" {
				t.Errorf("call info mismatch (-want +got):\n%s", diff)
			}
			if c.op != apierr.OpGetReseller || c.info.CorrelationID != cid {
				t.Errorf("call = op %q, correlation id %q; want %q, %q", c.op, c.info.CorrelationID, apierr.OpGetReseller, cid)
			}
			if id, ok := correlation.FromContext(ctx); !ok || id.Value != cid {
				t.Errorf("context correlation id = %v, %v; want %q", id, ok, cid)
			}
		})
	}
}

func TestBeginRejects(t *testing.T) {
	tooLong := strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 62)
	fv := func(field, description string) *errdetails.BadRequest_FieldViolation {
		return &errdetails.BadRequest_FieldViolation{Field: field, Description: description}
	}
	const (
		uuidRequired = "required: a UUID such as 11111111-1111-4111-8111-111111111111"
		notUUID      = "must be a UUID (8-4-4-4-12 hexadecimal digits)"
		cidNotUUID   = "must be a UUID (8-4-4-4-12 hexadecimal digits), sent once"
		tenantNeeded = "required: the portal domain of the tenant, such as portal.cloudcockpit.com"
		tenantBad    = "must be a domain name such as portal.cloudcockpit.com (letters, digits, hyphens and dots, at most 253 characters)"
		tenantTwice  = "must be sent once"
	)
	tests := []struct {
		name          string
		md            []string
		resellerID    string
		defaultTenant string
		wantCode      codes.Code
		wantReason    string
		wantMsg       string
		wantFields    []*errdetails.BadRequest_FieldViolation
	}{
		{
			name:       "missing credentials win over everything else",
			md:         []string{"x-correlation-id", "nope"},
			resellerID: "../x",
			wantCode:   codes.Unauthenticated,
			wantReason: "MISSING_CREDENTIALS",
			wantMsg:    "missing credentials: send `authorization: Bearer <token>` metadata",
		},
		{
			name:       "basic credentials win over everything else",
			md:         []string{"authorization", "Basic dXNlcjpwYXNz", "x-tenant", "bad_tenant", "x-correlation-id", "nope"},
			resellerID: "",
			wantCode:   codes.Unauthenticated,
			wantReason: "MALFORMED_CREDENTIALS",
			wantMsg:    "malformed credentials: `authorization` must be `Bearer <token>`",
		},
		{
			name:       "every violation listed",
			md:         []string{"authorization", "Bearer tok", "x-correlation-id", "not-a-uuid"},
			resellerID: "../x",
			wantCode:   codes.InvalidArgument,
			wantReason: "INVALID_REQUEST",
			wantMsg:    "invalid request: reseller_id: " + notUUID + "; x-correlation-id: " + cidNotUUID + "; x-tenant: " + tenantNeeded,
			wantFields: []*errdetails.BadRequest_FieldViolation{
				fv("reseller_id", notUUID), fv("x-correlation-id", cidNotUUID), fv("x-tenant", tenantNeeded),
			},
		},
		{
			name:       "reseller id missing",
			md:         []string{"authorization", "Bearer tok", "x-tenant", "portal.cloudcockpit.com"},
			resellerID: "",
			wantCode:   codes.InvalidArgument,
			wantReason: "INVALID_REQUEST",
			wantMsg:    "invalid request: reseller_id: " + uuidRequired,
			wantFields: []*errdetails.BadRequest_FieldViolation{fv("reseller_id", uuidRequired)},
		},
		{
			name:          "bad x-tenant despite a default",
			md:            []string{"authorization", "Bearer tok", "x-tenant", "portal.example.com\r\nX-Evil: 1"},
			resellerID:    testResellerID,
			defaultTenant: "default.cloudcockpit.com",
			wantCode:      codes.InvalidArgument,
			wantReason:    "INVALID_REQUEST",
			wantMsg:       "invalid request: x-tenant: " + tenantBad,
			wantFields:    []*errdetails.BadRequest_FieldViolation{fv("x-tenant", tenantBad)},
		},
		{
			name:       "x-tenant over 253 characters",
			md:         []string{"authorization", "Bearer tok", "x-tenant", tooLong},
			resellerID: testResellerID,
			wantCode:   codes.InvalidArgument,
			wantReason: "INVALID_REQUEST",
			wantMsg:    "invalid request: x-tenant: " + tenantBad,
			wantFields: []*errdetails.BadRequest_FieldViolation{fv("x-tenant", tenantBad)},
		},
		{
			name:       "x-tenant twice",
			md:         []string{"authorization", "Bearer tok", "x-tenant", "a.example.com", "x-tenant", "b.example.com"},
			resellerID: testResellerID,
			wantCode:   codes.InvalidArgument,
			wantReason: "INVALID_REQUEST",
			wantMsg:    "invalid request: x-tenant: " + tenantTwice,
			wantFields: []*errdetails.BadRequest_FieldViolation{fv("x-tenant", tenantTwice)},
		},
		{
			name:       "x-correlation-id twice",
			md:         []string{"authorization", "Bearer tok", "x-tenant", "portal.cloudcockpit.com", "x-correlation-id", testCorrelationID, "x-correlation-id", testCorrelationID},
			resellerID: testResellerID,
			wantCode:   codes.InvalidArgument,
			wantReason: "INVALID_REQUEST",
			wantMsg:    "invalid request: x-correlation-id: " + cidNotUUID,
			wantFields: []*errdetails.BadRequest_FieldViolation{fv("x-correlation-id", cidNotUUID)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := newConfig([]Option{WithDefaultTenant(tt.defaultTenant)})
			_, c, err := begin(beginCtx(t, tt.md...), apierr.OpGetReseller, cfg, &pb.GetResellerRequest{ResellerId: tt.resellerID})
			if err == nil {
				t.Fatal("begin() error = nil, want a status")
			}
			cid := c.info.CorrelationID
			if !correlation.IsUUID(cid) || cid == "nope" || cid == "not-a-uuid" {
				t.Errorf("call correlation id = %q, want a generated UUID", cid)
			}
			// the status carries the generated id, never the rejected one
			want := wantStatus{code: tt.wantCode, msg: tt.wantMsg, details: details(tt.wantReason, apierr.OpGetReseller, cid, nil)}
			if tt.wantFields != nil {
				want.details = append(want.details, &errdetails.BadRequest{FieldViolations: tt.wantFields})
			}
			checkStatus(t, err, want)
			info := checkErrorShape(t, err, cid)
			if _, ok := info.GetMetadata()["upstreamHttpStatus"]; ok {
				t.Error("a local error's ErrorInfo has upstreamHttpStatus")
			}
		})
	}
}

func TestViolationsRequest(t *testing.T) {
	fv := func(field, description string) *errdetails.BadRequest_FieldViolation {
		return &errdetails.BadRequest_FieldViolation{Field: field, Description: description}
	}
	const (
		uuidRequired = "required: a UUID such as 11111111-1111-4111-8111-111111111111"
		notUUID      = "must be a UUID (8-4-4-4-12 hexadecimal digits)"
		// reseller_id of GetAcceptanceLink is optional: sent empty, it is
		// not a UUID, and the caller must not read that it is required.
		emptyOptional = "must be a UUID (8-4-4-4-12 hexadecimal digits) when sent: leave it out rather than empty"
	)
	empty, bad, upper := "", "nope", strings.ToUpper(testResellerID)
	tests := []struct {
		name string
		req  proto.Message
		want []*errdetails.BadRequest_FieldViolation
	}{
		{name: "reseller", req: &pb.GetResellerRequest{ResellerId: testResellerID}},
		{name: "reseller upper case", req: &pb.GetResellerRequest{ResellerId: upper}},
		{name: "reseller missing", req: &pb.GetResellerRequest{}, want: []*errdetails.BadRequest_FieldViolation{fv("reseller_id", uuidRequired)}},
		{name: "reseller malformed", req: &pb.GetResellerRequest{ResellerId: "{" + testResellerID + "}"}, want: []*errdetails.BadRequest_FieldViolation{fv("reseller_id", notUUID)}},
		{name: "link without reseller", req: &pb.GetAcceptanceLinkRequest{ProviderInstanceId: testResellerID}},
		{name: "link with reseller", req: &pb.GetAcceptanceLinkRequest{ProviderInstanceId: testResellerID, ResellerId: &upper}},
		{name: "link missing provider", req: &pb.GetAcceptanceLinkRequest{}, want: []*errdetails.BadRequest_FieldViolation{fv("provider_instance_id", uuidRequired)}},
		{name: "link empty reseller", req: &pb.GetAcceptanceLinkRequest{ProviderInstanceId: testResellerID, ResellerId: &empty},
			want: []*errdetails.BadRequest_FieldViolation{fv("reseller_id", emptyOptional)}},
		{name: "link empty provider and reseller", req: &pb.GetAcceptanceLinkRequest{ResellerId: &empty},
			want: []*errdetails.BadRequest_FieldViolation{fv("provider_instance_id", uuidRequired), fv("reseller_id", emptyOptional)}},
		{name: "link both malformed", req: &pb.GetAcceptanceLinkRequest{ProviderInstanceId: bad, ResellerId: &bad},
			want: []*errdetails.BadRequest_FieldViolation{fv("provider_instance_id", notUUID), fv("reseller_id", notUUID)}},
		{name: "nil", req: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v violations
			v.request(tt.req)
			if diff := gocmp.Diff(tt.want, []*errdetails.BadRequest_FieldViolation(v), protocmp.Transform()); diff != "" {
				t.Errorf("violations mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRequestRulesCompile checks that the buf.validate rules of every
// method's request compile, so that violations.request never panics.
func TestRequestRulesCompile(t *testing.T) {
	for _, fd := range []protoreflect.FileDescriptor{pb.File_cloudcockpit_v1_reseller_service_proto, pb.File_cloudcockpit_v1_customer_service_proto} {
		for i := range fd.Services().Len() {
			methods := fd.Services().Get(i).Methods()
			for j := range methods.Len() {
				in := methods.Get(j).Input()
				mt, err := protoregistry.GlobalTypes.FindMessageByName(in.FullName())
				if err != nil {
					t.Fatal(err)
				}
				var ve *protovalidate.ValidationError
				if err := protovalidate.Validate(mt.New().Interface()); err != nil && !errors.As(err, &ve) {
					t.Errorf("rules of %s: %v", in.FullName(), err)
				}
			}
		}
	}
}
