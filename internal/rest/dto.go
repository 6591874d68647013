package rest

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Reseller is a reseller as GET /v1/Resellers/{resellerId} returns it. Every
// "string | null" property is a *string, so that null or absent (nil) is
// distinguishable from "".
type Reseller struct {
	// ID is the reseller's GUID.
	ID *string `json:"id"`
	// CompanyName is the company name, up to 255 characters.
	CompanyName *string `json:"companyName"`
	// Country is the company country, ISO 3166-1 alpha-2.
	Country *string `json:"country"`
	// AddressLine1 is the first address line, up to 255 characters.
	AddressLine1 *string `json:"addressLine1"`
	// AddressLine2 is the second address line, up to 255 characters.
	AddressLine2 *string `json:"addressLine2"`
	// City is the company city, up to 255 characters.
	City *string `json:"city"`
	// State is the company state, up to 255 characters.
	State *string `json:"state"`
	// ZipCode is the company ZIP code, up to 30 characters.
	ZipCode *string `json:"zipCode"`
	// FirstName is the primary contact's first name, up to 255 characters.
	FirstName *string `json:"firstName"`
	// LastName is the primary contact's last name, up to 255 characters.
	LastName *string `json:"lastName"`
	// Email is the primary contact's email, up to 255 characters.
	Email *string `json:"email"`
	// Phone is the primary contact's phone, up to 30 characters.
	Phone *string `json:"phone"`
	// InternalIdentifier is the company's internal identifier, up to 255
	// characters.
	InternalIdentifier *string `json:"internalIdentifier"`
	// TaxID is the company's tax id, up to 255 characters.
	TaxID *string `json:"taxId"`
	// ProviderResellers describes the reseller in each provider instance it
	// belongs to; nil when null or absent.
	ProviderResellers []ProviderReseller `json:"providerResellers"`
	// CustomDomain is the reseller's custom portal domain; nil when null or
	// absent.
	CustomDomain *CustomDomain `json:"customDomain"`
}

// ProviderReseller is the reseller's association with one provider instance.
type ProviderReseller struct {
	// ProviderInstanceID is the provider instance's GUID.
	ProviderInstanceID *string `json:"providerInstanceId"`
	// PriceMargin is the margin applied at the provider instance level; nil
	// when null or absent.
	PriceMargin *PriceMargin `json:"priceMargin"`
	// OfferTypeMargins overrides PriceMargin per offer type; nil when null or
	// absent. See OfferTypeMargins for the accepted JSON forms.
	OfferTypeMargins OfferTypeMargins `json:"offerTypeMargins"`
	// ProviderResellerID is the reseller's id in the provider (for Microsoft
	// Tier 2, the reseller's primary MPN id).
	ProviderResellerID *string `json:"providerResellerId"`
	// ResellerProviderData is a JSON document inside a string; parse it with
	// ParseProviderData.
	ResellerProviderData *string `json:"resellerProviderData"`
	// Status is Processing, Success or Failed (any casing); nil when null or
	// absent.
	Status *EnumName `json:"status"`
}

// PriceMargin is a margin rule and its value.
type PriceMargin struct {
	// MarginRule is Markup, Margin, SplitMargin or ErpMinusDiscount (any
	// casing); nil when null or absent.
	MarginRule *EnumName `json:"marginRule"`
	// Value is the margin, documented as between 0 and 999; nil when null or
	// absent.
	Value *float64 `json:"value"`
}

// EnumName is how the upstream sends an enumeration value: {"name": "..."}.
type EnumName struct {
	// Name is the enumeration value's name; nil when null or absent.
	Name *string `json:"name"`
}

// CustomDomain is a reseller's custom portal domain.
type CustomDomain struct {
	// CustomDomain is the domain; nil when null or absent.
	CustomDomain *string `json:"customDomain"`
	// Status is the domain's state (values undocumented); nil when null or
	// absent.
	Status *EnumName `json:"status"`
}

// OfferTypeMargins maps an offer type name, in the upstream's casing, to the
// margin applied to that offer type. Its UnmarshalJSON accepts both the plain
// dictionary {"license": {...}} and the ASP.NET wrapper object around it,
// {"Value": {"license": {...}}}, which the API documentation shows. An object
// with the single key "value" (any casing) is taken for the wrapper when that
// key holds an object that is not itself a PriceMargin (has no "marginRule" or
// "value" key) or holds null; otherwise the object is the dictionary. null
// decodes to a nil map.
type OfferTypeMargins map[string]PriceMargin

// UnmarshalJSON implements json.Unmarshaler with the wrapper rule described
// on OfferTypeMargins.
func (m *OfferTypeMargins) UnmarshalJSON(data []byte) error {
	if isNull(data) {
		*m = nil
		return nil
	}
	// Fast paths decode in one pass when the shape is certain; anything
	// unusual goes to decodeOfferTypeMargins, which states the rule plainly.
	// FuzzOfferTypeMargins checks that both always agree.
	if !firstKeyMayBeValue(data) {
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
			if strings.EqualFold(key, "value") && !hasPriceMarginKey(inner) {
				*m = inner // nil for {"Value": null}
				return nil
			}
		}
	}
	out, err := decodeOfferTypeMargins(data)
	if err != nil {
		return err
	}
	*m = out
	return nil
}

// decodeOfferTypeMargins is the straightforward form of the wrapper rule:
// look at the keys as raw JSON, unwrap if it is a wrapper, then decode each
// margin.
func decodeOfferTypeMargins(data []byte) (OfferTypeMargins, error) {
	if isNull(data) {
		return nil, nil
	}
	var dict map[string]json.RawMessage
	if err := json.Unmarshal(data, &dict); err != nil {
		return nil, err
	}
	if inner, ok := unwrapValue(dict); ok {
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

// firstKeyMayBeValue reports whether the JSON object data might have "value"
// (any casing) as its first key; a key with escapes might, so it counts. An
// object whose first key is something else cannot be a wrapper.
func firstKeyMayBeValue(data []byte) bool {
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

// hasPriceMarginKey reports whether a decoded object has a PriceMargin
// property name ("marginRule" or "value", any casing) among its keys.
func hasPriceMarginKey[V any](obj map[string]V) bool {
	for k := range obj {
		if strings.EqualFold(k, "marginRule") || strings.EqualFold(k, "value") {
			return true
		}
	}
	return false
}

// unwrapValue returns the dictionary inside an ASP.NET {"Value": ...}
// wrapper and true when dict is one: exactly one key, equal to "value" in any
// casing, holding null (the dictionary is then nil) or an object that is not
// a PriceMargin (has no "marginRule" or "value" key).
func unwrapValue(dict map[string]json.RawMessage) (map[string]json.RawMessage, bool) {
	if len(dict) != 1 {
		return nil, false
	}
	for key, raw := range dict {
		if !strings.EqualFold(key, "value") {
			return nil, false
		}
		raw = bytes.TrimLeft(raw, " \t\r\n")
		if isNull(raw) {
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
		if hasPriceMarginKey(inner) {
			return nil, false
		}
		return inner, true
	}
	return nil, false
}

// isNull reports whether data is the JSON literal null.
func isNull(data []byte) bool {
	return string(bytes.TrimSpace(data)) == "null"
}
