package rest

import (
	"bytes"
	"encoding/json"
	"net/url"
	"testing"
	"testing/iotest"

	jsonv2 "github.com/go-json-experiment/json"
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
			if kindOf(err) != KindUndecodable || got != nil {
				t.Fatalf("DecodeReseller() = %v, %v; want nil and KindUndecodable", got, err)
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
		_ = (&Error{Kind: KindAnswered, StatusCode: 500, Envelope: got}).Error()
	})
}

func FuzzDecodeAcceptanceLink(f *testing.F) {
	for _, seed := range []string{
		`"` + testLink + `"`, testLink, testLink + "\r\n", `"https:\/\/example.com"`,
		`null`, `{}`, `hello`, `javascript:alert(1)`, `"https:///x"`, "\uFEFF\"http://a\"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := DecodeAcceptanceLink(body)
		if err != nil {
			if kindOf(err) != KindUndecodable || got != "" {
				t.Fatalf("DecodeAcceptanceLink() = %q, %v; want empty and KindUndecodable", got, err)
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
		got := parseProviderData([]byte(raw))
		if got == nil {
			return
		}
		// A parsed document re-encodes to one that parses to the same value.
		again, err := json.Marshal(got)
		if err != nil {
			t.Fatalf("json.Marshal() error = %v", err)
		}
		back := parseProviderData(again)
		if back == nil {
			t.Fatalf("parseProviderData(%s) not ok", again)
		}
		if diff := cmp.Diff(got, back); diff != "" {
			t.Fatalf("round trip mismatch (-first +second):\n%s", diff)
		}
	})
}

// FuzzOfferTypeMargins checks OfferTypeMargins' decoding against
// encoding/json with the wrapper rule (oracle_test.go) on valid JSON, through
// json.Unmarshal of github.com/go-json-experiment/json and through
// json.UnmarshalRead on a reader that gives one byte at a time (so that the
// decoder never holds the whole input).
func FuzzOfferTypeMargins(f *testing.F) {
	for _, seed := range []string{
		`null`, `{}`, `[]`, `5`, `{"license":{"value":1}}`, `{"license":null}`,
		`{"Value": {"license": {"Value": 10, "MarginRule": {"Name": "markup"}}}}`,
		`{"Value":{"marginRule":{"name":"x"},"value":5}}`, `{"value":{"VALUE":1}}`,
		`{"Value":null}`, `{"Value":{}}`, `{"Value":5}`, `{"Value":{"a":5}}`,
		`{"Value":{"a":{}},"Value":{"b":{}}}`, `{"Value":{"a":{}},"x":null}`,
		`{"\u0056alue":{"a":{"value":1}}}`, `{"Val\"ue":{}}`,
		`{"license":5,"license":{}}`, `{"Value":{"a":5,"a":{}}}`, `{"Value":5,"Value":{"a":{}}}`,
		`{"Value":{"b":{}},"x":5,"x":{}}`, `{"Value":{"ſa":{}}}`, `{"Value":{"marginRul\u0065":{}}}`,
		`{"\u0041":5,"A":{}}`,      // an escaped first name: the last value of a name counts, as for "value"
		`{"Value":{"a":{}},"x":5}`, // no wrapper when another name came, even one that is no margin
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return
		}
		var want oracleOfferTypeMargins
		wantErr := want.UnmarshalJSON(data)

		var got OfferTypeMargins
		gotErr := jsonv2.Unmarshal(data, &got, decodeOptions)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("Unmarshal() error = %v, oracle error = %v", gotErr, wantErr)
		}
		if gotErr == nil {
			if diff := cmp.Diff(OfferTypeMargins(want), got); diff != "" {
				t.Fatalf("Unmarshal() disagrees with the oracle (-oracle +got):\n%s", diff)
			}
		}

		var streamed OfferTypeMargins
		streamErr := jsonv2.UnmarshalRead(iotest.OneByteReader(bytes.NewReader(data)), &streamed, decodeOptions)
		if (streamErr == nil) != (wantErr == nil) {
			t.Fatalf("UnmarshalRead() error = %v, oracle error = %v", streamErr, wantErr)
		}
		if streamErr == nil {
			if diff := cmp.Diff(OfferTypeMargins(want), streamed); diff != "" {
				t.Fatalf("UnmarshalRead() disagrees with the oracle (-oracle +got):\n%s", diff)
			}
		}
	})
}

// FuzzDecodeResellerOracle is the differential test of DecodeReseller
// against encoding/json (oracle_test.go): the
// same inputs fail, and the others decode to the same Reseller.
func FuzzDecodeResellerOracle(f *testing.F) {
	addTestdataSeeds(f)
	for _, seed := range oracleSeeds {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		want, wantErr := oracleDecodeReseller(body)
		got, err := DecodeReseller(body)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("DecodeReseller() error = %v, oracle error = %v", err, wantErr)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("DecodeReseller() disagrees with the oracle (-oracle +got):\n%s", diff)
		}
	})
}

// oracleSeeds are bodies on which the two decoders could plausibly
// disagree.
var oracleSeeds = []string{
	``, `null`, `{}`, `{} {}`, `{}x`, `{"id":"a"}` + "\n", "\uFEFF\uFEFF {}",
	`{"id":"a","id":"b","ID":"c"}`, `{"id":"a","id":null}`,
	`{"\u017ftate":"x","zipCode":"1","ta\u212a":1}`, "{\"\u017ftate\":\"x\",\"\u212aey\":1}",
	`{"id":"\ud800","city":"\ud800\u0041","state":"\udc00\ud800","phone":"\ud83d\ude00"}`,
	"{\"id\":\"a\xffb\xc0\",\"city\":\"\xed\xa0\x80\",\"state\":\"\xf4\x90\x80\x80\"}",
	"{\"i\xffd\":\"x\"}", `{"company_name":"x","company-name":"y"}`,
	`{"providerResellers":[{"priceMargin":{"value":1}}],"providerResellers":[{"status":{"name":"x"}}]}`,
	`{"providerResellers":[{"id":1},{"providerInstanceId":"a"},{}],"providerResellers":[null],"providerResellers":[{},{},{}]}`,
	`{"providerResellers":[{"priceMargin":{"value":1}}],"providerResellers":null,"providerResellers":[{}]}`,
	`{"providerResellers":[{"priceMargin":{"value":1}},null]}`, `{"providerResellers":[]}`,
	`{"customDomain":{"customDomain":"a"},"customDomain":{"status":{"name":"x"}}}`,
	`{"customDomain":{"customDomain":"a"},"customDomain":null,"customDomain":{}}`,
	`{"providerResellers":[{"priceMargin":{"value":1e308}}]}`, `{"providerResellers":[{"priceMargin":{"value":1e309}}]}`,
	`{"providerResellers":[{"priceMargin":{"value":-0.0e-400}}]}`, `{"providerResellers":[{"priceMargin":{"value":01}}]}`,
	`{"providerResellers":[{"priceMargin":{"value":"1"}}]}`, `{"providerResellers":[{"priceMargin":{"value":true}}]}`,
	`{"providerResellers":[{"priceMargin":[]}]}`, `{"providerResellers":[5]}`, `{"providerResellers":{}}`,
	`{"providerResellers":[{"offerTypeMargins":{"Value":{"license":{"Value":10}}},"offerTypeMargins":{"a":{}}}]}`,
	`{"providerResellers":[{"offerTypeMargins":{"license":5,"license":{}}}]}`,
	`{"providerResellers":[{"offerTypeMargins":{"Value":{"a":5,"a":{}}}}]}`,
	`{"providerResellers":[{"resellerProviderData":"{\"IndirectResellerId\":\"x\",\"SecondaryMpnIds\":[1,null,\"2\"]}"}]}`,
	`{"providerResellers":[{"resellerProviderData":"{\"SecondaryMpnIds\":[true]}"},{"resellerProviderData":" \ufeff{} "}]}`,
	`{"providerResellers":[{"resellerProviderData":"{}","resellerProviderData":null}]}`,
	`{"providerResellers":[{"resellerProviderData":"{\"secondaryMpnIds\":[1],\"secondaryMpnIds\":null}"}]}`,
	`{"unknown":{"deep":[[[[{"x":[1,2,{"y":null}]}]]]]},"id":"a"}`, `{"unknown":[1,2}`, `{"id":"a",}`,
	`{"id":"\u0000\"\\\/\b\f\n\r\t"}`, "{\"id\":\"\u2028\u007f\"}", "{\"id\":\"a\u0001\"}",
}

// FuzzParseProviderDataOracle is the differential test of
// ParseProviderData against encoding/json (oracle_test.go).
func FuzzParseProviderDataOracle(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `null`, `[]`, `"x"`, " \uFEFF{}", `{} x`, `{"SecondaryMpnIds":[1e999,-0,"\ud800"]}`,
		`{"indirectResellerId" : "f94f06fd-dc98-47fb-bd49-63bc98bd87f2","secondaryMpnIds": [ "123456", "654321"]}`,
		`{"IndirectResellerId":null,"SecondaryMpnIds":[1,null,"2"]}`, `{"SecondaryMpnIds":[{}]}`,
		`{"SecondaryMpnIds":"1"}`, `{"IndirectResellerId":5}`, `{"\u017fecondaryMpnIds":[]}`, "{\"a\":\"\xff\"}",
		"{\"SecondaryMpnIds\":[\"1\xff\",\"\\u00e9\\ud800\",[1]]}", "{\"SecondaryMpnIds\":[\"1\xff\",\"\\u00e9\\ud800\",-1.5e3]}",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		want, wantOK := oracleParseProviderData(raw)
		got := parseProviderData([]byte(raw))
		if (got != nil) != wantOK {
			t.Fatalf("parseProviderData() = %v, oracle ok %v", got, wantOK)
		}
		if got == nil {
			got = &ProviderData{}
		}
		if diff := cmp.Diff(want, *got); diff != "" {
			t.Fatalf("parseProviderData() disagrees with the oracle (-oracle +got):\n%s", diff)
		}
	})
}
