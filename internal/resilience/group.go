package resilience

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Group coalesces identical concurrent calls as singleflight's Do does, but a
// caller whose context ends leaves with its error (the first, whose goroutine
// runs the execution, once it returns), and the execution, on the first
// context's values without its cancellation, is cancelled when all have left.
// Shared results are read-only. The zero Group is ready for concurrent use.
type Group[K comparable, V any] struct {
	mu      sync.Mutex
	flights map[K]*flight[V]
}

// flight is one shared execution.
type flight[V any] struct {
	cancel   context.CancelFunc
	deadline time.Time // the latest caller deadline, zero: none; guarded by Group.mu
	waiters  int       // guarded by Group.mu
	done     chan struct{}
	val      V // written before done is closed
	err      error
}

// Deadline returns the latest deadline of the callers that joined the
// shared execution (not lowered when one leaves), for decisions (retries,
// queueing) that must not outlive them; the zero time when one had none.
type Deadline func() time.Time

// Do runs fn once for all concurrent callers with the same key, with the
// detached context and the callers' Deadline, and returns its result; shared
// reports that the caller joined another's execution. A panic in fn becomes
// every caller's error.
func (g *Group[K, V]) Do(ctx context.Context, key K, fn func(context.Context, Deadline) (V, error)) (v V, err error, shared bool) {
	dl, hasDeadline := ctx.Deadline()
	g.mu.Lock()
	if fl, ok := g.flights[key]; ok {
		fl.waiters++
		if !hasDeadline || (!fl.deadline.IsZero() && dl.After(fl.deadline)) {
			fl.deadline = dl
		}
		g.mu.Unlock()
		select {
		case <-fl.done:
			return fl.val, fl.err, true
		case <-ctx.Done():
		}
		g.leave(key, fl)
		return v, ctx.Err(), true
	}
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx)) //nolint:gosec // G118: called by run and by the last caller to leave
	fl := &flight[V]{cancel: cancel, waiters: 1, done: make(chan struct{}), deadline: dl}
	if g.flights == nil {
		g.flights = make(map[K]*flight[V])
	}
	g.flights[key] = fl
	g.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { g.leave(key, fl) })
	g.run(fctx, key, fl, fn)
	if !stop() {
		return v, ctx.Err(), false
	}
	return fl.val, fl.err, false
}

func (g *Group[K, V]) run(ctx context.Context, key K, fl *flight[V], fn func(context.Context, Deadline) (V, error)) {
	defer func() {
		if p := recover(); p != nil { // fl.val is still zero
			fl.err = fmt.Errorf("panic in shared call: %v", p)
		}
		g.mu.Lock()
		if g.flights[key] == fl {
			delete(g.flights, key)
		}
		g.mu.Unlock()
		fl.cancel()
		close(fl.done)
	}()
	fl.val, fl.err = fn(ctx, func() time.Time {
		g.mu.Lock()
		defer g.mu.Unlock()
		return fl.deadline
	})
}

// leave takes a caller whose context ended off fl, cancelling the execution
// when it was the last one.
func (g *Group[K, V]) leave(key K, fl *flight[V]) {
	g.mu.Lock()
	fl.waiters--
	last := fl.waiters == 0
	if last && g.flights[key] == fl { // a later identical call starts a new execution
		delete(g.flights, key)
	}
	g.mu.Unlock()
	if last {
		fl.cancel()
	}
}

// Waiting returns the number of callers waiting, over all keys (for tests).
func (g *Group[K, V]) Waiting() (n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, fl := range g.flights {
		n += fl.waiters
	}
	return n
}
