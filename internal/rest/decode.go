package rest

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

var (
	errEmptyBody = errors.New("body is empty")
	errNotObject = errors.New("top-level JSON value is not an object")
)

// decodeOptions make github.com/go-json-experiment/json decode the
// upstream's ASP.NET JSON exactly as encoding/json does (oracle_test.go
// checks it): names match by strings.EqualFold, unknown members are skipped,
// a repeated name is decoded again into what the first filled, invalid UTF-8
// becomes U+FFFD; a value of the wrong kind or out of range is an error.
var decodeOptions = json.JoinOptions(
	json.MatchCaseInsensitiveNames(true),
	jsonv1.MatchCaseSensitiveDelimiter(true),
	jsonv1.MergeWithLegacySemantics(true),
	jsontext.AllowDuplicateNames(true),
	jsontext.AllowInvalidUTF8(true),
)

// DecodeReseller decodes a GET /v1/Resellers/{resellerId} 200 body
// tolerantly, as encoding/json did (see decodeOptions): null and missing
// properties leave fields nil, offerTypeMargins may come wrapped (see
// OfferTypeMargins), a leading byte order mark is skipped, and each provider
// reseller's ProviderData is parsed from its resellerProviderData. An empty
// body, a value that is not an object, malformed JSON or a property of the
// wrong JSON type fails with a KindUndecodable *Error whose message never
// quotes the body. The result shares no memory with body.
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
	for i := range r.ProviderResellers {
		p := &r.ProviderResellers[i]
		if p.ResellerProviderData == nil {
			continue
		}
		if d, ok := parseProviderData([]byte(*p.ResellerProviderData)); ok {
			p.ProviderData = &d
		}
	}
	return r, nil
}

// quiet rewords the library's errors, which may quote the input (a member
// name, a value), naming only offsets, known field names, kinds and types.
func quiet(err error) error {
	var se *jsontext.SyntacticError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at byte %d: %w", se.ByteOffset, se.Err)
	}
	var te *json.SemanticError
	if !errors.As(err, &te) {
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

// kindNames names the JSON kinds in quiet's messages.
var kindNames = map[jsontext.Kind]string{'n': "null", 'f': "boolean", 't': "boolean", '"': "string", '0': "number", '{': "object", '}': "object", '[': "array", ']': "array"}

// trimLeft drops leading JSON white space and UTF-8 byte order marks.
func trimLeft(b []byte) []byte {
	return bytes.TrimLeft(b, " \t\r\n\uFEFF")
}

// ProviderData is the Microsoft Tier 2 data held in a provider reseller's
// resellerProviderData JSON string:
// {"IndirectResellerId": "<uuid>"|null, "SecondaryMpnIds": ["123456", ...]}.
// Tier 1 and generic providers send "{}", which gives the zero value.
type ProviderData struct {
	// IndirectResellerID is the indirect reseller's GUID; nil when null or
	// absent.
	IndirectResellerID *string `json:"indirectResellerId"`

	// SecondaryMpnIDs lists the reseller's secondary MPN ids (numeric
	// strings); nil when null or absent.
	SecondaryMpnIDs []string `json:"secondaryMpnIds"`
}

// providerDataOptions are decodeOptions with the reader of
// ProviderData.SecondaryMpnIDs (see mpnIDs).
var providerDataOptions = json.JoinOptions(decodeOptions, json.WithUnmarshalers(json.UnmarshalFromFunc(mpnIDs)))

// parseProviderData parses a resellerProviderData document as DecodeReseller
// does, MPN ids sent as numbers kept as their digits and null ones skipped.
// ok is false, with the zero ProviderData, when b is not a JSON object or a
// known property has the wrong JSON type.
func parseProviderData(b []byte) (ProviderData, bool) {
	b = trimLeft(b)
	if len(b) == 0 || b[0] != '{' {
		return ProviderData{}, false
	}
	var d ProviderData
	if err := json.Unmarshal(b, &d, providerDataOptions); err != nil {
		return ProviderData{}, false
	}
	return d, true
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
		v, err := dec.ReadValue()
		if err != nil {
			return err
		}
		switch v.Kind() {
		case 'n':
		case '"':
			s, _ := jsontext.AppendUnquote(nil, v) // invalid UTF-8 is replaced
			ids = append(ids, string(s))
		case '0':
			ids = append(ids, string(v))
		default:
			return errMpnID
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	*p = ids
	return nil
}

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
	var dict map[string]jsontext.Value // by exact name, the last of a repeated one winning
	if err := json.Unmarshal(raw, &dict, decodeOptions); err != nil {
		return errMargin
	}
	for name, v := range dict { // the wrapper: a single member "value", null or a dictionary
		var inner map[string]jsontext.Value
		switch {
		case len(dict) != 1 || !strings.EqualFold(name, "value"):
		case v.Kind() == 'n':
			*m = nil
			return nil
		case v.Kind() == '{' && json.Unmarshal(v, &inner, decodeOptions) == nil && !hasPriceMarginField(inner):
			dict = inner
		}
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

// DecodeAcceptanceLink decodes a GET /v1/Customers/relationship-acceptance
// 200 body into the link: the documented JSON string, or the raw URL an
// ASP.NET server may send as text/plain. A body (trimmed of white space and
// byte order marks) that starts with a double quote is decoded as a JSON
// string; otherwise, when contentType is text/plain or the body starts with
// http:// or https://, the text is the link. Any other body, and a link
// that is not an absolute http(s) URL with a host, fail with a
// KindUndecodable *Error. The link is returned as sent, not re-encoded.
func DecodeAcceptanceLink(contentType string, body []byte) (string, error) {
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
	case isTextPlain(contentType) || hasPrefixFold(b, "http://") || hasPrefixFold(b, "https://"):
		link = string(b)
	default:
		return "", undecodable("acceptance link", errors.New("body is neither a JSON string nor a URL"))
	}
	if err := checkLink(link); err != nil {
		return "", undecodable("acceptance link", err)
	}
	return link, nil
}

// checkLink reports why link is not an absolute http(s) URL with a host. The
// messages never repeat the link: it came from the upstream body.
func checkLink(link string) error {
	u, err := url.Parse(link)
	switch {
	case strings.ContainsAny(link, " \t\r\n"):
		return errors.New("link contains white space")
	case err != nil:
		return errors.New("link is not a valid URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("link is not an http or https URL")
	case u.Host == "":
		return errors.New("link has no host")
	}
	return nil
}

// isTextPlain reports whether the media type of a Content-Type value is
// text/plain, ignoring parameters and casing.
func isTextPlain(contentType string) bool {
	mediaType, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mediaType), "text/plain")
}

// hasPrefixFold reports whether b starts with the ASCII prefix in any casing.
func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && strings.EqualFold(string(b[:len(prefix)]), prefix)
}
