package server

import (
	"bytes"
	"encoding/binary"
	"net/http"
	"strings"
)

// isType reports whether contentType is mediaType, alone or with a codec
// suffix ("application/grpc-web+proto").
func isType(contentType, mediaType string) bool {
	return contentType == mediaType || strings.HasPrefix(contentType, mediaType+"+")
}

// wrappedWriter passes Flush and Unwrap through to the writer it wraps.
type wrappedWriter struct{ http.ResponseWriter }

// Flush implements http.Flusher when the wrapped writer does.
func (w wrappedWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the wrapped writer.
func (w wrappedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// grpcWebTrailerWriter lower-cases the names in a gRPC-Web response's
// in-body trailer block, which vanguard v0.4.0 writes in canonical case and
// the official grpc-web client reads case-sensitively (docs/browsers.md).
// The body is a sequence of frames: a flags byte (0x80 marks the trailer
// block), a 4-byte big-endian length, then that many bytes.
type grpcWebTrailerWriter struct {
	wrappedWriter
	header    [5]byte // the frame header being read
	headerLen int     // bytes of header read so far
	remaining int     // payload bytes left in the current frame
	trailer   bool    // the current frame is the trailer block
	inName    bool    // inside a trailer line's name (before its colon)
}

// newGRPCWebTrailerWriter wraps w.
func newGRPCWebTrailerWriter(w http.ResponseWriter) *grpcWebTrailerWriter {
	return &grpcWebTrailerWriter{wrappedWriter: wrappedWriter{w}}
}

// Write implements http.ResponseWriter, fixing trailer names in a copy of p
// when p holds part of the trailer block.
func (t *grpcWebTrailerWriter) Write(p []byte) (int, error) {
	copied := false
	for i := 0; i < len(p); {
		if t.remaining == 0 && t.headerLen < len(t.header) {
			t.header[t.headerLen] = p[i]
			t.headerLen++
			i++
			if t.headerLen == len(t.header) {
				t.trailer = t.header[0]&0x80 != 0
				t.remaining = int(binary.BigEndian.Uint32(t.header[1:]))
				t.inName = true
				if t.remaining == 0 {
					t.headerLen = 0
				}
			}
			continue
		}
		n := min(len(p)-i, t.remaining)
		if t.trailer && n > 0 {
			if !copied {
				p, copied = bytes.Clone(p), true
			}
			lowerNames(p[i:i+n], &t.inName)
		}
		i += n
		t.remaining -= n
		if t.remaining == 0 {
			t.headerLen = 0
		}
	}
	return t.ResponseWriter.Write(p)
}

// lowerNames lower-cases the header names in b, a piece of a block of
// "Name: value\r\n" lines; inName carries whether b starts inside a name.
func lowerNames(b []byte, inName *bool) {
	for j, c := range b {
		switch {
		case c == '\n':
			*inName = true
		case c == ':':
			*inName = false
		case *inName && 'A' <= c && c <= 'Z':
			b[j] = c + ('a' - 'A')
		}
	}
}
