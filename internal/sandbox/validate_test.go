package sandbox

import (
	"strings"
	"testing"
	"time"
)

func TestAuthorized(t *testing.T) {
	tests := []struct {
		give string
		want bool
	}{
		{"", false},
		{"Bearer", false},
		{"Bearer ", false},
		{"Bearer \t", false},
		{"Basic abc", false},
		{"Bearerabc", false},
		{"Bearer a b", false},
		{"Bearer a\tb", false},
		{"Bearer abc", true},
		{"bEaReR abc", true},
		{"Bearer   abc", true},
		{"Bearer eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.e30.sig", true},
	}
	for _, tt := range tests {
		if got := authorized(tt.give); got != tt.want {
			t.Errorf("authorized(%q) = %v, want %v", tt.give, got, tt.want)
		}
	}
}

func TestIsDomain(t *testing.T) {
	tests := []struct {
		give string
		want bool
	}{
		{"", false},
		{".", false},
		{"com", false},
		{"a..b", false},
		{".a.b", false},
		{"a.b..", false},
		{"-a.b", false},
		{"a-.b", false},
		{"a_b.c", false},
		{"a b.c", false},
		{"é.example", false},
		{strings.Repeat("a", 64) + ".b", false},
		{strings.Repeat("a.", 127) + "ab", false}, // 256 characters
		{"a.b", true},
		{"a.b.", true},
		{strings.Repeat("a", 63) + ".b", true},
		{"portal.cloudcockpit.com", true},
		{"xn--bcher-kva.example", true},
		{"10.0.0.1", true}, // looks like a name; the real API would just not know it
	}
	for _, tt := range tests {
		if got := isDomain(tt.give); got != tt.want {
			t.Errorf("isDomain(%q) = %v, want %v", tt.give, got, tt.want)
		}
	}
}

func TestWithLatencyClampsNegative(t *testing.T) {
	if got := New(WithLatency(-time.Second)).latency; got != 0 {
		t.Errorf("latency = %v, want 0", got)
	}
	if got := New().latency; got != 0 {
		t.Errorf("default latency = %v, want 0", got)
	}
}

func TestLoadCatalog(t *testing.T) {
	if got, want := len(loadCatalog()), len(samples); got != want {
		t.Errorf("%d reseller answers, want %d", got, want)
	}
}
