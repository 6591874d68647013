package rest

import (
	"encoding/json"
	"errors"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func addTestdataSeeds(f *testing.F) {
	f.Helper()
	for _, name := range []string{"reseller_full.json", "reseller_spec_example.json"} {
		f.Add(readTestdata(f, name))
	}
}

func FuzzDecodeReseller(f *testing.F) {
	addTestdataSeeds(f)
	for _, seed := range []string{
		``, `null`, `[]`, `{}`, `{"id":null}`, "\uFEFF{}",
		`{"providerResellers":[{"offerTypeMargins":{"Value":{"license":{"Value":10,"MarginRule":{"Name":"markup"}}}}}]}`,
		`{"providerResellers":[{"offerTypeMargins":{"Value":{"value":1}}}]}`,
		`{"providerResellers":[{"offerTypeMargins":{"value":null}}]}`,
		`{"providerResellers":[{"offerTypeMargins":{"Value":{}}}]}`,
		`{"PROVIDERRESELLERS":[{"PriceMargin":{"MARGINRULE":{"NAME":"x"},"VALUE":1e308}}]}`,
		`{"id":"a","id":"b","ID":"c"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := DecodeReseller(body)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || got != nil {
				t.Fatalf("DecodeReseller() = %v, %v; want nil and *DecodeError", got, err)
			}
			return
		}
		if got == nil {
			t.Fatal("DecodeReseller() = nil, nil")
		}
		// Whatever decoded must survive a canonical round trip unchanged:
		// the wrapper rule never mistakes a re-encoded dictionary for a
		// wrapper, and no field is half-decoded.
		again, err := json.Marshal(got)
		if err != nil {
			t.Fatalf("json.Marshal() error = %v", err)
		}
		back, err := DecodeReseller(again)
		if err != nil {
			t.Fatalf("DecodeReseller(re-encoded) error = %v", err)
		}
		if diff := cmp.Diff(got, back); diff != "" {
			t.Fatalf("round trip mismatch (-first +second):\n%s", diff)
		}
	})
}

func FuzzDecodeEnvelope(f *testing.F) {
	for _, seed := range []string{
		``, `null`, `{}`, `<html></html>`, `{"statusCode":null}`,
		`{"statusCode": 42, "type": "string", "description": "string", "correlationId": "string", "errors": [{"propertyName": "string", "description": ["string"]}]}`,
		`{"StatusCode":"404","Errors":[{"PropertyName":"x","Description":"y"}]}`,
		`{"type":"t","title":"One or more validation errors occurred.","status":400,"errors":{"b":["1"],"a":"2"}}`,
		`{"statusCode":1e400}`, `{"statusCode":-0.0,"description":{}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, ok := DecodeEnvelope(body)
		if ok != (got != nil) {
			t.Fatalf("DecodeEnvelope() = %v, %v; ok must mean non-nil", got, ok)
		}
		if !ok {
			return
		}
		// Decoding is deterministic (map-ordered errors are sorted).
		again, _ := DecodeEnvelope(body)
		if diff := cmp.Diff(got, again); diff != "" {
			t.Fatalf("DecodeEnvelope() not deterministic:\n%s", diff)
		}
		_ = (&Error{StatusCode: 500, Envelope: got}).Error()
	})
}

func FuzzDecodeAcceptanceLink(f *testing.F) {
	for _, seed := range []struct{ ct, body string }{
		{"application/json", `"` + testLink + `"`},
		{"text/plain; charset=utf-8", testLink},
		{"text/plain", testLink + "\r\n"},
		{"application/json", testLink},
		{"", `"https:\/\/example.com"`},
		{"application/json", `null`},
		{"application/json", `{}`},
		{"text/plain", `hello`},
		{"text/plain", `javascript:alert(1)`},
		{"application/json", `"https:///x"`},
		{"", "\uFEFF\"http://a\""},
	} {
		f.Add(seed.ct, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		got, err := DecodeAcceptanceLink(contentType, body)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || got != "" {
				t.Fatalf("DecodeAcceptanceLink() = %q, %v; want empty and *DecodeError", got, err)
			}
			return
		}
		u, perr := url.Parse(got)
		if perr != nil {
			t.Fatalf("DecodeAcceptanceLink() = %q, which does not parse: %v", got, perr)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			t.Fatalf("DecodeAcceptanceLink() = %q, not an absolute http(s) URL", got)
		}
	})
}

func FuzzParseProviderData(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `null`, `[]`, `"x"`,
		`{"indirectResellerId" : "f94f06fd-dc98-47fb-bd49-63bc98bd87f2","secondaryMpnIds": [ "123456", "654321"]}`,
		`{"IndirectResellerId":null,"SecondaryMpnIds":[1,null,"2"]}`,
		`{"SecondaryMpnIds":"1"}`, `{"IndirectResellerId":5}`,
		" \uFEFF{}",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, ok := ParseProviderData(raw)
		if !ok {
			if diff := cmp.Diff(ProviderData{}, got); diff != "" {
				t.Fatalf("ParseProviderData() not ok but non-zero:\n%s", diff)
			}
			return
		}
		// A parsed document re-encodes to one that parses to the same value.
		again, err := json.Marshal(got)
		if err != nil {
			t.Fatalf("json.Marshal() error = %v", err)
		}
		back, ok := ParseProviderData(string(again))
		if !ok {
			t.Fatalf("ParseProviderData(%s) not ok", again)
		}
		if diff := cmp.Diff(got, back); diff != "" {
			t.Fatalf("round trip mismatch (-first +second):\n%s", diff)
		}
	})
}

// FuzzOfferTypeMargins checks that the fast paths of
// OfferTypeMargins.UnmarshalJSON agree with the plain statement of the
// wrapper rule in decodeOfferTypeMargins.
func FuzzOfferTypeMargins(f *testing.F) {
	for _, seed := range []string{
		`null`, `{}`, `[]`, `5`, `{"license":{"value":1}}`, `{"license":null}`,
		`{"Value": {"license": {"Value": 10, "MarginRule": {"Name": "markup"}}}}`,
		`{"Value":{"marginRule":{"name":"x"},"value":5}}`, `{"value":{"VALUE":1}}`,
		`{"Value":null}`, `{"Value":{}}`, `{"Value":5}`, `{"Value":{"a":5}}`,
		`{"Value":{"a":{}},"Value":{"b":{}}}`, `{"Value":{"a":{}},"x":null}`,
		`{"\u0056alue":{"a":{"value":1}}}`, `{"Val\"ue":{}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var got OfferTypeMargins
		gotErr := got.UnmarshalJSON(data)
		want, wantErr := decodeOfferTypeMargins(data)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("UnmarshalJSON() error = %v, reference error = %v", gotErr, wantErr)
		}
		if gotErr != nil {
			return
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("UnmarshalJSON() disagrees with the reference (-reference +got):\n%s", diff)
		}
	})
}
