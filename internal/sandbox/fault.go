package sandbox

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FaultKind is one way in which a server built with [WithFaults] fails a request, as the
// upstream or the proxies in front of it do at times (docs/sandbox.md lists them).
type FaultKind int

// The kinds of fault, by what the server answers.
const (
	FaultUnavailable FaultKind = iota + 1 // 503 with Retry-After: 0 (an overloaded App Service)
	FaultBadGateway                       // 502 with no Retry-After (a gateway that cannot reach the API)
	FaultRateLimited                      // 429 with Retry-After: 1 and API Management's JSON body
	FaultDrop                             // the connection closed without an answer (the client sees EOF)
	FaultReset                            // a 200 answer begun, then the connection reset (TCP RST) mid-body
	FaultSlow                             // the usual answer after an extra 200 to 500 ms, on top of any WithLatency
	FaultHTMLOK                           // 200 with an HTML page (a misconfigured proxy), which a client should not retry

	faultKindEnd // one past the last kind
)

// fault is a kind's name and, for the kinds that answer with a page, that answer.
type fault struct {
	name              string
	status            int
	retryAfter        string // empty: no Retry-After
	contentType, body string
}

var faultTable = [faultKindEnd]fault{
	FaultUnavailable: {"unavailable", http.StatusServiceUnavailable, "0", contentTypeHTML,
		"<!DOCTYPE html>\n<html><head><title>Service Unavailable</title></head>" +
			"<body><h1>503 Service Unavailable</h1><p>The service is temporarily unavailable. Please try again later.</p></body></html>\n"},
	FaultBadGateway: {"bad-gateway", http.StatusBadGateway, "", contentTypeHTML,
		"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>" +
			"<body><h1>502 Bad Gateway</h1><p>The gateway did not receive a valid response from the upstream server.</p></body></html>\n"},
	FaultRateLimited: {"rate-limited", http.StatusTooManyRequests, "1", contentTypeJSON,
		`{"statusCode":429,"message":"Rate limit is exceeded. Try again in 1 seconds."}`},
	FaultDrop:  {name: "drop"},
	FaultReset: {name: "reset"},
	FaultSlow:  {name: "slow"},
	FaultHTMLOK: {"html-200", http.StatusOK, "", contentTypeHTML,
		"<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body><p>Please sign in to continue.</p></body></html>\n"},
}

// resetHead is what FaultReset sends before the reset: the head of a 200 answer and the
// start of a body it announces as 1536 bytes long.
const resetHead = "HTTP/1.1 200 OK\r\nContent-Type: " + contentTypeJSON + "\r\nContent-Length: 1536\r\n\r\n" +
	`{"id":"` + ContosoResellerID + `","companyName":"Contoso Cloud Sol`

// String returns the kind's name, as [ParseFaultKinds] reads it.
func (k FaultKind) String() string {
	if k.valid() {
		return faultTable[k].name
	}
	return "FaultKind(" + strconv.Itoa(int(k)) + ")"
}

func (k FaultKind) valid() bool { return k > 0 && k < faultKindEnd }

// DefaultFaultKinds returns the kinds [WithFaults] injects when given none: every kind
// but [FaultHTMLOK]. The caller owns the slice.
func DefaultFaultKinds() []FaultKind {
	return []FaultKind{FaultUnavailable, FaultBadGateway, FaultRateLimited, FaultDrop, FaultReset, FaultSlow}
}

// AllFaultKinds returns every fault kind. The caller owns the slice.
func AllFaultKinds() []FaultKind { return append(DefaultFaultKinds(), FaultHTMLOK) }

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
			k := FaultKind(slices.IndexFunc(faultTable[:], func(f fault) bool { return f.name == name }))
			if !k.valid() {
				var names []string
				for _, f := range faultTable[1:] {
					names = append(names, f.name)
				}
				return nil, fmt.Errorf("unknown fault kind %q (want a comma-separated list of %s, default or all)",
					name, strings.Join(names, ", "))
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

// WithFaults makes the server fail a share rate of its requests, after the [WithLatency]
// wait, each with a kind drawn uniformly from kinds ([DefaultFaultKinds] when none is
// given; repeats and unknown values are ignored) by a generator seeded with seed. A rate
// of 0 or less (or NaN), the default, injects nothing; 1 or more fails every request.
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
				rate:   min(rate, 1),
				kinds:  valid,
				counts: map[FaultKind]int64{},
				rng:    rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15)), //nolint:gosec // G115: the seed's bits, reinterpreted
			}
		}
	}
}

// Faults returns how many requests the server failed with each kind of fault; kinds it
// never injected are absent. The caller owns the map.
func (s *Server) Faults() map[FaultKind]int64 {
	if s.faults == nil {
		return map[FaultKind]int64{}
	}
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return maps.Clone(s.faults.counts)
}

type faults struct {
	rate  float64
	kinds []FaultKind

	mu     sync.Mutex // guards rng (rand.Rand is not safe for concurrent use) and counts
	rng    *rand.Rand
	counts map[FaultKind]int64
}

// draw decides whether the next request fails, and how; delay is set for FaultSlow.
func (f *faults) draw() (kind FaultKind, delay time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rng.Float64() >= f.rate {
		return 0, 0
	}
	kind = f.kinds[f.rng.IntN(len(f.kinds))]
	f.counts[kind]++
	if kind == FaultSlow {
		delay = 200*time.Millisecond + time.Duration(f.rng.Int64N(int64(300*time.Millisecond))) // 200 to 500 ms
	}
	return kind, delay
}

// inject fails r as the next draw says, and reports whether it answered (or dropped) the
// request; false: answer it as usual.
func (f *faults) inject(w http.ResponseWriter, r *http.Request) bool {
	kind, delay := f.draw()
	switch kind {
	case 0:
		return false
	case FaultSlow:
		return !sleep(r.Context(), delay) // answer as usual, unless the client has gone
	case FaultDrop:
		hijack(w, "")
	case FaultReset:
		hijack(w, resetHead)
	default:
		a := faultTable[kind]
		if a.retryAfter != "" {
			w.Header().Set("Retry-After", a.retryAfter)
		}
		write(w, a.status, a.contentType, []byte(a.body))
	}
	return true
}

// hijack takes the connection over and closes it, after writing raw with a TCP reset
// when raw is set. Where it cannot (HTTP/2, a recorder) it aborts the handler.
func hijack(w http.ResponseWriter, raw string) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if raw != "" {
		_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := conn.Write([]byte(raw)); err == nil {
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
