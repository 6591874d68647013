package server

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"

	"connectrpc.com/connect"
	"google.golang.org/grpc/codes"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
)

// maxMessageBytes bounds one request message on both ports, after
// decompression: the gRPC server's receive limit and vanguard's gzip
// decompressor. The facade's requests are a few ids; as for metadata, 64 KiB
// leaves room enough, and it keeps what a gzip body can expand to small
// (grpc-go's default of 4 MiB let ten such requests at once take 160 MB).
const maxMessageBytes = 64 << 10

// maxBufferBytes bounds one message that vanguard buffers, request (before
// decompression) or response (reflection's descriptor sets are the largest):
// grpc-go's default message size.
const maxBufferBytes = 4 << 20

// boundedGzip is vanguard's gzip decompressor for requests: vanguard v0.4.0
// expands a message with no limit (docs/security.md), so this reader fails
// once one passes maxMessageBytes, with RESOURCE_EXHAUSTED.
type boundedGzip struct {
	gzip.Reader
	limited io.ReadCloser
}

// newBoundedGzip returns a decompressor for vanguard.WithCompression.
func newBoundedGzip() connect.Decompressor { return new(boundedGzip) }

// newGzipWriter returns vanguard's default gzip compressor.
func newGzipWriter() connect.Compressor { return gzip.NewWriter(io.Discard) }

// Reset implements connect.Decompressor.
func (d *boundedGzip) Reset(r io.Reader) error {
	d.limited = http.MaxBytesReader(nil, io.NopCloser(&d.Reader), maxMessageBytes)
	return d.Reader.Reset(r)
}

// Read implements io.Reader.
func (d *boundedGzip) Read(p []byte) (int, error) {
	n, err := d.limited.Read(p)
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return n, errMessageTooLarge()
	}
	return n, err
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
