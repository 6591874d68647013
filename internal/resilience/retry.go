package resilience

import (
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
		if d := base << shift; d > 0 && d < maxWait {
			ceiling = d
		}
	}
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling)
}

// Retry budget, gRFC A6's retry throttling, in thousandths of a token: the
// bucket holds at most 10 tokens and starts full; a failed attempt takes 1, a
// successful one gives back 0.1; retries are allowed only while more than
// half the bucket is left.
const (
	budgetMax     = 10_000
	budgetFailure = 1_000
	budgetSuccess = 100
)

// RetryBudget is gRFC A6's retry-throttling token bucket (max_tokens 10,
// token_ratio 0.1): a failed attempt takes one token, a successful one gives
// back 0.1, and retries are allowed only while more than 5 tokens are left.
// In a sustained outage it stops retries after a handful of failures and
// brings them back once about half the attempts succeed again. The zero
// value is not usable: use NewRetryBudget. It is safe for concurrent use.
type RetryBudget struct {
	tokens atomic.Int64
}

// NewRetryBudget returns a full budget.
func NewRetryBudget() *RetryBudget {
	b := new(RetryBudget)
	b.tokens.Store(budgetMax)
	return b
}

// Record adds or removes tokens for an attempt's outcome; Neutral changes
// nothing. With a full bucket, a success is a single atomic load.
func (b *RetryBudget) Record(o Outcome) {
	for {
		t := b.tokens.Load()
		var next int64
		switch o {
		case Success:
			if t >= budgetMax {
				return
			}
			next = min(t+budgetSuccess, budgetMax)
		case Failure:
			if t <= 0 {
				return
			}
			next = max(t-budgetFailure, 0)
		default:
			return
		}
		if b.tokens.CompareAndSwap(t, next) {
			return
		}
	}
}

// Allow reports whether a retry may be sent.
func (b *RetryBudget) Allow() bool {
	return b.tokens.Load() > budgetMax/2
}

// DefaultRetryRatio is the share of first attempts that RetryCeiling allows
// as retries over time when NewRetryCeiling gets a ratio of zero.
const DefaultRetryRatio = 0.1

// retryCeilingBurst is how many retries the ceiling holds in reserve: the
// retries allowed before any first attempt has been made.
const retryCeilingBurst = 20

// RetryCeiling bounds the retries of every tenant together to a share of
// the first attempts, like Finagle's retry budget: each first attempt
// deposits ratio tokens, each retry withdraws one, and the bucket holds at
// most 20 tokens (and starts full). Whatever the per-tenant budgets say,
// retries overall stay at most about ratio × first attempts (plus the
// reserve), so that tenants made up on the fly cannot multiply the load on
// the upstream. It is safe for concurrent use.
type RetryCeiling struct {
	deposit int64 // thousandths of a token per first attempt
	tokens  atomic.Int64
}

// NewRetryCeiling returns a full ceiling that allows ratio retries per first
// attempt (0 means DefaultRetryRatio; a negative ratio allows no retries at
// all).
func NewRetryCeiling(ratio float64) *RetryCeiling {
	if ratio == 0 {
		ratio = DefaultRetryRatio
	}
	c := &RetryCeiling{deposit: int64(max(ratio, 0) * 1000)}
	if ratio > 0 {
		c.tokens.Store(retryCeilingBurst * 1000)
	}
	return c
}

// FirstAttempt records a first attempt (not a retry) sent upstream.
func (c *RetryCeiling) FirstAttempt() {
	if c.deposit == 0 {
		return
	}
	for {
		t := c.tokens.Load()
		if t >= retryCeilingBurst*1000 {
			return
		}
		if c.tokens.CompareAndSwap(t, min(t+c.deposit, retryCeilingBurst*1000)) {
			return
		}
	}
}

// TryRetry takes the token a retry costs, reporting false (and taking
// nothing) when none is left.
func (c *RetryCeiling) TryRetry() bool {
	for {
		t := c.tokens.Load()
		if t < 1000 {
			return false
		}
		if c.tokens.CompareAndSwap(t, t-1000) {
			return true
		}
	}
}
