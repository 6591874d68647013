package server

import (
	"compress/gzip"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/vanguard"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
)

// streamReadTimeout bounds reading a streaming call's body (reflection) once its
// first bytes have arrived (admission.http); the server has no ReadTimeout.
var streamReadTimeout = 10 * time.Minute // for tests: read once, by newAdmission, as handlers may outlive a test

// rpcHandler serves the services' own paths on the HTTP port over Connect, gRPC-Web
// and gRPC: vanguard's transcoder calls grpc.Server.ServeHTTP, so every call runs the
// server's interceptors and stats handler.
type rpcHandler struct {
	transcoder http.Handler
	prefixes   []string        // "/pkg.Service/" of each served service
	streaming  map[string]bool // "/pkg.Service/Method" of each served method: whether it streams
}

// newRPCHandler builds the transcoder over gs, which must have all its
// services registered. A request on a service's path that is no call it
// serves (an unknown method, a GET that is not Connect's) goes to unknown:
// the mirror, which answers with its JSON errors.
func newRPCHandler(gs *grpc.Server, unknown http.Handler) (*rpcHandler, error) {
	h, handler := &rpcHandler{streaming: map[string]bool{}}, streamBodies(gs)
	var services []*vanguard.Service // as vanguardgrpc.NewTranscoder, with one streamBodies handler for all
	for name, info := range gs.GetServiceInfo() {
		services = append(services, vanguard.NewService(name, handler))
		prefix := "/" + name + "/"
		h.prefixes = append(h.prefixes, prefix)
		for _, m := range info.Methods {
			h.streaming[prefix+m.Name] = m.IsClientStream || m.IsServerStream
		}
	}
	var err error
	h.transcoder, err = vanguard.NewTranscoder(services,
		vanguard.WithUnknownHandler(unknown),
		vanguard.WithCodec(func(r vanguard.TypeResolver) vanguard.Codec { return jsonCodec{vanguard.NewJSONCodec(r)} }),
		vanguard.WithCompression(vanguard.CompressionGzip,
			func() connect.Compressor { return gzip.NewWriter(io.Discard) }, // vanguard's default
			func() connect.Decompressor { return new(boundedGzip) }),
		vanguard.WithDefaultServiceOptions(
			// Vanguard expands every compressed request with boundedGzip and passes it
			// on plain (docs/security.md, "Request size").
			vanguard.WithMaxMessageBufferBytes(maxBufferBytes),
			vanguard.WithNoTargetCompression(),
			vanguard.WithTargetProtocols(vanguard.ProtocolGRPC),
			vanguard.WithTargetCodecs(vanguard.CodecProto),
		))
	if err != nil {
		return nil, fmt.Errorf("connect and gRPC-Web transcoder: %w", err)
	}
	return h, nil
}

// ServeHTTP implements http.Handler: it hands the call to the transcoder, with
// gRPC-Web's fixes, or refuses what vanguard would answer wrongly: a POST in none
// of the protocols (taken for REST), a malformed Connect GET (docs/browsers.md).
func (h *rpcHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ct, _, params := strings.Cut(r.Header.Get("Content-Type"), ";")
	if ct = strings.TrimSpace(ct); params && strings.HasPrefix(ct, "application/grpc") {
		r.Header.Set("Content-Type", ct) // as grpc-go serves it; vanguard v0.4.0 reads no protocol in it
	}
	if n, ok := strings.CutSuffix(r.Header.Get("Grpc-Timeout"), "H"); ok {
		if hours, err := strconv.ParseInt(n, 10, 64); err == nil && hours > 8 && hours <= 99999999 {
			r.Header.Del("Grpc-Timeout") // over 8 hours: no deadline, as vanguard v0.4.0 means but refuses
		}
	}
	var err error
	if isType(ct, grpcWebTextType) { // then as binary gRPC-Web
		w, err = grpcWebText(w, r)
		ct = r.Header.Get("Content-Type")
	}
	if err == nil {
		err = boundBody(r)
	}
	if err != nil {
		if r.ProtoMajor == 1 { // else net/http reads what is left of the body before answering
			w.Header().Set("Connection", "close")
		}
		_ = errorWriter.Write(w, r, err)
		return
	}
	stream, served := h.streaming[r.URL.Path]
	switch {
	case isType(ct, grpcWebType):
		w = &grpcWebTrailerWriter{wrappedWriter: wrappedWriter{w}}
	case strings.HasPrefix(ct, "application/grpc"):
		w = &grpcEndWriter{wrappedWriter: wrappedWriter{w}}
	case r.Method == http.MethodGet && served && !validConnectGet(r):
		_ = errorWriter.Write(w, r, invalidRequest("a Connect GET has no body, and a base64 parameter absent, 0 or 1 (1: a base64url message)"))
		return
	case r.Method == http.MethodPost && served && !strings.HasPrefix(ct, "application/connect+") &&
		(r.Header.Get("Connect-Protocol-Version") != "1" || !strings.HasPrefix(ct, "application/")):
		_ = errorWriter.Write(w, r, invalidRequest(`this path takes RPC calls only: Connect (add the header "Connect-Protocol-Version: 1"; `+
			"Content-Type application/json or application/proto), gRPC (application/grpc), gRPC-Web "+
			"(application/grpc-web, application/grpc-web-text); the REST mirror is under /v1/ (see /openapi.json)"))
		return
	}
	if stream {
		b := &streamBody{left: maxReadAhead}
		b.cond.L = &b.mu
		if r.ProtoMajor == 2 { // HTTP/1.1 is not full duplex: no read waits as the stream ends
			b.unblock = func() { _ = http.NewResponseController(w).SetReadDeadline(time.Now()) }
		}
		r = r.WithContext(context.WithValue(r.Context(), streamBodyKey{}, b))
	}
	h.transcoder.ServeHTTP(w, r)
}

// validConnectGet reports whether r is no Connect GET, or one vanguard v0.4.0 reads (protocol_connect.go).
func validConnectGet(r *http.Request) bool {
	q := r.URL.Query()
	b64 := q.Get("base64")
	decodes := func(e *base64.Encoding) bool { _, err := e.DecodeString(q.Get("message")); return err == nil }
	return q.Get("connect") != "v1" && r.Header.Get("Connect-Protocol-Version") != "1" ||
		r.ContentLength == 0 && (b64 == "" || b64 == "0" || b64 == "1" && (decodes(base64.RawURLEncoding) || decodes(base64.URLEncoding)))
}

// streamBodies wraps the gRPC server as vanguard's handler: a streaming call's
// body becomes the streamBody its context holds.
func streamBodies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b, ok := r.Context().Value(streamBodyKey{}).(*streamBody); ok && r.Body != nil {
			b.ReadCloser, r.Body = r.Body, b
		}
		next.ServeHTTP(w, r)
		// net/http cancels an HTTP/1.1 request whose read failed; grpc-go then writes no status, and vanguard would answer UNKNOWN.
		if h := w.Header(); h.Get("Grpc-Status") == "" && r.Context().Err() != nil {
			h.Set("Grpc-Status", strconv.Itoa(int(codes.Canceled)))
			h.Set("Grpc-Message", r.Context().Err().Error())
			w.WriteHeader(http.StatusOK)
		}
	})
}

type streamBodyKey struct{} // holds a streaming call's *streamBody in its context

const maxReadAhead = 16 // reads of a streaming call's body while its handler waits for no message

// streamBody is a streaming call's body on the HTTP port (docs/security.md). grpc-go's
// ServeHTTP reads a body ahead of its handler and queues what it reads, each read in a
// 16 KiB buffer: Read lets it read while the handler waits for a message
// (firstMessage.RecvMsg), and maxReadAhead times more. Close first ends a read waiting
// for the client, on which vanguard v0.4.0's Close would wait.
type streamBody struct {
	io.ReadCloser
	unblock           func() // ends a read waiting for the client; nil on HTTP/1.1
	mu                sync.Mutex
	cond              sync.Cond // on mu
	left              int       // reads allowed before the handler receives again
	receiving, closed bool
}

func (b *streamBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	for b.left <= 0 && !b.receiving && !b.closed {
		b.cond.Wait()
	}
	b.left--
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return 0, http.ErrBodyReadAfterClose
	}
	return b.ReadCloser.Read(p)
}

func (b *streamBody) Close() error {
	b.set(false, true)
	if b.unblock != nil {
		b.unblock()
	}
	return b.ReadCloser.Close()
}

// set records whether the handler waits for a message, or that the body is
// closed; b is nil on the gRPC port.
func (b *streamBody) set(receiving, closed bool) {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.receiving, b.closed, b.left = receiving, b.closed || closed, maxReadAhead
	b.mu.Unlock()
	b.cond.Broadcast()
}

// jsonCodec is vanguard's JSON codec, whose decode errors are
// invalidRequest: vanguard passes a codec's *connect.Error on as it is, and
// makes any other error INTERNAL or UNKNOWN.
type jsonCodec struct{ *vanguard.JSONCodec }

func (c jsonCodec) Unmarshal(data []byte, msg proto.Message) error {
	if err := c.JSONCodec.Unmarshal(data, msg); err != nil {
		return invalidRequest("the request message does not decode: " + err.Error())
	}
	return nil
}

// invalidRequest is INVALID_ARGUMENT with reason INVALID_REQUEST, for a
// request refused before any interceptor runs (so with no correlation id).
func invalidRequest(msg string) *connect.Error {
	return connectError(apierr.Spec{Code: codes.InvalidArgument, Reason: apierr.ReasonInvalidRequest, Message: msg})
}

// connectError is the status spec describes as a *connect.Error, which
// vanguard and connect.ErrorWriter write in the caller's protocol.
func connectError(spec apierr.Spec) *connect.Error {
	st := apierr.New(spec)
	ce := connect.NewError(connect.Code(spec.Code), errors.New(st.Message())) // the same numbers
	for _, d := range st.Proto().GetDetails() {
		if detail, err := connect.NewErrorDetail(d); err == nil {
			ce.AddDetail(detail)
		}
	}
	return ce
}
