package main

import (
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParseConfigCORS: -cors-allowed-origins and CORS_ALLOWED_ORIGINS take a
// comma-separated list (spaces and empty items ignored), off by default; a
// bad origin is one clear error line.
func TestParseConfigCORS(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    []string
		wantErr string
	}{
		{name: "default: none"},
		{name: "flag", args: []string{"-cors-allowed-origins=https://app.example.com, http://127.0.0.1:5173,"}, want: []string{"https://app.example.com", "http://127.0.0.1:5173"}},
		{name: "environment", env: map[string]string{"CORS_ALLOWED_ORIGINS": "*"}, want: []string{"*"}},
		{name: "flag wins", args: []string{"-cors-allowed-origins=https://a.example"}, env: map[string]string{"CORS_ALLOWED_ORIGINS": "*"}, want: []string{"https://a.example"}},
		{name: "not an origin", args: []string{"-cors-allowed-origins=https://app.example.com/path"}, wantErr: `-cors-allowed-origins (CORS_ALLOWED_ORIGINS): "https://app.example.com/path" is not an origin`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("parseConfig() error = %v, want one line containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseConfig() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, cfg.CORSAllowedOrigins); diff != "" {
				t.Errorf("CORSAllowedOrigins (-want +got):\n%s", diff)
			}
		})
	}
}
