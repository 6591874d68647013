package server

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"connectrpc.com/connect"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	grpcgzip "google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
)

// bombSize is what a bomb expands to: 1,024 times maxMessageBytes.
const bombSize = 64 << 20

// maxAlloc bounds what answering one request may allocate, the client's
// side included (about 1 MiB): expanding a bomb takes bombSize at least,
// and a message bound of grpc-go's default 4 MiB took 16 to 32 MiB.
const maxAlloc = 8 << 20

// bomb is bombSize spaces, gzip-compressed (about 64 KiB): valid JSON
// padding, so that without a bound it would even decode. A gzip stream may
// hold several members, which decompress one after the other: one member of
// 1 MiB, repeated.
var bomb = sync.OnceValue(func() []byte {
	var member bytes.Buffer
	w := gzip.NewWriter(&member)
	_, _ = w.Write(bytes.Repeat([]byte{' '}, 1<<20))
	_ = w.Close()
	return bytes.Repeat(member.Bytes(), bombSize>>20)
})

// rawCodec sends payload as the encoded request, whatever the message.
type rawCodec struct {
	name    string
	payload []byte
}

func (c rawCodec) Name() string                { return c.name }
func (c rawCodec) Marshal(any) ([]byte, error) { return c.payload, nil }
func (c rawCodec) Unmarshal(b []byte, m any) error {
	return proto.Unmarshal(b, m.(proto.Message))
}

// compressed is a "gzip" compressor that writes what it is given: the
// payload is compressed already.
type compressed struct{ io.Writer }

func (c *compressed) Close() error      { return nil }
func (c *compressed) Reset(w io.Writer) { c.Writer = w }

// outcome is what a call got: "ok", a Connect code name or, for REST, the
// HTTP status; and the google.rpc.ErrorInfo reason.
type outcome struct{ Code, Reason string }

// outcomeOf reads a connect-go or grpc-go client's error.
func outcomeOf(err error) outcome {
	if err == nil {
		return outcome{Code: "ok"}
	}
	var details []any
	var ce *connect.Error
	code := connect.CodeOf(err)
	if errors.As(err, &ce) {
		for _, d := range ce.Details() {
			v, _ := d.Value()
			details = append(details, v)
		}
	} else if st, ok := status.FromError(err); ok {
		code = connect.Code(st.Code()) // the same numbers
		details = st.Details()
	}
	return outcome{Code: code.String(), Reason: reasonOf(details)}
}

// reasonOf returns the ErrorInfo reason among details.
func reasonOf(details []any) string {
	for _, d := range details {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			return ei.GetReason()
		}
	}
	return ""
}

// TestRequestBodyBounded: on the HTTP port, every protocol bounds a request
// message after decompression at the gRPC port's receive limit. A 64 KiB
// gzip body that expands to 64 MiB gets RESOURCE_EXHAUSTED with ErrorInfo
// REQUEST_TOO_LARGE, and the process allocates far less than the expanded
// size while answering (TotalAlloc, which bounds the peak; the heap in use
// afterwards would miss it); the REST mirror answers a declared body over
// its bound with 413; normal compressed calls still work.
func TestRequestBodyBounded(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Sandbox, cfg.StartSandbox = true, sandbox.Start
	grpcAddr, base := startServe(t, cfg, io.Discard)
	method := base + pb.ResellerService_GetReseller_FullMethodName
	tooLarge := outcome{Code: "resource_exhausted", Reason: apierr.ReasonRequestTooLarge}

	// sendRaw sends payload as the request, compressed or not, with
	// connect-go's client in the protocol opts choose.
	sendRaw := func(client *http.Client, codec string, payload []byte, gz bool, opts ...connect.ClientOption) func(context.Context) outcome {
		opts = append(opts, connect.WithCodec(rawCodec{name: codec, payload: payload}))
		if gz {
			opts = append(opts,
				connect.WithAcceptCompression("gzip", func() connect.Decompressor { return new(gzip.Reader) }, func() connect.Compressor { return new(compressed) }),
				connect.WithSendCompression("gzip"))
		}
		c := connect.NewClient[emptypb.Empty, emptypb.Empty](client, method, opts...)
		return func(ctx context.Context) outcome {
			_, err := c.CallUnary(ctx, connect.NewRequest(&emptypb.Empty{}))
			return outcomeOf(err)
		}
	}
	// call makes a normal GetReseller call, gzip-compressed.
	call := func(client *http.Client, opts ...connect.ClientOption) func(context.Context) outcome {
		c := connect.NewClient[pb.GetResellerRequest, pb.Reseller](client, method, append(opts, connect.WithSendGzip())...)
		return func(ctx context.Context) outcome {
			req := connect.NewRequest(&pb.GetResellerRequest{ResellerId: sandbox.ContosoResellerID})
			req.Header().Set("Authorization", "Bearer "+sandbox.SampleToken)
			req.Header().Set("X-Tenant", sandbox.SampleTenant)
			_, err := c.CallUnary(ctx, req)
			return outcomeOf(err)
		}
	}
	overLimit := bytes.Repeat([]byte{' '}, 2*maxMessageBytes)
	// grpcGo sends overLimit with grpc-go's own client and gzip to addr:
	// grpc-go reads a status only from a well-formed trailers-only answer.
	grpcGo := func(addr string) func(context.Context) outcome {
		conn := dialGRPC(t, addr)
		codec := rawCodec{name: "proto", payload: overLimit}
		return func(ctx context.Context) outcome {
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+sandbox.SampleToken)
			return outcomeOf(conn.Invoke(ctx, pb.ResellerService_GetReseller_FullMethodName, &emptypb.Empty{}, &emptypb.Empty{},
				grpc.ForceCodec(codec), grpc.UseCompressor(grpcgzip.Name)))
		}
	}
	// rest sends GET with a body of 1 MiB to the REST mirror.
	rest := func(ctx context.Context) outcome {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/Resellers/"+sandbox.ContosoResellerID, bytes.NewReader(make([]byte, 1<<20)))
		if err != nil {
			return outcome{Code: err.Error()}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return outcome{Code: err.Error()}
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var p spb.Status
		_ = protojson.Unmarshal(body, &p)
		return outcome{Code: strconv.Itoa(resp.StatusCode), Reason: reasonOf(status.FromProto(&p).Details())}
	}

	tests := []struct {
		name string
		call func(context.Context) outcome
		want outcome
	}{
		{name: "connect bomb", call: sendRaw(http.DefaultClient, "proto", bomb(), true), want: tooLarge},
		{name: "connect json bomb", call: sendRaw(http.DefaultClient, "json", bomb(), true), want: tooLarge},
		{name: "grpc-web bomb", call: sendRaw(http.DefaultClient, "proto", bomb(), true, connect.WithGRPCWeb()), want: tooLarge},
		{name: "grpc-web json bomb", call: sendRaw(http.DefaultClient, "json", bomb(), true, connect.WithGRPCWeb()), want: tooLarge},
		{name: "grpc h2c bomb", call: sendRaw(h2cClient(), "proto", bomb(), true, connect.WithGRPC()), want: tooLarge},
		{name: "grpc h2c json bomb", call: sendRaw(h2cClient(), "json", bomb(), true, connect.WithGRPC()), want: tooLarge},
		{name: "grpc-go client over the limit", call: grpcGo(strings.TrimPrefix(base, "http://")), want: tooLarge},
		// The gRPC port: the same limit, grpc-go's own status.
		{name: "grpc port over the limit", call: grpcGo(grpcAddr), want: outcome{Code: "resource_exhausted"}},
		// Over the limit uncompressed: refused from its Content-Length,
		// before vanguard reads it.
		{name: "connect uncompressed over the limit", call: sendRaw(http.DefaultClient, "proto", overLimit, false), want: tooLarge},
		{name: "rest body over the mirror's bound", call: rest, want: outcome{Code: "413", Reason: apierr.ReasonRequestTooLarge}},
		{name: "connect chunked over the limit", call: chunked(method, overLimit), want: outcome{Code: "429 resource_exhausted"}},
		{name: "connect gzip", call: call(http.DefaultClient), want: outcome{Code: "ok"}},
		{name: "connect json gzip", call: call(http.DefaultClient, connect.WithProtoJSON()), want: outcome{Code: "ok"}},
		{name: "grpc-web gzip", call: call(http.DefaultClient, connect.WithGRPCWeb()), want: outcome{Code: "ok"}},
		{name: "grpc h2c gzip", call: call(h2cClient(), connect.WithGRPC()), want: outcome{Code: "ok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, alloc := allocated(t, tt.call)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
			if alloc > maxAlloc {
				t.Errorf("allocated %.1f MiB answering, want under %d MiB", mib(alloc), maxAlloc>>20)
			}
		})
	}
}

// allocated runs call with 20 s to go and returns its result and the bytes
// allocated meanwhile (TotalAlloc, which bounds the peak; the heap in use
// afterwards would miss it).
func allocated[T any](t *testing.T, call func(context.Context) T) (T, uint64) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got := call(ctx)
	runtime.ReadMemStats(&after)
	return got, after.TotalAlloc - before.TotalAlloc
}

// chunked posts body to a Connect method with no Content-Length (chunked)
// and returns the HTTP status and the Connect error code.
func chunked(url string, body []byte) func(context.Context) outcome {
	return func(ctx context.Context) outcome {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, io.MultiReader(bytes.NewReader(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Connect-Protocol-Version", "1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return outcome{Code: err.Error()}
		}
		defer resp.Body.Close()
		var e struct{ Code string }
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return outcome{Code: strconv.Itoa(resp.StatusCode) + " " + e.Code}
	}
}

// TestDeclaredBodyBounded: vanguard sizes its buffer from what a request
// declares (a Connect body's Content-Length, a message's envelope), up to
// 4 MiB, before reading it; the HTTP port refuses a declared length over the
// message bound first, so that a few bytes cannot make the process allocate
// megabytes (a hundred such requests held open took 428 MiB).
func TestDeclaredBodyBounded(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Sandbox, cfg.StartSandbox = true, sandbox.Start
	_, base := startServe(t, cfg, io.Discard)
	path := pb.ResellerService_GetReseller_FullMethodName
	envelope := func(n uint32) []byte { // a message header declaring n bytes, and 3 of them
		return append([]byte{0, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}, "abc"...)
	}
	// post sends body (declared whole) and returns the status code in the
	// answer's trailers, headers or gRPC-Web trailer frame.
	post := func(client *http.Client, ct string, body []byte) func(context.Context) string {
		return func(ctx context.Context) string {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(body))
			req.Header.Set("Content-Type", ct)
			resp, err := client.Do(req)
			if err != nil {
				return err.Error()
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			for _, h := range []http.Header{resp.Trailer, resp.Header} {
				if s := h.Get("Grpc-Status"); s != "" {
					return "grpc-status " + s
				}
			}
			_, s, _ := strings.Cut(string(b), "grpc-status:")
			return "grpc-status " + strings.TrimSpace(strings.SplitN(s, "\r\n", 2)[0])
		}
	}
	// lying sends a Connect request declaring 4 MiB over HTTP/1.1 with one
	// byte of it, and returns the answer's status line.
	lying := func(ctx context.Context) string {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			return err.Error()
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnect-Protocol-Version: 1\r\nContent-Length: %d\r\n\r\n{", path, 4<<20)
		line, err := bufio.NewReader(conn).ReadString('\n')
		if err != nil {
			return err.Error()
		}
		return strings.TrimSpace(line)
	}
	tests := []struct {
		name string
		call func(context.Context) string
		want string
	}{
		{"connect declares 4 MiB", lying, "HTTP/1.1 429 Too Many Requests"},
		{"grpc-web envelope declares 4 MiB", post(http.DefaultClient, "application/grpc-web+json", envelope(4<<20-1)), "grpc-status 8"},
		{"grpc h2c envelope declares 4 MiB", post(h2cClient(), "application/grpc+json", envelope(4<<20-1)), "grpc-status 8"},
		{"grpc-web-text envelope declares 4 MiB", post(http.DefaultClient, "application/grpc-web-text+json", []byte(base64.StdEncoding.EncodeToString(envelope(4<<20-1)))), "grpc-status 8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, alloc := allocated(t, tt.call)
			if got != tt.want {
				t.Errorf("answer %q, want %q", got, tt.want)
			}
			if alloc > 3<<20 { // 4 MiB and more before; the client and the race detector take some
				t.Errorf("allocated %.1f MiB answering, want under 3 MiB", mib(alloc))
			}
		})
	}
}

// TestEnvelopes: the envelope reader passes well-formed messages through
// unchanged, however the reads split them, and fails at the first envelope
// declaring more than maxDeclaredBytes, before returning any of its bytes.
func TestEnvelopes(t *testing.T) {
	env := func(n int) []byte {
		b := binary.BigEndian.AppendUint32([]byte{0}, uint32(n)) //nolint:gosec // G115: test sizes
		return append(b, bytes.Repeat([]byte{'x'}, min(n, 16))...)
	}
	ok := slices.Concat(env(3)[:8], env(0), env(maxDeclaredBytes)[:5], bytes.Repeat([]byte{'y'}, maxDeclaredBytes))
	for _, tt := range []struct {
		name    string
		body    []byte
		wantErr bool
	}{
		{"messages up to the bound", ok, false},
		{"the second over the bound", slices.Concat(env(3)[:8], env(maxDeclaredBytes+1)), true},
		{"a header cut short", env(2)[:3], false},
	} {
		for _, split := range []bool{false, true} {
			var r io.Reader = bytes.NewReader(tt.body)
			if split {
				r = iotest.OneByteReader(r)
			}
			e := &envelopes{Reader: r}
			got, err := io.ReadAll(e)
			if _, again := e.Read(make([]byte, 8)); err != nil && !errors.Is(again, err) {
				t.Errorf("%s (split %v): read after %v: %v, want the same error", tt.name, split, err, again)
			}
			switch {
			case tt.wantErr && (outcomeOf(err) != outcome{Code: "resource_exhausted", Reason: apierr.ReasonRequestTooLarge}):
				t.Errorf("%s (split %v): error %v, want REQUEST_TOO_LARGE", tt.name, split, err)
			case tt.wantErr && len(got) > 8+4: // at most the header short of its last byte
				t.Errorf("%s (split %v): passed %d bytes, want no whole header of the large envelope", tt.name, split, len(got))
			case !tt.wantErr && (err != nil || !bytes.Equal(got, tt.body)):
				t.Errorf("%s (split %v): got %d bytes, %v; want the body unchanged", tt.name, split, len(got), err)
			}
		}
	}
}

// TestRefusedBodyClosesHTTP1Connection: an RPC refused on the HTTP port for a
// body declared over the bound (unread) is answered over HTTP/1.1 with
// "Connection: close", so that net/http does not read what is left of the
// oversized body to keep the connection.
func TestRefusedBodyClosesHTTP1Connection(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Upstream.BaseURL, cfg.UpstreamURLSet = "http://127.0.0.1:1", true
	s := serveOnLoopback(t, cfg)
	body := `{"resellerId":"` + strings.Repeat("a", 2*maxDeclaredBytes) + `"}`
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.httpURL+pb.ResellerService_GetReseller_FullMethodName, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Connect-Protocol-Version", "1")
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode == http.StatusOK || !resp.Close {
		t.Errorf("Connect call with a %d-byte body over HTTP/1.1: %s, Connection: close %v; want a refusal that closes the connection", len(body), resp.Status, resp.Close)
	}
}

// TestBoundBody: boundBody's decisions on their own: a body declared at
// the bound passes and one over it is refused; one of unknown length is
// read up to the bound (at it: kept, whole; over it: refused); one that
// breaks off is the caller gone (CANCELLED), not a fault of the server's.
func TestBoundBody(t *testing.T) {
	overBound := bytes.NewReader(binary.BigEndian.AppendUint32([]byte{0}, maxDeclaredBytes+1)) // an envelope's head
	tests := []struct {
		name     string
		ct       string
		length   int64 // declared; -1: unknown
		body     io.Reader
		wantCode connect.Code // 0: passes
	}{
		{"declared at the bound", "application/json", maxDeclaredBytes, strings.NewReader("{}"), 0},
		{"declared over the bound", "application/json", maxDeclaredBytes + 1, strings.NewReader("{}"), connect.CodeResourceExhausted},
		{"unknown length, at the bound", "application/json", -1, strings.NewReader(strings.Repeat("x", maxDeclaredBytes)), 0},
		{"unknown length, over the bound", "application/json", -1, strings.NewReader(strings.Repeat("x", maxDeclaredBytes+1)), connect.CodeResourceExhausted},
		{"unknown length, broken off", "application/json", -1, io.MultiReader(strings.NewReader("{"), iotest.ErrReader(io.ErrUnexpectedEOF)), connect.CodeCanceled},
		{"a Connect stream's envelope over the bound", "application/connect+proto", 5, overBound, connect.CodeResourceExhausted},
		{"an envelope's head cut short", "application/grpc", 4, bytes.NewReader([]byte{0, 0xff, 0xff, 0xff}), 0}, // vanguard's to refuse
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/cloudcockpit.v1.ResellerService/GetReseller", tt.body)
			r.Header.Set("Content-Type", tt.ct)
			r.ContentLength = tt.length
			err := boundBody(r)
			if got := connect.CodeOf(err); err != nil && got != tt.wantCode || err == nil && tt.wantCode != 0 {
				t.Fatalf("boundBody() = %v (%v), want code %v", err, got, tt.wantCode)
			}
			if err == nil && tt.length < 0 && r.ContentLength != maxDeclaredBytes {
				t.Errorf("ContentLength after reading = %d, want the body's %d", r.ContentLength, maxDeclaredBytes)
			}
		})
	}
}

// TestCorruptGzipIsInvalidArgument: a request whose gzip encoding is
// corrupt (not gzip at all, or cut short) is the caller's mistake, as
// connect-go itself answers it: INVALID_ARGUMENT with ErrorInfo
// INVALID_REQUEST, in every protocol of the HTTP port, not UNKNOWN (HTTP 500)
// quoting compress/gzip's error.
func TestCorruptGzipIsInvalidArgument(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Upstream.BaseURL, cfg.UpstreamURLSet = "http://127.0.0.1:1", true // never reached
	_, base := startServe(t, cfg, io.Discard)
	method := base + pb.ResellerService_GetReseller_FullMethodName

	var whole bytes.Buffer
	w := gzip.NewWriter(&whole)
	_, _ = w.Write([]byte(`{"resellerId":"` + sandbox.ContosoResellerID + `"}`))
	_ = w.Close()
	payloads := map[string][]byte{
		"not gzip": []byte("this is not gzip at all"),
		"cut":      whole.Bytes()[:whole.Len()-6], // the header and some data, no trailer
	}
	protocols := map[string]struct {
		client *http.Client
		opts   []connect.ClientOption
	}{
		"connect":  {http.DefaultClient, nil},
		"grpc-web": {http.DefaultClient, []connect.ClientOption{connect.WithGRPCWeb()}},
		"grpc h2c": {h2cClient(), []connect.ClientOption{connect.WithGRPC()}},
	}
	want := outcome{Code: "invalid_argument", Reason: apierr.ReasonInvalidRequest}
	for pname, p := range protocols {
		for _, codec := range []string{"proto", "json"} {
			for name, payload := range payloads {
				t.Run(pname+" "+codec+" "+name, func(t *testing.T) {
					ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
					defer cancel()
					opts := append(slices.Clone(p.opts), connect.WithCodec(rawCodec{name: codec, payload: payload}),
						connect.WithAcceptCompression("gzip", func() connect.Decompressor { return new(gzip.Reader) }, func() connect.Compressor { return new(compressed) }),
						connect.WithSendCompression("gzip"))
					c := connect.NewClient[emptypb.Empty, emptypb.Empty](p.client, method, opts...)
					req := connect.NewRequest(&emptypb.Empty{})
					req.Header().Set("Authorization", "Bearer "+sandbox.SampleToken)
					req.Header().Set("X-Tenant", sandbox.SampleTenant)
					_, err := c.CallUnary(ctx, req)
					if got := outcomeOf(err); got != want {
						t.Errorf("outcome %+v (%v), want %+v", got, err, want)
					}
				})
			}
		}
	}
}
