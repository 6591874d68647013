package rest

import (
	"bytes"
	"errors"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// The reader of OfferTypeMargins and its wrapper rule.

// offerTypeMargins reads offerTypeMargins with the wrapper rule described
// on OfferTypeMargins. An object whose first name cannot be "value" (in any
// casing, escapes considered) is a plain dictionary, decoded as it streams
// by; the others are wrapper candidates (see wrapperOrRule).
func (r *reader) offerTypeMargins(m *OfferTypeMargins) error {
	switch k := r.dec.PeekKind(); k {
	case 'n':
		*m = nil
		return r.token()
	case '{':
	default:
		return r.mismatch(k, "an object")
	}
	if !r.inPlace {
		// A wrapper candidate may have to be decoded again from its bytes,
		// which only an in-place reader keeps: read the object whole and
		// decode it with one.
		raw, err := r.dec.ReadValue()
		if err != nil {
			return err
		}
		return decodeValue(raw, m, (*reader).offerTypeMargins)
	}
	var out OfferTypeMargins
	var err error
	if firstNameMayBeValue(bytes.TrimLeft(r.dec.UnreadBuffer(), " \t\r\n:,")) {
		out, err = r.wrapperOrRule()
	} else {
		out, err = r.dictionary()
	}
	if err != nil {
		return err
	}
	*m = out
	return nil
}

// dictionary reads an object of offer type margins as it is, each entry
// decoded from scratch (like a map value in encoding/json), the last of a
// repeated name winning.
func (r *reader) dictionary() (OfferTypeMargins, error) {
	if err := r.token(); err != nil {
		return nil, err
	}
	out := make(OfferTypeMargins)
	for r.more() {
		raw, err := r.dec.ReadValue()
		if err != nil {
			return nil, err
		}
		name := string(r.unquote(raw))
		var pm PriceMargin
		if err := r.priceMarginEntry(&pm); err != nil {
			return nil, err
		}
		out[name] = pm
	}
	return out, r.token()
}

// wrapperOrRule reads a wrapper candidate. The likely ASP.NET wrapper,
// {"Value": {dictionary}}, is decoded as it streams by (see wrapper); when
// the object turns out to be anything else, it is read to its end and its
// bytes, which an in-place reader keeps, are decoded by
// offerTypeMarginsByRule, which states the rule plainly. Both give the same
// result when the first succeeds.
func (r *reader) wrapperOrRule() (OfferTypeMargins, error) {
	rest, start, depth := r.dec.UnreadBuffer(), r.dec.InputOffset(), r.dec.StackDepth()
	var out OfferTypeMargins
	err := r.wrapper(&out)
	if err == nil {
		return out, nil
	}
	var te *wireTypeError
	if !errors.Is(err, errNotWrapper) && !errors.As(err, &te) {
		return nil, err // malformed JSON
	}
	for r.dec.StackDepth() > depth {
		if _, err := r.dec.ReadToken(); err != nil {
			return nil, err
		}
	}
	n := r.dec.InputOffset() - start
	if n > int64(len(rest)) {
		return nil, errors.New("offerTypeMargins: the input is not held in place")
	}
	return offerTypeMarginsByRule(rest[:n])
}

// errNotWrapper makes reader.wrapper give up on an object.
var errNotWrapper = errors.New("not an offerTypeMargins wrapper")

// wrapper reads an object that is certainly a wrapper: exactly one member,
// named "value" in any casing, holding null or a dictionary of valid
// entries none of which is named like a PriceMargin field. It fails on
// anything else, valid or not.
func (r *reader) wrapper(m *OfferTypeMargins) error {
	if err := r.token(); err != nil {
		return err
	}
	name, err := r.memberName()
	if err != nil {
		return err
	}
	if string(name) != "value" {
		return errNotWrapper
	}
	switch r.dec.PeekKind() {
	case 'n':
		*m = nil
		if err := r.token(); err != nil {
			return err
		}
	case '{':
		if err := r.token(); err != nil {
			return err
		}
		out := make(OfferTypeMargins)
		for r.more() {
			raw, err := r.dec.ReadValue()
			if err != nil {
				return err
			}
			name := r.unquote(raw)
			if isPriceMarginField(string(name)) {
				return errNotWrapper
			}
			key := string(name)
			var pm PriceMargin
			if err := r.priceMarginEntry(&pm); err != nil {
				return err
			}
			out[key] = pm
		}
		if err := r.token(); err != nil {
			return err
		}
		*m = out
	default:
		return errNotWrapper
	}
	if r.more() {
		return errNotWrapper
	}
	return r.token()
}

// offerTypeMarginsByRule applies the wrapper rule to a whole, well-formed
// object the way encoding/json with map[string]json.RawMessage did: the
// members are taken by exact name, the last of a repeated name winning (so
// the values it replaced are never decoded); an object with a single member
// named "value" in any casing is a wrapper when that member holds null or an
// object none of whose names is a PriceMargin field; then each margin is
// decoded.
func offerTypeMarginsByRule(raw []byte) (OfferTypeMargins, error) {
	dict, err := members(bytes.TrimLeft(raw, " \t\r\n:,"))
	if err != nil {
		return nil, err
	}
	if len(dict) == 1 {
		for name, v := range dict {
			if !strings.EqualFold(name, "value") {
				break
			}
			switch v.Kind() {
			case 'n':
				return nil, nil
			case '{':
				inner, err := members(v)
				if err != nil {
					return nil, err
				}
				if !hasPriceMarginField(inner) {
					dict = inner
				}
			}
		}
	}
	out := make(OfferTypeMargins, len(dict))
	for name, v := range dict {
		var pm PriceMargin
		if err := decodeValue(v, &pm, (*reader).priceMarginEntry); err != nil {
			return nil, err
		}
		out[name] = pm
	}
	return out, nil
}

// members returns the members of the well-formed JSON object raw by exact
// name, the last of a repeated name winning. The values share raw's memory.
func members(raw jsontext.Value) (map[string]jsontext.Value, error) {
	out := make(map[string]jsontext.Value)
	err := decodeValue(raw, &out, func(r *reader, out *map[string]jsontext.Value) error {
		if err := r.token(); err != nil {
			return err
		}
		for r.more() {
			name, err := r.dec.ReadValue()
			if err != nil {
				return err
			}
			key := string(r.unquote(name))
			// The input is a *bytes.Buffer, which the decoder reads in
			// place: the value stays valid after the next read.
			v, err := r.dec.ReadValue()
			if err != nil {
				return err
			}
			(*out)[key] = v
		}
		return r.token()
	})
	return out, err
}

// isPriceMarginField reports whether an offer type's name is also the name
// of a PriceMargin field ("marginRule" or "value", in any casing), which
// makes an object holding it a PriceMargin rather than a dictionary.
func isPriceMarginField(name string) bool {
	return strings.EqualFold(name, "marginRule") || strings.EqualFold(name, "value")
}

// hasPriceMarginField reports whether one of obj's names is a PriceMargin
// field.
func hasPriceMarginField[V any](obj map[string]V) bool {
	for name := range obj {
		if isPriceMarginField(name) {
			return true
		}
	}
	return false
}

// firstNameMayBeValue reports whether the first member name of the JSON
// object at the start of b might be "value" in any casing (a name with
// escapes might). An empty object's does not; neither does one that b cuts
// short, which is malformed: b holds the whole input.
func firstNameMayBeValue(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
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
