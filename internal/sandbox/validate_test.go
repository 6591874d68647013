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

func TestIsUUID(t *testing.T) {
	tests := []struct {
		give string
		want bool
	}{
		{"", false},
		{"cb3cd15b1d6e45beb493c71549cbfd87", false},
		{"{cb3cd15b-1d6e-45be-b493-c71549cbfd87}", false},
		{"cb3cd15b-1d6e-45be-b493-c71549cbfd8", false},
		{"cb3cd15b-1d6e-45be-b493-c71549cbfd877", false},
		{"cb3cd15b_1d6e-45be-b493-c71549cbfd87", false},
		{"cb3cd15b-1d6e-45be-b493-c71549cbfdzz", false},
		{"cb3cd15b-1d6e-45be-b493-c71549cbfd87", true},
		{"CB3CD15B-1D6E-45BE-B493-C71549CBFD87", true},
		{"00000000-0000-0000-0000-000000000000", true},
	}
	for _, tt := range tests {
		if got := isUUID(tt.give); got != tt.want {
			t.Errorf("isUUID(%q) = %v, want %v", tt.give, got, tt.want)
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

func TestBuildCatalog(t *testing.T) {
	c, err := buildCatalog()
	if err != nil {
		t.Fatalf("buildCatalog: %v", err)
	}
	if got, want := len(c), len(samples); got != want {
		t.Errorf("%d reseller answers, want %d", got, want)
	}
}

func TestCheckPayloadID(t *testing.T) {
	tests := []struct {
		give    string
		wantErr bool
	}{
		{`{"id":"a"}`, false},
		{`{"Id":"A"}`, false},
		{`{"id":"b"}`, true},
		{`{"id":1}`, true},
		{`{"name":"a"}`, true},
		{`[]`, true},
	}
	for _, tt := range tests {
		if err := checkPayloadID([]byte(tt.give), "a"); (err != nil) != tt.wantErr {
			t.Errorf("checkPayloadID(%s) = %v, want error %v", tt.give, err, tt.wantErr)
		}
	}
}
