package rest

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Error is returned (wrapped) for any non-2xx upstream answer. Its message
// names the status and, when there is one, the envelope's description; it
// never contains the raw response body, which may hold HTML or secrets.
type Error struct {
	// StatusCode is the upstream HTTP status code.
	StatusCode int

	// Envelope is the decoded CloudCockpit error envelope, or nil when the
	// body is not one (empty, HTML from a proxy, over the body limit, ...).
	Envelope *Envelope

	// RetryAfter is how long the upstream asked callers to wait, from the
	// Retry-After header; 0 when the header is absent, invalid or in the past.
	RetryAfter time.Duration

	// HasRetryAfter reports whether a valid Retry-After header was present,
	// which tells "retry now" (RetryAfter 0) from "no advice".
	HasRetryAfter bool

	// ContentType is the response's Content-Type header, "" when absent.
	ContentType string
}

// Error returns "upstream answered <code> <status text>", followed by ": " and
// the envelope's description (or its type, when the description is empty)
// when there is an envelope.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("upstream answered ")
	b.WriteString(strconv.Itoa(e.StatusCode))
	if text := http.StatusText(e.StatusCode); text != "" {
		b.WriteByte(' ')
		b.WriteString(text)
	}
	if e.Envelope != nil {
		msg := e.Envelope.Description
		if msg == "" {
			msg = e.Envelope.Type
		}
		if msg != "" {
			b.WriteString(": ")
			b.WriteString(msg)
		}
	}
	return b.String()
}

// Envelope is the upstream's JSON error body. DecodeEnvelope fills it
// tolerantly: property names in any casing, wrong-typed fields left zero.
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
// request property (a parameter or header name such as resellerId or
// X-Tenant).
type PropertyError struct {
	// PropertyName names the offending property, "" when absent.
	PropertyName string `json:"propertyName"`

	// Description holds one message per problem; nil when absent.
	Description []string `json:"description"`
}

// DecodeError is returned (wrapped) when a 2xx body does not decode into the
// documented shape. It never holds the body itself.
type DecodeError struct {
	// What names the thing being decoded, for example "reseller".
	What string

	// Err is the underlying decoding error.
	Err error
}

// Error returns "decode <What>: <Err>".
func (e *DecodeError) Error() string {
	return "decode " + e.What + ": " + e.Err.Error()
}

// Unwrap returns the underlying decoding error.
func (e *DecodeError) Unwrap() error { return e.Err }

// BodyTooLargeError is returned (wrapped) when a 2xx response body is larger
// than Config.MaxBodyBytes.
type BodyTooLargeError struct {
	// Limit is the configured maximum body size in bytes.
	Limit int64
}

// Error returns "upstream response body exceeds <Limit> bytes".
func (e *BodyTooLargeError) Error() string {
	return "upstream response body exceeds " + strconv.FormatInt(e.Limit, 10) + " bytes"
}

// ParseRetryAfter parses a Retry-After header value, either delta-seconds
// ("120") or an HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT", also the RFC 850
// and ANSI C forms), and returns the wait relative to now. A date in the past
// gives 0 and ok true; a value too large for a time.Duration is capped at the
// largest one. ok is false for an empty or unparsable value, including
// negative numbers.
func ParseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if isDigits(v) {
		const maxSeconds = math.MaxInt64 / int64(time.Second)
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil || secs > maxSeconds { // only a range error is possible
			return time.Duration(math.MaxInt64), true
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if d = t.Sub(now); d < 0 {
		d = 0
	}
	return d, true
}

// isDigits reports whether s is non-empty and all ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ErrAttemptTimeout is returned (wrapped) when the upstream's response
// (headers and body) did not arrive within Config.AttemptTimeout on the last
// attempt a call made. Each such attempt is a retryable failure, and a call
// that ends with it counts as a failure for its tenant's circuit breaker.
var ErrAttemptTimeout = errors.New("upstream sent no complete response within the attempt timeout")

// CircuitOpenError is returned (wrapped) when the tenant's circuit breaker
// refused the call without sending anything upstream: too many of the
// tenant's recent calls failed and the breaker is open, or it is half-open
// and its probes are in flight.
type CircuitOpenError struct {
	// RetryAfter is how long the breaker stays open, or, while a probe is in
	// flight, a short hint; never negative.
	RetryAfter time.Duration
}

// Error returns "circuit breaker open: upstream calls refused for <RetryAfter>".
func (e *CircuitOpenError) Error() string {
	return "circuit breaker open: upstream calls refused for " + e.RetryAfter.String()
}

// ConcurrencyLimitError is returned (wrapped) when Config.MaxConcurrent
// upstream requests (or Config.TenantMaxConcurrent of the caller's tenant)
// were in flight and none finished within the queue wait
// (Config.QueueTimeout, or less when the call's deadline came first). Nothing
// was sent upstream by the attempt that got it.
type ConcurrencyLimitError struct {
	// Limit is the configured number of concurrent upstream requests: the
	// caller's share (Config.TenantMaxConcurrent) when PerTenant is set,
	// else the global one.
	Limit int

	// PerTenant reports that the caller's own share (its identity's, else
	// its tenant's) was full, not the global limit.
	PerTenant bool

	// RetryAfter is a hint for when to try again: the queue wait the
	// rejected call was allowed.
	RetryAfter time.Duration
}

// Error returns "too many concurrent upstream requests (limit <Limit>)".
func (e *ConcurrencyLimitError) Error() string {
	return "too many concurrent upstream requests (limit " + strconv.Itoa(e.Limit) + ")"
}

// attemptsError records that a call made more than one upstream attempt; it
// wraps the error of the last one. See Attempts.
type attemptsError struct {
	err      error
	attempts int
}

// Error returns the last attempt's error followed by " (<n> attempts)".
func (e *attemptsError) Error() string {
	return e.err.Error() + " (" + strconv.Itoa(e.attempts) + " attempts)"
}

// Unwrap returns the last attempt's error.
func (e *attemptsError) Unwrap() error { return e.err }

// Attempts returns the number of attempts.
func (e *attemptsError) Attempts() int { return e.attempts }

// Attempts reports how many upstream attempts the call that returned err
// made, retries included: the value of the first error in err's chain with
// an Attempts() int method. It is 1 for an error that records no more than
// one attempt, including errors from calls refused before any attempt.
func Attempts(err error) int {
	var ae interface{ Attempts() int }
	if errors.As(err, &ae) {
		return ae.Attempts()
	}
	return 1
}

// withAttempts wraps err with the attempt count when it is more than one.
func withAttempts(err error, attempts int) error {
	if err == nil || attempts <= 1 {
		return err
	}
	return &attemptsError{err: err, attempts: attempts}
}
