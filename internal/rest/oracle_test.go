package rest

// The encoding/json implementation of DecodeReseller, OfferTypeMargins and
// ParseProviderData that the library decoder (decode.go, margins.go) replaced, kept
// verbatim as the oracle of the differential fuzz tests (FuzzDecodeResellerOracle,
// FuzzOfferTypeMargins, FuzzParseProviderDataOracle): the new decoder must
// give the same results, and fail on the same inputs.

import (
	"bytes"
	"encoding/json"
	"strings"
)

// oracleDecodeReseller is the former DecodeReseller, with ProviderData
// filled the way the service used to parse it (oracleParseProviderData on
// the decoded string).
func oracleDecodeReseller(body []byte) (*Reseller, error) {
	body = trimLeft(body)
	if len(body) == 0 {
		return nil, undecodable("reseller", errEmptyBody)
	}
	if body[0] != '{' {
		return nil, undecodable("reseller", errNotObject)
	}
	r := new(oracleReseller)
	if err := json.Unmarshal(body, r); err != nil {
		return nil, undecodable("reseller", err)
	}
	return r.reseller(), nil
}

// oracleReseller is Reseller with the former OfferTypeMargins decoding.
type oracleReseller struct {
	ID                 *string                  `json:"id"`
	CompanyName        *string                  `json:"companyName"`
	Country            *string                  `json:"country"`
	AddressLine1       *string                  `json:"addressLine1"`
	AddressLine2       *string                  `json:"addressLine2"`
	City               *string                  `json:"city"`
	State              *string                  `json:"state"`
	ZipCode            *string                  `json:"zipCode"`
	FirstName          *string                  `json:"firstName"`
	LastName           *string                  `json:"lastName"`
	Email              *string                  `json:"email"`
	Phone              *string                  `json:"phone"`
	InternalIdentifier *string                  `json:"internalIdentifier"`
	TaxID              *string                  `json:"taxId"`
	ProviderResellers  []oracleProviderReseller `json:"providerResellers"`
	CustomDomain       *CustomDomain            `json:"customDomain"`
}

type oracleProviderReseller struct {
	ProviderInstanceID   *string                `json:"providerInstanceId"`
	PriceMargin          *PriceMargin           `json:"priceMargin"`
	OfferTypeMargins     oracleOfferTypeMargins `json:"offerTypeMargins"`
	ProviderResellerID   *string                `json:"providerResellerId"`
	ResellerProviderData *string                `json:"resellerProviderData"`
	Status               *EnumName              `json:"status"`
}

func (o *oracleReseller) reseller() *Reseller {
	r := &Reseller{
		ID: o.ID, CompanyName: o.CompanyName, Country: o.Country, AddressLine1: o.AddressLine1,
		AddressLine2: o.AddressLine2, City: o.City, State: o.State, ZipCode: o.ZipCode,
		FirstName: o.FirstName, LastName: o.LastName, Email: o.Email, Phone: o.Phone,
		InternalIdentifier: o.InternalIdentifier, TaxID: o.TaxID, CustomDomain: o.CustomDomain,
	}
	if o.ProviderResellers != nil {
		r.ProviderResellers = make([]ProviderReseller, len(o.ProviderResellers))
		for i, p := range o.ProviderResellers {
			r.ProviderResellers[i] = ProviderReseller{
				ProviderInstanceID:   p.ProviderInstanceID,
				PriceMargin:          p.PriceMargin,
				OfferTypeMargins:     OfferTypeMargins(p.OfferTypeMargins),
				ProviderResellerID:   p.ProviderResellerID,
				ResellerProviderData: p.ResellerProviderData,
				Status:               p.Status,
			}
			if s := p.ResellerProviderData; s != nil {
				if d, ok := oracleParseProviderData(*s); ok {
					r.ProviderResellers[i].ProviderData = &d
				}
			}
		}
	}
	return r
}

// oracleOfferTypeMargins is OfferTypeMargins with the former UnmarshalJSON.
type oracleOfferTypeMargins map[string]PriceMargin

func (m *oracleOfferTypeMargins) UnmarshalJSON(data []byte) error {
	if oracleIsNull(data) {
		*m = nil
		return nil
	}
	// Fast paths decode in one pass when the shape is certain; anything
	// unusual goes to decodeOfferTypeMargins, which states the rule plainly.
	if !oracleFirstKeyMayBeValue(data) {
		// Not a wrapper: its first key is not "value".
		var dict map[string]PriceMargin
		if err := json.Unmarshal(data, &dict); err != nil {
			return err
		}
		*m = dict
		return nil
	}
	var wrapper map[string]map[string]PriceMargin
	if err := json.Unmarshal(data, &wrapper); err == nil && len(wrapper) == 1 {
		for key, inner := range wrapper {
			if strings.EqualFold(key, "value") && !oracleHasPriceMarginKey(inner) {
				*m = inner // nil for {"Value": null}
				return nil
			}
		}
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

// oracleParseProviderData is the former ParseProviderData.
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
