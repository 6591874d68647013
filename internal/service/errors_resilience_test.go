package service

import (
	"context"
	"fmt"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
)

// TestToStatusResilienceErrors covers the errors of the upstream client's
// protections: circuit breaker, concurrency limit, attempt timeout, and the
// attempt count of a retried call.
func TestToStatusResilienceErrors(t *testing.T) {
	const cid = "0d6f3c1e-5b7a-4e2c-9f10-3a4b5c6d7e8f"
	tests := []struct {
		name         string
		give         error
		wantCode     codes.Code
		wantReason   string
		wantRetry    time.Duration // -1: no RetryInfo
		wantAttempts string        // "" means no upstreamAttempts key
		wantHTTP     string        // upstreamHttpStatus, "" for none
	}{
		{
			name:     "circuit open",
			give:     fmt.Errorf("get reseller %q: %w", "r1", &rest.Error{Kind: rest.KindCircuitOpen, RetryAfter: 1500 * time.Millisecond, HasRetryAfter: true}),
			wantCode: codes.Unavailable, wantReason: "CIRCUIT_OPEN", wantRetry: 1500 * time.Millisecond,
		},
		{
			name:     "concurrency limit",
			give:     fmt.Errorf("get reseller %q: %w", "r1", &rest.Error{Kind: rest.KindOverLimit, Limit: 64, RetryAfter: time.Second, HasRetryAfter: true}),
			wantCode: codes.ResourceExhausted, wantReason: "TOO_MANY_UPSTREAM_REQUESTS", wantRetry: time.Second,
		},
		{
			name:     "attempt timeout after retries",
			give:     fmt.Errorf("get reseller %q: %w", "r1", &rest.Error{Kind: rest.KindTimeout, Cause: rest.CauseTimeout, Attempts: 3}),
			wantCode: codes.DeadlineExceeded, wantReason: "UPSTREAM_TIMEOUT", wantRetry: -1, wantAttempts: "3",
		},
		{
			name:     "503 after retries",
			give:     fmt.Errorf("get reseller %q: %w", "r1", &rest.Error{Kind: rest.KindAnswered, StatusCode: 503, Attempts: 2}),
			wantCode: codes.Unavailable, wantReason: "UPSTREAM_UNAVAILABLE", wantRetry: -1, wantAttempts: "2", wantHTTP: "503",
		},
		{
			name:     "single attempt has no attempt count",
			give:     fmt.Errorf("get reseller %q: %w", "r1", &rest.Error{Kind: rest.KindAnswered, StatusCode: 502}),
			wantCode: codes.Unavailable, wantReason: "UPSTREAM_UNAVAILABLE", wantRetry: -1, wantHTTP: "502",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := toStatus(ctx, &call{op: apierr.OpGetReseller, info: rest.CallInfo{CorrelationID: cid}}, tt.give, "")
			st := status.Convert(err)
			if st.Code() != tt.wantCode {
				t.Errorf("code = %v, want %v", st.Code(), tt.wantCode)
			}
			var info *errdetails.ErrorInfo
			var retry *errdetails.RetryInfo
			for _, d := range st.Details() {
				switch d := d.(type) {
				case *errdetails.ErrorInfo:
					info = d
				case *errdetails.RetryInfo:
					retry = d
				}
			}
			if info == nil {
				t.Fatal("no ErrorInfo")
			}
			if info.GetReason() != tt.wantReason {
				t.Errorf("reason = %q, want %q", info.GetReason(), tt.wantReason)
			}
			if got := info.GetMetadata()["upstreamAttempts"]; got != tt.wantAttempts {
				t.Errorf("upstreamAttempts = %q, want %q", got, tt.wantAttempts)
			}
			if got := info.GetMetadata()["upstreamHttpStatus"]; got != tt.wantHTTP {
				t.Errorf("upstreamHttpStatus = %q, want %q", got, tt.wantHTTP)
			}
			switch {
			case tt.wantRetry < 0 && retry != nil:
				t.Errorf("RetryInfo = %v, want none", retry)
			case tt.wantRetry >= 0 && (retry == nil || retry.GetRetryDelay().AsDuration() != tt.wantRetry):
				t.Errorf("RetryInfo = %v, want %v", retry, tt.wantRetry)
			}
		})
	}
}
