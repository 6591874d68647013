package rest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The tests of HTTP1Transport. Most run against h1Server, a raw TCP server
// that records the request heads it reads byte for byte and answers with
// whatever bytes each test writes, so that framing, connection reuse and
// failures are under the test's control; TLS and the concurrency test use
// httptest servers.

// ---------------------------------------------------------------------------
// A raw HTTP/1.1 server.

// h1Request is a request head as the server read it off the wire.
type h1Request struct {
	Conn int    // index of its connection, in accept order
	Head string // the head's bytes, up to and with the blank line
}

// Method is the request line's method.
func (r h1Request) Method() string {
	m, _, _ := strings.Cut(r.Head, " ")
	return m
}

// h1Handler answers one request on c; seq numbers the requests across the
// server from 0. Returning false closes the connection.
type h1Handler func(c *h1Conn, req h1Request, seq int) (keepOpen bool)

// h1Server accepts connections on 127.0.0.1 and, on each, reads request
// heads and hands them to its handler.
type h1Server struct {
	addr, url string
	ln        net.Listener
	handle    h1Handler
	done      chan struct{} // closed when the test ends
	wg        sync.WaitGroup

	mu           sync.Mutex
	conns        []net.Conn
	requests     []h1Request
	clientClosed map[int]bool // connections the client closed (or broke)
	serverClosed int          // connections a handler had closed
}

// h1Conn is one server-side connection.
type h1Conn struct {
	net.Conn
	index int
	srv   *h1Server
}

func (c *h1Conn) write(s string) { _, _ = io.WriteString(c.Conn, s) }

// stall drops whatever arrives until the client closes the connection or
// the test ends, and notes a client close.
func (c *h1Conn) stall() {
	_, _ = io.Copy(io.Discard, c.Conn)
	c.srv.noteClientClose(c.index)
}

func newH1Server(t *testing.T, handle h1Handler) *h1Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &h1Server{ln: ln, addr: ln.Addr().String(), handle: handle, done: make(chan struct{}), clientClosed: map[int]bool{}}
	s.url = "http://" + s.addr
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(func() {
		close(s.done)
		_ = ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			_ = c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *h1Server) accept() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		select {
		case <-s.done: // the cleanup has closed the others already
			s.mu.Unlock()
			_ = conn.Close()
			return
		default:
		}
		c := &h1Conn{Conn: conn, index: len(s.conns), srv: s}
		s.conns = append(s.conns, conn)
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serve(c)
	}
}

func (s *h1Server) serve(c *h1Conn) {
	defer s.wg.Done()
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		head, err := h1ReadHead(br)
		if err != nil {
			s.noteClientClose(c.index)
			return
		}
		req := h1Request{Conn: c.index, Head: head}
		s.mu.Lock()
		seq := len(s.requests)
		s.requests = append(s.requests, req)
		s.mu.Unlock()
		if !s.handle(c, req, seq) {
			_ = c.Close()
			s.mu.Lock()
			s.serverClosed++
			s.mu.Unlock()
			return
		}
	}
}

// h1ReadHead reads a request head: lines up to a blank one.
func h1ReadHead(br *bufio.Reader) (string, error) {
	var b strings.Builder
	for {
		line, err := br.ReadString('\n')
		b.WriteString(line)
		if err != nil {
			return b.String(), err
		}
		if line == "\r\n" {
			return b.String(), nil
		}
	}
}

func (s *h1Server) noteClientClose(conn int) {
	select {
	case <-s.done: // closed by the cleanup, not by the client
		return
	default:
	}
	s.mu.Lock()
	s.clientClosed[conn] = true
	s.mu.Unlock()
}

func (s *h1Server) seen() []h1Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func (s *h1Server) accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// firstClosedByClient reports whether the client closed the first
// connection.
func (s *h1Server) firstClosedByClient() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clientClosed[0]
}

func (s *h1Server) closedByClientCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.clientClosed)
}

func (s *h1Server) closedByServer() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.serverClosed
}

// key is the transport's pool key for the server.
func (s *h1Server) key() string { return "http://" + s.addr }

// h1OK is a 200 answer with body and its Content-Length.
func h1OK(body string) string {
	return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}

// h1Always answers every request with answer and keeps the connection.
func h1Always(answer string) h1Handler {
	return func(c *h1Conn, _ h1Request, _ int) bool {
		c.write(answer)
		return true
	}
}

// h1Barrier holds the first n requests until all n have arrived (so that
// they are on n connections), then answers every request with answer,
// closing the connection after each of the first n when closeAfter is set.
func h1Barrier(n int, answer string, closeAfter bool) h1Handler {
	var arrived atomic.Int32
	all := make(chan struct{})
	return func(c *h1Conn, _ h1Request, seq int) bool {
		if seq >= n {
			c.write(answer)
			return true
		}
		if int(arrived.Add(1)) == n {
			close(all)
		}
		select {
		case <-all:
		case <-c.srv.done:
			return false
		}
		c.write(answer)
		return !closeAfter
	}
}

// h1Gzip compresses s.
func h1Gzip(s string) string {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = zw.Write([]byte(s))
	_ = zw.Close()
	return b.String()
}

// h1Chunked frames body as chunks of at most size bytes.
func h1Chunked(body string, size int) string {
	var b strings.Builder
	for len(body) > 0 {
		n := min(size, len(body))
		fmt.Fprintf(&b, "%x\r\n%s\r\n", n, body[:n])
		body = body[n:]
	}
	return b.String() + "0\r\n\r\n"
}

// ---------------------------------------------------------------------------
// The client side.

// h1Fallback is a recording Fallback that answers 299.
type h1Fallback struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (f *h1Fallback) RoundTrip(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	if req.Body != nil {
		_ = req.Body.Close()
	}
	return &http.Response{
		Status: "299 Fallback", StatusCode: 299, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: http.NoBody, Request: req,
	}, nil
}

func (f *h1Fallback) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reqs)
}

// newH1Transport returns a transport as NewHTTP1Transport builds it, but
// without a proxy and with a recording fallback, closed with the test.
func newH1Transport(t *testing.T) (*HTTP1Transport, *h1Fallback) {
	t.Helper()
	tr := NewHTTP1Transport(nil)
	fb := &h1Fallback{}
	tr.Proxy = nil
	tr.Fallback = fb
	t.Cleanup(tr.CloseIdleConnections)
	return tr, fb
}

// h1Ctx is a context that ends with the test or after 5 s.
func h1Ctx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func h1NewRequest(t *testing.T, ctx context.Context, method, target string, header http.Header) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	if header != nil {
		req.Header = header
	}
	return req
}

// h1Result is what one request through the transport came to.
type h1Result struct {
	resp  *http.Response
	body  string
	conns []bool // Reused of every GotConn, in order: one per connection tried
	err   error  // of RoundTrip, or of reading the body
}

// h1Open sends req, noting the connections it got, and leaves the body to
// the caller.
func h1Open(tr http.RoundTripper, req *http.Request) h1Result {
	var conns []bool
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { conns = append(conns, info.Reused) }}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	resp, err := tr.RoundTrip(req)
	return h1Result{resp: resp, conns: conns, err: err}
}

// h1Fetch sends req and reads and closes the body.
func h1Fetch(tr http.RoundTripper, req *http.Request) h1Result {
	res := h1Open(tr, req)
	if res.err != nil {
		return res
	}
	b, err := io.ReadAll(res.resp.Body)
	res.body, res.err = string(b), err
	_ = res.resp.Body.Close()
	return res
}

// h1MustGet GETs target and fails the test on an error.
func h1MustGet(t *testing.T, tr http.RoundTripper, target string) h1Result {
	t.Helper()
	res := h1Fetch(tr, h1NewRequest(t, h1Ctx(t), http.MethodGet, target, nil))
	if res.err != nil {
		t.Fatalf("GET %s: %v", target, res.err)
	}
	return res
}

// h1Concurrent GETs target n times at once.
func h1Concurrent(t *testing.T, tr http.RoundTripper, target string, n int) []h1Result {
	t.Helper()
	reqs := make([]*http.Request, n)
	for i := range reqs {
		reqs[i] = h1NewRequest(t, h1Ctx(t), http.MethodGet, target, nil)
	}
	results := make([]h1Result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i] = h1Fetch(tr, reqs[i]) })
	}
	wg.Wait()
	for i, res := range results {
		if res.err != nil {
			t.Fatalf("request %d: %v", i, res.err)
		}
	}
	return results
}

// h1Eventually waits (3 s at most) for cond.
func h1Eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// h1IdleCount is how many idle connections the pool holds for key.
func h1IdleCount(tr *HTTP1Transport, key string) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return len(tr.idle[key])
}

func h1CheckConns(t *testing.T, what string, want, got []bool) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: GotConn Reused (-want +got):\n%s", what, diff)
	}
}

// ---------------------------------------------------------------------------
// Requests and answers on the wire.

func TestHTTP1RequestOnTheWire(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		target   string // appended to the server's URL
		host     string // Request.Host
		header   http.Header
		close    bool
		wantLine string
		wantHead []string // the header lines, sorted; {host} is the server's address
		wantBody string
	}{
		{
			name: "get with query", method: "GET", target: "/path?q",
			header:   http.Header{"X-Custom": {"v"}},
			wantLine: "GET /path?q HTTP/1.1",
			wantHead: []string{"Accept-Encoding: gzip", "Host: {host}", "X-Custom: v"},
			wantBody: "hello",
		},
		{
			name: "escaped path kept escaped", method: "GET", target: "/a%2Fb/c%20d?x=%2F&y",
			wantLine: "GET /a%2Fb/c%20d?x=%2F&y HTTP/1.1",
			wantHead: []string{"Accept-Encoding: gzip", "Host: {host}"},
			wantBody: "hello",
		},
		{
			name: "empty path", method: "GET", target: "",
			wantLine: "GET / HTTP/1.1",
			wantHead: []string{"Accept-Encoding: gzip", "Host: {host}"},
			wantBody: "hello",
		},
		{
			name: "caller's accept-encoding", method: "GET", target: "/x",
			header:   http.Header{"Accept-Encoding": {"identity"}},
			wantLine: "GET /x HTTP/1.1",
			wantHead: []string{"Accept-Encoding: identity", "Host: {host}"},
			wantBody: "hello",
		},
		{
			name: "range: no gzip", method: "GET", target: "/x",
			header:   http.Header{"Range": {"bytes=0-4"}},
			wantLine: "GET /x HTTP/1.1",
			wantHead: []string{"Host: {host}", "Range: bytes=0-4"},
			wantBody: "hello",
		},
		{
			name: "head: no gzip", method: "HEAD", target: "/h",
			wantLine: "HEAD /h HTTP/1.1",
			wantHead: []string{"Host: {host}"},
			wantBody: "",
		},
		{
			name: "request host", method: "GET", target: "/x", host: "api.example.test",
			wantLine: "GET /x HTTP/1.1",
			wantHead: []string{"Accept-Encoding: gzip", "Host: api.example.test"},
			wantBody: "hello",
		},
		{
			name: "close", method: "GET", target: "/x", close: true,
			wantLine: "GET /x HTTP/1.1",
			wantHead: []string{"Accept-Encoding: gzip", "Connection: close", "Host: {host}"},
			wantBody: "hello",
		},
		{
			name: "several values and trimmed values", method: "GET", target: "/x",
			header:   http.Header{"X-Multi": {"a", "b"}, "X-Spaced": {"  spaced out\t "}, "Authorization": {"Bearer t"}},
			wantLine: "GET /x HTTP/1.1",
			wantHead: []string{"Accept-Encoding: gzip", "Authorization: Bearer t", "Host: {host}", "X-Multi: a", "X-Multi: b", "X-Spaced: spaced out"},
			wantBody: "hello",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newH1Server(t, func(c *h1Conn, req h1Request, _ int) bool {
				answer := "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Answer: yes\r\n\r\n"
				if req.Method() != "HEAD" {
					answer += "hello"
				}
				c.write(answer)
				return true
			})
			tr, _ := newH1Transport(t)
			req := h1NewRequest(t, h1Ctx(t), tc.method, srv.url+tc.target, tc.header)
			req.Host, req.Close = tc.host, tc.close
			res := h1Fetch(tr, req)
			if res.err != nil {
				t.Fatal(res.err)
			}

			seen := srv.seen()
			if len(seen) != 1 {
				t.Fatalf("server saw %d requests, want 1", len(seen))
			}
			lines := strings.Split(seen[0].Head, "\r\n")
			if got := lines[0]; got != tc.wantLine {
				t.Errorf("request line = %q, want %q", got, tc.wantLine)
			}
			if tail := lines[len(lines)-2:]; !slices.Equal(tail, []string{"", ""}) {
				t.Errorf("head does not end with a blank line: %q", seen[0].Head)
			}
			gotHead := slices.Sorted(slices.Values(lines[1 : len(lines)-2]))
			var wantHead []string
			for _, l := range tc.wantHead {
				wantHead = append(wantHead, strings.ReplaceAll(l, "{host}", srv.addr))
			}
			if diff := cmp.Diff(wantHead, gotHead); diff != "" {
				t.Errorf("header lines (-want +got):\n%s", diff)
			}

			if res.resp.StatusCode != 200 || res.resp.Proto != "HTTP/1.1" {
				t.Errorf("status %d %s, want 200 HTTP/1.1", res.resp.StatusCode, res.resp.Proto)
			}
			if got := res.resp.Header.Get("X-Answer"); got != "yes" {
				t.Errorf("X-Answer = %q, want yes", got)
			}
			if res.resp.ContentLength != 5 {
				t.Errorf("ContentLength = %d, want 5", res.resp.ContentLength)
			}
			if res.body != tc.wantBody {
				t.Errorf("body = %q, want %q", res.body, tc.wantBody)
			}
			if res.resp.Request == nil || res.resp.Request.URL.String() != req.URL.String() {
				t.Errorf("resp.Request = %v, want the request", res.resp.Request)
			}
			if tc.close {
				h1Eventually(t, "the client closes the connection it asked to close", func() bool { return srv.firstClosedByClient() })
				if n := h1IdleCount(tr, srv.key()); n != 0 {
					t.Errorf("%d idle connections, want 0", n)
				}
			}
		})
	}
}

func TestHTTP1ResponseBodies(t *testing.T) {
	large := strings.Repeat("0123456789abcdef", 16<<10) // 256 KiB
	tests := []struct {
		name        string
		answer      string
		closeAfter  bool // the server closes the connection after the answer
		wantBody    string
		wantLength  int64
		wantTrailer http.Header
		wantReuse   bool
	}{
		{
			name:     "content-length",
			answer:   h1OK("hello world"),
			wantBody: "hello world", wantLength: 11, wantReuse: true,
		},
		{
			name:     "content-length zero",
			answer:   "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
			wantBody: "", wantLength: 0, wantReuse: true,
		},
		{
			name:     "large content-length",
			answer:   h1OK(large),
			wantBody: large, wantLength: int64(len(large)), wantReuse: true,
		},
		{
			name:     "chunked with trailers",
			answer:   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Sum: 42\r\n\r\n",
			wantBody: "hello world", wantLength: -1, wantTrailer: http.Header{"X-Sum": {"42"}}, wantReuse: true,
		},
		{
			name:     "large chunked",
			answer:   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + h1Chunked(large, 1000),
			wantBody: large, wantLength: -1, wantReuse: true,
		},
		{
			name:       "close-delimited",
			answer:     "HTTP/1.1 200 OK\r\n\r\nhello world",
			closeAfter: true,
			wantBody:   "hello world", wantLength: -1, wantReuse: false,
		},
		{
			name:     "connection close",
			answer:   "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 11\r\n\r\nhello world",
			wantBody: "hello world", wantLength: 11, wantReuse: false,
		},
		{
			name:     "http/1.0",
			answer:   "HTTP/1.0 200 OK\r\nContent-Length: 11\r\n\r\nhello world",
			wantBody: "hello world", wantLength: 11, wantReuse: false,
		},
		{
			name:     "bytes after the answer",
			answer:   h1OK("hello world") + "EXTRA",
			wantBody: "hello world", wantLength: 11, wantReuse: false,
		},
		{
			name:     "http/1.0 keep-alive",
			answer:   "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 11\r\n\r\nhello world",
			wantBody: "hello world", wantLength: 11, wantReuse: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newH1Server(t, func(c *h1Conn, _ h1Request, _ int) bool {
				c.write(tc.answer)
				return !tc.closeAfter
			})
			tr, _ := newH1Transport(t)
			for i, want := range [][]bool{{false}, {tc.wantReuse}} {
				res := h1MustGet(t, tr, srv.url)
				h1CheckConns(t, fmt.Sprintf("request %d", i), want, res.conns)
				if res.body != tc.wantBody {
					t.Errorf("request %d: body of %d bytes, want %d (%.20q...)", i, len(res.body), len(tc.wantBody), res.body)
				}
				if res.resp.ContentLength != tc.wantLength {
					t.Errorf("request %d: ContentLength = %d, want %d", i, res.resp.ContentLength, tc.wantLength)
				}
				if diff := cmp.Diff(tc.wantTrailer, res.resp.Trailer); diff != "" {
					t.Errorf("request %d: trailer (-want +got):\n%s", i, diff)
				}
			}
			wantConns := 1
			if !tc.wantReuse {
				wantConns = 2
				if !tc.closeAfter {
					h1Eventually(t, "the client closes the first connection", func() bool { return srv.firstClosedByClient() })
				}
			}
			if got := srv.accepted(); got != wantConns {
				t.Errorf("server accepted %d connections, want %d", got, wantConns)
			}
		})
	}
}

func TestHTTP1TruncatedBody(t *testing.T) {
	tests := []struct {
		name, answer, wantBody string
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789", "0123456789"},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n10\r\nabc", "0123456789abc"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newH1Server(t, func(c *h1Conn, _ h1Request, _ int) bool {
				c.write(tc.answer)
				return false
			})
			tr, _ := newH1Transport(t)
			res := h1Fetch(tr, h1NewRequest(t, h1Ctx(t), "GET", srv.url, nil))
			if !errors.Is(res.err, io.ErrUnexpectedEOF) {
				t.Errorf("error = %v, want io.ErrUnexpectedEOF", res.err)
			}
			if res.body != tc.wantBody {
				t.Errorf("body = %q, want %q", res.body, tc.wantBody)
			}
			if n := h1IdleCount(tr, srv.key()); n != 0 {
				t.Errorf("%d idle connections after a truncated body, want 0", n)
			}
		})
	}
}

// A failed Read must not be followed by a clean end of the body: a caller
// that reads again would take a truncated body for a whole one.
func TestHTTP1ReadAfterFailedReadKeepsFailing(t *testing.T) {

	srv := newH1Server(t, func(c *h1Conn, _ h1Request, _ int) bool {
		c.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
		return false
	})
	tr, _ := newH1Transport(t)
	res := h1Open(tr, h1NewRequest(t, h1Ctx(t), "GET", srv.url, nil))
	if res.err != nil {
		t.Fatal(res.err)
	}
	defer res.resp.Body.Close()
	if _, err := io.ReadAll(res.resp.Body); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("ReadAll error = %v, want io.ErrUnexpectedEOF", err)
	}
	if n, err := res.resp.Body.Read(make([]byte, 10)); err == nil || err == io.EOF {
		t.Errorf("Read after a failed Read = %d, %v; want the failure again", n, err)
	}
}

func TestHTTP1BodyClosedEarly(t *testing.T) {
	body := strings.Repeat("x", 64<<10)
	tests := []struct{ name, answer string }{
		{"content-length", h1OK(body)},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + h1Chunked(body, 4096)},
		{"chunked, data read but not the last chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + "a\r\n0123456789\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newH1Server(t, func(c *h1Conn, _ h1Request, seq int) bool {
				if seq == 0 {
					c.write(tc.answer)
				} else {
					c.write(h1OK("next"))
				}
				return true
			})
			tr, _ := newH1Transport(t)
			res := h1Open(tr, h1NewRequest(t, h1Ctx(t), "GET", srv.url, nil))
			if res.err != nil {
				t.Fatal(res.err)
			}
			buf := make([]byte, 10)
			if _, err := io.ReadFull(res.resp.Body, buf); err != nil {
				t.Fatal(err)
			}
			if err := res.resp.Body.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if n, err := res.resp.Body.Read(buf); n != 0 || !errors.Is(err, errBodyClosed) {
				t.Errorf("Read after Close = %d, %v; want 0, %v", n, err, errBodyClosed)
			}
			h1Eventually(t, "the client closes the connection", func() bool { return srv.firstClosedByClient() })

			res = h1MustGet(t, tr, srv.url)
			h1CheckConns(t, "next request", []bool{false}, res.conns)
			if res.body != "next" {
				t.Errorf("next body = %q", res.body)
			}
			if got := srv.accepted(); got != 2 {
				t.Errorf("server accepted %d connections, want 2", got)
			}
		})
	}
}

func TestHTTP1BodyCloseUnblocksRead(t *testing.T) {
	srv := newH1Server(t, func(c *h1Conn, _ h1Request, _ int) bool {
		c.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
		c.stall()
		return false
	})
	tr, _ := newH1Transport(t)
	res := h1Open(tr, h1NewRequest(t, h1Ctx(t), "GET", srv.url, nil))
	if res.err != nil {
		t.Fatal(res.err)
	}
	if _, err := io.ReadFull(res.resp.Body, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	readErr := make(chan error, 1)
	go func() {
		_, err := res.resp.Body.Read(make([]byte, 10)) // blocks: the server sends no more
		readErr <- err
	}()
	time.Sleep(20 * time.Millisecond) // let the Read block
	start := time.Now()
	_ = res.resp.Body.Close()
	select {
	case err := <-readErr:
		if !errors.Is(err, errBodyClosed) {
			t.Errorf("blocked Read returned %v, want %v", err, errBodyClosed)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("Read returned %v after Close", d)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Close did not unblock the Read")
	}
	h1Eventually(t, "the client closes the connection", func() bool { return srv.firstClosedByClient() })
}

func TestHTTP1AnswersWithoutBody(t *testing.T) {
	tests := []struct {
		name, method, answer string
		wantStatus           int
		wantLength           int64
	}{
		{"head with content-length", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", 200, 1000},
		{"head with chunked", "HEAD", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 200, -1},
		{"head without length", "HEAD", "HTTP/1.1 200 OK\r\n\r\n", 200, -1},
		{"204", "GET", "HTTP/1.1 204 No Content\r\n\r\n", 204, 0},
		{"304", "GET", "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n", 304, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newH1Server(t, h1Always(tc.answer))
			tr, _ := newH1Transport(t)
			for i, want := range [][]bool{{false}, {true}} {
				res := h1Fetch(tr, h1NewRequest(t, h1Ctx(t), tc.method, srv.url, nil))
				if res.err != nil {
					t.Fatalf("request %d: %v", i, res.err)
				}
				h1CheckConns(t, fmt.Sprintf("request %d", i), want, res.conns)
				if res.resp.StatusCode != tc.wantStatus || res.resp.ContentLength != tc.wantLength || res.body != "" {
					t.Errorf("request %d: status %d, ContentLength %d, body %q; want %d, %d, empty",
						i, res.resp.StatusCode, res.resp.ContentLength, res.body, tc.wantStatus, tc.wantLength)
				}
				if res.resp.Body != http.NoBody {
					t.Errorf("request %d: Body is %T, want http.NoBody", i, res.resp.Body)
				}
			}
			if got := srv.accepted(); got != 1 {
				t.Errorf("server accepted %d connections, want 1", got)
			}
		})
	}
}

func TestHTTP1InterimAnswers(t *testing.T) {
	tests := []struct {
		name    string
		interim string
		wantErr string // empty: the final 200 is the answer
	}{
		{name: "100 continue", interim: "HTTP/1.1 100 Continue\r\n\r\n"},
		{name: "103 early hints", interim: "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"},
		{name: "several", interim: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.js>\r\n\r\n"},
		{name: "101 switching protocols", interim: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", wantErr: "switched protocols"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newH1Server(t, h1Always(tc.interim+"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Final: 1\r\n\r\nfinal"))
			tr, _ := newH1Transport(t)
			res := h1Fetch(tr, h1NewRequest(t, h1Ctx(t), "GET", srv.url, nil))
			if tc.wantErr != "" {
				if res.err == nil || !strings.Contains(res.err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", res.err, tc.wantErr)
				}
				if got := len(srv.seen()); got != 1 {
					t.Errorf("server saw %d requests, want 1", got)
				}
				h1Eventually(t, "the client closes the connection", func() bool { return srv.firstClosedByClient() })
				return
			}
			if res.err != nil {
				t.Fatal(res.err)
			}
			if res.resp.StatusCode != 200 || res.body != "final" || res.resp.Header.Get("X-Final") != "1" || res.resp.Header.Get("Link") != "" {
				t.Errorf("got %d %q with header %v; want the final 200 only", res.resp.StatusCode, res.body, res.resp.Header)
			}
			res = h1MustGet(t, tr, srv.url)
			h1CheckConns(t, "second request", []bool{true}, res.conns)
		})
	}
}

// ---------------------------------------------------------------------------
// Failed connections and retries.

func TestHTTP1StaleConnections(t *testing.T) {
	tests := []struct {
		name string
		// probe handles the second request (seq 1); the first (seq 0) is
		// answered 200 "first", and the connection then closed when
		// closeIdle is set.
		closeIdle    bool
		probe        h1Handler
		wantErr      bool
		wantConns    []bool // GotConn Reused during the second request
		wantRequests int    // request heads the server read in all
		wantAccepted int
	}{
		{
			name:      "closed while idle",
			closeIdle: true,
			probe:     h1Always(h1OK("second")),
			wantConns: []bool{true, false}, wantRequests: 2, wantAccepted: 2,
		},
		{
			name:      "closed after reading the request, nothing answered",
			probe:     func(*h1Conn, h1Request, int) bool { return false },
			wantConns: []bool{true, false}, wantRequests: 3, wantAccepted: 2,
		},
		{
			name: "closed after part of the head",
			probe: func(c *h1Conn, _ h1Request, _ int) bool {
				c.write("HTTP/1.1 200 OK\r\nContent-Le")
				return false
			},
			wantErr: true, wantConns: []bool{true}, wantRequests: 2, wantAccepted: 1,
		},
		{
			name: "closed after the status line",
			probe: func(c *h1Conn, _ h1Request, _ int) bool {
				c.write("HTTP/1.1 200 OK\r\n")
				return false
			},
			wantErr: true, wantConns: []bool{true}, wantRequests: 2, wantAccepted: 1,
		},
		{
			name: "garbage answer",
			probe: func(c *h1Conn, _ h1Request, _ int) bool {
				c.write("SSH-2.0-OpenSSH\r\n\r\n")
				return false
			},
			wantErr: true, wantConns: []bool{true}, wantRequests: 2, wantAccepted: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newH1Server(t, func(c *h1Conn, req h1Request, seq int) bool {
				switch {
				case seq == 0:
					c.write(h1OK("first"))
					return !tc.closeIdle
				case req.Conn == 0:
					return tc.probe(c, req, seq)
				default: // a retry on a new connection
					c.write(h1OK("second"))
					return true
				}
			})
			tr, _ := newH1Transport(t)
			if res := h1MustGet(t, tr, srv.url); res.body != "first" {
				t.Fatalf("first body = %q", res.body)
			}
			if tc.closeIdle {
				h1Eventually(t, "the server closes the idle connection", func() bool { return srv.closedByServer() == 1 })
			}

			res := h1Fetch(tr, h1NewRequest(t, h1Ctx(t), "GET", srv.url, nil))
			switch {
			case tc.wantErr && res.err == nil:
				t.Errorf("second request succeeded (%q), want an error", res.body)
			case !tc.wantErr && res.err != nil:
				t.Errorf("second request: %v", res.err)
			case !tc.wantErr && res.body != "second":
				t.Errorf("second body = %q, want %q", res.body, "second")
			}
			h1CheckConns(t, "second request", tc.wantConns, res.conns)
			if got := len(srv.seen()); got != tc.wantRequests {
				t.Errorf("server read %d requests, want %d", got, tc.wantRequests)
			}
			if got := srv.accepted(); got != tc.wantAccepted {
				t.Errorf("server accepted %d connections, want %d", got, tc.wantAccepted)
			}
		})
	}
}

// A request on a new connection is never sent twice.
func TestHTTP1FreshConnectionNotRetried(t *testing.T) {
	tests := []struct {
		name   string
		answer string // written before the server closes the connection
	}{
		{"nothing answered", ""},
		{"part of the head", "HTTP/1.1 200 OK\r\nContent-Le"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newH1Server(t, func(c *h1Conn, _ h1Request, _ int) bool {
				c.write(tc.answer)
				return false
			})
			tr, _ := newH1Transport(t)
			res := h1Fetch(tr, h1NewRequest(t, h1Ctx(t), "GET", srv.url, nil))
			if res.err == nil {
				t.Fatalf("request succeeded (%q), want an error", res.body)
			}
			h1CheckConns(t, "request", []bool{false}, res.conns)
			if got := len(srv.seen()); got != 1 {
				t.Errorf("server read %d requests, want 1", got)
			}
			if got := srv.accepted(); got != 1 {
				t.Errorf("server accepted %d connections, want 1", got)
			}
		})
	}
}

// With more stale connections in the pool than maxStaleRetries, a request
// tries that many and then dials.
func TestHTTP1StaleRetriesBounded(t *testing.T) {
	const n = maxStaleRetries + 1
	srv := newH1Server(t, h1Barrier(n, h1OK("ok"), true))
	tr, _ := newH1Transport(t)
	h1Concurrent(t, tr, srv.url, n)
	if got := h1IdleCount(tr, srv.key()); got != n {
		t.Fatalf("%d idle connections, want %d", got, n)
	}
	h1Eventually(t, "the server closes every connection", func() bool { return srv.closedByServer() == n })

	res := h1MustGet(t, tr, srv.url)
	want := append(slices.Repeat([]bool{true}, maxStaleRetries), false)
	h1CheckConns(t, "request", want, res.conns)
	if res.body != "ok" {
		t.Errorf("body = %q, want ok", res.body)
	}
	if got := srv.accepted(); got != n+1 {
		t.Errorf("server accepted %d connections, want %d", got, n+1)
	}
}

// A server may answer 408 on an idle connection before closing it (as
// HAProxy and others do). net/http drops such an unsolicited answer; it
// must not be taken for the answer to the next request.
func TestHTTP1UnsolicitedAnswerOnIdleConnection(t *testing.T) {

	idle := make(chan struct{}) // closed once the first answer has been read
	srv := newH1Server(t, func(c *h1Conn, _ h1Request, seq int) bool {
		c.write(h1OK("ok"))
		if seq == 0 {
			select {
			case <-idle:
			case <-c.srv.done:
				return false
			}
			c.write("HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
			return false
		}
		return true
	})
	tr, _ := newH1Transport(t)
	h1MustGet(t, tr, srv.url)
	close(idle)
	h1Eventually(t, "the server closes the idle connection", func() bool { return srv.closedByServer() == 1 })
	res := h1MustGet(t, tr, srv.url)
	if res.resp.StatusCode != 200 || res.body != "ok" {
		t.Errorf("second request got %d %q, want 200 ok", res.resp.StatusCode, res.body)
	}
}

// ---------------------------------------------------------------------------
// Contexts.

func TestHTTP1ContextDeadlineWaitingForHead(t *testing.T) {
	// A few rounds: the connection's deadline and the context's timer fire
	// at the same instant, in either order.
	const rounds = 5
	for _, warm := range []bool{false, true} {
		t.Run(fmt.Sprintf("reused=%v", warm), func(t *testing.T) {
			srv := newH1Server(t, func(c *h1Conn, req h1Request, _ int) bool {
				if strings.HasPrefix(req.Head, "GET /warm ") {
					c.write(h1OK("warm"))
					return true
				}
				c.stall()
				return false
			})
			tr, _ := newH1Transport(t)
			for round := range rounds {
				if warm {
					h1MustGet(t, tr, srv.url+"/warm")
				}
				ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
				start := time.Now()
				res := h1Fetch(tr, h1NewRequest(t, ctx, "GET", srv.url+"/hang", nil))
				elapsed := time.Since(start)
				if !errors.Is(res.err, context.DeadlineExceeded) {
					t.Errorf("round %d: error = %v, want context.DeadlineExceeded", round, res.err)
				}
				if ctx.Err() == nil {
					t.Errorf("round %d: RoundTrip returned before the context ended", round)
				}
				cancel()
				if elapsed > 2*time.Second {
					t.Errorf("round %d: RoundTrip took %v", round, elapsed)
				}
				h1CheckConns(t, fmt.Sprintf("round %d", round), []bool{warm}, res.conns)
				hangs := 0
				for _, r := range srv.seen() {
					if strings.HasPrefix(r.Head, "GET /hang ") {
						hangs++
					}
				}
				if hangs != round+1 {
					t.Errorf("round %d: server read %d hanging requests, want %d (no retry)", round, hangs, round+1)
				}
				h1Eventually(t, "the client closes the connection", func() bool { return srv.closedByClientCount() == round+1 })
				if n := h1IdleCount(tr, srv.key()); n != 0 {
					t.Errorf("round %d: %d idle connections, want 0", round, n)
				}
			}
		})
	}
}

func TestHTTP1ContextCancelMidBody(t *testing.T) {
	tests := []struct{ name, answer string }{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789"},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newH1Server(t, func(c *h1Conn, _ h1Request, seq int) bool {
				if seq > 0 {
					c.write(h1OK("after"))
					return true
				}
				c.write(tc.answer)
				c.stall()
				return false
			})
			tr, _ := newH1Transport(t)
			ctx, cancel := context.WithCancel(h1Ctx(t))
			defer cancel()
			res := h1Open(tr, h1NewRequest(t, ctx, "GET", srv.url, nil))
			if res.err != nil {
				t.Fatal(res.err)
			}
			defer res.resp.Body.Close()
			if _, err := io.ReadFull(res.resp.Body, make([]byte, 10)); err != nil {
				t.Fatal(err)
			}
			readErr := make(chan error, 1)
			go func() {
				_, err := res.resp.Body.Read(make([]byte, 10))
				readErr <- err
			}()
			cancel()
			select {
			case err := <-readErr:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("Read after cancel = %v, want context.Canceled", err)
				}
			case <-time.After(3 * time.Second):
				t.Fatal("cancelling the context did not end the Read")
			}
			h1Eventually(t, "the client closes the connection", func() bool { return srv.firstClosedByClient() })

			next := h1MustGet(t, tr, srv.url)
			h1CheckConns(t, "next request", []bool{false}, next.conns)
			if next.body != "after" {
				t.Errorf("next body = %q", next.body)
			}
		})
	}
}

func TestHTTP1ContextAlreadyCancelled(t *testing.T) {
	srv := newH1Server(t, h1Always(h1OK("ok")))
	tr, _ := newH1Transport(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	start := time.Now()
	res := h1Fetch(tr, h1NewRequest(t, ctx, "GET", srv.url, nil))
	if !errors.Is(res.err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", res.err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("RoundTrip took %v", d)
	}
	// Nothing reached the server: the next request is the first it reads.
	h1MustGet(t, tr, srv.url)
	if got := len(srv.seen()); got != 1 {
		t.Errorf("server read %d requests, want 1", got)
	}
}

// net/http checks the context before it sends anything; so should a
// request that finds an idle connection.
func TestHTTP1ContextAlreadyCancelledWarmPool(t *testing.T) {

	srv := newH1Server(t, h1Always(h1OK("ok")))
	tr, _ := newH1Transport(t)
	h1MustGet(t, tr, srv.url)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res := h1Fetch(tr, h1NewRequest(t, ctx, "GET", srv.url, nil))
	if !errors.Is(res.err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", res.err)
	}
	h1MustGet(t, tr, srv.url)
	if got := len(srv.seen()); got != 2 {
		t.Errorf("server read %d requests, want 2 (not the cancelled one)", got)
	}
}

// ---------------------------------------------------------------------------
// Limits and validation.

func TestHTTP1ResponseHeaderLimit(t *testing.T) {
	const limit = 1024
	// padded is a 200 answer, body "ok", whose first n bytes are the status
	// line, Content-Length and an X-Pad line, followed by rest.
	padded := func(n int, rest string) string {
		const fixed = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Pad: \r\n"
		return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Pad: " + strings.Repeat("p", n-len(fixed)) + "\r\n" + rest
	}
	var huge strings.Builder
	huge.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n")
	for i := range 1024 {
		fmt.Fprintf(&huge, "X-H-%04d: %s\r\n", i, strings.Repeat("v", 53)) // 64 bytes a line
	}
	huge.WriteString("\r\nok")
	tests := []struct {
		name    string
		limit   int64
		answer  string
		wantErr bool
	}{
		{name: "small", limit: limit, answer: padded(200, "\r\nok")},
		{name: "head exactly at the limit", limit: limit, answer: padded(limit-2, "\r\nok")},
		{name: "limit before the final CRLF", limit: limit, answer: padded(limit, "\r\nok"), wantErr: true},
		{name: "limit in a header value", limit: limit, answer: padded(limit-15, "X-Second: "+strings.Repeat("v", 20)+"\r\n\r\nok"), wantErr: true},
		{
			name: "limit between the final CR and LF", limit: limit, answer: padded(limit-1, "\r\nok"), wantErr: true,
		},
		{
			name: "limit in a header name", limit: limit, answer: padded(limit-3, "X-Second: value\r\n\r\nok"), wantErr: true,
		},
		{name: "64 KiB of headers", limit: limit, answer: huge.String(), wantErr: true},
		{name: "64 KiB of headers without a limit", limit: 0, answer: huge.String()},
		{name: "interim answer then a small head", limit: limit, answer: "HTTP/1.1 100 Continue\r\n\r\n" + padded(200, "\r\nok")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newH1Server(t, h1Always(tc.answer))
			tr, _ := newH1Transport(t)
			tr.MaxResponseHeaderBytes = tc.limit
			res := h1Fetch(tr, h1NewRequest(t, h1Ctx(t), "GET", srv.url, nil))
			if !tc.wantErr {
				if res.err != nil || res.body != "ok" {
					t.Fatalf("got %q, %v; want ok", res.body, res.err)
				}
				h1CheckConns(t, "next request", []bool{true}, h1MustGet(t, tr, srv.url).conns)
				return
			}
			if res.err == nil {
				t.Fatal("no error")
			}
			if want := fmt.Sprintf("exceed %d bytes", tc.limit); !strings.Contains(res.err.Error(), want) {
				t.Errorf("error = %q, want one containing %q", res.err, want)
			}
			if got := len(srv.seen()); got != 1 {
				t.Errorf("server read %d requests, want 1", got)
			}
			h1Eventually(t, "the client closes the connection", func() bool { return srv.firstClosedByClient() })
		})
	}
}

func TestHTTP1RejectsInvalidRequestHeaders(t *testing.T) {
	const secret = "s3cr3t"
	tests := []struct {
		name   string
		header http.Header
		host   string // Request.Host
	}{
		{name: "CR LF in a value", header: http.Header{"Authorization": {"Bearer s3cr3t\r\nX: y"}}},
		{name: "LF in a value", header: http.Header{"Authorization": {"Bearer s3cr3t\nX: y"}}},
		{name: "CR in a value", header: http.Header{"Authorization": {"Bearer s3cr3t\rX: y"}}},
		{name: "NUL in a value", header: http.Header{"Authorization": {"Bearer s3cr3t\x00"}}},
		{name: "second value invalid", header: http.Header{"Authorization": {"Bearer ok", "Bearer s3cr3t\r\n"}}},
		{name: "space in a name", header: http.Header{"X Bad": {secret}}},
		{name: "colon in a name", header: http.Header{"X-Bad:": {secret}}},
		{name: "CR LF in a name", header: http.Header{"X-Bad\r\nX-Injected": {secret}}},
		{name: "empty name", header: http.Header{"": {secret}}},
		{name: "Host entry", header: http.Header{"Host": {"s3cr3t.example"}}},
		{name: "lower-case host entry", header: http.Header{"host": {"s3cr3t.example"}}},
		{name: "invalid Request.Host", host: "api.example\r\nX-Injected: 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newH1Server(t, h1Always(h1OK("ok")))
			tr, fb := newH1Transport(t)
			req := h1NewRequest(t, h1Ctx(t), "GET", srv.url+"/bad", tc.header)
			req.Host = tc.host
			res := h1Fetch(tr, req)
			if res.err == nil {
				t.Fatalf("request sent (%d %q), want an error", res.resp.StatusCode, res.body)
			}
			if strings.Contains(res.err.Error(), secret) {
				t.Errorf("error %q contains the header value", res.err)
			}
			if len(res.conns) != 0 || fb.count() != 0 {
				t.Errorf("a connection was taken (%v) or the fallback used (%d)", res.conns, fb.count())
			}
			// Nothing reached the server: the next request is the first
			// request, and the first connection, it sees.
			h1MustGet(t, tr, srv.url+"/good")
			seen := srv.seen()
			if len(seen) != 1 || !strings.HasPrefix(seen[0].Head, "GET /good ") || srv.accepted() != 1 {
				t.Errorf("server accepted %d connections and read %+v; want one, with GET /good only", srv.accepted(), seen)
			}
		})
	}
}

// Header entries that frame the message are the transport's: net/http
// leaves Content-Length, Transfer-Encoding and Trailer entries of
// Request.Header out of the request head. Written on a GET without a body,
// they make the server wait for a body, or take the next request for one.
func TestHTTP1FramingHeadersNotWritten(t *testing.T) {

	for _, name := range []string{"Content-Length", "Transfer-Encoding", "Trailer"} {
		t.Run(name, func(t *testing.T) {
			srv := newH1Server(t, h1Always(h1OK("ok")))
			tr, _ := newH1Transport(t)
			value := map[string]string{"Content-Length": "5", "Transfer-Encoding": "chunked", "Trailer": "X-T"}[name]
			res := h1Fetch(tr, h1NewRequest(t, h1Ctx(t), "GET", srv.url, http.Header{name: {value}}))
			if res.err != nil {
				return // rejected is fine too, as long as nothing was sent
			}
			for _, r := range srv.seen() {
				if strings.Contains(strings.ToLower(r.Head), "\r\n"+strings.ToLower(name)+":") {
					t.Errorf("%s written on the wire:\n%s", name, r.Head)
				}
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Gzip.

func TestHTTP1Gzip(t *testing.T) {
	const plain = "hello, compressed world; hello, compressed world"
	gz := h1Gzip(plain)
	tests := []struct {
		name             string
		method           string
		header           http.Header
		answer           string
		wantBody         string
		wantLength       int64
		wantUncompressed bool
		wantEncoding     string // Content-Encoding left in the header
	}{
		{
			name: "content-length", method: "GET",
			answer:   fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s", len(gz), gz),
			wantBody: plain, wantLength: -1, wantUncompressed: true,
		},
		{
			name: "chunked", method: "GET",
			answer:   "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n" + h1Chunked(gz, 7),
			wantBody: plain, wantLength: -1, wantUncompressed: true,
		},
		{
			name: "encoding in capitals", method: "GET",
			answer:   fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Encoding: GZIP\r\nContent-Length: %d\r\n\r\n%s", len(gz), gz),
			wantBody: plain, wantLength: -1, wantUncompressed: true,
		},
		{
			name: "caller asked for gzip itself", method: "GET", header: http.Header{"Accept-Encoding": {"gzip"}},
			answer:   fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s", len(gz), gz),
			wantBody: gz, wantLength: int64(len(gz)), wantEncoding: "gzip",
		},
		{
			name: "not compressed", method: "GET",
			answer:   h1OK(plain),
			wantBody: plain, wantLength: int64(len(plain)),
		},
		{
			name: "head", method: "HEAD",
			answer:     fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n", len(gz)),
			wantLength: int64(len(gz)), wantEncoding: "gzip",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newH1Server(t, h1Always(tc.answer))
			tr, _ := newH1Transport(t)
			for i, want := range [][]bool{{false}, {true}} {
				res := h1Fetch(tr, h1NewRequest(t, h1Ctx(t), tc.method, srv.url, tc.header.Clone()))
				if res.err != nil {
					t.Fatalf("request %d: %v", i, res.err)
				}
				h1CheckConns(t, fmt.Sprintf("request %d", i), want, res.conns)
				if res.body != tc.wantBody {
					t.Errorf("request %d: body = %q, want %q", i, res.body, tc.wantBody)
				}
				r := res.resp
				if r.ContentLength != tc.wantLength || r.Uncompressed != tc.wantUncompressed {
					t.Errorf("request %d: ContentLength %d, Uncompressed %v; want %d, %v", i, r.ContentLength, r.Uncompressed, tc.wantLength, tc.wantUncompressed)
				}
				if got := r.Header.Get("Content-Encoding"); !strings.EqualFold(got, tc.wantEncoding) {
					t.Errorf("request %d: Content-Encoding = %q, want %q", i, got, tc.wantEncoding)
				}
				if tc.wantUncompressed && r.Header.Get("Content-Length") != "" {
					t.Errorf("request %d: Content-Length %q left in the header", i, r.Header.Get("Content-Length"))
				}
			}
		})
	}
}

func TestHTTP1GzipCorrupt(t *testing.T) {
	bad := "this is not gzip at all"
	srv := newH1Server(t, h1Always(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s", len(bad), bad)))
	tr, _ := newH1Transport(t)
	res := h1Fetch(tr, h1NewRequest(t, h1Ctx(t), "GET", srv.url, nil))
	if !errors.Is(res.err, gzip.ErrHeader) {
		t.Errorf("error = %v, want gzip.ErrHeader", res.err)
	}
	// The answer was framed correctly: whether its connection was kept
	// depends on whether its end was read; the next request works.
	res = h1Fetch(tr, h1NewRequest(t, h1Ctx(t), "GET", srv.url, http.Header{"Accept-Encoding": {"identity"}}))
	if res.err != nil || res.body != bad {
		t.Errorf("next request: %q, %v; want %q", res.body, res.err, bad)
	}
}

// Read after Close fails, as for a body that is not compressed.
func TestHTTP1GzipReadAfterClose(t *testing.T) {

	plain := strings.Repeat("compressible ", 1000)
	gz := h1Gzip(plain)
	srv := newH1Server(t, h1Always(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s", len(gz), gz)))
	tr, _ := newH1Transport(t)
	res := h1Open(tr, h1NewRequest(t, h1Ctx(t), "GET", srv.url, nil))
	if res.err != nil {
		t.Fatal(res.err)
	}
	buf := make([]byte, 100)
	if _, err := io.ReadFull(res.resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	_ = res.resp.Body.Close()
	if n, err := res.resp.Body.Read(buf); err == nil {
		t.Errorf("Read after Close = %d, nil; want an error", n)
	}
}

// ---------------------------------------------------------------------------
// What goes to the fallback.

func TestHTTP1Fallback(t *testing.T) {
	proxyURL, _ := url.Parse("http://proxy.invalid:3128")
	tests := []struct {
		name         string
		method       string
		target       string // {srv} is the server's URL
		body         io.Reader
		proxy        func(*http.Request) (*url.URL, error)
		wantFallback bool
		wantErr      string
	}{
		{name: "get", method: "GET", target: "{srv}/x"},
		{name: "head", method: "HEAD", target: "{srv}/x"},
		{name: "get with NoBody", method: "GET", target: "{srv}/x", body: http.NoBody},
		{name: "proxy returns nil", method: "GET", target: "{srv}/x", proxy: func(*http.Request) (*url.URL, error) { return nil, nil }},
		{name: "post with a body", method: "POST", target: "{srv}/x", body: strings.NewReader("payload"), wantFallback: true},
		{name: "post without a body", method: "POST", target: "{srv}/x", wantFallback: true},
		{name: "delete", method: "DELETE", target: "{srv}/x", wantFallback: true},
		{name: "get with a body", method: "GET", target: "{srv}/x", body: strings.NewReader("payload"), wantFallback: true},
		{name: "other scheme", method: "GET", target: "ftp://127.0.0.1/x", wantFallback: true},
		{name: "proxy", method: "GET", target: "{srv}/x", proxy: http.ProxyURL(proxyURL), wantFallback: true},
		{name: "proxy error", method: "GET", target: "{srv}/x", proxy: func(*http.Request) (*url.URL, error) { return nil, errors.New("no proxy today") }, wantErr: "no proxy today"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newH1Server(t, func(c *h1Conn, req h1Request, _ int) bool {
				if req.Method() == "HEAD" {
					c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n")
				} else {
					c.write(h1OK("ok"))
				}
				return true
			})
			tr, fb := newH1Transport(t)
			tr.Proxy = tc.proxy
			req, err := http.NewRequestWithContext(h1Ctx(t), tc.method, strings.ReplaceAll(tc.target, "{srv}", srv.url), tc.body)
			if err != nil {
				t.Fatal(err)
			}
			res := h1Fetch(tr, req)
			if tc.wantErr != "" {
				if res.err == nil || !strings.Contains(res.err.Error(), tc.wantErr) {
					t.Errorf("error = %v, want one containing %q", res.err, tc.wantErr)
				}
				if fb.count() != 0 || len(srv.seen()) != 0 {
					t.Errorf("fallback got %d requests, server %d; want none", fb.count(), len(srv.seen()))
				}
				return
			}
			if res.err != nil {
				t.Fatal(res.err)
			}
			wantStatus, wantSeen, wantFB := 200, 1, 0
			if tc.wantFallback {
				wantStatus, wantSeen, wantFB = 299, 0, 1
			}
			if res.resp.StatusCode != wantStatus || len(srv.seen()) != wantSeen || fb.count() != wantFB {
				t.Errorf("status %d, server read %d requests, fallback got %d; want %d, %d, %d",
					res.resp.StatusCode, len(srv.seen()), fb.count(), wantStatus, wantSeen, wantFB)
			}
			if tc.wantFallback && (fb.reqs[0].Method != req.Method || fb.reqs[0].URL != req.URL || fb.reqs[0].Context() == nil) {
				t.Errorf("the fallback got %s %s, want %s %s", fb.reqs[0].Method, fb.reqs[0].URL, req.Method, req.URL)
			}
		})
	}
}

func TestHTTP1NoFallback(t *testing.T) {
	tr, _ := newH1Transport(t)
	tr.Fallback = nil
	req := h1NewRequest(t, h1Ctx(t), "POST", "http://127.0.0.1:1/x", nil)
	_, err := tr.RoundTrip(req)
	if err == nil || !strings.Contains(err.Error(), "no fallback") {
		t.Errorf("error = %v, want one saying there is no fallback", err)
	}
}

func TestHTTP1ProxyWithoutFallback(t *testing.T) {

	tr, _ := newH1Transport(t)
	tr.Fallback = nil
	tr.Proxy = http.ProxyURL(&url.URL{Scheme: "http", Host: "proxy.invalid:3128"})
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("RoundTrip panicked: %v", r)
		}
	}()
	_, err := tr.RoundTrip(h1NewRequest(t, h1Ctx(t), "GET", "http://127.0.0.1:1/x", nil))
	if err == nil {
		t.Error("no error")
	}
}

// ---------------------------------------------------------------------------
// The pool.

func TestHTTP1MaxIdleConnsPerHost(t *testing.T) {
	tests := []struct{ setting, n, wantIdle int }{
		{setting: 2, n: 5, wantIdle: 2},
		{setting: 5, n: 3, wantIdle: 3},
		{setting: 0, n: 3, wantIdle: 1}, // 0 keeps one
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("max %d, %d at once", tc.setting, tc.n), func(t *testing.T) {
			srv := newH1Server(t, h1Barrier(tc.n, h1OK("pooled"), false))
			tr, _ := newH1Transport(t)
			tr.MaxIdleConnsPerHost = tc.setting
			for i, res := range h1Concurrent(t, tr, srv.url, tc.n) {
				if res.body != "pooled" {
					t.Errorf("request %d: body %q", i, res.body)
				}
				h1CheckConns(t, fmt.Sprintf("request %d", i), []bool{false}, res.conns)
			}
			if got := srv.accepted(); got != tc.n {
				t.Errorf("server accepted %d connections, want %d", got, tc.n)
			}
			if got := h1IdleCount(tr, srv.key()); got != tc.wantIdle {
				t.Errorf("%d idle connections, want %d", got, tc.wantIdle)
			}
			h1Eventually(t, fmt.Sprintf("the client closes %d connections", tc.n-tc.wantIdle), func() bool {
				return srv.closedByClientCount() == tc.n-tc.wantIdle
			})
			// The kept ones serve the next requests.
			for i, res := range h1Concurrent(t, tr, srv.url, tc.wantIdle) {
				h1CheckConns(t, fmt.Sprintf("later request %d", i), []bool{true}, res.conns)
			}
			if got := srv.accepted(); got != tc.n {
				t.Errorf("server accepted %d connections in all, want %d", got, tc.n)
			}
		})
	}
}

func TestHTTP1IdleConnTimeout(t *testing.T) {
	tests := []struct {
		name       string
		timeout    time.Duration
		backdate   time.Duration // moves the idle connection's idleSince back
		sleep      time.Duration
		wantReused bool
	}{
		{name: "idle for less than the timeout", timeout: time.Minute, backdate: 30 * time.Second, wantReused: true},
		{name: "idle for longer than the timeout", timeout: time.Minute, backdate: 2 * time.Minute, wantReused: false},
		{name: "no timeout", timeout: 0, backdate: 24 * time.Hour, wantReused: true},
		{name: "really idle for longer", timeout: 20 * time.Millisecond, sleep: 50 * time.Millisecond, wantReused: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newH1Server(t, h1Always(h1OK("ok")))
			tr, _ := newH1Transport(t)
			tr.IdleConnTimeout = tc.timeout
			h1MustGet(t, tr, srv.url)
			tr.mu.Lock()
			for _, pc := range tr.idle[srv.key()] {
				pc.idleSince = pc.idleSince.Add(-tc.backdate)
			}
			tr.mu.Unlock()
			time.Sleep(tc.sleep)
			res := h1MustGet(t, tr, srv.url)
			h1CheckConns(t, "second request", []bool{tc.wantReused}, res.conns)
			if !tc.wantReused {
				h1Eventually(t, "the client closes the expired connection", func() bool { return srv.firstClosedByClient() })
			}
		})
	}
}

// Returning a connection to the pool closes the oldest idle one when it has
// been idle for longer than IdleConnTimeout.
func TestHTTP1PoolShrinks(t *testing.T) {
	srv := newH1Server(t, h1Barrier(2, h1OK("ok"), false))
	tr, _ := newH1Transport(t)
	tr.IdleConnTimeout = time.Minute
	h1Concurrent(t, tr, srv.url, 2)
	tr.mu.Lock()
	conns := tr.idle[srv.key()]
	if len(conns) != 2 {
		tr.mu.Unlock()
		t.Fatalf("%d idle connections, want 2", len(conns))
	}
	oldest := conns[0].conn.LocalAddr().String()
	conns[0].idleSince = conns[0].idleSince.Add(-2 * time.Minute)
	tr.mu.Unlock()

	res := h1MustGet(t, tr, srv.url) // takes the newest and puts it back
	h1CheckConns(t, "request", []bool{true}, res.conns)
	if got := h1IdleCount(tr, srv.key()); got != 1 {
		t.Errorf("%d idle connections, want 1", got)
	}
	tr.mu.Lock()
	kept := tr.idle[srv.key()][0].conn.LocalAddr().String()
	tr.mu.Unlock()
	if kept == oldest {
		t.Error("the expired connection was kept")
	}
	h1Eventually(t, "the client closes the expired connection", func() bool { return srv.closedByClientCount() == 1 })
}

// The most recently used idle connection serves the next request.
func TestHTTP1PoolMostRecentlyUsedFirst(t *testing.T) {
	srv := newH1Server(t, h1Barrier(3, h1OK("ok"), false))
	tr, _ := newH1Transport(t)
	h1Concurrent(t, tr, srv.url, 3)
	for round := range 4 {
		tr.mu.Lock()
		conns := tr.idle[srv.key()]
		newest := conns[len(conns)-1].conn
		tr.mu.Unlock()
		var got net.Conn
		trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { got = info.Conn }}
		req := h1NewRequest(t, httptrace.WithClientTrace(h1Ctx(t), trace), "GET", srv.url, nil)
		if res := h1Fetch(tr, req); res.err != nil {
			t.Fatal(res.err)
		}
		if got != newest {
			t.Fatalf("round %d: got the connection from %v, want the most recently used one, from %v", round, got.LocalAddr(), newest.LocalAddr())
		}
	}
	if got := srv.accepted(); got != 3 {
		t.Errorf("server accepted %d connections, want 3", got)
	}
}

func TestHTTP1CloseIdleConnections(t *testing.T) {
	const n = 3
	srv := newH1Server(t, h1Barrier(n, h1OK("ok"), false))
	tr, _ := newH1Transport(t)
	h1Concurrent(t, tr, srv.url, n)
	if got := h1IdleCount(tr, srv.key()); got != n {
		t.Fatalf("%d idle connections, want %d", got, n)
	}
	tr.CloseIdleConnections()
	if got := h1IdleCount(tr, srv.key()); got != 0 {
		t.Errorf("%d idle connections after CloseIdleConnections, want 0", got)
	}
	h1Eventually(t, "the server sees every connection closed", func() bool { return srv.closedByClientCount() == n })
	res := h1MustGet(t, tr, srv.url)
	h1CheckConns(t, "next request", []bool{false}, res.conns)
	if got := srv.accepted(); got != n+1 {
		t.Errorf("server accepted %d connections, want %d", got, n+1)
	}
}

// CloseIdleConnections closes the fallback's idle connections too.
func TestHTTP1CloseIdleConnectionsClosesFallbacks(t *testing.T) {
	var newConns, closedConns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "posted")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			newConns.Add(1)
		case http.StateClosed:
			closedConns.Add(1)
		default:
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	tr := NewHTTP1Transport(nil)
	tr.Proxy = nil
	t.Cleanup(tr.CloseIdleConnections)
	req, err := http.NewRequestWithContext(h1Ctx(t), "POST", srv.URL, strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	res := h1Fetch(tr, req)
	if res.err != nil || res.body != "posted" {
		t.Fatalf("POST: %q, %v", res.body, res.err)
	}
	tr.CloseIdleConnections()
	h1Eventually(t, "the fallback's connection is closed", func() bool { return closedConns.Load() == 1 })
	if got := newConns.Load(); got != 1 {
		t.Errorf("%d connections, want 1", got)
	}
}

// ---------------------------------------------------------------------------
// TLS.

// newH1TLSServer starts an httptest TLS server answering "tls <ALPN> <path>",
// counting its connections, with the handshake errors it logs dropped.
func newH1TLSServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || r.ProtoMajor != 1 {
			http.Error(w, "not HTTP/1 over TLS", http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "tls %s %s", r.TLS.NegotiatedProtocol, r.URL.Path)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, &conns
}

func TestHTTP1TLS(t *testing.T) {
	tests := []struct {
		name   string
		config func(*httptest.Server) *tls.Config
	}{
		{"httptest client's config", func(srv *httptest.Server) *tls.Config {
			return srv.Client().Transport.(*http.Transport).TLSClientConfig
		}},
		{"pool of the server's certificate", func(srv *httptest.Server) *tls.Config {
			pool := x509.NewCertPool()
			pool.AddCert(srv.Certificate())
			return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, conns := newH1TLSServer(t)
			tr, _ := newH1Transport(t)
			tr.TLSClientConfig = tc.config(srv)
			for i, want := range [][]bool{{false}, {true}, {true}} {
				res := h1MustGet(t, tr, srv.URL+"/secure")
				h1CheckConns(t, fmt.Sprintf("request %d", i), want, res.conns)
				if res.resp.StatusCode != 200 || res.body != "tls http/1.1 /secure" {
					t.Errorf("request %d: %d %q", i, res.resp.StatusCode, res.body)
				}
			}
			if got := conns.Load(); got != 1 {
				t.Errorf("server saw %d connections, want 1", got)
			}
			if c := tr.TLSClientConfig; c.ServerName != "" || c.NextProtos != nil {
				t.Errorf("TLSClientConfig modified: ServerName %q, NextProtos %q", c.ServerName, c.NextProtos)
			}
		})
	}
}

func TestHTTP1TLSResponseState(t *testing.T) {

	srv, _ := newH1TLSServer(t)
	tr, _ := newH1Transport(t)
	tr.TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig
	res := h1MustGet(t, tr, srv.URL)
	if res.resp.TLS == nil || !res.resp.TLS.HandshakeComplete {
		t.Errorf("resp.TLS = %v, want the connection's state", res.resp.TLS)
	}
}

func TestHTTP1TLSUntrusted(t *testing.T) {
	tests := []struct {
		name   string
		config *tls.Config
	}{
		{"empty root pool", &tls.Config{RootCAs: x509.NewCertPool(), MinVersion: tls.VersionTLS12}},
		{"system roots", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := newH1TLSServer(t)
			tr, _ := newH1Transport(t)
			tr.TLSClientConfig = tc.config
			res := h1Fetch(tr, h1NewRequest(t, h1Ctx(t), "GET", srv.URL, nil))
			var certErr *tls.CertificateVerificationError
			if !errors.As(res.err, &certErr) {
				t.Fatalf("error = %v (%T), want a *tls.CertificateVerificationError", res.err, res.err)
			}
			if len(res.conns) != 0 {
				t.Errorf("GotConn called (%v) for a failed handshake", res.conns)
			}
		})
	}
}

func TestHTTP1TLSHandshakeTimeout(t *testing.T) {
	srv := newH1Server(t, func(c *h1Conn, _ h1Request, _ int) bool { return false }) // never completes a handshake
	tr, _ := newH1Transport(t)
	tr.TLSHandshakeTimeout = 100 * time.Millisecond
	ctx := h1Ctx(t)
	start := time.Now()
	res := h1Fetch(tr, h1NewRequest(t, ctx, "GET", "https://"+srv.addr, nil))
	if !errors.Is(res.err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want context.DeadlineExceeded", res.err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("handshake gave up after %v", d)
	}
	if ctx.Err() != nil {
		t.Error("the request's context ended: the handshake timeout did not act")
	}
	h1Eventually(t, "the client closes the connection", func() bool { return srv.firstClosedByClient() })
}

// ---------------------------------------------------------------------------
// Concurrency.

// h1ConcurrentBody is the body served for request id.
func h1ConcurrentBody(id string) string {
	return strings.Repeat(id+";", 1+len(id)*37%200)
}

func TestHTTP1Concurrent(t *testing.T) {
	const goroutines, perGoroutine = 50, 20
	var newConns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("id")
		body := h1ConcurrentBody(id)
		w.Header().Set("X-Id", id)
		switch r.URL.Query().Get("kind") {
		case "chunked":
			_, _ = io.WriteString(w, body[:len(body)/2])
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, body[len(body)/2:])
		case "gzip":
			if r.Method != http.MethodHead && r.Header.Get("Accept-Encoding") != "gzip" {
				http.Error(w, "no gzip asked", http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = io.WriteString(w, h1Gzip(body))
		default:
			_, _ = io.WriteString(w, body)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			newConns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	tr, fb := newH1Transport(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()

	kinds := []string{"length", "chunked", "gzip"}
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perGoroutine {
				id := strconv.Itoa(g) + "-" + strconv.Itoa(i)
				method := "GET"
				if i%5 == 4 {
					method = "HEAD"
				}
				kind := kinds[(g+i)%len(kinds)]
				req, err := http.NewRequestWithContext(ctx, method, srv.URL+"/c?id="+id+"&kind="+kind, nil)
				if err != nil {
					t.Error(err)
					return
				}
				res := h1Fetch(tr, req)
				if res.err != nil {
					t.Errorf("%s %s: %v", method, id, res.err)
					return
				}
				want := h1ConcurrentBody(id)
				if method == "HEAD" {
					want = ""
				}
				if res.resp.StatusCode != 200 || res.resp.Header.Get("X-Id") != id || res.body != want {
					t.Errorf("%s %s (%s): %d, X-Id %q, body %.40q; want 200, %s, %.40q",
						method, id, kind, res.resp.StatusCode, res.resp.Header.Get("X-Id"), res.body, id, want)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := newConns.Load(); got > goroutines {
		t.Errorf("%d connections for %d goroutines", got, goroutines)
	}
	if got := h1IdleCount(tr, "http://"+srv.Listener.Addr().String()); got < 1 || got > goroutines {
		t.Errorf("%d idle connections, want 1 to %d", got, goroutines)
	}
	if fb.count() != 0 {
		t.Errorf("the fallback got %d requests", fb.count())
	}
}

// An idle connection is closed once IdleConnTimeout has passed even when no
// request comes to notice it, and the sweeping stops with an empty pool.
func TestHTTP1IdleConnectionsSweptWithoutTraffic(t *testing.T) {
	srv := newH1Server(t, h1Always(h1OK("ok")))
	tr, _ := newH1Transport(t)
	tr.IdleConnTimeout = 30 * time.Millisecond
	h1MustGet(t, tr, srv.url)
	h1Eventually(t, "the client closes the idle connection by itself", func() bool { return srv.firstClosedByClient() })
	h1Eventually(t, "the pool is empty and its timer stopped", func() bool {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		return len(tr.idle) == 0 && tr.sweep == nil
	})
	// The pool works again afterwards, on a new connection.
	res := h1MustGet(t, tr, srv.url)
	h1CheckConns(t, "after the sweep", []bool{false}, res.conns)
}
