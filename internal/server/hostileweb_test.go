package server

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/gateway"
)

// http1Call sends method with body to path over a new HTTP/1.1 connection to
// addr, declaring length bytes (len(body) when 0), and returns the answer
// (its body streams) once its header has arrived; every read and write
// within 20 s.
func http1Call(t *testing.T, addr, method, path, contentType string, length int, body []byte) *http.Response {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	if length == 0 {
		length = len(body)
	}
	_, _ = io.WriteString(c, method+" "+path+" HTTP/1.1\r\nHost: facade\r\nContent-Type: "+contentType+
		"\r\nAuthorization: Bearer token\r\nX-Tenant: portal.cloudcockpit.com\r\nContent-Length: "+strconv.Itoa(length)+"\r\n\r\n")
	_, _ = c.Write(body)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%s %s: no answer: %v", contentType, path, err)
	}
	return resp
}

// nextFrame reads the next enveloped frame of a streamed answer.
func nextFrame(t *testing.T, r io.Reader) (flags byte, payload []byte) {
	t.Helper()
	var head [5]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		t.Fatalf("no frame: %v", err)
	}
	payload = make([]byte, binary.BigEndian.Uint32(head[1:]))
	if _, err := io.ReadFull(r, payload); err != nil {
		t.Fatalf("frame cut short: %v", err)
	}
	return head[0], payload
}

// textReader decodes a gRPC-Web text answer as it streams: padded base64
// segments, read one 4-character group at a time.
type textReader struct {
	r   io.Reader
	out []byte // decoded, not yet read
}

func (t *textReader) Read(p []byte) (int, error) {
	for len(t.out) == 0 {
		var group [4]byte
		if _, err := io.ReadFull(t.r, group[:]); err != nil {
			return 0, err
		}
		var err error
		if t.out, err = base64.StdEncoding.AppendDecode(nil, group[:]); err != nil {
			return 0, err
		}
	}
	n := copy(p, t.out)
	t.out = t.out[n:]
	return n, nil
}

// TestHTTP1StreamOutlivesItsBodyBound: a streaming call over HTTP/1.1 whose
// request has been read (a health Watch in gRPC-Web, binary or text, or in
// Connect) lasts as long as its connection, as over HTTP/2: the bound on
// reading a stream's body (streamReadTimeout) is lifted once the body has
// ended. It had stayed set, and on HTTP/1.1 net/http cancels a request whose
// connection read fails: each such Watch ended CANCELLED "Stream has ended."
// 10 minutes after it started.
func TestHTTP1StreamOutlivesItsBodyBound(t *testing.T) {
	defer func(d time.Duration) { streamReadTimeout = d }(streamReadTimeout)
	streamReadTimeout = 100 * time.Millisecond
	cfg := DefaultConfig()
	cfg.Upstream.BaseURL, cfg.UpstreamURLSet = "http://127.0.0.1:1", true // never reached
	s := serveOnLoopback(t, cfg)
	empty := []byte{0, 0, 0, 0, 0} // a HealthCheckRequest for the server
	forms := []struct {
		contentType string
		text        bool
	}{{grpcWebType, false}, {grpcWebTextType, true}, {"application/connect+proto", false}}
	watches := make([]io.Reader, len(forms))
	for i, f := range forms {
		body := empty
		if f.text {
			body = base64.StdEncoding.AppendEncode(nil, empty)
		}
		resp := http1Call(t, s.httpAddr, http.MethodPost, healthpb.Health_Watch_FullMethodName, f.contentType, 0, body)
		watches[i] = resp.Body
		if f.text {
			watches[i] = &textReader{r: resp.Body}
		}
		if flags, msg := nextFrame(t, watches[i]); flags != 0 || !bytes.Equal(msg, []byte{8, 1}) {
			t.Fatalf("%s: first frame %#x %q, want SERVING", f.contentType, flags, msg)
		}
	}
	time.Sleep(10 * streamReadTimeout) // the bound has passed: the streams must be open still
	s.stop()                           // health goes NOT_SERVING: each open Watch reports it
	for i, f := range forms {
		if flags, msg := nextFrame(t, watches[i]); flags != 0 || !bytes.Equal(msg, []byte{8, 2}) {
			t.Errorf("%s: frame %#x %q after the stream read bound, want NOT_SERVING (the stream open)", f.contentType, flags, msg)
		}
	}
}

// TestRefusedTextBodyIsAnsweredAtOnce: a gRPC-Web text call over HTTP/1.1
// whose body is refused before its end (its text longer than one message's)
// is answered at once, closing the connection, as a binary one is
// (TestRefusedBodyClosesHTTP1Connection). It had kept the connection, so that
// net/http read what was left of the body (up to 256 KiB) before answering:
// a client that paused got its refusal only at the message timeout.
func TestRefusedTextBodyIsAnsweredAtOnce(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Upstream.BaseURL, cfg.UpstreamURLSet = "http://127.0.0.1:1", true // never reached
	cfg.MessageTimeout = time.Minute                                      // past http1Call's 20 s
	s := serveOnLoopback(t, cfg)
	text := bytes.Repeat([]byte("AAAA"), base64.StdEncoding.EncodedLen(5+maxMessageBytes)/4+1) // one group too many
	resp := http1Call(t, s.httpAddr, http.MethodPost, pb.ResellerService_GetReseller_FullMethodName, grpcWebTextType, 2*len(text), text)
	if got := resp.Header.Get("Grpc-Status"); got != strconv.Itoa(int(codes.ResourceExhausted)) || !resp.Close {
		t.Errorf("text body of %d characters over HTTP/1.1, paused: grpc-status %q (%s), Connection: close %v; want %d and a closed connection",
			len(text), got, resp.Header.Get("Grpc-Message"), resp.Close, codes.ResourceExhausted)
	}
}

// TestUnreadBodyIsBounded: a request to a path whose handler reads no body
// (the probes, /metrics) that declares a body and never sends it is answered
// once the message timeout has passed. net/http reads the rest of a request's
// body before answering over HTTP/1.1, and such a request had no read
// deadline: it was never answered and held its connection for good, so that
// 128 such connections (one header each, no call slot) kept every other
// caller and the kubelet's liveness probe off the HTTP port.
func TestUnreadBodyIsBounded(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Upstream.BaseURL, cfg.UpstreamURLSet = "http://127.0.0.1:1", true // never reached
	cfg.MessageTimeout = 200 * time.Millisecond
	s := serveOnLoopback(t, cfg)
	for _, path := range []string{gateway.HealthzPath, gateway.ReadyzPath, "/metrics"} {
		resp := http1Call(t, s.httpAddr, http.MethodGet, path, "text/plain", 1, nil) // fails after 20 s without an answer
		_ = resp.Body.Close()
	}
}
