// Package rest is the typed HTTP client for the CloudCockpit partner REST API.
//
// It owns everything that touches the upstream over HTTP: one shared, tuned
// transport (see NewTransport); request building, in which an id is always a
// single escaped path segment and query parameters are always url.Values
// encoded; forwarding exactly the caller's X-Tenant, Authorization and
// X-Correlation-Id headers (see CallInfo) and nothing else the caller sent;
// bounded reading of response bodies; tolerant decoding of the upstream's
// ASP.NET JSON (any property casing, nulls, unknown properties, the
// dictionary wrapper around offerTypeMargins); and turning every non-2xx
// answer into a typed *Error.
//
// The package knows nothing about gRPC. Mapping its errors to statuses is the
// service package's job; every error a Client method returns is wrapped with
// the operation ("get reseller ...: ...") and is one of:
//
//   - *Error when the upstream answered with a non-2xx status;
//   - *DecodeError when a 2xx body does not decode into the documented shape;
//   - *BodyTooLargeError when a 2xx body exceeds Config.MaxBodyBytes;
//   - ErrInvalidRequest when the arguments cannot form a safe request, in
//     which case nothing was sent;
//   - otherwise a transport error (connection refused, reset, TLS, ...), for
//     which errors.Is(err, context.DeadlineExceeded) and
//     errors.Is(err, context.Canceled) report the caller's deadline and
//     cancellation.
package rest
