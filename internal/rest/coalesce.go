package rest

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// group coalesces identical concurrent calls of one kind (one Client
// method): calls with the same URL (so the same path and query), the same
// X-Tenant and the same Authorization share one upstream call, its result
// and its error. Calls whose credentials or tenant differ never share.
//
// The first caller (the leader) performs the shared call on its own
// goroutine, on a context detached from its own (it keeps the leader's
// values, not its cancellation); the callers that join it (followers) wait
// for its outcome. A waiter whose context ends leaves: a follower returns
// at once with its context's error while the others keep waiting, and the
// shared call is cancelled only when every waiter, the leader included, has
// gone. A leader whose context ends while followers still wait keeps
// performing the call for them and returns its context's error only when
// the call ends. Its own caller does not wait for that: a gRPC client's
// deadline or cancellation ends the call on the client's side without
// waiting for the handler to return. The shared call's deadline, for retry
// and queueing decisions, is the latest of its waiters' deadlines. It sends
// the leader's X-Correlation-Id upstream; the followers' ids do not reach
// the upstream.
//
// The map is keyed by a seeded 64-bit hash of the URL, tenant and
// credentials, so that no token is held as a map key; a waiter joins a flight
// only when all three are also equal, so a hash collision costs a separate
// call, never a shared result. Neither the key nor the values are logged.
type group[T any] struct {
	// op names the operation for OnCoalesced ("GetReseller", ...).
	op      string
	mu      sync.Mutex
	flights map[uint64]*flight[T]
}

// flight is one shared upstream call.
type flight[T any] struct {
	// Immutable after creation.
	url, tenant, authorization string
	cancel                     context.CancelFunc
	// deadline is the latest waiter deadline, Unix nanoseconds.
	deadline atomic.Int64

	// Guarded by group.mu.
	waiters int
	// done is made by the first follower (a call nobody joins needs none)
	// and closed once the outcome below is written.
	done chan struct{}

	// Written under group.mu before done is closed.
	val T
	err error
}

// do runs the call for ctx (which has a deadline) through the group.
func (g *group[T]) do(c *Client, ctx context.Context, ci CallInfo, rawURL string, decode decoder[T]) (T, error) {
	key := c.flightKey(ci, rawURL)
	deadline, _ := ctx.Deadline()

	g.mu.Lock()
	fl, ok := g.flights[key]
	switch {
	case ok && (fl.url != rawURL || fl.tenant != ci.Tenant || fl.authorization != ci.Authorization):
		// A hash collision: never share across different requests.
		g.mu.Unlock()
		return execute(c, ctx, nil, ci, rawURL, decode)
	case ok:
		fl.waiters++
		if fl.done == nil {
			fl.done = make(chan struct{})
		}
		done := fl.done
		g.mu.Unlock()
		fl.extendDeadline(deadline)
		if c.onCoalesced != nil {
			c.onCoalesced(g.op)
		}
		return g.follow(ctx, key, fl, done)
	}
	fl = &flight[T]{url: rawURL, tenant: ci.Tenant, authorization: ci.Authorization, waiters: 1}
	fl.deadline.Store(deadline.UnixNano())
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx)) //nolint:gosec // G118: fl.cancel is called by publish and leave
	fl.cancel = cancel
	if g.flights == nil {
		g.flights = make(map[uint64]*flight[T])
	}
	g.flights[key] = fl
	g.mu.Unlock()
	return g.lead(c, ctx, fctx, key, fl, ci, decode)
}

// lead performs the shared call fl on fctx for the leader, whose context is
// ctx. The leader leaves the flight when ctx ends, like any waiter, but
// still performs the call to its end for those who remain; it then returns
// ctx's error.
func (g *group[T]) lead(c *Client, ctx, fctx context.Context, key uint64, fl *flight[T], ci CallInfo, decode decoder[T]) (T, error) {
	stop := context.AfterFunc(ctx, func() { g.leave(key, fl) })
	v, err := g.run(c, fctx, key, fl, ci, decode)
	var zero T
	if !stop() {
		// ctx ended during the call: the leader has left.
		return zero, ctx.Err()
	}
	if err != nil {
		return zero, err
	}
	return v, nil
}

// follow waits for the outcome of fl, which another caller performs, or
// leaves it when ctx ends.
func (g *group[T]) follow(ctx context.Context, key uint64, fl *flight[T], done <-chan struct{}) (T, error) {
	var zero T
	select {
	case <-done:
		if fl.err != nil {
			return zero, fl.err
		}
		return fl.val, nil
	case <-ctx.Done():
		g.leave(key, fl)
		return zero, ctx.Err()
	}
}

// run performs the shared call and publishes its outcome. A panic (a bug in
// decoding) becomes the call's error, for the leader as for the followers,
// so that no follower waits for an outcome that never comes.
func (g *group[T]) run(c *Client, ctx context.Context, key uint64, fl *flight[T], ci CallInfo, decode decoder[T]) (v T, err error) {
	defer func() {
		if p := recover(); p != nil {
			var zero T
			v, err = zero, &DecodeError{What: "upstream response", Err: fmt.Errorf("panic: %v", p)}
		}
		g.publish(key, fl, v, err)
	}()
	return execute(c, ctx, &fl.deadline, ci, fl.url, decode)
}

// publish ends the flight with its outcome and wakes the followers. A later
// identical call starts a new flight.
func (g *group[T]) publish(key uint64, fl *flight[T], v T, err error) {
	g.mu.Lock()
	if g.flights[key] == fl {
		delete(g.flights, key)
	}
	fl.val, fl.err = v, err
	done := fl.done
	g.mu.Unlock()
	fl.cancel()
	if done != nil {
		close(done)
	}
}

// leave removes a waiter whose context ended; the last one to leave cancels
// the shared call, and a later identical call starts a new one.
func (g *group[T]) leave(key uint64, fl *flight[T]) {
	g.mu.Lock()
	fl.waiters--
	last := fl.waiters == 0
	if last && g.flights[key] == fl {
		delete(g.flights, key)
	}
	g.mu.Unlock()
	if last {
		fl.cancel()
	}
}

// extendDeadline raises the flight's deadline to d when d is later.
func (fl *flight[T]) extendDeadline(d time.Time) {
	n := d.UnixNano()
	for {
		cur := fl.deadline.Load()
		if n <= cur || fl.deadline.CompareAndSwap(cur, n) {
			return
		}
	}
}

// flightKey hashes what makes two calls identical. The parts cannot contain
// NUL (URLs are escaped, header values are checked), so NUL separates them
// unambiguously.
func (c *Client) flightKey(ci CallInfo, rawURL string) uint64 {
	var h maphash.Hash
	h.SetSeed(c.seed)
	_, _ = h.WriteString(rawURL)
	_ = h.WriteByte(0)
	_, _ = h.WriteString(ci.Tenant)
	_ = h.WriteByte(0)
	_, _ = h.WriteString(ci.Authorization)
	return h.Sum64()
}
