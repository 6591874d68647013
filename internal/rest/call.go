package rest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/resilience"
)

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

// decoder turns a 2xx body into a result. The body is only valid during the
// call.
type decoder[T any] func(contentType string, body []byte) (T, error)

// outcome is how one attempt ended.
type outcome[T any] struct {
	val   T
	err   error
	retry bool // the error is worth another attempt
	// budget is what the attempt means for the tenant's retry budget.
	budget resilience.Outcome
}

// execute runs a call for its tenant: admitted once by the tenant's circuit
// breaker, then up to maxAttempts attempts, each holding one of the
// caller's request slots (see CallInfo.Caller) and a global one, with
// full-jitter back-off (or the upstream's Retry-After) between them, within
// the tenant's retry budget and the global retry ceiling, and never past the
// deadline. The breaker counts the call once, with its final outcome; a
// success proves the tenant (see resilience.Tenants). deadline gives the
// deadline that bounds decisions (for a coalesced call, the latest of its
// waiters').
func execute[T any](c *Client, ctx context.Context, deadline func() (time.Time, bool), op string, ci CallInfo, rawURL string, decode decoder[T]) (T, error) {
	var zero T
	tenant := c.tenants.Acquire(ci.Tenant)
	proven := false
	defer func() { c.tenants.Release(tenant, proven) }()
	done, err := tenant.Breaker.Allow()
	if err != nil {
		c.rejected(op, RejectCircuitOpen)
		var open *resilience.OpenError
		errors.As(err, &open)
		return zero, &CircuitOpenError{RetryAfter: open.RetryAfter}
	}
	recorded := false
	defer func() {
		if !recorded { // a panic (a bug): give a half-open breaker its probe back
			done(resilience.Neutral)
		}
	}()
	v, err := attempts(c, ctx, deadline, tenant, op, ci, rawURL, decode)
	done(callOutcome(ctx, err))
	recorded, proven = true, err == nil
	return v, err
}

// attempts makes the attempts of one call.
func attempts[T any](c *Client, ctx context.Context, deadline func() (time.Time, bool), tenant *resilience.Tenant, op string, ci CallInfo, rawURL string, decode decoder[T]) (T, error) {
	var zero T
	var last error // the previous attempt's error
	for n := 1; ; n++ {
		dl, _ := deadline()
		release, err := c.limiter.Acquire(ctx, dl, ci.shareKey())
		if err != nil {
			var le *resilience.LimitError
			if errors.As(err, &le) {
				reason := RejectConcurrencyLimit
				if le.PerKey {
					reason = RejectTenantConcurrencyLimit
				}
				c.rejected(op, reason)
				err = &ConcurrencyLimitError{Limit: le.Limit, PerTenant: le.PerKey, RetryAfter: le.RetryAfter}
			}
			if last != nil && ctx.Err() == nil {
				return zero, withAttempts(last, n-1)
			}
			return zero, withAttempts(err, n-1)
		}
		if n == 1 {
			c.ceiling.FirstAttempt()
		}
		o := guardedAttempt(c, ctx, dl, release, ci, rawURL, decode)
		tenant.Budget.Record(o.budget)
		if o.err == nil {
			return o.val, nil
		}
		if !o.retry || n >= c.maxAttempts || !tenant.Budget.Allow() || !c.ceiling.TryRetry() {
			return zero, withAttempts(o.err, n)
		}
		wait := c.retryWait(n, o.err)
		if !dl.IsZero() && !time.Now().Add(wait).Before(dl) {
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

// rejected reports a call or retry refused before anything was sent.
func (c *Client) rejected(op, reason string) {
	if c.onRejected != nil {
		c.onRejected(op, reason)
	}
}

// callOutcome says what a call's final error tells about the upstream's
// health, for the tenant's circuit breaker: only 502, 503 and 504, attempt
// timeouts and connection failures are failures; calls the caller
// abandoned, calls never sent (refused, invalid), throttling (429) and
// undecodable answers are neutral; any other answer is a success.
func callOutcome(ctx context.Context, err error) resilience.Outcome {
	if err == nil {
		return resilience.Success
	}
	var (
		ue       *Error
		limit    *ConcurrencyLimitError
		decodeE  *DecodeError
		tooLarge *BodyTooLargeError
	)
	switch {
	case errors.As(err, &ue):
		switch ue.StatusCode {
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return resilience.Failure
		case http.StatusTooManyRequests:
			return resilience.Neutral
		}
		return resilience.Success
	case errors.Is(err, ErrAttemptTimeout):
		return resilience.Failure
	case ctx.Err() != nil,
		errors.As(err, &limit),
		errors.As(err, &decodeE),
		errors.As(err, &tooLarge),
		errors.Is(err, ErrInvalidRequest),
		errors.Is(err, context.Canceled),
		errors.Is(err, context.DeadlineExceeded):
		return resilience.Neutral
	}
	return resilience.Failure // no answer: refused, reset, TLS, ...
}

// retryWait is the pause before retry n: the upstream's Retry-After when it
// sent one, full-jitter back-off otherwise.
func (c *Client) retryWait(n int, err error) time.Duration {
	var ue *Error
	if errors.As(err, &ue) && ue.HasRetryAfter {
		return ue.RetryAfter
	}
	return resilience.FullJitter(c.backoff, c.maxBackoff, n)
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

// guardedAttempt runs attempt and gives its request slots back, even when
// decoding panics (a bug).
func guardedAttempt[T any](c *Client, ctx context.Context, deadline time.Time, release func(), ci CallInfo, rawURL string, decode decoder[T]) outcome[T] {
	defer release()
	return attempt(c, ctx, deadline, ci, rawURL, decode)
}

// attempt sends one GET to rawURL and decodes a 2xx body. From sending the
// request to the end of the body it is bounded by the attempt timeout as
// well as by ctx.
func attempt[T any](c *Client, ctx context.Context, deadline time.Time, ci CallInfo, rawURL string, decode decoder[T]) outcome[T] {
	if err := ctx.Err(); err != nil {
		return outcome[T]{err: err, budget: resilience.Neutral} // nothing sent
	}
	actx := ctx
	if c.attemptTimeout > 0 && (deadline.IsZero() || time.Until(deadline) > c.attemptTimeout) {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeoutCause(ctx, c.attemptTimeout, errAttemptTimedOut)
		defer cancel() // deferred first, so it runs after the body is drained
	}
	req, err := http.NewRequestWithContext(actx, http.MethodGet, rawURL, nil)
	if err != nil {
		return outcome[T]{err: fmt.Errorf("build request: %w", err), budget: resilience.Neutral}
	}
	c.setHeaders(req.Header, ci)

	resp, err := c.send(req) //nolint:bodyclose // closed (and drained) below
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
		// The status is what matters: a body that does not arrive within
		// the attempt timeout only costs the Envelope.
		e := c.upstreamError(resp)
		o := outcome[T]{err: e, retry: retryableStatus(e.StatusCode), budget: resilience.Success}
		if o.retry {
			o.budget = resilience.Failure
		}
		return o
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
		// The body was cut mid-way (reset, early EOF), ran past the attempt
		// timeout, or the call ended.
		return transportOutcome[T](c, ctx, actx, err)
	}
	readToEnd = true // readBody stops at the limit only when it fails
	v, err := safeDecode(decode, resp.Header.Get("Content-Type"), buf.Bytes())
	return outcome[T]{val: v, err: err}
}

// safeDecode runs decode and turns a panic (a bug) into a *DecodeError, so
// that one bad body cannot take the process down or leave coalesced callers
// without an answer.
func safeDecode[T any](decode decoder[T], contentType string, body []byte) (v T, err error) {
	defer func() {
		if p := recover(); p != nil {
			var zero T
			v, err = zero, &DecodeError{What: "upstream response", Err: fmt.Errorf("panic: %v", p)}
		}
	}()
	return decode(contentType, body)
}

// errAttemptTimedOut is the cancellation cause of an attempt's context when
// the attempt timeout runs out.
var errAttemptTimedOut = errors.New("attempt timeout")

// transportOutcome classifies an error from sending the request or reading
// the body: the call's end is neutral and final; an attempt timeout and
// connection failures are retryable failures, except a certificate that does
// not verify, which no retry will fix.
func transportOutcome[T any](c *Client, ctx, actx context.Context, err error) outcome[T] {
	if ctx.Err() != nil {
		return outcome[T]{err: withContextErr(ctx, err), budget: resilience.Neutral}
	}
	if actx != ctx && errors.Is(context.Cause(actx), errAttemptTimedOut) {
		return outcome[T]{err: fmt.Errorf("%w (%v)", ErrAttemptTimeout, c.attemptTimeout), retry: true, budget: resilience.Failure}
	}
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		return outcome[T]{err: err, budget: resilience.Failure}
	}
	return outcome[T]{err: err, retry: true, budget: resilience.Failure}
}
