package rest

import (
	"context"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// attemptCount returns how many upstream attempts the call that returned err
// made, at least 1.
func attemptCount(err error) int {
	if err == nil {
		return 1
	}
	return max(AsError(context.Background(), err).Attempts, 1)
}
