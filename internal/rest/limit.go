package rest

import (
	"context"
	"time"
)

// limiter bounds the upstream requests in flight. An attempt that finds
// every slot taken waits for one, up to the queue wait or its deadline,
// whichever comes first. A nil *limiter admits everything.
type limiter struct {
	slots        chan struct{}
	queueTimeout time.Duration // 0: do not queue
}

// newLimiter returns a limiter with n slots, or nil (no limit) when n is not
// positive. queueTimeout ≤ 0 rejects at once when every slot is taken.
func newLimiter(n int, queueTimeout time.Duration) *limiter {
	if n <= 0 {
		return nil
	}
	return &limiter{slots: make(chan struct{}, n), queueTimeout: max(queueTimeout, 0)}
}

// acquire takes a slot, waiting at most the queue timeout and never past
// deadline (zero: none). It fails with *ConcurrencyLimitError when the wait
// ran out, or with the context's error when ctx ended first.
func (l *limiter) acquire(ctx context.Context, deadline time.Time) error {
	if l == nil {
		return nil
	}
	select {
	case l.slots <- struct{}{}:
		return nil
	default:
	}
	wait := l.queueTimeout
	if !deadline.IsZero() {
		wait = min(wait, time.Until(deadline))
	}
	if wait <= 0 {
		return l.rejected()
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case l.slots <- struct{}{}:
		return nil
	case <-t.C:
		return l.rejected()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// release frees a slot taken by acquire.
func (l *limiter) release() {
	if l != nil {
		<-l.slots
	}
}

func (l *limiter) rejected() error {
	return &ConcurrencyLimitError{Limit: cap(l.slots), RetryAfter: max(l.queueTimeout, 100*time.Millisecond)}
}
