package service

import (
	"cmp"
	"context"
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
)

// toStatus is the one place where an upstream client error becomes a gRPC
// status: code, reason and message from its kind (rest.Error.Status), and
// details that keep what the upstream said, never its raw body, and nothing
// on 401 and 403 (authentication stacks quote the credentials they refuse).
// A NOT_FOUND names resellerID in ResourceInfo when it is not empty.
func toStatus(ctx context.Context, c *call, err error, resellerID string) error {
	e := rest.AsError(ctx, err)
	code, reason, msg := e.Status()
	meta := map[string]string{apierr.MetaOperation: c.op, apierr.MetaCorrelationID: c.info.CorrelationID}
	var details []protoadapt.MessageV1
	if e.Attempts > 1 {
		meta[apierr.MetaUpstreamAttempts] = strconv.Itoa(e.Attempts)
	}
	if e.Cause != "" {
		meta[apierr.MetaCause] = string(e.Cause)
	}
	if e.Kind == rest.KindAnswered {
		meta[apierr.MetaUpstreamHTTPStatus] = strconv.Itoa(e.StatusCode)
		if env := e.Envelope; env != nil && e.StatusCode != http.StatusUnauthorized && e.StatusCode != http.StatusForbidden {
			r := apierr.NewRedactor(c.info.Authorization)
			msg = cmp.Or(cleanText(r, env.Description), msg)
			if env.StatusCode != 0 && env.StatusCode != e.StatusCode {
				meta[apierr.MetaUpstreamStatusCode] = strconv.Itoa(env.StatusCode)
			}
			if t := cleanText(r, env.Type); t != "" {
				meta[apierr.MetaUpstreamType] = apierr.Truncate(t, 128)
			}
			if id := cleanText(r, env.CorrelationID); id != "" && id != c.info.CorrelationID {
				meta[apierr.MetaUpstreamCorrelationID] = apierr.Truncate(id, 128)
			}
			if br := envelopeBadRequest(r, env, msg); br != nil {
				details = append(details, br)
			}
		}
		if code == codes.NotFound && resellerID != "" {
			details = append(details, &errdetails.ResourceInfo{ResourceType: string(proto.MessageName(&pb.Reseller{})), ResourceName: resellerID, Description: msg})
		}
	}
	if e.HasRetryAfter && (code == codes.ResourceExhausted || code == codes.Unavailable) {
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(e.RetryAfter)})
	}
	return apierr.New(apierr.Spec{
		Code: code, Message: msg, Reason: reason, Metadata: meta, RequestID: c.info.CorrelationID,
		Details: details, Authorization: c.info.Authorization,
	}).Err()
}

// envelopeBadRequest turns the envelope's errors[] into field violations: the
// upstream property name as the field, one violation per description.
// apierr.New keeps the first apierr.MaxFieldViolations of them.
func envelopeBadRequest(r apierr.Redactor, env *rest.Envelope, fallback string) *errdetails.BadRequest {
	var fvs []*errdetails.BadRequest_FieldViolation
	for _, e := range env.Errors {
		descriptions := e.Description
		if len(descriptions) == 0 {
			descriptions = []string{fallback}
		}
		for _, d := range descriptions {
			fv := new(errdetails.BadRequest_FieldViolation) // past those Bound keeps, only counted: not cleaned
			if len(fvs) < apierr.MaxFieldViolations {
				fv.Field, fv.Description = apierr.Truncate(cleanText(r, e.PropertyName), 256), cleanText(r, d)
			}
			fvs = append(fvs, fv)
		}
	}
	if len(fvs) == 0 {
		return nil
	}
	return &errdetails.BadRequest{FieldViolations: fvs}
}

// cleanText makes upstream text safe to show: it loses the caller's token
// (redact, first: it looks through format characters, not through the
// spaces they become), control and format characters (bidi overrides,
// zero-width marks) become spaces, and it is trimmed and cut to
// apierr.MaxMessageBytes. Only a start that can reach those bytes is redacted
// (a rune stays a byte at least): an upstream may send a megabyte of text.
func cleanText(redact apierr.Redactor, s string) string {
	s = strings.TrimLeftFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) })
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) { // and bidi overrides, zero-width marks
			return ' '
		}
		return r
	}, redact.String(apierr.Truncate(s, 4*(apierr.MaxMessageBytes+apierr.MinSecretRun))))
	return apierr.Truncate(strings.TrimSpace(s), apierr.MaxMessageBytes)
}
