package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// startRun runs run with args on a free loopback port and a port file, and
// returns the address it serves on, its stderr and the channel its error
// comes on. It waits for the start-up line, which run writes once the port
// file is written, at most until ctx ends.
func startRun(ctx context.Context, t *testing.T, args ...string) (string, *syncBuffer, <-chan error) {
	t.Helper()
	portFile := filepath.Join(t.TempDir(), "sandbox.addr")
	stderr := &syncBuffer{wrote: make(chan struct{}, 1)}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"-addr", "127.0.0.1:0", "-port-file", portFile}, args...), stderr)
	}()
	select {
	case err := <-done:
		t.Fatalf("run returned early: %v (%s)", err, stderr.String())
	case <-ctx.Done():
		t.Fatal("run did not start before the test's deadline")
	case <-stderr.wrote:
	}
	addr, err := os.ReadFile(portFile)
	if err != nil {
		t.Fatalf("%v (%s)", err, stderr.String())
	}
	return string(addr), stderr, done
}

func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	addr, _, done := startRun(runCtx, t, "-latency", "1ms")

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/v1/Resellers/"+sandbox.ContosoResellerID, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+sandbox.SampleToken)
	req.Header.Set("X-Tenant", sandbox.SampleTenant)
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET reseller: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status = %d, want 200", resp.StatusCode)
	}

	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run after cancel = %v, want nil", err)
		}
	case <-ctx.Done():
		t.Fatal("run did not return after its context was cancelled")
	}
}

func TestRunErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr error  // matched with errors.Is, when set
		wantMsg string // contained in the error, when set
	}{
		{name: "help", args: []string{"-h"}, wantErr: flag.ErrHelp},
		{name: "unknown flag", args: []string{"-nope"}, wantErr: errUsage},
		{name: "bad duration", args: []string{"-latency", "soon"}, wantErr: errUsage},
		{name: "stray argument", args: []string{"serve"}, wantErr: errUsage},
		{name: "negative latency", args: []string{"-latency", "-1s"}, wantMsg: "must not be negative"},
		{name: "fault rate above one", args: []string{"-fault-rate", "1.5"}, wantMsg: "-fault-rate 1.5: must be between 0 and 1"},
		{name: "negative fault rate", args: []string{"-fault-rate", "-0.1"}, wantMsg: "must be between 0 and 1"},
		{name: "NaN fault rate", args: []string{"-fault-rate", "NaN"}, wantMsg: "must be between 0 and 1"},
		{name: "bad fault seed", args: []string{"-fault-seed", "x"}, wantErr: errUsage},
		{name: "unknown fault kind", args: []string{"-fault-kinds", "timeout"}, wantMsg: `-fault-kinds: unknown fault kind "timeout"`},
		{name: "zero idle timeout", args: []string{"-idle-timeout", "0s"}, wantMsg: "-idle-timeout 0s: must be positive"},
		{name: "certificate without key", args: []string{"-tls-cert", "c.pem"}, wantMsg: "-tls-cert and -tls-key go together"},
		{name: "unreadable certificate", args: []string{"-addr", "127.0.0.1:0", "-tls-cert", "missing.pem", "-tls-key", "missing.pem"}, wantMsg: "serve:"},
		{name: "bad address", args: []string{"-addr", "256.0.0.1:http-nope"}, wantMsg: "listen:"},
		{name: "unwritable port file", args: []string{"-addr", "127.0.0.1:0", "-port-file", filepath.Join(t.TempDir(), "missing", "addr")}, wantMsg: "write port file:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			err := run(ctx, tt.args, io.Discard)
			if err == nil {
				t.Fatal("run = nil, want an error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("run = %v, want %v", err, tt.wantErr)
			}
			if tt.wantMsg != "" && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("run = %v, want it to contain %q", err, tt.wantMsg)
			}
		})
	}
}
