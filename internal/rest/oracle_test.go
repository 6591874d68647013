package rest

// The oracles of the differential fuzz tests (FuzzDecodeResellerOracle,
// FuzzOfferTypeMargins, FuzzParseProviderDataOracle): encoding/json itself,
// on the package's own types, with the upstream's two quirks stated plainly
// (the wrapper rule of OfferTypeMargins, MPN ids that may be numbers). The
// library decoder (decode.go) must give the same results, and
// fail on the same inputs.

import (
	"bytes"
	"encoding/json"
	"strings"
)

// oracleDecodeReseller is DecodeReseller by encoding/json, with ProviderData
// parsed by oracleParseProviderData.
func oracleDecodeReseller(body []byte) (*Reseller, error) {
	body = trimLeft(body)
	if len(body) == 0 {
		return nil, undecodable("reseller", errEmptyBody)
	}
	if body[0] != '{' {
		return nil, undecodable("reseller", errNotObject)
	}
	// The outer fields hide the embedded ones of the same name.
	var o struct {
		Reseller
		ProviderResellers []struct {
			ProviderReseller
			OfferTypeMargins oracleOfferTypeMargins `json:"offerTypeMargins"`
		} `json:"providerResellers"`
	}
	if err := json.Unmarshal(body, &o); err != nil {
		return nil, undecodable("reseller", err)
	}
	r := o.Reseller
	if o.ProviderResellers != nil {
		r.ProviderResellers = make([]ProviderReseller, len(o.ProviderResellers))
		for i, p := range o.ProviderResellers {
			r.ProviderResellers[i] = p.ProviderReseller
			r.ProviderResellers[i].OfferTypeMargins = OfferTypeMargins(p.OfferTypeMargins)
			if s := p.ResellerProviderData; s != nil {
				if d, ok := oracleParseProviderData(*s); ok {
					r.ProviderResellers[i].ProviderData = &d
				}
			}
		}
	}
	return &r, nil
}

// oracleOfferTypeMargins is OfferTypeMargins decoded by encoding/json: a
// plain map when the first name cannot be "value", the wrapper rule
// otherwise.
type oracleOfferTypeMargins map[string]PriceMargin

func (m *oracleOfferTypeMargins) UnmarshalJSON(data []byte) error {
	if oracleIsNull(data) {
		*m = nil
		return nil
	}
	if !oracleFirstKeyMayBeValue(data) {
		var dict map[string]PriceMargin
		if err := json.Unmarshal(data, &dict); err != nil {
			return err
		}
		*m = dict
		return nil
	}
	out, err := oracleDecodeOfferTypeMargins(data)
	if err != nil {
		return err
	}
	*m = oracleOfferTypeMargins(out)
	return nil
}

// oracleDecodeOfferTypeMargins is the straightforward form of the wrapper
// rule: look at the keys as raw JSON, unwrap if it is a wrapper, then decode
// each margin.
func oracleDecodeOfferTypeMargins(data []byte) (OfferTypeMargins, error) {
	if oracleIsNull(data) {
		return nil, nil
	}
	var dict map[string]json.RawMessage
	if err := json.Unmarshal(data, &dict); err != nil {
		return nil, err
	}
	if inner, ok := oracleUnwrapValue(dict); ok {
		if inner == nil { // {"Value": null}
			return nil, nil
		}
		dict = inner
	}
	out := make(OfferTypeMargins, len(dict))
	for name, raw := range dict {
		var pm PriceMargin
		if err := json.Unmarshal(raw, &pm); err != nil {
			return nil, err
		}
		out[name] = pm
	}
	return out, nil
}

func oracleFirstKeyMayBeValue(data []byte) bool {
	data = bytes.TrimLeft(data, " \t\r\n")
	if len(data) == 0 || data[0] != '{' {
		return false
	}
	data = bytes.TrimLeft(data[1:], " \t\r\n")
	if len(data) == 0 || data[0] != '"' {
		return false
	}
	key, _, found := bytes.Cut(data[1:], []byte{'"'})
	if !found {
		return false
	}
	return bytes.IndexByte(key, '\\') >= 0 || bytes.EqualFold(key, []byte("value"))
}

func oracleHasPriceMarginKey[V any](obj map[string]V) bool {
	for k := range obj {
		if strings.EqualFold(k, "marginRule") || strings.EqualFold(k, "value") {
			return true
		}
	}
	return false
}

func oracleUnwrapValue(dict map[string]json.RawMessage) (map[string]json.RawMessage, bool) {
	if len(dict) != 1 {
		return nil, false
	}
	for key, raw := range dict {
		if !strings.EqualFold(key, "value") {
			return nil, false
		}
		raw = bytes.TrimLeft(raw, " \t\r\n")
		if oracleIsNull(raw) {
			return nil, true
		}
		if len(raw) == 0 || raw[0] != '{' {
			return nil, false
		}
		var inner map[string]json.RawMessage
		if err := json.Unmarshal(raw, &inner); err != nil {
			return nil, false
		}
		if inner == nil { // keep nil for {"Value": null} only
			inner = map[string]json.RawMessage{}
		}
		if oracleHasPriceMarginKey(inner) {
			return nil, false
		}
		return inner, true
	}
	return nil, false
}

func oracleIsNull(data []byte) bool {
	return string(bytes.TrimSpace(data)) == "null"
}

// oracleParseProviderData is parseProviderData by encoding/json, MPN ids
// that are numbers kept as their digits.
func oracleParseProviderData(raw string) (ProviderData, bool) {
	b := trimLeft([]byte(raw))
	if len(b) == 0 || b[0] != '{' {
		return ProviderData{}, false
	}
	var doc struct {
		IndirectResellerID *string              `json:"indirectResellerId"`
		SecondaryMpnIDs    oracleLenientStrings `json:"secondaryMpnIds"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return ProviderData{}, false
	}
	return ProviderData{IndirectResellerID: doc.IndirectResellerID, SecondaryMpnIDs: doc.SecondaryMpnIDs}, true
}

type oracleLenientStrings []string

func (s *oracleLenientStrings) UnmarshalJSON(data []byte) error {
	if oracleIsNull(data) {
		*s = nil
		return nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(data, &items); err != nil {
		return err
	}
	out := make([]string, 0, len(items))
	for _, item := range items {
		item = bytes.TrimSpace(item)
		switch {
		case oracleIsNull(item):
		case len(item) > 0 && item[0] == '"':
			var v string
			if err := json.Unmarshal(item, &v); err != nil {
				return err
			}
			out = append(out, v)
		default:
			var n json.Number
			if err := json.Unmarshal(item, &n); err != nil {
				return err
			}
			out = append(out, n.String())
		}
	}
	*s = out
	return nil
}
