package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// TestWarnProductionDefault checks the start-up warning: present exactly
// when the production API is used by default.
func TestWarnProductionDefault(t *testing.T) {
	tests := []struct {
		name     string
		give     func(*Config)
		wantWarn bool
	}{
		{name: "nothing set: production", give: func(*Config) {}, wantWarn: true},
		{name: "sandbox", give: func(c *Config) { c.Sandbox = true }},
		{name: "explicit upstream", give: func(c *Config) { c.Upstream.BaseURL, c.UpstreamURLSet = "https://api.example.test", true }},
		{name: "production named explicitly", give: func(c *Config) { c.UpstreamURLSet = true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.give(&cfg)
			var buf bytes.Buffer
			warnProductionDefault(slog.New(slog.NewJSONHandler(&buf, nil)), cfg)
			if !tt.wantWarn {
				if buf.Len() != 0 {
					t.Errorf("logged %q, want nothing", buf.String())
				}
				return
			}
			var line struct {
				Level, Msg, Upstream string
			}
			if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
				t.Fatalf("log line %q: %v", buf.String(), err)
			}
			if diff := cmp.Diff("WARN", line.Level); diff != "" {
				t.Errorf("level (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(DefaultUpstreamURL, line.Upstream); diff != "" {
				t.Errorf("upstream (-want +got):\n%s", diff)
			}
			if !strings.Contains(line.Msg, "PRODUCTION") || !strings.Contains(line.Msg, "-sandbox") {
				t.Errorf("message %q does not say the production API is used and how to avoid it", line.Msg)
			}
		})
	}
}

// TestShutdownTimeoutEndsHeldStreams: past -shutdown-timeout, the gRPC server
// stops even while a stream (a client's health Watch) is still open: Serve
// returns instead of waiting for the stream forever.
func TestShutdownTimeoutEndsHeldStreams(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Upstream.BaseURL, cfg.UpstreamURLSet = "http://127.0.0.1:1", true
	cfg.ShutdownTimeout = 200 * time.Millisecond
	s := serveOnLoopback(t, cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second) // outlives s.wait's 10s
	defer cancel()
	w, err := healthpb.NewHealthClient(dialGRPC(t, s.grpcAddr)).Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Recv(); err != nil { // the stream is open on the server
		t.Fatal(err)
	}
	start := time.Now()
	s.stop()
	if err := s.wait(); err != nil || time.Since(start) > 5*time.Second {
		t.Errorf("Serve with a held stream, shutdown timeout 200ms: returned %v after %v, want nil at once", err, time.Since(start))
	}
}

// TestShutdownTimeoutEndsPendingHandshakes: a connection to the gRPC port
// that never sends its HTTP/2 preface (a port scanner, a stalled TLS client)
// holds grpc-go's Stop and GracefulStop until -grpc-connection-timeout ends
// its handshake; past -shutdown-timeout, Serve returns all the same.
func TestShutdownTimeoutEndsPendingHandshakes(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Upstream.BaseURL, cfg.UpstreamURLSet = "http://127.0.0.1:1", true
	cfg.ShutdownTimeout = 200 * time.Millisecond
	cfg.GRPCConnectionTimeout = time.Hour
	s := serveOnLoopback(t, cfg)
	silent, err := net.Dial("tcp", s.grpcAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	// Accepted in turn: once a later connection is served, the silent one is in its handshake.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := healthpb.NewHealthClient(dialGRPC(t, s.grpcAddr)).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	s.stop()
	if err := s.wait(); err != nil { // at most 10s, far from the hour of the handshake's bound
		t.Errorf("Serve with a connection in its handshake, shutdown timeout 200ms: %v", err)
	}
}

// brokenListener is a listener whose Accept fails for good.
type brokenListener struct{ net.Listener }

func (brokenListener) Accept() (net.Conn, error) { return nil, errors.New("accept: listener broken") }

// TestServeFailureSkipsTheShutdownDelay: when a server fails (its listener
// breaks), Serve returns its error at once: the shutdown delay, which lets load
// balancers notice readiness going down before a planned stop, is not waited
// for on the way out.
func TestServeFailureSkipsTheShutdownDelay(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Upstream.BaseURL, cfg.UpstreamURLSet = "http://127.0.0.1:1", true
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.ShutdownDelay = time.Minute // far past the bound below, which a busy machine may need much of
	errc := make(chan error, 1)
	go func() { errc <- Serve(t.Context(), cfg, listen(t), brokenListener{listen(t)}) }()
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), "HTTP server") {
			t.Errorf("Serve() = %v, want the HTTP server's error", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not return within 20s of its HTTP listener failing (shutdown delay 1m)")
	}
}

// TestShutdownTimeoutClosesHTTPCalls: past -shutdown-timeout, REST calls still
// running on the HTTP port lose their connection (http.Server.Close) rather
// than outliving Serve.
func TestShutdownTimeoutClosesHTTPCalls(t *testing.T) {
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release: // a slow upstream: it answers when the test is over
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"`+errTestReseller+`","companyName":"Contoso"}`)
	}))
	t.Cleanup(up.Close)
	t.Cleanup(func() { close(release) })
	cfg := DefaultConfig()
	cfg.Upstream.BaseURL, cfg.UpstreamURLSet = up.URL, true
	cfg.ShutdownTimeout = 200 * time.Millisecond
	s := serveOnLoopback(t, cfg)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.httpURL+"/v1/Resellers/"+errTestReseller, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer test-token")
	req.Header.Set("X-Tenant", errTestTenant)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		resp, err := (&http.Client{Transport: tr, Timeout: time.Minute}).Do(req) // past the bound below
		if err == nil {
			_ = resp.Body.Close()
		}
		done <- err
	}()
	<-arrived
	s.stop()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("a REST call running past the shutdown timeout was answered after %v, want its connection closed", time.Since(start))
		}
	case <-time.After(20 * time.Second): // far past the shutdown timeout, which a busy machine may need much of
		t.Error("a REST call running past the 200ms shutdown timeout still open 20s later")
	}
}

// TestServeWithoutSandbox: Validate, and so Serve, refuses -sandbox in a
// program that provides no sandbox rather than starting without an upstream.
func TestServeWithoutSandbox(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Sandbox = true
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := cfg.Validate(); !errors.Is(err, errNoSandbox) {
		t.Errorf("Validate() = %v, want %v", err, errNoSandbox)
	}
	if err := Serve(t.Context(), cfg, listen(t), listen(t)); !errors.Is(err, errNoSandbox) {
		t.Errorf("Serve() = %v, want %v", err, errNoSandbox)
	}
}

// TestServeClosesUpstreamConnections: once Serve returns, its idle
// connections to the upstream are closed, not left open to the process that
// embeds it.
func TestServeClosesUpstreamConnections(t *testing.T) {
	closed := make(chan struct{}, 16)
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNotFound)
	}))
	up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closed <- struct{}{}
		}
	}
	up.Start()
	t.Cleanup(up.Close)
	cfg := DefaultConfig()
	cfg.Upstream.BaseURL, cfg.UpstreamURLSet = up.URL, true
	s := serveOnLoopback(t, cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if code, body := restGet(ctx, t, s.httpURL+"/v1/Resellers/"+errTestReseller, "Bearer "+errTestJWT); code != http.StatusNotFound {
		t.Fatalf("GET: %d %s, want 404 from the upstream", code, body)
	}
	s.stop()
	if err := s.wait(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	case <-ctx.Done():
		t.Error("the upstream connection is still open after Serve returned")
	}
}

// TestServeValidates: Serve refuses what Validate refuses, before it serves
// anything, whatever addresses cfg names (its listeners stand for them).
func TestServeValidates(t *testing.T) {
	cfg := DefaultConfig()
	cfg.GRPCAddr, cfg.HTTPAddr = "", ""
	cfg.GRPCMaxConcurrentStreams = -1 // past Validate, grpc's uint32 would wrap it
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second) // a guard: a Serve that took cfg would serve until then
	defer cancel()
	err := Serve(ctx, cfg, listen(t), listen(t))
	if err == nil || !strings.Contains(err.Error(), "-grpc-max-streams") {
		t.Errorf("Serve() = %v, want the -grpc-max-streams bound", err)
	}
}
