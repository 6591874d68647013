package sandbox_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
)

func TestCredentialFingerprint(t *testing.T) {
	sum := sha256.Sum256([]byte("Bearer abc\nportal.cloudcockpit.com"))
	want := "cred:" + hex.EncodeToString(sum[:])[:16]
	if got := sandbox.CredentialFingerprint("Bearer abc", "portal.cloudcockpit.com"); got != want {
		t.Errorf("CredentialFingerprint = %q, want %q", got, want)
	}
	seen := map[string]bool{}
	for _, c := range [][2]string{
		{"Bearer abc", "portal.cloudcockpit.com"},
		{"Bearer abd", "portal.cloudcockpit.com"},
		{"Bearer abc", "other.cloudcockpit.com"},
		{"Bearer abc\nportal", "cloudcockpit.com"}, // the separator matters
		{"", ""},
	} {
		fp := sandbox.CredentialFingerprint(c[0], c[1])
		if seen[fp] {
			t.Errorf("fingerprint %s repeats for %q", fp, c)
		}
		seen[fp] = true
		if strings.Contains(fp, "abc") || len(fp) != len("cred:")+16 {
			t.Errorf("fingerprint %q: want cred: and 16 hex digits, no token", fp)
		}
	}
}

// decodeFold decodes a JSON object with its top-level property names in lower case.
func decodeFold(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}

// TestWithCredentialEchoResellers checks every sample reseller with two sets of
// credentials: the fingerprint is the caller's, the rest of the payload is unchanged.
func TestWithCredentialEchoResellers(t *testing.T) {
	_, plain := startServer(t, nil)
	_, echo := startServer(t, sandbox.New(sandbox.WithCredentialEcho()))
	creds := []struct{ auth, tenant string }{
		{auth: testAuth, tenant: testTenant},
		{auth: "Bearer load-7", tenant: "fabrikam.example.com"},
	}
	for _, id := range sandbox.Resellers() {
		for _, c := range creds {
			t.Run(id+"/"+c.tenant, func(t *testing.T) {
				h := validHeader()
				h.Set("Authorization", c.auth)
				h.Set("X-Tenant", c.tenant)
				want := do(t, plain, http.MethodGet, "/v1/Resellers/"+id, h)
				got := do(t, echo, http.MethodGet, "/v1/Resellers/"+id, h)
				if got.status != http.StatusOK {
					t.Fatalf("status = %d, want 200", got.status)
				}
				if cl := got.header.Get("Content-Length"); cl != strconv.Itoa(len(got.body)) {
					t.Errorf("Content-Length = %s, body is %d bytes", cl, len(got.body))
				}
				if strings.Contains(string(got.body), strings.TrimPrefix(c.auth, "Bearer ")) {
					t.Errorf("the body holds the token: %s", got.body)
				}
				wantMap, gotMap := decodeFold(t, want.body), decodeFold(t, got.body)
				if fp := sandbox.CredentialFingerprint(c.auth, c.tenant); gotMap["internalidentifier"] != fp {
					t.Errorf("internalIdentifier = %v, want %s", gotMap["internalidentifier"], fp)
				}
				delete(wantMap, "internalidentifier")
				delete(gotMap, "internalidentifier")
				if diff := cmp.Diff(wantMap, gotMap); diff != "" {
					t.Errorf("payload changed beyond internalIdentifier (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestWithCredentialEchoLinks checks acceptance links in both forms (JSON string and
// text/plain), with and without a reseller.
func TestWithCredentialEchoLinks(t *testing.T) {
	_, plain := startServer(t, nil)
	_, echo := startServer(t, sandbox.New(sandbox.WithCredentialEcho()))
	fp := sandbox.CredentialFingerprint(testAuth, testTenant)
	link := func(t *testing.T, res result) string {
		t.Helper()
		if res.status != http.StatusOK {
			t.Fatalf("status = %d, want 200 (%s)", res.status, res.body)
		}
		if cl := res.header.Get("Content-Length"); cl != strconv.Itoa(len(res.body)) {
			t.Errorf("Content-Length = %s, body is %d bytes", cl, len(res.body))
		}
		if strings.HasPrefix(res.header.Get("Content-Type"), "text/plain") {
			return string(res.body)
		}
		var s string
		if err := json.Unmarshal(res.body, &s); err != nil {
			t.Fatalf("body %q: %v", res.body, err)
		}
		return s
	}
	for _, instance := range []string{sandbox.SpecProviderInstanceID, sandbox.PlainTextProviderInstanceID} {
		for _, reseller := range []string{"", sandbox.ContosoResellerID, sandbox.LitwareResellerID} {
			t.Run(instance+"/"+reseller, func(t *testing.T) {
				q := url.Values{"providerInstanceId": {instance}}
				if reseller != "" {
					q.Set("resellerId", reseller)
				}
				target := "/v1/Customers/relationship-acceptance?" + q.Encode()
				wantRes, gotRes := do(t, plain, http.MethodGet, target, validHeader()), do(t, echo, http.MethodGet, target, validHeader())
				if a, b := wantRes.header.Get("Content-Type"), gotRes.header.Get("Content-Type"); a != b {
					t.Errorf("Content-Type = %q, want %q", b, a)
				}
				want, got := link(t, wantRes), link(t, gotRes)
				u, err := url.Parse(got)
				if err != nil {
					t.Fatal(err)
				}
				if v := u.Query().Get(sandbox.CredentialLinkParameter); v != fp {
					t.Errorf("%s = %q, want %q in %s", sandbox.CredentialLinkParameter, v, fp, got)
				}
				if stripped := strings.Replace(got, "&"+sandbox.CredentialLinkParameter+"="+fp, "", 1); stripped != want {
					t.Errorf("link without the parameter = %s, want %s", stripped, want)
				}
			})
		}
	}
}

// TestWithCredentialEchoErrors checks that error answers are the same as without echo.
func TestWithCredentialEchoErrors(t *testing.T) {
	_, plain := startServer(t, nil)
	_, echo := startServer(t, sandbox.New(sandbox.WithCredentialEcho()))
	for _, target := range []string{
		"/v1/Resellers/" + sandbox.UnknownResellerID,
		"/v1/Resellers/not-a-uuid",
		"/v1/Customers/relationship-acceptance?providerInstanceId=" + sandbox.UnknownProviderInstanceID,
	} {
		want, got := do(t, plain, http.MethodGet, target, validHeader()), do(t, echo, http.MethodGet, target, validHeader())
		if want.status != got.status || string(want.body) != string(got.body) {
			t.Errorf("%s: got %d %s, want %d %s", target, got.status, got.body, want.status, want.body)
		}
	}
}
