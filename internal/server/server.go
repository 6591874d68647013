package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/correlation"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/descriptor"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/gateway"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/resilience"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/service"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/stale"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/telemetry"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/tlsconfig"
)

// StreamWorkers is the number of long-lived goroutines that run gRPC calls (a
// goroutine per call would grow its small stack by copying, several times per
// call): enough for the benchmark's 32 and the default 64 upstream requests in flight.
const StreamWorkers = 64

const maxHeaderListSize = 32 << 10 // a call's metadata, held while it lasts: a 16 KiB token and room

// maxScrapes bounds the /metrics answers in progress at once, which hold the
// gathered metrics until written (docs/security.md, "Limits of the whole
// process"); Prometheus scrapes one at a time.
const maxScrapes = 4

// Run listens on cfg's addresses and serves until ctx ends, then shuts down gracefully.
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
	if cfg.DebugAddr != "" { // last: nothing serves before every listener is open
		stop, err := serveDebug(ctx, cfg.DebugAddr, cfg.Logger)
		if err != nil {
			_, _ = gl.Close(), hl.Close()
			return err
		}
		defer stop()
	}
	return Serve(ctx, cfg, gl, hl)
}

// serveDebug serves the Go runtime profiles (net/http/pprof) on addr, apart from the HTTP
// port so that they are never reachable there. It returns a function that closes the listener.
func serveDebug(ctx context.Context, addr string, log *slog.Logger) (func(), error) {
	l, err := new(net.ListenConfig).Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for the debug profiles on %s: %w", addr, err)
	}
	mux := http.NewServeMux() // /debug/pprof/ and nothing else
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	cmp.Or(log, slog.Default()).Info("serving Go runtime profiles", slog.String("debug", l.Addr().String()))
	return func() { _ = srv.Close() }, nil
}

// Serve serves gRPC on gl and HTTP on hl, in place of cfg's addresses, until
// ctx ends; a cfg that fails Validate is refused. On the way out readiness
// goes NOT_SERVING first, then in-flight calls get cfg.ShutdownTimeout to
// finish. Serve closes both listeners.
func Serve(ctx context.Context, cfg Config, gl, hl net.Listener) (err error) {
	log := cmp.Or(cfg.Logger, slog.Default())
	defer func() { _, _ = gl.Close(), hl.Close() }() // already closed by the servers' shutdown
	cfg.GRPCAddr, cfg.HTTPAddr = gl.Addr().String(), hl.Addr().String()
	if err := cfg.Validate(); err != nil {
		return err
	}
	maxConns := cmp.Or(cfg.MaxConnections, DefaultMaxConnections)
	onState, closeOne := closeIdle(2 * time.Minute)
	gl, hl = newLimitListener(gl, maxConns, nil), newLimitListener(hl, maxConns, closeOne)
	listenTLS, err := cfg.loadListenerTLS()
	if err != nil {
		return err
	}
	upstreamTLS, err := tlsconfig.Upstream(cfg.UpstreamCAFile)
	if err != nil {
		return fmt.Errorf("upstream TLS: %w", err)
	}

	ucfg := cfg.Upstream
	if cfg.Sandbox {
		u, stop, err := cfg.StartSandbox(ctx)
		if err != nil {
			return err
		}
		defer stop()
		ucfg.BaseURL = u
		log.Info("serving the embedded sandbox upstream", slog.String("url", u))
	}
	metrics := telemetry.NewMetrics(cfg.Build)
	tracing := cfg.Tracing
	if tracing == nil {
		if tracing, err = telemetry.TracingFromEnv(ctx, os.Getenv); err != nil {
			return err
		}
	}
	var flushBy time.Time // the drain's deadline: a collector that does not answer cannot hold the process past it
	defer func() {
		flushCtx, cancel := context.WithDeadline(context.WithoutCancel(ctx), flushBy)
		defer cancel()
		_ = tracing.Shutdown(flushCtx)
	}()

	ucfg.Breaker.OnStateChange = func(_, to resilience.BreakerState) {
		metrics.BreakerTransition(to)
		if to == resilience.BreakerOpen {
			log.Warn("a tenant's upstream circuit breaker opened", slog.String("open_for", cmp.Or(ucfg.Breaker.OpenFor, resilience.DefaultOpenFor).String()))
		}
	}
	ucfg.OnCoalesced = metrics.Coalesced
	ucfg.OnRejected = metrics.Rejected
	transport := rest.NewPools(rest.NewTransport(rest.TransportConfig{
		TLS:                   upstreamTLS,
		MaxConns:              cfg.Upstream.MaxConcurrent,
		ResponseHeaderTimeout: cmp.Or(cfg.Upstream.AttemptTimeout, rest.DefaultAttemptTimeout),
	}), 0)
	defer transport.CloseIdleConnections()
	ucfg.Transport = tracing.Transport(metrics.Transport(transport))
	client, err := rest.New(ucfg)
	if err != nil {
		return fmt.Errorf("upstream client: %w", err)
	}
	metrics.ObserveUpstream(client)

	var creds []grpc.ServerOption
	if listenTLS.grpc != nil {
		creds = append(creds, grpc.Creds(credentials.NewTLS(listenTLS.grpc)))
	}
	st := stale.New(cfg.StaleIfError, cfg.StaleCacheMaxBytes, metrics.Registry)
	defer st.Close()
	gs, hgs, hs, handler, err := newFacade(cfg, log, client, st, metrics, tracing, creds...)
	if err != nil {
		return err
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go watchBreakers(watchCtx, hs, client.BreakerStates, log)
	protocols := new(http.Protocols) // cleartext HTTP/2 (h2c) too, for gRPC and streaming Connect (reflection)
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(true)
	protocols.SetUnencryptedHTTP2(true)
	httpSrv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second, // no ReadTimeout: it would cut HTTP/2 streams; admission.http sets read deadlines per request
		ConnState:         onState,          // not IdleTimeout (closeIdle)
		MaxHeaderBytes:    maxHeaderListSize,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		TLSConfig:         listenTLS.http,
		Protocols:         protocols,
		HTTP2: &http.HTTP2Config{MaxConcurrentStreams: min(int(cfg.grpcStreams()), httpMaxStreams),
			MaxReceiveBufferPerConnection: httpMaxStreams * receiveWindow, MaxReceiveBufferPerStream: receiveWindow},
	}

	errc := make(chan error, 2)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := gs.Serve(gl); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			errc <- fmt.Errorf("gRPC server: %w", err)
		}
	})
	wg.Go(func() {
		serve := httpSrv.Serve
		if listenTLS.http != nil {
			serve = func(l net.Listener) error { return httpSrv.ServeTLS(l, "", "") } // certificates from TLSConfig
		}
		if err := serve(hl); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("HTTP server: %w", err)
		}
	})
	log.Info("cloudcockpit-facade listening", slog.String("grpc", gl.Addr().String()), slog.String("http", hl.Addr().String()), slog.String("upstream", ucfg.BaseURL), slog.Bool("sandbox", cfg.Sandbox), slog.String("tls", listenTLS.mode()))
	warnProductionDefault(log, cfg)

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	// Durations as text ("10s"): slog's JSON handler writes nanoseconds.
	drain := cmp.Or(cfg.ShutdownTimeout, DefaultShutdownTimeout)
	log.Info("shutting down", slog.String("delay", cfg.ShutdownDelay.String()), slog.String("drain_timeout", drain.String()))
	stopWatch()
	hs.Shutdown() // readiness NOT_SERVING first
	if cfg.ShutdownDelay > 0 && runErr == nil {
		// Keep serving new calls while load balancers notice NOT_SERVING.
		select {
		case <-time.After(cfg.ShutdownDelay):
		case runErr = <-errc:
		}
	}
	drainCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drain)
	defer cancel()
	flushBy, _ = drainCtx.Deadline()
	// Both ports drain at once (REST calls run in process, apart from the
	// gRPC server); past the deadline gs.Stop ends GracefulStop too.
	stopped := make(chan struct{})
	stop := context.AfterFunc(drainCtx, func() { gs.Stop(); close(stopped) })
	wg.Go(gs.GracefulStop)
	if err := httpSrv.Shutdown(drainCtx); err != nil {
		_ = httpSrv.Close()
	}
	hgs.Stop() // the HTTP port's calls have ended, or run past the deadline
	wg.Wait()
	if !stop() { // gs.Stop ran: Serve returns once it is done
		<-stopped
	}
	return runErr
}

// closeIdle returns a ConnState hook that ends a connection idle for d, HTTP/1 or HTTP/2, in place of
// http.Server.IdleTimeout, whose HTTP/2 timer re-armed by a connection ending with streams open kept its
// framer and header decoder that long, and closeOne, which ends an idle connection now so that a new one
// need not wait for its slot (docs/security.md). Both expire the read deadline: a request just read is answered.
func closeIdle(d time.Duration) (onState func(net.Conn, http.ConnState), closeOne func()) {
	var timers sync.Map // net.Conn → *time.Timer; a connection's states come one at a time
	onState = func(c net.Conn, state http.ConnState) {
		if t, ok := timers.LoadAndDelete(c); ok {
			t.(*time.Timer).Stop()
		}
		if state == http.StateIdle {
			timers.Store(c, time.AfterFunc(d, func() { _ = c.SetReadDeadline(time.Now()) }))
		}
	}
	closeOne = func() {
		timers.Range(func(c, t any) bool {
			if _, ok := timers.LoadAndDelete(c); ok && t.(*time.Timer).Stop() {
				_ = c.(net.Conn).SetReadDeadline(time.Now())
				return false
			}
			return true
		})
	}
	return onState, closeOne
}

// warnProductionDefault warns, once the server listens, when calls go to the
// production CloudCockpit API only because neither Sandbox nor an explicit
// Upstream.BaseURL was set: a newcomer trying the facade rarely means that.
func warnProductionDefault(log *slog.Logger, cfg Config) {
	if cfg.Sandbox || cfg.UpstreamURLSet {
		return
	}
	log.Warn("calls go to the PRODUCTION CloudCockpit API, because neither -sandbox nor -upstream-url (CLOUDCOCKPIT_BASE_URL) is set; "+
		"use -sandbox to try the facade without it",
		slog.String("upstream", cfg.Upstream.BaseURL), slog.Bool("sandbox", false))
}

// newFacade builds the gRPC port's server with the facade's services, health
// and reflection (extra are its options), the server of the same services
// that runs the HTTP port's Connect, gRPC-Web and gRPC calls, and the HTTP
// port's handler: /metrics, rpcHandler, and the
// gateway for the rest (REST mirror, OpenAPI, liveness, readiness), CORS and
// admission around all but /metrics. The services keep answers in st.
func newFacade(cfg Config, log *slog.Logger, upstream service.Upstream, st *stale.Store, metrics *telemetry.Metrics, tracing *telemetry.Tracing, extra ...grpc.ServerOption) (*grpc.Server, *grpc.Server, *health.Server, http.Handler, error) {
	interceptors := []grpc.UnaryServerInterceptor{
		correlation.UnaryServerInterceptor(),
		metrics.UnaryServerInterceptor(),
		metrics.AccessLog(log),
		recoverer(log),
	}
	adm := newAdmission(cfg, metrics)
	sopts := append([]grpc.ServerOption{
		grpc.InTapHandle(adm.tap),
		grpc.ChainUnaryInterceptor(adm.unary), // first: it stops the message timer
		grpc.ChainStreamInterceptor(adm.stream),
		grpc.MaxHeaderListSize(maxHeaderListSize),
		grpc.MaxRecvMsgSize(maxMessageBytes),
		grpc.NumStreamWorkers(StreamWorkers),
		grpc.ChainUnaryInterceptor(interceptors...),
	}, cfg.grpcLimits()...)
	if h := tracing.ServerHandler(); h != nil {
		sopts = append(sopts, grpc.StatsHandler(h))
	}
	opts := []service.Option{
		service.WithLogger(log),
		service.WithOnMismatchedAnswer(metrics.MismatchedAnswer),
		service.WithDefaultTenant(cfg.DefaultTenant), // "": none
		service.WithStale(st),
	}
	reseller, customer := service.NewResellerServer(upstream, opts...), service.NewCustomerServer(upstream, opts...)
	hs := health.NewServer()
	setServing(hs, healthpb.HealthCheckResponse_SERVING)
	files, err := descriptor.Files()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	newServer := func(opts ...grpc.ServerOption) *grpc.Server {
		s := grpc.NewServer(opts...)
		pb.RegisterResellerServiceServer(s, reseller)
		pb.RegisterCustomerServiceServer(s, customer)
		healthpb.RegisterHealthServer(s, hs)
		ropts := reflection.ServerOptions{Services: s, DescriptorResolver: files}
		reflectionv1.RegisterServerReflectionServer(s, reflection.NewServerV1(ropts))
		reflectionv1alpha.RegisterServerReflectionServer(s, reflection.NewServer(ropts))
		return s
	}
	// The HTTP port's calls run on a server of their own: GracefulStop
	// cancels the calls in flight through ServeHTTP at once (grpc-go drains
	// them by closing them), so they must not be the gRPC port's server's.
	gs, hgs := newServer(append(sopts, extra...)...), newServer(sopts...)

	gw, err := gateway.New(reseller, customer, hs, interceptors...)
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("REST mirror: %w", err)
	}
	h := tracing.HTTPHandler(gw)
	rpc, err := newRPCHandler(hgs, h)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	adm.streaming = rpc.streaming // before any call: read-only from then on
	mh := promhttp.HandlerFor(metrics.Registry, promhttp.HandlerOpts{MaxRequestsInFlight: maxScrapes})
	// Not an http.ServeMux: it redirects /v1/Resellers/../Customers/... to the cleaned
	// path, where a client following it sends its credentials (docs/security.md).
	api := withCORS(adm.http(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slices.ContainsFunc(rpc.prefixes, func(p string) bool { return strings.HasPrefix(r.URL.Path, p) }) {
			rpc.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})), cfg.CORSAllowedOrigins)
	return gs, hgs, hs, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength != 0 { // a body no handler reads (probes, metrics, refusals) too: net/http reads it before answering over HTTP/1.1
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(adm.messageTimeout))
		}
		// Metrics are for Prometheus, never for pages: no CORS grant.
		if r.URL.Path == "/metrics" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			mh.ServeHTTP(&answerDeadline{wrappedWriter: wrappedWriter{w}, rc: http.NewResponseController(w), timeout: adm.answerTimeout}, r)
			return
		}
		if r.URL.Path != gateway.OpenAPIPath && r.URL.Path != gateway.OpenAPIv3Path {
			// No shared cache may keep a caller's answer, nor a refusal (docs/rest-mirror.md).
			w.Header().Set("Cache-Control", "private, no-store")
		}
		api.ServeHTTP(w, r)
	}), nil
}

// recoverer turns a handler panic into INTERNAL and logs its stack, so that one
// bad call cannot take the process down.
func recoverer(l *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if p := recover(); p != nil {
				id, _ := correlation.FromContext(ctx)
				l.LogAttrs(ctx, slog.LevelError, "panic in handler",
					slog.String("method", info.FullMethod), slog.Any("panic", p),
					slog.String("stack", string(debug.Stack())), slog.String("correlation_id", id.Value))
				err = status.Error(codes.Internal, "internal error")
			}
		}()
		return handler(ctx, req)
	}
}
