package service

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
)

// Operation names, as they appear in ErrorInfo metadata and logs.
const (
	opGetReseller       = "GetReseller"
	opGetAcceptanceLink = "GetAcceptanceLink"
)

// resourceReseller is the ResourceInfo type of a reseller.
const resourceReseller = "cloudcockpit.v1.Reseller"

// resource names what a call asked for, for google.rpc.ResourceInfo on
// NOT_FOUND.
type resource struct{ kind, name string }

// httpMapping is one row of the upstream HTTP status → gRPC table.
type httpMapping struct {
	code   codes.Code
	reason string
}

// upstreamStatuses is the error table of ARCHITECTURE.md; statuses not in it
// fall back by class in mapHTTPStatus.
var upstreamStatuses = map[int]httpMapping{
	http.StatusBadRequest:          {codes.InvalidArgument, apierr.ReasonUpstreamBadRequest},
	http.StatusUnauthorized:        {codes.Unauthenticated, apierr.ReasonUpstreamUnauthorized},
	http.StatusForbidden:           {codes.PermissionDenied, apierr.ReasonUpstreamForbidden},
	http.StatusNotFound:            {codes.NotFound, apierr.ReasonUpstreamNotFound},
	http.StatusConflict:            {codes.Aborted, apierr.ReasonUpstreamConflict},
	http.StatusPreconditionFailed:  {codes.FailedPrecondition, apierr.ReasonUpstreamPrecondition},
	http.StatusTooManyRequests:     {codes.ResourceExhausted, apierr.ReasonUpstreamRateLimited},
	499:                            {codes.Canceled, apierr.ReasonUpstreamCancelled},
	http.StatusInternalServerError: {codes.Internal, apierr.ReasonUpstreamInternal},
	http.StatusNotImplemented:      {codes.Unimplemented, apierr.ReasonUpstreamNotImplemented},
	http.StatusBadGateway:          {codes.Unavailable, apierr.ReasonUpstreamUnavailable},
	http.StatusServiceUnavailable:  {codes.Unavailable, apierr.ReasonUpstreamUnavailable},
	http.StatusGatewayTimeout:      {codes.DeadlineExceeded, apierr.ReasonUpstreamTimeout},
}

// mapHTTPStatus maps an upstream HTTP status to a gRPC code and reason.
func mapHTTPStatus(httpStatus int) (codes.Code, string) {
	if m, ok := upstreamStatuses[httpStatus]; ok {
		return m.code, m.reason
	}
	if httpStatus >= 400 && httpStatus < 500 {
		return codes.FailedPrecondition, apierr.ReasonUpstreamClientError
	}
	return codes.Internal, apierr.ReasonUpstreamServerError
}

// toStatus is the one place where an upstream client error becomes a gRPC
// status: the code from the table, the upstream description as the message,
// and details that keep everything the upstream said without echoing its raw
// body. On 401 and 403 nothing the upstream wrote is kept: authentication
// stacks quote the credentials they refuse. Whatever the upstream wrote
// elsewhere loses every piece of the caller's token (apierr.Spec's
// Authorization).
func toStatus(ctx context.Context, c *call, err error, res *resource) error {
	meta := map[string]string{apierr.MetaOperation: c.op, apierr.MetaCorrelationID: c.correlationID}
	var details []protoadapt.MessageV1

	var code codes.Code
	var reason, msg string
	var restErr *rest.Error
	var decodeErr *rest.DecodeError
	var tooLarge *rest.BodyTooLargeError
	var circuitOpen *rest.CircuitOpenError
	var overLimit *rest.ConcurrencyLimitError
	var mismatch *mismatchedAnswerError
	if n := rest.Attempts(err); n > 1 {
		meta[apierr.MetaUpstreamAttempts] = strconv.Itoa(n)
	}
	switch {
	case errors.As(err, &restErr):
		code, reason = mapHTTPStatus(restErr.StatusCode)
		meta[apierr.MetaUpstreamHTTPStatus] = strconv.Itoa(restErr.StatusCode)
		msg = strings.TrimSpace("upstream answered " + strconv.Itoa(restErr.StatusCode) + " " + http.StatusText(restErr.StatusCode))
		if env := restErr.Envelope; env != nil && !refusesCredentials(restErr.StatusCode) {
			if d := cleanText(env.Description); d != "" {
				msg = d
			}
			if env.StatusCode != 0 && env.StatusCode != restErr.StatusCode {
				meta[apierr.MetaUpstreamStatusCode] = strconv.Itoa(env.StatusCode)
			}
			if t := cleanText(env.Type); t != "" {
				meta[apierr.MetaUpstreamType] = truncate(t, 128)
			}
			if id := cleanText(env.CorrelationID); id != "" && id != c.correlationID {
				meta[apierr.MetaUpstreamCorrelationID] = truncate(id, 128)
			}
			if br := envelopeBadRequest(env, msg); br != nil {
				details = append(details, br)
			}
		}
		if restErr.HasRetryAfter && (code == codes.ResourceExhausted || code == codes.Unavailable) {
			details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(restErr.RetryAfter)})
		}
		if code == codes.NotFound && res != nil {
			details = append(details, &errdetails.ResourceInfo{ResourceType: res.kind, ResourceName: res.name, Description: msg})
		}
	case errors.As(err, &mismatch):
		code, reason, msg = codes.Unavailable, apierr.ReasonUpstreamMismatch, "the upstream answered about another resource than the one asked for"
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.Canceled):
		code, reason, msg = codes.Canceled, apierr.ReasonCancelled, "the call was cancelled by the caller"
	case ctx.Err() != nil:
		code, reason, msg = codes.DeadlineExceeded, apierr.ReasonDeadlineExceeded, "the call's deadline passed before the upstream answered"
	case errors.As(err, &circuitOpen):
		code, reason, msg = codes.Unavailable, apierr.ReasonCircuitOpen, "the upstream is failing: calls are refused for a while (circuit breaker open)"
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(circuitOpen.RetryAfter)})
	case errors.As(err, &overLimit):
		code, reason, msg = codes.ResourceExhausted, apierr.ReasonTooManyUpstreamRequests, "too many concurrent upstream requests: try again later"
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(overLimit.RetryAfter)})
	case errors.Is(err, rest.ErrInvalidRequest):
		// Validation should have caught it; the client refuses to build an
		// unsafe request rather than send it.
		code, reason, msg = codes.InvalidArgument, apierr.ReasonInvalidRequest, "invalid request: an argument cannot be sent upstream safely"
	case errors.As(err, &tooLarge):
		code, reason, msg = codes.Internal, apierr.ReasonUpstreamTooLarge, "the upstream response is larger than the configured limit"
	case errors.As(err, &decodeErr):
		code, reason, msg = codes.Internal, apierr.ReasonUpstreamBadResponse, "the upstream response could not be decoded"
	default:
		// No answer: the category only, never the error's text, which
		// names hosts and addresses.
		cause := rest.CauseOf(err)
		meta[apierr.MetaCause] = string(cause)
		if cause == rest.CauseTimeout {
			code, reason, msg = codes.DeadlineExceeded, apierr.ReasonUpstreamTimeout, "the upstream did not answer in time"
		} else {
			code, reason, msg = codes.Unavailable, apierr.ReasonUpstreamUnreachable, "the upstream could not be reached ("+causeText[cause]+")"
		}
	}
	return apierr.New(apierr.Spec{
		Code: code, Message: msg, Reason: reason, Metadata: meta, RequestID: c.correlationID,
		Details: details, Authorization: c.info.Authorization,
	}).Err()
}

// causeText words each connection failure category for status messages.
var causeText = map[rest.Cause]string{
	rest.CauseDNS:     "its host name does not resolve",
	rest.CauseRefused: "connection refused",
	rest.CauseReset:   "connection reset",
	rest.CauseClosed:  "connection closed without an answer",
	rest.CauseTLS:     "TLS handshake failed",
	rest.CauseTimeout: "timed out",
	rest.CauseNetwork: "network error",
}

// refusesCredentials reports whether an upstream status refuses the
// caller's credentials; such answers' text is never passed on.
func refusesCredentials(httpStatus int) bool {
	return httpStatus == http.StatusUnauthorized || httpStatus == http.StatusForbidden
}

// localStatus builds the status of a call rejected before any upstream
// request; its ErrorInfo has no upstream status.
func localStatus(c *call, code codes.Code, reason, msg string, fields []*errdetails.BadRequest_FieldViolation) error {
	var details []protoadapt.MessageV1
	if len(fields) > 0 {
		details = append(details, &errdetails.BadRequest{FieldViolations: fields})
	}
	meta := map[string]string{apierr.MetaOperation: c.op, apierr.MetaCorrelationID: c.correlationID}
	return apierr.New(apierr.Spec{Code: code, Message: msg, Reason: reason, Metadata: meta, RequestID: c.correlationID, Details: details}).Err()
}

// envelopeBadRequest turns the envelope's errors[] into field violations: the
// upstream property name as the field, one violation per description.
// apierr.New keeps the first apierr.MaxFieldViolations of them.
func envelopeBadRequest(env *rest.Envelope, fallback string) *errdetails.BadRequest {
	var fvs []*errdetails.BadRequest_FieldViolation
	for _, e := range env.Errors {
		field := truncate(cleanText(e.PropertyName), 256)
		if len(e.Description) == 0 {
			fvs = append(fvs, &errdetails.BadRequest_FieldViolation{Field: field, Description: fallback})
			continue
		}
		for _, d := range e.Description {
			fvs = append(fvs, &errdetails.BadRequest_FieldViolation{Field: field, Description: cleanText(d)})
		}
	}
	if len(fvs) == 0 {
		return nil
	}
	return &errdetails.BadRequest{FieldViolations: fvs}
}

// cleanText makes upstream text safe to show: control characters become
// spaces, surrounding space is trimmed, and it is cut to
// apierr.MaxMessageBytes.
func cleanText(s string) string {
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		s = strings.Map(func(r rune) rune {
			if unicode.IsControl(r) {
				return ' '
			}
			return r
		}, s)
	}
	return truncate(strings.TrimSpace(s), apierr.MaxMessageBytes)
}
