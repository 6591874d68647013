package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/server"
)

// TestParseConfigUpstreamSettings covers the upstream client's settings:
// defaults, flags, variables, a flag winning over its variable, and one
// clear error line for a bad value.
func TestParseConfigUpstreamSettings(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(server.Config) bool
		wantErr string
	}{
		{
			name: "defaults",
			check: func(c server.Config) bool {
				return c.Upstream.Timeout == 10*time.Second && c.Upstream.AttemptTimeout == 5*time.Second &&
					c.Upstream.MaxAttempts == 3 && c.Upstream.MaxConcurrent == 64 && c.Upstream.QueueTimeout == time.Second &&
					c.Upstream.MaxBodyBytes == 1<<20 && c.Upstream.Breaker.FailureRatio == 0.5 && c.Upstream.Breaker.MinCalls == 20 && c.Upstream.Breaker.Window == 30*time.Second &&
					c.Upstream.Breaker.OpenFor == 5*time.Second && !c.Upstream.DisableCoalescing && c.Upstream.TenantMaxConcurrent == 0 &&
					c.Upstream.RetryRatio == 0.1 && c.Upstream.MaxTenants == 1024 && c.Upstream.TenantIdle == 5*time.Minute && c.DebugAddr == ""
			},
		},
		{
			name: "profiles by flag",
			args: []string{"-debug-addr=127.0.0.1:6060"},
			check: func(c server.Config) bool {
				return c.DebugAddr == "127.0.0.1:6060"
			},
		},
		{
			name: "profiles by environment",
			env:  map[string]string{"DEBUG_ADDR": "127.0.0.1:6061"},
			check: func(c server.Config) bool {
				return c.DebugAddr == "127.0.0.1:6061"
			},
		},
		{name: "transport setting is gone", args: []string{"-upstream-transport=nethttp"}, wantErr: "flag provided but not defined: -upstream-transport"},
		{
			name: "flags",
			args: []string{"-upstream-timeout=3s", "-upstream-attempt-timeout=0", "-upstream-max-attempts=1", "-upstream-max-concurrent=8",
				"-upstream-queue-timeout=0", "-upstream-max-body=4096", "-breaker-failure-ratio=0", "-breaker-min-calls=100",
				"-breaker-window=10s", "-breaker-open=30s", "-coalesce=false", "-upstream-tenant-max-concurrent=2", "-upstream-retry-ratio=0.2",
				"-upstream-max-tenants=10", "-upstream-tenant-idle=1m"},
			check: func(c server.Config) bool {
				return c.Upstream.Timeout == 3*time.Second && c.Upstream.AttemptTimeout == -1 && c.Upstream.MaxAttempts == 1 &&
					c.Upstream.MaxConcurrent == 8 && c.Upstream.QueueTimeout == -1 && c.Upstream.MaxBodyBytes == 4096 &&
					c.Upstream.Breaker.FailureRatio == -1 && c.Upstream.Breaker.MinCalls == 100 && c.Upstream.Breaker.Window == 10*time.Second &&
					c.Upstream.Breaker.OpenFor == 30*time.Second && c.Upstream.DisableCoalescing && c.Upstream.TenantMaxConcurrent == 2 &&
					c.Upstream.RetryRatio == 0.2 && c.Upstream.MaxTenants == 10 && c.Upstream.TenantIdle == time.Minute
			},
		},
		{
			name: "environment",
			env: map[string]string{"UPSTREAM_TIMEOUT": "2s", "UPSTREAM_ATTEMPT_TIMEOUT": "1s", "UPSTREAM_MAX_ATTEMPTS": "5",
				"UPSTREAM_MAX_CONCURRENT": "16", "UPSTREAM_QUEUE_TIMEOUT": "250ms", "UPSTREAM_MAX_BODY_BYTES": "65536",
				"BREAKER_FAILURE_RATIO": "0.25", "BREAKER_MIN_CALLS": "50", "BREAKER_WINDOW": "1m", "BREAKER_OPEN_DURATION": "1m",
				"COALESCE": "false", "UPSTREAM_TENANT_MAX_CONCURRENT": "4", "UPSTREAM_RETRY_RATIO": "0.05",
				"UPSTREAM_MAX_TENANTS": "100", "UPSTREAM_TENANT_IDLE": "10m"},
			check: func(c server.Config) bool {
				return c.Upstream.Timeout == 2*time.Second && c.Upstream.AttemptTimeout == time.Second && c.Upstream.MaxAttempts == 5 &&
					c.Upstream.MaxConcurrent == 16 && c.Upstream.QueueTimeout == 250*time.Millisecond && c.Upstream.MaxBodyBytes == 65536 &&
					c.Upstream.Breaker.FailureRatio == 0.25 && c.Upstream.Breaker.MinCalls == 50 && c.Upstream.Breaker.Window == time.Minute &&
					c.Upstream.Breaker.OpenFor == time.Minute && c.Upstream.DisableCoalescing && c.Upstream.TenantMaxConcurrent == 4 &&
					c.Upstream.RetryRatio == 0.05 && c.Upstream.MaxTenants == 100 && c.Upstream.TenantIdle == 10*time.Minute
			},
		},
		{
			name:  "flag wins over variable",
			args:  []string{"-upstream-max-attempts=2"},
			env:   map[string]string{"UPSTREAM_MAX_ATTEMPTS": "7"},
			check: func(c server.Config) bool { return c.Upstream.MaxAttempts == 2 },
		},
		{
			name: "0 turns a setting off, by variable too",
			env:  map[string]string{"BREAKER_FAILURE_RATIO": "0", "UPSTREAM_ATTEMPT_TIMEOUT": "0s"},
			check: func(c server.Config) bool {
				return c.Upstream.Breaker.FailureRatio < 0 && c.Upstream.AttemptTimeout < 0
			},
		},
		{
			name:  "0 means the default where a setting cannot be off",
			args:  []string{"-upstream-timeout=0", "-upstream-max-attempts=0"},
			check: func(c server.Config) bool { return c.Upstream.Timeout == 0 && c.Upstream.MaxAttempts == 0 },
		},
		{name: "bad duration variable", env: map[string]string{"UPSTREAM_TIMEOUT": "soon"}, wantErr: `UPSTREAM_TIMEOUT="soon": want a duration`},
		{name: "bad number variable", env: map[string]string{"UPSTREAM_MAX_CONCURRENT": "many"}, wantErr: `UPSTREAM_MAX_CONCURRENT="many": want a whole number`},
		{name: "bad bool variable", env: map[string]string{"COALESCE": "maybe"}, wantErr: `COALESCE="maybe": want true or false`},
		{name: "bad body size variable", env: map[string]string{"UPSTREAM_MAX_BODY_BYTES": "1MiB"}, wantErr: `UPSTREAM_MAX_BODY_BYTES="1MiB": want a number of bytes`},
		{name: "negative attempts", args: []string{"-upstream-max-attempts=-1"}, wantErr: "-upstream-max-attempts (UPSTREAM_MAX_ATTEMPTS) must be between 1"},
		{name: "too many attempts", env: map[string]string{"UPSTREAM_MAX_ATTEMPTS": "11"}, wantErr: "must be between 1 (no retries) and 10, got 11"},
		{name: "negative timeout", args: []string{"-upstream-timeout=-1s"}, wantErr: "-upstream-timeout (UPSTREAM_TIMEOUT) must not be negative"},
		{name: "negative attempt timeout", args: []string{"-upstream-attempt-timeout=-1s"}, wantErr: `invalid value "-1s" for flag -upstream-attempt-timeout: want a duration such as 10s, or 0 to turn it off`},
		{name: "negative concurrency", args: []string{"-upstream-max-concurrent=-1"}, wantErr: "-upstream-max-concurrent (UPSTREAM_MAX_CONCURRENT) must be at least 1"},
		{name: "negative queue timeout", env: map[string]string{"UPSTREAM_QUEUE_TIMEOUT": "-1s"}, wantErr: `UPSTREAM_QUEUE_TIMEOUT="-1s": want a duration such as 10s, or 0 to turn it off`},
		{name: "tiny body limit", args: []string{"-upstream-max-body=10"}, wantErr: "-upstream-max-body (UPSTREAM_MAX_BODY_BYTES) must be at least 1024"},
		{name: "breaker ratio above 1", args: []string{"-breaker-failure-ratio=1.5"}, wantErr: "-breaker-failure-ratio (BREAKER_FAILURE_RATIO) must be between 0 (no breakers) and 1"},
		{name: "bad ratio variable", env: map[string]string{"BREAKER_FAILURE_RATIO": "half"}, wantErr: `BREAKER_FAILURE_RATIO="half": want a number`},
		{name: "negative breaker min calls", args: []string{"-breaker-min-calls=-1"}, wantErr: `invalid value "-1" for flag -breaker-min-calls: want a whole number`},
		{name: "too many breaker min calls", args: []string{"-breaker-min-calls=1000001"}, wantErr: "-breaker-min-calls (BREAKER_MIN_CALLS) must be between 1 and 1000000"},
		{name: "negative breaker window", env: map[string]string{"BREAKER_WINDOW": "-1s"}, wantErr: "-breaker-window (BREAKER_WINDOW) must not be negative"},
		{name: "tenant limit above global", args: []string{"-upstream-max-concurrent=8", "-upstream-tenant-max-concurrent=9"}, wantErr: "-upstream-tenant-max-concurrent (UPSTREAM_TENANT_MAX_CONCURRENT) must be between 0"},
		{name: "negative retry ratio", args: []string{"-upstream-retry-ratio=-0.1"}, wantErr: "-upstream-retry-ratio (UPSTREAM_RETRY_RATIO) must be between 0 (the default, 0.1) and 1"},
		{name: "negative max tenants", env: map[string]string{"UPSTREAM_MAX_TENANTS": "-1"}, wantErr: "-upstream-max-tenants (UPSTREAM_MAX_TENANTS) must be at least 1"},
		{name: "negative tenant idle", args: []string{"-upstream-tenant-idle=-1s"}, wantErr: "-upstream-tenant-idle (UPSTREAM_TENANT_IDLE) must not be negative"},
		{name: "negative breaker open", env: map[string]string{"BREAKER_OPEN_DURATION": "-1s"}, wantErr: "-breaker-open (BREAKER_OPEN_DURATION) must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			cfg, _, err := parseConfig(tt.args, getenv, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("parseConfig() error = %v, want one line containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseConfig() error = %v", err)
			}
			if !tt.check(cfg) {
				t.Errorf("parseConfig() = %+v, not what the test expects", cfg)
			}
		})
	}
}

// TestLibraryLog: a line a library writes to the standard log package
// reaches the process log as JSON at warn, without what it quotes (net/http
// quotes an unasked upstream answer, which may hold another caller's token).
func TestLibraryLog(t *testing.T) {
	var out bytes.Buffer
	l := log.New(libraryLog{slog.New(slog.NewJSONHandler(&out, nil))}, "", 0)
	l.Printf("Unsolicited response received on idle HTTP channel starting with %q; err=%v", "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer other-callers-token", nil)
	l.Print("a line quoting nothing")
	var lines []map[string]any
	for line := range strings.Lines(out.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		lines = append(lines, m)
	}
	want := []string{"Unsolicited response received on idle HTTP channel starting with (quoted text withheld)", "a line quoting nothing"}
	if len(lines) != len(want) || strings.Contains(out.String(), "other-callers-token") {
		t.Fatalf("log:\n%s\nwant %d lines without the token", out.String(), len(want))
	}
	for i, m := range lines {
		if m["level"] != "WARN" || m["text"] != want[i] {
			t.Errorf("line %d: %v, want level WARN and text %q", i, m, want[i])
		}
	}
}

// TestParseConfigCORSLastFlagWins: a list flag given twice takes the last
// value, as every other flag does; it does not add to the first.
func TestParseConfigCORSLastFlagWins(t *testing.T) {
	args := []string{"-cors-allowed-origins=https://a.example", "-cors-allowed-origins=https://b.example"}
	cfg, _, err := parseConfig(args, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatalf("parseConfig() error = %v", err)
	}
	if diff := cmp.Diff([]string{"https://b.example"}, cfg.CORSAllowedOrigins); diff != "" {
		t.Errorf("CORSAllowedOrigins (-want +got):\n%s", diff)
	}
}

// TestParseConfigFlagMasksVariable: with its flag given, a variable is not
// read at all, so even a bad value in it is not an error
// (docs/configuration.md); without the flag, the same value is.
func TestParseConfigFlagMasksVariable(t *testing.T) {
	env := func(k string) string { return map[string]string{"MAX_CALLS": "many"}[k] }
	cfg, _, err := parseConfig([]string{"-max-calls", "20"}, env, io.Discard)
	if err != nil || cfg.MaxCalls != 20 {
		t.Errorf("parseConfig(-max-calls 20, MAX_CALLS=many) = %d, %v; want 20, nil", cfg.MaxCalls, err)
	}
	if _, _, err := parseConfig(nil, env, io.Discard); err == nil || !strings.Contains(err.Error(), `MAX_CALLS="many"`) {
		t.Errorf("parseConfig(MAX_CALLS=many) error = %v, want one naming MAX_CALLS", err)
	}
}

// TestParseConfigUpstreamURLFromEnvironmentIsSet: an upstream URL from
// CLOUDCOCKPIT_BASE_URL is set explicitly just as -upstream-url is: no
// production-default warning, and together with the sandbox (here both from the
// environment) it is the "both set" error rather than a sandbox that silently
// ignores the URL.
func TestParseConfigUpstreamURLFromEnvironmentIsSet(t *testing.T) {
	env := map[string]string{"CLOUDCOCKPIT_BASE_URL": "https://api.example.com"}
	cfg, _, err := parseConfig(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil || !cfg.UpstreamURLSet {
		t.Errorf("parseConfig() = UpstreamURLSet %v, error %v; want true, nil", cfg.UpstreamURLSet, err)
	}
	env["SANDBOX"] = "true"
	if _, _, err := parseConfig(nil, func(k string) string { return env[k] }, io.Discard); err == nil || !strings.Contains(err.Error(), "both set") {
		t.Errorf("parseConfig() with SANDBOX and CLOUDCOCKPIT_BASE_URL error = %v, want the \"both set\" error", err)
	}
}

// TestParseConfigRefusesStrayArguments: a word that is no flag (a value written
// without "=" after a boolean flag, a typo) is an error naming it, not silently
// ignored along with every flag after it.
func TestParseConfigRefusesStrayArguments(t *testing.T) {
	_, _, err := parseConfig([]string{"-sandbox", "false", "-http-addr=:9090"}, func(string) string { return "" }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `unexpected argument "false"`) {
		t.Errorf("parseConfig() error = %v, want one naming the unexpected argument \"false\"", err)
	}
	if _, _, err := parseConfig([]string{"-sandbox", "stray"}, func(string) string { return "" }, io.Discard); err == nil || !strings.Contains(err.Error(), `unexpected argument "stray"`) {
		t.Errorf("parseConfig() with one stray argument: error = %v, want one naming it", err)
	}
}

// TestParseConfigChecks: the settings parseConfig checks itself, beside
// server.Config's Validate: the default tenant is a domain name, the log
// format is json or text in any case, a count (a uint32) past its range is
// refused rather than wrapped around, a byte size takes 64 bits, and
// -version is passed on.
func TestParseConfigChecks(t *testing.T) {
	for _, tt := range []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(server.Config, cliOptions) bool
		wantErr string
	}{
		{name: "default tenant not a domain name", args: []string{"-default-tenant=not a domain"}, wantErr: `-default-tenant (CLOUDCOCKPIT_TENANT) "not a domain" is not a domain name`},
		{name: "default tenant from the environment", env: map[string]string{"CLOUDCOCKPIT_TENANT": "a..b"}, wantErr: `-default-tenant (CLOUDCOCKPIT_TENANT) "a..b" is not a domain name`},
		{name: "log format in capitals", args: []string{"-log-format=JSON"}},
		{name: "unknown log format", args: []string{"-log-format=xml"}, wantErr: `-log-format (LOG_FORMAT) "xml": want json or text`},
		{name: "a count past 32 bits", args: []string{"-breaker-min-calls=4294967296"}, wantErr: "want a whole number"},
		{name: "a count past 32 bits from the environment", env: map[string]string{"BREAKER_MIN_CALLS": "4294967301"}, wantErr: `BREAKER_MIN_CALLS="4294967301": want a whole number`},
		{name: "a byte size past 32 bits", args: []string{"-stale-cache-max-bytes=4294967296"},
			check: func(c server.Config, _ cliOptions) bool { return c.StaleCacheMaxBytes == 1<<32 }},
		{name: "-version", args: []string{"-version"}, check: func(_ server.Config, o cliOptions) bool { return o.showVersion }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, opts, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("parseConfig() error = %v, want one containing %q", err, tt.wantErr)
				}
			case err != nil:
				t.Errorf("parseConfig() error = %v", err)
			case tt.check != nil && !tt.check(cfg, opts):
				t.Errorf("parseConfig() = %+v, %+v: check failed", cfg, opts)
			}
		})
	}
}

func TestOffLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:6060": false, "[::1]:6060": false, "localhost:6060": false, "127.0.0.2:6060": false,
		":6060": true, "0.0.0.0:6060": true, "[::]:6060": true, "10.0.0.7:6060": true, "pod.example:6060": true,
		"garbage": false, // the listener says what is wrong
	} {
		if got := offLoopback(addr); got != want {
			t.Errorf("offLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}
