package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/semaphore"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/gateway"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/resilience"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/service"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/telemetry"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/tlsconfig"
)

// admission bounds the calls in flight over both ports (Config.MaxCalls), those of
// one client certificate (half of them) and those of one tenant (three quarters: its
// stall leaves the others a quarter), and the time a call has to deliver its
// request (Config.MessageTimeout). Streaming calls, which may last as long as their
// connection, take slots of their own, half as many (reflection's 16), so that held streams cannot
// refuse unary calls. A call's header bytes over freeHeaderBytes, which it holds while
// it lasts, draw on headerBudget, a stream's on half as much of its own:
// docs/security.md, "Limits of the whole process".
type admission struct {
	slots, streams, reflection, headers, streamHeaders *semaphore.Weighted
	streaming                                          map[string]bool     // "/pkg.Service/Method" of the streaming methods
	clients, tenants                                   *resilience.Limiter // a share of slots per client certificate, per tenant
	messageTimeout, answerTimeout, streamTimeout       time.Duration
	defaultTenant                                      string

	tooMany, clientShare, tenantShare, largeHeaders, timedOut prometheus.Counter
}

func newAdmission(cfg Config, m *telemetry.Metrics) *admission {
	maxCalls := cmp.Or(cfg.MaxCalls, DefaultMaxCalls)
	return &admission{
		slots:          semaphore.NewWeighted(int64(maxCalls)),
		streams:        semaphore.NewWeighted(int64(max(maxCalls/2, 1))),
		reflection:     semaphore.NewWeighted(int64(min(maxReflectionStreams, max(maxCalls/2, 1)))),
		headers:        semaphore.NewWeighted(headerBudget),
		streamHeaders:  semaphore.NewWeighted(headerBudget / 2),
		clients:        resilience.NewLimiter(0, max(maxCalls/2, 1), 0),
		tenants:        resilience.NewLimiter(0, max(maxCalls-maxCalls/4, 1), 0),
		messageTimeout: cmp.Or(cfg.MessageTimeout, DefaultMessageTimeout),
		answerTimeout:  answerWriteTimeout,
		streamTimeout:  streamReadTimeout,
		defaultTenant:  cfg.DefaultTenant,
		tooMany:        m.RefusedCalls(telemetry.RefusedTooManyCalls),
		clientShare:    m.RefusedCalls(telemetry.RefusedClientShare),
		tenantShare:    m.RefusedCalls(telemetry.RefusedTenantShare),
		largeHeaders:   m.RefusedCalls(telemetry.RefusedLargeHeaders),
		timedOut:       m.RefusedCalls(telemetry.RefusedMessageTimeout),
	}
}

const maxReflectionStreams = 16 // in the process: each may hold up to ~1 MiB unread (docs/security.md)

// maxHeaderNames bounds a gRPC call's metadata names (clients send a dozen or two): an emptied map keeps its size.
const maxHeaderNames = 64

// A call's headers up to freeHeaderBytes (a token of a few KiB) are bounded by its slot.
const freeHeaderBytes = 4 << 10

var headerBudget int64 = 4 << 20 // a variable for tests

// headerBytes counts a call's header fields as HTTP/2 does against maxHeaderListSize.
func headerBytes[H ~map[string][]string](h H) int {
	n := 0
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(v) + 32
		}
	}
	return n
}

// The refusals are built once: they must cost little, and have no correlation id yet.
var (
	busy        = refusal("the server has too many calls in flight: try again later", apierr.ReasonTooManyCalls)
	clientBusy  = refusal("your client certificate has its share of the server's calls in flight: try again later", apierr.ReasonClientShare)
	manyNames   = apierr.New(apierr.Spec{Code: codes.ResourceExhausted, Reason: apierr.ReasonRequestTooLarge, Message: fmt.Sprintf("more than %d metadata names", maxHeaderNames)})
	tenantBusy  = refusal("your tenant has its share of the server's calls in flight: try again later", apierr.ReasonTenantShare)
	headersBusy = refusal("the calls in flight hold the server's budget of large headers: try again later, or send less metadata", apierr.ReasonLargeHeaders)
)

// refusal is RESOURCE_EXHAUSTED with reason, retry in a second.
func refusal(msg, reason string) *status.Status {
	return apierr.New(apierr.Spec{Code: codes.ResourceExhausted, Message: msg, Reason: reason,
		Details: []protoadapt.MessageV1{&errdetails.RetryInfo{RetryDelay: durationpb.New(time.Second)}}})
}

// admit takes a slot of client's share (its certificate's identity; "" has none),
// then one of its tenant's (sent, else the default; none without), then one of the
// process's and its header bytes over freeHeaderBytes, for a call of method. It
// returns the function that gives them back, or the status of the refusal.
func (a *admission) admit(client, tenant, authorization, method string, header int) (release func(), refused *status.Status) {
	own, slots, headers := func() {}, a.slots, a.headers
	tenant = cmp.Or(tenant, a.defaultTenant)
	if a.streaming[method] { // streams have slots and header bytes of their own, and no share
		slots, headers, client, tenant = a.streams, a.streamHeaders, "", ""
		if strings.HasPrefix(method, "/grpc.reflection.") { // its caller sizes its answers
			slots = a.reflection
		}
	}
	if client != "" {
		r, err := a.clients.Acquire(context.Background(), client)
		if err != nil {
			a.clientShare.Inc()
			return nil, clientBusy
		}
		own = r
	}
	if tenant != "" {
		r, err := a.tenants.Acquire(context.Background(), rest.TenantShare(client, tenant, authorization))
		if err != nil {
			own()
			a.tenantShare.Inc()
			return nil, tenantBusy
		}
		byClient := own
		own = func() { r(); byClient() }
	}
	if !slots.TryAcquire(1) {
		own()
		a.tooMany.Inc()
		return nil, busy
	}
	large := int64(max(header-freeHeaderBytes, 0))
	if large > 0 && !headers.TryAcquire(large) {
		slots.Release(1)
		own()
		a.largeHeaders.Inc()
		return nil, headersBusy
	}
	return func() {
		if large > 0 {
			headers.Release(large)
		}
		slots.Release(1)
		own()
	}, nil
}

// messageTimerKey holds, in a gRPC stream's context, the message timer tap starts.
type messageTimerKey struct{}

// tap is the gRPC server's InTapHandle: it takes a slot until the stream's
// context ends and starts the message timer. It runs on the connection's
// reader goroutine, so it must not block.
func (a *admission) tap(ctx context.Context, info *tap.Info) (context.Context, error) {
	if len(info.Header) > maxHeaderNames {
		return nil, manyNames.Err()
	}
	// grpc-go keeps several grpc-accept-encoding fields joined besides (the client's compressors).
	header := len(info.FullMethodName) + headerBytes(info.Header) + len(strings.Join(info.Header["grpc-accept-encoding"], ","))
	tenant, auth := strings.Join(info.Header[apierr.MDTenant], ","), strings.Join(info.Header[apierr.MDAuthorization], ",") // several: refused later
	release, refused := a.admit(service.CallerIdentity(ctx), tenant, auth, info.FullMethodName, header)
	if refused != nil {
		return nil, refused.Err()
	}
	ctx, cancel := context.WithCancel(ctx)
	t := time.AfterFunc(a.messageTimeout, func() {
		a.timedOut.Inc()
		cancel()
	})
	context.AfterFunc(ctx, func() {
		t.Stop()
		release()
	})
	return context.WithValue(context.WithValue(ctx, messageTimerKey{}, t), headerKey{}, info.Header), nil
}

// headerKey holds tap.Info.Header in a gRPC stream's context: the map of its metadata there.
type headerKey struct{}

// forgetHeader empties a call's metadata once its handler has returned: grpc-go keeps a stream and
// its context until its answer is written, which a client granting no window never lets happen.
func forgetHeader(ctx context.Context) {
	md, _ := ctx.Value(headerKey{}).(metadata.MD) // nil on the HTTP port
	clear(md)
}

func messageArrived(ctx context.Context) {
	if t, ok := ctx.Value(messageTimerKey{}).(*time.Timer); ok {
		t.Stop()
	}
}

// unary stops the message timer: grpc-go runs the interceptors once the
// request message has been read and decoded.
func (a *admission) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	messageArrived(ctx)
	defer forgetHeader(ctx)
	return handler(ctx, req)
}

// stream stops the message timer when the stream's first message arrives.
func (a *admission) stream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	defer forgetHeader(ss.Context())
	return handler(srv, firstMessage{ss})
}

// firstMessage stops the message timer at every message received; the first
// counts. On the HTTP port it lets the body be read while it waits (streamBody).
type firstMessage struct{ grpc.ServerStream }

// RecvMsg implements grpc.ServerStream.
func (s firstMessage) RecvMsg(m any) error {
	body, _ := s.Context().Value(streamBodyKey{}).(*streamBody) // on the HTTP port
	body.set(true, false)
	err := s.ServerStream.RecvMsg(m)
	body.set(false, false)
	if err == nil {
		messageArrived(s.Context())
	}
	return err
}

// http bounds the HTTP port's requests as tap does the gRPC port's streams;
// the message timer is a read deadline (deadlineBody), relaxed on the
// streaming methods' paths. Liveness and readiness, exempt, read no body.
func (a *admission) http(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == gateway.HealthzPath || r.URL.Path == gateway.ReadyzPath {
			next.ServeHTTP(w, r)
			return
		}
		rc, stream := http.NewResponseController(w), a.streaming[r.URL.Path]
		// Declared trailers may follow: HTTP/2 keeps them all, as large as a header list.
		header := len(r.RequestURI) + len(r.Host) + headerBytes(r.Header) + min(len(r.Trailer), 1)*maxHeaderListSize
		release, refused := a.admit(tlsconfig.ClientIdentity(r.TLS), r.Header.Get(apierr.HeaderTenant), r.Header.Get(apierr.HeaderAuthorization), r.URL.Path, header)
		if refused != nil { // its stream, unread, must end too
			_ = rc.SetWriteDeadline(time.Now().Add(a.answerTimeout))
			gateway.WriteError(w, r, refused)
			return
		}
		defer release()
		if !stream { // net/http clears the deadline after the answer
			w = &answerDeadline{wrappedWriter: wrappedWriter{w}, rc: rc, timeout: a.answerTimeout}
		}
		if r.Body != nil && r.Body != http.NoBody {
			_ = rc.SetReadDeadline(time.Now().Add(a.messageTimeout))
			b := &deadlineBody{ReadCloser: r.Body, rc: rc, timedOut: a.timedOut}
			if stream {
				b.after = a.streamTimeout
			}
			r.Body = b
		}
		next.ServeHTTP(w, r)
	})
}

// answerWriteTimeout bounds writing an answer from its first byte (answerDeadline), so that a
// client that never reads it frees its call slot (docs/security.md); streaming paths have none.
var answerWriteTimeout = 10 * time.Second // for tests: read once, by newAdmission, as handlers may outlive a test

type answerDeadline struct {
	wrappedWriter
	rc      *http.ResponseController
	timeout time.Duration // zeroed once the answer has started
}

func (w *answerDeadline) start() {
	if w.timeout > 0 {
		_ = w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
		w.timeout = 0
	}
}

// WriteHeader implements http.ResponseWriter.
func (w *answerDeadline) WriteHeader(code int) { w.start(); w.ResponseWriter.WriteHeader(code) }

// Write implements http.ResponseWriter.
func (w *answerDeadline) Write(p []byte) (int, error) { w.start(); return w.ResponseWriter.Write(p) }

// Flush implements http.Flusher.
func (w *answerDeadline) Flush() { w.start(); w.wrappedWriter.Flush() }

// deadlineBody replaces a request's read deadline once its first bytes arrive
// (after > 0: a stream's), clears it once the body has been read (on HTTP/1.1 a
// deadline that passes cancels the call, a stream's answer too), and counts in
// timedOut a request cut by the first deadline.
type deadlineBody struct {
	io.ReadCloser
	rc       *http.ResponseController
	after    time.Duration
	done     bool
	timedOut prometheus.Counter
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	switch {
	case errors.Is(err, io.EOF):
		_ = b.rc.SetReadDeadline(time.Time{})
	case b.done:
	case errors.Is(err, os.ErrDeadlineExceeded): // its text names both sockets' addresses
		b.done, err = true, errors.New("the request did not arrive within the message timeout")
		b.timedOut.Inc()
	case b.after > 0 && n > 0:
		b.done = true
		_ = b.rc.SetReadDeadline(time.Now().Add(b.after))
	}
	return n, err
}
