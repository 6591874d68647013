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

// Flush flushes the wrapped writer when it can (http.ResponseController).
func (w wrappedWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

// Unwrap lets http.ResponseController reach the wrapped writer.
func (w wrappedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// frames follows a stream of enveloped messages handed over in pieces: each
// a flags byte, a 4-byte big-endian length, then that many bytes.
type frames struct {
	head [5]byte // the envelope being read
	got  int     // bytes of head read
	left int     // bytes of the current message still to come
}

// walk follows p: header gets each envelope once whole (an error stops the
// walk and is returned), payload (if not nil) the bounds in p of each piece
// of a message.
func (f *frames) walk(p []byte, header func([5]byte) error, payload func(from, to int)) error {
	for i := 0; i < len(p); {
		if f.left > 0 {
			n := min(len(p)-i, f.left)
			if payload != nil {
				payload(i, i+n)
			}
			i, f.left = i+n, f.left-n
			continue
		}
		f.head[f.got], f.got, i = p[i], f.got+1, i+1
		if f.got == len(f.head) {
			if err := header(f.head); err != nil {
				return err
			}
			f.got, f.left = 0, int(binary.BigEndian.Uint32(f.head[1:]))
		}
	}
	return nil
}

// grpcWebTrailerWriter lower-cases the names in a gRPC-Web answer's in-body trailer
// block (the frame whose flags have 0x80), which vanguard v0.4.0 capitalizes and a
// client may read case-sensitively (docs/browsers.md).
type grpcWebTrailerWriter struct {
	wrappedWriter
	frames
	trailer bool // the current frame is the trailer block
	inName  bool // inside a trailer line's name (before its colon)
}

// Write implements http.ResponseWriter, fixing trailer names in a copy of p
// when p holds part of the trailer block.
func (t *grpcWebTrailerWriter) Write(p []byte) (int, error) {
	out, copied := p, false
	_ = t.walk(p, func(head [5]byte) error {
		t.trailer, t.inName = head[0]&0x80 != 0, true
		return nil
	}, func(from, to int) {
		if t.trailer {
			if !copied {
				out, copied = bytes.Clone(p), true
			}
			lowerNames(out[from:to], &t.inName)
		}
	})
	return t.ResponseWriter.Write(out)
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
