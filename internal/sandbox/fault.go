package sandbox

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// FaultKind is one way in which a server built with [WithFaults] fails a request, each
// imitating something the real upstream, or the Azure front door and proxies in front of
// it, does at times.
type FaultKind int

const (
	// FaultUnavailable answers 503 with Retry-After: 0 and a small HTML page, as an
	// overloaded App Service does.
	FaultUnavailable FaultKind = iota + 1
	// FaultBadGateway answers 502 with an HTML page and no Retry-After, as a gateway in
	// front of the API does when the API is unreachable.
	FaultBadGateway
	// FaultRateLimited answers 429 with Retry-After: 1 and API Management's JSON body
	// ({"statusCode":429,"message":"Rate limit is exceeded. ..."}), which is not an
	// error envelope.
	FaultRateLimited
	// FaultDrop closes the connection without answering: the client sees the
	// connection end before any response (EOF).
	FaultDrop
	// FaultReset starts a 200 answer (status line, headers with the full
	// Content-Length, the first bytes of a JSON body) and then resets the connection
	// (TCP RST), so the client sees the body cut mid-way.
	FaultReset
	// FaultSlow answers normally after an extra 200 to 500 ms (drawn from the fault
	// seed), on top of any [WithLatency]. The request still counts as a fault.
	FaultSlow
	// FaultHTMLOK answers 200 with an HTML page where JSON was expected, as a
	// misconfigured proxy does. It is not a transient failure (a client should not
	// retry it), so it is not among [DefaultFaultKinds].
	FaultHTMLOK

	faultKindEnd // one past the last kind
)

// faultNames are the names String returns and ParseFaultKinds accepts, by kind.
var faultNames = [faultKindEnd]string{
	FaultUnavailable: "unavailable",
	FaultBadGateway:  "bad-gateway",
	FaultRateLimited: "rate-limited",
	FaultDrop:        "drop",
	FaultReset:       "reset",
	FaultSlow:        "slow",
	FaultHTMLOK:      "html-200",
}

// String returns the kind's name as [ParseFaultKinds] reads it ("unavailable",
// "bad-gateway", "rate-limited", "drop", "reset", "slow", "html-200").
func (k FaultKind) String() string {
	if k.valid() {
		return faultNames[k]
	}
	return "FaultKind(" + strconv.Itoa(int(k)) + ")"
}

func (k FaultKind) valid() bool { return k > 0 && k < faultKindEnd }

// DefaultFaultKinds returns the kinds [WithFaults] injects when given none: every
// transient failure (503, 502, 429, drop, reset, slow), that is every kind but
// [FaultHTMLOK]. The caller owns the slice.
func DefaultFaultKinds() []FaultKind {
	return []FaultKind{FaultUnavailable, FaultBadGateway, FaultRateLimited, FaultDrop, FaultReset, FaultSlow}
}

// AllFaultKinds returns every fault kind, [FaultHTMLOK] included. The caller owns the
// slice.
func AllFaultKinds() []FaultKind {
	return append(DefaultFaultKinds(), FaultHTMLOK)
}

// ParseFaultKinds reads a comma-separated list of fault kind names (see
// [FaultKind.String]); "default" stands for [DefaultFaultKinds] and "all" for
// [AllFaultKinds]. Blanks around names are ignored; an empty list, an unknown name
// or a repeated kind is an error.
func ParseFaultKinds(s string) ([]FaultKind, error) {
	var kinds []FaultKind
	for name := range strings.SplitSeq(s, ",") {
		name = strings.TrimSpace(name)
		var add []FaultKind
		switch name {
		case "default":
			add = DefaultFaultKinds()
		case "all":
			add = AllFaultKinds()
		default:
			k := FaultKind(slices.Index(faultNames[:], name))
			if !k.valid() {
				return nil, fmt.Errorf("unknown fault kind %q (want a comma-separated list of %s, default or all)",
					name, strings.Join(faultNames[1:], ", "))
			}
			add = []FaultKind{k}
		}
		for _, k := range add {
			if slices.Contains(kinds, k) {
				return nil, fmt.Errorf("fault kind %s given twice", k)
			}
			kinds = append(kinds, k)
		}
	}
	return kinds, nil
}

// WithFaults makes the server fail a share rate (0 to 1) of its requests, each with a
// kind drawn uniformly from kinds ([DefaultFaultKinds] when none is given; kinds that
// are not one of the FaultKind constants are ignored, and so are repeats; with none left
// nothing is injected). The draws come
// from a pseudo-random generator seeded with seed and shared by all requests under a
// lock: the same seed gives the same sequence of decisions for the same sequence of
// requests (under concurrency, the order in which requests arrive decides which of them
// fail). Every request counts, whatever its route or credentials; the decision is made
// after the [WithLatency] wait. A rate of 0 or less (or NaN) injects nothing, which is
// the default; a rate of 1 or more fails every request. See [Server.Faults] for the
// counts.
//
// [FaultDrop] and [FaultReset] take the connection over (http.Hijacker); where the
// ResponseWriter cannot be hijacked (HTTP/2, a recorder) they abort the handler with
// [http.ErrAbortHandler] instead.
func WithFaults(rate float64, seed int64, kinds ...FaultKind) Option {
	return func(s *Server) {
		if len(kinds) == 0 {
			kinds = DefaultFaultKinds()
		}
		var valid []FaultKind
		for _, k := range kinds {
			if k.valid() && !slices.Contains(valid, k) {
				valid = append(valid, k)
			}
		}
		s.faults = nil
		if rate > 0 && len(valid) > 0 { // rate > 0 is false for NaN
			s.faults = &faults{
				rate:  min(rate, 1),
				kinds: valid,
				rng:   rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15)), //nolint:gosec // G115: the seed's bits, reinterpreted
			}
		}
	}
}

// Faults returns how many requests the server failed with each kind of fault since it
// was built; kinds it never injected are absent. It is empty for a server built without
// [WithFaults]. The caller owns the map.
func (s *Server) Faults() map[FaultKind]int64 {
	out := make(map[FaultKind]int64)
	if s.faults == nil {
		return out
	}
	for k := FaultKind(1); k < faultKindEnd; k++ {
		if n := s.faults.counts[k].Load(); n > 0 {
			out[k] = n
		}
	}
	return out
}

// Bounds of the extra delay of FaultSlow.
const (
	slowMin = 200 * time.Millisecond
	slowMax = 500 * time.Millisecond
)

// faults is the fault injector configured by WithFaults.
type faults struct {
	rate  float64
	kinds []FaultKind

	mu  sync.Mutex // guards rng: rand.Rand is not safe for concurrent use
	rng *rand.Rand

	counts [faultKindEnd]atomic.Int64
}

// draw decides whether the next request fails, and how; delay is set for FaultSlow.
func (f *faults) draw() (kind FaultKind, delay time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rng.Float64() >= f.rate {
		return 0, 0
	}
	kind = f.kinds[f.rng.IntN(len(f.kinds))]
	if kind == FaultSlow {
		delay = slowMin + time.Duration(f.rng.Int64N(int64(slowMax-slowMin)))
	}
	return kind, delay
}

// Bodies of the faults that answer; what a front door or a proxy sends, never an
// upstream error envelope.
const (
	unavailableBody = "<!DOCTYPE html>\n<html><head><title>Service Unavailable</title></head>" +
		"<body><h1>503 Service Unavailable</h1><p>The service is temporarily unavailable. Please try again later.</p></body></html>\n"
	badGatewayBody = "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>" +
		"<body><h1>502 Bad Gateway</h1><p>The gateway did not receive a valid response from the upstream server.</p></body></html>\n"
	rateLimitedBody = `{"statusCode":429,"message":"Rate limit is exceeded. Try again in 1 seconds."}`
	htmlOKBody      = "<!DOCTYPE html>\n<html><head><title>Sign in</title></head>" +
		"<body><p>Please sign in to continue.</p></body></html>\n"
	// resetBodyStart is what FaultReset sends of a body it announces as resetBodyLength
	// bytes long.
	resetBodyStart  = `{"id":"` + ContosoResellerID + `","companyName":"Contoso Cloud Sol`
	resetBodyLength = 1536
	contentTypeHTML = "text/html; charset=utf-8"
)

// inject fails r as the next draw says, and reports whether it answered (or dropped) the
// request; false means the server should answer it as usual (after a FaultSlow delay,
// or when no fault was drawn).
func (f *faults) inject(w http.ResponseWriter, r *http.Request) bool {
	kind, delay := f.draw()
	if kind == 0 {
		return false
	}
	f.counts[kind].Add(1)
	switch kind {
	case FaultSlow:
		select {
		case <-time.After(delay):
			return false
		case <-r.Context().Done():
			return true // the client has gone: nothing to answer
		}
	case FaultUnavailable:
		w.Header().Set("Retry-After", "0")
		write(w, http.StatusServiceUnavailable, contentTypeHTML, []byte(unavailableBody))
	case FaultBadGateway:
		write(w, http.StatusBadGateway, contentTypeHTML, []byte(badGatewayBody))
	case FaultRateLimited:
		w.Header().Set("Retry-After", "1")
		write(w, http.StatusTooManyRequests, contentTypeJSON, []byte(rateLimitedBody))
	case FaultHTMLOK:
		write(w, http.StatusOK, contentTypeHTML, []byte(htmlOKBody))
	case FaultDrop:
		hijack(w, nil)
	case FaultReset:
		head := "HTTP/1.1 200 OK\r\n" +
			"Content-Type: application/json; charset=utf-8\r\n" +
			"Content-Length: " + strconv.Itoa(resetBodyLength) + "\r\n" +
			"\r\n" + resetBodyStart
		hijack(w, []byte(head))
	}
	return true
}

// hijack takes the connection over and closes it: at once with an orderly close when
// raw is empty, otherwise after writing raw, with a TCP reset (SO_LINGER 0). Where the
// connection cannot be taken over it aborts the handler, which makes the server drop
// the connection (HTTP/1) or reset the stream (HTTP/2).
func hijack(w http.ResponseWriter, raw []byte) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if len(raw) > 0 {
		_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := conn.Write(raw); err == nil {
			// A reset discards unsent data: give the start of the answer time to
			// reach the client, so that it is the body that gets cut.
			time.Sleep(20 * time.Millisecond)
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // close sends RST instead of FIN
		}
	}
	_ = conn.Close()
}
