package rest

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func ptr[T any](v T) *T { return &v }

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func markup(v float64) PriceMargin {
	return PriceMargin{MarginRule: &EnumName{Name: ptr("markup")}, Value: ptr(v)}
}

func TestDecodeReseller(t *testing.T) {
	tests := []struct {
		name string
		give string
		want *Reseller
	}{
		{
			name: "camelCase",
			give: `{"id":"r1","companyName":"Contoso","country":"PT","addressLine1":"a1","addressLine2":"a2",
				"city":"Lisboa","state":"L","zipCode":"1000","firstName":"Ana","lastName":"Silva",
				"email":"a@x.example","phone":"+351","internalIdentifier":"i1","taxId":"t1",
				"providerResellers":[{"providerInstanceId":"p1","priceMargin":{"marginRule":{"name":"markup"},"value":8},
				"offerTypeMargins":{"license":{"marginRule":{"name":"markup"},"value":10}},
				"providerResellerId":"123","resellerProviderData":"{}","status":{"name":"Success"}}],
				"customDomain":{"customDomain":"d.example","status":{"name":"Verified"}}}`,
			want: &Reseller{
				ID: ptr("r1"), CompanyName: ptr("Contoso"), Country: ptr("PT"), AddressLine1: ptr("a1"),
				AddressLine2: ptr("a2"), City: ptr("Lisboa"), State: ptr("L"), ZipCode: ptr("1000"),
				FirstName: ptr("Ana"), LastName: ptr("Silva"), Email: ptr("a@x.example"), Phone: ptr("+351"),
				InternalIdentifier: ptr("i1"), TaxID: ptr("t1"),
				ProviderResellers: []ProviderReseller{{
					ProviderInstanceID:   ptr("p1"),
					PriceMargin:          ptr(markup(8)),
					OfferTypeMargins:     OfferTypeMargins{"license": markup(10)},
					ProviderResellerID:   ptr("123"),
					ResellerProviderData: ptr("{}"),
					ProviderData:         &ProviderData{},
					Status:               &EnumName{Name: ptr("Success")},
				}},
				CustomDomain: &CustomDomain{CustomDomain: ptr("d.example"), Status: &EnumName{Name: ptr("Verified")}},
			},
		},
		{
			name: "PascalCase",
			give: `{"Id":"r1","CompanyName":"Contoso","TaxId":"t1","ZipCode":"1000",
				"ProviderResellers":[{"ProviderInstanceId":"p1","PriceMargin":{"MarginRule":{"Name":"markup"},"Value":8},
				"OfferTypeMargins":{"License":{"MarginRule":{"Name":"markup"},"Value":10}},
				"ProviderResellerId":"123","ResellerProviderData":"{}","Status":{"Name":"Success"}}],
				"CustomDomain":{"CustomDomain":"d.example","Status":{"Name":"Verified"}}}`,
			want: &Reseller{
				ID: ptr("r1"), CompanyName: ptr("Contoso"), TaxID: ptr("t1"), ZipCode: ptr("1000"),
				ProviderResellers: []ProviderReseller{{
					ProviderInstanceID:   ptr("p1"),
					PriceMargin:          ptr(markup(8)),
					OfferTypeMargins:     OfferTypeMargins{"License": markup(10)},
					ProviderResellerID:   ptr("123"),
					ResellerProviderData: ptr("{}"),
					ProviderData:         &ProviderData{},
					Status:               &EnumName{Name: ptr("Success")},
				}},
				CustomDomain: &CustomDomain{CustomDomain: ptr("d.example"), Status: &EnumName{Name: ptr("Verified")}},
			},
		},
		{
			name: "lower case and upper case keys",
			give: `{"ID":"r1","companyname":"Contoso","TAXID":"t1",
				"providerresellers":[{"PROVIDERINSTANCEID":"p1","pricemargin":{"marginrule":{"NAME":"markup"},"VALUE":8}}]}`,
			want: &Reseller{
				ID: ptr("r1"), CompanyName: ptr("Contoso"), TaxID: ptr("t1"),
				ProviderResellers: []ProviderReseller{{ProviderInstanceID: ptr("p1"), PriceMargin: ptr(markup(8))}},
			},
		},
		{
			name: "nulls are nil and empty strings are kept",
			give: `{"id":null,"companyName":"","country":null,"addressLine2":"",
				"providerResellers":[{"priceMargin":{"marginRule":{"name":null},"value":null},
				"offerTypeMargins":null,"providerResellerId":null,"resellerProviderData":"","status":null}],
				"customDomain":{"customDomain":null,"status":null}}`,
			want: &Reseller{
				CompanyName: ptr(""), AddressLine2: ptr(""),
				ProviderResellers: []ProviderReseller{{
					PriceMargin:          &PriceMargin{MarginRule: &EnumName{}},
					ResellerProviderData: ptr(""),
				}},
				CustomDomain: &CustomDomain{},
			},
		},
		{
			name: "null collections",
			give: `{"providerResellers":null,"customDomain":null}`,
			want: &Reseller{},
		},
		{
			name: "missing fields",
			give: `{}`,
			want: &Reseller{},
		},
		{
			name: "empty provider resellers stay empty, not nil",
			give: `{"providerResellers":[]}`,
			want: &Reseller{ProviderResellers: []ProviderReseller{}},
		},
		{
			name: "unknown properties are ignored",
			give: `{"id":"r1","createdAt":"2024-01-01","extra":{"nested":[1,{"a":null}]},
				"providerResellers":[{"unknown":true,"providerInstanceId":"p1","priceMargin":{"value":1,"currency":"EUR"}}],
				"customDomain":{"verifiedAt":7}}`,
			want: &Reseller{
				ID:                ptr("r1"),
				ProviderResellers: []ProviderReseller{{ProviderInstanceID: ptr("p1"), PriceMargin: &PriceMargin{Value: ptr(1.0)}}},
				CustomDomain:      &CustomDomain{},
			},
		},
		{
			name: "leading BOM and white space",
			give: "\uFEFF \r\n\t{\"id\":\"r1\"}\n",
			want: &Reseller{ID: ptr("r1")},
		},
		{
			name: "spec example verbatim",
			give: string(readTestdata(t, "reseller_spec_example.json")),
			want: &Reseller{
				ID: ptr("string"), CompanyName: ptr("string"), Country: ptr("string"),
				AddressLine1: ptr("string"), AddressLine2: ptr("string"), City: ptr("string"),
				State: ptr("string"), ZipCode: ptr("string"), FirstName: ptr("string"),
				LastName: ptr("string"), Email: ptr("string"), Phone: ptr("string"),
				InternalIdentifier: ptr("string"), TaxID: ptr("string"),
				ProviderResellers: []ProviderReseller{{
					ProviderInstanceID: ptr("cb3cd15b-1d6e-45be-b493-c71549cbfd87"),
					PriceMargin:        ptr(markup(8)),
					OfferTypeMargins:   OfferTypeMargins{"license": markup(10)},
					ProviderResellerID: ptr("968bd16f-7eca-494d-b29f-440b9ef5cf5d"),
					ResellerProviderData: ptr(`{"indirectResellerId" : "f94f06fd-dc98-47fb-bd49-63bc98bd87f2",` +
						`"secondaryMpnIds": [ "123456", "654321"]}`),
					ProviderData: &ProviderData{
						IndirectResellerID: ptr("f94f06fd-dc98-47fb-bd49-63bc98bd87f2"),
						SecondaryMpnIDs:    []string{"123456", "654321"},
					},
				}},
				CustomDomain: &CustomDomain{CustomDomain: ptr("string"), Status: &EnumName{Name: ptr("string")}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeReseller([]byte(tt.give))
			if err != nil {
				t.Fatalf("DecodeReseller() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("DecodeReseller() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeResellerOfferTypeMargins(t *testing.T) {
	tests := []struct {
		name string
		give string // the offerTypeMargins value
		want OfferTypeMargins
	}{
		{
			name: "spec wrapper verbatim",
			give: `{"Value": {"license": {"Value": 10, "MarginRule": {"Name": "markup"}}}}`,
			want: OfferTypeMargins{"license": markup(10)},
		},
		{
			name: "wrapper in lower case with several offer types",
			give: `{"value": {"License": {"value": 10, "marginRule": {"name": "markup"}}, "AzurePlan": {"value": 2}}}`,
			want: OfferTypeMargins{"License": markup(10), "AzurePlan": {Value: ptr(2.0)}},
		},
		{
			name: "wrapper around an empty dictionary",
			give: `{"Value": {}}`,
			want: OfferTypeMargins{},
		},
		{
			name: "wrapper around null",
			give: `{"Value": null}`,
			want: nil,
		},
		{
			name: "plain dictionary",
			give: `{"license": {"marginRule": {"name": "markup"}, "value": 10}}`,
			want: OfferTypeMargins{"license": markup(10)},
		},
		{
			name: "dictionary with one offer type literally named Value",
			give: `{"Value": {"marginRule": {"name": "markup"}, "value": 5}}`,
			want: OfferTypeMargins{"Value": markup(5)},
		},
		{
			name: "offer type named Value holding only a value",
			give: `{"Value": {"VALUE": 5}}`,
			want: OfferTypeMargins{"Value": {Value: ptr(5.0)}},
		},
		{
			name: "offer type named Value holding only a margin rule",
			give: `{"value": {"MarginRule": {"Name": "markup"}}}`,
			want: OfferTypeMargins{"value": {MarginRule: &EnumName{Name: ptr("markup")}}},
		},
		{
			name: "dictionary with Value among other offer types",
			give: `{"Value": {"value": 1}, "license": {"value": 2}}`,
			want: OfferTypeMargins{"Value": {Value: ptr(1.0)}, "license": {Value: ptr(2.0)}},
		},
		{
			name: "keys keep their casing",
			give: `{"LICENSE": {"value": 1}, "license": {"value": 2}}`,
			want: OfferTypeMargins{"LICENSE": {Value: ptr(1.0)}, "license": {Value: ptr(2.0)}},
		},
		{
			name: "escaped wrapper key",
			give: `{"\u0056alue": {"license": {"value": 1}}}`,
			want: OfferTypeMargins{"license": {Value: ptr(1.0)}},
		},
		{
			name: "escaped offer type named Value",
			give: `{"Val\u0075e": {"value": 1}}`,
			want: OfferTypeMargins{"Value": {Value: ptr(1.0)}},
		},
		{
			name: "wrapped repeated offer type, the last value counts",
			give: `{"Value": {"a": 5, "a": {"value": 1}}}`,
			want: OfferTypeMargins{"a": {Value: ptr(1.0)}},
		},
		{
			name: "repeated wrapper, the last one counts",
			give: `{"Value": 5, "Value": {"a": {"value": 1}}}`,
			want: OfferTypeMargins{"a": {Value: ptr(1.0)}},
		},
		{
			name: "dictionary led by Value, a repeated name's last value counts",
			give: `{"Value": {"a": {"value": 1}}, "x": 5, "x": {"value": 2}}`,
			want: OfferTypeMargins{"Value": {}, "x": {Value: ptr(2.0)}},
		},
		{
			name: "null entry is a zero margin",
			give: `{"license": null}`,
			want: OfferTypeMargins{"license": {}},
		},
		{
			name: "null",
			give: `null`,
			want: nil,
		},
		{
			name: "empty dictionary",
			give: `{}`,
			want: OfferTypeMargins{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"providerResellers":[{"offerTypeMargins":` + tt.give + `}]}`
			got, err := DecodeReseller([]byte(body))
			if err != nil {
				t.Fatalf("DecodeReseller() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, got.ProviderResellers[0].OfferTypeMargins); diff != "" {
				t.Errorf("OfferTypeMargins mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeResellerErrors(t *testing.T) {
	const marginErr = `cannot decode a JSON object at byte 42 ("/providerResellers/0/offerTypeMargins") into rest.OfferTypeMargins: ` +
		`an offer type's margin is not an object of the PriceMargin shape`
	tests := []struct {
		name    string
		give    string
		wantMsg string // a part of the message, when set
	}{
		{name: "empty", give: ``},
		{name: "white space", give: " \n\t"},
		{name: "null", give: `null`},
		{name: "array", give: `[{"id":"r1"}]`},
		{name: "string", give: `"r1"`},
		{name: "number", give: `42`},
		{name: "HTML", give: `<html><body>Service Unavailable</body></html>`},
		{name: "truncated", give: `{"id":"r1`},
		{name: "trailing garbage", give: `{"id":"r1"} x`},
		{name: "id is a number", give: `{"id":5}`},
		{name: "provider resellers is an object", give: `{"providerResellers":{}}`},
		{name: "margin value is a string", give: `{"providerResellers":[{"priceMargin":{"value":"8"}}]}`},
		{name: "margin value out of range", give: `{"providerResellers":[{"priceMargin":{"value":1e999}}]}`},
		{name: "offer type margins is a number", give: `{"providerResellers":[{"offerTypeMargins":5}]}`},
		{name: "offer type margins is an array", give: `{"providerResellers":[{"offerTypeMargins":[]}]}`},
		{name: "offer type margin entry is a number", give: `{"providerResellers":[{"offerTypeMargins":{"license":5}}]}`},
		{name: "wrapped entry is a string", give: `{"providerResellers":[{"offerTypeMargins":{"Value":{"license":"x"}}}]}`},
		{name: "wrapper value is a number", give: `{"providerResellers":[{"offerTypeMargins":{"Value":5}}]}`},
		{name: "repeated offer type, the first not a margin", give: `{"providerResellers":[{"offerTypeMargins":{"license":5,"license":{}}}]}`},
		{name: "offer type margin wrong deep inside", give: `{"providerResellers":[{"offerTypeMargins":{"s3cr3t":{"marginRule":{"name":5},"value":[1,{"s3cr3t":2}]}}}]}`, wantMsg: marginErr},
		{name: "wrapped offer type margin wrong deep inside", give: `{"providerResellers":[{"offerTypeMargins":{"Value":{"s3cr3t":{"marginRule":{"name":[{"s3cr3t":1}]}}}}}]}`, wantMsg: marginErr},
		{name: "malformed after a bad margin", give: `{"providerResellers":[{"offerTypeMargins":{"s3cr3t":5,"s3cr3t":tru}}]}`, wantMsg: "invalid JSON at byte "},
		{name: "provider data is an object", give: `{"providerResellers":[{"resellerProviderData":{}}]}`},
		// The error message never quotes the body ("s3cr3t" stands for
		// anything the upstream sent).
		{name: "string for a number", give: `{"providerResellers":[{"priceMargin":{"value":"s3cr3t"}}]}`},
		{name: "string for an object", give: `{"customDomain":"s3cr3t"}`},
		{name: "offer type margin is a string", give: `{"providerResellers":[{"offerTypeMargins":{"s3cr3t":"s3cr3t"}}]}`},
		{name: "wrapped offer type margin is a string", give: `{"providerResellers":[{"offerTypeMargins":{"value":{"s3cr3t":"s3cr3t"}}}]}`},
		{name: "garbage after a name", give: `{"s3cr3t" s3cr3t}`},
		{name: "bad escape", give: `{"id":"s3cr3t\q"}`},
		{name: "unknown member malformed", give: `{"s3cr3t":[1,2}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeReseller([]byte(tt.give))
			if kindOf(err) != KindUndecodable {
				t.Fatalf("DecodeReseller() error = %v, want KindUndecodable", err)
			}
			if !strings.Contains(err.Error(), "decode reseller: ") {
				t.Errorf("error = %q, want it to name the reseller", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("DecodeReseller() error = %q, quotes the body", err)
			}
			if got != nil {
				t.Errorf("DecodeReseller() = %+v, want nil", got)
			}
		})
	}
}

func TestDecodeAcceptanceLink(t *testing.T) {
	const link = "https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship" +
		"&partnerId=0b3e5a1c-5f41-4f1e-8f0a-2b7d9c6e4a11&msppId=0&DAP=true#/BillingAccounts/partner-invitation"
	tests := []struct {
		name, give, want string
	}{
		{name: "JSON string", give: `"` + link + `"`, want: link},
		{name: "JSON string with escaped slashes", give: `"https:\/\/example.com\/a?b=1\u0026c=2"`, want: "https://example.com/a?b=1&c=2"},
		{name: "JSON string with BOM and white space", give: "\uFEFF  \"" + link + "\"\r\n", want: link},
		{name: "JSON string, http", give: `"http://example.com/x"`, want: "http://example.com/x"},
		{name: "raw URL", give: link, want: link},
		{name: "raw URL with trailing newline", give: link + "\r\n", want: link},
		{name: "raw URL, scheme in capitals", give: "HTTPS://example.com/x", want: "HTTPS://example.com/x"},
		{name: "JSON string with white space inside", give: `" https://example.com/x\n"`, want: "https://example.com/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeAcceptanceLink([]byte(tt.give))
			if err != nil {
				t.Fatalf("DecodeAcceptanceLink() error = %v", err)
			}
			if got != tt.want {
				t.Errorf("DecodeAcceptanceLink() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDecodeAcceptanceLinkErrors(t *testing.T) {
	tests := []struct {
		name, give string
	}{
		{name: "empty", give: ``},
		{name: "white space", give: " \r\n"},
		{name: "JSON null", give: `null`},
		{name: "JSON object", give: `{"link":"https://example.com"}`},
		{name: "JSON number", give: `42`},
		{name: "JSON array", give: `["https://example.com"]`},
		{name: "JSON empty string", give: `""`},
		{name: "JSON string that is not a URL", give: `"not a url"`},
		{name: "unterminated JSON string", give: `"https://example.com`},
		{name: "JSON string with trailing garbage", give: `"https://example.com" x`},
		{name: "ftp scheme", give: `"ftp://example.com/x"`},
		{name: "javascript scheme", give: `javascript:alert(1)`},
		{name: "no host", give: `"https:///path"`},
		{name: "relative", give: `"/relative/path"`},
		{name: "control character", give: `"https://example.com/\u0000"`},
		{name: "white space inside", give: "https://example.com/a b"},
		{name: "two lines", give: "https://example.com/a\nhttps://example.com/b"},
		{name: "a word", give: `hello`},
		{name: "JSON object with a URL", give: `{"url":"https://example.com"}`},
		{name: "HTML", give: `<html><body>https://example.com</body></html>`},
		{name: "raw URL, path not UTF-8", give: "https://example.com/\xff"},
		{name: "raw URL, host not UTF-8", give: "https://ex\xc3ample.com/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeAcceptanceLink([]byte(tt.give))
			if kindOf(err) != KindUndecodable {
				t.Fatalf("DecodeAcceptanceLink() = %q, %v; want KindUndecodable", got, err)
			}
			if got != "" {
				t.Errorf("DecodeAcceptanceLink() = %q, want empty", got)
			}
		})
	}
}

func TestParseProviderData(t *testing.T) {
	tests := []struct {
		name   string
		give   string
		want   ProviderData
		wantOK bool
	}{
		{
			name:   "spec example camelCase",
			give:   `{"indirectResellerId" : "f94f06fd-dc98-47fb-bd49-63bc98bd87f2","secondaryMpnIds": [ "123456", "654321"]}`,
			want:   ProviderData{IndirectResellerID: ptr("f94f06fd-dc98-47fb-bd49-63bc98bd87f2"), SecondaryMpnIDs: []string{"123456", "654321"}},
			wantOK: true,
		},
		{
			name:   "documented PascalCase",
			give:   `{"IndirectResellerId":"f94f06fd-dc98-47fb-bd49-63bc98bd87f2","SecondaryMpnIds":["123456"]}`,
			want:   ProviderData{IndirectResellerID: ptr("f94f06fd-dc98-47fb-bd49-63bc98bd87f2"), SecondaryMpnIDs: []string{"123456"}},
			wantOK: true,
		},
		{name: "tier 1 empty object", give: `{}`, want: ProviderData{}, wantOK: true},
		{name: "empty object with white space", give: " { }\n", want: ProviderData{}, wantOK: true},
		{
			name:   "null indirect reseller",
			give:   `{"IndirectResellerId":null,"SecondaryMpnIds":[]}`,
			want:   ProviderData{SecondaryMpnIDs: []string{}},
			wantOK: true,
		},
		{name: "null secondary ids", give: `{"SecondaryMpnIds":null}`, want: ProviderData{}, wantOK: true},
		{
			name:   "numeric and null MPN ids",
			give:   `{"secondaryMpnIds":[123456,null,"654321"]}`,
			want:   ProviderData{SecondaryMpnIDs: []string{"123456", "654321"}},
			wantOK: true,
		},
		{
			name:   "unknown properties ignored",
			give:   `{"Tier":2,"indirectresellerid":"x","Extra":{"a":[1]}}`,
			want:   ProviderData{IndirectResellerID: ptr("x")},
			wantOK: true,
		},
		{name: "empty string", give: ``},
		{name: "null", give: `null`},
		{name: "array", give: `["123456"]`},
		{name: "string", give: `"{}"`},
		{name: "malformed", give: `{"IndirectResellerId":`},
		{name: "not JSON", give: `tier2`},
		{name: "indirect reseller is a number", give: `{"IndirectResellerId":5}`},
		{name: "secondary ids is a string", give: `{"SecondaryMpnIds":"123456"}`},
		{name: "secondary id is an object", give: `{"SecondaryMpnIds":[{}]}`},
		{name: "secondary id is an array", give: `{"SecondaryMpnIds":[[1]]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseProviderData([]byte(tt.give))
			if (got != nil) != tt.wantOK {
				t.Fatalf("parseProviderData() = %v, want ok %v", got, tt.wantOK)
			}
			if got == nil {
				got = &ProviderData{}
			}
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("parseProviderData() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeEnvelope(t *testing.T) {
	tests := []struct {
		name   string
		give   string
		want   *Envelope
		wantOK bool
	}{
		{
			name: "spec example",
			give: `{"statusCode": 42, "type": "string", "description": "string", "correlationId": "string",
				"errors": [{"propertyName": "string", "description": ["string"]}]}`,
			want: &Envelope{StatusCode: 42, Type: "string", Description: "string", CorrelationID: "string",
				Errors: []PropertyError{{PropertyName: "string", Description: []string{"string"}}}},
			wantOK: true,
		},
		{
			name: "PascalCase",
			give: `{"StatusCode":404,"Type":"NotFound","Description":"Reseller not found.","CorrelationId":"c1",
				"Errors":[{"PropertyName":"resellerId","Description":["unknown id","bad"]}]}`,
			want: &Envelope{StatusCode: 404, Type: "NotFound", Description: "Reseller not found.", CorrelationID: "c1",
				Errors: []PropertyError{{PropertyName: "resellerId", Description: []string{"unknown id", "bad"}}}},
			wantOK: true,
		},
		{
			name:   "only a description",
			give:   `{"description":"boom"}`,
			want:   &Envelope{Description: "boom"},
			wantOK: true,
		},
		{
			name:   "nulls",
			give:   `{"statusCode":500,"type":null,"description":null,"correlationId":null,"errors":null}`,
			want:   &Envelope{StatusCode: 500},
			wantOK: true,
		},
		{
			name:   "status code as a string",
			give:   `{"statusCode":"400"}`,
			want:   &Envelope{StatusCode: 400},
			wantOK: true,
		},
		{
			name:   "status code as a whole float",
			give:   `{"statusCode":400.0,"type":"Validation"}`,
			want:   &Envelope{StatusCode: 400, Type: "Validation"},
			wantOK: true,
		},
		{
			name:   "a fraction or an out-of-range status code is left zero",
			give:   `{"statusCode":"400.5","type":"Validation","errors":[{"propertyName":"x","description":["y"]}]}`,
			want:   &Envelope{Type: "Validation", Errors: []PropertyError{{PropertyName: "x", Description: []string{"y"}}}},
			wantOK: true,
		},
		{
			name:   "a status code past int32 is left zero",
			give:   `{"statusCode":1e12,"type":"Validation"}`,
			want:   &Envelope{Type: "Validation"},
			wantOK: true,
		},
		{
			name:   "wrong types are left zero",
			give:   `{"statusCode":{},"type":"Validation","description":5,"correlationId":[],"errors":"x"}`,
			want:   &Envelope{Type: "Validation"},
			wantOK: true,
		},
		{
			name: "single string description and odd entries",
			give: `{"errors":[{"propertyName":"X-Tenant","description":"is required"},5,{"description":[1,"ok"]}]}`,
			want: &Envelope{Errors: []PropertyError{
				{PropertyName: "X-Tenant", Description: []string{"is required"}},
				{Description: []string{"ok"}},
			}},
			wantOK: true,
		},
		{
			name: "ASP.NET ProblemDetails",
			give: `{"type":"https://tools.ietf.org/html/rfc9110#section-15.5.1","title":"One or more validation errors occurred.",
				"status":400,"traceId":"00-abc-def-00","errors":{"resellerId":["The value 'x' is not valid."],"X-Tenant":["Required."]}}`,
			want: &Envelope{StatusCode: 400, Type: "https://tools.ietf.org/html/rfc9110#section-15.5.1",
				Description: "One or more validation errors occurred.",
				Errors: []PropertyError{
					{PropertyName: "X-Tenant", Description: []string{"Required."}},
					{PropertyName: "resellerId", Description: []string{"The value 'x' is not valid."}},
				}},
			wantOK: true,
		},
		{name: "empty", give: ``},
		{name: "HTML", give: `<html><head><title>502 Bad Gateway</title></head></html>`},
		{name: "null", give: `null`},
		{name: "array", give: `[{"statusCode":400}]`},
		{name: "string", give: `"error"`},
		{name: "empty object", give: `{}`},
		{name: "other object", give: `{"message":"Internal error","code":7}`},
		{name: "only nulls", give: `{"statusCode":null,"type":null,"description":null,"errors":null}`},
		{name: "only a correlation id", give: `{"correlationId":"c1"}`},
		{name: "malformed", give: `{"statusCode":400,`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := DecodeEnvelope([]byte(tt.give))
			if ok != tt.wantOK {
				t.Fatalf("DecodeEnvelope() ok = %v, want %v", ok, tt.wantOK)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("DecodeEnvelope() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
