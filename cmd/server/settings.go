package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/server"
)

// setting is one configuration value: its -h group, its flag, its
// environment variable, where its value goes, its default in words when the
// value's own text does not say it, and its help text. `-h` and
// docs/configuration.md (TestConfigurationPage) show the same table.
type setting struct {
	group, name, env string
	value            *value
	def, help        string
}

// The groups of -h, in the order it prints them: what a newcomer sets first
// (where to listen, which upstream, which tenant, TLS), then tuning.
const (
	listeners   = "Listeners"
	upstream    = "Upstream"
	tlsGroup    = "TLS"
	logging     = "Logging"
	shutdown    = "Shutdown"
	calls       = "Upstream calls: deadlines, retries, limits"
	breakers    = "Per-tenant circuit breakers"
	staleGroup  = "Stale answers while the upstream fails"
	grpcLimits  = "gRPC server limits"
	process     = "Process limits, both ports"
	diagnostics = "Diagnostics"
)

// cliFlags are the settings that main uses itself, beside server.Config.
type cliFlags struct {
	version   bool
	logLevel  string
	logFormat string
}

// cliDefaults are the defaults of cliFlags.
var cliDefaults = cliFlags{logLevel: "info", logFormat: "json"}

// settings is the table of every setting, in -h order, bound to cfg and
// cli; their current values are the defaults. A number or duration of 0
// means its default (server.Config's convention), except for the settings
// made with offDuration or offRatio, which 0 turns off.
func settings(cfg *server.Config, cli *cliFlags) []setting {
	return []setting{
		{listeners, "grpc-addr", "GRPC_ADDR", text(&cfg.GRPCAddr), "", "gRPC listen address"},
		{listeners, "http-addr", "HTTP_ADDR", text(&cfg.HTTPAddr), "", "HTTP listen address (REST mirror, Connect, gRPC-Web, gRPC over h2c, OpenAPI, /healthz, /readyz, /metrics)"},
		{listeners, "cors-allowed-origins", "CORS_ALLOWED_ORIGINS", list(&cfg.CORSAllowedOrigins), "none: no cross-origin calls", "comma-separated browser origins (https://app.example.com, or * for any) whose pages may call the HTTP port: REST mirror, Connect, gRPC-Web"},

		{upstream, "sandbox", "SANDBOX", boolean(&cfg.Sandbox), "", "serve the embedded sandbox upstream on a loopback port and use it (true/false)"},
		{upstream, "upstream-url", "CLOUDCOCKPIT_BASE_URL", text(&cfg.Upstream.BaseURL), "", "CloudCockpit API base URL"},
		{upstream, "default-tenant", "CLOUDCOCKPIT_TENANT", text(&cfg.DefaultTenant), "", "tenant (portal domain) for calls without x-tenant; empty: such calls are rejected"},

		{tlsGroup, "tls-cert", "TLS_CERT_FILE", text(&cfg.TLSCertFile), "none: plaintext", "PEM certificate chain: with -tls-key, both listeners serve TLS (1.2 or later)"},
		{tlsGroup, "tls-key", "TLS_KEY_FILE", text(&cfg.TLSKeyFile), "", "PEM private key of -tls-cert"},
		{tlsGroup, "tls-client-ca", "TLS_CLIENT_CA_FILE", text(&cfg.TLSClientCAFile), "none: no client certificates", "PEM CA certificates: clients must present a certificate they signed (mutual TLS; needs -tls-cert and -tls-key)"},
		{tlsGroup, "upstream-ca", "UPSTREAM_CA_FILE", text(&cfg.UpstreamCAFile), "none: the system roots only", "PEM CA certificates trusted for the upstream's certificate, besides the system roots"},

		{logging, "log-level", "LOG_LEVEL", text(&cli.logLevel), "", "log level: debug, info, warn, error"},
		{logging, "log-format", "LOG_FORMAT", text(&cli.logFormat), "", "log format: json or text"},

		{shutdown, "shutdown-delay", "SHUTDOWN_DELAY", duration(&cfg.ShutdownDelay), "", "how long to keep accepting calls after SIGTERM, readiness already NOT_SERVING, before draining (time for load balancers to notice)"},
		{shutdown, "shutdown-timeout", "SHUTDOWN_TIMEOUT", duration(&cfg.ShutdownTimeout), "", "how long in-flight calls may take to finish after SIGTERM"},

		{calls, "upstream-timeout", "UPSTREAM_TIMEOUT", duration(&cfg.Upstream.Timeout), "", "bound on an upstream call, retries included, when the caller sets no deadline"},
		{calls, "upstream-attempt-timeout", "UPSTREAM_ATTEMPT_TIMEOUT", offDuration(&cfg.Upstream.AttemptTimeout), "", "bound on each upstream attempt, from sending the request to the end of the response body; 0 disables it"},
		{calls, "upstream-max-attempts", "UPSTREAM_MAX_ATTEMPTS", whole(&cfg.Upstream.MaxAttempts), "", "most attempts per upstream call, the first included (1: no retries, at most 10)"},
		{calls, "upstream-retry-ratio", "UPSTREAM_RETRY_RATIO", ratio(&cfg.Upstream.RetryRatio), "", "retries of all tenants together, at most this share of first upstream attempts (at most 1)"},
		{calls, "upstream-max-concurrent", "UPSTREAM_MAX_CONCURRENT", whole(&cfg.Upstream.MaxConcurrent), "", "most upstream requests in flight at once, over all tenants (also the most connections of one principal's upstream pool)"},
		{calls, "upstream-tenant-max-concurrent", "UPSTREAM_TENANT_MAX_CONCURRENT", whole(&cfg.Upstream.TenantMaxConcurrent), "half of -upstream-max-concurrent", "most upstream requests in flight at once for one x-tenant (with mutual TLS: x-tenant and token), and for one client certificate"},
		{calls, "upstream-queue-timeout", "UPSTREAM_QUEUE_TIMEOUT", offDuration(&cfg.Upstream.QueueTimeout), "", "longest wait for a free upstream request slot before RESOURCE_EXHAUSTED; 0 rejects at once"},
		{calls, "upstream-max-body", "UPSTREAM_MAX_BODY_BYTES", byteSize(&cfg.Upstream.MaxBodyBytes), "", "largest upstream response body accepted, in bytes"},
		{calls, "coalesce", "COALESCE", negated(&cfg.Upstream.DisableCoalescing), "", "share one upstream request among identical concurrent calls (true/false)"},

		{breakers, "breaker-failure-ratio", "BREAKER_FAILURE_RATIO", offRatio(&cfg.Upstream.Breaker.FailureRatio), "", "share of a tenant's counted upstream calls in the window that failed (502/503/504, no answer, timeout) which opens its circuit breaker; 0 disables breakers"},
		{breakers, "breaker-min-calls", "BREAKER_MIN_CALLS", count(&cfg.Upstream.Breaker.MinCalls), "", "counted calls a tenant's window needs before its breaker can open"},
		{breakers, "breaker-window", "BREAKER_WINDOW", duration(&cfg.Upstream.Breaker.Window), "", "rolling window over which a tenant's upstream calls are counted"},
		{breakers, "breaker-open", "BREAKER_OPEN_DURATION", duration(&cfg.Upstream.Breaker.OpenFor), "", "how long an open breaker fails the tenant's calls fast before probing (readiness never follows breakers)"},
		{breakers, "upstream-max-tenants", "UPSTREAM_MAX_TENANTS", whole(&cfg.Upstream.MaxTenants), "", "most tenants with upstream resilience state of their own (breaker, retry budget) that the upstream answered with a success, and apart from them, those it has not"},
		{breakers, "upstream-tenant-idle", "UPSTREAM_TENANT_IDLE", duration(&cfg.Upstream.TenantIdle), "", "how long a tenant's upstream resilience state outlives its last call"},

		{staleGroup, "stale-if-error", "STALE_IF_ERROR", duration(&cfg.StaleIfError), "0 (off)", "longest time a caller's last good answer may stand in, labelled stale, while the upstream fails (429, 500, 502, 503, 504, unreachable, timeout, breaker open, no upstream slot)"},
		{staleGroup, "stale-cache-max-bytes", "STALE_CACHE_MAX_BYTES", byteSize(&cfg.StaleCacheMaxBytes), "", "bound on the memory, in bytes, of the answers kept for -stale-if-error"},

		{grpcLimits, "grpc-max-streams", "GRPC_MAX_CONCURRENT_STREAMS", whole(&cfg.GRPCMaxConcurrentStreams), "", "most calls (HTTP/2 streams) one gRPC connection may have open at once, 1 to 10000"},
		{grpcLimits, "grpc-connection-timeout", "GRPC_CONNECTION_TIMEOUT", duration(&cfg.GRPCConnectionTimeout), "", "bound on a new gRPC connection's TLS and HTTP/2 handshake, at most -shutdown-timeout (a shutdown waits for handshakes in progress)"},
		{grpcLimits, "grpc-keepalive-min-time", "GRPC_KEEPALIVE_MIN_TIME", duration(&cfg.GRPCKeepaliveMinTime), "", "shortest interval between a client's keepalive pings; faster pingers get GOAWAY too_many_pings"},
		{grpcLimits, "grpc-max-connection-idle", "GRPC_MAX_CONNECTION_IDLE", offDuration(&cfg.GRPCMaxConnectionIdle), "", "close a gRPC connection with no call in flight for this long (GOAWAY); 0 disables it"},
		{grpcLimits, "grpc-max-connection-age", "GRPC_MAX_CONNECTION_AGE", offDuration(&cfg.GRPCMaxConnectionAge), "", "send GOAWAY to a gRPC connection this old (grpc-go moves it by a random ±10 %), so that clients reach new replicas; its calls get -shutdown-timeout to end; 0 disables it"},

		{process, "max-connections", "MAX_CONNECTIONS", whole(&cfg.MaxConnections), "", "most connections each port holds open at once; more wait to be accepted, 1 to 100000"},
		{process, "max-calls", "MAX_CALLS", whole(&cfg.MaxCalls), "", "most unary calls in flight in the process, both ports together, and half as many streams; more get RESOURCE_EXHAUSTED (HTTP 429) at once, 1 to 100000"},
		{process, "message-timeout", "MESSAGE_TIMEOUT", duration(&cfg.MessageTimeout), "", "longest time a call may take to deliver its request message (an HTTP request its body) before it is cancelled"},

		{diagnostics, "debug-addr", "DEBUG_ADDR", text(&cfg.DebugAddr), "none: no profiles served", "listen address for the Go runtime profiles (/debug/pprof/), on their own listener; bind it to loopback"},
		{diagnostics, "version", "", boolean(&cli.version), "", "print the version and build info, then exit"},
	}
}

// value is a setting's flag.Value: a pointer to where the value goes and how
// text becomes a value. Its parse errors say what a good value looks like,
// for a flag and for an environment variable alike.
type value struct {
	typ string // what -h calls the type; empty for a boolean
	set func(string) error
	str func() string
}

// Set implements flag.Value.
func (v *value) Set(s string) error { return v.set(s) }

// String implements flag.Value.
func (v *value) String() string {
	if v == nil {
		return ""
	}
	return v.str()
}

// IsBoolFlag lets a boolean flag stand alone (-sandbox).
func (v *value) IsBoolFlag() bool { return v.typ == "" }

// typed builds a value of type T at p from parse; a parse failure is the
// error want.
func typed[T any](typ string, p *T, parse func(string) (T, error), want string) *value {
	return &value{typ: typ, str: func() string { return fmt.Sprint(*p) }, set: func(s string) error {
		v, err := parse(s)
		if err != nil {
			return errors.New(want)
		}
		*p = v
		return nil
	}}
}

// text, boolean, whole, count, byteSize, ratio and duration are the kinds of
// values a setting can have, each bound to where its value goes.
func text(p *string) *value {
	return typed("string", p, func(s string) (string, error) { return s, nil }, "")
}

func boolean(p *bool) *value {
	return typed("", p, strconv.ParseBool, "want true or false")
}

// negated is a boolean setting stored as its opposite (-coalesce as
// rest.Config.DisableCoalescing).
func negated(p *bool) *value {
	return &value{str: func() string { return strconv.FormatBool(!*p) }, set: func(s string) error {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return errors.New("want true or false")
		}
		*p = !b
		return nil
	}}
}

func whole(p *int) *value {
	return typed("int", p, strconv.Atoi, "want a whole number")
}

func count(p *uint32) *value {
	return typed("int", p, parseUint32, "want a whole number")
}

func byteSize(p *int64) *value {
	return typed("int", p, parseInt64, "want a number of bytes such as 1048576")
}

func ratio(p *float64) *value {
	return typed("float", p, parseFloat, "want a number such as 0.5")
}

func duration(p *time.Duration) *value {
	return typed("duration", p, time.ParseDuration, "want a duration such as 10s")
}

// offRatio and offDuration are settings that 0 turns off, as an operator
// writes it; server.Config spells off as a negative value (zero there means
// the default), and a negative value is refused here: 0 is the one way to
// say off.
func offRatio(p *float64) *value {
	return typed("float", p, orOff(parseFloat), "want a number such as 0.5, or 0 to turn it off")
}

func offDuration(p *time.Duration) *value {
	return typed("duration", p, orOff(time.ParseDuration), "want a duration such as 10s, or 0 to turn it off")
}

// orOff parses like parse, 0 as -1, and refuses a negative value.
func orOff[T time.Duration | float64](parse func(string) (T, error)) func(string) (T, error) {
	return func(s string) (T, error) {
		v, err := parse(s)
		switch {
		case err == nil && v == 0:
			return -1, nil
		case err == nil && v < 0:
			return v, errors.New("negative")
		}
		return v, err
	}
}

func parseInt64(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }

func parseUint32(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err //nolint:gosec // G115: ParseUint with bitSize 32 fits
}

func parseFloat(s string) (float64, error) { return strconv.ParseFloat(s, 64) }

// list is a comma-separated list; spaces and empty items are dropped.
func list(p *[]string) *value {
	return &value{typ: "string", str: func() string { return strings.Join(*p, ",") }, set: func(s string) error {
		*p = nil
		for item := range strings.SplitSeq(s, ",") {
			if item = strings.TrimSpace(item); item != "" {
				*p = append(*p, item)
			}
		}
		return nil
	}}
}
