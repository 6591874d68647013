package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
)

// flowConn is a raw HTTP/2 client connection that keeps to the server's
// flow control, so that it can send as much as the server lets it: it
// acknowledges SETTINGS and PINGs and counts WINDOW_UPDATEs. Its reader never
// waits for a write, so that a server that stops reading while it writes
// cannot stall it.
type flowConn struct {
	conn net.Conn
	fr   *http2.Framer
	wmu  sync.Mutex // guards fr's writes

	mu      sync.Mutex // guards the fields below
	cond    *sync.Cond
	connWin int64
	initWin int64            // the server's SETTINGS_INITIAL_WINDOW_SIZE
	streams map[uint32]int64 // send windows of the open streams
	reset   map[uint32]http2.ErrCode
	headers int // HEADERS frames received
	closed  error
	// holdPings keeps the last PING unanswered in held, for the writer.
	holdPings bool
	held      *[8]byte
}

// dialFlow connects to addr, sends the preface and SETTINGS (settings), and
// reads frames until the connection ends.
func dialFlow(t *testing.T, addr string, settings ...http2.Setting) *flowConn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(60 * time.Second)) // bounds every test using it
	c := &flowConn{conn: conn, fr: http2.NewFramer(conn, bufio.NewReader(conn)),
		connWin: 65535, initWin: 65535, streams: map[uint32]int64{}, reset: map[uint32]http2.ErrCode{}}
	c.cond = sync.NewCond(&c.mu)
	if _, err := conn.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	if err := c.fr.WriteSettings(settings...); err != nil {
		t.Fatal(err)
	}
	go c.read()
	return c
}

// write runs w with the framer's writes to itself.
func (c *flowConn) write(w func(*http2.Framer) error) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return w(c.fr)
}

func (c *flowConn) read() {
	for {
		f, err := c.fr.ReadFrame()
		c.mu.Lock()
		if err != nil {
			c.closed = err
			c.cond.Broadcast()
			c.mu.Unlock()
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				if v, ok := f.Value(http2.SettingInitialWindowSize); ok {
					for id := range c.streams {
						c.streams[id] += int64(v) - c.initWin
					}
					c.initWin = int64(v)
				}
				go func() { _ = c.write(func(fr *http2.Framer) error { return fr.WriteSettingsAck() }) }()
			}
		case *http2.PingFrame:
			if !f.IsAck() && c.holdPings {
				c.held = &f.Data
			} else if !f.IsAck() {
				go func() { _ = c.write(func(fr *http2.Framer) error { return fr.WritePing(true, f.Data) }) }()
			}
		case *http2.WindowUpdateFrame:
			if f.StreamID == 0 {
				c.connWin += int64(f.Increment)
			} else if _, ok := c.streams[f.StreamID]; ok {
				c.streams[f.StreamID] += int64(f.Increment)
			}
		case *http2.RSTStreamFrame:
			c.reset[f.StreamID] = f.ErrCode
			delete(c.streams, f.StreamID)
		case *http2.HeadersFrame:
			c.headers++
		}
		c.cond.Broadcast()
		c.mu.Unlock()
	}
}

// open sends the HEADERS of a gRPC call of path on stream id, and no message.
func (c *flowConn) open(id uint32, path string) error {
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range [][2]string{
		{":method", "POST"}, {":scheme", "http"}, {":authority", "facade"}, {":path", path},
		{"content-type", "application/grpc"}, {"te", "trailers"},
	} {
		_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	c.mu.Lock()
	c.streams[id] = c.initWin
	c.mu.Unlock()
	return c.write(func(fr *http2.Framer) error {
		return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hb.Bytes(), EndHeaders: true})
	})
}

// take waits, at most wait, for the windows to let at most n bytes go on
// stream id (0: the connection's window only), and takes them from the
// windows. It returns how many it took: 0 when none came, or the stream or
// the connection ended.
func (c *flowConn) take(id uint32, n int, wait time.Duration) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	avail := func() int64 {
		if id == 0 {
			return c.connWin
		}
		return min(c.connWin, c.streams[id])
	}
	timedOut := false // under c.mu
	timer := time.AfterFunc(wait, func() { c.mu.Lock(); timedOut = true; c.cond.Broadcast(); c.mu.Unlock() })
	defer timer.Stop()
	for c.closed == nil && avail() <= 0 && !timedOut {
		if _, open := c.streams[id]; id != 0 && !open {
			return 0
		}
		c.cond.Wait()
	}
	k := int(min(int64(n), avail()))
	if c.closed != nil || k <= 0 {
		return 0
	}
	c.connWin -= int64(k)
	if id != 0 {
		c.streams[id] -= int64(k)
	}
	return k
}

// send writes p on stream id as DATA frames of at most 16 KiB, each once the
// server's windows allow it. It returns the bytes sent: fewer than len(p)
// when the server granted no window for wait, reset the stream or closed.
func (c *flowConn) send(id uint32, p []byte, wait time.Duration) int {
	sent := 0
	for len(p) > 0 {
		n := c.take(id, min(len(p), 16<<10), wait)
		if n == 0 || c.write(func(fr *http2.Framer) error { return fr.WriteData(id, false, p[:n]) }) != nil {
			return sent
		}
		sent += n
		p = p[n:]
	}
	return sent
}

// inflateWindow makes grpc-go's bandwidth estimate (BDP) grant the largest
// windows it can, 16 MiB a stream: it writes DATA on stream id, which the
// server does not know (never opened) and drops after counting it in its
// flow control and its estimate, and answers each of the server's PINGs only
// after 12 MiB more, as a fast link with a long round trip would. It returns
// the stream window the server then announces.
func (c *flowConn) inflateWindow(id uint32) int64 {
	const perPing = 12 << 20
	chunk := make([]byte, 16<<10)
	c.mu.Lock()
	c.holdPings = true
	c.mu.Unlock()
	ack := func() { // the held PING, if any
		c.mu.Lock()
		held := c.held
		c.held = nil
		c.mu.Unlock()
		if held != nil {
			_ = c.write(func(fr *http2.Framer) error { return fr.WritePing(true, *held) })
		}
	}
	sinceHeld := 0
	for sent := 0; sent < 4*perPing; { // 16 MiB, if it ever grows, after 2 or 3 PINGs
		c.mu.Lock()
		done, holding := c.initWin >= 16<<20, c.held != nil
		c.mu.Unlock()
		if done {
			break
		}
		k := c.take(0, len(chunk), 5*time.Second)
		if k == 0 || c.write(func(fr *http2.Framer) error { return fr.WriteData(id, false, chunk[:k]) }) != nil {
			break
		}
		sent += k
		if holding {
			if sinceHeld += k; sinceHeld >= perPing {
				ack()
				sinceHeld = 0
			}
		}
	}
	c.mu.Lock()
	c.holdPings = false
	win := c.initWin
	c.mu.Unlock()
	ack()
	return win
}

// envelope is msg as one gRPC message.
func envelope(msg []byte) []byte {
	b := make([]byte, 5, 5+len(msg))
	binary.BigEndian.PutUint32(b[1:], uint32(len(msg))) //nolint:gosec // G115: small
	return append(b, msg...)
}

// heapInUse is the heap in use after two collections: what is held, neither
// garbage nor free buffers in a sync.Pool (its victims survive one).
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// heapSettles returns heapInUse once it is at most limit over before, or
// after 10s the last value. A handler lets go of its request as it returns, a
// moment after its client saw the answer or the close, later on a busy
// machine: a single sample could count what a handler was about to let go of.
// What the tests look for is held for as long as the connection lives (or, once
// closed, for 2 minutes), far longer.
func heapSettles(before uint64, limit int64) uint64 {
	held := heapInUse()
	for deadline := time.Now().Add(10 * time.Second); int64(held)-int64(before) > limit && time.Now().Before(deadline); held = heapInUse() {
		time.Sleep(50 * time.Millisecond)
	}
	return held
}

// reflectionSandbox serves the sandbox on loopback and returns it with 1,000
// small reflection requests (ListServices) whose answers are more than the
// server buffers for a client that reads none (grpc-go: 64 KiB a stream):
// after them a stream's call reads no more.
func reflectionSandbox(t *testing.T) (*served, []byte) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Sandbox, cfg.StartSandbox = true, sandbox.Start
	list, err := proto.Marshal(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_ListServices{}})
	if err != nil {
		t.Fatal(err)
	}
	var blocking []byte
	for range 1000 {
		blocking = append(blocking, envelope(list)...)
	}
	return serveOnLoopback(t, cfg), blocking
}

// unreadLimit bounds the memory one stream may hold with requests its call
// does not read, and its answers, about a flow-control window of each: 128
// connections with one such stream each (a port's -max-connections) hold at
// most half the pod's 128 MiB.
const unreadLimit = 512 << 10

// TestUnreadRequestsAreBounded: a client that never reads its answers (it
// grants no flow-control window) and keeps sending requests on reflection
// streams, whose calls soon wait to write and read no more of them, makes
// the server hold no more than unreadLimit a stream, on either port: about a
// flow-control window of requests, and of answers. On the gRPC port grpc-go's
// bandwidth estimate, which the client drives (it counts DATA on a stream the
// server does not know, and the client answers its PINGs late), raised every
// stream's window to 16 MiB: eight such streams on one connection held
// 130 MiB, more than the pod's 128 MiB. On the HTTP port net/http's 1 MiB
// windows let each connection of one such stream hold 1.2 MiB: 155 MiB for
// the 128 connections -max-connections allows.
func TestUnreadRequestsAreBounded(t *testing.T) {
	s, payload := reflectionSandbox(t) // then messages the call never reads, more than any window
	for unread := envelope(make([]byte, 16<<10)); len(payload) < 20<<20; {
		payload = append(payload, unread...)
	}
	const streams = 8
	zeroWindow := http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0} // no answer is ever sent
	for _, tt := range []struct {
		port  string
		conns func() []*flowConn // a connection for each stream
	}{
		{"HTTP", func() []*flowConn { // a stream per connection: net/http's window is per connection
			var cs []*flowConn
			for range streams {
				cs = append(cs, dialFlow(t, s.httpAddr, zeroWindow))
			}
			return cs
		}},
		{"gRPC", func() []*flowConn { // one connection with the largest windows the client can get
			c := dialFlow(t, s.grpcAddr, zeroWindow)
			if win := c.inflateWindow(1); win > 1<<20 {
				t.Logf("gRPC port: the client raised the server's stream window to %d bytes", win)
			}
			cs := make([]*flowConn, streams)
			for i := range cs {
				cs[i] = c
			}
			return cs
		}},
	} {
		t.Run(tt.port, func(t *testing.T) {
			before := heapInUse()
			sent := 0
			conns := tt.conns()
			defer func() {
				for _, c := range conns {
					_ = c.conn.Close()
				}
			}()
			for i, c := range conns {
				id := uint32(2*i + 3) // 1: the dead stream of inflateWindow
				if err := c.open(id, rpb.ServerReflection_ServerReflectionInfo_FullMethodName); err != nil {
					t.Fatal(err)
				}
				sent += c.send(id, payload, 500*time.Millisecond) // until no window is granted
				c.mu.Lock()
				code, reset := c.reset[id]
				c.mu.Unlock()
				if reset {
					t.Fatalf("stream %d reset: %v", id, code)
				}
			}
			held := heapInUse()
			growth := int64(held) - int64(before)
			t.Logf("%s port: %d streams, %.1f MiB of requests sent; heap %.1f -> %.1f MiB", tt.port, streams, mib(uint64(sent)), mib(before), mib(held))
			if growth > streams*unreadLimit {
				t.Errorf("%s port: %d streams hold %.1f MiB more after %.1f MiB of requests their calls do not read, want at most %.0f KiB each",
					tt.port, streams, float64(growth)/(1<<20), mib(uint64(sent)), float64(unreadLimit)/(1<<10))
			}
		})
	}
}

// TestOneByteFramesAreBounded: requests a call does not read cost the server
// at most oneByteLimit a stream when they come one byte to a DATA frame, on
// either port. Only reflection's calls stop reading (grpc-go's first receive of
// a call that is not client-streaming reads to the end of its request), and
// the process admits 16 of them: at most 16 MiB. On the gRPC port grpc-go
// keeps each frame in a buffer of its own until its call reads it, within the
// stream's 64 KiB window: about 600 KiB a stream. On the HTTP port its
// ServeHTTP read the body ahead of its handler, each read into a 16 KiB buffer
// however few bytes it returned, with no window: eight such streams held
// 53 MiB, and the 16 one connection may open 160 MiB, more than the pod's
// 128 MiB (streamBody bounds those reads now).
func TestOneByteFramesAreBounded(t *testing.T) {
	const oneByteLimit = 1 << 20
	s, blocking := reflectionSandbox(t)
	// As many streams as the port lets one connection open: a refused stream's
	// one-byte frames each cost a STREAM_CLOSED reset, and enough of them
	// before the refusal arrives (a loaded machine) close the connection.
	for _, tt := range []struct {
		port, addr string
		streams    int
	}{{"gRPC", s.grpcAddr, 8}, {"HTTP", s.httpAddr, httpMaxStreams}} {
		streams := tt.streams
		t.Run(tt.port, func(t *testing.T) {
			before := heapInUse()
			c := dialFlow(t, tt.addr, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0}) // no answer is ever sent
			defer func() { _ = c.conn.Close() }()
			frames := 0
			for i := range streams {
				id := uint32(2*i + 1)
				if err := c.open(id, rpb.ServerReflection_ServerReflectionInfo_FullMethodName); err != nil {
					t.Fatal(err)
				}
				c.send(id, blocking, 500*time.Millisecond)
				// Then empty messages (five zero bytes each), a byte a frame,
				// until the server grants no more window.
				for c.send(id, []byte{0}, 300*time.Millisecond) == 1 {
					frames++
				}
			}
			held := heapInUse()
			growth := int64(held) - int64(before)
			t.Logf("%s port: %d streams, %d one-byte DATA frames; heap %.1f -> %.1f MiB", tt.port, streams, frames, mib(before), mib(held))
			if growth > int64(streams)*oneByteLimit {
				t.Errorf("%s port: one connection of %d streams holds %.1f MiB more after %d one-byte DATA frames their calls do not read, want at most 1 MiB a stream",
					tt.port, streams, float64(growth)/(1<<20), frames)
			}
		})
	}
}

// TestUnreadAnswersAreBounded: a client that never reads the answers of its
// reflection streams (it grants no flow-control window), each answer
// echoing a request of 60 KiB, makes the server hold no more than
// unreadLimit a stream, on either port. A streaming call's answer has no
// write deadline on either port, and grpc-go's default buffer pool marshalled
// an answer over 32 KiB into a buffer of 1 MiB, kept until the answer is
// written: each such stream held 1.5 to 2.2 MiB, the 100 streams of one gRPC
// connection 213 MiB, more than the pod's 128 MiB. The process's pool now has
// tiers up to 128 KiB (limits.go).
func TestUnreadAnswersAreBounded(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Sandbox, cfg.StartSandbox = true, sandbox.Start
	s := serveOnLoopback(t, cfg)
	req, err := proto.Marshal(&rpb.ServerReflectionRequest{Host: strings.Repeat("x", 60<<10),
		MessageRequest: &rpb.ServerReflectionRequest_ListServices{}})
	if err != nil {
		t.Fatal(err)
	}
	var requests []byte
	for range 4 {
		requests = append(requests, envelope(req)...)
	}
	const streams = 8
	for _, tt := range []struct{ port, addr string }{{"gRPC", s.grpcAddr}, {"HTTP", s.httpAddr}} {
		t.Run(tt.port, func(t *testing.T) {
			before := heapInUse()
			c := dialFlow(t, tt.addr, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0}) // no answer is ever sent
			defer func() { _ = c.conn.Close() }()
			for i := range streams {
				id := uint32(2*i + 1)
				if err := c.open(id, rpb.ServerReflection_ServerReflectionInfo_FullMethodName); err != nil {
					t.Fatal(err)
				}
				c.send(id, requests, 500*time.Millisecond)
			}
			held := heapInUse()
			growth := int64(held) - int64(before)
			t.Logf("%s port: %d streams of unread answers; heap %.1f -> %.1f MiB", tt.port, streams, mib(before), mib(held))
			if growth > streams*unreadLimit {
				t.Errorf("%s port: %d streams whose answers are not read hold %.1f MiB more, want at most %.0f KiB a stream",
					tt.port, streams, float64(growth)/(1<<20), float64(unreadLimit)/(1<<10))
			}
		})
	}
}

// TestOneByteMessageIsBounded: a message its call waits for, sent a byte a
// DATA frame, costs the server little more than its bytes, on either port,
// for a streaming call (reflection) and a unary one (health Check). On the
// HTTP port grpc-go's ServeHTTP reads the body into a 16 KiB buffer a read,
// and keeps each until the message is whole; streamBody lets it read while the
// call waits for a message: 8000 bytes of a 60 KB message held 95 MiB
// (reflection) and 56 MiB (Check), the whole message about 700 MiB.
func TestOneByteMessageIsBounded(t *testing.T) {
	const limit, sent = 4 << 20, 8000
	cfg := DefaultConfig()
	cfg.Sandbox, cfg.StartSandbox = true, sandbox.Start
	s := serveOnLoopback(t, cfg)
	head := envelope(nil)
	binary.BigEndian.PutUint32(head[1:], 60000)
	for _, path := range []string{rpb.ServerReflection_ServerReflectionInfo_FullMethodName, "/grpc.health.v1.Health/Check"} {
		for _, tt := range []struct{ port, addr string }{{"gRPC", s.grpcAddr}, {"HTTP", s.httpAddr}} {
			t.Run(tt.port+path, func(t *testing.T) {
				before := heapInUse()
				c := dialFlow(t, tt.addr)
				defer func() { _ = c.conn.Close() }()
				if err := c.open(1, path); err != nil {
					t.Fatal(err)
				}
				c.send(1, head, time.Second)
				for range sent { // a frame each 30µs, so that the server reads each alone
					if c.send(1, []byte{0x0a}, time.Second) != 1 {
						t.Fatal("the server took no more of the message")
					}
					for start := time.Now(); time.Since(start) < 30*time.Microsecond; {
					}
				}
				held := heapInUse()
				t.Logf("%s port, %s: %d bytes of a message, a byte a frame; heap %.1f -> %.1f MiB", tt.port, path, sent, mib(before), mib(held))
				if growth := int64(held) - int64(before); growth > limit {
					t.Errorf("%s port, %s: %d bytes of a message sent a byte a DATA frame hold %.1f MiB, want at most %d MiB",
						tt.port, path, sent, float64(growth)/(1<<20), limit>>20)
				}
			})
		}
	}
}

// TestUnreadUnaryAnswersLetGoOfMetadata: a client that never reads the answers of
// its unary calls (it grants no flow-control window) makes the server hold little
// for each: grpc-go keeps a stream whose answer is not written, with its context
// and the call's metadata, until its connection closes, after the call has freed
// its slot and its header bytes, so that the 100 streams of each of a port's 128
// connections can hold such answers. With 30,000 bytes of metadata each, or as
// many names, 128 connections of 100 held 508 MiB (VmHWM of the built binary,
// 8 December 2026): the call's metadata is emptied once its handler has returned
// (forgetHeader), and a call with more than maxHeaderNames names is refused,
// since an emptied map keeps its size.
func TestUnreadUnaryAnswersLetGoOfMetadata(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Sandbox, cfg.StartSandbox = true, sandbox.Start
	s := serveOnLoopback(t, cfg)
	const streams, heldLimit = 100, 8 << 10 // a held stream holds about 3.5 KiB besides its metadata
	for _, tt := range []struct {
		name   string
		fields []hpack.HeaderField
	}{
		{"one large value", []hpack.HeaderField{{Name: "x-pad", Value: strings.Repeat("x", 30000)}}},
		{"many names", func() (fs []hpack.HeaderField) {
			for i := range 700 {
				fs = append(fs, hpack.HeaderField{Name: fmt.Sprintf("x-%d", i), Value: "x"})
			}
			return fs
		}()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := heapInUse()
			c := dialFlow(t, s.grpcAddr, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0}) // no answer is ever sent
			defer func() { _ = c.conn.Close() }()
			for i := range streams {
				var hb bytes.Buffer
				enc := hpack.NewEncoder(&hb)
				for _, f := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":authority", "facade"},
					{":path", healthpb.Health_Check_FullMethodName}, {"content-type", "application/grpc"}, {"te", "trailers"}} {
					_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
				}
				for _, f := range tt.fields {
					_ = enc.WriteField(hpack.HeaderField{Name: f.Name, Value: f.Value, Sensitive: true}) // not indexed: sent whole each time
				}
				id, block := uint32(2*i+1), hb.Bytes()
				if err := c.write(func(fr *http2.Framer) error {
					first := block[:min(len(block), 16<<10)]
					err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: first, EndHeaders: len(first) == len(block)})
					for rest := block[len(first):]; err == nil && len(rest) > 0; rest = rest[len(first):] {
						first = rest[:min(len(rest), 16<<10)]
						err = fr.WriteContinuation(id, len(first) == len(rest), first)
					}
					if err != nil {
						return err
					}
					return fr.WriteData(id, true, envelope(nil))
				}); err != nil {
					t.Fatal(err)
				}
			}
			c.mu.Lock() // every call answered (its HEADERS sent, its DATA waiting for a window), or refused
			for c.closed == nil && c.headers < streams {
				c.cond.Wait()
			}
			answered, closed := c.headers, c.closed
			c.mu.Unlock()
			if closed != nil {
				t.Fatalf("connection closed after %d answers: %v", answered, closed)
			}
			held := heapInUse()
			growth := int64(held) - int64(before)
			t.Logf("%d unread answers: heap %.1f -> %.1f MiB", streams, mib(before), mib(held))
			if growth > streams*heldLimit {
				t.Errorf("%d streams whose answers are not read hold %.1f MiB, want at most %d KiB each", streams, float64(growth)/(1<<20), heldLimit>>10)
			}
		})
	}
}

// TestManyMetadataNamesRefused: a gRPC call with more than maxHeaderNames
// metadata names is refused RESOURCE_EXHAUSTED REQUEST_TOO_LARGE before it
// takes a slot (an emptied map keeps its size: TestUnreadUnaryAnswersLetGoOfMetadata);
// one with a few dozen is served.
func TestManyMetadataNamesRefused(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Sandbox, cfg.StartSandbox = true, sandbox.Start
	health := healthpb.NewHealthClient(dialGRPC(t, serveOnLoopback(t, cfg).grpcAddr))
	for _, tt := range []struct {
		names  int
		code   codes.Code
		reason string
	}{{40, codes.OK, ""}, {maxHeaderNames + 1, codes.ResourceExhausted, apierr.ReasonRequestTooLarge}} {
		md := metadata.MD{}
		for i := range tt.names {
			md.Set(fmt.Sprintf("x-%d", i), "x")
		}
		ctx, cancel := context.WithTimeout(metadata.NewOutgoingContext(context.Background(), md), 5*time.Second)
		_, err := health.Check(ctx, &healthpb.HealthCheckRequest{})
		cancel()
		st := status.Convert(err)
		if st.Code() != tt.code || reasonOf(st.Details()) != tt.reason {
			t.Errorf("%d metadata names: %v, want %v %s", tt.names, err, tt.code, tt.reason)
		}
	}
}
