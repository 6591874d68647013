package rest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Error is the error of every failed Client call: what the call learned.
// Everything that reacts to a failure is a lookup on its Kind. Its
// message never contains the raw response body, which may hold secrets.
type Error struct {
	// Kind is how the call failed.
	Kind Kind
	// StatusCode and Envelope describe a KindAnswered answer: its HTTP
	// status and its error envelope (nil when the body is not one).
	StatusCode int
	Envelope   *Envelope
	// RetryAfter, when HasRetryAfter, is how long to wait before trying again:
	// the upstream's Retry-After (KindAnswered), the circuit breaker's open
	// time (KindCircuitOpen) or the queue wait the call had (KindOverLimit).
	RetryAfter    time.Duration
	HasRetryAfter bool
	// Cause is the category of a KindUnreachable or KindTimeout failure.
	Cause Cause
	// Limit is the body size limit in bytes (KindTooLarge) or the number of
	// request slots, the caller's share or all (KindOverLimit).
	Limit int64
	// Attempts is how many upstream attempts the call made; 0 when none was sent.
	Attempts int
	// Err is the underlying error (transport, decoding, context), or nil.
	Err error
}

// Error describes the failure: the answer and the envelope's description
// (or type), or what went wrong and the underlying error; then the number
// of attempts when more than one.
func (e *Error) Error() string {
	msg := kinds[e.Kind].message
	if e.Kind == KindAnswered {
		msg = e.answered()
		if env := e.Envelope; env != nil && cmp.Or(env.Description, env.Type) != "" {
			msg += ": " + cmp.Or(env.Description, env.Type)
		}
	} else if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if e.Attempts > 1 {
		msg += " (" + strconv.Itoa(e.Attempts) + " attempts)"
	}
	return msg
}

func (e *Error) answered() string {
	return strings.TrimSpace("upstream answered " + strconv.Itoa(e.StatusCode) + " " + http.StatusText(e.StatusCode))
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Envelope is the upstream's JSON error body, as DecodeEnvelope reads it.
type Envelope struct {
	// StatusCode is the HTTP status the upstream meant; 0 when absent.
	StatusCode int `json:"statusCode"`
	// Type is the upstream's error type, "" when absent or null.
	Type string `json:"type"`
	// Description describes the error scenario, "" when absent or null.
	Description string `json:"description"`
	// CorrelationID echoes the request's X-Correlation-Id, "" when absent.
	CorrelationID string `json:"correlationId"`
	// Errors lists per-property problems; nil when there are none.
	Errors []PropertyError `json:"errors"`
}

// PropertyError is one entry of Envelope.Errors: the problems with one
// request property (such as resellerId or X-Tenant).
type PropertyError struct {
	// PropertyName names the offending property, "" when absent.
	PropertyName string `json:"propertyName"`
	// Description holds one message per problem; nil when absent.
	Description []string `json:"description"`
}

// ParseRetryAfter parses a Retry-After value, delta-seconds ("120") or an
// HTTP-date (any form http.ParseTime takes), into the wait from now: 0 for a
// past date, at most MaxRetryAfter. ok is false for an empty or unparsable
// value, negative numbers included.
func ParseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	// ParseUint takes digits only: no sign, no space.
	if secs, err := strconv.ParseUint(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if err != nil || secs > uint64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter, true
		}
		return time.Duration(secs) * time.Second, true //nolint:gosec // G115: bounded above
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return min(max(t.Sub(now), 0), MaxRetryAfter), true
}

// MaxRetryAfter caps the upstream's Retry-After, which callers get as
// RetryInfo: a wait of years from a misbehaving upstream would keep a caller
// that obeys it away for good.
const MaxRetryAfter = time.Hour

// DecodeEnvelope decodes an upstream error body: ok, with a non-nil Envelope,
// only for a JSON object with statusCode, type, description or errors (any
// casing, not null). Decoding is lenient so that nothing the upstream said is
// lost: a field of the wrong type is left zero, and ASP.NET ProblemDetails are
// understood (status and title as fallbacks, errors keyed by property name).
func DecodeEnvelope(body []byte) (*Envelope, bool) {
	body = trimLeft(body)
	var wire struct{ StatusCode, Status, Type, Title, Description, CorrelationID, Errors json.RawMessage } // names match in any casing
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

func present(raw json.RawMessage) bool { return len(raw) > 0 && string(bytes.TrimSpace(raw)) != "null" }

func lenientString(raw json.RawMessage) string {
	var s string
	_ = json.Unmarshal(raw, &s) // s stays "" for anything else
	return s
}

// lenientInt returns raw's value when it is an integral JSON number or a
// string holding one, else 0.
func lenientInt(raw json.RawMessage) int {
	text := string(raw)
	if len(raw) > 0 && raw[0] == '"' {
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
	var items []json.RawMessage
	var byName map[string]json.RawMessage
	var out []PropertyError
	switch {
	case json.Unmarshal(raw, &items) == nil:
		for _, item := range items {
			var wire struct{ PropertyName, Description json.RawMessage }
			if json.Unmarshal(item, &wire) == nil {
				out = append(out, PropertyError{PropertyName: lenientString(wire.PropertyName), Description: lenientMessages(wire.Description)})
			}
		}
	case json.Unmarshal(raw, &byName) == nil:
		for _, name := range slices.Sorted(maps.Keys(byName)) {
			out = append(out, PropertyError{PropertyName: name, Description: lenientMessages(byName[name])})
		}
	}
	return out
}

// lenientMessages reads an array of strings (non-strings skipped) or a string.
func lenientMessages(raw json.RawMessage) []string {
	if s := lenientString(raw); s != "" {
		return []string{s}
	}
	var items []json.RawMessage
	_ = json.Unmarshal(raw, &items) // items stays nil unless raw is an array
	var out []string
	for _, item := range items {
		var s string
		if json.Unmarshal(item, &s) == nil {
			out = append(out, s)
		}
	}
	return out
}
