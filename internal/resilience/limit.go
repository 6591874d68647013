package resilience

import (
	"context"
	"time"

	"golang.org/x/sync/semaphore"
)

// LimitError is returned by Limiter.Acquire when no slot became free in
// time. Nothing was sent.
type LimitError struct {
	// Limit is the number of slots that were all taken.
	Limit int
	// PerKey reports that the caller's own share (its tenant's slots) was
	// full, rather than the global limit.
	PerKey bool
	// RetryAfter is a hint for when to try again: the queue wait.
	RetryAfter time.Duration
}

// Error returns "concurrency limit reached".
func (e *LimitError) Error() string { return "concurrency limit reached" }

// Limiter bounds the requests in flight at once, globally (a
// golang.org/x/sync/semaphore.Weighted) and per key (each Tenant's own
// semaphore, in front of the global one), so that one key's slow requests
// cannot take every slot. A request that finds no free slot waits for one,
// up to the queue wait and never past its deadline. A nil *Limiter admits
// everything. It is safe for concurrent use.
type Limiter struct {
	global *semaphore.Weighted
	limit  int
	queue  time.Duration
}

// NewLimiter returns a Limiter with n global slots and the given queue wait
// (≤ 0: do not wait), or nil (no limit) when n is not positive.
func NewLimiter(n int, queue time.Duration) *Limiter {
	if n <= 0 {
		return nil
	}
	return &Limiter{global: semaphore.NewWeighted(int64(n)), limit: n, queue: max(queue, 0)}
}

// Acquire takes one of t's slots (when t has a cap) and then a global slot,
// waiting at most the queue wait in all and never past deadline (zero:
// none). It returns the function that gives both back, or *LimitError when
// the wait ran out, or ctx's error when ctx ended first.
func (l *Limiter) Acquire(ctx context.Context, deadline time.Time, t *Tenant) (release func(), err error) {
	var own *semaphore.Weighted
	if t != nil {
		own = t.slots
	}
	if own == nil && l == nil {
		return func() {}, nil
	}
	ownFree := own == nil || own.TryAcquire(1)
	if ownFree && (l == nil || l.global.TryAcquire(1)) {
		return l.releaser(own), nil
	}
	// Queue, bounded by the queue wait and the deadline.
	wait := l.queueWait()
	if !deadline.IsZero() {
		wait = min(wait, time.Until(deadline))
	}
	if wait <= 0 {
		if ownFree && own != nil {
			own.Release(1)
		}
		return nil, l.rejected(!ownFree, t)
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if !ownFree {
		if err := own.Acquire(wctx, 1); err != nil {
			return nil, l.waitFailed(ctx, true, t)
		}
	}
	if l != nil {
		if err := l.global.Acquire(wctx, 1); err != nil {
			if own != nil {
				own.Release(1)
			}
			return nil, l.waitFailed(ctx, false, t)
		}
	}
	return l.releaser(own), nil
}

// releaser returns the function that gives back own's and the global slot.
func (l *Limiter) releaser(own *semaphore.Weighted) func() {
	return func() {
		if l != nil {
			l.global.Release(1)
		}
		if own != nil {
			own.Release(1)
		}
	}
}

// queueWait is the longest wait for a slot.
func (l *Limiter) queueWait() time.Duration {
	if l == nil {
		return time.Second
	}
	return l.queue
}

// waitFailed tells a caller that left from a wait that ran out.
func (l *Limiter) waitFailed(ctx context.Context, perKey bool, t *Tenant) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return l.rejected(perKey, t)
}

// rejected builds the *LimitError.
func (l *Limiter) rejected(perKey bool, t *Tenant) error {
	e := &LimitError{PerKey: perKey, RetryAfter: max(l.queueWait(), 100*time.Millisecond)}
	if perKey {
		e.Limit = t.slotLimit
	} else {
		e.Limit = l.limit
	}
	return e
}
