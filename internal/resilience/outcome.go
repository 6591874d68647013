package resilience

// Outcome is what a call or an attempt says about the upstream's health.
type Outcome uint8

const (
	// Success means the upstream answered in a way that shows it is working (a
	// 2xx, or an answer that blames the request).
	Success Outcome = iota
	// Failure is a sign that the upstream itself is unwell (for HTTP: 502,
	// 503, 504, no answer, a reset, a timeout).
	Failure
	// Neutral means the outcome says nothing about the upstream's health (the
	// caller went away, nothing was sent, throttling); it is not counted.
	Neutral
)
