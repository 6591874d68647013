// Command server runs cloudcockpit-facade: a gRPC facade (with a JSON/REST
// mirror) over the CloudCockpit partner REST API.
//
// Configuration comes from flags and environment variables; a flag wins over
// its variable. `server -h` lists them all.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	embedded "github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/server"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/service"
)

func main() {
	cfg, cli, err := parseConfig(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cloudcockpit-facade:", err)
		os.Exit(2)
	}
	if cli.showVersion {
		fmt.Println(versionString())
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = server.Run(ctx, cfg)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cloudcockpit-facade:", err)
		os.Exit(1)
	}
}

// setting is one configuration value: its flag, its environment variable and
// its help text.
type setting struct {
	flag, env, usage string
}

// cliOptions is what the command line asks of main beyond the server's
// configuration.
type cliOptions struct {
	showVersion bool
}

// parseConfig reads flags from args and variables through getenv into a
// server.Config. A bad value is an error that names the flag and variable.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (server.Config, cliOptions, error) {
	cfg := server.DefaultConfig()
	fs := flag.NewFlagSet("cloudcockpit-facade", flag.ContinueOnError)
	fs.SetOutput(stderr)

	var (
		grpcAddr        = setting{"grpc-addr", "GRPC_ADDR", "gRPC listen address"}
		httpAddr        = setting{"http-addr", "HTTP_ADDR", "HTTP listen address (REST mirror, OpenAPI, /healthz, /readyz)"}
		upstreamURL     = setting{"upstream-url", "CLOUDCOCKPIT_BASE_URL", "CloudCockpit API base URL"}
		sandbox         = setting{"sandbox", "SANDBOX", "serve the embedded sandbox upstream on a loopback port and use it (true/false)"}
		defaultTenant   = setting{"default-tenant", "CLOUDCOCKPIT_TENANT", "tenant (portal domain) for calls without x-tenant; empty: such calls are rejected"}
		shutdownTimeout = setting{"shutdown-timeout", "SHUTDOWN_TIMEOUT", "how long in-flight calls may take to finish after SIGTERM"}
		shutdownDelay   = setting{"shutdown-delay", "SHUTDOWN_DELAY", "how long to keep accepting calls after SIGTERM, readiness already NOT_SERVING, before draining (time for load balancers to notice)"}
		logLevel        = setting{"log-level", "LOG_LEVEL", "log level: debug, info, warn, error"}
		logFormat       = setting{"log-format", "LOG_FORMAT", "log format: json or text"}

		upstreamTimeout        = setting{"upstream-timeout", "UPSTREAM_TIMEOUT", "bound on an upstream call, retries included, when the caller sets no deadline"}
		upstreamAttemptTimeout = setting{"upstream-attempt-timeout", "UPSTREAM_ATTEMPT_TIMEOUT", "bound on each upstream attempt, from sending the request to the end of the response body; 0 disables it"}
		upstreamMaxAttempts    = setting{"upstream-max-attempts", "UPSTREAM_MAX_ATTEMPTS", "most attempts per upstream call, the first included (1: no retries, at most 10)"}
		upstreamMaxConcurrent  = setting{"upstream-max-concurrent", "UPSTREAM_MAX_CONCURRENT", "most upstream requests in flight at once, over all tenants (also the size of the upstream connection pool)"}
		upstreamTenantMax      = setting{"upstream-tenant-max-concurrent", "UPSTREAM_TENANT_MAX_CONCURRENT", "most upstream requests in flight at once for one caller (its client certificate with mutual TLS, else x-tenant); 0: half of -upstream-max-concurrent"}
		upstreamRetryRatio     = setting{"upstream-retry-ratio", "UPSTREAM_RETRY_RATIO", "retries of all tenants together, at most this share of first upstream attempts (above 0, at most 1)"}
		upstreamMaxTenants     = setting{"upstream-max-tenants", "UPSTREAM_MAX_TENANTS", "most tenants with upstream resilience state of their own (breaker, retry budget) that the upstream answered with a success, and apart from them, those it has not"}
		upstreamTenantIdle     = setting{"upstream-tenant-idle", "UPSTREAM_TENANT_IDLE", "how long a tenant's upstream resilience state outlives its last call"}
		upstreamQueueTimeout   = setting{"upstream-queue-timeout", "UPSTREAM_QUEUE_TIMEOUT", "longest wait for a free upstream request slot before RESOURCE_EXHAUSTED; 0 rejects at once"}
		upstreamMaxBody        = setting{"upstream-max-body", "UPSTREAM_MAX_BODY_BYTES", "largest upstream response body accepted, in bytes"}
		breakerRatio           = setting{"breaker-failure-ratio", "BREAKER_FAILURE_RATIO", "share of a tenant's counted upstream calls in the window that failed (502/503/504, no answer, timeout) which opens its circuit breaker; 0 disables breakers"}
		breakerMinCalls        = setting{"breaker-min-calls", "BREAKER_MIN_CALLS", "counted calls a tenant's window needs before its breaker can open"}
		breakerWindow          = setting{"breaker-window", "BREAKER_WINDOW", "rolling window over which a tenant's upstream calls are counted"}
		breakerOpen            = setting{"breaker-open", "BREAKER_OPEN_DURATION", "how long an open breaker fails the tenant's calls fast before probing (readiness never follows breakers)"}
		coalesce               = setting{"coalesce", "COALESCE", "share one upstream request among identical concurrent calls (true/false)"}

		tlsCert     = setting{"tls-cert", "TLS_CERT_FILE", "PEM certificate chain: with -tls-key, both listeners serve TLS (1.2 or later)"}
		tlsKey      = setting{"tls-key", "TLS_KEY_FILE", "PEM private key of -tls-cert"}
		tlsClientCA = setting{"tls-client-ca", "TLS_CLIENT_CA_FILE", "PEM CA certificates: clients must present a certificate they signed (mutual TLS; needs -tls-cert and -tls-key)"}
		upstreamCA  = setting{"upstream-ca", "UPSTREAM_CA_FILE", "PEM CA certificates trusted for the upstream's certificate, besides the system roots"}

		corsOrigins = setting{"cors-allowed-origins", "CORS_ALLOWED_ORIGINS", "comma-separated browser origins (https://app.example.com, or * for any) whose pages may call the HTTP port: REST mirror, Connect, gRPC-Web"}

		debugAddr = setting{"debug-addr", "DEBUG_ADDR", "listen address for the Go runtime profiles (/debug/pprof/), on their own listener; bind it to loopback"}

		grpcMaxStreams        = setting{"grpc-max-streams", "GRPC_MAX_CONCURRENT_STREAMS", "most calls (HTTP/2 streams) one gRPC connection may have open at once, 1 to 10000"}
		grpcConnectionTimeout = setting{"grpc-connection-timeout", "GRPC_CONNECTION_TIMEOUT", "bound on a new gRPC connection's TLS and HTTP/2 handshake"}
		grpcKeepaliveMinTime  = setting{"grpc-keepalive-min-time", "GRPC_KEEPALIVE_MIN_TIME", "shortest interval between a client's keepalive pings; faster pingers get GOAWAY too_many_pings"}
		grpcMaxConnIdle       = setting{"grpc-max-connection-idle", "GRPC_MAX_CONNECTION_IDLE", "close a gRPC connection with no call in flight for this long (GOAWAY); 0 disables it"}

		maxConnections = setting{"max-connections", "MAX_CONNECTIONS", "most connections each port holds open at once; more wait to be accepted, 1 to 100000"}
		maxCalls       = setting{"max-calls", "MAX_CALLS", "most calls in flight in the process, both ports together; more get RESOURCE_EXHAUSTED (HTTP 429) at once, 1 to 100000"}
		messageTimeout = setting{"message-timeout", "MESSAGE_TIMEOUT", "longest time a call may take to deliver its request message (an HTTP request its body) before it is cancelled"}
	)
	// help records a setting's variable and, when the flag's own default
	// does not say it (an empty string), the default in words; -h prints
	// them (usage.go).
	meta := map[string]flagMeta{}
	help := func(s setting, def string) string {
		meta[s.flag] = flagMeta{env: s.env, def: def}
		return s.usage
	}
	fs.StringVar(&cfg.GRPCAddr, grpcAddr.flag, cfg.GRPCAddr, help(grpcAddr, ""))
	fs.StringVar(&cfg.HTTPAddr, httpAddr.flag, cfg.HTTPAddr, help(httpAddr, ""))
	fs.StringVar(&cfg.UpstreamURL, upstreamURL.flag, cfg.UpstreamURL, help(upstreamURL, ""))
	fs.BoolVar(&cfg.Sandbox, sandbox.flag, false, help(sandbox, ""))
	fs.StringVar(&cfg.DefaultTenant, defaultTenant.flag, "", help(defaultTenant, "none"))
	fs.DurationVar(&cfg.ShutdownTimeout, shutdownTimeout.flag, cfg.ShutdownTimeout, help(shutdownTimeout, ""))
	fs.DurationVar(&cfg.ShutdownDelay, shutdownDelay.flag, cfg.ShutdownDelay, help(shutdownDelay, ""))
	fs.DurationVar(&cfg.UpstreamTimeout, upstreamTimeout.flag, cfg.UpstreamTimeout, help(upstreamTimeout, ""))
	fs.DurationVar(&cfg.UpstreamAttemptTimeout, upstreamAttemptTimeout.flag, cfg.UpstreamAttemptTimeout, help(upstreamAttemptTimeout, ""))
	fs.IntVar(&cfg.UpstreamMaxAttempts, upstreamMaxAttempts.flag, cfg.UpstreamMaxAttempts, help(upstreamMaxAttempts, ""))
	fs.IntVar(&cfg.UpstreamMaxConcurrent, upstreamMaxConcurrent.flag, cfg.UpstreamMaxConcurrent, help(upstreamMaxConcurrent, ""))
	fs.DurationVar(&cfg.UpstreamQueueTimeout, upstreamQueueTimeout.flag, cfg.UpstreamQueueTimeout, help(upstreamQueueTimeout, ""))
	fs.Int64Var(&cfg.UpstreamMaxBodyBytes, upstreamMaxBody.flag, cfg.UpstreamMaxBodyBytes, help(upstreamMaxBody, ""))
	fs.IntVar(&cfg.UpstreamTenantMaxConcurrent, upstreamTenantMax.flag, cfg.UpstreamTenantMaxConcurrent, help(upstreamTenantMax, ""))
	fs.Float64Var(&cfg.UpstreamRetryRatio, upstreamRetryRatio.flag, cfg.UpstreamRetryRatio, help(upstreamRetryRatio, ""))
	fs.IntVar(&cfg.UpstreamMaxTenants, upstreamMaxTenants.flag, cfg.UpstreamMaxTenants, help(upstreamMaxTenants, ""))
	fs.DurationVar(&cfg.UpstreamTenantIdle, upstreamTenantIdle.flag, cfg.UpstreamTenantIdle, help(upstreamTenantIdle, ""))
	fs.Float64Var(&cfg.BreakerFailureRatio, breakerRatio.flag, cfg.BreakerFailureRatio, help(breakerRatio, ""))
	fs.IntVar(&cfg.BreakerMinCalls, breakerMinCalls.flag, cfg.BreakerMinCalls, help(breakerMinCalls, ""))
	fs.DurationVar(&cfg.BreakerWindow, breakerWindow.flag, cfg.BreakerWindow, help(breakerWindow, ""))
	fs.DurationVar(&cfg.BreakerOpenDuration, breakerOpen.flag, cfg.BreakerOpenDuration, help(breakerOpen, ""))
	fs.BoolVar(&cfg.Coalesce, coalesce.flag, cfg.Coalesce, help(coalesce, ""))
	fs.StringVar(&cfg.TLSCertFile, tlsCert.flag, "", help(tlsCert, "none: plaintext"))
	fs.StringVar(&cfg.TLSKeyFile, tlsKey.flag, "", help(tlsKey, "none"))
	fs.StringVar(&cfg.TLSClientCAFile, tlsClientCA.flag, "", help(tlsClientCA, "none: no client certificates"))
	fs.StringVar(&cfg.UpstreamCAFile, upstreamCA.flag, "", help(upstreamCA, "none: the system roots only"))
	fs.StringVar(&cfg.DebugAddr, debugAddr.flag, "", help(debugAddr, "none: no profiles served"))
	origins := fs.String(corsOrigins.flag, "", help(corsOrigins, "none: no cross-origin calls"))
	fs.IntVar(&cfg.GRPCMaxConcurrentStreams, grpcMaxStreams.flag, cfg.GRPCMaxConcurrentStreams, help(grpcMaxStreams, ""))
	fs.DurationVar(&cfg.GRPCConnectionTimeout, grpcConnectionTimeout.flag, cfg.GRPCConnectionTimeout, help(grpcConnectionTimeout, ""))
	fs.DurationVar(&cfg.GRPCKeepaliveMinTime, grpcKeepaliveMinTime.flag, cfg.GRPCKeepaliveMinTime, help(grpcKeepaliveMinTime, ""))
	fs.DurationVar(&cfg.GRPCMaxConnectionIdle, grpcMaxConnIdle.flag, cfg.GRPCMaxConnectionIdle, help(grpcMaxConnIdle, ""))
	fs.IntVar(&cfg.MaxConnections, maxConnections.flag, cfg.MaxConnections, help(maxConnections, ""))
	fs.IntVar(&cfg.MaxCalls, maxCalls.flag, cfg.MaxCalls, help(maxCalls, ""))
	fs.DurationVar(&cfg.MessageTimeout, messageTimeout.flag, cfg.MessageTimeout, help(messageTimeout, ""))
	level := fs.String(logLevel.flag, "info", help(logLevel, ""))
	format := fs.String(logFormat.flag, "json", help(logFormat, ""))
	version := fs.Bool("version", false, "print the version and build info, then exit")
	fs.Usage = func() { printUsage(fs.Output(), fs, meta) }
	if err := fs.Parse(args); err != nil {
		return cfg, cliOptions{}, err
	}
	if fs.NArg() > 0 {
		return cfg, cliOptions{}, fmt.Errorf("unexpected argument %q (flags start with -)", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	// Environment variables fill what no flag set.
	fromEnv := func(s setting, apply func(string) error) error {
		v, ok := getenv(s.env), !set[s.flag]
		if !ok || v == "" {
			return nil
		}
		set[s.flag] = true
		if err := apply(v); err != nil {
			return fmt.Errorf("%s=%q: %w", s.env, v, err)
		}
		return nil
	}
	str := func(dst *string) func(string) error { return func(v string) error { *dst = v; return nil } }
	duration := func(dst *time.Duration) func(string) error {
		return func(v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return errors.New("want a duration such as 10s")
			}
			*dst = d
			return nil
		}
	}
	integer := func(dst *int) func(string) error {
		return func(v string) error {
			n, err := strconv.Atoi(v)
			if err != nil {
				return errors.New("want a whole number")
			}
			*dst = n
			return nil
		}
	}
	ratio := func(dst *float64) func(string) error {
		return func(v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return errors.New("want a number such as 0.5")
			}
			*dst = f
			return nil
		}
	}
	boolean := func(dst *bool) func(string) error {
		return func(v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return errors.New("want true or false")
			}
			*dst = b
			return nil
		}
	}
	errs := []error{
		fromEnv(grpcAddr, str(&cfg.GRPCAddr)),
		fromEnv(httpAddr, str(&cfg.HTTPAddr)),
		fromEnv(upstreamURL, str(&cfg.UpstreamURL)),
		fromEnv(defaultTenant, str(&cfg.DefaultTenant)),
		fromEnv(logLevel, str(level)),
		fromEnv(logFormat, str(format)),
		fromEnv(sandbox, boolean(&cfg.Sandbox)),
		fromEnv(shutdownTimeout, duration(&cfg.ShutdownTimeout)),
		fromEnv(shutdownDelay, duration(&cfg.ShutdownDelay)),
		fromEnv(upstreamTimeout, duration(&cfg.UpstreamTimeout)),
		fromEnv(upstreamAttemptTimeout, duration(&cfg.UpstreamAttemptTimeout)),
		fromEnv(upstreamMaxAttempts, integer(&cfg.UpstreamMaxAttempts)),
		fromEnv(upstreamMaxConcurrent, integer(&cfg.UpstreamMaxConcurrent)),
		fromEnv(upstreamQueueTimeout, duration(&cfg.UpstreamQueueTimeout)),
		fromEnv(upstreamMaxBody, func(v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return errors.New("want a number of bytes such as 1048576")
			}
			cfg.UpstreamMaxBodyBytes = n
			return nil
		}),
		fromEnv(upstreamTenantMax, integer(&cfg.UpstreamTenantMaxConcurrent)),
		fromEnv(upstreamRetryRatio, ratio(&cfg.UpstreamRetryRatio)),
		fromEnv(upstreamMaxTenants, integer(&cfg.UpstreamMaxTenants)),
		fromEnv(upstreamTenantIdle, duration(&cfg.UpstreamTenantIdle)),
		fromEnv(breakerRatio, ratio(&cfg.BreakerFailureRatio)),
		fromEnv(breakerMinCalls, integer(&cfg.BreakerMinCalls)),
		fromEnv(breakerWindow, duration(&cfg.BreakerWindow)),
		fromEnv(breakerOpen, duration(&cfg.BreakerOpenDuration)),
		fromEnv(coalesce, boolean(&cfg.Coalesce)),
		fromEnv(tlsCert, str(&cfg.TLSCertFile)),
		fromEnv(tlsKey, str(&cfg.TLSKeyFile)),
		fromEnv(tlsClientCA, str(&cfg.TLSClientCAFile)),
		fromEnv(upstreamCA, str(&cfg.UpstreamCAFile)),
		fromEnv(debugAddr, str(&cfg.DebugAddr)),
		fromEnv(corsOrigins, str(origins)),
		fromEnv(grpcMaxStreams, integer(&cfg.GRPCMaxConcurrentStreams)),
		fromEnv(grpcConnectionTimeout, duration(&cfg.GRPCConnectionTimeout)),
		fromEnv(grpcKeepaliveMinTime, duration(&cfg.GRPCKeepaliveMinTime)),
		fromEnv(grpcMaxConnIdle, duration(&cfg.GRPCMaxConnectionIdle)),
		fromEnv(maxConnections, integer(&cfg.MaxConnections)),
		fromEnv(maxCalls, integer(&cfg.MaxCalls)),
		fromEnv(messageTimeout, duration(&cfg.MessageTimeout)),
	}
	if err := errors.Join(errs...); err != nil {
		return cfg, cliOptions{}, err
	}
	cfg.UpstreamURLSet = set[upstreamURL.flag]
	for o := range strings.SplitSeq(*origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			cfg.CORSAllowedOrigins = append(cfg.CORSAllowedOrigins, o)
		}
	}
	if cfg.Sandbox {
		cfg.StartSandbox = embedded.Start
	}
	if cfg.DefaultTenant != "" && !service.IsDomainName(cfg.DefaultTenant) {
		return cfg, cliOptions{}, fmt.Errorf("-default-tenant (CLOUDCOCKPIT_TENANT) %q is not a domain name such as portal.cloudcockpit.com", cfg.DefaultTenant)
	}
	logger, err := newLogger(*level, *format, os.Stderr)
	if err != nil {
		return cfg, cliOptions{}, err
	}
	cfg.Logger = logger
	if err := cfg.Validate(); err != nil {
		return cfg, cliOptions{}, err
	}
	return cfg, cliOptions{showVersion: *version}, nil
}

// newLogger builds the process logger from the level and format settings.
func newLogger(level, format string, w io.Writer) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log-level (LOG_LEVEL) %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("-log-format (LOG_FORMAT) %q: want json or text", format)
}

// version and revision may be set at link time
// (-ldflags "-X main.version=v1.2.3 -X main.revision=abc123"), as `make build`
// and the Dockerfile do; otherwise the Go toolchain's build info is used.
var version, revision string

// versionString describes the build: module (or release) version, VCS
// revision and Go version.
func versionString() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "cloudcockpit-facade " + version + " (no build info)"
	}
	v := version
	if v == "" {
		v = bi.Main.Version
	}
	s := "cloudcockpit-facade " + v
	if revision != "" {
		s += " vcs.revision=" + revision
	}
	for _, kv := range bi.Settings {
		switch kv.Key {
		case "vcs.revision", "vcs.time", "vcs.modified":
			if revision == "" || kv.Key != "vcs.revision" {
				s += " " + kv.Key + "=" + kv.Value
			}
		}
	}
	return s + " " + bi.GoVersion
}
