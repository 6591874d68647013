package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/test/bufconn"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/correlation"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/descriptor"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/gateway"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/service"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/telemetry"
)

// maxHeaderListSize bounds the metadata a caller may send (bytes).
const maxHeaderListSize = 64 << 10

// Run listens on cfg's addresses and serves until ctx ends, then shuts down
// gracefully.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	var lc net.ListenConfig
	gl, err := lc.Listen(ctx, "tcp", cfg.GRPCAddr)
	if err != nil {
		return fmt.Errorf("listen for gRPC on %s: %w", cfg.GRPCAddr, err)
	}
	hl, err := lc.Listen(ctx, "tcp", cfg.HTTPAddr)
	if err != nil {
		_ = gl.Close()
		return fmt.Errorf("listen for HTTP on %s: %w", cfg.HTTPAddr, err)
	}
	return Serve(ctx, cfg, gl, hl)
}

// Serve serves gRPC on gl and HTTP on hl until ctx ends. On the way out
// readiness goes NOT_SERVING first, then in-flight calls get
// cfg.ShutdownTimeout to finish.
func Serve(ctx context.Context, cfg Config, gl, hl net.Listener) (err error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	defer func() { _ = gl.Close() }() // already closed by the servers' shutdown
	defer func() { _ = hl.Close() }()
	// Certificates and CAs are read before anything starts.
	listenTLS, err := cfg.loadListenerTLS()
	if err != nil {
		return err
	}
	upstreamTLS, err := cfg.upstreamTLS()
	if err != nil {
		return err
	}

	upstreamURL := cfg.UpstreamURL
	var stopSandbox func()
	if cfg.Sandbox {
		u, stop, err := startSandbox(ctx)
		if err != nil {
			return err
		}
		upstreamURL, stopSandbox = u, stop
		defer stopSandbox()
		log.Info("serving the embedded sandbox upstream", slog.String("url", upstreamURL))
	}
	metrics := telemetry.NewMetrics()
	tracing := cfg.Tracing
	if tracing == nil {
		if tracing, err = telemetry.TracingFromEnv(ctx, nil); err != nil {
			return err
		}
	}
	defer func() { _ = tracing.Shutdown(context.WithoutCancel(ctx)) }()

	// Readiness follows the upstream circuit breaker (see readiness).
	ready := new(readiness)
	ucfg := cfg.upstreamConfig(upstreamURL, func(s rest.BreakerState) {
		metrics.SetBreakerState(breakerGauge(s))
		ready.breakerChanged(s)
	})
	ucfg.OnCoalesced = metrics.Coalesced
	// Each upstream attempt is measured (and traced when tracing is on).
	transport := rest.NewTransport()
	transport.TLSClientConfig = upstreamTLS
	ucfg.HTTPClient = rest.NewHTTPClient(tracing.Transport(metrics.Transport(transport, !tracing.Enabled())))
	client, err := rest.New(ucfg)
	if err != nil {
		return fmt.Errorf("upstream client: %w", err)
	}
	defer client.CloseIdleConnections()

	var creds []grpc.ServerOption
	if listenTLS.grpc != nil {
		creds = append(creds, grpc.Creds(newListenerCreds(listenTLS.grpc)))
	}
	gs, hs, err := newGRPCServer(cfg, log, client, metrics, tracing, creds...)
	if err != nil {
		return err
	}
	ready.attach(hs, log)
	// The REST mirror calls the same *grpc.Server over an in-memory
	// listener, so that REST calls pass the same interceptors as gRPC calls.
	inproc := bufconn.Listen(inProcessBufSize)
	conn, err := dialInProcess(inproc)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }() // closed again, harmlessly, after the HTTP drain
	handler, err := newHTTPHandler(conn, hs, metrics)
	if err != nil {
		return err
	}
	httpSrv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second, // no route takes a body: do not wait for one
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    maxHeaderListSize,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		TLSConfig:         listenTLS.http,
	}

	errc := make(chan error, 3)
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		if err := gs.Serve(gl); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			errc <- fmt.Errorf("gRPC server: %w", err)
		}
	}()
	go func() {
		defer wg.Done()
		if err := gs.Serve(inProcessListener{inproc}); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			errc <- fmt.Errorf("gRPC server (in-process listener): %w", err)
		}
	}()
	go func() {
		defer wg.Done()
		serve := httpSrv.Serve
		if listenTLS.http != nil {
			serve = func(l net.Listener) error { return httpSrv.ServeTLS(l, "", "") } // certificates from TLSConfig
		}
		if err := serve(hl); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("HTTP server: %w", err)
		}
	}()
	log.Info("cloudcockpit-facade listening", slog.String("grpc", gl.Addr().String()), slog.String("http", hl.Addr().String()), slog.String("upstream", upstreamURL), slog.String("tls", listenTLS.mode()))

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	log.Info("shutting down", slog.Duration("delay", cfg.ShutdownDelay), slog.Duration("drain_timeout", cfg.ShutdownTimeout))
	hs.Shutdown() // readiness NOT_SERVING first
	if cfg.ShutdownDelay > 0 && runErr == nil {
		// Keep serving new calls while load balancers notice NOT_SERVING.
		t := time.NewTimer(cfg.ShutdownDelay)
		select {
		case <-t.C:
		case runErr = <-errc:
			t.Stop()
		}
	}
	drainCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	done := make(chan struct{})
	go func() {
		// HTTP first: its in-flight calls still need the in-process
		// connection, which GracefulStop would close under them.
		if err := httpSrv.Shutdown(drainCtx); err != nil {
			_ = httpSrv.Close()
		}
		_ = conn.Close()
		gs.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-drainCtx.Done():
		gs.Stop()
		_ = httpSrv.Close()
		<-done
	}
	wg.Wait()
	return runErr
}

// newGRPCServer builds the gRPC server with the facade's services, health and
// reflection (v1 and v1alpha, serving descriptors that keep their comments).
func newGRPCServer(cfg Config, log *slog.Logger, upstream service.Upstream, metrics *telemetry.Metrics, tracing *telemetry.Tracing, extra ...grpc.ServerOption) (*grpc.Server, *health.Server, error) {
	sopts := []grpc.ServerOption{
		grpc.MaxHeaderListSize(maxHeaderListSize),
		grpc.ChainUnaryInterceptor(
			correlation.UnaryServerInterceptor(),
			metrics.UnaryServerInterceptor(),
			metrics.AccessLog(log),
			recoverer(log),
		),
	}
	if h := tracing.ServerHandler(); h != nil {
		sopts = append(sopts, grpc.StatsHandler(h))
	}
	gs := grpc.NewServer(append(sopts, extra...)...)
	opts := []service.Option{service.WithLogger(log)}
	if cfg.DefaultTenant != "" {
		opts = append(opts, service.WithDefaultTenant(cfg.DefaultTenant))
	}
	service.Register(gs, upstream, opts...)

	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	setServing(hs, healthpb.HealthCheckResponse_SERVING)

	files, err := descriptor.Files()
	if err != nil {
		return nil, nil, err
	}
	ropts := reflection.ServerOptions{Services: gs, DescriptorResolver: descriptor.Resolver{Primary: files}}
	reflectionv1.RegisterServerReflectionServer(gs, reflection.NewServerV1(ropts))
	reflectionv1alpha.RegisterServerReflectionServer(gs, reflection.NewServer(ropts))
	return gs, hs, nil
}

// inProcessBufSize is the buffer, per direction, of the in-memory connection
// between the REST mirror and the gRPC server.
const inProcessBufSize = 256 << 10

// dialInProcess returns a client connection to the gRPC server served on l.
// It connects lazily, on the first call.
func dialInProcess(l *bufconn.Listener) (*grpc.ClientConn, error) {
	conn, err := grpc.NewClient("passthrough:///cloudcockpit-facade.in-process",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return l.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	)
	if err != nil {
		return nil, fmt.Errorf("in-process gRPC connection: %w", err)
	}
	return conn, nil
}

// newHTTPHandler serves the HTTP listener: Prometheus metrics at /metrics,
// and everything else through the gateway (the REST mirror over conn, the
// OpenAPI document, liveness, and readiness from hs).
func newHTTPHandler(conn grpc.ClientConnInterface, hs *health.Server, metrics *telemetry.Metrics) (http.Handler, error) {
	h, err := gateway.New(conn, gateway.WithHealth(hs))
	if err != nil {
		return nil, fmt.Errorf("REST mirror: %w", err)
	}
	mh := promhttp.HandlerFor(metrics.Registry, promhttp.HandlerOpts{ErrorLog: nil})
	// Not an http.ServeMux: it answers a path with dot segments or double
	// slashes (/v1/Resellers/../Customers/...) with a redirect to the
	// cleaned path, which a client that follows redirects then calls with
	// its credentials. The mirror rejects such paths itself (400 or 404).
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			mh.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	}), nil
}

// breakerGauge maps a breaker state to the metric's value.
func breakerGauge(s rest.BreakerState) int {
	switch s {
	case rest.BreakerOpen:
		return telemetry.BreakerOpen
	case rest.BreakerHalfOpen:
		return telemetry.BreakerHalfOpen
	}
	return telemetry.BreakerClosed
}

// startSandbox serves the embedded simulated upstream on a loopback port and
// returns its base URL and a function that stops it.
func startSandbox(ctx context.Context) (string, func(), error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listen for the sandbox upstream: %w", err)
	}
	srv := &http.Server{Handler: sandbox.New(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return "http://" + l.Addr().String(), func() { _ = srv.Close() }, nil
}
