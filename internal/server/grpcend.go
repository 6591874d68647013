package server

import "net/http"

// grpcEndWriter keeps a gRPC response that vanguard ended in its headers
// whole. When vanguard v0.4.0 fails a gRPC call itself after the gRPC
// server has started on it (a request message over the limit, say), it
// writes the status in the response headers (trailers-only), but it still
// declares Grpc-Status and Grpc-Message as trailers and lets the server's
// own status (INTERNAL, "cardinality violation": it saw no message) into
// them; grpc-go clients read the trailers. So once the headers carry a
// status, the declaration goes, later header changes go nowhere and flushes
// wait: the headers leave with END_STREAM, a true trailers-only response.
type grpcEndWriter struct {
	wrappedWriter
	ended http.Header // non-nil once the headers carry the status: takes later changes
}

// WriteHeader implements http.ResponseWriter.
func (e *grpcEndWriter) WriteHeader(code int) {
	if h := e.ResponseWriter.Header(); h.Get("Grpc-Status") != "" {
		h.Del("Trailer")
		e.ended = http.Header{}
	}
	e.ResponseWriter.WriteHeader(code)
}

// Header implements http.ResponseWriter.
func (e *grpcEndWriter) Header() http.Header {
	if e.ended != nil {
		return e.ended
	}
	return e.ResponseWriter.Header()
}

// Flush implements http.Flusher when the wrapped writer does, until the
// response has ended.
func (e *grpcEndWriter) Flush() {
	if e.ended == nil {
		e.wrappedWriter.Flush()
	}
}
