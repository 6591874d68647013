package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
)

// h2c opens a cleartext HTTP/2 connection to base, closed when the test
// ends, with its client preface sent; every read and write within limit.
func h2c(t *testing.T, base string, limit time.Duration) *http2.Framer {
	t.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(limit))
	if _, err := conn.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	return http2.NewFramer(conn, bufio.NewReader(conn))
}

// TestHTTPPortStreamCap checks that cleartext HTTP/2 connections on the HTTP
// port (gRPC, Connect and gRPC-Web over h2c) announce the gRPC port's
// per-connection stream cap, at most httpMaxStreams.
func TestHTTPPortStreamCap(t *testing.T) {
	for _, tt := range []struct {
		name       string
		grpcCap    int // Config.GRPCMaxConcurrentStreams; 0: DefaultConfig's
		wantStream uint32
	}{
		{"below httpMaxStreams", httpMaxStreams - 1, httpMaxStreams - 1},
		{"the default, above it", 0, httpMaxStreams},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Sandbox, cfg.StartSandbox = true, sandbox.Start
			if tt.grpcCap != 0 {
				cfg.GRPCMaxConcurrentStreams = tt.grpcCap
			}
			base := serveOnLoopback(t, cfg).httpURL

			fr := h2c(t, base, 10*time.Second)
			if err := fr.WriteSettings(); err != nil {
				t.Fatal(err)
			}
			for {
				f, err := fr.ReadFrame()
				if err != nil {
					t.Fatalf("reading the server's SETTINGS: %v", err)
				}
				sf, ok := f.(*http2.SettingsFrame)
				if !ok || sf.IsAck() {
					continue
				}
				v, ok := sf.Value(http2.SettingMaxConcurrentStreams)
				if !ok || v != tt.wantStream {
					t.Fatalf("SETTINGS_MAX_CONCURRENT_STREAMS = %d (sent: %v), want %d", v, ok, tt.wantStream)
				}
				return
			}
		})
	}
}

// TestUnreadAnswerFreesItsSlot: an HTTP/2 client that grants no flow-control
// window never receives its answer; the answer's write deadline resets the
// stream and frees the call slot, which would otherwise stay taken for as
// long as the connection lives. A refusal's stream (the second, while the
// first holds the one slot) ends the same way: it had lived as long as its
// connection, holding its headers.
func TestUnreadAnswerFreesItsSlot(t *testing.T) {
	defer func(d time.Duration) { answerWriteTimeout = d }(answerWriteTimeout)
	answerWriteTimeout = 300 * time.Millisecond
	cfg := DefaultConfig()
	cfg.Sandbox, cfg.StartSandbox = true, sandbox.Start
	cfg.MaxCalls = 1
	base := serveOnLoopback(t, cfg).httpURL

	fr := h2c(t, base, 20*time.Second)
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "x"}, {":path", "/openapi.json"}} {
		_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	if err := errors.Join(fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0}),
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true}),
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true})); err != nil {
		t.Fatal(err)
	}
	// The stream holds the one slot until its answer's write deadline.
	for reset := map[uint32]bool{}; !reset[1] || !reset[3]; {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("streams reset: %v, want 1 and 3 (the refused one): %v", reset, err)
		}
		if rst, ok := f.(*http2.RSTStreamFrame); ok {
			reset[rst.StreamID] = true
		}
	}
	// The handler frees the slot as it returns, which can be a moment after
	// net/http has sent the reset: a busy machine had the next call refused.
	getUntilOK(t, base+"/openapi.json", 10*time.Millisecond, "a call after the reset (the slot still taken?)")
}

// getUntilOK GETs url every pause until it answers 200, for at most 10 s; it
// fails t, naming the call what, on an error or when the time runs out.
func getUntilOK(t *testing.T, url string, pause time.Duration, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: %d for 10s, want 200", what, resp.StatusCode)
		case <-time.After(pause):
		}
	}
}

// TestStreamEndsWhileClientSends: a stream on the HTTP port that the server
// ends (a bad message) while its client still sends gets its status at once
// in every protocol. Vanguard's body, which grpc-go closes as the stream
// ends, waited for a read waiting on the client: the call hung until the
// stream's read deadline, holding its slot.
func TestStreamEndsWhileClientSends(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Sandbox, cfg.StartSandbox = true, sandbox.Start
	_, base := startServe(t, cfg, io.Discard)
	list := &rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_ListServices{}}
	for _, tt := range []struct {
		name string
		bad  *rpb.ServerReflectionRequest
		want connect.Code
	}{
		{"over the limit", &rpb.ServerReflectionRequest{Host: strings.Repeat("x", maxMessageBytes), MessageRequest: list.MessageRequest}, connect.CodeResourceExhausted},
		{"no request in it", &rpb.ServerReflectionRequest{}, connect.CodeInvalidArgument},
	} {
		for name, protocol := range map[string]connect.ClientOption{"grpc-web": connect.WithGRPCWeb(), "connect": connect.WithProtoJSON(), "grpc": connect.WithGRPC()} {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				stream := connect.NewClient[rpb.ServerReflectionRequest, rpb.ServerReflectionResponse](h2cClient(),
					base+rpb.ServerReflection_ServerReflectionInfo_FullMethodName, protocol).CallBidiStream(t.Context())
				defer stream.CloseResponse() //nolint:errcheck // the test is over
				if err := stream.Send(list); err != nil {
					t.Fatal(err)
				}
				if _, err := stream.Receive(); err != nil {
					t.Fatalf("first answer: %v", err)
				}
				_ = stream.Send(tt.bad) // and the request stays open
				answer := make(chan error, 1)
				go func() { _, err := stream.Receive(); answer <- err }()
				select {
				case err := <-answer:
					if got := connect.CodeOf(err); got != tt.want {
						t.Errorf("answer %v (%v), want %v", got, err, tt.want)
					}
				case <-time.After(5 * time.Second): // the client's context does not end its read
					t.Fatal("no answer within 5s")
				}
			})
		}
	}
}

// TestHeldScrapesAreBounded: /metrics takes no call slot, so an HTTP/2
// client that grants no flow-control window could hold as many scrapes as its
// connections have streams, each holding its gathered metrics until the
// connection closes: 100 connections of 16 such streams took the heap and
// stacks from 5.5 to 97 MiB and RSS from 32 to 178 MiB, over the pod's
// 128 MiB, with nothing counted. At most a few scrapes are served at once (the
// others get 503 at once), and an unread one is reset at its answer's write
// deadline, so that a normal scrape is served again.
func TestHeldScrapesAreBounded(t *testing.T) {
	defer func(d time.Duration) { answerWriteTimeout = d }(answerWriteTimeout)
	answerWriteTimeout = 2 * time.Second
	cfg := DefaultConfig()
	cfg.Upstream.BaseURL, cfg.UpstreamURLSet = "http://127.0.0.1:1", true // never reached
	base := serveOnLoopback(t, cfg).httpURL

	const conns, streams = 8, httpMaxStreams
	statuses := make(chan string, conns*streams)
	start := time.Now()
	for range conns {
		fr := h2c(t, base, 20*time.Second)
		fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
		var hb bytes.Buffer
		enc := hpack.NewEncoder(&hb)
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "x"}, {":path", "/metrics"}, {"accept-encoding", "identity"}} {
			_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		err := fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
		for i := range streams {
			err = errors.Join(err, fr.WriteHeaders(http2.HeadersFrameParam{StreamID: uint32(2*i + 1), BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true}))
		}
		if err != nil {
			t.Fatal(err)
		}
		go func() { // until the connection closes, at the test's end
			for {
				f, err := fr.ReadFrame()
				if err != nil {
					return
				}
				if h, ok := f.(*http2.MetaHeadersFrame); ok {
					statuses <- h.PseudoValue("status")
				}
			}
		}()
	}
	served := 0
	for range conns * streams {
		select {
		case s := <-statuses:
			if s == "200" {
				served++
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("not every scrape was answered within 10s (%d served so far)", served)
		}
	}
	// A few at once (Prometheus scrapes one at a time); each write deadline
	// that passed meanwhile let as many more in.
	const atOnce = 8
	if allowed := atOnce * (1 + int(time.Since(start)/answerWriteTimeout)); served > allowed {
		t.Errorf("%d of %d unread scrapes served at once, want at most %d", served, conns*streams, allowed)
	}

	// Polls until the write deadlines reset the unread scrapes.
	getUntilOK(t, base+"/metrics", 100*time.Millisecond, "a normal scrape once the unread ones are reset")
}

// TestStalledStreamLeavesItsConnectionFree: reflection streams whose calls
// read no more (their client never reads the answers) leave the other calls
// of their HTTP/2 connection room to send, on either port, as a proxy
// multiplexing many clients on one connection needs. On the HTTP port
// streamBody stops reading such a call's body, and net/http's connection
// window, returned only as handlers read, was one stream's (64 KiB): two such
// streams took it all, and a unary call on the connection could send no byte
// of its request.
func TestStalledStreamLeavesItsConnectionFree(t *testing.T) {
	s, blocking := reflectionSandbox(t)
	unread := envelope(make([]byte, 60<<10))
	for _, tt := range []struct{ port, addr string }{{"gRPC", s.grpcAddr}, {"HTTP", s.httpAddr}} {
		t.Run(tt.port, func(t *testing.T) {
			c := dialFlow(t, tt.addr, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0}) // no answer is ever sent
			defer func() { _ = c.conn.Close() }()
			for _, id := range []uint32{1, 3} {
				if err := c.open(id, rpb.ServerReflection_ServerReflectionInfo_FullMethodName); err != nil {
					t.Fatal(err)
				}
				c.send(id, blocking, 500*time.Millisecond)
				// Then messages its call, waiting to write, never reaches, until
				// the server grants no more window.
				for c.send(id, unread, 500*time.Millisecond) == len(unread) {
				}
			}
			if err := c.open(5, "/grpc.health.v1.Health/Check"); err != nil {
				t.Fatal(err)
			}
			req := envelope(make([]byte, 200))
			if sent := c.send(5, req, 3*time.Second); sent != len(req) {
				c.mu.Lock()
				defer c.mu.Unlock()
				t.Errorf("%s port: a unary call sent %d of its %d request bytes in 3s (connection window %d): two stalled streams stall their connection",
					tt.port, sent, len(req), c.connWin)
			}
		})
	}
}
