package apierr

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
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
		{"eight characters alone", "Bearer " + testJWT, testJWT[40:48], "[REDACTED]"},
		{"seven characters stay", "Bearer " + testJWT, "x" + testJWT[40:47] + "x", "x" + testJWT[40:47] + "x"},
		{"two pieces apart", "Bearer " + testJWT, testJWT[:10] + " and " + testJWT[100:120], "[REDACTED] and [REDACTED]"},
		{"non-ASCII around", "Bearer " + testJWT, "é" + testJWT[5:30] + "ü", "é[REDACTED]ü"},
		{"nothing to redact", "Bearer " + testJWT, "Reseller not found.", "Reseller not found."},
		{"scheme in any case", "bearer " + testJWT, testJWT[:12], "[REDACTED]"},
		{"scheme in any case is no secret", "bearer " + testJWT, "bad header bearer " + testJWT, "bad header bearer [REDACTED]"},
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

// encodings are the forms an upstream may quote the token in: each returns
// the text that encodes s.
var encodings = []struct {
	name   string
	encode func(s string) string
}{
	{"percent every byte", func(s string) string { return percent(s, func(int) bool { return true }, "%%%02X") }},
	{"percent every other byte, lower-case hex", func(s string) string { return percent(s, func(i int) bool { return i%2 == 0 }, "%%%02x") }},
	{"base64", b64(base64.StdEncoding, "")},
	{"base64 unpadded", b64(base64.RawStdEncoding, "")},
	{"base64url", b64(base64.URLEncoding, "")},
	{"base64url unpadded", b64(base64.RawURLEncoding, "")},
	{"base64 of Bearer", b64(base64.StdEncoding, "Bearer ")},
	{"base64 after one byte", b64(base64.RawStdEncoding, "{")},
	{"base64url after two bytes", b64(base64.RawURLEncoding, `{"`)},
	{"base64 inside JSON", func(s string) string {
		return base64.StdEncoding.EncodeToString([]byte(`{"authorization":"Bearer ` + s + `","x":1}`))
	}},
	{"hex", func(s string) string { return hex.EncodeToString([]byte(s)) }},
	{"hex upper-case", func(s string) string { return strings.ToUpper(hex.EncodeToString([]byte(s))) }},
	{"hex at an odd offset", func(s string) string { return "a" + hex.EncodeToString([]byte(s)) }},
	{`\u escapes`, func(s string) string { return percent(s, func(int) bool { return true }, `\u%04x`) }},
	{`\u escapes upper-case, some`, func(s string) string { return percent(s, func(i int) bool { return i%3 == 1 }, `\u%04X`) }},
	{`\x escapes`, func(s string) string { return percent(s, func(int) bool { return true }, `\x%02x`) }},
	{"HTML decimal", func(s string) string { return percent(s, func(int) bool { return true }, "&#%d;") }},
	{"HTML hex", func(s string) string { return percent(s, func(i int) bool { return i%2 == 1 }, "&#x%X;") }},
	{"HTML named", func(s string) string {
		return strings.NewReplacer(".", "&period;", "_", "&lowbar;").Replace(s) // "-" has no name: &hyphen; is U+2010
	}},
	{"zero-width space between", func(s string) string { return between(s, "\u200b") }},
	{"zero-width joiners and word joiner", func(s string) string { return between(s, "\u200c\u200d\u2060") }},
	{"BOM and soft hyphen", func(s string) string { return between(s, "\ufeff\u00ad") }},
	{"percent-encoded base64", func(s string) string {
		return url.QueryEscape(base64.StdEncoding.EncodeToString([]byte("Bearer " + s)))
	}},
	{"percent-encoded twice", func(s string) string { return url.PathEscape(percent(s, func(int) bool { return true }, "%%%02X")) }},
	{"escaped zero-width between hex", func(s string) string { return between(hex.EncodeToString([]byte(s)), `\u200B`) }},
}

// leaks reports whether text still holds a piece of r's token, as it is
// or encoded.
// Redacted markers are left out: the token may hold "REDACTED".
func leaks(r Redactor, text string) bool {
	text = strings.ReplaceAll(text, Redacted, "\x00")
	return r.replace(text) != text || r.encoded(text)
}

// b64 encodes prefix and s with enc.
func b64(enc *base64.Encoding, prefix string) func(s string) string {
	return func(s string) string { return enc.EncodeToString([]byte(prefix + s)) }
}

// percent writes the bytes i of s for which pick(i) in format, the others as
// they are.
func percent(s string, pick func(i int) bool, format string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if pick(i) {
			fmt.Fprintf(&b, format, s[i])
		} else {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// between puts sep between the characters of s.
func between(s, sep string) string { return strings.Join(strings.Split(s, ""), sep) }

// TestRedactorEncoded: a token quoted in an encoding does not survive, at
// the start, inside or at the end of a message: the text becomes Redacted
// (or, when the pieces are plain between escapes, loses them); text with
// escapes, base64 or hex that holds no token stays as it is.
// TestRedactorEncodedEdges: base64 runs at their edges: the shortest run that
// holds a piece (eight bytes, eleven digits), a run whose encoding starts
// inside it or has a digit too many, and base64url.
func TestRedactorEncodedEdges(t *testing.T) {
	piece := testJWT[40:52]
	odd := "???>>>~~~???" // its base64 has + and /, its base64url - and _
	tests := []struct {
		name, auth, give string
	}{
		{"eight bytes", "Bearer " + testJWT, "see " + base64.StdEncoding.EncodeToString([]byte(testJWT[40:48]))},
		{"after two digits", "Bearer " + testJWT, "see ab" + base64.RawStdEncoding.EncodeToString([]byte(piece))},
		{"a digit too many", "Bearer " + testJWT, "see " + base64.RawStdEncoding.EncodeToString([]byte(piece)) + "x"},
		{"base64url", "Bearer " + odd, "see " + base64.RawURLEncoding.EncodeToString([]byte(odd))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NewRedactor(tt.auth).String(tt.give); got != Redacted {
				t.Errorf("String(%q) = %q, want %q", tt.give, got, Redacted)
			}
		})
	}
}

// TestRewriteStringsReachesListsAndMaps: rewriteStrings rewrites list
// elements and map values, not map keys.
func TestRewriteStringsReachesListsAndMaps(t *testing.T) {
	info := &errdetails.ErrorInfo{Reason: "r", Metadata: map[string]string{"k": "v"}}
	debug := &errdetails.DebugInfo{StackEntries: []string{"a", "b"}, Detail: "d"}
	for _, m := range []protoadapt.MessageV1{info, debug} {
		rewriteStrings(protoadapt.MessageV2Of(m).ProtoReflect(), strings.ToUpper)
	}
	got := []any{info.GetReason(), info.GetMetadata(), debug.GetStackEntries(), debug.GetDetail()}
	want := []any{"R", map[string]string{"k": "V"}, []string{"A", "B"}, "D"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rewritten strings (-want +got):\n%s", diff)
	}
}

func TestRedactorEncoded(t *testing.T) {
	r := NewRedactor("Bearer " + testJWT)
	for _, e := range encodings {
		for _, tok := range []string{testJWT, testJWT[7:19], "0123456789"} {
			r := r
			if tok == "0123456789" {
				r = NewRedactor("Bearer " + tok)
			}
			enc := e.encode(tok)
			for _, give := range []string{enc, "token " + enc + " is not valid", "IDX:" + enc} {
				if got := r.String(give); strings.Contains(got, enc) || leaks(r, got) {
					t.Errorf("%s of %q: String(%q) = %q: the token survives", e.name, tok, give, got)
				}
			}
		}
	}
	for _, give := range []string{
		"100% of the quota is used; 50%2 &amp; &#65; \\u0041 \\x41",
		"request id " + hex.EncodeToString([]byte("a different secret value")),
		"see " + base64.StdEncoding.EncodeToString([]byte("a different secret value")),
		"zero\u200bwidth\u00ad",
		"%ZZ %4 \\uZZZZ \\x4 &#xZZ;",
	} {
		if got := r.String(give); got != give {
			t.Errorf("String(%q) = %q, want it unchanged", give, got)
		}
	}
	// Hidden behind layers the unescaping looks through: an escape that
	// takes the token's first character with an invisible one after it,
	// and base64 of the token percent-encoded three times over.
	r = NewRedactor("Bearer 0123456789abcdefXYZwvu")
	var thrice strings.Builder
	for _, c := range []byte(base64.StdEncoding.EncodeToString([]byte("0123456789abcdefXYZwvu"))) {
		fmt.Fprintf(&thrice, "%%2525%02X", c)
	}
	for _, give := range []string{"see %01\u200b234567 here", "x " + thrice.String()} {
		if got := r.String(give); got != Redacted {
			t.Errorf("String(%q) = %q, want %q", give, got, Redacted)
		}
	}
	if got, want := r.String("01234567"+"01234567"), Redacted; got != want {
		t.Errorf("two adjacent pieces: String = %q, want one %q", got, want)
	}
	short := NewRedactor("Bearer abcdefg")
	if give := hex.EncodeToString([]byte("abcdefg")); short.String(give) != give {
		t.Errorf("a token shorter than MinSecretRun is matched in hex")
	}
}
