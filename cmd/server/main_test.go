package main

import (
	"io"
	"strings"
	"testing"
	"time"

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
				return c.UpstreamTimeout == 10*time.Second && c.UpstreamAttemptTimeout == 5*time.Second &&
					c.UpstreamMaxAttempts == 3 && c.UpstreamMaxConcurrent == 64 && c.UpstreamQueueTimeout == time.Second &&
					c.UpstreamMaxBodyBytes == 1<<20 && c.BreakerFailures == 5 && c.BreakerOpenDuration == 5*time.Second && c.Coalesce &&
					c.UpstreamTransport == server.TransportHTTP1 && c.DebugAddr == ""
			},
		},
		{
			name: "net/http transport and profiles by flag",
			args: []string{"-upstream-transport=nethttp", "-debug-addr=127.0.0.1:6060", "-log-flush-interval=0"},
			check: func(c server.Config) bool {
				return c.UpstreamTransport == server.TransportNetHTTP && c.DebugAddr == "127.0.0.1:6060"
			},
		},
		{
			name: "net/http transport and profiles by environment",
			env:  map[string]string{"UPSTREAM_TRANSPORT": "nethttp", "DEBUG_ADDR": "127.0.0.1:6061", "LOG_FLUSH_INTERVAL": "1s"},
			check: func(c server.Config) bool {
				return c.UpstreamTransport == server.TransportNetHTTP && c.DebugAddr == "127.0.0.1:6061"
			},
		},
		{name: "unknown transport", args: []string{"-upstream-transport=http2"}, wantErr: `-upstream-transport (UPSTREAM_TRANSPORT) must be http1 or nethttp, got "http2"`},
		{name: "negative log flush interval", args: []string{"-log-flush-interval=-1s"}, wantErr: "-log-flush-interval (LOG_FLUSH_INTERVAL) must not be negative"},
		{name: "bad log flush variable", env: map[string]string{"LOG_FLUSH_INTERVAL": "often"}, wantErr: `LOG_FLUSH_INTERVAL="often": want a duration`},
		{
			name: "flags",
			args: []string{"-upstream-timeout=3s", "-upstream-attempt-timeout=0", "-upstream-max-attempts=1", "-upstream-max-concurrent=8",
				"-upstream-queue-timeout=0", "-upstream-max-body=4096", "-breaker-failures=0", "-breaker-open=30s", "-coalesce=false"},
			check: func(c server.Config) bool {
				return c.UpstreamTimeout == 3*time.Second && c.UpstreamAttemptTimeout == 0 && c.UpstreamMaxAttempts == 1 &&
					c.UpstreamMaxConcurrent == 8 && c.UpstreamQueueTimeout == 0 && c.UpstreamMaxBodyBytes == 4096 &&
					c.BreakerFailures == 0 && c.BreakerOpenDuration == 30*time.Second && !c.Coalesce
			},
		},
		{
			name: "environment",
			env: map[string]string{"UPSTREAM_TIMEOUT": "2s", "UPSTREAM_ATTEMPT_TIMEOUT": "1s", "UPSTREAM_MAX_ATTEMPTS": "5",
				"UPSTREAM_MAX_CONCURRENT": "16", "UPSTREAM_QUEUE_TIMEOUT": "250ms", "UPSTREAM_MAX_BODY_BYTES": "65536",
				"BREAKER_FAILURES": "10", "BREAKER_OPEN_DURATION": "1m", "COALESCE": "false"},
			check: func(c server.Config) bool {
				return c.UpstreamTimeout == 2*time.Second && c.UpstreamAttemptTimeout == time.Second && c.UpstreamMaxAttempts == 5 &&
					c.UpstreamMaxConcurrent == 16 && c.UpstreamQueueTimeout == 250*time.Millisecond && c.UpstreamMaxBodyBytes == 65536 &&
					c.BreakerFailures == 10 && c.BreakerOpenDuration == time.Minute && !c.Coalesce
			},
		},
		{
			name:  "flag wins over variable",
			args:  []string{"-upstream-max-attempts=2"},
			env:   map[string]string{"UPSTREAM_MAX_ATTEMPTS": "7"},
			check: func(c server.Config) bool { return c.UpstreamMaxAttempts == 2 },
		},
		{name: "bad duration variable", env: map[string]string{"UPSTREAM_TIMEOUT": "soon"}, wantErr: `UPSTREAM_TIMEOUT="soon": want a duration`},
		{name: "bad number variable", env: map[string]string{"UPSTREAM_MAX_CONCURRENT": "many"}, wantErr: `UPSTREAM_MAX_CONCURRENT="many": want a whole number`},
		{name: "bad bool variable", env: map[string]string{"COALESCE": "maybe"}, wantErr: `COALESCE="maybe": want true or false`},
		{name: "bad body size variable", env: map[string]string{"UPSTREAM_MAX_BODY_BYTES": "1MiB"}, wantErr: `UPSTREAM_MAX_BODY_BYTES="1MiB": want a number of bytes`},
		{name: "zero attempts", args: []string{"-upstream-max-attempts=0"}, wantErr: "-upstream-max-attempts (UPSTREAM_MAX_ATTEMPTS) must be between 1"},
		{name: "too many attempts", env: map[string]string{"UPSTREAM_MAX_ATTEMPTS": "11"}, wantErr: "must be between 1 (no retries) and 10, got 11"},
		{name: "zero timeout", args: []string{"-upstream-timeout=0"}, wantErr: "-upstream-timeout (UPSTREAM_TIMEOUT) must be positive"},
		{name: "negative attempt timeout", args: []string{"-upstream-attempt-timeout=-1s"}, wantErr: "-upstream-attempt-timeout (UPSTREAM_ATTEMPT_TIMEOUT) must not be negative"},
		{name: "zero concurrency", args: []string{"-upstream-max-concurrent=0"}, wantErr: "-upstream-max-concurrent (UPSTREAM_MAX_CONCURRENT) must be at least 1"},
		{name: "negative queue timeout", args: []string{"-upstream-queue-timeout=-1s"}, wantErr: "-upstream-queue-timeout (UPSTREAM_QUEUE_TIMEOUT) must not be negative"},
		{name: "tiny body limit", args: []string{"-upstream-max-body=10"}, wantErr: "-upstream-max-body (UPSTREAM_MAX_BODY_BYTES) must be at least 1024"},
		{name: "negative breaker failures", args: []string{"-breaker-failures=-1"}, wantErr: "-breaker-failures (BREAKER_FAILURES) must not be negative"},
		{name: "zero breaker open", env: map[string]string{"BREAKER_OPEN_DURATION": "0s"}, wantErr: "-breaker-open (BREAKER_OPEN_DURATION) must be positive"},
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
