package service

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves goroutines behind: gRPC
// servers, client connections, upstream HTTP servers and their connections
// must all be closed by the tests that start them.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
