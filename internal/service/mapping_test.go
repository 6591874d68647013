package service

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
)

// ptr returns a pointer to a copy of v, for the DTOs' nullable fields and
// the protos' optional ones.
func ptr[T any](v T) *T { return &v }

// enum is the upstream's {"name": name}.
func enum(name string) *rest.EnumName { return &rest.EnumName{Name: &name} }

// unknownReport is one call of the mappers' unknown-enum callback.
type unknownReport struct{ Field, Name string }

// recordUnknown returns an unknown-enum callback and the reports it
// collected, sorted (offer type margins are mapped in map order).
func recordUnknown() (func(field, name string), func() []unknownReport) {
	var got []unknownReport
	record := func(field, name string) { got = append(got, unknownReport{field, name}) }
	sorted := func() []unknownReport {
		out := slices.Clone(got)
		slices.SortFunc(out, func(a, b unknownReport) int {
			return cmp.Or(cmp.Compare(a.Field, b.Field), cmp.Compare(a.Name, b.Name))
		})
		return out
	}
	return record, sorted
}

const (
	tier2Data = `{"IndirectResellerId":"f94f06fd-dc98-47fb-bd49-63bc98bd87f2","SecondaryMpnIds":["123456","654321"]}`
	tier2ID   = "f94f06fd-dc98-47fb-bd49-63bc98bd87f2"
)

func TestResellerToProto(t *testing.T) {
	full := &rest.Reseller{
		ID:                 ptr("11111111-1111-4111-8111-111111111111"),
		CompanyName:        ptr("Contoso Cloud Solutions, Lda."),
		Country:            ptr("PT"),
		AddressLine1:       ptr("Avenida da Liberdade 110"),
		AddressLine2:       ptr("3.º Esquerdo"),
		City:               ptr("Lisboa"),
		State:              ptr("Lisboa District"),
		ZipCode:            ptr("1250-146"),
		FirstName:          ptr("Ana"),
		LastName:           ptr("Silva"),
		Email:              ptr("ana.silva@contoso.example"),
		Phone:              ptr("+351213000000"),
		InternalIdentifier: ptr("RES-0042"),
		TaxID:              ptr("PT509999990"),
		ProviderResellers: []rest.ProviderReseller{
			{
				ProviderInstanceID: ptr("cb3cd15b-1d6e-45be-b493-c71549cbfd87"),
				PriceMargin:        &rest.PriceMargin{MarginRule: enum("Markup"), Value: ptr(8.0)},
				OfferTypeMargins: rest.OfferTypeMargins{
					"License": {MarginRule: enum("SplitMargin"), Value: ptr(10.0)},
				},
				ProviderResellerID:   ptr("4794019"),
				ResellerProviderData: ptr(tier2Data),
				ProviderData:         tier2ProviderData(),
				Status:               enum("Success"),
			},
			{
				ProviderInstanceID:   ptr("8a6e0f3d-2b4c-4d1e-9f7a-5c3b1e0d2a94"),
				PriceMargin:          &rest.PriceMargin{MarginRule: enum("Margin"), Value: ptr(0.0)},
				ResellerProviderData: ptr("{}"),
				ProviderData:         &rest.ProviderData{},
				Status:               enum("Processing"),
			},
		},
		CustomDomain: &rest.CustomDomain{CustomDomain: ptr("cloud.contoso.example"), Status: enum("Active")},
	}
	fullWant := &pb.Reseller{
		Id:                 "11111111-1111-4111-8111-111111111111",
		CompanyName:        ptr("Contoso Cloud Solutions, Lda."),
		Country:            ptr("PT"),
		AddressLine1:       ptr("Avenida da Liberdade 110"),
		AddressLine2:       ptr("3.º Esquerdo"),
		City:               ptr("Lisboa"),
		State:              ptr("Lisboa District"),
		ZipCode:            ptr("1250-146"),
		FirstName:          ptr("Ana"),
		LastName:           ptr("Silva"),
		Email:              ptr("ana.silva@contoso.example"),
		Phone:              ptr("+351213000000"),
		InternalIdentifier: ptr("RES-0042"),
		TaxId:              ptr("PT509999990"),
		ProviderResellers: []*pb.ProviderReseller{
			{
				ProviderInstanceId: "cb3cd15b-1d6e-45be-b493-c71549cbfd87",
				PriceMargin:        &pb.PriceMargin{MarginRule: pb.MarginRule_MARGIN_RULE_MARKUP, Value: ptr(8.0)},
				OfferTypeMargins: map[string]*pb.PriceMargin{
					"License": {MarginRule: pb.MarginRule_MARGIN_RULE_SPLIT_MARGIN, Value: ptr(10.0)},
				},
				ProviderResellerId:   ptr("4794019"),
				ResellerProviderData: ptr(tier2Data),
				Status:               pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_SUCCESS,
				ProviderData:         &pb.ProviderData{IndirectResellerId: ptr(tier2ID), SecondaryMpnIds: []string{"123456", "654321"}},
			},
			{
				ProviderInstanceId:   "8a6e0f3d-2b4c-4d1e-9f7a-5c3b1e0d2a94",
				PriceMargin:          &pb.PriceMargin{MarginRule: pb.MarginRule_MARGIN_RULE_MARGIN, Value: ptr(0.0)},
				ResellerProviderData: ptr("{}"),
				Status:               pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_PROCESSING,
				ProviderData:         &pb.ProviderData{},
			},
		},
		CustomDomain: &pb.CustomDomain{CustomDomain: ptr("cloud.contoso.example"), Status: ptr("Active")},
	}

	tests := []struct {
		name string
		give *rest.Reseller
		want *pb.Reseller
	}{
		{name: "nil", give: nil, want: &pb.Reseller{}},
		{name: "every field", give: full, want: fullWant},
		{
			// null (or absent) upstream strings leave the optional fields absent
			name: "every nullable null",
			give: &rest.Reseller{},
			want: &pb.Reseller{},
		},
		{
			// "" is a value: the optional fields are present and empty
			name: "every nullable empty string",
			give: &rest.Reseller{
				ID: ptr(""), CompanyName: ptr(""), Country: ptr(""), AddressLine1: ptr(""), AddressLine2: ptr(""),
				City: ptr(""), State: ptr(""), ZipCode: ptr(""), FirstName: ptr(""), LastName: ptr(""),
				Email: ptr(""), Phone: ptr(""), InternalIdentifier: ptr(""), TaxID: ptr(""),
			},
			want: &pb.Reseller{
				CompanyName: ptr(""), Country: ptr(""), AddressLine1: ptr(""), AddressLine2: ptr(""),
				City: ptr(""), State: ptr(""), ZipCode: ptr(""), FirstName: ptr(""), LastName: ptr(""),
				Email: ptr(""), Phone: ptr(""), InternalIdentifier: ptr(""), TaxId: ptr(""),
			},
		},
		{
			name: "some null some empty",
			give: &rest.Reseller{ID: ptr("22222222-2222-4222-8222-222222222222"), CompanyName: ptr("Fabrikam"), AddressLine2: nil, InternalIdentifier: ptr(""), TaxID: nil},
			want: &pb.Reseller{Id: "22222222-2222-4222-8222-222222222222", CompanyName: ptr("Fabrikam"), InternalIdentifier: ptr("")},
		},
		{
			name: "empty provider resellers",
			give: &rest.Reseller{ProviderResellers: []rest.ProviderReseller{}},
			want: &pb.Reseller{},
		},
		{
			name: "custom domain null",
			give: &rest.Reseller{CustomDomain: nil},
			want: &pb.Reseller{},
		},
		{
			name: "custom domain with null value and no status",
			give: &rest.Reseller{CustomDomain: &rest.CustomDomain{}},
			want: &pb.Reseller{CustomDomain: &pb.CustomDomain{}},
		},
		{
			name: "custom domain with null status name",
			give: &rest.Reseller{CustomDomain: &rest.CustomDomain{CustomDomain: ptr("partners.example"), Status: &rest.EnumName{}}},
			want: &pb.Reseller{CustomDomain: &pb.CustomDomain{CustomDomain: ptr("partners.example")}},
		},
		{
			name: "custom domain with status, value null",
			give: &rest.Reseller{CustomDomain: &rest.CustomDomain{Status: enum("NotConfigured")}},
			want: &pb.Reseller{CustomDomain: &pb.CustomDomain{Status: ptr("NotConfigured")}},
		},
		{
			// the status is free text: kept as sent, casing included
			name: "custom domain status kept as sent",
			give: &rest.Reseller{CustomDomain: &rest.CustomDomain{CustomDomain: ptr(""), Status: enum("pending VERIFICATION")}},
			want: &pb.Reseller{CustomDomain: &pb.CustomDomain{CustomDomain: ptr(""), Status: ptr("pending VERIFICATION")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			unknown, reports := recordUnknown()
			got := resellerToProto(tt.give, unknown)
			if diff := gocmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("resellerToProto() mismatch (-want +got):\n%s", diff)
			}
			if r := reports(); len(r) != 0 {
				t.Errorf("unknown enum reports = %v, want none", r)
			}
		})
	}
}

func TestProviderResellerToProto(t *testing.T) {
	tests := []struct {
		name string
		give rest.ProviderReseller
		want *pb.ProviderReseller
	}{
		{
			name: "all null",
			give: rest.ProviderReseller{},
			want: &pb.ProviderReseller{},
		},
		{
			name: "tier 2",
			give: rest.ProviderReseller{
				ProviderInstanceID:   ptr("cb3cd15b-1d6e-45be-b493-c71549cbfd87"),
				PriceMargin:          &rest.PriceMargin{MarginRule: enum("markup"), Value: ptr(8.0)},
				ProviderResellerID:   ptr("968bd16f-7eca-494d-b29f-440b9ef5cf5d"),
				ResellerProviderData: ptr(tier2Data),
				ProviderData:         tier2ProviderData(),
				Status:               enum("FAILED"),
			},
			want: &pb.ProviderReseller{
				ProviderInstanceId:   "cb3cd15b-1d6e-45be-b493-c71549cbfd87",
				PriceMargin:          &pb.PriceMargin{MarginRule: pb.MarginRule_MARGIN_RULE_MARKUP, Value: ptr(8.0)},
				ProviderResellerId:   ptr("968bd16f-7eca-494d-b29f-440b9ef5cf5d"),
				ResellerProviderData: ptr(tier2Data),
				Status:               pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_FAILED,
				ProviderData:         &pb.ProviderData{IndirectResellerId: ptr(tier2ID), SecondaryMpnIds: []string{"123456", "654321"}},
			},
		},
		{
			name: "provider reseller id empty string",
			give: rest.ProviderReseller{ProviderResellerID: ptr("")},
			want: &pb.ProviderReseller{ProviderResellerId: ptr("")},
		},
		{
			name: "price margin without rule or value",
			give: rest.ProviderReseller{PriceMargin: &rest.PriceMargin{}},
			want: &pb.ProviderReseller{PriceMargin: &pb.PriceMargin{}},
		},
		{
			name: "offer type margins keep their casing",
			give: rest.ProviderReseller{OfferTypeMargins: rest.OfferTypeMargins{
				"License":          {MarginRule: enum("markup"), Value: ptr(10.0)},
				"license":          {MarginRule: enum("MARGIN"), Value: ptr(11.0)},
				"Azure":            {MarginRule: enum("SplitMargin"), Value: ptr(3.5)},
				"AzureReservation": {MarginRule: enum("erpMinusDiscount"), Value: ptr(999.0)},
				"Software":         {},
			}},
			want: &pb.ProviderReseller{OfferTypeMargins: map[string]*pb.PriceMargin{
				"License":          {MarginRule: pb.MarginRule_MARGIN_RULE_MARKUP, Value: ptr(10.0)},
				"license":          {MarginRule: pb.MarginRule_MARGIN_RULE_MARGIN, Value: ptr(11.0)},
				"Azure":            {MarginRule: pb.MarginRule_MARGIN_RULE_SPLIT_MARGIN, Value: ptr(3.5)},
				"AzureReservation": {MarginRule: pb.MarginRule_MARGIN_RULE_ERP_MINUS_DISCOUNT, Value: ptr(999.0)},
				"Software":         {},
			}},
		},
		{
			name: "offer type margins empty",
			give: rest.ProviderReseller{OfferTypeMargins: rest.OfferTypeMargins{}},
			want: &pb.ProviderReseller{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := providerResellerToProto(&tt.give, nil)
			if diff := gocmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("providerResellerToProto() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// tier2ProviderData is tier2Data as rest.DecodeReseller parses it.
func tier2ProviderData() *rest.ProviderData {
	return &rest.ProviderData{IndirectResellerID: ptr(tier2ID), SecondaryMpnIDs: []string{"123456", "654321"}}
}

func TestProviderResellerToProtoProviderData(t *testing.T) {
	tests := []struct {
		name string
		give *string
		want *pb.ProviderData // nil: absent
	}{
		{name: "tier 2 PascalCase", give: ptr(tier2Data), want: &pb.ProviderData{IndirectResellerId: ptr(tier2ID), SecondaryMpnIds: []string{"123456", "654321"}}},
		{
			name: "tier 2 camelCase with spaces",
			give: ptr(`{"indirectResellerId" : "f94f06fd-dc98-47fb-bd49-63bc98bd87f2","secondaryMpnIds": [ "123456", "654321"]}`),
			want: &pb.ProviderData{IndirectResellerId: ptr(tier2ID), SecondaryMpnIds: []string{"123456", "654321"}},
		},
		{name: "tier 2 null id no mpn ids", give: ptr(`{"IndirectResellerId":null,"SecondaryMpnIds":[]}`), want: &pb.ProviderData{}},
		{name: "tier 2 id only", give: ptr(`{"IndirectResellerId":"` + tier2ID + `"}`), want: &pb.ProviderData{IndirectResellerId: ptr(tier2ID)}},
		{name: "numeric mpn ids and nulls", give: ptr(`{"SecondaryMpnIds":[123456,"654321",null]}`), want: &pb.ProviderData{SecondaryMpnIds: []string{"123456", "654321"}}},
		{name: "unknown properties", give: ptr(`{"Foo":1,"IndirectResellerId":"` + tier2ID + `"}`), want: &pb.ProviderData{IndirectResellerId: ptr(tier2ID)}},
		{name: "tier 1 empty object", give: ptr("{}"), want: &pb.ProviderData{}},
		{name: "null", give: nil, want: nil},
		{name: "JSON null in the string", give: ptr("null"), want: nil},
		{name: "empty string", give: ptr(""), want: nil},
		{name: "not JSON", give: ptr("not json"), want: nil},
		{name: "truncated object", give: ptr(`{"IndirectResellerId":"`), want: nil},
		{name: "array", give: ptr(`["123456"]`), want: nil},
		{name: "wrong type", give: ptr(`{"IndirectResellerId":42}`), want: nil},
	}
	for _, tt := range tests {
		// rest.DecodeReseller is the one place that parses the string; the
		// raw string always stays, exactly as sent.
		t.Run(tt.name, func(t *testing.T) {
			data, err := json.Marshal(tt.give)
			if err != nil {
				t.Fatal(err)
			}
			r, err := rest.DecodeReseller([]byte(`{"providerResellers":[{"resellerProviderData":` + string(data) + `}]}`))
			if err != nil {
				t.Fatalf("DecodeReseller() error = %v", err)
			}
			got := providerResellerToProto(&r.ProviderResellers[0], nil)
			want := &pb.ProviderReseller{ResellerProviderData: tt.give, ProviderData: tt.want}
			if diff := gocmp.Diff(want, got, protocmp.Transform()); diff != "" {
				t.Errorf("providerResellerToProto(decoded resellerProviderData %v) mismatch (-want +got):\n%s", tt.give, diff)
			}
		})
	}
}

func TestProviderResellerToProtoUsesDecodedProviderData(t *testing.T) {
	// The ProviderData that DecodeReseller parsed is used as it is, and a
	// string it did not parse is not parsed here.
	tests := []struct {
		name string
		give *rest.ProviderData
		want *pb.ProviderData
	}{
		{name: "parsed", give: &rest.ProviderData{IndirectResellerID: ptr("from-the-decoder")}, want: &pb.ProviderData{IndirectResellerId: ptr("from-the-decoder")}},
		{name: "not parsed", give: nil, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			give := &rest.ProviderReseller{ResellerProviderData: ptr(tier2Data), ProviderData: tt.give}
			want := &pb.ProviderReseller{ResellerProviderData: ptr(tier2Data), ProviderData: tt.want}
			if diff := gocmp.Diff(want, providerResellerToProto(give, nil), protocmp.Transform()); diff != "" {
				t.Errorf("providerResellerToProto() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPriceMarginToProto(t *testing.T) {
	tests := []struct {
		name string
		give *rest.PriceMargin
		want *pb.PriceMargin
	}{
		{name: "nil stays nil", give: nil, want: nil},
		{name: "empty", give: &rest.PriceMargin{}, want: &pb.PriceMargin{}},
		{name: "value zero is present", give: &rest.PriceMargin{MarginRule: enum("Margin"), Value: ptr(0.0)}, want: &pb.PriceMargin{MarginRule: pb.MarginRule_MARGIN_RULE_MARGIN, Value: ptr(0.0)}},
		{name: "value null", give: &rest.PriceMargin{MarginRule: enum("Markup")}, want: &pb.PriceMargin{MarginRule: pb.MarginRule_MARGIN_RULE_MARKUP}},
		{name: "rule null", give: &rest.PriceMargin{Value: ptr(12.25)}, want: &pb.PriceMargin{Value: ptr(12.25)}},
		{name: "upper bound", give: &rest.PriceMargin{MarginRule: enum("ErpMinusDiscount"), Value: ptr(999.0)}, want: &pb.PriceMargin{MarginRule: pb.MarginRule_MARGIN_RULE_ERP_MINUS_DISCOUNT, Value: ptr(999.0)}},
		{name: "fraction", give: &rest.PriceMargin{MarginRule: enum("splitMargin"), Value: ptr(0.75)}, want: &pb.PriceMargin{MarginRule: pb.MarginRule_MARGIN_RULE_SPLIT_MARGIN, Value: ptr(0.75)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := priceMarginToProto(tt.give, nil)
			if tt.want == nil {
				if got != nil {
					t.Fatalf("priceMarginToProto(nil) = %v, want nil", got)
				}
				return
			}
			if diff := gocmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("priceMarginToProto() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMarginRuleToProto(t *testing.T) {
	tests := []struct {
		name        string
		give        *rest.EnumName
		want        pb.MarginRule
		wantUnknown bool // the callback gets ("marginRule", the trimmed name)
	}{
		{name: "nil", give: nil, want: pb.MarginRule_MARGIN_RULE_UNSPECIFIED},
		{name: "null name", give: &rest.EnumName{}, want: pb.MarginRule_MARGIN_RULE_UNSPECIFIED},
		{name: "empty name", give: enum(""), want: pb.MarginRule_MARGIN_RULE_UNSPECIFIED},
		{name: "blank name", give: enum("  \t"), want: pb.MarginRule_MARGIN_RULE_UNSPECIFIED},

		{name: "Markup", give: enum("Markup"), want: pb.MarginRule_MARGIN_RULE_MARKUP},
		{name: "markup", give: enum("markup"), want: pb.MarginRule_MARGIN_RULE_MARKUP},
		{name: "MARKUP", give: enum("MARKUP"), want: pb.MarginRule_MARGIN_RULE_MARKUP},
		{name: "mArKuP", give: enum("mArKuP"), want: pb.MarginRule_MARGIN_RULE_MARKUP},
		{name: "spaced Markup", give: enum(" Markup "), want: pb.MarginRule_MARGIN_RULE_MARKUP},
		{name: "Margin", give: enum("Margin"), want: pb.MarginRule_MARGIN_RULE_MARGIN},
		{name: "margin", give: enum("margin"), want: pb.MarginRule_MARGIN_RULE_MARGIN},
		{name: "MARGIN", give: enum("MARGIN"), want: pb.MarginRule_MARGIN_RULE_MARGIN},
		{name: "SplitMargin", give: enum("SplitMargin"), want: pb.MarginRule_MARGIN_RULE_SPLIT_MARGIN},
		{name: "splitMargin", give: enum("splitMargin"), want: pb.MarginRule_MARGIN_RULE_SPLIT_MARGIN},
		{name: "splitmargin", give: enum("splitmargin"), want: pb.MarginRule_MARGIN_RULE_SPLIT_MARGIN},
		{name: "SPLITMARGIN", give: enum("SPLITMARGIN"), want: pb.MarginRule_MARGIN_RULE_SPLIT_MARGIN},
		{name: "ErpMinusDiscount", give: enum("ErpMinusDiscount"), want: pb.MarginRule_MARGIN_RULE_ERP_MINUS_DISCOUNT},
		{name: "erpMinusDiscount", give: enum("erpMinusDiscount"), want: pb.MarginRule_MARGIN_RULE_ERP_MINUS_DISCOUNT},
		{name: "erpminusdiscount", give: enum("erpminusdiscount"), want: pb.MarginRule_MARGIN_RULE_ERP_MINUS_DISCOUNT},
		{name: "ERPMINUSDISCOUNT", give: enum("ERPMINUSDISCOUNT"), want: pb.MarginRule_MARGIN_RULE_ERP_MINUS_DISCOUNT},

		{name: "unknown Discount", give: enum("Discount"), want: pb.MarginRule_MARGIN_RULE_UNSPECIFIED, wantUnknown: true},
		{name: "unknown Split Margin", give: enum("Split Margin"), want: pb.MarginRule_MARGIN_RULE_UNSPECIFIED, wantUnknown: true},
		{name: "unknown Split_Margin", give: enum("Split_Margin"), want: pb.MarginRule_MARGIN_RULE_UNSPECIFIED, wantUnknown: true},
		{name: "unknown Markups", give: enum("Markups"), want: pb.MarginRule_MARGIN_RULE_UNSPECIFIED, wantUnknown: true},
		{name: "unknown enum constant name", give: enum("MARGIN_RULE_MARKUP"), want: pb.MarginRule_MARGIN_RULE_UNSPECIFIED, wantUnknown: true},
		{name: "unknown number", give: enum("1"), want: pb.MarginRule_MARGIN_RULE_UNSPECIFIED, wantUnknown: true},
		{name: "unknown spaced", give: enum(" Rebate\n"), want: pb.MarginRule_MARGIN_RULE_UNSPECIFIED, wantUnknown: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			unknown, reports := recordUnknown()
			if got := enumToProto[pb.MarginRule](tt.give, marginRules, "marginRule", unknown); got != tt.want {
				t.Errorf("enumToProto(%v) = %v, want %v", tt.give, got, tt.want)
			}
			var want []unknownReport
			if tt.wantUnknown {
				want = []unknownReport{{"marginRule", strings.TrimSpace(*tt.give.Name)}}
			}
			if diff := gocmp.Diff(want, reports()); diff != "" {
				t.Errorf("unknown enum reports mismatch (-want +got):\n%s", diff)
			}
			// a nil callback is allowed and changes nothing
			if got := enumToProto[pb.MarginRule](tt.give, marginRules, "marginRule", nil); got != tt.want {
				t.Errorf("enumToProto(%v, nil) = %v, want %v", tt.give, got, tt.want)
			}
		})
	}
}

func TestStatusToProto(t *testing.T) {
	tests := []struct {
		name        string
		give        *rest.EnumName
		want        pb.ProviderResellerStatus
		wantUnknown bool // the callback gets ("status", the trimmed name)
	}{
		{name: "nil", give: nil, want: pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_UNSPECIFIED},
		{name: "null name", give: &rest.EnumName{}, want: pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_UNSPECIFIED},
		{name: "empty name", give: enum(""), want: pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_UNSPECIFIED},
		{name: "blank name", give: enum(" "), want: pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_UNSPECIFIED},

		{name: "Processing", give: enum("Processing"), want: pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_PROCESSING},
		{name: "processing", give: enum("processing"), want: pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_PROCESSING},
		{name: "PROCESSING", give: enum("PROCESSING"), want: pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_PROCESSING},
		{name: "Success", give: enum("Success"), want: pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_SUCCESS},
		{name: "success", give: enum("success"), want: pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_SUCCESS},
		{name: "SUCCESS", give: enum("SUCCESS"), want: pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_SUCCESS},
		{name: "spaced Success", give: enum("\tSuccess "), want: pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_SUCCESS},
		{name: "Failed", give: enum("Failed"), want: pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_FAILED},
		{name: "failed", give: enum("failed"), want: pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_FAILED},
		{name: "FAILED", give: enum("FAILED"), want: pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_FAILED},

		{name: "unknown Succeeded", give: enum("Succeeded"), want: pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_UNSPECIFIED, wantUnknown: true},
		{name: "unknown Active", give: enum("Active"), want: pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_UNSPECIFIED, wantUnknown: true},
		{name: "unknown Fail", give: enum("Fail"), want: pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_UNSPECIFIED, wantUnknown: true},
		{name: "unknown margin rule name", give: enum("Markup"), want: pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_UNSPECIFIED, wantUnknown: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			unknown, reports := recordUnknown()
			if got := enumToProto[pb.ProviderResellerStatus](tt.give, resellerStatuses, "status", unknown); got != tt.want {
				t.Errorf("enumToProto(%v) = %v, want %v", tt.give, got, tt.want)
			}
			var want []unknownReport
			if tt.wantUnknown {
				want = []unknownReport{{"status", strings.TrimSpace(*tt.give.Name)}}
			}
			if diff := gocmp.Diff(want, reports()); diff != "" {
				t.Errorf("unknown enum reports mismatch (-want +got):\n%s", diff)
			}
			if got := enumToProto[pb.ProviderResellerStatus](tt.give, resellerStatuses, "status", nil); got != tt.want {
				t.Errorf("enumToProto(%v, nil) = %v, want %v", tt.give, got, tt.want)
			}
		})
	}
}

// TestResellerToProtoUnknownEnums checks that unknown names deep in a
// reseller are all reported, with the field and the name, and that the
// reseller still maps (the fields UNSPECIFIED), with or without a callback.
func TestResellerToProtoUnknownEnums(t *testing.T) {
	give := &rest.Reseller{
		ID: ptr("11111111-1111-4111-8111-111111111111"),
		ProviderResellers: []rest.ProviderReseller{
			{
				PriceMargin: &rest.PriceMargin{MarginRule: enum("Rebate"), Value: ptr(1.0)},
				OfferTypeMargins: rest.OfferTypeMargins{
					"License": {MarginRule: enum("Cashback"), Value: ptr(2.0)},
					"Azure":   {MarginRule: enum("markup"), Value: ptr(3.0)},
				},
				Status: enum("Suspended"),
			},
			{Status: enum("success")},
		},
		CustomDomain: &rest.CustomDomain{Status: enum("Whatever")}, // free text, never reported
	}
	want := &pb.Reseller{
		Id: "11111111-1111-4111-8111-111111111111",
		ProviderResellers: []*pb.ProviderReseller{
			{
				PriceMargin: &pb.PriceMargin{Value: ptr(1.0)},
				OfferTypeMargins: map[string]*pb.PriceMargin{
					"License": {Value: ptr(2.0)},
					"Azure":   {MarginRule: pb.MarginRule_MARGIN_RULE_MARKUP, Value: ptr(3.0)},
				},
			},
			{Status: pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_SUCCESS},
		},
		CustomDomain: &pb.CustomDomain{Status: ptr("Whatever")},
	}
	wantReports := []unknownReport{{"marginRule", "Cashback"}, {"marginRule", "Rebate"}, {"status", "Suspended"}}

	unknown, reports := recordUnknown()
	got := resellerToProto(give, unknown)
	if diff := gocmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("resellerToProto() mismatch (-want +got):\n%s", diff)
	}
	if diff := gocmp.Diff(wantReports, reports()); diff != "" {
		t.Errorf("unknown enum reports mismatch (-want +got):\n%s", diff)
	}

	got = resellerToProto(give, nil)
	if diff := gocmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("resellerToProto(nil callback) mismatch (-want +got):\n%s", diff)
	}
}
