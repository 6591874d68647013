package sandbox

import "time"

// Option configures a [Server] built by [New].
type Option func(*Server)

// WithLatency makes the server wait d before it answers each request, imitating the
// round trip to the real upstream. The wait ends early, with no answer written, when the
// request's context is cancelled. The default is 0 (answer at once); a negative d is
// treated as 0.
func WithLatency(d time.Duration) Option {
	return func(s *Server) {
		s.latency = max(d, 0)
	}
}
