package rest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"
)

// Retry budget, in the manner of gRFC A6's retry throttling, in thousandths
// of a token: the bucket holds at most 10 tokens and starts full; a failed
// attempt takes 1, a successful one gives back 0.1; retries are allowed only
// while more than half the bucket is left. In a sustained outage this stops
// retries after a handful of failures, so that the facade does not multiply
// the load on a struggling upstream, and brings them back once about half the
// requests succeed again.
const (
	budgetMax     = 10_000
	budgetFailure = 1_000
	budgetSuccess = 100
)

// retryBudget is the token bucket described above.
type retryBudget struct {
	tokens atomic.Int64
}

func newRetryBudget() *retryBudget {
	b := new(retryBudget)
	b.tokens.Store(budgetMax)
	return b
}

// record adds or removes tokens for an attempt's verdict. On the success
// path with a full bucket it is a single atomic load.
func (b *retryBudget) record(v verdict) {
	for {
		t := b.tokens.Load()
		var next int64
		switch v {
		case verdictSuccess:
			if t >= budgetMax {
				return
			}
			next = min(t+budgetSuccess, budgetMax)
		case verdictFailure:
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

// allowRetry reports whether a retry may be sent.
func (b *retryBudget) allowRetry() bool {
	return b.tokens.Load() > budgetMax/2
}

// fullJitter returns the wait before retry n (1 for the first retry): a
// uniformly random duration in [0, min(maxWait, base·2^(n-1))), as in AWS's
// "full jitter" back-off.
func fullJitter(base, maxWait time.Duration, n int) time.Duration {
	ceiling := maxWait
	if shift := n - 1; shift < 32 {
		if d := base << shift; d > 0 && d < maxWait {
			ceiling = d
		}
	}
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling)
}

// retryableStatus reports whether an upstream status is worth retrying for
// an idempotent GET: throttling and the gateway/availability errors that
// say the request did not reach, or was not handled by, the API.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// statusVerdict says what an upstream status tells about its health: 5xx
// and 429 are failures, anything else (the request's own fault) a success.
func statusVerdict(code int) verdict {
	if code >= 500 || code == http.StatusTooManyRequests {
		return verdictFailure
	}
	return verdictSuccess
}

// decoder turns a 2xx body into a result. The body is only valid during the
// call.
type decoder[T any] func(contentType string, body []byte) (T, error)

// outcome is how one attempt ended.
type outcome[T any] struct {
	val     T
	err     error
	retry   bool // the error is worth another attempt
	verdict verdict
}

// execute runs a call: up to maxAttempts attempts, each admitted by the
// circuit breaker and the concurrency limiter, with full-jitter back-off (or
// the upstream's Retry-After) between them, within the retry budget and
// never past the deadline. The deadline is ctx's, or, for a coalesced call
// whose ctx has none, the latest of its waiters', read from sharedDeadline
// (Unix nanoseconds) before each decision.
func execute[T any](c *Client, ctx context.Context, sharedDeadline *atomic.Int64, ci CallInfo, rawURL string, decode decoder[T]) (T, error) {
	var zero T
	var last error // the previous attempt's error
	for n := 1; ; n++ {
		deadline := deadlineOf(ctx, sharedDeadline)
		gen, err := c.breaker.allow()
		if err != nil {
			if last != nil {
				return zero, withAttempts(last, n-1)
			}
			return zero, err
		}
		if err := c.limiter.acquire(ctx, deadline); err != nil {
			c.breaker.record(gen, verdictNeutral)
			if last != nil && ctx.Err() == nil {
				return zero, withAttempts(last, n-1)
			}
			return zero, withAttempts(err, n-1)
		}
		o := guardedAttempt(c, ctx, deadline, gen, ci, rawURL, decode)
		c.breaker.record(gen, o.verdict)
		c.budget.record(o.verdict)
		if o.err == nil {
			return o.val, nil
		}
		if !o.retry || n >= c.maxAttempts || !c.budget.allowRetry() {
			return zero, withAttempts(o.err, n)
		}
		wait := c.retryWait(n, o.err)
		if !deadline.IsZero() && !time.Now().Add(wait).Before(deadline) {
			// The wait does not fit: hand the caller the upstream's answer
			// (and its Retry-After) now rather than a deadline error later.
			return zero, withAttempts(o.err, n)
		}
		if err := sleep(ctx, wait); err != nil {
			return zero, withAttempts(err, n)
		}
		last = o.err
	}
}

// retryWait is the pause before retry n: the upstream's Retry-After when it
// sent one, full-jitter back-off otherwise.
func (c *Client) retryWait(n int, err error) time.Duration {
	var ue *Error
	if errors.As(err, &ue) && ue.HasRetryAfter {
		return ue.RetryAfter
	}
	return fullJitter(c.backoff, c.maxBackoff, n)
}

// deadlineOf returns the deadline that bounds a call's decisions.
func deadlineOf(ctx context.Context, shared *atomic.Int64) time.Time {
	if shared != nil {
		return time.Unix(0, shared.Load())
	}
	d, _ := ctx.Deadline()
	return d
}

// sleep waits for d or until ctx ends, returning ctx's error in that case.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// guardedAttempt runs attempt holding a limiter slot, and makes sure that a
// panic (a bug) gives the slot and, for a half-open breaker, the probe back
// before it propagates.
func guardedAttempt[T any](c *Client, ctx context.Context, deadline time.Time, gen uint64, ci CallInfo, rawURL string, decode decoder[T]) outcome[T] {
	defer func() {
		c.limiter.release()
		if p := recover(); p != nil {
			c.breaker.record(gen, verdictNeutral)
			panic(p)
		}
	}()
	return attempt(c, ctx, deadline, ci, rawURL, decode)
}

// attempt sends one GET to rawURL and decodes a 2xx body. Until the response
// headers arrive it is bounded by the attempt timeout as well as by ctx.
func attempt[T any](c *Client, ctx context.Context, deadline time.Time, ci CallInfo, rawURL string, decode decoder[T]) outcome[T] {
	actx := ctx
	var timer *time.Timer
	if c.attemptTimeout > 0 && (deadline.IsZero() || time.Until(deadline) > c.attemptTimeout) {
		var cancel context.CancelCauseFunc
		actx, cancel = context.WithCancelCause(ctx)
		defer cancel(nil) // deferred first, so it runs after the body is drained
		timer = time.AfterFunc(c.attemptTimeout, func() { cancel(errAttemptTimedOut) })
	}
	req, err := http.NewRequestWithContext(actx, http.MethodGet, rawURL, nil)
	if err != nil {
		return outcome[T]{err: fmt.Errorf("build request: %w", err), verdict: verdictNeutral}
	}
	c.setHeaders(req.Header, ci)

	resp, err := c.send(req) //nolint:bodyclose // closed (and drained) below
	if timer != nil {
		timer.Stop() // the headers are in (or the attempt is over)
	}
	if err != nil {
		return transportOutcome[T](c, ctx, actx, err)
	}
	readToEnd := false // then there is nothing to drain
	defer func() {
		if readToEnd {
			_ = resp.Body.Close()
		} else {
			drainAndClose(resp.Body)
		}
	}()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := c.upstreamError(resp)
		return outcome[T]{err: e, retry: retryableStatus(e.StatusCode), verdict: statusVerdict(e.StatusCode)}
	}
	if resp.ContentLength > c.maxBody {
		return outcome[T]{err: &BodyTooLargeError{Limit: c.maxBody}}
	}
	buf := getBuffer(resp.ContentLength)
	defer putBuffer(buf)
	if err := c.readBody(buf, resp.Body); err != nil {
		var tooLarge *BodyTooLargeError
		if errors.As(err, &tooLarge) {
			return outcome[T]{err: err}
		}
		// The body was cut mid-way (reset, early EOF) or the call ended.
		return transportOutcome[T](c, ctx, actx, err)
	}
	readToEnd = true // readBody stops at the limit only when it fails
	v, err := decode(resp.Header.Get("Content-Type"), buf.Bytes())
	return outcome[T]{val: v, err: err}
}

// errAttemptTimedOut is the cancellation cause of an attempt's context when
// its timer fires.
var errAttemptTimedOut = errors.New("attempt timeout")

// transportOutcome classifies an error from sending the request or reading
// the body: the call's end is neutral and final; an attempt timeout and
// connection failures are retryable failures, except a certificate that does
// not verify, which no retry will fix.
func transportOutcome[T any](c *Client, ctx, actx context.Context, err error) outcome[T] {
	if ctx.Err() != nil {
		return outcome[T]{err: withContextErr(ctx, err), verdict: verdictNeutral}
	}
	if actx != ctx && errors.Is(context.Cause(actx), errAttemptTimedOut) {
		return outcome[T]{err: fmt.Errorf("%w (%v)", ErrAttemptTimeout, c.attemptTimeout), retry: true, verdict: verdictFailure}
	}
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		return outcome[T]{err: err, verdict: verdictFailure}
	}
	return outcome[T]{err: err, retry: true, verdict: verdictFailure}
}
