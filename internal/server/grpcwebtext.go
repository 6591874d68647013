package server

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strings"

	"connectrpc.com/connect"
)

// gRPC-Web's text form is binary gRPC-Web in base64, which vanguard v0.4.0
// does not serve: the facade translates in front of it (docs/browsers.md).
const (
	grpcWebTextType = "application/grpc-web-text"
	grpcWebType     = "application/grpc-web"
)

// errorWriter writes an error in the protocol of a request's content type.
var errorWriter = connect.NewErrorWriter()

// grpcWebText makes r, a gRPC-Web text call, binary gRPC-Web: its body decoded,
// bounded by one message's text, and returns w base64-encoding the answer.
func grpcWebText(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, error) {
	_, codec, _ := strings.Cut(r.Header.Get("Content-Type"), "+")
	r.Header.Set("Content-Type", grpcWebType+"+"+cmp.Or(codec, "proto"))
	text, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(base64.StdEncoding.EncodedLen(5+maxMessageBytes))))
	var body []byte
	if err == nil {
		body, err = decodeBase64Segments(text)
	}
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	r.Header.Del("Content-Length")
	return &grpcWebTextWriter{wrappedWriter: wrappedWriter{w}}, grpcWebTextError(err)
}

// grpcWebTextError is the status for a text body that did not read or decode.
func grpcWebTextError(err error) error {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return errMessageTooLarge()
	}
	if _, ok := errors.AsType[base64.CorruptInputError](err); ok {
		return invalidRequest("the gRPC-Web text request body is not padded base64: " + err.Error())
	}
	if err != nil {
		return connect.NewError(connect.CodeCanceled, err) // the body did not arrive
	}
	return nil
}

// decodeBase64Segments decodes src, padded standard base64 that may be
// several segments one after the other, each with its own padding: the
// gRPC-Web spec lets a sender flush a padded chunk at any point.
func decodeBase64Segments(src []byte) ([]byte, error) {
	dst := make([]byte, 0, base64.StdEncoding.DecodedLen(len(src)))
	for offset := 0; offset < len(src); {
		end := len(src)
		if i := bytes.IndexByte(src[offset:], '='); i >= 0 { // the segment ends after its padding
			end -= len(bytes.TrimLeft(src[offset+i:], "="))
		}
		var err error
		if dst, err = base64.StdEncoding.AppendDecode(dst, src[offset:end]); err != nil {
			corrupt, _ := errors.AsType[base64.CorruptInputError](err) // the only error it returns
			return nil, corrupt + base64.CorruptInputError(offset)     // where in the whole body
		}
		offset = end
	}
	return dst, nil
}

// grpcWebTextWriter base64-encodes a gRPC-Web answer and labels it
// application/grpc-web-text; any other (vanguard's text/plain refusals, the
// mirror's 404) passes as it is. Each Write is one padded segment, so that a
// flush never waits for the bytes that would complete a 3-byte group.
type grpcWebTextWriter struct {
	wrappedWriter
	wroteHeader, text bool // text: a gRPC-Web answer
}

// WriteHeader implements http.ResponseWriter: a gRPC-Web answer's content
// type names the text form, and its length changes.
func (t *grpcWebTextWriter) WriteHeader(code int) {
	if h := t.Header(); !t.wroteHeader && isType(h.Get("Content-Type"), grpcWebType) {
		t.text = true
		h.Set("Content-Type", grpcWebTextType+strings.TrimPrefix(h.Get("Content-Type"), grpcWebType))
		h.Del("Content-Length")
	}
	t.wroteHeader = true
	t.ResponseWriter.WriteHeader(code)
}

func (t *grpcWebTextWriter) Write(p []byte) (int, error) {
	if !t.wroteHeader {
		t.WriteHeader(http.StatusOK)
	}
	if !t.text {
		return t.ResponseWriter.Write(p)
	}
	if _, err := t.ResponseWriter.Write(base64.StdEncoding.AppendEncode(nil, p)); err != nil {
		return 0, err
	}
	return len(p), nil
}
