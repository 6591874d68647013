package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"unicode/utf8"

	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
)

// queryRoutes are the RPC routes' request messages with their path
// parameters and the query names each accepts.
var queryRoutes = []struct {
	op     string
	in     protoreflect.MessageDescriptor
	path   map[string]string
	params map[string]string // accepted spelling → field
}{
	{"GetReseller", (&pb.GetResellerRequest{}).ProtoReflect().Descriptor(), map[string]string{"reseller_id": testID}, nil},
	{"GetAcceptanceLink", (&pb.GetAcceptanceLinkRequest{}).ProtoReflect().Descriptor(), nil, map[string]string{
		"providerInstanceId": "provider_instance_id", "provider_instance_id": "provider_instance_id",
		"resellerId": "reseller_id", "reseller_id": "reseller_id",
	}},
}

// FuzzQueryCheck feeds raw query strings to the REST mirror's query check
// (sentQuery.problems) for every route, and the rejections to rejectQuery.
// The check never panics; it accepts exactly the queries whose every name
// is an accepted spelling, singular fields given once under one spelling; a
// rejection is a bounded 400 body with exactly one ErrorInfo, whatever the
// query. Seed corpus: testdata/fuzz/FuzzQueryCheck.
func FuzzQueryCheck(f *testing.F) {
	const pi, id = "cb3cd15b-1d6e-45be-b493-c71549cbfd87", "11111111-1111-4111-8111-111111111111"
	for _, q := range []string{
		"", "providerInstanceId=" + pi, "providerInstanceId=" + pi + "&resellerId=" + id,
		"provider_instance_id=" + pi + "&reseller_id=" + id, "providerInstanceId=" + pi + "&provider_instance_id=" + pi,
		"resellerId=a&resellerId=b", "resellerID=" + id, "providerInstanceId=%zz", "a;b", "x[y]=1", "=", "&&&", "%00=%0D%0A",
		"providerInstanceId=..%2F..%2F", "r%C3%A9sellerId=1", "\xff=\xfe", "a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=10&k=11&l=12&m=13&n=14&o=15&p=16&q=17&r=18",
	} {
		for i := range queryRoutes {
			f.Add(q, uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, raw string, which uint8) {
		rt := queryRoutes[int(which)%len(queryRoutes)]
		fvs := (&sentQuery{raw: raw, path: rt.path}).problems(rt.in, rt.op)

		values, perr := url.ParseQuery(raw)
		want := perr == nil
		seen := map[string]bool{}
		for name, vals := range values {
			field, ok := rt.params[name]
			if !ok || len(vals) > 1 || seen[field] {
				want = false
				break
			}
			seen[field] = true
		}
		if (len(fvs) == 0) != want {
			t.Fatalf("check(%q) on %s = %v, want accepted %v", raw, rt.op, fvs, want)
		}
		if len(fvs) == 0 {
			return
		}
		if len(fvs) > maxViolations {
			t.Fatalf("check(%q) gave %d violations, want at most %d", raw, len(fvs), maxViolations)
		}
		for _, fv := range fvs {
			if !utf8.ValidString(fv.GetField()) || !utf8.ValidString(fv.GetDescription()) || len(fv.GetField()) > maxNameLen+len("…") {
				t.Fatalf("violation %q: field or description not bounded valid UTF-8", fv)
			}
		}

		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		rejectQuery(w, r, rt.op, fvs)
		if w.Code != http.StatusBadRequest {
			t.Fatalf("rejectQuery status = %d, want 400", w.Code)
		}
		if w.Body.Len() > 16<<10 {
			t.Fatalf("rejectQuery body is %d bytes: not bounded", w.Body.Len())
		}
		var st struct {
			Code    int              `json:"code"`
			Details []map[string]any `json:"details"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil {
			t.Fatalf("rejectQuery body is not JSON: %v\n%s", err, w.Body)
		}
		infos := 0
		for _, d := range st.Details {
			if d["@type"] == "type.googleapis.com/google.rpc.ErrorInfo" {
				infos++
				if d["reason"] != apierr.ReasonInvalidQuery {
					t.Fatalf("ErrorInfo reason = %v", d["reason"])
				}
			}
		}
		if st.Code != 3 || infos != 1 {
			t.Fatalf("rejectQuery body: code %d with %d ErrorInfo, want 3 with exactly one\n%s", st.Code, infos, w.Body)
		}
	})
}
