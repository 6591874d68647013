// Package server assembles the facade: the gRPC server with its interceptors,
// health and reflection services, the upstream client (or the embedded
// sandbox), and the HTTP listener. Run starts everything and stops it
// gracefully when its context ends.
package server
