package server

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"golang.org/x/net/http2"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/gateway"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/telemetry"
)

// admissionServer serves cfg (limits set by the caller) in front of an
// upstream that answers every reseller, and returns the gRPC address, the
// HTTP address, and a healthy caller for either port, each port on a
// connection of its own, sending header (name, value pairs) besides: it returns
// "OK" or the refusal's code and ErrorInfo reason.
func admissionServer(t *testing.T, cfg Config, upstreamDelay time.Duration) (addrs map[string]string, call func(port string, header ...string) string) {
	t.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if upstreamDelay > 0 {
			select {
			case <-time.After(upstreamDelay): // a slow upstream
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"`+errTestReseller+`","companyName":"Contoso"}`)
	}))
	t.Cleanup(up.Close)
	cfg.Upstream.BaseURL, cfg.UpstreamURLSet = up.URL, true
	grpcAddr, base := startServe(t, cfg, io.Discard)
	client := pb.NewResellerServiceClient(dialGRPC(t, grpcAddr))
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	call = func(port string, header ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if port == "grpc" {
			ctx = metadata.AppendToOutgoingContext(ctx, append([]string{"authorization", "Bearer test-token", "x-tenant", errTestTenant}, header...)...)
			_, err := client.GetReseller(ctx, &pb.GetResellerRequest{ResellerId: errTestReseller})
			if err == nil {
				return "OK"
			}
			reason := ""
			for _, d := range status.Convert(err).Details() {
				if info, ok := d.(*errdetails.ErrorInfo); ok {
					reason = info.GetReason()
				}
			}
			return status.Code(err).String() + " " + reason
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/Resellers/"+errTestReseller, nil)
		req.Header.Set("Authorization", "Bearer test-token")
		req.Header.Set("X-Tenant", errTestTenant)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Add(header[i], header[i+1])
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		if cc := resp.Header.Get("Cache-Control"); cc != "private, no-store" { // a refusal too: docs/rest-mirror.md
			return resp.Status + " with Cache-Control " + cc
		}
		if resp.StatusCode == http.StatusOK {
			return "OK"
		}
		var body struct {
			Details []struct {
				Reason string `json:"reason"`
			} `json:"details"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		reason := ""
		if len(body.Details) > 0 {
			reason = body.Details[0].Reason
		}
		return resp.Status + " " + reason
	}
	return map[string]string{"grpc": grpcAddr, "http": strings.TrimPrefix(base, "http://")}, call
}

// callUntil repeats call until it returns want, for at most 10s, and returns
// its last answer: a slot is released when the server has ended the stream,
// a moment after the client saw its end.
func callUntil(call func(string, ...string) string, port, want string) string {
	var got string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if got = call(port); got == want {
			break
		}
	}
	return got
}

// TestCallsInFlightCap: streams that send headers and never their message
// hold call slots; when none is left, a healthy caller on its own
// connection is refused at once with RESOURCE_EXHAUSTED (429 on the HTTP
// port) and TOO_MANY_CALLS_IN_FLIGHT, on both ports (they share the slots),
// and so is one more stream; the caller is served again once the holding
// connection closes.
func TestCallsInFlightCap(t *testing.T) {
	for _, port := range []string{"grpc", "http"} {
		t.Run(port, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.MaxCalls = 3
			cfg.MessageTimeout = time.Minute // held until the connection closes
			addrs, call := admissionServer(t, cfg, 0)
			flood := dialH2(t, addrs[port])
			ended := make(chan uint32, 8)
			go func() {
				_ = flood.readFrames(func(f http2.Frame) {
					if h, ok := f.(*http2.HeadersFrame); ok && h.StreamEnded() {
						ended <- h.StreamID
					}
					if r, ok := f.(*http2.RSTStreamFrame); ok {
						ended <- r.StreamID
					}
				})
			}()
			start := time.Now()
			for id := uint32(1); id <= 7; id += 2 { // three held streams take every slot
				if err := flood.openStream(id); err != nil {
					t.Fatal(err)
				}
			}
			select {
			case id := <-ended:
				// The tap handle admits a connection's streams in order;
				// net/http runs each stream's handler on a goroutine of its
				// own, in no set order, so any one of them may be the fourth.
				if id != 7 && port == "grpc" {
					t.Fatalf("stream %d ended, want 7 (the one over the cap)", id)
				}
				t.Logf("stream over the cap refused after %v", time.Since(start))
			case <-time.After(10 * time.Second):
				t.Fatal("the stream over the cap was not refused within 10s")
			}
			other := map[string]string{"grpc": "http", "http": "grpc"}[port]
			got := []string{call(port), call(other)}
			_ = flood.conn.Close()
			got = append(got, callUntil(call, port, "OK"))
			refused := map[string]string{"grpc": "ResourceExhausted TOO_MANY_CALLS_IN_FLIGHT", "http": "429 Too Many Requests TOO_MANY_CALLS_IN_FLIGHT"}
			if diff := cmp.Diff([]string{refused[port], refused[other], "OK"}, got); diff != "" {
				t.Errorf("healthy caller's answers (-want +got):\n%s", diff)
			}
			if n := refusedCalls(t, scrapePlain(t, addrs["http"]), "too_many_calls"); n < 3 {
				t.Errorf("too_many_calls refusals counted: %v, want at least 3 (a stream, two healthy calls)", n)
			}
		})
	}
}

// TestMessageTimeout: a call that sends its headers and not its message is
// ended after MessageTimeout, on the gRPC port, on the HTTP port over HTTP/2
// (an RPC path, through the transcoder) and over HTTP/1.1 (a body that never
// comes), and its slot serves a healthy caller again.
func TestMessageTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	tests := []struct {
		name, port string
		hold       func(t *testing.T, addr string) (ended <-chan struct{})
	}{
		{"gRPC", "grpc", holdH2},
		{"HTTP/2 RPC path", "http", holdH2},
		{"HTTP/1.1 Connect body", "http", func(t *testing.T, addr string) <-chan struct{} {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = c.Close() })
			_ = c.SetDeadline(time.Now().Add(30 * time.Second))
			_, _ = io.WriteString(c, "POST /cloudcockpit.v1.ResellerService/GetReseller HTTP/1.1\r\nHost: facade\r\n"+
				"Content-Type: application/json\r\nConnect-Protocol-Version: 1\r\nContent-Length: 100\r\n\r\n{")
			ended := make(chan struct{})
			go func() {
				line, err := bufio.NewReader(c).ReadString('\n') // the answer's status line
				if err != nil {
					t.Errorf("held HTTP/1.1 call: %q, %v", line, err)
				}
				close(ended)
			}()
			return ended
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.MaxCalls = 1
			cfg.MessageTimeout = timeout
			addrs, call := admissionServer(t, cfg, 0)
			start := time.Now()
			ended := tt.hold(t, addrs[tt.port])
			select {
			case <-ended:
				if d := time.Since(start); d < timeout {
					t.Errorf("the held call ended after %v, before the message timeout %v", d, timeout)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("the held call did not end within 20s")
			}
			if got := callUntil(call, tt.port, "OK"); got != "OK" {
				t.Errorf("healthy call after the held one ended: %s", got)
			}
			if n := refusedCalls(t, scrapePlain(t, addrs["http"]), "message_timeout"); n != 1 {
				t.Errorf("message_timeout refusals counted: %v, want 1", n)
			}
		})
	}
}

// TestMessageTimeoutNamesNoAddress: an HTTP/1.1 call whose body stops
// before its end is cut by the message timeout, and its answer names neither
// the server's socket address nor the client's. The read error's text ("read
// tcp 10.0.0.5:8080->10.0.0.9:51234: i/o timeout") had been the message of
// the gRPC-Web text and the chunked Connect answers.
func TestMessageTimeoutNamesNoAddress(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MessageTimeout = 200 * time.Millisecond
	addrs, _ := admissionServer(t, cfg, 0)
	frame := webFrame(t, &pb.GetResellerRequest{ResellerId: "11111111-1111-4111-8111-111111111111"})
	text := base64.StdEncoding.EncodeToString(frame)
	tests := []struct {
		name, contentType, body string
		chunked                 bool
	}{
		{name: "gRPC-Web text", contentType: grpcWebTextType, body: text},
		{name: "gRPC-Web text, chunked", contentType: grpcWebTextType, body: text, chunked: true},
		{name: "Connect", contentType: "application/json", body: `{"resellerId":"11111111-1111-4111-8111-111111111111"}`},
		{name: "Connect, chunked", contentType: "application/json", body: `{"resellerId":"11111111-1111-4111-8111-111111111111"}`, chunked: true},
		{name: "gRPC-Web", contentType: grpcWebType, body: string(frame)},
		{name: "gRPC-Web, chunked", contentType: grpcWebType, body: string(frame), chunked: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addrs["http"])
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			head := "POST " + pb.ResellerService_GetReseller_FullMethodName + " HTTP/1.1\r\nHost: facade\r\nContent-Type: " + tt.contentType +
				"\r\nConnect-Protocol-Version: 1\r\nAuthorization: Bearer token\r\nX-Tenant: portal.cloudcockpit.com\r\n"
			half := tt.body[:len(tt.body)/2]
			if tt.chunked {
				head += "Transfer-Encoding: chunked\r\n\r\n" + strconv.FormatInt(int64(len(half)), 16) + "\r\n" + half + "\r\n"
			} else {
				head += "Content-Length: " + strconv.Itoa(len(tt.body)) + "\r\n\r\n" + half
			}
			if _, err := io.WriteString(c, head); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			answer := fmt.Sprint(resp.Status, resp.Header, string(body))
			for _, addr := range []string{c.LocalAddr().String(), c.RemoteAddr().String()} {
				if strings.Contains(answer, addr) {
					t.Errorf("the answer names %s: %s", addr, answer)
				}
			}
		})
	}
}

// TestMessageTimeoutInGRPCWebOverHTTP1: a binary gRPC-Web call over HTTP/1.1
// whose body stops before its end is answered CANCELLED, as gRPC-Web text
// and Connect are. net/http cancels the request as the connection's read
// fails; when grpc-go sees that before it writes its status it writes
// nothing, which vanguard v0.4.0 had answered UNKNOWN "response uses incorrect
// codec: expecting "proto" but instead got "?"" (a third of the calls here):
// streamBodies now writes the CANCELLED.
func TestMessageTimeoutInGRPCWebOverHTTP1(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MessageTimeout = 100 * time.Millisecond
	addrs, _ := admissionServer(t, cfg, 0)
	frame := webFrame(t, &pb.GetResellerRequest{ResellerId: "11111111-1111-4111-8111-111111111111"})
	for i := range 20 { // a race: each call may lose it
		c, err := net.Dial("tcp", addrs["http"])
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		_, _ = io.WriteString(c, "POST "+pb.ResellerService_GetReseller_FullMethodName+" HTTP/1.1\r\nHost: facade\r\nContent-Type: "+grpcWebType+
			"\r\nAuthorization: Bearer token\r\nX-Tenant: portal.cloudcockpit.com\r\nContent-Length: "+strconv.Itoa(len(frame))+"\r\n\r\n"+string(frame[:10]))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("call %d: no answer: %v", i, err)
		}
		_ = resp.Body.Close()
		_ = c.Close()
		if got := resp.Header.Get("Grpc-Status"); got != strconv.Itoa(int(codes.Canceled)) {
			t.Errorf("call %d: grpc-status %q (%s), want %d (CANCELLED)", i, got, resp.Header.Get("Grpc-Message"), codes.Canceled)
		}
	}
}

// holdH2 opens one headers-only GetReseller stream over HTTP/2 and reports
// when the server ends it.
func holdH2(t *testing.T, addr string) <-chan struct{} {
	c := dialH2(t, addr)
	if err := c.openStream(1); err != nil {
		t.Fatal(err)
	}
	ended := make(chan struct{})
	go func() {
		done := false
		_ = c.readFrames(func(f http2.Frame) {
			end := false
			switch f := f.(type) {
			case *http2.HeadersFrame:
				end = f.StreamEnded()
			case *http2.DataFrame:
				end = f.StreamEnded()
			case *http2.RSTStreamFrame:
				end = true
			}
			if end && !done {
				done = true
				close(ended)
			}
		})
	}()
	return ended
}

// scrapePlain returns the /metrics text of the HTTP port at addr.
func scrapePlain(t *testing.T, addr string) string {
	t.Helper()
	_, body, err := get(t.Context(), "http://"+addr+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// refusedCalls reads cloudcockpit_refused_calls_total{reason} in metrics.
func refusedCalls(t *testing.T, metrics, reason string) float64 {
	t.Helper()
	prefix := `cloudcockpit_refused_calls_total{reason="` + reason + `"} `
	for line := range strings.Lines(metrics) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), prefix); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s... in /metrics", prefix)
	return 0
}

// TestConnectionCap: each port accepts at most MaxConnections connections
// with calls in progress; one more is accepted only once one of them closes
// (idle ones on the HTTP port make way: TestIdleConnectionsMakeWayAtTheCap).
func TestConnectionCap(t *testing.T) {
	for _, port := range []string{"grpc", "http"} {
		t.Run(port, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.MaxConnections = 2
			// The streams stay held until their connection closes: once the message
			// timeout ended them, a connection would be idle and make way.
			cfg.MessageTimeout = time.Minute
			addrs, _ := admissionServer(t, cfg, 0)
			// One connection is the healthy caller's own (gRPC's is lazy:
			// not yet dialled; the HTTP client has none yet).
			first := dialH2(t, addrs[port])
			second := dialH2(t, addrs[port])
			for _, c := range []*h2Conn{first, second} {
				if _, err := c.fr.ReadFrame(); err != nil { // the server's SETTINGS: accepted
					t.Fatal(err)
				}
				if err := c.openStream(1); err != nil { // a call in progress: not idle
					t.Fatal(err)
				}
				if err := c.fr.WritePing(false, [8]byte{}); err != nil { // acknowledged once the stream is read
					t.Fatal(err)
				}
				for acked := false; !acked; {
					f, err := c.fr.ReadFrame()
					if err != nil {
						t.Fatal(err)
					}
					p, ok := f.(*http2.PingFrame)
					acked = ok && p.IsAck()
				}
			}
			third := dialH2(t, addrs[port])
			settings := make(chan error, 1)
			go func() {
				_, err := third.fr.ReadFrame()
				settings <- err
			}()
			select {
			case err := <-settings:
				t.Fatalf("a third connection was served (%v), over the cap of 2", err)
			case <-time.After(300 * time.Millisecond):
			}
			_ = first.conn.Close()
			select {
			case err := <-settings:
				if err != nil {
					t.Fatalf("third connection: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the third connection was not served within 10s of another closing")
			}
		})
	}
}

// TestMessageTimeoutLifted: once a call's body has been read, the message
// timeout no longer applies: a Connect call over HTTP/1.1 whose upstream
// answers after several message timeouts still gets its answer (net/http
// would cancel the request when the connection's read deadline passes).
func TestMessageTimeoutLifted(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MessageTimeout = 100 * time.Millisecond
	addrs, call := admissionServer(t, cfg, 5*cfg.MessageTimeout)
	if got := call("http"); got != "OK" { // REST: no body
		t.Errorf("REST call: %s", got)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+addrs["http"]+"/cloudcockpit.v1.ResellerService/GetReseller",
		strings.NewReader(`{"resellerId":"`+errTestReseller+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Connect-Protocol-Version", "1")
	req.Header.Set("Authorization", "Bearer test-token")
	req.Header.Set("X-Tenant", errTestTenant)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("Connect call over HTTP/1.1: %s %s", resp.Status, body)
	}
}

// TestStreamsHaveSlotsOfTheirOwn: streaming calls, which may stay open as
// long as their connection (a client's health Watch), take slots apart from
// the unary calls', half as many: held streams refuse more streams, never a
// unary call on either port.
func TestStreamsHaveSlotsOfTheirOwn(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxCalls = 2 // one stream slot
	addrs, call := admissionServer(t, cfg, 0)
	health := healthpb.NewHealthClient(dialGRPC(t, addrs["grpc"]))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	watch := func() error {
		w, err := health.Watch(ctx, &healthpb.HealthCheckRequest{})
		if err == nil {
			_, err = w.Recv()
		}
		return err
	}
	if err := watch(); err != nil {
		t.Fatalf("the first Watch: %v", err)
	}
	if err := watch(); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("a second Watch with one stream slot: %v, want RESOURCE_EXHAUSTED", err)
	}
	for _, port := range []string{"grpc", "http", "grpc"} { // two unary calls at once would fit too
		if got := call(port); got != "OK" {
			t.Errorf("a unary call on the %s port while a stream holds its slot: %s", port, got)
		}
	}
}

// TestStreamsTakeNoCertificateShare: with mutual TLS, a certificate's
// streams take none of its share of the calls, so that its health Watch
// streams never refuse its unary calls.
func TestStreamsTakeNoCertificateShare(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxCalls = 4 // a share of 2 per certificate; 2 stream slots
	a := newAdmission(cfg, telemetry.NewMetrics(telemetry.Build{}))
	a.streaming = map[string]bool{"/grpc.health.v1.Health/Watch": true}
	for i := range 2 {
		if _, refused := a.admit("spiffe://caller", "", "", "/grpc.health.v1.Health/Watch", 0); refused != nil {
			t.Fatalf("stream %d: %v", i, refused.Message())
		}
	}
	for i := range 2 {
		if _, refused := a.admit("spiffe://caller", "", "", pb.ResellerService_GetReseller_FullMethodName, 0); refused != nil {
			t.Errorf("unary call %d while the certificate holds 2 streams: %v", i, refused.Message())
		}
	}
}

// TestStreamsHoldNoUnaryHeaderBytes: streams, which may last as long as their
// connection, draw their large headers on a budget of their own (half the calls'), as they take
// slots of their own: held streams that hold theirs refuse more such streams,
// never a unary call with large headers (a token over 4 KiB).
func TestStreamsHoldNoUnaryHeaderBytes(t *testing.T) {
	a := newAdmission(DefaultConfig(), telemetry.NewMetrics(telemetry.Build{}))
	const watch = "/grpc.health.v1.Health/Watch"
	a.streaming = map[string]bool{watch: true}
	held := 0
	for ; held < DefaultMaxCalls/2; held++ {
		if _, refused := a.admit("", "", "", watch, maxHeaderListSize); refused != nil {
			break
		}
	}
	if _, refused := a.admit("", "", "", watch, maxHeaderListSize); apierr.InfoOf(refused).GetReason() != apierr.ReasonLargeHeaders {
		t.Fatalf("a stream with large headers once %d hold theirs: refused %v, want %s", held, refused, apierr.ReasonLargeHeaders)
	}
	if want := int(headerBudget / 2 / (maxHeaderListSize - freeHeaderBytes)); held != want {
		t.Errorf("streams with large headers admitted: %d, want %d (half the budget of large headers)", held, want)
	}
	if _, refused := a.admit("", "", "", pb.ResellerService_GetReseller_FullMethodName, maxHeaderListSize); refused != nil {
		t.Errorf("a unary call with large headers while %d streams hold theirs: %s (%s), want admitted", held, refused.Message(), apierr.InfoOf(refused).GetReason())
	}
}

// TestReflectionStreamsAreFew: reflection streams, whose answers their
// caller can make large (an error answer echoes the request) and which hold
// up to about 1 MiB each while unread, get at most maxReflectionStreams slots of
// the process, on both ports; a health Watch is still admitted beside them.
func TestReflectionStreamsAreFew(t *testing.T) {
	a := newAdmission(DefaultConfig(), telemetry.NewMetrics(telemetry.Build{}))
	const v1, v1alpha = reflectionv1.ServerReflection_ServerReflectionInfo_FullMethodName, reflectionv1alpha.ServerReflection_ServerReflectionInfo_FullMethodName
	a.streaming = map[string]bool{v1: true, v1alpha: true, "/grpc.health.v1.Health/Watch": true}
	var releases []func()
	for i := range maxReflectionStreams {
		release, refused := a.admit("", "", "", []string{v1, v1alpha}[i%2], 0)
		if refused != nil {
			t.Fatalf("reflection stream %d: %v", i, refused.Message())
		}
		releases = append(releases, release)
	}
	if _, refused := a.admit("", "", "", v1, 0); refused == nil || refused.Code() != codes.ResourceExhausted {
		t.Errorf("reflection stream %d: admitted, want RESOURCE_EXHAUSTED", maxReflectionStreams+1)
	}
	if _, refused := a.admit("", "", "", "/grpc.health.v1.Health/Watch", 0); refused != nil {
		t.Errorf("a Watch beside %d reflection streams: %v", maxReflectionStreams, refused.Message())
	}
	releases[0]()
	if _, refused := a.admit("", "", "", v1alpha, 0); refused != nil {
		t.Errorf("a reflection stream once one ended: %v", refused.Message())
	}
}

// deadlineRecorder is a ResponseWriter that records the read deadlines set
// on it through an http.ResponseController.
type deadlineRecorder struct {
	*httptest.ResponseRecorder
	deadlines, writeDeadlines []time.Time
}

func (w *deadlineRecorder) SetReadDeadline(d time.Time) error {
	w.deadlines = append(w.deadlines, d)
	return nil
}

func (w *deadlineRecorder) SetWriteDeadline(d time.Time) error {
	w.writeDeadlines = append(w.writeDeadlines, d)
	return nil
}

// slowBody reads nothing at first, then, a pause later, its message.
type slowBody struct {
	reads int
	pause time.Duration
}

func (b *slowBody) Read(p []byte) (int, error) {
	switch b.reads++; b.reads {
	case 1:
		return 0, nil
	case 2:
		time.Sleep(b.pause) // a slow peer: the client's bytes come later
		return copy(p, "a message"), nil
	}
	return 0, io.EOF
}

// TestReadDeadlines: on the HTTP port a request's body must arrive within
// -message-timeout; once read, a unary call's deadline is cleared, while a
// stream's is moved, on its first bytes (not on an empty read), to the
// stream read bound, then cleared once read (TestHTTP1StreamOutlivesItsBodyBound). A unary
// answer gets one write deadline when it starts; a stream's none.
func TestReadDeadlines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.MessageTimeout = 200 * time.Millisecond
		a := newAdmission(cfg, telemetry.NewMetrics(telemetry.Build{}))
		const stream = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
		a.streaming = map[string]bool{stream: true}
		h := a.http(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.ReadAll(r.Body)
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte("an "))
			_, _ = w.Write([]byte("answer"))
		}))
		const pause = 100 * time.Millisecond
		for _, tt := range []struct {
			path      string
			want      func(start time.Time) []time.Time
			wantWrite func(start time.Time) []time.Time
		}{
			{
				pb.ResellerService_GetReseller_FullMethodName,
				func(start time.Time) []time.Time { return []time.Time{start.Add(cfg.MessageTimeout), {}} },
				func(start time.Time) []time.Time { return []time.Time{start.Add(pause + answerWriteTimeout)} },
			},
			{
				stream,
				func(start time.Time) []time.Time {
					return []time.Time{start.Add(cfg.MessageTimeout), start.Add(pause + streamReadTimeout), {}}
				},
				func(time.Time) []time.Time { return nil },
			},
		} {
			start := time.Now()
			w := &deadlineRecorder{ResponseRecorder: httptest.NewRecorder()}
			h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, tt.path, &slowBody{pause: pause}))
			if want := tt.want(start); !slices.EqualFunc(w.deadlines, want, time.Time.Equal) {
				t.Errorf("%s: read deadlines %v, want %v", tt.path, w.deadlines, want)
			}
			if want := tt.wantWrite(start); !slices.EqualFunc(w.writeDeadlines, want, time.Time.Equal) {
				t.Errorf("%s: write deadlines %v, want %v", tt.path, w.writeDeadlines, want)
			}
		}
		if streamReadTimeout <= 0 || streamReadTimeout > time.Hour {
			t.Errorf("streamReadTimeout = %v, want a bound of at most an hour", streamReadTimeout)
		}
	})
}

// TestRefusedCallGivesItsCertificateShareBack: a call refused because the
// process has no slot left gives back the slot of its certificate's share it
// took first; once the process has room again, that certificate is served, not
// refused for a share it does not hold.
func TestRefusedCallGivesItsCertificateShareBack(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxCalls = 2 // a share of 1 per certificate
	a := newAdmission(cfg, telemetry.NewMetrics(telemetry.Build{}))
	const method = pb.ResellerService_GetReseller_FullMethodName
	var releases []func()
	for i := range 2 { // the process's slots, taken by calls without a certificate
		release, refused := a.admit("", "", "", method, 0)
		if refused != nil {
			t.Fatalf("call %d: %v", i, refused.Message())
		}
		releases = append(releases, release)
	}
	if _, refused := a.admit("spiffe://caller", "", "", method, 0); refused == nil || apierr.InfoOf(refused).GetReason() != apierr.ReasonTooManyCalls {
		t.Fatalf("a certificate's call with no process slot left: refused %v, want %s", refused, apierr.ReasonTooManyCalls)
	}
	for _, release := range releases {
		release()
	}
	release, refused := a.admit("spiffe://caller", "", "", method, 0)
	if refused != nil {
		t.Fatalf("the certificate's call once slots are free: refused with %s (%s), want admitted", refused.Message(), apierr.InfoOf(refused).GetReason())
	}
	release()
}

// TestLargeHeadersRefusalGivesTheCertificateShareBack: a call refused for
// its large headers gives back the slot of its certificate's share too.
func TestLargeHeadersRefusalGivesTheCertificateShareBack(t *testing.T) {
	defer func(b int64) { headerBudget = b }(headerBudget)
	headerBudget = 0
	cfg := DefaultConfig()
	cfg.MaxCalls = 2 // a share of 1 per certificate
	a := newAdmission(cfg, telemetry.NewMetrics(telemetry.Build{}))
	const method = pb.ResellerService_GetReseller_FullMethodName
	if _, refused := a.admit("spiffe://caller", "", "", method, maxHeaderListSize); apierr.InfoOf(refused).GetReason() != apierr.ReasonLargeHeaders {
		t.Fatalf("a certificate's call with large headers and no budget: refused %v, want %s", refused, apierr.ReasonLargeHeaders)
	}
	release, refused := a.admit("spiffe://caller", "", "", method, 0)
	if refused != nil {
		t.Fatalf("the certificate's next call: refused with %s (%s), want admitted", refused.Message(), apierr.InfoOf(refused).GetReason())
	}
	release()
}

// TestReleaseGivesTheCertificateShareBack: a certificate's calls, one after
// another, each give back their slot of its share when they end: with a share
// of 1, the certificate's every next call is admitted.
func TestReleaseGivesTheCertificateShareBack(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxCalls = 2 // a share of 1 per certificate
	a := newAdmission(cfg, telemetry.NewMetrics(telemetry.Build{}))
	for i := range 3 {
		release, refused := a.admit("spiffe://caller", "", "", pb.ResellerService_GetReseller_FullMethodName, 0)
		if refused != nil {
			t.Fatalf("call %d, the previous ones ended: refused with %s (%s)", i, refused.Message(), apierr.InfoOf(refused).GetReason())
		}
		release()
	}
}

// TestEndedStreamCountsNoMessageTimeout: a gRPC stream that ends before its
// message timer fires (its client gave up, or grpc-go refused it before any
// interceptor ran) stops the timer with it: the message-timeout refusals metric
// counts only calls that the timer cut.
func TestEndedStreamCountsNoMessageTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.MessageTimeout = time.Second
		a := newAdmission(cfg, telemetry.NewMetrics(telemetry.Build{}))
		ctx, cancel := context.WithCancel(t.Context())
		if _, err := a.tap(ctx, &tap.Info{FullMethodName: pb.ResellerService_GetReseller_FullMethodName}); err != nil {
			t.Fatal(err)
		}
		cancel()                             // the stream ends before its message arrived
		<-time.After(2 * cfg.MessageTimeout) // at once in the bubble: past the timer's time
		synctest.Wait()
		var m dto.Metric
		if err := a.timedOut.Write(&m); err != nil {
			t.Fatal(err)
		}
		if n := m.GetCounter().GetValue(); n != 0 {
			t.Errorf("message-timeout refusals = %v after a stream that ended in time, want 0", n)
		}
	})
}

// TestMessageTimeoutLiftedOnTheGRPCPort: once a unary call's request message
// has arrived, the message timeout no longer applies on the gRPC port either: a
// call whose upstream answers after several message timeouts gets its answer,
// not CANCELLED. (TestMessageTimeoutLifted covers the HTTP port.)
func TestMessageTimeoutLiftedOnTheGRPCPort(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MessageTimeout = 100 * time.Millisecond
	_, call := admissionServer(t, cfg, 5*cfg.MessageTimeout)
	if got := call("grpc"); got != "OK" {
		t.Errorf("gRPC call answered after 5 message timeouts: %s, want OK", got)
	}
}

// TestProbesNeedNoCallSlot: liveness and readiness are answered even when the
// process has no call slot left, so that a busy server is not taken for a dead
// or unready one.
func TestProbesNeedNoCallSlot(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxCalls = 1
	a := newAdmission(cfg, telemetry.NewMetrics(telemetry.Build{}))
	release, refused := a.admit("", "", "", pb.ResellerService_GetReseller_FullMethodName, 0)
	if refused != nil {
		t.Fatal(refused.Message())
	}
	defer release()
	h := a.http(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	for _, path := range []string{gateway.HealthzPath, gateway.ReadyzPath} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Code != http.StatusOK {
			t.Errorf("GET %s with every call slot taken: %d %s, want 200", path, w.Code, w.Body)
		}
	}
}

// TestStreamOutlivesTheMessageTimeout: a streaming call whose first message has
// arrived (a health Watch) is not cut by the message timeout: the stream
// interceptor stops the timer on the first message.
func TestStreamOutlivesTheMessageTimeout(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Upstream.BaseURL, cfg.UpstreamURLSet = "http://127.0.0.1:1", true
	cfg.MessageTimeout = time.Second // the first message's margin on a loaded machine (250ms failed under -race with both cores busy)
	s := serveOnLoopback(t, cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	w, err := healthpb.NewHealthClient(dialGRPC(t, s.grpcAddr)).Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Recv(); err != nil {
		t.Fatal(err)
	}
	_, err = w.Recv() // nothing changes: ends with the caller's 3s deadline
	// The server's copy of the deadline can end the stream first (CANCELED
	// "Stream has ended.") when the client's timer runs late on a busy machine.
	deadline, _ := ctx.Deadline()
	if code := status.Code(err); time.Now().Before(deadline) || (code != codes.DeadlineExceeded && code != codes.Canceled) {
		t.Errorf("Watch stream after 3 message timeouts: %v, %v before the caller's deadline; want it open until then", err, time.Until(deadline))
	}
}

// TestAgedConnectionEndsHeldStreams: a gRPC connection past its maximum age
// gives its streams the shutdown timeout to end (MaxConnectionAgeGrace), then
// closes: a held stream (a health Watch) cannot keep it open for good.
func TestAgedConnectionEndsHeldStreams(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Upstream.BaseURL, cfg.UpstreamURLSet = "http://127.0.0.1:1", true
	cfg.GRPCMaxConnectionAge, cfg.ShutdownTimeout = 100*time.Millisecond, 200*time.Millisecond
	s := serveOnLoopback(t, cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	w, err := healthpb.NewHealthClient(dialGRPC(t, s.grpcAddr)).Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Recv(); err != nil {
		t.Fatal(err)
	}
	_, err = w.Recv() // nothing changes: ends when the connection closes
	if code := status.Code(err); code != codes.Unavailable {
		t.Errorf("Watch stream on an aged connection: %v, want UNAVAILABLE once the grace has passed", err)
	}
}

// TestLargeHeadersShareABudget: the header bytes a call holds over
// freeHeaderBytes draw on a budget of the process. Once calls with large
// headers hold it, one more is refused LARGE_HEADERS_IN_FLIGHT and gives its
// slot back, a call with ordinary headers is still admitted, and an ended call
// gives its bytes back.
func TestLargeHeadersShareABudget(t *testing.T) {
	a := newAdmission(DefaultConfig(), telemetry.NewMetrics(telemetry.Build{}))
	const method = pb.ResellerService_GetReseller_FullMethodName
	var releases []func()
	for int64(len(releases)+1)*(maxHeaderListSize-freeHeaderBytes) <= headerBudget {
		release, refused := a.admit("", "", "", method, maxHeaderListSize)
		if refused != nil {
			t.Fatalf("call %d with %d bytes of headers, within the budget: %s", len(releases), maxHeaderListSize, refused.Message())
		}
		releases = append(releases, release)
	}
	if _, refused := a.admit("", "", "", method, maxHeaderListSize); apierr.InfoOf(refused).GetReason() != apierr.ReasonLargeHeaders {
		t.Fatalf("a call with large headers once %d hold the budget: refused %v, want %s", len(releases), refused, apierr.ReasonLargeHeaders)
	}
	release, refused := a.admit("", "", "", method, freeHeaderBytes)
	if refused != nil {
		t.Fatalf("a call with ordinary headers beside them: %s", refused.Message())
	}
	release()
	releases[0]()
	if _, refused := a.admit("", "", "", method, maxHeaderListSize); refused != nil {
		t.Errorf("a call with large headers once one ended: %s", refused.Message())
	}
	if got, want := a.slots.TryAcquire(DefaultMaxCalls-int64(len(releases))), true; got != want {
		t.Errorf("the process's slots left are all free but the calls': %v, want %v (a refusal kept one)", got, want)
	}
}

// TestLargeRequestLineCounted: the HTTP port counts a request's target and
// host with its header fields: with no budget of large headers, a request
// whose query or Host alone is 8 KiB is refused LARGE_HEADERS_IN_FLIGHT.
func TestLargeRequestLineCounted(t *testing.T) {
	defer func(b int64) { headerBudget = b }(headerBudget)
	headerBudget = 0
	a := newAdmission(DefaultConfig(), telemetry.NewMetrics(telemetry.Build{}))
	h := a.http(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	long := strings.Repeat("p", 8<<10)
	tests := []struct {
		name, target, host string
		want               int
	}{
		{name: "ordinary", target: "/v1/Resellers/r1", host: "facade.example", want: http.StatusOK},
		{name: "long query", target: "/v1/Resellers/r1?x=" + long, host: "facade.example", want: http.StatusTooManyRequests},
		{name: "long host", target: "/v1/Resellers/r1", host: long + ".example", want: http.StatusTooManyRequests},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tt.target, nil)
			r.Host = tt.host
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Errorf("status = %d, want %d", w.Code, tt.want)
			}
		})
	}
}

// TestLargeHeadersCounted: both ports count a call's headers, metadata and
// HTTP headers, against the budget: with none, a call that sends 8 KiB more
// than an ordinary one is refused LARGE_HEADERS_IN_FLIGHT (HTTP 429), counted
// as large_headers, while an ordinary call is served.
func TestLargeHeadersCounted(t *testing.T) {
	defer func(b int64) { headerBudget = b }(headerBudget)
	headerBudget = 0
	addrs, call := admissionServer(t, DefaultConfig(), 0)
	large := []string{"x-padding", strings.Repeat("p", 8<<10)}
	var got []string
	for _, port := range []string{"grpc", "http"} {
		got = append(got, call(port), call(port, large...))
	}
	want := []string{"OK", "ResourceExhausted LARGE_HEADERS_IN_FLIGHT", "OK", "429 Too Many Requests LARGE_HEADERS_IN_FLIGHT"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers, ordinary and large headers on each port (-want +got):\n%s", diff)
	}
	if n := refusedCalls(t, scrapePlain(t, addrs["http"]), "large_headers"); n != 2 {
		t.Errorf("large_headers refusals counted: %v, want 2", n)
	}
}

// TestLargeTrailersCounted: a request that declares trailers can send, over
// HTTP/2, a header list's worth of them after its headers, which net/http
// keeps (all of them, declared or not) while the call lasts: admission weighs
// it as a call with large headers. With no budget, a Connect call over h2c
// whose headers are ordinary but whose trailers are 8 KiB is refused
// LARGE_HEADERS_IN_FLIGHT, as the same bytes sent as headers are.
func TestLargeTrailersCounted(t *testing.T) {
	defer func(b int64) { headerBudget = b }(headerBudget)
	headerBudget = 0
	addrs, _ := admissionServer(t, DefaultConfig(), 0)
	hc := h2cClient()
	t.Cleanup(hc.CloseIdleConnections)
	send := func(trailer bool) string {
		body := strings.NewReader(`{"resellerId":"` + errTestReseller + `"}`)
		req, _ := http.NewRequest(http.MethodPost, "http://"+addrs["http"]+"/"+pb.ResellerService_ServiceDesc.ServiceName+"/GetReseller", io.NopCloser(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Connect-Protocol-Version", "1")
		req.Header.Set("Authorization", "Bearer test-token")
		req.Header.Set("X-Tenant", errTestTenant)
		if trailer { // what the client sends is whatever it likes, declared or not
			req.Trailer = http.Header{"X-Padding": {strings.Repeat("p", 8<<10)}}
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusOK {
			return "OK"
		}
		return resp.Status + " " + string(b)
	}
	if got := send(false); got != "OK" {
		t.Fatalf("a call without trailers: %s, want OK", got)
	}
	if got := send(true); !strings.Contains(got, apierr.ReasonLargeHeaders) {
		t.Errorf("a call with 8 KiB of trailers and no budget: %s, want refused %s", got, apierr.ReasonLargeHeaders)
	}
}

// TestAcceptEncodingsWeighTwice: grpc-go keeps a call's grpc-accept-encoding
// fields in its metadata and, when there are several, joined in the stream
// besides (the compressors the client advertised): split over two fields,
// 12 KiB of them hold 24 KiB while the call lasts. tap weighs them so: with a
// budget of 16 KiB, such a call is refused.
func TestAcceptEncodingsWeighTwice(t *testing.T) {
	defer func(b int64) { headerBudget = b }(headerBudget)
	headerBudget = 16 << 10
	a := newAdmission(DefaultConfig(), telemetry.NewMetrics(telemetry.Build{}))
	half := strings.Repeat("e", 6<<10)
	info := &tap.Info{FullMethodName: pb.ResellerService_GetReseller_FullMethodName,
		Header: metadata.MD{"grpc-accept-encoding": {half, half}}}
	if _, err := a.tap(t.Context(), info); apierr.InfoOf(status.Convert(err)).GetReason() != apierr.ReasonLargeHeaders {
		t.Errorf("a call with 2 x 6 KiB of grpc-accept-encoding (24 KiB held) and a budget of 16 KiB: %v, want refused %s", err, apierr.ReasonLargeHeaders)
	}
}

// TestStalledTenantLeavesOthersTheirCalls: a tenant whose upstream calls
// stall holds at most three quarters of -max-calls in flight, its calls over that are
// refused at once with TENANT_CALLS_IN_FLIGHT (on both ports, counted as
// tenant_share), and another tenant's calls are served on both ports while it
// stalls. Before tenants had a share of the process's calls, its calls over
// the share stalled too, and enough of them refused every other tenant with
// TOO_MANY_CALLS_IN_FLIGHT.
func TestStalledTenantLeavesOthersTheirCalls(t *testing.T) {
	const maxCalls, share, stalled = 8, 6, "stalled.example"
	release, arrived := make(chan struct{}), make(chan struct{}, maxCalls)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := strings.TrimPrefix(r.URL.Path, "/v1/Resellers/")
		if r.Header.Get("X-Tenant") == stalled && !holdUntil(r, arrived, release) {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"`+id+`","companyName":"Contoso"}`)
	}))
	defer up.Close()
	cfg := DefaultConfig()
	cfg.MaxCalls = maxCalls
	cfg.Upstream.BaseURL, cfg.UpstreamURLSet = up.URL, true
	grpcAddr, base := startServe(t, cfg, io.Discard)
	client := pb.NewResellerServiceClient(dialGRPC(t, grpcAddr))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	call := func(port, tenant string, n int) string {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second) // a call over the share is refused at once
		defer cancel()
		id := fmt.Sprintf("%08d-1111-4111-8111-111111111111", n) // not coalesced
		if port == "grpc" {
			ctx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer test-token", "x-tenant", tenant)
			_, err := client.GetReseller(ctx, &pb.GetResellerRequest{ResellerId: id})
			o := outcomeOf(err)
			return o.Code + " " + o.Reason
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/Resellers/"+id, nil)
		req.Header.Set("Authorization", "Bearer test-token")
		req.Header.Set("X-Tenant", tenant)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		o := certOutcome(&httpError{code: resp.StatusCode, body: string(b)})
		return o.Code + " " + o.Reason
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(release)   // before the callers are waited for
	for i := range share { // the stalled tenant's calls take its share, on both ports
		wg.Go(func() { _ = call([]string{"grpc", "http"}[i%2], stalled, i) })
	}
	for i := range share {
		select {
		case <-arrived:
		case <-ctx.Done():
			t.Fatalf("%d of the stalled tenant's calls reached the upstream, want %d", i, share)
		}
	}
	var got []string
	for i, port := range []string{"grpc", "http", "grpc", "http"} { // more of them
		got = append(got, call(port, stalled, share+i))
	}
	want := []string{"resource_exhausted TENANT_CALLS_IN_FLIGHT", "429 TENANT_CALLS_IN_FLIGHT", "resource_exhausted TENANT_CALLS_IN_FLIGHT", "429 TENANT_CALLS_IN_FLIGHT"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the stalled tenant's calls over its share (-want +got):\n%s", diff)
	}
	for i, port := range []string{"grpc", "http", "grpc", "http"} {
		if got := call(port, "other.example", 100+i); got != "ok " && got != "200 " {
			t.Errorf("another tenant's call over %s while one stalls: %s", port, got)
		}
	}
	if n := refusedCalls(t, scrapePlain(t, strings.TrimPrefix(base, "http://")), "tenant_share"); n != 4 {
		t.Errorf("tenant_share refusals counted: %v, want 4", n)
	}
}

// TestTenantShareKeys: a tenant's share of the process's calls is keyed as its
// share of upstream slots (rest.TenantShare): its name in any case, the default
// tenant for a call naming none, and with a client certificate the token too, so
// that another certificate naming the tenant with another token holds slots of its
// own; a call naming no tenant takes no share, nor does a stream. A refusal for the
// tenant's share gives the certificate's slot back, one for the process's slots
// the tenant's.
func TestTenantShareKeys(t *testing.T) {
	const method, watch = pb.ResellerService_GetReseller_FullMethodName, "/grpc.health.v1.Health/Watch"
	cfg := DefaultConfig()
	cfg.MaxCalls, cfg.DefaultTenant = 8, "d.example" // shares: a certificate 4, a tenant 6
	a := newAdmission(cfg, telemetry.NewMetrics(telemetry.Build{}))
	a.streaming = map[string]bool{watch: true}
	var held []func()
	defer func() {
		for _, release := range held {
			release()
		}
	}()
	admit := func(client, tenant, auth, method string) string {
		release, refused := a.admit(client, tenant, auth, method, 0)
		if refused != nil {
			return apierr.InfoOf(refused).GetReason()
		}
		held = append(held, release)
		return "admitted"
	}
	releaseAll := func() {
		for _, release := range held {
			release()
		}
		held = nil
	}
	steps := []struct {
		what                         string
		client, tenant, auth, method string
		want                         string
	}{
		{"1", "", "t.example", "Bearer a", method, "admitted"},
		{"2", "", "T.example", "Bearer b", method, "admitted"},
		{"3", "", "t.EXAMPLE", "Bearer c", method, "admitted"},
		{"4", "", "t.example", "Bearer a", method, "admitted"},
		{"5", "", "t.example", "Bearer a", method, "admitted"},
		{"6", "", "t.example", "Bearer a", method, "admitted"},
		{"the tenant's 7th, in another case", "", "T.EXAMPLE", "Bearer d", method, apierr.ReasonTenantShare},
		{"its stream", "", "t.example", "Bearer a", watch, "admitted"},
		{"another tenant", "", "u.example", "Bearer a", method, "admitted"},
		{"no tenant: the default's", "", "", "Bearer a", method, "admitted"},
		{"the process is full", "", "v.example", "Bearer a", method, apierr.ReasonTooManyCalls},
		{"release all", "", "", "", "", ""},
		{"the default tenant's 1-5", "", "", "Bearer a", method, "admitted x5"},
		{"the default tenant by name", "", "D.example", "Bearer a", method, "admitted"},
		{"the default tenant's 7th", "", "", "Bearer a", method, apierr.ReasonTenantShare},
		{"release all", "", "", "", "", ""},
		{"certificate a, tenant t, token a: 1-4", "spiffe://a", "t.example", "Bearer a", method, "admitted x4"},
		{"certificate b, tenant t, token a: 5", "spiffe://b", "t.example", "Bearer a", method, "admitted"},
		{"certificate b, tenant t, token a: 6", "spiffe://b", "t.example", "Bearer a", method, "admitted"},
		{"certificate b, tenant t, token a: 7", "spiffe://b", "t.example", "Bearer a", method, apierr.ReasonTenantShare},
		{"certificate b, tenant t, token b", "spiffe://b", "t.example", "Bearer b", method, "admitted"},
		{"certificate b's 4th: the refusal gave its slot back", "spiffe://b", "u.example", "Bearer a", method, "admitted"},
		{"certificate b's 5th", "spiffe://b", "w.example", "Bearer a", method, apierr.ReasonClientShare},
		{"release all", "", "", "", "", ""},
		{"tenant v: 1-5", "", "v.example", "Bearer a", method, "admitted x5"},
		{"others fill the process", "", "", "Bearer a", method, "admitted x3"},
		{"tenant v's 6th, no process slot", "", "v.example", "Bearer a", method, apierr.ReasonTooManyCalls},
	}
	for _, s := range steps {
		n, want := 1, s.want
		if w, count, ok := strings.Cut(s.want, " x"); ok {
			want, n, _ = w, int(count[0]-'0'), true
		}
		if s.what == "release all" {
			releaseAll()
			continue
		}
		for i := range n {
			if got := admit(s.client, s.tenant, s.auth, s.method); got != want {
				t.Fatalf("%s (call %d): %s, want %s", s.what, i+1, got, want)
			}
		}
	}
	held[len(held)-1]() // one of the others ends
	held = held[:len(held)-1]
	if got := admit("", "v.example", "Bearer a", method); got != "admitted" {
		t.Fatalf("tenant v's 6th once a process slot is free: %s, want admitted (its refusal gave its slot back)", got)
	}
}

// TestAnswerTimeoutIsReadAsTheServerStarts: a handler reads the answer's write
// timeout from its server's admission, not from the package variable, which a
// test sets while the handlers of an earlier test's server, stopped, may still
// be answering (go test -race failed TestUnreadAnswerFreesItsSlot so, 1 run in
// 80 on a busy machine). Under -race this test fails if a handler reads it.
func TestAnswerTimeoutIsReadAsTheServerStarts(t *testing.T) {
	a := newAdmission(DefaultConfig(), telemetry.NewMetrics(telemetry.Build{}))
	h := a.http(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	answered, saved := make(chan struct{}), answerWriteTimeout
	go func() {
		defer close(answered)
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/v1/Resellers/r1", nil))
	}()
	answerWriteTimeout = saved // what a test's setting and restoring do, unsynchronized with any handler
	<-answered
}
