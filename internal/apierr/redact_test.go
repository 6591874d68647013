package apierr

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/protoadapt"
)

// testJWT is shaped like a Microsoft Entra token: three base64url segments.
const testJWT = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJhcGk6Ly9jbG91ZGNvY2twaXQiLCJpc3MiOiJodHRwczovL3N0cy53aW5kb3dzLm5ldC8ifQ.c2lnbmF0dXJlLW9mLXRoZS10b2tlbi1zaWduZWQtYnktZW50cmE"

func TestRedactorString(t *testing.T) {
	segments := strings.Split(testJWT, ".")
	tests := []struct {
		name string
		auth string
		give string
		want string
	}{
		{"whole token", "Bearer " + testJWT, "IDX10223: token '" + testJWT + "' expired", "IDX10223: token '[REDACTED]' expired"},
		{"whole header", "Bearer " + testJWT, "bad header Bearer " + testJWT, "bad header Bearer [REDACTED]"},
		{"split at dots", "Bearer " + testJWT, "header " + segments[0] + " payload " + segments[1] + " signature " + segments[2], "header [REDACTED] payload [REDACTED] signature [REDACTED]"},
		{"prefix", "Bearer " + testJWT, "token starts " + testJWT[:20] + "...", "token starts [REDACTED]..."},
		{"upper-cased", "Bearer " + testJWT, "TOKEN " + strings.ToUpper(testJWT), "TOKEN [REDACTED]"},
		{"lower-cased segment", "Bearer " + testJWT, "sig=" + strings.ToLower(segments[2]) + ";", "sig=[REDACTED];"},
		{"eight characters", "Bearer " + testJWT, "x" + testJWT[40:48] + "x", "x[REDACTED]x"},
		{"seven characters stay", "Bearer " + testJWT, "x" + testJWT[40:47] + "x", "x" + testJWT[40:47] + "x"},
		{"two pieces apart", "Bearer " + testJWT, testJWT[:10] + " and " + testJWT[100:120], "[REDACTED] and [REDACTED]"},
		{"non-ASCII around", "Bearer " + testJWT, "é" + testJWT[5:30] + "ü", "é[REDACTED]ü"},
		{"nothing to redact", "Bearer " + testJWT, "Reseller not found.", "Reseller not found."},
		{"scheme in any case", "bearer " + testJWT, testJWT[:12], "[REDACTED]"},
		{"no scheme", testJWT, "got " + testJWT[3:15], "got [REDACTED]"},
		{"short token is no pattern", "Bearer abcdefg", "abcdefg abcdefg", "abcdefg abcdefg"},
		{"no credentials", "", "anything at all", "anything at all"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NewRedactor(tt.auth).String(tt.give); got != tt.want {
				t.Errorf("NewRedactor(%q).String(%q)\n got %q\nwant %q", tt.auth, tt.give, got, tt.want)
			}
		})
	}
}

// TestNewRedactsEveryString: the token is removed from the message and from
// every string of every detail, whatever its type.
func TestNewRedactsEveryString(t *testing.T) {
	piece := strings.ToUpper(testJWT[10:30])
	st := New(Spec{
		Code:          codes.InvalidArgument,
		Message:       "bad token " + piece,
		Reason:        ReasonUpstreamBadRequest,
		Metadata:      map[string]string{MetaUpstreamType: "type " + piece},
		RequestID:     "rid",
		Authorization: "Bearer " + testJWT,
		Details: []protoadapt.MessageV1{
			&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: piece, Description: "d " + piece}}},
			&errdetails.ResourceInfo{ResourceName: piece, Description: piece},
			&errdetails.Help{Links: []*errdetails.Help_Link{{Url: "https://x/" + piece}}},
		},
	})
	if got, want := st.Message(), "bad token [REDACTED]"; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	var got []string
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			got = append(got, d.GetMetadata()[MetaUpstreamType])
		case *errdetails.BadRequest:
			got = append(got, d.GetFieldViolations()[0].GetField(), d.GetFieldViolations()[0].GetDescription())
		case *errdetails.ResourceInfo:
			got = append(got, d.GetResourceName(), d.GetDescription())
		case *errdetails.Help:
			got = append(got, d.GetLinks()[0].GetUrl())
		}
	}
	want := []string{"type [REDACTED]", "[REDACTED]", "d [REDACTED]", "[REDACTED]", "[REDACTED]", "https://x/[REDACTED]"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("detail strings (-want +got):\n%s", diff)
	}
}

func BenchmarkRedactorString(b *testing.B) {
	msg := strings.Repeat("The request is invalid for this reseller. ", 24)
	b.ReportAllocs()
	for b.Loop() {
		_ = NewRedactor("Bearer " + testJWT).String(msg)
	}
}

// BenchmarkNewUpstreamError measures the status of a typical upstream 404,
// with the token removed from it and the bounds checked.
func BenchmarkNewUpstreamError(b *testing.B) {
	auth := "Bearer " + strings.Repeat(testJWT, 6) // ~1.5 KiB, an Entra token's size
	b.ReportAllocs()
	for b.Loop() {
		_ = New(Spec{
			Code: codes.NotFound, Message: "Reseller not found.", Reason: ReasonUpstreamNotFound, RequestID: "0d6f3c1e-5b7a-4e2c-9f10-3a4b5c6d7e8f",
			Metadata:      map[string]string{MetaOperation: "GetReseller", MetaCorrelationID: "0d6f3c1e-5b7a-4e2c-9f10-3a4b5c6d7e8f", MetaUpstreamHTTPStatus: "404"},
			Details:       []protoadapt.MessageV1{&errdetails.ResourceInfo{ResourceType: "cloudcockpit.v1.Reseller", ResourceName: "0d6f3c1e-5b7a-4e2c-9f10-3a4b5c6d7e8f", Description: "Reseller not found."}},
			Authorization: auth,
		})
	}
}
