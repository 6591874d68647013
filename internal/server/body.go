package server

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"connectrpc.com/connect"
	"google.golang.org/grpc/codes"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
)

// maxMessageBytes bounds one request message after decompression, on both ports:
// the facade's requests are a few ids (docs/security.md, "Request size").
const maxMessageBytes = 64 << 10

// maxBufferBytes bounds one message vanguard buffers, request (before decompression)
// or answer (reflection's are the largest): grpc-go's default message size.
const maxBufferBytes = 4 << 20

// boundBody bounds a request body on the HTTP port's RPC protocols by what
// its sender declares, which vanguard sizes its buffer by (up to
// maxBufferBytes) before reading: a Content-Length, or an envelope's length.
func boundBody(r *http.Request) error {
	if r.ContentLength > maxDeclaredBytes {
		return errMessageTooLarge()
	}
	if ct := r.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/grpc") || strings.HasPrefix(ct, "application/connect+") {
		// The first envelope is checked here, so that its refusal is in the
		// caller's protocol (vanguard makes a read error UNAVAILABLE).
		var head [5]byte
		n, _ := io.ReadFull(r.Body, head[:])
		if err := checkEnvelope(head); err != nil && n == len(head) {
			return err
		}
		r.Body = &envelopes{Reader: io.MultiReader(bytes.NewReader(head[:n]), r.Body), Closer: r.Body}
	} else if r.ContentLength < 0 { // read here, so that too long is refused in the caller's protocol
		b, err := io.ReadAll(io.LimitReader(r.Body, maxDeclaredBytes+1))
		if len(b) > maxDeclaredBytes {
			return errMessageTooLarge()
		} else if err != nil {
			return connect.NewError(connect.CodeCanceled, err) // the body did not arrive
		}
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
	}
	return nil
}

// maxDeclaredBytes bounds a request body (Connect unary) or one enveloped
// message as sent: maxMessageBytes and room for gzip's framing.
const maxDeclaredBytes = maxMessageBytes + 1<<10

// envelopes passes enveloped messages through, failing before returning an
// envelope that checkEnvelope refuses.
type envelopes struct {
	io.Reader
	io.Closer
	frames
	err error // the refusal, returned by every later read
}

// Read implements io.Reader. It fills p up to the end of a message: grpc-go's
// ServeHTTP reads into a 16 KiB buffer a read, which a message sent a byte a
// DATA frame would otherwise cost for each byte.
func (e *envelopes) Read(p []byte) (n int, err error) {
	for e.err == nil && err == nil && n < len(p) && (n == 0 || e.got > 0 || e.left > 0) {
		var k int
		k, err = e.Reader.Read(p[n:])
		e.err, n = e.walk(p[n:n+k], checkEnvelope, nil), n+k
	}
	if e.err != nil {
		return 0, e.err
	}
	return n, err
}

func checkEnvelope(head [5]byte) error {
	if binary.BigEndian.Uint32(head[1:]) > maxDeclaredBytes {
		return errMessageTooLarge()
	}
	return nil
}

// boundedGzip is vanguard's gzip decompressor for requests, failing past
// maxMessageBytes: vanguard v0.4.0's has no limit (docs/security.md).
type boundedGzip struct {
	gzip.Reader
	limited io.ReadCloser
}

func (d *boundedGzip) Reset(r io.Reader) error {
	d.limited = http.MaxBytesReader(nil, io.NopCloser(&d.Reader), maxMessageBytes)
	return corruptGzip(d.Reader.Reset(r))
}

func (d *boundedGzip) Read(p []byte) (int, error) {
	n, err := d.limited.Read(p)
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return n, errMessageTooLarge()
	}
	return n, corruptGzip(err)
}

// corruptGzip makes an error of compress/gzip, which reads a message vanguard
// has buffered, the caller's INVALID_ARGUMENT, as connect-go answers it;
// vanguard would make it UNKNOWN.
func corruptGzip(err error) error {
	if err == nil || errors.Is(err, io.EOF) {
		return err
	}
	return invalidRequest("the request message does not decompress (gzip): " + err.Error())
}

// errMessageTooLarge is RESOURCE_EXHAUSTED with REQUEST_TOO_LARGE, as the
// *connect.Error that vanguard writes in the caller's protocol.
func errMessageTooLarge() error {
	return connectError(apierr.Spec{
		Code:    codes.ResourceExhausted,
		Message: fmt.Sprintf("request message larger than %d bytes after decompression", maxMessageBytes),
		Reason:  apierr.ReasonRequestTooLarge,
	})
}
