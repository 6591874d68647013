package rest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
)

// Cause is the category of a failure to get an answer from the upstream.
// It is safe to show callers and to use as a metric label: it never holds an
// address, a host name or any other part of the error's text.
type Cause string

// The categories CauseOf tells apart.
const (
	// CauseDNS: the upstream's host name did not resolve.
	CauseDNS Cause = "dns"
	// CauseRefused: nothing listens at the upstream's address (ECONNREFUSED).
	CauseRefused Cause = "refused"
	// CauseReset: the connection was reset or broken (ECONNRESET, EPIPE).
	CauseReset Cause = "reset"
	// CauseClosed: the upstream closed the connection before answering.
	CauseClosed Cause = "closed"
	// CauseTLS: the TLS handshake failed (certificate not trusted, wrong
	// host name, an upstream that does not speak TLS...).
	CauseTLS Cause = "tls"
	// CauseTimeout: no answer in time (attempt timeout, the client's own
	// timeout, a dial or read deadline).
	CauseTimeout Cause = "timeout"
	// CauseNetwork: any other failure to reach the upstream (no route to
	// the host, network unreachable, ...).
	CauseNetwork Cause = "network"
)

// CauseOf classifies the error of an upstream call that got no answer. It
// returns "" for nil and for errors that are not about reaching the
// upstream: an upstream answer (*Error), a body that does not decode or is
// too large, a call refused locally (circuit breaker, concurrency limit,
// invalid request) or cancelled by its caller.
func CauseOf(err error) Cause {
	var (
		restErr     *Error
		decodeErr   *DecodeError
		tooLarge    *BodyTooLargeError
		circuitOpen *CircuitOpenError
		overLimit   *ConcurrencyLimitError
		dnsErr      *net.DNSError
		netErr      net.Error
	)
	switch {
	case err == nil,
		errors.As(err, &restErr), errors.As(err, &decodeErr), errors.As(err, &tooLarge),
		errors.As(err, &circuitOpen), errors.As(err, &overLimit),
		errors.Is(err, ErrInvalidRequest), errors.Is(err, context.Canceled):
		return ""
	case errors.Is(err, ErrAttemptTimeout), errors.Is(err, context.DeadlineExceeded):
		return CauseTimeout
	case errors.As(err, &dnsErr):
		if dnsErr.IsTimeout {
			return CauseTimeout
		}
		return CauseDNS
	case errors.Is(err, syscall.ECONNREFUSED):
		return CauseRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED):
		return CauseReset
	case isTLS(err):
		return CauseTLS
	case errors.As(err, &netErr) && netErr.Timeout():
		return CauseTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return CauseClosed
	}
	return CauseNetwork
}

// isTLS reports whether err comes from a TLS handshake.
func isTLS(err error) bool {
	var (
		recordErr   tls.RecordHeaderError
		alertErr    tls.AlertError
		verifyErr   *tls.CertificateVerificationError
		unknownCA   x509.UnknownAuthorityError
		hostnameErr x509.HostnameError
		invalidErr  x509.CertificateInvalidError
	)
	if errors.As(err, &recordErr) || errors.As(err, &alertErr) || errors.As(err, &verifyErr) ||
		errors.As(err, &unknownCA) || errors.As(err, &hostnameErr) || errors.As(err, &invalidErr) {
		return true
	}
	// net/http reports a plain-HTTP answer to a TLS client, and some
	// handshake failures, as text only.
	msg := err.Error()
	return strings.Contains(msg, "server gave HTTP response to HTTPS client") || strings.Contains(msg, "tls: ")
}
