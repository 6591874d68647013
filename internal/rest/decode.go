package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

var (
	errEmptyBody = errors.New("body is empty")
	errNotObject = errors.New("top-level JSON value is not an object")
)

// DecodeReseller decodes a GET /v1/Resellers/{resellerId} 200 body. It is
// tolerant the way the ASP.NET upstream is: property names match in any
// casing, null and missing properties leave fields nil, unknown properties
// are ignored, and offerTypeMargins may come wrapped (see OfferTypeMargins).
// A repeated property is decoded again, the last value winning (objects are
// merged, as encoding/json does), and invalid UTF-8 in strings becomes
// U+FFFD. A leading UTF-8 byte order mark is skipped. Each provider
// reseller's ProviderData is parsed from its resellerProviderData. An empty
// body, a top-level value that is not an object, malformed JSON or a
// property of the wrong JSON type fails with *DecodeError and a nil
// Reseller. The result shares no memory with body.
func DecodeReseller(body []byte) (*Reseller, error) {
	body = trimLeft(body)
	if len(body) == 0 {
		return nil, &DecodeError{What: "reseller", Err: errEmptyBody}
	}
	if body[0] != '{' {
		return nil, &DecodeError{What: "reseller", Err: errNotObject}
	}
	r := new(Reseller)
	if err := decodeValue(body, r, (*reader).reseller); err != nil {
		return nil, &DecodeError{What: "reseller", Err: err}
	}
	return r, nil
}

// DecodeAcceptanceLink decodes a GET /v1/Customers/relationship-acceptance
// 200 body into the link. The documented form is a JSON string
// ("\"https://...\""); an ASP.NET server may instead send the raw URL as
// text/plain. So a body (trimmed of white space and a byte order mark) that
// starts with a double quote is decoded as a JSON string; otherwise, when
// contentType is text/plain or the body starts with http:// or https://, the
// trimmed text is the link. An empty body, any other JSON value (object,
// number, null, ...) and a link that is not an absolute http(s) URL with a
// host fail with *DecodeError. The link is returned as sent, not re-encoded.
func DecodeAcceptanceLink(contentType string, body []byte) (string, error) {
	b := bytes.TrimRight(trimLeft(body), " \t\r\n")
	if len(b) == 0 {
		return "", &DecodeError{What: "acceptance link", Err: errEmptyBody}
	}
	var link string
	switch {
	case b[0] == '"':
		if err := json.Unmarshal(b, &link); err != nil {
			return "", &DecodeError{What: "acceptance link", Err: err}
		}
		link = strings.TrimSpace(link)
	case isTextPlain(contentType) || hasPrefixFold(b, "http://") || hasPrefixFold(b, "https://"):
		link = string(b)
	default:
		return "", &DecodeError{What: "acceptance link", Err: errors.New("body is neither a JSON string nor a URL")}
	}
	if err := checkLink(link); err != nil {
		return "", &DecodeError{What: "acceptance link", Err: err}
	}
	return link, nil
}

// checkLink reports why link is not an absolute http(s) URL with a host. The
// messages never repeat the link: it came from the upstream body.
func checkLink(link string) error {
	if strings.ContainsAny(link, " \t\r\n") {
		return errors.New("link contains white space")
	}
	u, err := url.Parse(link)
	if err != nil {
		return errors.New("link is not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("link is not an http or https URL")
	}
	if u.Host == "" {
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

// trimLeft drops leading JSON white space and UTF-8 byte order marks.
func trimLeft(b []byte) []byte {
	for {
		b = bytes.TrimLeft(b, " \t\r\n")
		rest, ok := bytes.CutPrefix(b, []byte("\uFEFF"))
		if !ok {
			return b
		}
		b = rest
	}
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

// ParseProviderData parses a resellerProviderData string. Property names
// match in any casing, unknown properties are ignored, and MPN ids sent as
// JSON numbers are kept as their digits; null entries are skipped. ok is
// false, with the zero ProviderData, when raw is not a JSON object (empty,
// "null", malformed, an array, ...) or when a known property has the wrong
// JSON type. DecodeReseller has already parsed it into
// ProviderReseller.ProviderData.
func ParseProviderData(raw string) (ProviderData, bool) {
	return parseProviderData([]byte(raw))
}

// DecodeEnvelope decodes an upstream error body. ok is true, with a non-nil
// Envelope, only when body is a JSON object with at least one of statusCode,
// type, description or errors (any casing, not null); HTML, empty bodies and
// other JSON give nil and false. Decoding is lenient so that nothing the
// upstream said is lost: a field of the wrong type is left zero, statusCode
// may be a number or a numeric string, an error's description may be one
// string instead of an array, and the ASP.NET ProblemDetails forms are
// understood too (status and title as fallbacks for statusCode and
// description; errors as an object mapping property names to messages,
// sorted by name).
func DecodeEnvelope(body []byte) (*Envelope, bool) {
	body = trimLeft(body)
	if len(body) == 0 || body[0] != '{' {
		return nil, false
	}
	var wire struct {
		StatusCode    json.RawMessage `json:"statusCode"`
		Status        json.RawMessage `json:"status"`
		Type          json.RawMessage `json:"type"`
		Title         json.RawMessage `json:"title"`
		Description   json.RawMessage `json:"description"`
		CorrelationID json.RawMessage `json:"correlationId"`
		Errors        json.RawMessage `json:"errors"`
	}
	if err := json.Unmarshal(body, &wire); err != nil {
		return nil, false
	}
	if !present(wire.StatusCode) && !present(wire.Type) && !present(wire.Description) && !present(wire.Errors) {
		return nil, false
	}
	env := &Envelope{
		StatusCode:    lenientInt(wire.StatusCode),
		Type:          lenientString(wire.Type),
		Description:   lenientString(wire.Description),
		CorrelationID: lenientString(wire.CorrelationID),
		Errors:        lenientPropertyErrors(wire.Errors),
	}
	if env.StatusCode == 0 {
		env.StatusCode = lenientInt(wire.Status)
	}
	if env.Description == "" {
		env.Description = lenientString(wire.Title)
	}
	return env, true
}

// present reports whether a property was sent with a value other than null.
func present(raw json.RawMessage) bool {
	return len(raw) > 0 && !isNull(raw)
}

// lenientString returns raw's value when it is a JSON string, else "".
func lenientString(raw json.RawMessage) string {
	var s string
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// lenientInt returns raw's value when it is an integral JSON number or a
// string holding one, else 0.
func lenientInt(raw json.RawMessage) int {
	if len(raw) == 0 {
		return 0
	}
	text := string(raw)
	if raw[0] == '"' {
		text = strings.TrimSpace(lenientString(raw))
	}
	if n, err := strconv.Atoi(text); err == nil {
		return n
	}
	if f, err := strconv.ParseFloat(text, 64); err == nil && f == math.Trunc(f) && math.Abs(f) <= math.MaxInt32 {
		return int(f)
	}
	return 0
}

// lenientPropertyErrors reads errors as the documented array of
// {propertyName, description} objects or as a ProblemDetails object mapping
// property names to messages. Entries of the wrong type are skipped.
func lenientPropertyErrors(raw json.RawMessage) []PropertyError {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	var out []PropertyError
	switch raw[0] {
	case '[':
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return nil
		}
		for _, item := range items {
			var wire struct {
				PropertyName json.RawMessage `json:"propertyName"`
				Description  json.RawMessage `json:"description"`
			}
			if json.Unmarshal(item, &wire) != nil {
				continue
			}
			out = append(out, PropertyError{
				PropertyName: lenientString(wire.PropertyName),
				Description:  lenientMessages(wire.Description),
			})
		}
	case '{':
		var byName map[string]json.RawMessage
		if json.Unmarshal(raw, &byName) != nil {
			return nil
		}
		for name, msgs := range byName {
			out = append(out, PropertyError{PropertyName: name, Description: lenientMessages(msgs)})
		}
		slices.SortFunc(out, func(a, b PropertyError) int { return strings.Compare(a.PropertyName, b.PropertyName) })
	}
	return out
}

// lenientMessages reads an array of strings (non-strings skipped) or a single
// string.
func lenientMessages(raw json.RawMessage) []string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	if raw[0] == '"' {
		if s := lenientString(raw); s != "" {
			return []string{s}
		}
		return nil
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil
	}
	var out []string
	for _, item := range items {
		var s string
		if json.Unmarshal(item, &s) == nil {
			out = append(out, s)
		}
	}
	return out
}

// isNull reports whether data is the JSON literal null.
func isNull(data []byte) bool {
	return string(bytes.TrimSpace(data)) == "null"
}
