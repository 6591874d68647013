package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/telemetry"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
)

// DefaultUpstreamURL is the production base URL of the CloudCockpit API, as the
// spec names it.
const DefaultUpstreamURL = "https://app-cloudcockpitapi-prod-01.azurewebsites.net"

// Config is everything Run needs. The zero value is not usable: start from
// DefaultConfig.
type Config struct {
	// GRPCAddr is the gRPC listen address. Default ":9090".
	GRPCAddr string
	// HTTPAddr is the HTTP listen address (REST mirror, health, OpenAPI).
	// Default ":8080".
	HTTPAddr string
	// UpstreamURL is the CloudCockpit API base URL. Default
	// DefaultUpstreamURL; ignored when Sandbox is set.
	UpstreamURL string
	// UpstreamURLSet records that UpstreamURL was given explicitly, which
	// conflicts with Sandbox.
	UpstreamURLSet bool
	// Sandbox serves the embedded simulated upstream on a loopback port
	// (through StartSandbox) and uses it instead of UpstreamURL.
	Sandbox bool
	// StartSandbox starts the embedded simulated upstream and returns its
	// base URL and a function that stops it; Serve calls it when Sandbox is
	// set, which requires it. cmd/server sets it to sandbox.Start, so that
	// this package does not depend on the sandbox.
	StartSandbox func(ctx context.Context) (baseURL string, stop func(), err error)
	// DefaultTenant is used for calls without `x-tenant`; empty means such
	// calls are rejected.
	DefaultTenant string
	// ShutdownTimeout bounds how long in-flight calls may take to finish
	// after a stop signal. Default 10s.
	ShutdownTimeout time.Duration
	// ShutdownDelay is how long the server keeps accepting new calls after
	// a stop signal, with readiness already NOT_SERVING, before it drains:
	// time for load balancers (Kubernetes endpoints) to stop sending it
	// traffic. Default 0 (drain at once).
	ShutdownDelay time.Duration
	// Tracing is the OpenTelemetry set-up; nil means: from the OTEL_*
	// environment variables (off when none is set).
	Tracing *telemetry.Tracing
	// Logger receives the access log and the server's own messages. Default
	// slog.Default().
	Logger *slog.Logger

	// UpstreamTimeout bounds an upstream call (all attempts and back-off)
	// when the caller set no deadline; a caller's deadline, shorter or
	// longer, is used as it is. Default 10s; must be positive.
	UpstreamTimeout time.Duration
	// UpstreamAttemptTimeout bounds each upstream attempt until its response
	// headers arrive; an attempt that runs out is retried like a connection
	// failure. Default 5s; 0 disables it.
	UpstreamAttemptTimeout time.Duration
	// UpstreamMaxAttempts is the most attempts an upstream call makes, the
	// first included (1 disables retries). Default 3; between 1 and 10.
	UpstreamMaxAttempts int
	// UpstreamMaxConcurrent limits the upstream requests in flight. Default
	// 64; at least 1.
	UpstreamMaxConcurrent int
	// UpstreamQueueTimeout is the longest a request over
	// UpstreamMaxConcurrent waits for a slot before the call fails with
	// RESOURCE_EXHAUSTED. Default 1s; 0 rejects at once.
	UpstreamQueueTimeout time.Duration
	// UpstreamMaxBodyBytes caps the size of an upstream response body.
	// Default 1 MiB; at least 1 KiB.
	UpstreamMaxBodyBytes int64
	// BreakerFailures is the number of consecutive failed upstream attempts
	// (5xx, 429, no answer) that opens the circuit breaker. Default 5; 0
	// disables the breaker.
	BreakerFailures int
	// BreakerOpenDuration is how long the open breaker fails calls fast
	// (and readiness reports NOT_SERVING) before it lets a probe through.
	// Default 5s; must be positive.
	BreakerOpenDuration time.Duration
	// UpstreamTransport picks the HTTP client stack for upstream requests:
	// TransportHTTP1 (the default: rest.HTTP1Transport, HTTP/1.1 keep-alive
	// connections used by the calling goroutine) or TransportNetHTTP
	// (net/http's Transport, HTTP/2 when the upstream offers it).
	UpstreamTransport string
	// Coalesce makes identical concurrent calls (same method, arguments,
	// tenant and credentials) share one upstream request. Default true.
	Coalesce bool

	// TLSCertFile and TLSKeyFile, set together, make both listeners (gRPC
	// and HTTP) serve TLS 1.2 or later with this PEM certificate chain and
	// key. Empty (the default) serves plaintext. The in-memory connection
	// between the REST mirror and the gRPC server stays plaintext: it never
	// leaves the process.
	TLSCertFile, TLSKeyFile string
	// TLSClientCAFile, when set, makes TLS mutual: every client must present
	// a certificate that chains to one of the PEM CA certificates in this
	// file. It requires TLSCertFile and TLSKeyFile.
	TLSClientCAFile string
	// UpstreamCAFile adds the PEM CA certificates in this file to the system
	// roots when verifying the upstream's certificate (an upstream behind a
	// private CA). The upstream's certificate is always verified; there is
	// no way to turn that off.
	UpstreamCAFile string

	// GRPCMaxConcurrentStreams is the most calls (HTTP/2 streams) one gRPC
	// connection may have open at once. The server announces it in its
	// HTTP/2 SETTINGS (well-behaved clients queue beyond it) and refuses
	// streams over it with RST_STREAM REFUSED_STREAM. Default 100; between
	// 1 and 10000.
	GRPCMaxConcurrentStreams int
	// GRPCConnectionTimeout bounds a new gRPC connection's handshake (TLS,
	// then the HTTP/2 preface and settings): a client that has not
	// completed it in time is disconnected. Default 10s; must be positive.
	GRPCConnectionTimeout time.Duration
	// GRPCKeepaliveMinTime is the shortest interval between a client's
	// HTTP/2 keepalive pings that the gRPC server tolerates, with or
	// without calls in flight; a client that pings more often is sent
	// GOAWAY (ENHANCE_YOUR_CALM, "too_many_pings") and disconnected.
	// Default 10s (grpc-go's own is 5m, which punishes clients that keep
	// idle connections alive through load balancers); must be positive.
	GRPCKeepaliveMinTime time.Duration
	// GRPCMaxConnectionIdle closes a gRPC connection that has had no call
	// in flight for this long, with a GOAWAY that clients handle by
	// reconnecting when they next call. Default 5m; 0 disables it.
	GRPCMaxConnectionIdle time.Duration

	// DebugAddr, when set, serves the Go runtime profiles
	// (net/http/pprof, /debug/pprof/...) on their own listener at this
	// address, never on the HTTP listener. Empty (the default) serves none.
	// Bind it to loopback: profiles reveal the program's internals and
	// cost CPU while they run.
	DebugAddr string
}

// DefaultConfig returns the configuration used when nothing is set.
func DefaultConfig() Config {
	return Config{
		GRPCAddr:        ":9090",
		HTTPAddr:        ":8080",
		UpstreamURL:     DefaultUpstreamURL,
		ShutdownTimeout: 10 * time.Second,

		UpstreamTimeout:        rest.DefaultTimeout,
		UpstreamAttemptTimeout: rest.DefaultAttemptTimeout,
		UpstreamMaxAttempts:    rest.DefaultMaxAttempts,
		UpstreamMaxConcurrent:  rest.DefaultMaxConcurrent,
		UpstreamQueueTimeout:   rest.DefaultQueueTimeout,
		UpstreamMaxBodyBytes:   rest.DefaultMaxBodyBytes,
		BreakerFailures:        rest.DefaultBreakerFailures,
		BreakerOpenDuration:    rest.DefaultBreakerOpenDuration,
		Coalesce:               true,
		UpstreamTransport:      TransportHTTP1,

		GRPCMaxConcurrentStreams: DefaultGRPCMaxConcurrentStreams,
		GRPCConnectionTimeout:    DefaultGRPCConnectionTimeout,
		GRPCKeepaliveMinTime:     DefaultGRPCKeepaliveMinTime,
		GRPCMaxConnectionIdle:    DefaultGRPCMaxConnectionIdle,
	}
}

// The values of Config.UpstreamTransport.
const (
	TransportHTTP1   = "http1"
	TransportNetHTTP = "nethttp"
)

// Validate reports the first problem with c, in words meant for the person
// starting the service.
func (c Config) Validate() error {
	if c.Sandbox && c.UpstreamURLSet {
		return errors.New("-sandbox and -upstream-url (CLOUDCOCKPIT_BASE_URL) both set: say which upstream you mean")
	}
	if c.Sandbox && c.StartSandbox == nil {
		return errors.New("-sandbox is set but the program provides no sandbox (Config.StartSandbox is nil)")
	}
	if c.GRPCAddr == "" {
		return errors.New("-grpc-addr (GRPC_ADDR) must not be empty")
	}
	if c.HTTPAddr == "" {
		return errors.New("-http-addr (HTTP_ADDR) must not be empty")
	}
	if !c.Sandbox {
		u, err := url.Parse(c.UpstreamURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("-upstream-url (CLOUDCOCKPIT_BASE_URL) %q is not an http(s) base URL such as %s", c.UpstreamURL, DefaultUpstreamURL)
		}
	}
	if c.ShutdownDelay < 0 {
		return errors.New("-shutdown-delay (SHUTDOWN_DELAY) must not be negative")
	}
	if c.ShutdownTimeout < 0 {
		return errors.New("-shutdown-timeout must not be negative")
	}
	if err := c.validateTLS(); err != nil {
		return err
	}
	if err := c.validateLimits(); err != nil {
		return err
	}
	return c.validateUpstream()
}

// validateUpstream checks the settings of the upstream client's
// protections.
func (c Config) validateUpstream() error {
	switch {
	case c.UpstreamTimeout <= 0:
		return fmt.Errorf("-upstream-timeout (UPSTREAM_TIMEOUT) must be positive, got %v", c.UpstreamTimeout)
	case c.UpstreamAttemptTimeout < 0:
		return fmt.Errorf("-upstream-attempt-timeout (UPSTREAM_ATTEMPT_TIMEOUT) must not be negative (0 disables it), got %v", c.UpstreamAttemptTimeout)
	case c.UpstreamMaxAttempts < 1 || c.UpstreamMaxAttempts > 10:
		return fmt.Errorf("-upstream-max-attempts (UPSTREAM_MAX_ATTEMPTS) must be between 1 (no retries) and 10, got %d", c.UpstreamMaxAttempts)
	case c.UpstreamMaxConcurrent < 1:
		return fmt.Errorf("-upstream-max-concurrent (UPSTREAM_MAX_CONCURRENT) must be at least 1, got %d", c.UpstreamMaxConcurrent)
	case c.UpstreamQueueTimeout < 0:
		return fmt.Errorf("-upstream-queue-timeout (UPSTREAM_QUEUE_TIMEOUT) must not be negative (0 rejects at once), got %v", c.UpstreamQueueTimeout)
	case c.UpstreamMaxBodyBytes < 1<<10:
		return fmt.Errorf("-upstream-max-body (UPSTREAM_MAX_BODY_BYTES) must be at least 1024 bytes, got %d", c.UpstreamMaxBodyBytes)
	case c.BreakerFailures < 0:
		return fmt.Errorf("-breaker-failures (BREAKER_FAILURES) must not be negative (0 disables the breaker), got %d", c.BreakerFailures)
	case c.BreakerOpenDuration <= 0:
		return fmt.Errorf("-breaker-open (BREAKER_OPEN_DURATION) must be positive, got %v", c.BreakerOpenDuration)
	case c.UpstreamTransport != TransportHTTP1 && c.UpstreamTransport != TransportNetHTTP:
		return fmt.Errorf("-upstream-transport (UPSTREAM_TRANSPORT) must be %s or %s, got %q", TransportHTTP1, TransportNetHTTP, c.UpstreamTransport)
	}
	return nil
}

// upstreamConfig translates c into the upstream client's configuration,
// whose zero values mean defaults: a disabled setting becomes a negative
// value there.
func (c Config) upstreamConfig(baseURL string, onBreakerStateChange func(rest.BreakerState)) rest.Config {
	rc := rest.Config{
		BaseURL:              baseURL,
		MaxBodyBytes:         c.UpstreamMaxBodyBytes,
		Timeout:              c.UpstreamTimeout,
		AttemptTimeout:       c.UpstreamAttemptTimeout,
		MaxAttempts:          c.UpstreamMaxAttempts,
		MaxConcurrent:        c.UpstreamMaxConcurrent,
		QueueTimeout:         c.UpstreamQueueTimeout,
		BreakerFailures:      c.BreakerFailures,
		BreakerOpenDuration:  c.BreakerOpenDuration,
		OnBreakerStateChange: onBreakerStateChange,
		DisableCoalescing:    !c.Coalesce,
	}
	if c.UpstreamAttemptTimeout == 0 {
		rc.AttemptTimeout = -1
	}
	if c.UpstreamQueueTimeout == 0 {
		rc.QueueTimeout = -1
	}
	if c.BreakerFailures == 0 {
		rc.BreakerFailures = -1
	}
	return rc
}
