package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/server"
)

// TestParseConfigGRPCLimits covers the gRPC server's connection limits:
// defaults, flags, variables and a bad value.
func TestParseConfigGRPCLimits(t *testing.T) {
	type limits struct {
		Streams         int
		Handshake, Ping time.Duration
		Idle            time.Duration
	}
	tests := []limitCase[limits]{
		{name: "defaults", want: limits{100, 10 * time.Second, 10 * time.Second, 5 * time.Minute}},
		{
			name: "flags",
			args: []string{"-grpc-max-streams=50", "-grpc-connection-timeout=2s", "-grpc-keepalive-min-time=30s", "-grpc-max-connection-idle=0"},
			want: limits{50, 2 * time.Second, 30 * time.Second, -1},
		},
		{
			name: "environment",
			env: map[string]string{"GRPC_MAX_CONCURRENT_STREAMS": "250", "GRPC_CONNECTION_TIMEOUT": "5s",
				"GRPC_KEEPALIVE_MIN_TIME": "1m", "GRPC_MAX_CONNECTION_IDLE": "15m"},
			want: limits{250, 5 * time.Second, time.Minute, 15 * time.Minute},
		},
		{name: "bad streams variable", env: map[string]string{"GRPC_MAX_CONCURRENT_STREAMS": "lots"}, wantErr: `GRPC_MAX_CONCURRENT_STREAMS="lots": want a whole number`},
		{name: "negative streams", args: []string{"-grpc-max-streams=-1"}, wantErr: "-grpc-max-streams (GRPC_MAX_CONCURRENT_STREAMS) must be between 1 and 10000"},
	}
	runLimitCases(t, tests, func(cfg server.Config) limits {
		return limits{cfg.GRPCMaxConcurrentStreams, cfg.GRPCConnectionTimeout, cfg.GRPCKeepaliveMinTime, cfg.GRPCMaxConnectionIdle}
	})
}

// TestParseConfigProcessLimits covers the process's limits over both ports:
// defaults, flags, variables and bad values.
func TestParseConfigProcessLimits(t *testing.T) {
	type limits struct {
		Conns, Calls int
		Message      time.Duration
	}
	tests := []limitCase[limits]{
		{name: "defaults", want: limits{128, 500, 5 * time.Second}},
		{name: "flags", args: []string{"-max-connections=64", "-max-calls=200", "-message-timeout=2s"}, want: limits{64, 200, 2 * time.Second}},
		{name: "environment", env: map[string]string{"MAX_CONNECTIONS": "256", "MAX_CALLS": "500", "MESSAGE_TIMEOUT": "10s"}, want: limits{256, 500, 10 * time.Second}},
		{name: "bad calls variable", env: map[string]string{"MAX_CALLS": "many"}, wantErr: `MAX_CALLS="many": want a whole number`},
		{name: "negative connections", args: []string{"-max-connections=-1"}, wantErr: "-max-connections (MAX_CONNECTIONS) must be between 1 and 100000"},
		{name: "negative calls", args: []string{"-max-calls=-1"}, wantErr: "-max-calls (MAX_CALLS) must be between 1 and 100000"},
		{name: "negative message time", args: []string{"-message-timeout=-1s"}, wantErr: "-message-timeout (MESSAGE_TIMEOUT) must not be negative"},
	}
	runLimitCases(t, tests, func(cfg server.Config) limits {
		return limits{cfg.MaxConnections, cfg.MaxCalls, cfg.MessageTimeout}
	})
}

// limitCase is one case of a limits table: flags and variables in, the
// limits (or an error containing wantErr) out.
type limitCase[L any] struct {
	name    string
	args    []string
	env     map[string]string
	want    L
	wantErr string
}

// runLimitCases parses each case's flags and variables and compares the
// limits that get reads from the config.
func runLimitCases[L any](t *testing.T, tests []limitCase[L], get func(server.Config) L) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseConfig() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseConfig() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, get(cfg)); diff != "" {
				t.Errorf("limits (-want +got):\n%s", diff)
			}
		})
	}
}
