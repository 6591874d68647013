package rest

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/resilience"
)

// request is one call of a Client method: what it sends upstream and how it
// decodes a 2xx body (valid only during decode).
type request[T any] struct {
	op       string // apierr.OpGetReseller or apierr.OpGetAcceptanceLink
	info     CallInfo
	url      string
	decode   func(body []byte) (T, error)
	deadline resilience.Deadline // bounds the call's retry decisions
}

// flight is a coalesced execution's result and the correlation id its
// upstream requests carried.
type flight[T any] struct {
	v             T
	correlationID string
}

type operationKey struct{}

// WithOperation returns ctx for an upstream request of operation op.
func WithOperation(ctx context.Context, op string) context.Context {
	return context.WithValue(ctx, operationKey{}, op)
}

// Operation returns the operation (apierr.OpGetReseller, ...) whose upstream
// request carries ctx, "" outside one, for transports to label measures.
func Operation(ctx context.Context) string {
	op, _ := ctx.Value(operationKey{}).(string)
	return op
}

// call runs one call of a Client method, bounded by Config.Timeout when ctx
// has no deadline (running out of it is KindTimeout, not the caller's
// KindDeadlineExceeded), coalesced in g unless coalescing is off.
func call[T any](ctx context.Context, c *Client, g *resilience.Group[flightKey, flight[T]], r request[T]) (v T, err error) {
	if err := checkCallInfo(r.info); err != nil {
		return v, err
	}
	cctx := ctx
	if _, ok := cctx.Deadline(); !ok {
		var cancel context.CancelFunc
		cctx, cancel = context.WithTimeout(cctx, c.cfg.Timeout)
		defer cancel()
	}
	if !c.cfg.DisableCoalescing {
		f, ferr, joined := g.Do(cctx, flightKey{r.url, r.info.Tenant, r.info.Authorization, r.info.Caller}, func(ctx context.Context, deadline resilience.Deadline) (flight[T], error) {
			r.deadline = deadline
			v, err := execute(ctx, c, &r)
			return flight[T]{v, r.info.CorrelationID}, err
		})
		v, err = f.v, ferr
		if joined && c.cfg.OnCoalesced != nil {
			c.cfg.OnCoalesced(ctx, r.op, f.correlationID)
		}
		if e, ok := errors.AsType[*Error](ferr); ok && joined && e.Envelope != nil && e.Envelope.CorrelationID == f.correlationID {
			cp, env := *e, *e.Envelope // it echoes the first caller's id: a joiner's status names its own
			env.CorrelationID, cp.Envelope, err = r.info.CorrelationID, &env, &cp
		}
	} else {
		dl, _ := cctx.Deadline()
		r.deadline = func() time.Time { return dl }
		v, err = execute(cctx, c, &r)
	}
	if e := AsError(ctx, err); e != nil {
		if e.Kind == KindDeadlineExceeded && ctx.Err() == nil {
			cp := *e
			cp.Kind, cp.Cause = KindTimeout, CauseTimeout
			e = &cp
		}
		return v, e
	}
	return v, nil
}

// execute runs a call for its tenant, admitted by the tenant's circuit
// breaker, which counts it once with its final outcome.
func execute[T any](ctx context.Context, c *Client, r *request[T]) (v T, err error) {
	ctx = WithOperation(ctx, r.op)                              // once per execution, not per coalesced caller
	tenant := c.tenants.Acquire(strings.ToLower(r.info.Tenant)) // a domain name: its case means nothing (RFC 4343)
	health := resilience.Neutral                                // after a panic (a bug), a half-open breaker gets its probe back
	defer func() { c.tenants.Release(tenant, health == resilience.Success && err == nil) }()
	done, err := tenant.Breaker.Allow()
	if err != nil {
		c.rejected(r.op, RejectCircuitOpen)
		open, _ := errors.AsType[*resilience.OpenError](err)
		return v, &Error{Kind: KindCircuitOpen, RetryAfter: open.RetryAfter, HasRetryAfter: true}
	}
	defer func() { done(health) }()
	if v, err = attempts(ctx, c, tenant, r); err != nil {
		health = AsError(ctx, err).info().health
	} else {
		health = resilience.Success
	}
	return v, err
}

// attempts makes the attempts of one call, each holding a request slot,
// within the tenant's retry budget and the global ceiling.
func attempts[T any](ctx context.Context, c *Client, tenant *resilience.Tenant, r *request[T]) (zero T, _ error) {
	var last *Error // the previous attempt's error
	for n, keys := 1, r.info.shareKeys(); ; n++ {
		release, err := c.limiter.Acquire(ctx, keys...)
		if err != nil {
			if le, ok := errors.AsType[*resilience.LimitError](err); ok {
				reason := RejectConcurrencyLimit
				if le.PerKey {
					reason = RejectTenantConcurrencyLimit
				}
				c.rejected(r.op, reason)
				err = &Error{Kind: KindOverLimit, Limit: int64(le.Limit), RetryAfter: le.RetryAfter, HasRetryAfter: true}
			}
			if last != nil && ctx.Err() == nil {
				return zero, withAttempts(last, n-1)
			}
			return zero, withAttempts(AsError(ctx, err), n-1)
		}
		if n == 1 {
			c.ceiling.FirstAttempt()
		}
		v, e := attempt(ctx, c, release, r)
		if e == nil {
			tenant.Budget.Record(resilience.Success)
			return v, nil
		}
		retry := e.retryable()
		tenant.Budget.Record(attemptOutcome(e, retry))
		if !retry || n >= c.cfg.MaxAttempts || !tenant.Budget.Allow() || !c.ceiling.TryRetry() {
			return zero, withAttempts(e, n)
		}
		wait := e.RetryAfter // the upstream's, else full-jitter back-off
		if !e.HasRetryAfter {
			wait = resilience.FullJitter(c.cfg.RetryBackoff, c.cfg.MaxRetryBackoff, n)
		}
		if dl := r.deadline(); !dl.IsZero() && !time.Now().Add(wait).Before(dl) { // callers may have joined since
			// The wait does not fit: hand the caller the upstream's answer
			// (and its Retry-After) now rather than a deadline error later.
			return zero, withAttempts(e, n)
		}
		if err := sleep(ctx, wait); err != nil {
			return zero, withAttempts(AsError(ctx, err), n)
		}
		last = e
	}
}

// attemptOutcome is what one attempt means for the tenant's retry budget.
func attemptOutcome(e *Error, retry bool) resilience.Outcome {
	switch {
	case retry, e.info().health == resilience.Failure:
		return resilience.Failure
	case e.Kind == KindCanceled, e.Kind == KindDeadlineExceeded, e.Kind == KindInvalid:
		return resilience.Neutral
	}
	return resilience.Success
}

// withAttempts returns e with its attempt count, a copy when it changes
// (a coalesced call's error is shared).
func withAttempts(e *Error, n int) *Error {
	if e.Attempts == n {
		return e
	}
	cp := *e
	cp.Attempts = n
	return &cp
}

func (c *Client) rejected(op, reason string) {
	if c.cfg.OnRejected != nil {
		c.cfg.OnRejected(op, reason)
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// attempt sends one GET and decodes a 2xx body, bounded by the attempt
// timeout as well as by ctx, then gives its request slots back (release).
// The timer is armed unless ctx's own deadline comes first: a shared call's
// context has none (its callers' deadlines end it only once all have left).
func attempt[T any](ctx context.Context, c *Client, release func(), r *request[T]) (zero T, _ *Error) {
	defer release()
	if err := ctx.Err(); err != nil {
		return zero, AsError(ctx, err) // nothing sent
	}
	actx := ctx
	if deadline, ok := ctx.Deadline(); c.cfg.AttemptTimeout > 0 && (!ok || time.Until(deadline) > c.cfg.AttemptTimeout) {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeoutCause(ctx, c.cfg.AttemptTimeout, errAttemptTimedOut)
		defer cancel()
	}
	buf, e := c.fetch(ctx, actx, r.url, &r.info)
	if e != nil {
		return zero, e
	}
	defer putBuffer(buf)
	v, err := safeDecode(r.decode, buf.Bytes())
	if err != nil {
		if de, ok := errors.AsType[*Error](err); ok {
			return zero, de
		}
		return zero, undecodable("upstream response", err)
	}
	return v, nil
}

// fetch sends attempt's GET and reads a 2xx body into a pooled buffer;
// apart, so that its frame is off the stack by the decoding.
func (c *Client) fetch(ctx, actx context.Context, target string, info *CallInfo) (*bytes.Buffer, *Error) {
	req, err := http.NewRequestWithContext(actx, http.MethodGet, target, nil)
	if err != nil {
		return nil, &Error{Kind: KindInvalid, Err: fmt.Errorf("build request: %w", err)}
	}
	c.setHeaders(req.Header, info)
	resp, err := c.cfg.Transport.RoundTrip(req) //nolint:bodyclose // closed (and drained) below
	if err != nil {
		// A *url.Error, as http.Client reports it.
		return nil, transportError(ctx, actx, &url.Error{Op: "Get", URL: req.URL.String(), Err: err})
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		// The body is the raw connection, which no context or deadline ends.
		_ = resp.Body.Close()
		return nil, &Error{Kind: KindAnswered, StatusCode: resp.StatusCode}
	}
	defer drainAndClose(resp)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, c.upstreamError(resp)
	}
	buf, err := c.readBody(resp)
	if err != nil {
		putBuffer(buf)
		_, corrupt := errors.AsType[flate.CorruptInputError](err)
		switch e, ok := errors.AsType[*Error](err); {
		case ok:
			return nil, e
		case corrupt || errors.Is(err, gzip.ErrHeader) || errors.Is(err, gzip.ErrChecksum):
			return nil, undecodable("upstream response", err) // its gzip encoding, which net/http undoes
		}
		return nil, transportError(ctx, actx, err) // cut mid-way, timed out or cancelled
	}
	return buf, nil
}

// safeDecode runs decode, turning a panic (a bug) into an error.
func safeDecode[T any](decode func([]byte) (T, error), body []byte) (v T, err error) {
	defer func() {
		if p := recover(); p != nil { // v is still zero
			err = undecodable("upstream response", fmt.Errorf("panic: %v", p))
		}
	}()
	return decode(body)
}

var errAttemptTimedOut = errors.New("upstream sent no complete response within the attempt timeout")

func undecodable(what string, err error) *Error {
	return &Error{Kind: KindUndecodable, Err: fmt.Errorf("decode %s: %w", what, err)}
}

// transportError classifies an error from sending the request or reading
// the body, telling the attempt timeout from the caller's context.
func transportError(ctx, actx context.Context, err error) *Error {
	if ctx.Err() == nil && actx != ctx && errors.Is(context.Cause(actx), errAttemptTimedOut) {
		return &Error{Kind: KindTimeout, Cause: CauseTimeout, Err: errAttemptTimedOut}
	}
	return AsError(ctx, err)
}
