package resilience

import (
	"errors"
	"time"

	"github.com/sony/gobreaker/v2"
)

// BreakerState is the state of a circuit breaker, in gobreaker.State's order.
type BreakerState int

// The states of a breaker.
const (
	BreakerClosed   BreakerState = iota // lets every call through; the initial state
	BreakerHalfOpen                     // lets probe calls through (BreakerSettings.HalfOpenCalls)
	BreakerOpen                         // refuses every call for BreakerSettings.OpenFor
)

// String returns the state's name, the breaker metrics' state label.
func (s BreakerState) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

var stateNames = [...]string{BreakerClosed: "closed", BreakerHalfOpen: "half_open", BreakerOpen: "open"}

// Defaults of BreakerSettings, used for its zero fields (and negative durations).
const (
	DefaultFailureRatio  = 0.5 // Resilience4j's default
	DefaultMinCalls      = 20
	DefaultWindow        = 30 * time.Second
	DefaultOpenFor       = 5 * time.Second
	DefaultHalfOpenCalls = 1
)

// BreakerSettings configures the circuit breaker of each tenant: a
// sony/gobreaker/v2 TwoStepCircuitBreaker that opens on a failure ratio over
// a rolling window, Neutral outcomes not counted.
type BreakerSettings struct {
	// FailureRatio opens the breaker when failures / (failures + successes)
	// over the window reaches it, once MinCalls calls are counted; a negative
	// value disables breakers.
	FailureRatio float64
	// MinCalls is the fewest counted calls in the window for the breaker to open.
	MinCalls uint32
	// Window is the rolling window over which calls are counted, in ten buckets.
	Window time.Duration
	// OpenFor is how long an open breaker refuses calls before it turns half-open.
	OpenFor time.Duration
	// HalfOpenCalls is how many probe calls a half-open breaker lets through at
	// a time, and how many successes close it.
	HalfOpenCalls uint32
	// OnStateChange, when not nil, is called with every change of a
	// tenant's breaker (not its name, an unbounded label), under that
	// breaker's lock: it must be quick and must not use the breaker.
	OnStateChange func(from, to BreakerState)
}

// errNeutral and outcomeErrs carry an Outcome through gobreaker's
// error-based interface.
var (
	errNeutral  = errors.New("neutral")
	outcomeErrs = [...]error{Success: nil, Failure: errors.New("failure"), Neutral: errNeutral}
)

// Breaker is one tenant's circuit breaker. A nil *Breaker (breakers
// disabled) admits every call.
type Breaker struct {
	cb      *gobreaker.TwoStepCircuitBreaker[struct{}]
	openFor time.Duration
}

// newBreaker builds a breaker from complete settings; nil when disabled.
func newBreaker(s BreakerSettings) *Breaker {
	if s.FailureRatio < 0 {
		return nil
	}
	st := gobreaker.Settings{
		MaxRequests:  s.HalfOpenCalls,
		Interval:     s.Window,
		BucketPeriod: s.Window / 10,
		Timeout:      s.OpenFor,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			counted := c.TotalSuccesses + c.TotalFailures
			return counted >= s.MinCalls && float64(c.TotalFailures) >= s.FailureRatio*float64(counted)
		},
		IsExcluded: func(err error) bool { return err == errNeutral }, //nolint:errorlint // sentinel set by Done
	}
	if s.OnStateChange != nil {
		st.OnStateChange = func(_ string, from, to gobreaker.State) { s.OnStateChange(BreakerState(from), BreakerState(to)) }
	}
	return &Breaker{cb: gobreaker.NewTwoStepCircuitBreaker[struct{}](st), openFor: s.OpenFor}
}

// OpenError is returned by Breaker.Allow when the breaker refuses a call.
type OpenError struct {
	// RetryAfter hints when to try again: the breaker's open period, or a
	// short wait while a half-open breaker's probes are in flight.
	RetryAfter time.Duration
}

// Error returns "circuit breaker open".
func (e *OpenError) Error() string { return "circuit breaker open" }

// Allow admits a call, returning the function that records its Outcome
// (call it exactly once), or refuses it with *OpenError.
func (b *Breaker) Allow() (done func(Outcome), err error) {
	if b == nil {
		return func(Outcome) {}, nil
	}
	d, err := b.cb.Allow()
	if err != nil {
		if errors.Is(err, gobreaker.ErrTooManyRequests) {
			return nil, &OpenError{RetryAfter: min(time.Second, b.openFor)}
		}
		return nil, &OpenError{RetryAfter: b.openFor}
	}
	return func(o Outcome) { d(outcomeErrs[o]) }, nil
}

// State returns the breaker's state (BreakerClosed for a nil breaker). An
// open breaker whose time is up turns half-open when its state is read.
func (b *Breaker) State() BreakerState {
	if b == nil {
		return BreakerClosed
	}
	return BreakerState(b.cb.State())
}
