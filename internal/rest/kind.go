package rest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"

	"google.golang.org/grpc/codes"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/resilience"
)

// Kind is how an upstream call failed (Error.Kind). The zero value,
// KindNone, is the kind of no error. The table kinds says what each kind
// means for retries, the circuit breaker and the gRPC status.
type Kind uint8

// The kinds of Error.
const (
	KindNone             Kind = iota // no error
	KindAnswered                     // a non-2xx answer: StatusCode, Envelope, RetryAfter
	KindUnreachable                  // no answer (DNS, refused, reset, TLS, ...): Cause
	KindTimeout                      // no complete answer in time (attempt timeout, Config.Timeout, a dial or read deadline)
	KindCircuitOpen                  // refused by the tenant's circuit breaker, nothing sent: RetryAfter
	KindOverLimit                    // no request slot in time, nothing sent: Limit, RetryAfter
	KindInvalid                      // no safe request can be built (a bad id, a control character), nothing sent
	KindUndecodable                  // a 2xx body that does not decode into the documented shape
	KindTooLarge                     // a 2xx body over Config.MaxBodyBytes (Limit) or maxBodyElements, or its message over the service's bound
	KindMismatch                     // a 2xx answer about another resource (set by the caller that checks it)
	KindCanceled                     // the caller cancelled the call
	KindDeadlineExceeded             // the caller's deadline passed
)

// kindInfo is what a kind means for everything that reacts to a failure.
type kindInfo struct {
	name            string             // String's value: a metric label and log value
	health          resilience.Outcome // what the call's end tells its tenant's circuit breaker
	retry           bool               // another attempt may get an answer
	code            codes.Code         // code, reason and message make the gRPC status (Error.Status)
	reason, message string
}

// kinds is the one table of what each kind means; KindAnswered's is answers.
var kinds = [...]kindInfo{
	KindNone:             {name: "ok", code: codes.OK},
	KindAnswered:         {name: "answered"},
	KindUnreachable:      {"unreachable", resilience.Failure, true, codes.Unavailable, apierr.ReasonUpstreamUnreachable, "the upstream could not be reached"},
	KindTimeout:          {"timeout", resilience.Failure, true, codes.DeadlineExceeded, apierr.ReasonUpstreamTimeout, "the upstream did not answer in time"},
	KindCircuitOpen:      {"circuit_open", resilience.Neutral, false, codes.Unavailable, apierr.ReasonCircuitOpen, "the upstream is failing: calls are refused for a while (circuit breaker open)"},
	KindOverLimit:        {"over_limit", resilience.Neutral, false, codes.ResourceExhausted, apierr.ReasonTooManyUpstreamRequests, "too many concurrent upstream requests: try again later"},
	KindInvalid:          {"invalid", resilience.Neutral, false, codes.InvalidArgument, apierr.ReasonInvalidRequest, "invalid request: an argument cannot be sent upstream safely"},
	KindUndecodable:      {"undecodable", resilience.Neutral, false, codes.Internal, apierr.ReasonUpstreamBadResponse, "the upstream response could not be decoded"},
	KindTooLarge:         {"too_large", resilience.Neutral, false, codes.Internal, apierr.ReasonUpstreamTooLarge, "the upstream response is larger than the configured limit"},
	KindMismatch:         {"mismatch", resilience.Neutral, false, codes.Unavailable, apierr.ReasonUpstreamMismatch, "the upstream answered about another resource than the one asked for"},
	KindCanceled:         {"canceled", resilience.Neutral, false, codes.Canceled, apierr.ReasonCancelled, "the call was cancelled by the caller"},
	KindDeadlineExceeded: {"deadline_exceeded", resilience.Neutral, false, codes.DeadlineExceeded, apierr.ReasonDeadlineExceeded, "the call's deadline passed before the upstream answered"},
}

// answers is KindAnswered's row for each upstream status (docs/errors.md).
var answers = map[int]kindInfo{
	http.StatusBadRequest:          {code: codes.InvalidArgument, reason: apierr.ReasonUpstreamBadRequest},
	http.StatusUnauthorized:        {code: codes.Unauthenticated, reason: apierr.ReasonUpstreamUnauthorized},
	http.StatusForbidden:           {code: codes.PermissionDenied, reason: apierr.ReasonUpstreamForbidden},
	http.StatusNotFound:            {code: codes.NotFound, reason: apierr.ReasonUpstreamNotFound},
	http.StatusConflict:            {code: codes.Aborted, reason: apierr.ReasonUpstreamConflict},
	http.StatusPreconditionFailed:  {code: codes.FailedPrecondition, reason: apierr.ReasonUpstreamPrecondition},
	http.StatusTooManyRequests:     {code: codes.ResourceExhausted, reason: apierr.ReasonUpstreamRateLimited, health: resilience.Neutral, retry: true},
	499:                            {code: codes.Canceled, reason: apierr.ReasonUpstreamCancelled},
	http.StatusInternalServerError: {code: codes.Internal, reason: apierr.ReasonUpstreamInternal},
	http.StatusNotImplemented:      {code: codes.Unimplemented, reason: apierr.ReasonUpstreamNotImplemented},
	http.StatusBadGateway:          {code: codes.Unavailable, reason: apierr.ReasonUpstreamUnavailable, health: resilience.Failure, retry: true},
	http.StatusServiceUnavailable:  {code: codes.Unavailable, reason: apierr.ReasonUpstreamUnavailable, health: resilience.Failure, retry: true},
	http.StatusGatewayTimeout:      {code: codes.DeadlineExceeded, reason: apierr.ReasonUpstreamTimeout, health: resilience.Failure, retry: true},
}

// String returns the kind's name, a bounded metric label and log value.
func (k Kind) String() string {
	if int(k) < len(kinds) {
		return kinds[k].name
	}
	return "unknown"
}

// info is e's row of kinds or, for an answer, of answers, else its status
// class's fallback.
func (e *Error) info() kindInfo {
	if e.Kind != KindAnswered {
		return kinds[e.Kind]
	}
	if a, ok := answers[e.StatusCode]; ok {
		return a
	}
	if e.StatusCode >= 400 && e.StatusCode < 500 {
		return kindInfo{code: codes.FailedPrecondition, reason: apierr.ReasonUpstreamClientError}
	}
	return kindInfo{code: codes.Internal, reason: apierr.ReasonUpstreamServerError}
}

// retryable reports whether another attempt may succeed; a certificate that
// does not verify is a failure no retry fixes.
func (e *Error) retryable() bool {
	_, certErr := errors.AsType[*tls.CertificateVerificationError](e.Err)
	return e.info().retry && !certErr
}

// Status returns the gRPC code, the google.rpc.ErrorInfo reason and the
// status message that e maps to (docs/errors.md).
func (e *Error) Status() (codes.Code, string, string) {
	k := e.info()
	switch e.Kind {
	case KindAnswered:
		return k.code, k.reason, e.answered()
	case KindUnreachable:
		return k.code, k.reason, k.message + " (" + causeText[e.Cause] + ")"
	}
	return k.code, k.reason, k.message
}

// AsError returns err as an *Error: the one in its chain (never modified),
// or a new one classifying err: KindCanceled, or KindUnreachable or
// KindTimeout with its Cause. Once ctx, the caller's, has ended, a failure
// without an answer is KindCanceled or KindDeadlineExceeded, whatever the
// transport reported. AsError(ctx, nil) is nil.
func AsError(ctx context.Context, err error) *Error {
	if err == nil {
		return nil
	}
	e, ok := errors.AsType[*Error](err)
	if !ok {
		e = &Error{Kind: KindUnreachable, Err: err}
		switch e.Cause = causeOf(err); {
		case errors.Is(err, context.Canceled):
			e.Kind, e.Cause = KindCanceled, ""
		case e.Cause == CauseTimeout:
			e.Kind = KindTimeout
		}
	}
	if ctxErr := ctx.Err(); ctxErr != nil && e.Kind != KindAnswered && e.Kind != KindMismatch {
		kind := KindCanceled
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			kind = KindDeadlineExceeded
		}
		if e.Kind != kind { // errors.Is must find ctxErr, whatever the transport reported
			cp := *e
			cp.Kind, cp.Cause, cp.Err = kind, "", ctxErr
			switch {
			case errors.Is(e.Err, ctxErr):
				cp.Err = e.Err
			case e.Err != nil:
				cp.Err = fmt.Errorf("%w: %w", ctxErr, e.Err)
			}
			e = &cp
		}
	}
	return e
}

// Cause is the category of a failure to get an answer from the upstream.
// It is safe to show callers and to use as a metric label: it never holds an
// address, a host name or any other part of the error's text.
type Cause string

// The categories of Error.Cause, explained in docs/errors.md#cause-categories.
const (
	CauseDNS     Cause = "dns"
	CauseRefused Cause = "refused"
	CauseReset   Cause = "reset"
	CauseClosed  Cause = "closed"
	CauseTLS     Cause = "tls"
	CauseTimeout Cause = "timeout"
	CauseNetwork Cause = "network"
)

var causeText = map[Cause]string{
	CauseDNS:     "its host name does not resolve",
	CauseRefused: "connection refused",
	CauseReset:   "connection reset",
	CauseClosed:  "connection closed without an answer",
	CauseTLS:     "TLS handshake failed",
	CauseTimeout: "timed out",
	CauseNetwork: "network error",
}

// causeOf classifies an error that got no answer from the upstream.
func causeOf(err error) Cause {
	dnsErr, isDNS := errors.AsType[*net.DNSError](err)
	netErr, isNet := errors.AsType[net.Error](err)
	switch {
	case errors.Is(err, errAttemptTimedOut), errors.Is(err, context.DeadlineExceeded):
		return CauseTimeout
	case isDNS:
		if dnsErr.IsTimeout {
			return CauseTimeout
		}
		return CauseDNS
	case errors.Is(err, syscall.ECONNREFUSED):
		return CauseRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED):
		return CauseReset
	case isTLS(err):
		return CauseTLS
	case isNet && netErr.Timeout():
		return CauseTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return CauseClosed
	}
	return CauseNetwork
}

// isTLS reports whether err comes from a TLS handshake (crypto/tls wraps
// the x509 errors of its verification in a CertificateVerificationError).
func isTLS(err error) bool {
	_, record := errors.AsType[tls.RecordHeaderError](err)
	_, alert := errors.AsType[tls.AlertError](err)
	_, verify := errors.AsType[*tls.CertificateVerificationError](err)
	// net/http reports a plain-HTTP answer to a TLS client, and some
	// handshake failures, as text only.
	msg := err.Error()
	return record || alert || verify || strings.Contains(msg, "server gave HTTP response to HTTPS client") || strings.Contains(msg, "tls: ")
}
