package service

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"buf.build/go/protovalidate"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/proto"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/correlation"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/tlsconfig"
)

// maxTokenLen limits the token a caller may send; a longer one is rejected locally.
const maxTokenLen = 16 << 10 // a Microsoft Entra JWT is 1-3 KiB; 16 KiB leaves room for large claim sets

// call is what a validated call forwards upstream and reports in errors.
type call struct {
	op   string
	info rest.CallInfo
}

// warn logs something odd in the upstream's answer to c; value, from the
// answer, is cut to 256 bytes and loses every piece of the caller's token.
func (c *call) warn(ctx context.Context, l *slog.Logger, msg, key, value string, attrs ...slog.Attr) {
	value = apierr.NewRedactor(c.info.Authorization).String(apierr.Truncate(value, 256))
	attrs = append([]slog.Attr{slog.String("operation", c.op)}, attrs...)
	l.LogAttrs(ctx, slog.LevelWarn, msg, append(attrs, slog.String(key, value), slog.String("correlation_id", c.info.CorrelationID))...)
}

// begin establishes the call's correlation id and validates its credentials
// (UNAUTHENTICATED first), tenant and request fields (req's buf.validate
// rules; nil checks none), every violation in one INVALID_ARGUMENT
// (docs/errors.md). Nothing goes upstream when begin returns an error.
func begin(ctx context.Context, op string, cfg config, req proto.Message) (context.Context, *call, error) {
	ctx, cid := correlation.Ensure(ctx)
	c := &call{op: op, info: rest.CallInfo{CorrelationID: cid.Value, Caller: CallerIdentity(ctx)}}
	md := func(key string) []string { return metadata.ValueFromIncomingContext(ctx, key) } // no copy of the rest

	auth, reason, problem := bearer(md(apierr.MDAuthorization))
	if problem != "" {
		return ctx, c, apierr.Local(codes.Unauthenticated, problem, reason, op, cid.Value).Err()
	}
	c.info.Authorization = auth
	c.info.Traceparent, c.info.Tracestate = traceContext(md)

	var v violations
	c.info.Tenant = v.tenant(md(apierr.MDTenant), cfg.defaultTenant)
	if cid.Rejected != "" {
		v.add(apierr.MDCorrelationID, apierr.BadCorrelationID)
	}
	v.request(req)
	if len(v) > 0 {
		slices.SortStableFunc(v, func(a, b *errdetails.BadRequest_FieldViolation) int { return strings.Compare(a.Field, b.Field) })
		msg := apierr.InvalidMessage("request", v)
		return ctx, c, apierr.Local(codes.InvalidArgument, msg, apierr.ReasonInvalidRequest, op, cid.Value, &errdetails.BadRequest{FieldViolations: v}).Err()
	}
	return ctx, c, nil
}

// CallerIdentity returns the identity of the client's verified certificate
// (mutual TLS, see tlsconfig.ClientIdentity); "" when the call came without
// one. It reads the gRPC peer, which the gRPC server fills on both ports
// (already in the tap handle) and gateway.New for the REST mirror.
func CallerIdentity(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok {
		if info, ok := p.AuthInfo.(credentials.TLSInfo); ok {
			return tlsconfig.ClientIdentity(&info.State)
		}
	}
	return ""
}

// traceContext returns the caller's W3C trace context to forward, as
// OpenTelemetry's propagator reads it: empty when absent, repeated or
// malformed. Without one traceparent there is nothing to parse.
func traceContext(md func(key string) []string) (traceparent, tracestate string) {
	if len(md(apierr.MDTraceparent)) != 1 {
		return "", ""
	}
	in, out := propagation.MapCarrier{}, propagation.MapCarrier{}
	for _, k := range [...]string{apierr.MDTraceparent, apierr.MDTracestate} {
		if v := md(k); len(v) == 1 {
			in[k] = v[0]
		}
	}
	var tc propagation.TraceContext
	tc.Inject(tc.Extract(context.Background(), in), out)
	return out[apierr.MDTraceparent], out[apierr.MDTracestate]
}

// bearer checks the authorization metadata: one `Bearer <token>` value, its
// token printable ASCII. It returns the value to forward, or an ErrorInfo
// reason and a message that never contains the value.
func bearer(vals []string) (value, reason, problem string) {
	switch {
	case len(vals) == 0 || (len(vals) == 1 && strings.TrimSpace(vals[0]) == ""):
		return "", apierr.ReasonMissingCredentials, "missing credentials: send `authorization: Bearer <token>` metadata"
	case len(vals) > 1:
		return "", apierr.ReasonMalformedCredentials, "malformed credentials: `authorization` must be sent once"
	}
	scheme, token, ok := strings.Cut(vals[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", apierr.ReasonMalformedCredentials, "malformed credentials: `authorization` must be `Bearer <token>`"
	}
	if len(token) > maxTokenLen {
		return "", apierr.ReasonMalformedCredentials, "malformed credentials: the bearer token is longer than 16 KiB"
	}
	if strings.ContainsFunc(token, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
		return "", apierr.ReasonMalformedCredentials, "malformed credentials: the bearer token holds spaces or control characters"
	}
	return vals[0], "", ""
}

// violations collects what is wrong with a call, field by field.
type violations []*errdetails.BadRequest_FieldViolation

func (v *violations) add(field, description string) {
	*v = append(*v, &errdetails.BadRequest_FieldViolation{Field: field, Description: description})
}

// ruleDescriptions describe the requests' protovalidate rules by rule id
// (every required field is a UUID); others keep protovalidate's message.
// An empty required field breaks "required"; "string.uuid_empty" is left
// for an optional field sent empty (GetAcceptanceLink's reseller_id), which
// must not read as required.
var ruleDescriptions = map[string]string{
	"required":          "required: a UUID such as 11111111-1111-4111-8111-111111111111",
	"string.uuid_empty": "must be a UUID (8-4-4-4-12 hexadecimal digits) when sent: leave it out rather than empty",
	"string.uuid":       "must be a UUID (8-4-4-4-12 hexadecimal digits)",
}

// request checks req against its buf.validate rules, one violation per
// broken rule. Rules that do not compile are a defect of the contract
// (TestRequestRulesCompile): it panics.
func (v *violations) request(req proto.Message) {
	err := protovalidate.Validate(req)
	if ve, ok := errors.AsType[*protovalidate.ValidationError](err); ok {
		for _, pv := range ve.Violations {
			v.add(protovalidate.FieldPathString(pv.Proto.GetField()), cmp.Or(ruleDescriptions[pv.Proto.GetRuleId()], pv.Proto.GetMessage()))
		}
	} else if err != nil {
		panic(fmt.Sprintf("buf.validate rules of %T: %v", req, err))
	}
}

// tenant checks the x-tenant metadata (or the default tenant when there is
// none) and returns the value to forward.
func (v *violations) tenant(vals []string, fallback string) string {
	switch {
	case len(vals) > 1:
		v.add(apierr.MDTenant, "must be sent once")
		return ""
	case len(vals) == 0 || vals[0] == "":
		if fallback == "" {
			v.add(apierr.MDTenant, "required: the portal domain of the tenant, such as portal.cloudcockpit.com")
		}
		return fallback
	case !rest.IsDomainName(vals[0]):
		v.add(apierr.MDTenant, "must be a domain name such as portal.cloudcockpit.com (letters, digits, hyphens and dots, at most 253 characters)")
		return ""
	}
	return vals[0]
}
