package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/resilience"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/stale"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/telemetry"
)

// DefaultShutdownTimeout is Config.ShutdownTimeout's default.
const DefaultShutdownTimeout = 10 * time.Second

// DefaultUpstreamURL is the CloudCockpit API's production base URL, named in the spec.
const DefaultUpstreamURL = "https://app-cloudcockpitapi-prod-01.azurewebsites.net"

// Config is everything Run needs. Start from DefaultConfig, which sets the listen
// addresses and the upstream URL; docs/configuration.md describes each setting under
// its flag, with its bounds. As in rest.Config, a zero number or duration means the
// default DefaultConfig sets, and a negative one turns off a mechanism that can be off
// (its field says which); elsewhere Validate rejects it.
type Config struct {
	// GRPCAddr and HTTPAddr are the gRPC and HTTP listen addresses.
	GRPCAddr, HTTPAddr string
	// UpstreamURLSet records that Upstream.BaseURL was set explicitly: not with Sandbox.
	UpstreamURLSet bool
	// Sandbox serves the simulated upstream instead of Upstream.BaseURL.
	Sandbox bool
	// StartSandbox, which Sandbox requires, starts the simulated upstream and returns
	// its base URL and stop function. cmd/server sets it to sandbox.Start, so that this
	// package does not depend on the sandbox.
	StartSandbox func(ctx context.Context) (baseURL string, stop func(), err error)
	// Build names the binary in the build-info metric, as -version prints it.
	Build telemetry.Build
	// DefaultTenant is the tenant of calls without `x-tenant`; empty rejects such calls.
	DefaultTenant string
	// ShutdownTimeout bounds the time in-flight calls get to finish after a stop signal.
	ShutdownTimeout time.Duration
	// ShutdownDelay is how long calls are still accepted after a stop signal, with
	// readiness NOT_SERVING. Zero, the default, drains at once.
	ShutdownDelay time.Duration
	// Tracing is the OpenTelemetry set-up; nil reads it from the OTEL_* variables.
	Tracing *telemetry.Tracing
	// Logger takes the access log and the server's messages; nil means slog.Default().
	Logger *slog.Logger

	// Upstream configures the upstream client, zero values meaning rest.Config's defaults;
	// Serve sets Transport, OnCoalesced, OnRejected and Breaker.OnStateChange.
	Upstream rest.Config
	// StaleIfError is the longest time a successful answer may stand in, labelled
	// stale, for the upstream's failures. Zero, the default, keeps none.
	StaleIfError time.Duration
	// StaleCacheMaxBytes bounds the memory of the answers kept for StaleIfError.
	StaleCacheMaxBytes int64

	// TLSCertFile and TLSKeyFile, set together, make both listeners serve TLS.
	TLSCertFile, TLSKeyFile string
	// TLSClientCAFile makes TLS mutual, with client certificates of this PEM CA bundle.
	TLSClientCAFile string
	// UpstreamCAFile adds its PEM CA certificates to the system roots for the upstream.
	UpstreamCAFile string

	// CORSAllowedOrigins are the browser origins whose pages may call the HTTP port.
	CORSAllowedOrigins []string

	// GRPCMaxConcurrentStreams is the most calls open on one gRPC connection.
	GRPCMaxConcurrentStreams int
	// GRPCConnectionTimeout bounds a new gRPC connection's handshake.
	GRPCConnectionTimeout time.Duration
	// GRPCKeepaliveMinTime is the shortest keepalive ping interval tolerated.
	GRPCKeepaliveMinTime time.Duration
	// GRPCMaxConnectionIdle closes a gRPC connection idle (no call) this long; negative: never.
	GRPCMaxConnectionIdle time.Duration
	// GRPCMaxConnectionAge sends GOAWAY to a gRPC connection this old (±10 %, grpc-go's jitter), for new replicas; negative: never.
	GRPCMaxConnectionAge time.Duration

	// MaxConnections is the most connections each port holds open at once.
	MaxConnections int
	// MaxCalls is the most calls in flight in the process, both ports together; one
	// tenant holds at most three quarters, and with mutual TLS one certificate half.
	MaxCalls int
	// MessageTimeout bounds the time a call may take to deliver its request message.
	MessageTimeout time.Duration

	// DebugAddr, if set, serves the Go runtime profiles on a listener of its own.
	DebugAddr string
}

// DefaultConfig returns the configuration used when nothing is set.
func DefaultConfig() Config {
	return Config{
		GRPCAddr:        ":9090",
		HTTPAddr:        ":8080",
		ShutdownTimeout: DefaultShutdownTimeout,

		Upstream: rest.Config{
			BaseURL:        DefaultUpstreamURL,
			Timeout:        rest.DefaultTimeout,
			AttemptTimeout: rest.DefaultAttemptTimeout,
			MaxAttempts:    rest.DefaultMaxAttempts,
			MaxConcurrent:  rest.DefaultMaxConcurrent,
			QueueTimeout:   rest.DefaultQueueTimeout,
			MaxBodyBytes:   rest.DefaultMaxBodyBytes,
			RetryRatio:     resilience.DefaultRetryRatio,
			MaxTenants:     resilience.DefaultMaxTenants,
			TenantIdle:     resilience.DefaultTenantIdle,
			Breaker: resilience.BreakerSettings{
				FailureRatio: resilience.DefaultFailureRatio,
				MinCalls:     resilience.DefaultMinCalls,
				Window:       resilience.DefaultWindow,
				OpenFor:      resilience.DefaultOpenFor,
			},
		},
		StaleCacheMaxBytes: stale.DefaultMaxBytes,

		GRPCMaxConcurrentStreams: DefaultGRPCMaxConcurrentStreams,
		GRPCConnectionTimeout:    DefaultGRPCConnectionTimeout,
		GRPCKeepaliveMinTime:     DefaultGRPCKeepaliveMinTime,
		GRPCMaxConnectionIdle:    DefaultGRPCMaxConnectionIdle,
		GRPCMaxConnectionAge:     DefaultGRPCMaxConnectionAge,
		MaxConnections:           DefaultMaxConnections,
		MaxCalls:                 DefaultMaxCalls,
		MessageTimeout:           DefaultMessageTimeout,
	}
}

// Upper bounds that Validate enforces.
const (
	maxBreakerMinCalls  = 1_000_000
	maxProcessLimit     = 100_000 // MaxConnections and MaxCalls
	maxGRPCStreamsLimit = 10000
)

var errNoSandbox = errors.New("-sandbox is set but the program provides no sandbox (Config.StartSandbox is nil)")

// rule is one check of a setting's value: when bad, Validate reports
// "-flag (ENV) must want, got got".
type rule struct {
	bad             bool
	flag, env, want string
	got             any
}

// Validate reports the first problem with c in one line meant for the
// person starting the service, naming the flag and its environment variable.
// Files are read, and their contents checked, when the server starts.
func (c Config) Validate() error {
	switch {
	case c.Sandbox && c.UpstreamURLSet:
		return errors.New("-sandbox and -upstream-url (CLOUDCOCKPIT_BASE_URL) both set: say which upstream you mean")
	case c.Sandbox && c.StartSandbox == nil:
		return errNoSandbox
	case c.GRPCAddr == "":
		return errors.New("-grpc-addr (GRPC_ADDR) must not be empty")
	case c.HTTPAddr == "":
		return errors.New("-http-addr (HTTP_ADDR) must not be empty")
	case (c.TLSCertFile == "") != (c.TLSKeyFile == ""):
		return errors.New("-tls-cert (TLS_CERT_FILE) and -tls-key (TLS_KEY_FILE) go together: set both to serve TLS, or neither")
	case c.TLSClientCAFile != "" && c.TLSCertFile == "":
		return errors.New("-tls-client-ca (TLS_CLIENT_CA_FILE) needs -tls-cert (TLS_CERT_FILE) and -tls-key (TLS_KEY_FILE): client certificates are checked only over TLS")
	case c.UpstreamCAFile != "" && c.Sandbox:
		return errors.New("-upstream-ca (UPSTREAM_CA_FILE) has no use with -sandbox, whose upstream is plain HTTP in the process")
	case c.UpstreamCAFile != "" && !strings.HasPrefix(strings.ToLower(c.Upstream.BaseURL), "https:"):
		return fmt.Errorf("-upstream-ca (UPSTREAM_CA_FILE) is set, but the upstream URL %q is not https: the CA would never be used", c.Upstream.BaseURL)
	}
	if _, err := rest.ParseBaseURL(c.Upstream.BaseURL); err != nil && !c.Sandbox {
		return fmt.Errorf("-upstream-url (CLOUDCOCKPIT_BASE_URL): %w, such as %s", err, DefaultUpstreamURL)
	}
	if err := validateOrigins(c.CORSAllowedOrigins); err != nil {
		return err
	}
	const notNegative = "not be negative"
	maxConcurrent := cmp.Or(c.Upstream.MaxConcurrent, rest.DefaultMaxConcurrent)
	for _, r := range []rule{
		{c.ShutdownDelay < 0, "shutdown-delay", "SHUTDOWN_DELAY", notNegative, c.ShutdownDelay},
		{c.ShutdownTimeout < 0, "shutdown-timeout", "SHUTDOWN_TIMEOUT", notNegative, c.ShutdownTimeout},
		{c.GRPCMaxConcurrentStreams < 0 || c.GRPCMaxConcurrentStreams > maxGRPCStreamsLimit, "grpc-max-streams", "GRPC_MAX_CONCURRENT_STREAMS", fmt.Sprint("be between 1 and ", maxGRPCStreamsLimit), c.GRPCMaxConcurrentStreams},
		{c.GRPCConnectionTimeout < 0, "grpc-connection-timeout", "GRPC_CONNECTION_TIMEOUT", notNegative, c.GRPCConnectionTimeout},
		{c.GRPCKeepaliveMinTime < 0, "grpc-keepalive-min-time", "GRPC_KEEPALIVE_MIN_TIME", notNegative, c.GRPCKeepaliveMinTime},
		{c.MaxConnections < 0 || c.MaxConnections > maxProcessLimit, "max-connections", "MAX_CONNECTIONS", fmt.Sprint("be between 1 and ", maxProcessLimit), c.MaxConnections},
		{c.MaxCalls < 0 || c.MaxCalls > maxProcessLimit, "max-calls", "MAX_CALLS", fmt.Sprint("be between 1 and ", maxProcessLimit), c.MaxCalls},
		{c.MessageTimeout < 0, "message-timeout", "MESSAGE_TIMEOUT", notNegative, c.MessageTimeout},
		{c.Upstream.Timeout < 0, "upstream-timeout", "UPSTREAM_TIMEOUT", notNegative, c.Upstream.Timeout},
		{c.Upstream.MaxAttempts < 0 || c.Upstream.MaxAttempts > 10, "upstream-max-attempts", "UPSTREAM_MAX_ATTEMPTS", "be between 1 (no retries) and 10", c.Upstream.MaxAttempts},
		{c.Upstream.MaxConcurrent < 0, "upstream-max-concurrent", "UPSTREAM_MAX_CONCURRENT", "be at least 1", c.Upstream.MaxConcurrent},
		{c.Upstream.MaxBodyBytes < 0 || c.Upstream.MaxBodyBytes > 0 && c.Upstream.MaxBodyBytes < 1<<10, "upstream-max-body", "UPSTREAM_MAX_BODY_BYTES", "be at least 1024 bytes", c.Upstream.MaxBodyBytes},
		{c.Upstream.TenantMaxConcurrent < 0 || c.Upstream.TenantMaxConcurrent > maxConcurrent, "upstream-tenant-max-concurrent", "UPSTREAM_TENANT_MAX_CONCURRENT", fmt.Sprintf("be between 0 (half of -upstream-max-concurrent) and -upstream-max-concurrent (%d)", maxConcurrent), c.Upstream.TenantMaxConcurrent},
		{!(c.Upstream.RetryRatio >= 0 && c.Upstream.RetryRatio <= 1), "upstream-retry-ratio", "UPSTREAM_RETRY_RATIO", "be between 0 (the default, 0.1) and 1", c.Upstream.RetryRatio},
		{c.Upstream.MaxTenants < 0, "upstream-max-tenants", "UPSTREAM_MAX_TENANTS", "be at least 1", c.Upstream.MaxTenants},
		{c.Upstream.TenantIdle < 0, "upstream-tenant-idle", "UPSTREAM_TENANT_IDLE", notNegative, c.Upstream.TenantIdle},
		{!(c.Upstream.Breaker.FailureRatio <= 1), "breaker-failure-ratio", "BREAKER_FAILURE_RATIO", "be between 0 (no breakers) and 1", c.Upstream.Breaker.FailureRatio},
		{c.Upstream.Breaker.MinCalls > maxBreakerMinCalls, "breaker-min-calls", "BREAKER_MIN_CALLS", fmt.Sprint("be between 1 and ", maxBreakerMinCalls), c.Upstream.Breaker.MinCalls},
		{c.Upstream.Breaker.Window < 0, "breaker-window", "BREAKER_WINDOW", notNegative, c.Upstream.Breaker.Window},
		{c.Upstream.Breaker.OpenFor < 0, "breaker-open", "BREAKER_OPEN_DURATION", notNegative, c.Upstream.Breaker.OpenFor},
		{c.StaleIfError < 0, "stale-if-error", "STALE_IF_ERROR", notNegative, c.StaleIfError},
		{c.StaleCacheMaxBytes < 0 || c.StaleCacheMaxBytes > 0 && c.StaleCacheMaxBytes < 1<<20, "stale-cache-max-bytes", "STALE_CACHE_MAX_BYTES", "be at least 1 MiB (1048576)", c.StaleCacheMaxBytes},
		{c.StaleIfError > 0 && cmp.Or(c.StaleCacheMaxBytes, stale.DefaultMaxBytes) > debug.SetMemoryLimit(-1)/4, "stale-cache-max-bytes", "STALE_CACHE_MAX_BYTES", fmt.Sprintf("be at most a quarter of GOMEMLIMIT (%d bytes) with -stale-if-error on: a full store and its garbage", debug.SetMemoryLimit(-1)), cmp.Or(c.StaleCacheMaxBytes, stale.DefaultMaxBytes)},
	} {
		if r.bad {
			return fmt.Errorf("-%s (%s) must %s, got %v", r.flag, r.env, r.want, r.got)
		}
	}
	return nil
}
