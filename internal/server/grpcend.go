package server

import "net/http"

// grpcEndWriter keeps a gRPC answer that vanguard v0.4.0 ended in its headers a true
// trailers-only one, without the gRPC server's own status after (docs/security.md).
type grpcEndWriter struct {
	wrappedWriter
	ended http.Header // non-nil once the headers carry the status: takes later changes
}

func (e *grpcEndWriter) WriteHeader(code int) {
	if h := e.ResponseWriter.Header(); h.Get("Grpc-Status") != "" {
		h.Del("Trailer")
		e.ended = http.Header{}
	}
	e.ResponseWriter.WriteHeader(code)
}

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
