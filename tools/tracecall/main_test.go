package main

import (
	"io"
	"os"
	"path/filepath"
	"runtime/trace"
	"strings"
	"testing"
)

// TestNoCalls checks that a trace without gRPC calls is refused with a
// message that says what was expected, not a table of nothing.
func TestNoCalls(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trace.out")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := trace.Start(f); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { close(done) }()
	<-done
	trace.Stop()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	err = run(path, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "0 calls found") {
		t.Errorf("run on a trace without calls: %v, want a \"0 calls found\" error", err)
	}
}
