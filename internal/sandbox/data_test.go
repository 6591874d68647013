package sandbox_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
)

// Typed views of a reseller payload. encoding/json matches names case-insensitively,
// as ASP.NET does, so these decode the PascalCase sample too.
type (
	reseller struct {
		ID                 string             `json:"id"`
		CompanyName        *string            `json:"companyName"`
		Country            *string            `json:"country"`
		AddressLine1       *string            `json:"addressLine1"`
		AddressLine2       *string            `json:"addressLine2"`
		City               *string            `json:"city"`
		State              *string            `json:"state"`
		ZipCode            *string            `json:"zipCode"`
		FirstName          *string            `json:"firstName"`
		LastName           *string            `json:"lastName"`
		Email              *string            `json:"email"`
		Phone              *string            `json:"phone"`
		InternalIdentifier *string            `json:"internalIdentifier"`
		TaxID              *string            `json:"taxId"`
		ProviderResellers  []providerReseller `json:"providerResellers"`
		CustomDomain       *customDomain      `json:"customDomain"`
	}
	providerReseller struct {
		ProviderInstanceID   string                 `json:"providerInstanceId"`
		PriceMargin          priceMargin            `json:"priceMargin"`
		OfferTypeMargins     map[string]priceMargin `json:"offerTypeMargins"`
		ProviderResellerID   *string                `json:"providerResellerId"`
		ResellerProviderData *string                `json:"resellerProviderData"`
		Status               *enum                  `json:"status"`
	}
	priceMargin struct {
		MarginRule enum     `json:"marginRule"`
		Value      *float64 `json:"value"`
	}
	customDomain struct {
		CustomDomain *string `json:"customDomain"`
		Status       *enum   `json:"status"`
	}
	enum struct {
		Name *string `json:"name"`
	}
)

var (
	resellerKeys = []string{
		"addressLine1", "addressLine2", "city", "companyName", "country", "customDomain", "email",
		"firstName", "id", "internalIdentifier", "lastName", "phone", "providerResellers",
		"state", "taxId", "zipCode",
	}
	providerResellerKeys = []string{
		"offerTypeMargins", "priceMargin", "providerInstanceId", "providerResellerId",
		"resellerProviderData", "status",
	}
)

func ptr[T any](v T) *T { return &v }

// fetchAll gets every sample reseller's payload from a fresh server.
func fetchAll(t *testing.T) map[string][]byte {
	t.Helper()
	_, ts := startServer(t, nil)
	bodies := make(map[string][]byte)
	for _, id := range sandbox.Resellers() {
		res := do(t, ts, http.MethodGet, "/v1/Resellers/"+id, validHeader())
		if res.status != http.StatusOK {
			t.Fatalf("GET reseller %s: status %d, want 200", id, res.status)
		}
		bodies[id] = res.body
	}
	return bodies
}

// payloadID returns the id property of a reseller payload, whatever its casing.
func payloadID(t *testing.T, body []byte) string {
	t.Helper()
	var r reseller
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("payload %q: %v", body, err)
	}
	return r.ID
}

// keys returns an object's property names, sorted.
func keys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// pascal upper-cases the first letter of each name, as the PascalCase sample writes them.
func pascal(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strings.ToUpper(n[:1]) + n[1:]
	}
	slices.Sort(out)
	return out
}

func TestResellers(t *testing.T) {
	want := []string{
		sandbox.ContosoResellerID,
		sandbox.FabrikamResellerID,
		sandbox.NorthwindResellerID,
		sandbox.AdatumResellerID,
		sandbox.LitwareResellerID,
	}
	got := sandbox.Resellers()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Resellers() mismatch (-want +got):\n%s", diff)
	}
	if !slices.IsSorted(got) {
		t.Errorf("Resellers() = %v, not sorted", got)
	}
	got[0] = "changed"
	if again := sandbox.Resellers(); again[0] != sandbox.ContosoResellerID {
		t.Errorf("Resellers() shares its slice with callers: got %q after a change", again[0])
	}
	if slices.Contains(got, sandbox.UnknownResellerID) {
		t.Errorf("Resellers() holds UnknownResellerID")
	}
}

func TestPayloadShape(t *testing.T) {
	for id, body := range fetchAll(t) {
		t.Run(id, func(t *testing.T) {
			if !json.Valid(body) {
				t.Fatalf("payload is not valid JSON: %s", body)
			}
			var m map[string]any
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatalf("payload does not decode into map[string]any: %v", err)
			}
			wantKeys, wantPRKeys := resellerKeys, providerResellerKeys
			if id == sandbox.NorthwindResellerID {
				wantKeys, wantPRKeys = pascal(resellerKeys), pascal(providerResellerKeys)
			}
			if diff := cmp.Diff(wantKeys, keys(m)); diff != "" {
				t.Errorf("reseller keys mismatch (-want +got):\n%s", diff)
			}
			prs, _ := m[wantKeys[slices.IndexFunc(wantKeys, func(k string) bool { return strings.EqualFold(k, "providerResellers") })]].([]any)
			for i, pr := range prs {
				if diff := cmp.Diff(wantPRKeys, keys(pr.(map[string]any))); diff != "" {
					t.Errorf("providerResellers[%d] keys mismatch (-want +got):\n%s", i, diff)
				}
			}

			var r reseller
			if err := json.Unmarshal(body, &r); err != nil {
				t.Fatalf("payload does not decode into the typed view: %v", err)
			}
			if r.ID != id {
				t.Errorf("id = %q, want %q", r.ID, id)
			}
			if r.CompanyName == nil || *r.CompanyName == "" {
				t.Errorf("companyName is empty")
			}
			for i, pr := range r.ProviderResellers {
				if pr.PriceMargin.Value == nil || *pr.PriceMargin.Value < 0 || *pr.PriceMargin.Value > 999 {
					t.Errorf("providerResellers[%d].priceMargin.value = %v, want 0..999", i, pr.PriceMargin.Value)
				}
				if pr.ResellerProviderData != nil {
					var doc map[string]any
					if err := json.Unmarshal([]byte(*pr.ResellerProviderData), &doc); err != nil {
						t.Errorf("providerResellers[%d].resellerProviderData %q is not a JSON object: %v", i, *pr.ResellerProviderData, err)
					}
				}
			}
		})
	}
}

// TestSampleCoverage keeps the samples honest about what the package documentation and
// docs/sandbox.md say they exercise.
func TestSampleCoverage(t *testing.T) {
	rules := map[string]bool{}
	statuses := map[string]bool{}
	var nullOfferTypeMargins, emptyOfferTypeMargins bool
	for id, body := range fetchAll(t) {
		var r reseller
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		for _, pr := range r.ProviderResellers {
			rules[strings.ToLower(*pr.PriceMargin.MarginRule.Name)] = true
			for _, m := range pr.OfferTypeMargins {
				rules[strings.ToLower(*m.MarginRule.Name)] = true
			}
			statuses[*pr.Status.Name] = true
			nullOfferTypeMargins = nullOfferTypeMargins || pr.OfferTypeMargins == nil
			emptyOfferTypeMargins = emptyOfferTypeMargins || (pr.OfferTypeMargins != nil && len(pr.OfferTypeMargins) == 0)
		}
	}
	for _, rule := range []string{"markup", "margin", "splitmargin", "erpminusdiscount"} {
		if !rules[rule] {
			t.Errorf("no sample uses margin rule %s", rule)
		}
	}
	for _, status := range []string{"Processing", "Success", "Failed"} {
		if !statuses[status] {
			t.Errorf("no sample has status %s", status)
		}
	}
	if !nullOfferTypeMargins || !emptyOfferTypeMargins {
		t.Errorf("null offerTypeMargins covered: %v, empty covered: %v; want both", nullOfferTypeMargins, emptyOfferTypeMargins)
	}
}

func TestContoso(t *testing.T) {
	body := fetchAll(t)[sandbox.ContosoResellerID]
	if n := len(body); n < 1300 || n > 2000 {
		t.Errorf("Contoso payload is %d bytes, want about 1.5 KB", n)
	}
	var r reseller
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	if got := len(r.ProviderResellers); got != 2 {
		t.Fatalf("Contoso has %d provider resellers, want 2", got)
	}
	tier2, tier1 := r.ProviderResellers[0], r.ProviderResellers[1]
	wantTier2 := providerReseller{
		ProviderInstanceID: sandbox.SpecProviderInstanceID,
		PriceMargin:        priceMargin{MarginRule: enum{Name: ptr("Markup")}, Value: ptr(8.0)},
		OfferTypeMargins: map[string]priceMargin{
			"License":              {MarginRule: enum{Name: ptr("SplitMargin")}, Value: ptr(10.0)},
			"Azure":                {MarginRule: enum{Name: ptr("ErpMinusDiscount")}, Value: ptr(3.5)},
			"Software":             {MarginRule: enum{Name: ptr("Margin")}, Value: ptr(12.25)},
			"AzureReservation":     {MarginRule: enum{Name: ptr("Markup")}, Value: ptr(4.0)},
			"Perpetual":            {MarginRule: enum{Name: ptr("Markup")}, Value: ptr(6.0)},
			"SoftwareSubscription": {MarginRule: enum{Name: ptr("SplitMargin")}, Value: ptr(7.5)},
			"Marketplace":          {MarginRule: enum{Name: ptr("Margin")}, Value: ptr(9.0)},
		},
		ProviderResellerID:   ptr("4794019"),
		ResellerProviderData: ptr(`{"IndirectResellerId":"f94f06fd-dc98-47fb-bd49-63bc98bd87f2","SecondaryMpnIds":["123456","654321"]}`),
		Status:               &enum{Name: ptr("Success")},
	}
	if diff := cmp.Diff(wantTier2, tier2); diff != "" {
		t.Errorf("Tier 2 provider reseller mismatch (-want +got):\n%s", diff)
	}
	wantTier1 := providerReseller{
		ProviderInstanceID:   sandbox.PlainTextProviderInstanceID,
		PriceMargin:          priceMargin{MarginRule: enum{Name: ptr("Margin")}, Value: ptr(0.0)},
		ResellerProviderData: ptr("{}"),
		Status:               &enum{Name: ptr("Processing")},
	}
	if diff := cmp.Diff(wantTier1, tier1); diff != "" {
		t.Errorf("Tier 1 provider reseller mismatch (-want +got):\n%s", diff)
	}
}

func TestFabrikamNulls(t *testing.T) {
	body := fetchAll(t)[sandbox.FabrikamResellerID]
	var r reseller
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	want := reseller{
		ID:                 sandbox.FabrikamResellerID,
		CompanyName:        ptr("Fabrikam, Inc."),
		Country:            ptr("US"),
		AddressLine1:       ptr("1 Microsoft Way"),
		City:               ptr("Redmond"),
		State:              ptr("WA"),
		ZipCode:            ptr("98052"),
		FirstName:          ptr("Bo"),
		LastName:           ptr("Lee"),
		Email:              ptr("bo.lee@fabrikam.example"),
		Phone:              ptr("+14255550100"),
		InternalIdentifier: ptr(""),
		ProviderResellers: []providerReseller{{
			ProviderInstanceID: "0e1d2c3b-4a59-4687-a7b6-c5d4e3f2a1b0",
			PriceMargin:        priceMargin{MarginRule: enum{Name: ptr("Margin")}, Value: ptr(15.0)},
			Status:             &enum{Name: ptr("Failed")},
		}},
	}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("Fabrikam mismatch (-want +got):\n%s", diff)
	}
	// The nulls are explicit, not missing properties.
	for _, null := range []string{`"addressLine2":null`, `"taxId":null`, `"customDomain":null`, `"offerTypeMargins":null`, `"resellerProviderData":null`} {
		if !strings.Contains(string(body), null) {
			t.Errorf("payload lacks %s", null)
		}
	}
}

func TestLitwareNullProviderResellers(t *testing.T) {
	body := fetchAll(t)[sandbox.LitwareResellerID]
	for _, s := range []string{`"providerResellers":null`, `"internalIdentifier":null`, `"customDomain":null`, "Ibérica"} {
		if !strings.Contains(string(body), s) {
			t.Errorf("payload lacks %s: %s", s, body)
		}
	}
}
