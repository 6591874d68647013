package service

import "testing"

func TestUpstreamTextRedactsTheCallersToken(t *testing.T) {
	tests := []struct {
		name string
		auth string
		give string
		want string
	}{
		{"token quoted", "Bearer eyJhbGciOi.abc.def", "IDX10223: token 'eyJhbGciOi.abc.def' expired", "IDX10223: token '[REDACTED]' expired"},
		{"header quoted", "Bearer eyJhbGciOi.abc.def", "bad header Bearer eyJhbGciOi.abc.def\n", "bad header [REDACTED]"},
		{"nothing to redact", "Bearer eyJhbGciOi.abc.def", "Reseller not found.", "Reseller not found."},
		{"short token is not a pattern", "Bearer ab", "ab ab ab", "ab ab ab"},
		{"no credentials", "", "anything", "anything"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := upstreamText(tt.auth)(tt.give); got != tt.want {
				t.Errorf("upstreamText(%q)(%q) = %q, want %q", tt.auth, tt.give, got, tt.want)
			}
		})
	}
}
