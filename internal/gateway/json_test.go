package gateway

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
)

// TestPresence pins how unset and empty fields appear in JSON: null from the
// upstream stays absent, "" stays "", fields without presence always appear
// (zero enums by name, [] and {}).
func TestPresence(t *testing.T) {
	tests := []struct {
		name     string
		upstream http.Handler
		id       string
		want     map[string]any
	}{
		{
			name:     "sandbox Fabrikam: null addressLine2, taxId and customDomain, empty internalIdentifier",
			upstream: sandbox.New(),
			id:       sandbox.FabrikamResellerID,
			want: map[string]any{
				"id":                 sandbox.FabrikamResellerID,
				"companyName":        "Fabrikam, Inc.",
				"country":            "US",
				"addressLine1":       "1 Microsoft Way",
				"city":               "Redmond",
				"state":              "WA",
				"zipCode":            "98052",
				"firstName":          "Bo",
				"lastName":           "Lee",
				"email":              "bo.lee@fabrikam.example",
				"phone":              "+14255550100",
				"internalIdentifier": "",
				"providerResellers": []any{map[string]any{
					"providerInstanceId": "0e1d2c3b-4a59-4687-a7b6-c5d4e3f2a1b0",
					"priceMargin":        map[string]any{"marginRule": "MARGIN_RULE_MARGIN", "value": 15.0},
					"offerTypeMargins":   map[string]any{},
					"status":             "PROVIDER_RESELLER_STATUS_FAILED",
				}},
			},
		},
		{
			name: "sparse upstream: nulls everywhere, zero margin, unknown enums",
			upstream: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, `{"id":"`+testID+`","companyName":null,"providerResellers":[
					{"providerInstanceId":"`+testPI+`","priceMargin":{"marginRule":null,"value":0},
					 "offerTypeMargins":{},"resellerProviderData":"{}","status":{"name":"Brand-new"}}],
					"customDomain":{"customDomain":"","status":null}}`)
			}),
			id: testID,
			want: map[string]any{
				"id": testID,
				"providerResellers": []any{map[string]any{
					"providerInstanceId":   testPI,
					"priceMargin":          map[string]any{"marginRule": "MARGIN_RULE_UNSPECIFIED", "value": 0.0},
					"offerTypeMargins":     map[string]any{},
					"resellerProviderData": "{}",
					"providerData":         map[string]any{"secondaryMpnIds": []any{}},
					"status":               "PROVIDER_RESELLER_STATUS_UNSPECIFIED",
				}},
				"customDomain": map[string]any{"customDomain": ""},
			},
		},
		{
			name: "null providerResellers become []",
			upstream: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, `{"id":"`+testID+`","providerResellers":null}`)
			}),
			id:   testID,
			want: map[string]any{"id": testID, "providerResellers": []any{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, tt.upstream)
			r := s.do(t, http.MethodGet, "/v1/Resellers/"+tt.id,
				"X-Tenant", sandbox.SampleTenant, "Authorization", "Bearer "+sandbox.SampleToken)
			if r.status != http.StatusOK {
				t.Fatalf("status = %d, want 200: %s", r.status, r.body)
			}
			if diff := cmp.Diff(tt.want, r.object(t)); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAcceptanceLinkBody: the link is the bare JSON string, as the upstream
// sends it, for JSON and text/plain upstream answers alike.
func TestAcceptanceLinkBody(t *testing.T) {
	tests := []struct {
		name string
		pi   string
		rid  string
		want string
	}{
		{name: "CSP link, JSON upstream", pi: sandbox.SpecProviderInstanceID,
			want: "https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship&partnerId=" + sandbox.SpecProviderTenantID + "&msppId=0&DAP=true#/BillingAccounts/partner-invitation"},
		{name: "reseller link, text/plain upstream", pi: sandbox.PlainTextProviderInstanceID, rid: sandbox.ContosoResellerID,
			want: "https://admin.microsoft.com/Adminportal/Home?invType=IndirectResellerRelationship&partnerId=6d1f3b8a-0c42-4e97-b5a3-9e27c4d81f60&msppId=4794019&indirectCSPId=" + sandbox.PlainTextProviderTenantID + "&DAP=true#/BillingAccounts/partner-invitation"},
	}
	s := newStack(t, sandbox.New())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "/v1/Customers/relationship-acceptance?providerInstanceId=" + tt.pi
			if tt.rid != "" {
				path += "&resellerId=" + tt.rid
			}
			r := s.do(t, http.MethodGet, path, "X-Tenant", sandbox.SampleTenant, "Authorization", "Bearer "+sandbox.SampleToken)
			if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" {
				t.Fatalf("status %d, Content-Type %q: want 200 JSON: %s", r.status, r.header.Get("Content-Type"), r.body)
			}
			var got string
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatalf("body is not a JSON string: %v: %s", err, r.body)
			}
			if got != tt.want {
				t.Errorf("link = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestResellerGolden pins the mirror's JSON of a reseller with every field
// set (escapes, map order, enum names, -0) against testdata/reseller.json,
// what the mirror wrote before it used protojson for every message. The
// comparison is by meaning, numbers by their text: protojson varies its
// whitespace on purpose.
func TestResellerGolden(t *testing.T) {
	s := proto.String
	r := &pb.Reseller{
		Id: "11111111-1111-4111-8111-111111111111", CompanyName: s("Contoso <Ltd> & \"Co\""), Country: s("PT"),
		AddressLine1: s("Rua 1\n2º"), AddressLine2: s(""), City: s("Lisboa"), State: s("Lisboa"), ZipCode: s("1000-001"),
		FirstName: s("Zoë"), LastName: s("O'Brien"), Email: s("a@b.example"), Phone: s("+351 21 000 0000"),
		InternalIdentifier: s("\\x\t\u2028\ufffd😀"), TaxId: s("PT123456789"),
		ProviderResellers: []*pb.ProviderReseller{{
			ProviderInstanceId: "cb3cd15b-1d6e-45be-b493-c71549cbfd87",
			PriceMargin:        &pb.PriceMargin{MarginRule: pb.MarginRule_MARGIN_RULE_MARKUP, Value: proto.Float64(12.5)},
			OfferTypeMargins: map[string]*pb.PriceMargin{
				"NCE":     {MarginRule: pb.MarginRule_MARGIN_RULE_SPLIT_MARGIN, Value: proto.Float64(0.1)},
				"AZURE":   {MarginRule: pb.MarginRule_MARGIN_RULE_ERP_MINUS_DISCOUNT},
				"\x01ctl": {Value: proto.Float64(math.Copysign(0, -1))},
			},
			ProviderResellerId:   s("4794019"),
			ResellerProviderData: s(`{"indirectResellerId":"x","secondaryMpnIds":["1","2"]}`),
			Status:               pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_SUCCESS,
			ProviderData:         &pb.ProviderData{IndirectResellerId: s("x"), SecondaryMpnIds: []string{"1", "2"}},
		}, {}},
		CustomDomain: &pb.CustomDomain{CustomDomain: s("portal.example"), Status: s("Verified")},
	}
	got, err := newMarshaler().Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/reseller.json")
	if err != nil {
		t.Fatal(err)
	}
	decode := func(b []byte) any {
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			t.Fatalf("not JSON (%v): %s", err, b)
		}
		return v
	}
	if diff := cmp.Diff(decode(want), decode(got)); diff != "" {
		t.Errorf("JSON (-golden +got):\n%s", diff)
	}
}
