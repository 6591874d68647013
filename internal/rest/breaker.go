package rest

import (
	"sync"
	"time"
)

// BreakerState is the state of a Client's circuit breaker.
type BreakerState int32

const (
	// BreakerClosed lets every call through; it is the initial state.
	BreakerClosed BreakerState = iota
	// BreakerOpen refuses every call with *CircuitOpenError, for
	// Config.BreakerOpenDuration after the failure that opened it.
	BreakerOpen
	// BreakerHalfOpen lets one probe request through at a time and refuses
	// the others: the probe's success closes the breaker, its failure opens
	// it again.
	BreakerHalfOpen
)

// String returns "closed", "open" or "half-open".
func (s BreakerState) String() string {
	switch s {
	case BreakerClosed:
		return "closed"
	case BreakerOpen:
		return "open"
	case BreakerHalfOpen:
		return "half-open"
	}
	return "unknown"
}

// verdict is what one upstream attempt says about the upstream's health, for
// the circuit breaker and the retry budget.
type verdict uint8

const (
	// verdictSuccess: the upstream answered, with a 2xx or with a status that
	// blames the request (4xx other than 429, 3xx).
	verdictSuccess verdict = iota
	// verdictFailure: 5xx, 429, no answer, a reset, an attempt timeout.
	verdictFailure
	// verdictNeutral: the attempt was cancelled (the caller went away or
	// its deadline passed) or never sent; it says nothing.
	verdictNeutral
)

// breaker is a consecutive-failures circuit breaker (closed → open →
// half-open → closed). Its state changes only under mu; every change bumps
// gen, so that the outcome of an attempt admitted in an earlier state (a
// slow request that finishes after the breaker opened) is ignored. A nil
// *breaker admits everything.
type breaker struct {
	threshold int
	openFor   time.Duration
	onChange  func(BreakerState)

	mu        sync.Mutex
	state     BreakerState
	gen       uint64
	failures  int       // consecutive failures while closed
	openUntil time.Time // while open
	probing   bool      // while half-open: the probe is in flight
	timer     *time.Timer
}

// newBreaker returns a breaker that opens after threshold consecutive
// failures, or nil (no breaker) when threshold is not positive.
func newBreaker(threshold int, openFor time.Duration, onChange func(BreakerState)) *breaker {
	if threshold <= 0 {
		return nil
	}
	return &breaker{threshold: threshold, openFor: openFor, onChange: onChange}
}

// allow admits an attempt, returning the generation to hand back to record,
// or refuses it with *CircuitOpenError.
func (b *breaker) allow() (uint64, error) {
	if b == nil {
		return 0, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case BreakerClosed:
		return b.gen, nil
	case BreakerOpen:
		// The timer normally moves us to half-open; this covers a timer that
		// has not run yet.
		now := time.Now()
		if now.Before(b.openUntil) {
			return 0, &CircuitOpenError{RetryAfter: b.openUntil.Sub(now)}
		}
		b.setState(BreakerHalfOpen)
	}
	if b.probing {
		return 0, &CircuitOpenError{RetryAfter: min(time.Second, b.openFor)}
	}
	b.probing = true
	return b.gen, nil
}

// record takes the verdict of an attempt admitted by allow in generation gen.
func (b *breaker) record(gen uint64, v verdict) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if gen != b.gen {
		return
	}
	switch b.state {
	case BreakerClosed:
		switch v {
		case verdictSuccess:
			b.failures = 0
		case verdictFailure:
			if b.failures++; b.failures >= b.threshold {
				b.open()
			}
		}
	case BreakerHalfOpen: // the probe
		b.probing = false
		switch v {
		case verdictSuccess:
			b.failures = 0
			b.setState(BreakerClosed)
		case verdictFailure:
			b.open()
		}
	}
}

// open opens the breaker for openFor and arms the timer that moves it to
// half-open. Called with mu held.
func (b *breaker) open() {
	b.failures = 0
	b.probing = false
	b.openUntil = time.Now().Add(b.openFor)
	if b.timer == nil {
		b.timer = time.AfterFunc(b.openFor, b.expire)
	} else {
		b.timer.Reset(b.openFor)
	}
	b.setState(BreakerOpen)
}

// expire moves an open breaker whose time is up to half-open, so that
// readiness recovers even when no call arrives to notice.
func (b *breaker) expire() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == BreakerOpen && !time.Now().Before(b.openUntil) {
		b.setState(BreakerHalfOpen)
	}
}

// setState changes the state, starts a new generation and tells onChange,
// synchronously and under mu so that observers see changes in order.
func (b *breaker) setState(s BreakerState) {
	b.state = s
	b.gen++
	if b.onChange != nil {
		b.onChange(s)
	}
}

// current returns the breaker's state; BreakerClosed when it is disabled.
func (b *breaker) current() BreakerState {
	if b == nil {
		return BreakerClosed
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}
