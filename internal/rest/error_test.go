package rest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
)

// kindOf returns the kind of err: the Kind of the *Error in its chain, the
// kind AsError gives any other error, KindNone for nil.
func kindOf(err error) Kind {
	if err == nil {
		return KindNone
	}
	return AsError(context.Background(), err).Kind
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, time.March, 4, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		give   string
		want   time.Duration
		wantOK bool
	}{
		{name: "seconds", give: "120", want: 2 * time.Minute, wantOK: true},
		{name: "zero seconds", give: "0", want: 0, wantOK: true},
		{name: "seconds with white space", give: " 5 ", want: 5 * time.Second, wantOK: true},
		{name: "huge seconds are capped", give: "99999999999999999999999", want: MaxRetryAfter, wantOK: true},
		{name: "seconds over the cap", give: "9223372037", want: MaxRetryAfter, wantOK: true},
		{name: "seconds at the cap", give: "3600", want: time.Hour, wantOK: true},
		{name: "seconds just over the cap", give: "3601", want: time.Hour, wantOK: true},
		{name: "a date over the cap", give: "Tue, 04 Mar 2025 13:00:00 GMT", want: MaxRetryAfter, wantOK: true},
		{name: "IMF-fixdate", give: "Tue, 04 Mar 2025 10:01:30 GMT", want: 90 * time.Second, wantOK: true},
		{name: "RFC 850 date", give: "Tuesday, 04-Mar-25 10:00:10 GMT", want: 10 * time.Second, wantOK: true},
		{name: "ANSI C date", give: "Tue Mar  4 10:00:20 2025", want: 20 * time.Second, wantOK: true},
		{name: "date in the past", give: "Tue, 04 Mar 2025 09:00:00 GMT", want: 0, wantOK: true},
		{name: "empty", give: ""},
		{name: "negative", give: "-1"},
		{name: "fraction", give: "1.5"},
		{name: "words", give: "soon"},
		{name: "bad date", give: "Tue, 32 Mar 2025 10:00:00 GMT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseRetryAfter(tt.give, now)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.give, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestErrorMessages(t *testing.T) {
	tests := []struct {
		name string
		give error
		want string
	}{
		{
			name: "envelope description",
			give: &Error{Kind: KindAnswered, StatusCode: 404, Envelope: &Envelope{Type: "NotFound", Description: "Reseller not found."}},
			want: "upstream answered 404 Not Found: Reseller not found.",
		},
		{
			name: "envelope type when no description",
			give: &Error{Kind: KindAnswered, StatusCode: 400, Envelope: &Envelope{Type: "ValidationError"}},
			want: "upstream answered 400 Bad Request: ValidationError",
		},
		{name: "no envelope", give: &Error{Kind: KindAnswered, StatusCode: 502}, want: "upstream answered 502 Bad Gateway"},
		{name: "empty envelope", give: &Error{Kind: KindAnswered, StatusCode: 500, Envelope: &Envelope{}}, want: "upstream answered 500 Internal Server Error"},
		{name: "unknown status", give: &Error{Kind: KindAnswered, StatusCode: 499}, want: "upstream answered 499"},
		{name: "decode error", give: undecodable("reseller", errors.New("boom")), want: "the upstream response could not be decoded: decode reseller: boom"},
		{name: "body too large", give: &Error{Kind: KindTooLarge, Limit: 1024}, want: "the upstream response is larger than the configured limit"},
		{name: "attempts", give: &Error{Kind: KindTimeout, Err: errAttemptTimedOut, Attempts: 3}, want: "the upstream did not answer in time: upstream sent no complete response within the attempt timeout (3 attempts)"},
		{name: "two attempts", give: &Error{Kind: KindAnswered, StatusCode: 503, Attempts: 2}, want: "upstream answered 503 Service Unavailable (2 attempts)"},
		{name: "one attempt", give: &Error{Kind: KindAnswered, StatusCode: 503, Attempts: 1}, want: "upstream answered 503 Service Unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.give.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestErrorsAsThroughWrapping(t *testing.T) {
	inner := errors.New("inner")
	tests := []struct {
		name  string
		give  error
		check func(error) bool
	}{
		{name: "*Error", give: &Error{Kind: KindAnswered, StatusCode: 404}, check: func(err error) bool {
			var e *Error
			return errors.As(err, &e) && e.StatusCode == 404
		}},
		{name: "undecodable unwraps", give: undecodable("x", inner), check: func(err error) bool {
			return kindOf(err) == KindUndecodable && errors.Is(err, inner)
		}},
		{name: "too large", give: &Error{Kind: KindTooLarge, Limit: 1}, check: func(err error) bool {
			var e *Error
			return errors.As(err, &e) && e.Kind == KindTooLarge && e.Limit == 1
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wrapped := fmt.Errorf("get reseller %q: %w", "r1", tt.give)
			if !tt.check(wrapped) {
				t.Errorf("errors.As failed on %v", wrapped)
			}
			if !strings.HasPrefix(wrapped.Error(), `get reseller "r1": `) {
				t.Errorf("message = %q", wrapped.Error())
			}
		})
	}
}

// TestStatus: the gRPC code and reason of kinds with no answer and of
// answers outside the table, by their status class (docs/errors.md).
func TestStatus(t *testing.T) {
	type status struct {
		Code   codes.Code
		Reason string
	}
	tests := []struct {
		name string
		give *Error
		want status
	}{
		{"too large", &Error{Kind: KindTooLarge, Limit: 1}, status{codes.Internal, apierr.ReasonUpstreamTooLarge}},
		{"mismatch", &Error{Kind: KindMismatch}, status{codes.Unavailable, apierr.ReasonUpstreamMismatch}},
		{"418", &Error{Kind: KindAnswered, StatusCode: 418}, status{codes.FailedPrecondition, apierr.ReasonUpstreamClientError}},
		{"451", &Error{Kind: KindAnswered, StatusCode: 451}, status{codes.FailedPrecondition, apierr.ReasonUpstreamClientError}},
		{"499 is in the table", &Error{Kind: KindAnswered, StatusCode: 499}, status{codes.Canceled, apierr.ReasonUpstreamCancelled}},
		{"505", &Error{Kind: KindAnswered, StatusCode: 505}, status{codes.Internal, apierr.ReasonUpstreamServerError}},
		{"302", &Error{Kind: KindAnswered, StatusCode: 302}, status{codes.Internal, apierr.ReasonUpstreamServerError}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, reason, _ := tt.give.Status()
			if diff := cmp.Diff(tt.want, status{code, reason}); diff != "" {
				t.Errorf("Status() (-want +got):\n%s", diff)
			}
		})
	}
	const want = "the upstream could not be reached (connection refused)" // the cause, in words
	if _, _, msg := (&Error{Kind: KindUnreachable, Cause: CauseRefused}).Status(); msg != want {
		t.Errorf("Status() message of an unreachable upstream = %q, want %q", msg, want)
	}
}
