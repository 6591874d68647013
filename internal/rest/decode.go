package rest

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

var (
	errEmptyBody = errors.New("body is empty")
	errNotObject = errors.New("top-level JSON value is not an object")
	errShaped    = errors.New("the object is a PriceMargin") // see wrapped
)

// decodeOptions make go-json-experiment/json decode exactly as encoding/json
// does, as oracle_test.go checks (docs/upstream-client.md#decoding-a-library-with-options).
var decodeOptions = json.JoinOptions(
	json.MatchCaseInsensitiveNames(true),
	jsonv1.MatchCaseSensitiveDelimiter(true),
	jsonv1.MergeWithLegacySemantics(true),
	jsontext.AllowDuplicateNames(true),
	jsontext.AllowInvalidUTF8(true),
)

// DecodeReseller decodes a GET /v1/Resellers/{resellerId} 200 body
// tolerantly, as encoding/json did (docs/upstream-client.md, Tolerance
// rules), and parses each provider reseller's ProviderData. A body that does
// not decode fails with a KindUndecodable *Error whose message never quotes
// the body. The result shares no memory with body.
func DecodeReseller(body []byte) (*Reseller, error) {
	body = trimLeft(body)
	if len(body) == 0 {
		return nil, undecodable("reseller", errEmptyBody)
	}
	if body[0] != '{' {
		return nil, undecodable("reseller", errNotObject)
	}
	r := new(Reseller)
	if err := json.Unmarshal(body, r, decodeOptions); err != nil {
		return nil, undecodable("reseller", quiet(err))
	}
	budget := maxBodyElements // commas of the provider data documents, which readBody may have seen escaped (\u002c)
	for i := range r.ProviderResellers {
		if p := &r.ProviderResellers[i]; p.ResellerProviderData != nil {
			b := []byte(*p.ResellerProviderData)
			if budget -= bytes.Count(b, []byte{','}); budget >= 0 { // elements without commas nest, as deep as the decoder allows
				p.ProviderData = parseProviderData(b)
			}
		}
	}
	return r, nil
}

// quiet rewords the library's errors, which may quote the input, naming
// only offsets, known field names, kinds and types.
func quiet(err error) error {
	if se, ok := errors.AsType[*jsontext.SyntacticError](err); ok {
		return fmt.Errorf("invalid JSON at byte %d: %w", se.ByteOffset, se.Err)
	}
	te, ok := errors.AsType[*json.SemanticError](err)
	if !ok {
		return err
	}
	kind, goType, detail := kindNames[te.JSONKind], "a value", ""
	if te.GoType != nil {
		goType = te.GoType.String()
	}
	if errors.Is(err, errMargin) {
		kind, detail = "object", ": "+errMargin.Error()
	}
	return fmt.Errorf("cannot decode a JSON %s at byte %d (%q) into %s%s", cmp.Or(kind, "value"), te.ByteOffset, te.JSONPointer, goType, detail)
}

var kindNames = map[jsontext.Kind]string{'n': "null", 'f': "boolean", 't': "boolean", '"': "string", '0': "number", '{': "object", '}': "object", '[': "array", ']': "array"}

// trimLeft drops leading JSON white space and UTF-8 byte order marks.
func trimLeft(b []byte) []byte { return bytes.TrimLeft(b, " \t\r\n\uFEFF") }

// ProviderData is the Microsoft Tier 2 data in a provider reseller's
// resellerProviderData JSON string; Tier 1 and generic providers send "{}",
// which gives the zero value. A field is nil when null or absent.
type ProviderData struct {
	IndirectResellerID *string  `json:"indirectResellerId"`
	SecondaryMpnIDs    []string `json:"secondaryMpnIds"`
}

var providerDataOptions = json.JoinOptions(decodeOptions, json.WithUnmarshalers(json.UnmarshalFromFunc(mpnIDs)))

// parseProviderData parses a resellerProviderData document as DecodeReseller
// does (see mpnIDs); nil when b is not a JSON object or a known property has
// the wrong JSON type.
func parseProviderData(b []byte) *ProviderData {
	b, d := trimLeft(b), new(ProviderData)
	if len(b) == 0 || b[0] != '{' || json.Unmarshal(b, d, providerDataOptions) != nil {
		return nil
	}
	return d
}

var errMpnID = errors.New("an MPN id is neither a string nor a number")

// mpnIDs reads the array of MPN ids (the provider data's only []string),
// strings or numbers (kept as their text), skipping nulls; it leaves
// anything but an array to the library.
func mpnIDs(dec *jsontext.Decoder, p *[]string) error {
	if dec.PeekKind() != '[' {
		return errors.ErrUnsupported
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	ids := []string{}
	for dec.PeekKind() != ']' {
		switch tok, err := dec.ReadToken(); {
		case err != nil:
			return err
		case tok.Kind() == '"' || tok.Kind() == '0': // a number kept as its text, invalid UTF-8 replaced
			ids = append(ids, tok.String())
		case tok.Kind() != 'n':
			return errMpnID
		}
	}
	_, err := dec.ReadToken() // ']'
	*p = ids
	return err
}

// errMargin replaces the nested decoding's error, which would name the
// offer type (upstream text).
var errMargin = errors.New("an offer type's margin is not an object of the PriceMargin shape")

// UnmarshalJSONFrom implements json.UnmarshalerFrom with the wrapper rule of
// OfferTypeMargins, as encoding/json did, reading the object once (readMargins).
func (m *OfferTypeMargins) UnmarshalJSONFrom(dec *jsontext.Decoder) (err error) {
	*m, err = readMargins(dec, false)
	return err
}

// wrapped is the object inside the wrapper: its UnmarshalJSONFrom fails
// with errShaped at a name of a PriceMargin field ("marginRule" or "value",
// any casing), which makes the object a margin rather than the dictionary.
type wrapped OfferTypeMargins

func (w *wrapped) UnmarshalJSONFrom(dec *jsontext.Decoder) (err error) {
	*(*OfferTypeMargins)(w), err = readMargins(dec, true)
	return err
}

// readMargins reads the object of margins that dec is at, or the wrapper's
// object when inner. When the first name cannot be "value" (escapes
// considered), the object is a dictionary whose every value must be a
// margin; otherwise only the last value of a repeated name counts, and the
// value of a first name "value" is kept aside until the end of the object
// tells whether it is the wrapper. A value that is not a margin fails with
// errMargin at the object's offset, after the whole object is read.
func readMargins(dec *jsontext.Decoder, inner bool) (OfferTypeMargins, error) {
	if dec.PeekKind() != '{' {
		return nil, errors.ErrUnsupported // null (nil), or a mismatch for the library
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, err
	}
	start, depth, out, bad, pm := dec.InputOffset()-1, dec.StackDepth(), OfferTypeMargins{}, map[string]bool{}, new(PriceMargin)
	first, lastWins, wrapper, buf := "", inner, jsontext.Value(nil), [64]byte{}
	for i := 0; dec.PeekKind() != '}'; i++ {
		raw, err := dec.ReadValue() // the name as sent
		if err != nil {
			return nil, err
		}
		b, _ := jsontext.AppendUnquote(buf[:0], raw) // invalid UTF-8 is replaced, as for any name
		name := string(b)
		if inner && (strings.EqualFold(name, "marginRule") || strings.EqualFold(name, "value")) {
			return nil, errShaped
		} else if i == 0 {
			first, lastWins = name, lastWins || bytes.IndexByte(raw, '\\') >= 0 || strings.EqualFold(name, "value")
		}
		if !inner && name == first && strings.EqualFold(name, "value") {
			v, err := dec.ReadValue()
			if wrapper = v.Clone(); err != nil { // the last value of the first name
				return nil, err
			}
			continue
		}
		*pm = PriceMargin{}
		if err = json.UnmarshalDecode(dec, pm); err == nil {
			out[name] = *pm
			if lastWins {
				delete(bad, name)
			}
			continue
		}
		if _, semantic := errors.AsType[*json.SemanticError](err); semantic { // skip what the library left of the value
			err = nil // until dec is back in the object after the value (a name and a value each count one)
			for _, n := dec.StackIndex(depth); err == nil && (dec.StackDepth() > depth || n%2 == 1); _, n = dec.StackIndex(depth) {
				_, err = dec.ReadToken()
			}
		}
		if err != nil {
			return nil, err
		}
		bad[name] = true
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, err
	}
	if wrapper != nil { // the wrapper when no other name came, unless a margin
		in, err := OfferTypeMargins(nil), errShaped
		if len(out)+len(bad) == 0 {
			err = json.Unmarshal(wrapper, (*wrapped)(&in), decodeOptions)
		}
		*pm = PriceMargin{}
		switch {
		case err == nil:
			return in, nil
		case errors.Is(err, errShaped) && json.Unmarshal(wrapper, pm, decodeOptions) == nil:
			out[first] = *pm
		default:
			bad[first] = true
		}
	}
	if len(bad) > 0 {
		return nil, &json.SemanticError{ByteOffset: start, Err: errMargin}
	}
	return out, nil
}

// DecodeAcceptanceLink decodes a GET /v1/Customers/relationship-acceptance
// 200 body into the link: a JSON string when the body (trimmed of white
// space and byte order marks) starts with a double quote, else the text when
// it starts with http:// or https://, whatever its Content-Type (ASP.NET
// answers a string as JSON or as text/plain). Any other body, and a link that
// is not an absolute http(s) URL with a host, fail with a KindUndecodable
// *Error. The link is returned as sent.
func DecodeAcceptanceLink(body []byte) (string, error) {
	b := bytes.TrimRight(trimLeft(body), " \t\r\n")
	if len(b) == 0 {
		return "", undecodable("acceptance link", errEmptyBody)
	}
	var link string
	switch {
	case b[0] == '"':
		if err := json.Unmarshal(b, &link, decodeOptions); err != nil {
			return "", undecodable("acceptance link", err)
		}
		link = strings.TrimSpace(link)
	case hasPrefixFold(b, "http://") || hasPrefixFold(b, "https://"):
		link = string(b)
	default:
		return "", undecodable("acceptance link", errors.New("body is neither a JSON string nor a URL"))
	}
	if err := checkLink(link); err != nil {
		return "", undecodable("acceptance link", err)
	}
	return link, nil
}

// checkLink reports why link is not an absolute http(s) URL with a host,
// never repeating the link (upstream text).
func checkLink(link string) error {
	u, err := url.Parse(link)
	switch {
	case strings.ContainsAny(link, " \t\r\n"):
		return errors.New("link contains white space")
	case !utf8.ValidString(link): // a raw URL's bytes; a protobuf string must be UTF-8
		return errors.New("link is not UTF-8")
	case err != nil:
		return errors.New("link is not a valid URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("link is not an http or https URL")
	case u.Host == "":
		return errors.New("link has no host")
	}
	return nil
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && strings.EqualFold(string(b[:len(prefix)]), prefix)
}
