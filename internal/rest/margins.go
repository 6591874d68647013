package rest

import (
	"bytes"
	"errors"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// errMargin reports an offer type's margin that is not a PriceMargin object
// (or null), instead of the nested decoding's error, which would name the
// offer type (upstream text).
var errMargin = errors.New("an offer type's margin is not an object of the PriceMargin shape")

// UnmarshalJSONFrom implements github.com/go-json-experiment/json's
// UnmarshalerFrom with the wrapper rule of OfferTypeMargins, as encoding/json
// did: when the first name cannot be "value" (escapes considered), the
// object is a dictionary decoded as a map, every repeated value decoded;
// otherwise the members are taken by exact name, the last of a repeated name
// winning undecoded, the wrapper unwrapped, and each margin decoded.
func (m *OfferTypeMargins) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	if k := dec.PeekKind(); k != '{' {
		return errors.ErrUnsupported // null (nil), or a mismatch for the library
	}
	raw, err := dec.ReadValue()
	if err != nil {
		return err
	}
	if !firstNameMayBeValue(raw) {
		out := OfferTypeMargins{}
		if err := json.Unmarshal(raw, (*map[string]PriceMargin)(&out), decodeOptions); err != nil {
			return errMargin
		}
		*m = out
		return nil
	}
	dict, err := members(raw)
	if err != nil {
		return errMargin
	}
	if inner, ok := unwrap(dict); ok {
		if inner == nil {
			*m = nil
			return nil
		}
		dict = inner
	}
	out := make(OfferTypeMargins, len(dict))
	for name, v := range dict {
		var pm PriceMargin
		if err := json.Unmarshal(v, &pm, decodeOptions); err != nil {
			return errMargin
		}
		out[name] = pm
	}
	*m = out
	return nil
}

// members returns the members of the JSON object raw by exact name, the last
// of a repeated name winning.
func members(raw jsontext.Value) (map[string]jsontext.Value, error) {
	var out map[string]jsontext.Value
	if err := json.Unmarshal(raw, &out, decodeOptions); err != nil {
		return nil, err
	}
	return out, nil
}

// unwrap reports whether dict is the ASP.NET wrapper, {"Value": null} (nil)
// or {"Value": {dictionary}}, and returns the dictionary.
func unwrap(dict map[string]jsontext.Value) (map[string]jsontext.Value, bool) {
	if len(dict) != 1 {
		return nil, false
	}
	for name, v := range dict {
		if !strings.EqualFold(name, "value") {
			return nil, false
		}
		switch v.Kind() {
		case 'n':
			return nil, true
		case '{':
			inner, err := members(v)
			if err != nil || hasPriceMarginField(inner) {
				return nil, false
			}
			if inner == nil {
				inner = map[string]jsontext.Value{}
			}
			return inner, true
		}
	}
	return nil, false
}

// hasPriceMarginField reports whether one of obj's names is also the name of
// a PriceMargin field ("marginRule" or "value", in any casing), which makes
// the object a PriceMargin rather than a dictionary.
func hasPriceMarginField[V any](obj map[string]V) bool {
	for name := range obj {
		if strings.EqualFold(name, "marginRule") || strings.EqualFold(name, "value") {
			return true
		}
	}
	return false
}

// firstNameMayBeValue reports whether the first member name of the JSON
// object raw might be "value" in any casing (a name with escapes might). An
// empty object's does not.
func firstNameMayBeValue(raw []byte) bool {
	b := bytes.TrimLeft(raw, " \t\r\n")
	if len(b) == 0 || b[0] != '{' {
		return false
	}
	b = bytes.TrimLeft(b[1:], " \t\r\n")
	if len(b) == 0 || b[0] != '"' {
		return false
	}
	name, _, found := bytes.Cut(b[1:], []byte{'"'})
	return found && (bytes.IndexByte(name, '\\') >= 0 || bytes.EqualFold(name, []byte("value")))
}
