package main

import (
	"io"
	"strings"
	"testing"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/server"
)

// TestParseConfigTLSSettings covers the TLS settings: flags, variables, a
// flag winning over its variable, and one clear error line for a combination
// that does not go together. (The files are read when the server starts.)
func TestParseConfigTLSSettings(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    [4]string // cert, key, client CA, upstream CA
		wantErr string
	}{
		{name: "defaults: plaintext"},
		{
			name: "flags",
			args: []string{"-tls-cert=c.pem", "-tls-key=k.pem", "-tls-client-ca=ca.pem", "-upstream-ca=up.pem"},
			want: [4]string{"c.pem", "k.pem", "ca.pem", "up.pem"},
		},
		{
			name: "environment",
			env:  map[string]string{"TLS_CERT_FILE": "c.pem", "TLS_KEY_FILE": "k.pem", "TLS_CLIENT_CA_FILE": "ca.pem", "UPSTREAM_CA_FILE": "up.pem"},
			want: [4]string{"c.pem", "k.pem", "ca.pem", "up.pem"},
		},
		{
			name: "flag wins over variable",
			args: []string{"-tls-cert=flag.pem", "-tls-key=k.pem"},
			env:  map[string]string{"TLS_CERT_FILE": "env.pem"},
			want: [4]string{"flag.pem", "k.pem", "", ""},
		},
		{name: "cert without key", args: []string{"-tls-cert=c.pem"}, wantErr: "-tls-cert (TLS_CERT_FILE) and -tls-key (TLS_KEY_FILE) go together"},
		{name: "key without cert", env: map[string]string{"TLS_KEY_FILE": "k.pem"}, wantErr: "-tls-cert (TLS_CERT_FILE) and -tls-key (TLS_KEY_FILE) go together"},
		{name: "client CA without cert", args: []string{"-tls-client-ca=ca.pem"}, wantErr: "-tls-client-ca (TLS_CLIENT_CA_FILE) needs -tls-cert (TLS_CERT_FILE) and -tls-key (TLS_KEY_FILE)"},
		{name: "upstream CA with the sandbox", args: []string{"-sandbox", "-upstream-ca=up.pem"}, wantErr: "-upstream-ca (UPSTREAM_CA_FILE) has no use with -sandbox"},
		{name: "upstream CA for an http upstream", args: []string{"-upstream-url=http://127.0.0.1:1", "-upstream-ca=up.pem"}, wantErr: "is not https: the CA would never be used"},
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
			if got := tlsFiles(cfg); got != tt.want {
				t.Errorf("TLS files = %q, want %q", got, tt.want)
			}
		})
	}
}

func tlsFiles(c server.Config) [4]string {
	return [4]string{c.TLSCertFile, c.TLSKeyFile, c.TLSClientCAFile, c.UpstreamCAFile}
}
