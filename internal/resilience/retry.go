package resilience

import (
	"cmp"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// FullJitter returns the wait before retry n (1 for the first retry): a
// uniformly random duration in [0, min(maxWait, base·2^(n-1))), AWS's "full
// jitter" back-off. It returns 0 when that ceiling is not positive.
func FullJitter(base, maxWait time.Duration, n int) time.Duration {
	ceiling := maxWait
	if shift := n - 1; shift >= 0 && shift < 32 {
		if d := base << shift; d>>shift == base && d < maxWait { // not overflowed
			ceiling = d
		}
	}
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling)
}

// bucket is a token bucket counted in thousandths of a token.
type bucket struct {
	tokens atomic.Int64
	max    int64
}

// add adds delta (negative to remove) unless the bucket then holds less
// than floor, clamping the result to [0, max]; it reports whether it did.
func (b *bucket) add(delta, floor int64) bool {
	for {
		t := b.tokens.Load()
		next := min(max(t+delta, 0), b.max)
		if t+delta < floor {
			return false
		}
		if next == t || b.tokens.CompareAndSwap(t, next) {
			return true
		}
	}
}

// RetryBudget is gRFC A6's retry-throttling token bucket (max_tokens 10,
// token_ratio 0.1), full at first: a failed attempt takes a token, a
// successful one gives back 0.1, and retries are allowed only while more than
// 5 are left. Build it with NewRetryBudget; it is safe for concurrent use.
type RetryBudget struct{ b bucket }

// NewRetryBudget returns a full budget.
func NewRetryBudget() *RetryBudget {
	r := &RetryBudget{b: bucket{max: 10_000}}
	r.b.tokens.Store(r.b.max)
	return r
}

// Record adds or removes tokens for an attempt's outcome.
func (r *RetryBudget) Record(o Outcome) {
	switch o {
	case Success:
		r.b.add(100, 0)
	case Failure:
		r.b.add(-1000, -1000)
	}
}

// Allow reports whether a retry may be sent.
func (r *RetryBudget) Allow() bool { return r.b.tokens.Load() > r.b.max/2 }

// DefaultRetryRatio is the share of first attempts that RetryCeiling allows
// as retries over time when NewRetryCeiling gets a ratio of zero.
const DefaultRetryRatio = 0.1

// retryCeilingBurst is how many retries the ceiling holds in reserve.
const retryCeilingBurst = 20

// RetryCeiling bounds the retries of every tenant together to a share of
// the first attempts, like Finagle's retry budget: each first attempt
// deposits ratio tokens and each retry withdraws one from a bucket of
// retryCeilingBurst that starts full. It is safe for concurrent use.
type RetryCeiling struct {
	b       bucket
	deposit int64 // thousandths of a token per first attempt
}

// NewRetryCeiling returns a full ceiling that allows ratio retries per first
// attempt (0 means DefaultRetryRatio; a negative ratio allows none).
func NewRetryCeiling(ratio float64) *RetryCeiling {
	ratio = cmp.Or(ratio, DefaultRetryRatio)
	c := &RetryCeiling{b: bucket{max: retryCeilingBurst * 1000}, deposit: int64(max(ratio, 0) * 1000)}
	if ratio > 0 {
		c.b.tokens.Store(c.b.max)
	}
	return c
}

// FirstAttempt records a first attempt (not a retry) sent upstream.
func (c *RetryCeiling) FirstAttempt() { c.b.add(c.deposit, 0) }

// TryRetry takes the token a retry costs, reporting false when none is left.
func (c *RetryCeiling) TryRetry() bool { return c.b.add(-1000, 0) }

// Outcome is what a call or an attempt says about the upstream's health.
type Outcome uint8

const (
	// Success means the upstream answered in a way that shows it is working (a
	// 2xx, or an answer that blames the request).
	Success Outcome = iota
	// Failure is a sign that the upstream itself is unwell (for HTTP: 502,
	// 503, 504, no answer, a reset, a timeout).
	Failure
	// Neutral means the outcome says nothing about the upstream's health (the
	// caller went away, nothing was sent, throttling); it is not counted.
	Neutral
)
