package rest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
)

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
	var wire struct { // names match in any casing
		StatusCode, Status, Type, Title, Description, CorrelationID, Errors json.RawMessage
	}
	if err := json.Unmarshal(body, &wire); err != nil {
		return nil, false
	}
	if !present(wire.StatusCode) && !present(wire.Type) && !present(wire.Description) && !present(wire.Errors) {
		return nil, false
	}
	return &Envelope{
		StatusCode:    cmp.Or(lenientInt(wire.StatusCode), lenientInt(wire.Status)),
		Type:          lenientString(wire.Type),
		Description:   cmp.Or(lenientString(wire.Description), lenientString(wire.Title)),
		CorrelationID: lenientString(wire.CorrelationID),
		Errors:        lenientPropertyErrors(wire.Errors),
	}, true
}

// present reports whether a property was sent with a value other than null.
func present(raw json.RawMessage) bool {
	return len(raw) > 0 && string(bytes.TrimSpace(raw)) != "null"
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
	var (
		items  []json.RawMessage
		byName map[string]json.RawMessage
		out    []PropertyError
	)
	switch {
	case json.Unmarshal(raw, &items) == nil:
		for _, item := range items {
			var wire struct{ PropertyName, Description json.RawMessage }
			if json.Unmarshal(item, &wire) == nil {
				out = append(out, PropertyError{PropertyName: lenientString(wire.PropertyName), Description: lenientMessages(wire.Description)})
			}
		}
	case json.Unmarshal(raw, &byName) == nil:
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
	if s := lenientString(raw); s != "" {
		return []string{s}
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
