package server

import (
	"cmp"
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"golang.org/x/sync/semaphore"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/tap"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/gateway"
)

// admission bounds the calls in flight for the whole process, over both
// ports (Config.MaxCalls), and the time a call may take to deliver its
// request (Config.MessageTimeout). A call over the bound is refused before
// anything runs it: on the gRPC port by the tap handle, before grpc-go
// starts a goroutine; on the HTTP port by the first handler, before the
// transcoder or the mirror starts.
type admission struct {
	slots          *semaphore.Weighted
	messageTimeout time.Duration
}

func newAdmission(cfg Config) *admission {
	return &admission{
		slots:          semaphore.NewWeighted(int64(cmp.Or(cfg.MaxCalls, DefaultMaxCalls))),
		messageTimeout: cmp.Or(cfg.MessageTimeout, DefaultMessageTimeout),
	}
}

// busy is the status of a refused call, built once: refusals must cost
// little, and there is no correlation id yet to put in it.
var busy = apierr.New(apierr.Spec{
	Code:    codes.ResourceExhausted,
	Message: "the server has too many calls in flight: try again later",
	Reason:  apierr.ReasonTooManyCalls,
	Details: []protoadapt.MessageV1{&errdetails.RetryInfo{RetryDelay: durationpb.New(time.Second)}},
})

// messageTimerKey holds, in a gRPC stream's context, the timer that cancels
// the stream unless its first request message arrives in time.
type messageTimerKey struct{}

// tap is the gRPC server's InTapHandle. It takes a slot, released when the
// stream's context ends (grpc-go cancels it when the stream ends), and
// starts the timer that cancels the stream if the interceptors do not stop
// it first: a stream that sends headers and no message holds its goroutine
// and slot for MessageTimeout at most. It runs on the connection's reader
// goroutine, so it must not block.
func (a *admission) tap(ctx context.Context, _ *tap.Info) (context.Context, error) {
	if !a.slots.TryAcquire(1) {
		return nil, busy.Err()
	}
	ctx, cancel := context.WithCancel(ctx)
	t := time.AfterFunc(a.messageTimeout, cancel)
	context.AfterFunc(ctx, func() {
		t.Stop()
		a.slots.Release(1)
	})
	return context.WithValue(ctx, messageTimerKey{}, t), nil
}

// messageArrived stops the timer tap started, if any.
func messageArrived(ctx context.Context) {
	if t, ok := ctx.Value(messageTimerKey{}).(*time.Timer); ok {
		t.Stop()
	}
}

// unary stops the message timer: grpc-go runs the interceptors once the
// request message has been read and decoded.
func (a *admission) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	messageArrived(ctx)
	return handler(ctx, req)
}

// stream stops the message timer when the stream's first message arrives.
func (a *admission) stream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	return handler(srv, &firstMessage{ServerStream: ss})
}

// firstMessage stops the message timer at the first message received.
type firstMessage struct {
	grpc.ServerStream
	arrived bool
}

// RecvMsg implements grpc.ServerStream.
func (s *firstMessage) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if err == nil && !s.arrived {
		s.arrived = true
		messageArrived(s.Context())
	}
	return err
}

// http bounds the HTTP port's requests as tap does the gRPC port's streams:
// a request over the bound gets 429 RESOURCE_EXHAUSTED at once, and one
// with a body must deliver it within MessageTimeout (a read deadline, which
// net/http applies to the HTTP/1 connection or to the one HTTP/2 stream).
// The deadline is lifted once the body has been read, or, on a streaming
// path, moved to streamReadTimeout by the first bytes. Liveness and
// readiness (exempt) never read a body.
func (a *admission) http(next http.Handler, streaming func(path string) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == gateway.HealthzPath || r.URL.Path == gateway.ReadyzPath {
			next.ServeHTTP(w, r)
			return
		}
		if !a.slots.TryAcquire(1) {
			gateway.WriteError(w, r, busy)
			return
		}
		defer a.slots.Release(1)
		if r.Body != nil && r.Body != http.NoBody {
			rc := http.NewResponseController(w)
			_ = rc.SetReadDeadline(time.Now().Add(a.messageTimeout))
			b := &deadlineBody{ReadCloser: r.Body, rc: rc}
			if streaming(r.URL.Path) {
				b.after = streamReadTimeout
			}
			r.Body = b
		}
		next.ServeHTTP(w, r)
	})
}

// deadlineBody replaces a request's read deadline once its first bytes
// arrive (after > 0: a stream's) or once it has been read (after == 0: no
// deadline).
type deadlineBody struct {
	io.ReadCloser
	rc    *http.ResponseController
	after time.Duration
	done  bool
}

// Read implements io.Reader.
func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	switch {
	case b.done:
	case b.after > 0 && n > 0:
		b.done = true
		_ = b.rc.SetReadDeadline(time.Now().Add(b.after))
	case b.after == 0 && errors.Is(err, io.EOF):
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}
