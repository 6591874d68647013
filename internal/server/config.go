package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/resilience"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/stale"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/telemetry"
)

// DefaultShutdownTimeout is Config.ShutdownTimeout's default.
const DefaultShutdownTimeout = 10 * time.Second

// DefaultUpstreamURL is the production base URL of the CloudCockpit API, as the
// spec names it.
const DefaultUpstreamURL = "https://app-cloudcockpitapi-prod-01.azurewebsites.net"

// Config is everything Run needs. Start from DefaultConfig, which sets the
// listen addresses, the upstream URL and Coalesce.
//
// Numbers and durations follow rest.Config's convention: zero means the
// documented default, and a negative value turns off a mechanism that can
// be off (each field says which); elsewhere a negative value is rejected by
// Validate. So the upstream settings pass to rest.Config as they are.
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
	// after a stop signal. Zero means DefaultShutdownTimeout (10s).
	ShutdownTimeout time.Duration
	// ShutdownDelay is how long the server keeps accepting new calls after
	// a stop signal, with readiness already NOT_SERVING, before it drains:
	// time for load balancers (Kubernetes endpoints) to stop sending it
	// traffic. Default 0: drain at once.
	ShutdownDelay time.Duration
	// Tracing is the OpenTelemetry set-up; nil means: from the OTEL_*
	// environment variables (off when none is set).
	Tracing *telemetry.Tracing
	// Logger receives the access log and the server's own messages. Default
	// slog.Default().
	Logger *slog.Logger

	// The upstream client's settings are those of rest.Config, whose
	// documentation says what each does; zero means the default named here.

	// UpstreamTimeout is rest.Config.Timeout: the bound on an upstream call
	// when the caller set no deadline. Zero means 10s.
	UpstreamTimeout time.Duration
	// UpstreamAttemptTimeout is rest.Config.AttemptTimeout: the bound on
	// each attempt, body included. Zero means 5s; negative turns it off.
	UpstreamAttemptTimeout time.Duration
	// UpstreamMaxAttempts is rest.Config.MaxAttempts, the first attempt
	// included (1: no retries). Zero means 3; at most 10.
	UpstreamMaxAttempts int
	// UpstreamMaxConcurrent is rest.Config.MaxConcurrent (over all tenants;
	// also the size of the upstream connection pool). Zero means 64; it
	// cannot be off.
	UpstreamMaxConcurrent int
	// UpstreamTenantMaxConcurrent is rest.Config.TenantMaxConcurrent: the
	// share of one caller (its client certificate's identity with mutual
	// TLS, else its x-tenant). Zero means half of UpstreamMaxConcurrent (at
	// least 1); it cannot be off and is at most UpstreamMaxConcurrent.
	UpstreamTenantMaxConcurrent int
	// UpstreamQueueTimeout is rest.Config.QueueTimeout: the longest wait for
	// a request slot before RESOURCE_EXHAUSTED. Zero means 1s; negative
	// rejects at once.
	UpstreamQueueTimeout time.Duration
	// UpstreamMaxBodyBytes is rest.Config.MaxBodyBytes. Zero means 1 MiB;
	// otherwise at least 1 KiB.
	UpstreamMaxBodyBytes int64
	// UpstreamRetryRatio is rest.Config.RetryRatio: retries of all tenants
	// together, as a share of first attempts. Zero means 0.1; at most 1; it
	// cannot be off (UpstreamMaxAttempts 1 turns retries off).
	UpstreamRetryRatio float64
	// UpstreamMaxTenants is rest.Config.MaxTenants: the tenants with
	// resilience state of their own that the upstream has answered with a
	// success, and apart from them those it has not (resilience.Tenants).
	// Zero means 1024.
	UpstreamMaxTenants int
	// UpstreamTenantIdle is rest.Config.TenantIdle. Zero means 5m.
	UpstreamTenantIdle time.Duration
	// BreakerFailureRatio is resilience.BreakerSettings.FailureRatio: the
	// share of a tenant's counted calls in the window that opens its
	// breaker. Zero means 0.5; negative turns breakers off; at most 1.
	BreakerFailureRatio float64
	// BreakerMinCalls is resilience.BreakerSettings.MinCalls. Zero means
	// 20; at most 1,000,000.
	BreakerMinCalls int
	// BreakerWindow is resilience.BreakerSettings.Window. Zero means 30s.
	BreakerWindow time.Duration
	// BreakerOpenDuration is resilience.BreakerSettings.OpenFor. Readiness
	// does not depend on it. Zero means 5s.
	BreakerOpenDuration time.Duration
	// Coalesce makes identical concurrent calls (same method, arguments,
	// tenant and credentials) share one upstream request. DefaultConfig
	// sets it; false is rest.Config.DisableCoalescing.
	Coalesce bool
	// StaleIfError is the longest time a successful answer may stand in,
	// labelled stale, for the upstream's failures (internal/stale). 0, the
	// default, keeps no answer.
	StaleIfError time.Duration
	// StaleCacheMaxBytes bounds the weight of the answers kept for
	// StaleIfError. Zero means stale.DefaultMaxBytes (16 MiB); otherwise at
	// least 1 MiB.
	StaleCacheMaxBytes int64

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
	// streams over it with RST_STREAM REFUSED_STREAM. Zero means
	// DefaultGRPCMaxConcurrentStreams (100); at most 10000.
	GRPCMaxConcurrentStreams int
	// GRPCConnectionTimeout bounds a new gRPC connection's handshake (TLS,
	// then the HTTP/2 preface and settings): a client that has not
	// completed it in time is disconnected. Zero means
	// DefaultGRPCConnectionTimeout (10s).
	GRPCConnectionTimeout time.Duration
	// GRPCKeepaliveMinTime is the shortest interval between a client's
	// HTTP/2 keepalive pings that the gRPC server tolerates, with or
	// without calls in flight; a client that pings more often is sent
	// GOAWAY (ENHANCE_YOUR_CALM, "too_many_pings") and disconnected. Zero
	// means DefaultGRPCKeepaliveMinTime (10s; grpc-go's own is 5m, which
	// punishes clients that keep idle connections alive through load
	// balancers).
	GRPCKeepaliveMinTime time.Duration
	// GRPCMaxConnectionIdle closes a gRPC connection that has had no call
	// in flight for this long, with a GOAWAY that clients handle by
	// reconnecting when they next call. Zero means
	// DefaultGRPCMaxConnectionIdle (5m); negative turns it off.
	GRPCMaxConnectionIdle time.Duration

	// MaxConnections is the most connections each port (gRPC and HTTP)
	// holds open at once; beyond it the port accepts no more until one
	// closes (new ones wait in the kernel's backlog). Zero means
	// DefaultMaxConnections (128); at most 100000.
	MaxConnections int
	// MaxCalls is the most calls in flight in the process, over both ports
	// (gRPC streams, HTTP requests other than /metrics, /healthz and
	// /readyz); a call beyond it is refused at once with RESOURCE_EXHAUSTED
	// (HTTP 429) and reason TOO_MANY_CALLS_IN_FLIGHT. With mutual TLS, one
	// client certificate holds at most half of them (at least 1); its call
	// beyond that is refused the same way with reason
	// CLIENT_CALLS_IN_FLIGHT. Zero means DefaultMaxCalls (500); at most
	// 100000.
	MaxCalls int
	// MessageTimeout bounds the time a call may take, from its headers, to
	// deliver its request message (a unary call's, a stream's first; an
	// HTTP request's whole body): a call that has not is cancelled, so
	// that headers alone cannot hold a call slot. Zero means
	// DefaultMessageTimeout (5s); it cannot be off.
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
		ShutdownTimeout: DefaultShutdownTimeout,

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
		StaleCacheMaxBytes:     stale.DefaultMaxBytes,

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
	if c.ShutdownDelay < 0 || c.ShutdownTimeout < 0 {
		return errors.New("-shutdown-delay (SHUTDOWN_DELAY) and -shutdown-timeout (SHUTDOWN_TIMEOUT) must not be negative")
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
	maxConcurrent := cmp.Or(c.UpstreamMaxConcurrent, rest.DefaultMaxConcurrent)
	switch {
	case c.UpstreamTimeout < 0:
		return fmt.Errorf("-upstream-timeout (UPSTREAM_TIMEOUT) must not be negative, got %v", c.UpstreamTimeout)
	case c.UpstreamMaxAttempts < 0 || c.UpstreamMaxAttempts > 10:
		return fmt.Errorf("-upstream-max-attempts (UPSTREAM_MAX_ATTEMPTS) must be between 1 (no retries) and 10, got %d", c.UpstreamMaxAttempts)
	case c.UpstreamMaxConcurrent < 0:
		return fmt.Errorf("-upstream-max-concurrent (UPSTREAM_MAX_CONCURRENT) must be at least 1, got %d", c.UpstreamMaxConcurrent)
	case c.UpstreamMaxBodyBytes < 0 || c.UpstreamMaxBodyBytes > 0 && c.UpstreamMaxBodyBytes < 1<<10:
		return fmt.Errorf("-upstream-max-body (UPSTREAM_MAX_BODY_BYTES) must be at least 1024 bytes, got %d", c.UpstreamMaxBodyBytes)
	case c.UpstreamTenantMaxConcurrent < 0 || c.UpstreamTenantMaxConcurrent > maxConcurrent:
		return fmt.Errorf("-upstream-tenant-max-concurrent (UPSTREAM_TENANT_MAX_CONCURRENT) must be between 0 (half of -upstream-max-concurrent) and -upstream-max-concurrent (%d), got %d", maxConcurrent, c.UpstreamTenantMaxConcurrent)
	case !(c.UpstreamRetryRatio >= 0 && c.UpstreamRetryRatio <= 1):
		return fmt.Errorf("-upstream-retry-ratio (UPSTREAM_RETRY_RATIO) must be between 0 (the default, 0.1) and 1, got %v", c.UpstreamRetryRatio)
	case c.UpstreamMaxTenants < 0:
		return fmt.Errorf("-upstream-max-tenants (UPSTREAM_MAX_TENANTS) must be at least 1, got %d", c.UpstreamMaxTenants)
	case c.UpstreamTenantIdle < 0:
		return fmt.Errorf("-upstream-tenant-idle (UPSTREAM_TENANT_IDLE) must not be negative, got %v", c.UpstreamTenantIdle)
	case !(c.BreakerFailureRatio <= 1):
		return fmt.Errorf("-breaker-failure-ratio (BREAKER_FAILURE_RATIO) must be between 0 (no breakers) and 1, got %v", c.BreakerFailureRatio)
	case c.BreakerMinCalls < 0 || c.BreakerMinCalls > maxBreakerMinCalls:
		return fmt.Errorf("-breaker-min-calls (BREAKER_MIN_CALLS) must be between 1 and %d, got %d", maxBreakerMinCalls, c.BreakerMinCalls)
	case c.BreakerWindow < 0:
		return fmt.Errorf("-breaker-window (BREAKER_WINDOW) must not be negative, got %v", c.BreakerWindow)
	case c.BreakerOpenDuration < 0:
		return fmt.Errorf("-breaker-open (BREAKER_OPEN_DURATION) must not be negative, got %v", c.BreakerOpenDuration)
	case c.StaleIfError < 0:
		return fmt.Errorf("-stale-if-error (STALE_IF_ERROR) must not be negative, got %v", c.StaleIfError)
	case c.StaleCacheMaxBytes < 0 || c.StaleCacheMaxBytes > 0 && c.StaleCacheMaxBytes < 1<<20:
		return fmt.Errorf("-stale-cache-max-bytes (STALE_CACHE_MAX_BYTES) must be at least 1 MiB (1048576), got %d", c.StaleCacheMaxBytes)
	}
	return nil
}

// upstreamConfig is c's part of the upstream client's configuration, which
// follows the same convention for zero and negative values.
// onBreakerChange receives every change of a tenant's breaker.
func (c Config) upstreamConfig(baseURL string, onBreakerChange func(from, to resilience.BreakerState)) rest.Config {
	return rest.Config{
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
}
