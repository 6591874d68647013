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
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
)

// ErrorDomain is the google.rpc.ErrorInfo domain of every error this service
// returns.
const ErrorDomain = "cloudcockpit-facade"

// Operation names, as they appear in ErrorInfo metadata and logs.
const (
	opGetReseller       = "GetReseller"
	opGetAcceptanceLink = "GetAcceptanceLink"
)

// ErrorInfo reasons. Each names one cause; the README lists them.
const (
	reasonInvalidRequest       = "INVALID_REQUEST"
	reasonMissingCredentials   = "MISSING_CREDENTIALS"
	reasonMalformedCredentials = "MALFORMED_CREDENTIALS" //nolint:gosec // G101: an error reason, not a credential

	reasonUpstreamBadRequest     = "UPSTREAM_BAD_REQUEST"
	reasonUpstreamUnauthorized   = "UPSTREAM_UNAUTHENTICATED"
	reasonUpstreamForbidden      = "UPSTREAM_PERMISSION_DENIED"
	reasonUpstreamNotFound       = "UPSTREAM_NOT_FOUND"
	reasonUpstreamConflict       = "UPSTREAM_CONFLICT"
	reasonUpstreamPrecondition   = "UPSTREAM_PRECONDITION_FAILED"
	reasonUpstreamRateLimited    = "UPSTREAM_RATE_LIMITED"
	reasonUpstreamCancelled      = "UPSTREAM_CANCELLED"
	reasonUpstreamInternal       = "UPSTREAM_INTERNAL_ERROR"
	reasonUpstreamNotImplemented = "UPSTREAM_NOT_IMPLEMENTED"
	reasonUpstreamUnavailable    = "UPSTREAM_UNAVAILABLE"
	reasonUpstreamTimeout        = "UPSTREAM_TIMEOUT"
	reasonUpstreamClientError    = "UPSTREAM_CLIENT_ERROR"
	reasonUpstreamServerError    = "UPSTREAM_SERVER_ERROR"
	reasonUpstreamUnreachable    = "UPSTREAM_UNREACHABLE"
	reasonUpstreamBadResponse    = "UPSTREAM_BAD_RESPONSE"
	reasonUpstreamTooLarge       = "UPSTREAM_RESPONSE_TOO_LARGE"
	reasonUpstreamMismatch       = "UPSTREAM_ANSWER_MISMATCH"
	reasonDeadlineExceeded       = "DEADLINE_EXCEEDED"
	reasonCancelled              = "CANCELLED"

	// Refused locally by the upstream client's protections.
	reasonCircuitOpen             = "CIRCUIT_OPEN"
	reasonTooManyUpstreamRequests = "TOO_MANY_UPSTREAM_REQUESTS"
)

// ErrorInfo metadata keys (camelCase, as google.rpc.ErrorInfo asks).
const (
	metaOperation             = "operation"
	metaCorrelationID         = "correlationId"
	metaUpstreamHTTPStatus    = "upstreamHttpStatus"
	metaUpstreamStatusCode    = "upstreamStatusCode"
	metaUpstreamType          = "upstreamType"
	metaUpstreamCorrelationID = "upstreamCorrelationId"
	metaUpstreamAttempts      = "upstreamAttempts"
)

// maxMessageLen bounds the upstream description copied into a status message.
const maxMessageLen = 1024

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
	http.StatusBadRequest:          {codes.InvalidArgument, reasonUpstreamBadRequest},
	http.StatusUnauthorized:        {codes.Unauthenticated, reasonUpstreamUnauthorized},
	http.StatusForbidden:           {codes.PermissionDenied, reasonUpstreamForbidden},
	http.StatusNotFound:            {codes.NotFound, reasonUpstreamNotFound},
	http.StatusConflict:            {codes.Aborted, reasonUpstreamConflict},
	http.StatusPreconditionFailed:  {codes.FailedPrecondition, reasonUpstreamPrecondition},
	http.StatusTooManyRequests:     {codes.ResourceExhausted, reasonUpstreamRateLimited},
	499:                            {codes.Canceled, reasonUpstreamCancelled},
	http.StatusInternalServerError: {codes.Internal, reasonUpstreamInternal},
	http.StatusNotImplemented:      {codes.Unimplemented, reasonUpstreamNotImplemented},
	http.StatusBadGateway:          {codes.Unavailable, reasonUpstreamUnavailable},
	http.StatusServiceUnavailable:  {codes.Unavailable, reasonUpstreamUnavailable},
	http.StatusGatewayTimeout:      {codes.DeadlineExceeded, reasonUpstreamTimeout},
}

// mapHTTPStatus maps an upstream HTTP status to a gRPC code and reason.
func mapHTTPStatus(httpStatus int) (codes.Code, string) {
	if m, ok := upstreamStatuses[httpStatus]; ok {
		return m.code, m.reason
	}
	if httpStatus >= 400 && httpStatus < 500 {
		return codes.FailedPrecondition, reasonUpstreamClientError
	}
	return codes.Internal, reasonUpstreamServerError
}

// toStatus is the one place where an upstream client error becomes a gRPC
// status: the code from the table, the upstream description as the message,
// and details that keep everything the upstream said without echoing its raw
// body.
func toStatus(ctx context.Context, c *call, err error, res *resource) error {
	meta := map[string]string{metaOperation: c.op, metaCorrelationID: c.correlationID}
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
		meta[metaUpstreamAttempts] = strconv.Itoa(n)
	}
	switch {
	case errors.As(err, &restErr):
		code, reason = mapHTTPStatus(restErr.StatusCode)
		meta[metaUpstreamHTTPStatus] = strconv.Itoa(restErr.StatusCode)
		msg = strings.TrimSpace("upstream answered " + strconv.Itoa(restErr.StatusCode) + " " + http.StatusText(restErr.StatusCode))
		if env := restErr.Envelope; env != nil {
			cleanText := upstreamText(c.info.Authorization)
			if d := cleanText(env.Description); d != "" {
				msg = d
			}
			if env.StatusCode != 0 && env.StatusCode != restErr.StatusCode {
				meta[metaUpstreamStatusCode] = strconv.Itoa(env.StatusCode)
			}
			if t := cleanText(env.Type); t != "" {
				meta[metaUpstreamType] = truncate(t, 128)
			}
			if id := cleanText(env.CorrelationID); id != "" && id != c.correlationID {
				meta[metaUpstreamCorrelationID] = truncate(id, 128)
			}
			if br := envelopeBadRequest(env, msg, cleanText); br != nil {
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
		code, reason, msg = codes.Unavailable, reasonUpstreamMismatch, "the upstream answered about another resource than the one asked for"
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.Canceled):
		code, reason, msg = codes.Canceled, reasonCancelled, "the call was cancelled by the caller"
	case ctx.Err() != nil:
		code, reason, msg = codes.DeadlineExceeded, reasonDeadlineExceeded, "the call's deadline passed before the upstream answered"
	case errors.As(err, &circuitOpen):
		code, reason, msg = codes.Unavailable, reasonCircuitOpen, "the upstream is failing: calls are refused for a while (circuit breaker open)"
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(circuitOpen.RetryAfter)})
	case errors.As(err, &overLimit):
		code, reason, msg = codes.ResourceExhausted, reasonTooManyUpstreamRequests, "too many concurrent upstream requests: try again later"
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(overLimit.RetryAfter)})
	case errors.Is(err, rest.ErrAttemptTimeout):
		code, reason, msg = codes.DeadlineExceeded, reasonUpstreamTimeout, "the upstream did not answer in time"
	case errors.Is(err, rest.ErrInvalidRequest):
		// Validation should have caught it; the client refuses to build an
		// unsafe request rather than send it.
		code, reason, msg = codes.InvalidArgument, reasonInvalidRequest, "invalid request: an argument cannot be sent upstream safely"
	case errors.As(err, &tooLarge):
		code, reason, msg = codes.Internal, reasonUpstreamTooLarge, "the upstream response is larger than the configured limit"
	case errors.As(err, &decodeErr):
		code, reason, msg = codes.Internal, reasonUpstreamBadResponse, "the upstream response could not be decoded"
	case errors.Is(err, context.DeadlineExceeded):
		code, reason, msg = codes.DeadlineExceeded, reasonUpstreamTimeout, "the upstream did not answer in time"
	default:
		code, reason, msg = codes.Unavailable, reasonUpstreamUnreachable, "the upstream could not be reached"
	}
	return newStatus(code, msg, reason, meta, c.correlationID, details)
}

// localStatus builds the status of a call rejected before any upstream
// request; its ErrorInfo has no upstream status.
func localStatus(c *call, code codes.Code, reason, msg string, fields []*errdetails.BadRequest_FieldViolation) error {
	var details []protoadapt.MessageV1
	if len(fields) > 0 {
		details = append(details, &errdetails.BadRequest{FieldViolations: fields})
	}
	meta := map[string]string{metaOperation: c.op, metaCorrelationID: c.correlationID}
	return newStatus(code, msg, reason, meta, c.correlationID, details)
}

// newStatus assembles a status with exactly one ErrorInfo and one RequestInfo
// in front of the other details.
func newStatus(code codes.Code, msg, reason string, meta map[string]string, correlationID string, extra []protoadapt.MessageV1) error {
	st := status.New(code, msg)
	details := make([]protoadapt.MessageV1, 0, 2+len(extra))
	details = append(details,
		&errdetails.ErrorInfo{Reason: reason, Domain: ErrorDomain, Metadata: meta},
		&errdetails.RequestInfo{RequestId: correlationID},
	)
	details = append(details, extra...)
	withDetails, err := st.WithDetails(details...)
	if err != nil {
		return st.Err()
	}
	return withDetails.Err()
}

// envelopeBadRequest turns the envelope's errors[] into field violations: the
// upstream property name as the field, one violation per description.
func envelopeBadRequest(env *rest.Envelope, fallback string, cleanText func(string) string) *errdetails.BadRequest {
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

// redacted replaces the caller's credentials wherever the upstream quoted them.
const redacted = "[REDACTED]"

// upstreamText returns the cleaner for text the upstream wrote into an error
// envelope: cleanText, after removing the caller's bearer token (and the whole
// authorization value) should the upstream have quoted it, as some
// authentication stacks do in their error descriptions. Such text reaches the
// caller, the REST body and the access log.
func upstreamText(authorization string) func(string) string {
	_, token, _ := strings.Cut(authorization, " ")
	if len(token) < 4 {
		return cleanText
	}
	return func(s string) string {
		if strings.Contains(s, token) {
			s = strings.ReplaceAll(s, authorization, redacted)
			s = strings.ReplaceAll(s, token, redacted)
		}
		return cleanText(s)
	}
}

// cleanText makes upstream text safe to show: control characters become
// spaces, surrounding space is trimmed, and it is cut to maxMessageLen.
func cleanText(s string) string {
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		s = strings.Map(func(r rune) rune {
			if unicode.IsControl(r) {
				return ' '
			}
			return r
		}, s)
	}
	return truncate(strings.TrimSpace(s), maxMessageLen)
}
