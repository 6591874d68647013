package server

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestWarnProductionDefault checks the start-up warning: present exactly
// when the production API is used by default.
func TestWarnProductionDefault(t *testing.T) {
	tests := []struct {
		name     string
		give     func(*Config)
		wantWarn bool
	}{
		{name: "nothing set: production", give: func(*Config) {}, wantWarn: true},
		{name: "sandbox", give: func(c *Config) { c.Sandbox = true }},
		{name: "explicit upstream", give: func(c *Config) { c.Upstream.BaseURL, c.UpstreamURLSet = "https://api.example.test", true }},
		{name: "production named explicitly", give: func(c *Config) { c.UpstreamURLSet = true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.give(&cfg)
			var buf bytes.Buffer
			warnProductionDefault(slog.New(slog.NewJSONHandler(&buf, nil)), cfg)
			if !tt.wantWarn {
				if buf.Len() != 0 {
					t.Errorf("logged %q, want nothing", buf.String())
				}
				return
			}
			var line struct {
				Level, Msg, Upstream string
			}
			if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
				t.Fatalf("log line %q: %v", buf.String(), err)
			}
			if diff := cmp.Diff("WARN", line.Level); diff != "" {
				t.Errorf("level (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(DefaultUpstreamURL, line.Upstream); diff != "" {
				t.Errorf("upstream (-want +got):\n%s", diff)
			}
			if !strings.Contains(line.Msg, "PRODUCTION") || !strings.Contains(line.Msg, "-sandbox") {
				t.Errorf("message %q does not say the production API is used and how to avoid it", line.Msg)
			}
		})
	}
}
