package service

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/correlation"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
)

// Fuzz targets for local validation: whatever a caller sends, validation
// never panics, what it accepts is safe to put in an upstream URL path,
// query or header, and what it rejects gets a well-formed status that does
// not echo the credentials. Seed corpora live in testdata/fuzz/<target>/;
// `make fuzz` runs every target.

// unsafeInPath reports the first byte of s that must never reach an upstream
// URL or header unescaped: control characters (CR and LF included), space,
// '/', '?', '#', '%', and anything outside ASCII. It returns -1 when there is
// none.
func unsafeInPath(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '/' || c == '?' || c == '#' || c == '%' {
			return i
		}
	}
	return -1
}

// Reference definitions, written independently of the code under test.
var (
	uuidRE  = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	labelRE = `[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?`
	// domainRE: two or more labels; the 253-character limit is checked apart.
	domainRE = regexp.MustCompile(`^` + labelRE + `(?:\.` + labelRE + `)+$`)
	// bearerRE: the scheme in any case, one space, a token of visible ASCII.
	bearerRE = regexp.MustCompile(`^(?i:bearer) [\x21-\x7e]+$`)
)

func FuzzIsDomainName(f *testing.F) {
	for _, s := range []string{
		"portal.cloudcockpit.com", "a.b", "localhost", "", ".", "a..b", "-a.b", "a-.b", "a.b.",
		"xn--bcher-kva.example", "127.0.0.1", "portal.cloudcockpit.com/../x", "a.b?x", "a.b#x", "a.b%2F",
		"portal .com", "portal\r\n.com", "pörtal.com", strings.Repeat("a", 63) + ".com", strings.Repeat("a", 64) + ".com",
		strings.Repeat("a.", 126) + "a", strings.Repeat("a.", 127) + "a",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := rest.IsDomainName(s)
		want := len(s) <= 253 && domainRE.MatchString(s)
		if got != want {
			t.Fatalf("IsDomainName(%q) = %v, want %v", s, got, want)
		}
		if got {
			if i := unsafeInPath(s); i >= 0 {
				t.Fatalf("IsDomainName accepted %q with %q at %d", s, s[i], i)
			}
		}
	})
}

func FuzzUUIDViolation(f *testing.F) {
	for _, s := range []string{
		"11111111-1111-4111-8111-111111111111", "CB3CD15B-1D6E-45BE-B493-C71549CBFD87", "", "nope",
		"{11111111-1111-4111-8111-111111111111}", "urn:uuid:11111111-1111-4111-8111-111111111111",
		"11111111111141118111111111111111", "11111111-1111-4111-8111-11111111111/", "../Customers",
		"11111111-1111-4111-8111-1111111111%2F", "11111111-1111-4111-8111-11111111111?", "11111111-1111-4111-8111-11111111111#",
		"11111111-1111-4111-8111-1111111111\r\n", "1111111１-1111-4111-8111-111111111111",
	} {
		f.Add(s, true)
	}
	f.Add("", false)
	f.Fuzz(func(t *testing.T, s string, required bool) {
		var v violations
		v.request(uuidRequest(s, required))
		accepted := len(v) == 0
		want := (s == "" && !required) || uuidRE.MatchString(s)
		if accepted != want {
			t.Fatalf("uuid(%q, required %v) accepted = %v, want %v (violations %v)", s, required, accepted, want, v)
		}
		if accepted && s != "" {
			if i := unsafeInPath(s); i >= 0 {
				t.Fatalf("uuid accepted %q with %q at %d", s, s[i], i)
			}
		}
		if len(v) > 1 {
			t.Fatalf("uuid(%q) gave %d violations, want at most one", s, len(v))
		}
		for _, fv := range v {
			if fv.GetField() != "reseller_id" || !uuidProblems[fv.GetDescription()] {
				t.Fatalf("violation %v names another field or is not a fixed text (it may echo the value)", fv)
			}
		}
	})
}

func FuzzBearer(f *testing.F) {
	for _, s := range []string{
		"Bearer tok", "bearer tok", "BEARER eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", "Bearer", "Bearer ", "Bearer  tok",
		"Basic dXNlcjpwYXNz", "Bearertok", "Token tok", "Bearer a b", "Bearer tok\r\nX-Evil: 1", "Bearer tok\x00",
		"Bearer tök", "Bearer a/b+c=", "Bearer ../x?y#z%", "", " ", strings.Repeat("x", 100),
		"Bearer " + strings.Repeat("t", maxTokenLen), "Bearer " + strings.Repeat("t", maxTokenLen+1),
	} {
		f.Add(s, "", false)
	}
	f.Add("Bearer one", "Bearer two", true)
	f.Fuzz(func(t *testing.T, first, second string, twice bool) {
		vals := []string{first}
		if twice {
			vals = append(vals, second)
		}
		value, reason, problem := bearer(vals)
		if problem == "" {
			if reason != "" || value != first || twice {
				t.Fatalf("bearer(%q) = %q, %q, accepted; want the single value unchanged", vals, value, reason)
			}
			if !bearerRE.MatchString(value) || len(value)-len("Bearer ") > maxTokenLen {
				t.Fatalf("bearer accepted %q: not `Bearer <visible ASCII token of at most 16 KiB>`", value)
			}
			// The token goes only into the Authorization header, where '/',
			// '?', '#' and '%' are harmless ('/' is even part of RFC 6750's
			// b64token); control characters, spaces and non-ASCII are not.
			if strings.ContainsFunc(value[len("Bearer "):], func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
				t.Fatalf("bearer accepted %q with a space, control or non-ASCII character", value)
			}
			return
		}
		if value != "" {
			t.Fatalf("bearer(%q) rejected with %q but returned the value %q", vals, problem, value)
		}
		if reason != apierr.ReasonMissingCredentials && reason != apierr.ReasonMalformedCredentials {
			t.Fatalf("bearer(%q) reason = %q", vals, reason)
		}
		if _, known := bearerProblems[problem]; !known {
			t.Fatalf("bearer(%q) problem %q is not one of the fixed messages (it may echo the value)", vals, problem)
		}
	})
}

// uuidRequest returns a request whose reseller_id is s: GetReseller's
// (required), or GetAcceptanceLink's (optional: unset when s is empty).
func uuidRequest(s string, required bool) proto.Message {
	if required {
		return &pb.GetResellerRequest{ResellerId: s}
	}
	req := &pb.GetAcceptanceLinkRequest{ProviderInstanceId: "11111111-1111-4111-8111-111111111111"}
	if s != "" {
		req.ResellerId = &s
	}
	return req
}

// uuidProblems are the only descriptions of a UUID violation.
var uuidProblems = func() map[string]bool {
	var v violations
	v.request(uuidRequest("", true))
	v.request(uuidRequest("-", true))
	return map[string]bool{v[0].GetDescription(): true, v[1].GetDescription(): true}
}()

// bearerProblems are the only messages bearer may return: fixed texts that
// never hold the caller's value.
var bearerProblems = func() map[string]bool {
	m := map[string]bool{}
	for _, vals := range [][]string{nil, {"a", "b"}, {"Basic x"}, {"Bearer " + strings.Repeat("t", maxTokenLen+1)}, {"Bearer a b"}} {
		_, _, p := bearer(vals)
		m[p] = true
	}
	return m
}()

// FuzzBegin drives the whole local validation of a call with hostile
// metadata and an id.
func FuzzBegin(f *testing.F) {
	const good = "11111111-1111-4111-8111-111111111111"
	type seed struct {
		auth, auth2, tenant, cid, id string
		twice, defaultTenant         bool
	}
	for _, s := range []seed{
		{"Bearer tok", "", "portal.cloudcockpit.com", "", good, false, false},
		{"Bearer tok", "", "portal.cloudcockpit.com", "0d6f3c1e-5b7a-4e2c-9f10-3a4b5c6d7e8f", good, false, false},
		{"Bearer tok", "", "", "", good, false, true},
		{"Bearer tok", "", "", "", good, false, false},
		{"Bearer tok", "Bearer other", "portal.cloudcockpit.com", "", good, true, false},
		{"Basic dXNlcjpwYXNz", "", "portal.cloudcockpit.com", "", "../x", false, false},
		{"Bearer tok", "", strings.Repeat("a", 296) + ".com", "nope", "..%2F", false, false},
		{"Bearer tok", "", "evil.com/../x", "", "11111111-1111-4111-8111-111111111111?x", false, false},
		{"Bearer tok\r\nX-Evil: 1", "", "portal.cloudcockpit.com\r\nX-Evil: 1", "\x00", "\xff", false, false},
		{"Bearer tök", "", "pörtal.com", "{0d6f3c1e-5b7a-4e2c-9f10-3a4b5c6d7e8f}", "#", false, false},
	} {
		f.Add(s.auth, s.auth2, s.tenant, s.cid, s.id, s.twice, s.defaultTenant)
	}
	f.Fuzz(func(t *testing.T, auth, auth2, tenant, cid, id string, twice, useDefault bool) {
		md := metadata.MD{}
		if auth != "" {
			md.Append(apierr.MDAuthorization, auth)
			if twice {
				md.Append(apierr.MDAuthorization, auth2)
			}
		}
		if tenant != "" {
			md.Append(apierr.MDTenant, tenant)
		}
		if cid != "" {
			md.Append(apierr.MDCorrelationID, cid)
		}
		var opts []Option
		if useDefault {
			opts = append(opts, WithDefaultTenant("default.cloudcockpit.com"))
		}
		ctx := metadata.NewIncomingContext(context.Background(), md)
		_, c, err := begin(ctx, apierr.OpGetReseller, newConfig(opts), &pb.GetResellerRequest{ResellerId: id})
		if c == nil || !correlation.IsUUID(c.info.CorrelationID) {
			t.Fatalf("begin() call = %+v, want one with a UUID correlation id", c)
		}
		if err == nil {
			checkAccepted(t, c.info.Authorization, c.info.Tenant, id, c.info.CorrelationID)
			return
		}
		checkRejected(t, err, c.info.CorrelationID, auth, auth2)
	})
}

// checkAccepted fails unless every value of an accepted call is safe to
// send upstream.
func checkAccepted(t *testing.T, auth, tenant, id, cid string) {
	t.Helper()
	if !bearerRE.MatchString(auth) {
		t.Fatalf("accepted authorization %q is not `Bearer <visible ASCII>`", auth)
	}
	for name, v := range map[string]string{"tenant": tenant, "id": id, "correlation id": cid} {
		if v == "" {
			t.Fatalf("accepted call with an empty %s", name)
		}
		if i := unsafeInPath(v); i >= 0 {
			t.Fatalf("accepted %s %q holds %q at %d", name, v, v[i], i)
		}
	}
	if !rest.IsDomainName(tenant) || !uuidRE.MatchString(id) || !uuidRE.MatchString(cid) {
		t.Fatalf("accepted tenant %q, id %q, correlation id %q", tenant, id, cid)
	}
}

// checkRejected fails unless err is a local rejection with exactly one
// ErrorInfo and one RequestInfo, that marshals, and does not hold the
// caller's credentials.
func checkRejected(t *testing.T, err error, cid string, creds ...string) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || (st.Code() != codes.Unauthenticated && st.Code() != codes.InvalidArgument) {
		t.Fatalf("begin() error = %v, want an UNAUTHENTICATED or INVALID_ARGUMENT status", err)
	}
	var infos, requestInfos int
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			infos++
			if d.GetDomain() != apierr.Domain || d.GetReason() == "" || d.GetMetadata()[apierr.MetaCorrelationID] != cid {
				t.Fatalf("ErrorInfo = %v", d)
			}
			if _, ok := d.GetMetadata()[apierr.MetaUpstreamHTTPStatus]; ok {
				t.Fatalf("a local rejection's ErrorInfo has %s: %v", apierr.MetaUpstreamHTTPStatus, d)
			}
		case *errdetails.RequestInfo:
			requestInfos++
			if d.GetRequestId() != cid {
				t.Fatalf("RequestInfo = %v, want request id %s", d, cid)
			}
		case *errdetails.BadRequest:
			if st.Code() != codes.InvalidArgument || len(d.GetFieldViolations()) == 0 {
				t.Fatalf("BadRequest %v with %v", d, st.Code())
			}
		case error:
			t.Fatalf("undecodable detail: %v", d)
		}
	}
	if infos != 1 || requestInfos != 1 {
		t.Fatalf("status has %d ErrorInfo and %d RequestInfo details, want exactly one each: %v", infos, requestInfos, st.Proto())
	}
	if _, err := proto.Marshal(st.Proto()); err != nil {
		t.Fatalf("the status does not marshal: %v", err)
	}
	// Every text in a local rejection is fixed, save the correlation id, so
	// a credential of any length that shows up was echoed. (A credential
	// that is itself a piece of the fixed texts cannot be told apart.)
	text := prototext.Format(st.Proto())
	for _, cred := range creds {
		_, tok, _ := strings.Cut(cred, " ")
		for _, s := range []string{cred, tok} {
			if len(s) >= 6 && utf8.ValidString(s) && strings.Contains(text, s) && !strings.Contains(fixedTexts+cid, s) {
				t.Fatalf("the status holds the credential %q:\n%s", s, text)
			}
		}
	}
}

// fixedTexts holds every fixed text a local rejection may contain.
var fixedTexts = func() string {
	var b strings.Builder
	for p := range bearerProblems {
		b.WriteString(p + "\n")
	}
	md := metadata.Pairs(apierr.MDAuthorization, "Bearer x", apierr.MDTenant, "-", apierr.MDCorrelationID, "-")
	ctx := metadata.NewIncomingContext(context.Background(), md)
	_, _, err := begin(ctx, apierr.OpGetReseller, newConfig(nil), &pb.GetAcceptanceLinkRequest{ResellerId: new(string), ProviderInstanceId: "-"})
	b.WriteString(prototext.Format(status.Convert(err).Proto()))
	md = metadata.Pairs(apierr.MDAuthorization, "Bearer x", apierr.MDTenant, "a.b", apierr.MDTenant, "a.b")
	_, _, err = begin(metadata.NewIncomingContext(context.Background(), md), apierr.OpGetAcceptanceLink, newConfig(nil), nil)
	b.WriteString(prototext.Format(status.Convert(err).Proto()))
	_, _, err = begin(metadata.NewIncomingContext(context.Background(), metadata.Pairs(apierr.MDAuthorization, "Bearer x")), apierr.OpGetReseller, newConfig(nil), nil)
	b.WriteString(prototext.Format(status.Convert(err).Proto()))
	return b.String()
}()
