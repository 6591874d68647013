package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestLogUpstreamChoice checks the start-up line that names the upstream:
// a warning exactly when the production API is used by default.
func TestLogUpstreamChoice(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		env       map[string]string
		wantLevel string
		wantIn    string
	}{
		{name: "sandbox", args: []string{"-sandbox"}, wantLevel: "INFO", wantIn: "embedded sandbox"},
		{name: "nothing set: production", wantLevel: "WARN", wantIn: "PRODUCTION"},
		{name: "explicit flag", args: []string{"-upstream-url=https://api.example.test"}, wantLevel: "INFO", wantIn: "https://api.example.test"},
		{name: "explicit variable", env: map[string]string{"CLOUDCOCKPIT_BASE_URL": "https://api.example.test"}, wantLevel: "INFO", wantIn: "https://api.example.test"},
		{name: "production named explicitly", args: []string{"-upstream-url=https://app-cloudcockpitapi-prod-01.azurewebsites.net"}, wantLevel: "INFO", wantIn: "azurewebsites"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, &bytes.Buffer{})
			if err != nil {
				t.Fatalf("parseConfig() error = %v", err)
			}
			var buf bytes.Buffer
			logUpstreamChoice(slog.New(slog.NewJSONHandler(&buf, nil)), cfg)
			var line struct {
				Level string `json:"level"`
				Msg   string `json:"msg"`
			}
			if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
				t.Fatalf("log line %q: %v", buf.String(), err)
			}
			if diff := cmp.Diff(tt.wantLevel, line.Level); diff != "" {
				t.Errorf("level (-want +got):\n%s", diff)
			}
			if !strings.Contains(line.Msg, tt.wantIn) {
				t.Errorf("message %q does not contain %q", line.Msg, tt.wantIn)
			}
		})
	}
}
