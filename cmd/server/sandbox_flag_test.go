package main

import (
	"io"
	"testing"
)

// TestSandboxFlagWiresTheSandbox: -sandbox gives the server a sandbox to
// start; without it the server has none.
func TestSandboxFlagWiresTheSandbox(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want bool
	}{{[]string{"-sandbox"}, true}, {nil, false}} {
		cfg, _, err := parseConfig(tt.args, func(string) string { return "" }, io.Discard)
		if err != nil {
			t.Fatalf("parseConfig(%q) error = %v", tt.args, err)
		}
		if got := cfg.StartSandbox != nil; got != tt.want || cfg.Sandbox != tt.want {
			t.Errorf("parseConfig(%q): Sandbox %v, StartSandbox set %v; want %v", tt.args, cfg.Sandbox, got, tt.want)
		}
	}
}
