package resilience

import (
	"cmp"
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
)

// LimitError is returned by Limiter.Acquire when no slot became free in time; nothing was sent.
type LimitError struct {
	// Limit is the number of slots that were all taken.
	Limit int
	// PerKey reports that the caller's key's share, not the global limit, was full.
	PerKey bool
	// RetryAfter is a hint for when to try again: the queue wait.
	RetryAfter time.Duration
}

// Error returns "concurrency limit reached".
func (e *LimitError) Error() string { return "concurrency limit reached" }

// Limiter bounds the requests in flight at once, globally and per key (in front
// of the global limit; a request may have several keys). A key's semaphore lives
// while calls hold or wait for it, so the keys never outnumber the calls in
// flight. A nil *Limiter admits everything. It is safe for concurrent use.
type Limiter struct {
	global *semaphore.Weighted // of math.MaxInt64 slots when there is no global limit
	limit  int
	perKey int // ≤ 0: no per-key limit
	queue  time.Duration

	mu     sync.Mutex
	shares map[string]*share
}

// share is one key's semaphore and how many calls hold or wait for it.
type share struct {
	sem  *semaphore.Weighted
	refs int
}

// NewLimiter returns a Limiter with n global slots and perKey slots for each
// key (≤ 0: no such limit) and the given queue wait (≤ 0: do not wait), or
// nil (no limit) when neither n nor perKey is positive.
func NewLimiter(n, perKey int, queue time.Duration) *Limiter {
	if n <= 0 && perKey <= 0 {
		return nil
	}
	return &Limiter{global: semaphore.NewWeighted(cmp.Or(int64(max(n, 0)), math.MaxInt64)), limit: n, perKey: perKey, queue: max(queue, 0), shares: make(map[string]*share)}
}

// Acquire takes one slot of each key's share (when keys have a cap), in the order
// given, then a global slot, waiting at most the queue wait in all; ctx ending ends
// the wait (a shared call's, once its last caller has left: a caller's deadline must
// not cut the others' wait). It returns the function that gives them back, or
// *LimitError when the wait ran out, or ctx's error when ctx ended first.
func (l *Limiter) Acquire(ctx context.Context, keys ...string) (release func(), err error) {
	if l == nil {
		return func() {}, nil
	}
	if l.perKey <= 0 {
		keys = nil
	}
	sems := make([]*semaphore.Weighted, len(keys)+1) // the keys' shares, then the global slots
	l.mu.Lock()
	for i, key := range keys {
		if l.shares[key] == nil {
			l.shares[key] = &share{sem: semaphore.NewWeighted(int64(l.perKey))}
		}
		l.shares[key].refs++
		sems[i] = l.shares[key].sem
	}
	l.mu.Unlock()
	sems[len(keys)] = l.global
	held := 0 // sems[:held] hold a slot
	for held < len(sems) && sems[held].TryAcquire(1) {
		held++
	}
	if held < len(sems) && l.queue > 0 {
		wctx, cancel := context.WithTimeout(ctx, l.queue)
		defer cancel()
		for held < len(sems) && sems[held].Acquire(wctx, 1) == nil {
			held++
		}
	}
	if held == len(sems) {
		return func() { l.giveBack(keys, sems, held) }, nil
	}
	l.giveBack(keys, sems, held)
	if err := ctx.Err(); err != nil { // the caller left before the wait ran out
		return nil, err
	}
	e := &LimitError{PerKey: held < len(keys), Limit: l.limit, RetryAfter: max(l.queue, 100*time.Millisecond)}
	if e.PerKey {
		e.Limit = l.perKey
	}
	return nil, e
}

// giveBack releases sems[:held] and counts the caller out of the shares of keys (kept while counted).
func (l *Limiter) giveBack(keys []string, sems []*semaphore.Weighted, held int) {
	for _, sem := range sems[:held] {
		sem.Release(1)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, key := range keys {
		if l.shares[key].refs--; l.shares[key].refs == 0 {
			delete(l.shares, key)
		}
	}
}
