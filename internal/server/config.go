package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/resilience"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/telemetry"
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
	// UpstreamAttemptTimeout bounds each upstream attempt, from sending the
	// request to the end of the response body; an attempt that runs out is
	// retried like a connection failure. Default 5s; 0 disables it.
	UpstreamAttemptTimeout time.Duration
	// UpstreamMaxAttempts is the most attempts an upstream call makes, the
	// first included (1 disables retries). Default 3; between 1 and 10.
	UpstreamMaxAttempts int
	// UpstreamMaxConcurrent limits the upstream requests in flight, over
	// all tenants; the upstream connection pool is sized to it. Default 64;
	// at least 1.
	UpstreamMaxConcurrent int
	// UpstreamTenantMaxConcurrent limits the upstream requests in flight
	// for one caller (its client certificate's identity with mutual TLS,
	// else its x-tenant), in front of UpstreamMaxConcurrent, so that one
	// caller's slow calls cannot take every slot. Default 0: half of
	// UpstreamMaxConcurrent (at least 1); at most UpstreamMaxConcurrent.
	UpstreamTenantMaxConcurrent int
	// UpstreamQueueTimeout is the longest a request over
	// UpstreamMaxConcurrent (or its tenant's limit) waits for a slot before
	// the call fails with RESOURCE_EXHAUSTED. Default 1s; 0 rejects at once.
	UpstreamQueueTimeout time.Duration
	// UpstreamMaxBodyBytes caps the size of an upstream response body.
	// Default 1 MiB; at least 1 KiB.
	UpstreamMaxBodyBytes int64
	// UpstreamRetryRatio bounds the retries of all tenants together to this
	// share of the first upstream attempts, over time (each tenant also has
	// its own gRFC A6 retry budget). Default 0.1; between 0 (exclusive) and
	// 1.
	UpstreamRetryRatio float64
	// UpstreamMaxTenants bounds the tenants with upstream resilience state
	// of their own (breaker, retry budget) that the upstream has answered
	// with a success, and apart from them those it has not (see
	// resilience.Tenants). Default 1024; at least 1.
	UpstreamMaxTenants int
	// UpstreamTenantIdle is how long a tenant's resilience state outlives
	// its last call. Default 5m; must be positive.
	UpstreamTenantIdle time.Duration
	// BreakerFailureRatio opens a tenant's circuit breaker when this share
	// of its counted calls in the window failed (502, 503, 504, no answer,
	// attempt timeout; a call counts once, after its retries). Default 0.5;
	// 0 disables breakers; at most 1.
	BreakerFailureRatio float64
	// BreakerMinCalls is the number of counted calls a tenant's window
	// needs before its failure ratio can open the breaker. Default 20;
	// between 1 and 1,000,000.
	BreakerMinCalls int
	// BreakerWindow is the rolling window over which a tenant's calls are
	// counted. Default 30s; must be positive.
	BreakerWindow time.Duration
	// BreakerOpenDuration is how long an open breaker fails the tenant's
	// calls fast before it lets a probe through. Readiness does not depend
	// on it. Default 5s; must be positive.
	BreakerOpenDuration time.Duration
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

	// CORSAllowedOrigins are the browser origins (such as
	// https://app.example.com, or * for any) whose pages may call the HTTP
	// port: the REST mirror, Connect and gRPC-Web. Empty (the default)
	// grants no other origin.
	CORSAllowedOrigins []string

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

	// MaxConnections is the most connections each port (gRPC and HTTP)
	// holds open at once; beyond it the port accepts no more until one
	// closes (new ones wait in the kernel's backlog). Default 128; between
	// 1 and 100000.
	MaxConnections int
	// MaxCalls is the most calls in flight in the process, over both ports
	// (gRPC streams, HTTP requests other than /metrics, /healthz and
	// /readyz); a call beyond it is refused at once with RESOURCE_EXHAUSTED
	// (HTTP 429) and reason TOO_MANY_CALLS_IN_FLIGHT. Default 500;
	// between 1 and 100000.
	MaxCalls int
	// MessageTimeout bounds the time a call may take, from its headers, to
	// deliver its request message (a unary call's, a stream's first; an
	// HTTP request's whole body): a call that has not is cancelled, so
	// that headers alone cannot hold a call slot. Default 5s; must be
	// positive.
	MessageTimeout time.Duration

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
		UpstreamRetryRatio:     resilience.DefaultRetryRatio,
		UpstreamMaxTenants:     resilience.DefaultMaxTenants,
		UpstreamTenantIdle:     resilience.DefaultTenantIdle,
		BreakerFailureRatio:    resilience.DefaultFailureRatio,
		BreakerMinCalls:        resilience.DefaultMinCalls,
		BreakerWindow:          resilience.DefaultWindow,
		BreakerOpenDuration:    resilience.DefaultOpenFor,
		Coalesce:               true,

		GRPCMaxConcurrentStreams: DefaultGRPCMaxConcurrentStreams,
		GRPCConnectionTimeout:    DefaultGRPCConnectionTimeout,
		GRPCKeepaliveMinTime:     DefaultGRPCKeepaliveMinTime,
		GRPCMaxConnectionIdle:    DefaultGRPCMaxConnectionIdle,
		MaxConnections:           DefaultMaxConnections,
		MaxCalls:                 DefaultMaxCalls,
		MessageTimeout:           DefaultMessageTimeout,
	}
}

// maxBreakerMinCalls bounds Config.BreakerMinCalls.
const maxBreakerMinCalls = 1_000_000

// errNoSandbox refuses -sandbox in a program that provides no sandbox.
var errNoSandbox = errors.New("-sandbox is set but the program provides no sandbox (Config.StartSandbox is nil)")

// Validate reports the first problem with c, in words meant for the person
// starting the service.
func (c Config) Validate() error {
	if c.Sandbox && c.UpstreamURLSet {
		return errors.New("-sandbox and -upstream-url (CLOUDCOCKPIT_BASE_URL) both set: say which upstream you mean")
	}
	if c.Sandbox && c.StartSandbox == nil {
		return errNoSandbox
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
	if err := validateOrigins(c.CORSAllowedOrigins); err != nil {
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
	case c.UpstreamTenantMaxConcurrent < 0 || c.UpstreamTenantMaxConcurrent > c.UpstreamMaxConcurrent:
		return fmt.Errorf("-upstream-tenant-max-concurrent (UPSTREAM_TENANT_MAX_CONCURRENT) must be between 0 (half of -upstream-max-concurrent) and -upstream-max-concurrent (%d), got %d", c.UpstreamMaxConcurrent, c.UpstreamTenantMaxConcurrent)
	case !(c.UpstreamRetryRatio > 0 && c.UpstreamRetryRatio <= 1):
		return fmt.Errorf("-upstream-retry-ratio (UPSTREAM_RETRY_RATIO) must be above 0 and at most 1, got %v", c.UpstreamRetryRatio)
	case c.UpstreamMaxTenants < 1:
		return fmt.Errorf("-upstream-max-tenants (UPSTREAM_MAX_TENANTS) must be at least 1, got %d", c.UpstreamMaxTenants)
	case c.UpstreamTenantIdle <= 0:
		return fmt.Errorf("-upstream-tenant-idle (UPSTREAM_TENANT_IDLE) must be positive, got %v", c.UpstreamTenantIdle)
	case !(c.BreakerFailureRatio >= 0 && c.BreakerFailureRatio <= 1):
		return fmt.Errorf("-breaker-failure-ratio (BREAKER_FAILURE_RATIO) must be between 0 (no breakers) and 1, got %v", c.BreakerFailureRatio)
	case c.BreakerMinCalls < 1 || c.BreakerMinCalls > maxBreakerMinCalls:
		return fmt.Errorf("-breaker-min-calls (BREAKER_MIN_CALLS) must be between 1 and %d, got %d", maxBreakerMinCalls, c.BreakerMinCalls)
	case c.BreakerWindow <= 0:
		return fmt.Errorf("-breaker-window (BREAKER_WINDOW) must be positive, got %v", c.BreakerWindow)
	case c.BreakerOpenDuration <= 0:
		return fmt.Errorf("-breaker-open (BREAKER_OPEN_DURATION) must be positive, got %v", c.BreakerOpenDuration)
	}
	return nil
}

// upstreamConfig translates c into the upstream client's configuration,
// whose zero values mean defaults: a disabled setting becomes a negative
// value there. onBreakerChange receives every change of a tenant's breaker.
func (c Config) upstreamConfig(baseURL string, onBreakerChange func(from, to resilience.BreakerState)) rest.Config {
	rc := rest.Config{
		BaseURL:             baseURL,
		MaxBodyBytes:        c.UpstreamMaxBodyBytes,
		Timeout:             c.UpstreamTimeout,
		AttemptTimeout:      c.UpstreamAttemptTimeout,
		MaxAttempts:         c.UpstreamMaxAttempts,
		RetryRatio:          c.UpstreamRetryRatio,
		MaxConcurrent:       c.UpstreamMaxConcurrent,
		TenantMaxConcurrent: c.UpstreamTenantMaxConcurrent,
		QueueTimeout:        c.UpstreamQueueTimeout,
		MaxTenants:          c.UpstreamMaxTenants,
		TenantIdle:          c.UpstreamTenantIdle,
		Breaker: resilience.BreakerSettings{
			FailureRatio:  c.BreakerFailureRatio,
			MinCalls:      uint32(c.BreakerMinCalls), //nolint:gosec // G115: Validate bounds it to maxBreakerMinCalls
			Window:        c.BreakerWindow,
			OpenFor:       c.BreakerOpenDuration,
			OnStateChange: onBreakerChange,
		},
		DisableCoalescing: !c.Coalesce,
	}
	if c.UpstreamAttemptTimeout == 0 {
		rc.AttemptTimeout = -1
	}
	if c.UpstreamQueueTimeout == 0 {
		rc.QueueTimeout = -1
	}
	if c.BreakerFailureRatio == 0 {
		rc.Breaker.FailureRatio = -1
	}
	return rc
}
