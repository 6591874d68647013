package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
)

// syncBuffer is a bytes.Buffer that run's goroutine and the test may share;
// wrote gets a value after a write when none is pending.
type syncBuffer struct {
	mu    sync.Mutex
	b     bytes.Buffer
	wrote chan struct{}
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case s.wrote <- struct{}{}:
	default:
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRunFaultsAndEcho serves with every fault on every request (a status-only kind, so
// that each request gets an answer) and then with credential echo, and checks the
// start-up line and the summary printed on shutdown.
func TestRunFaultsAndEcho(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStatus int
		wantBody   string // contained in the body
		wantLog    []string
	}{
		{
			name:       "faults",
			args:       []string{"-fault-rate", "1", "-fault-seed", "9", "-fault-kinds", "rate-limited"},
			wantStatus: http.StatusTooManyRequests,
			wantBody:   `"statusCode":429`,
			wantLog:    []string{"fault rate 1 seed 9 kinds rate-limited", "sandbox: requests=3 faults=3 rate-limited=3\n"},
		},
		{
			name:       "echo",
			args:       []string{"-echo-credentials", "-idle-timeout", "1s"},
			wantStatus: http.StatusOK,
			wantBody:   `"internalIdentifier":"` + sandbox.CredentialFingerprint("Bearer "+sandbox.SampleToken, sandbox.SampleTenant) + `"`,
			wantLog:    []string{"(latency 0s, echoing credential fingerprints)", "sandbox: requests=3 faults=0\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			runCtx, stop := context.WithCancel(ctx)
			addr, stderr, done := startRun(runCtx, t, tt.args...)

			client := &http.Client{Transport: &http.Transport{}}
			defer client.CloseIdleConnections()
			for range 3 {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/v1/Resellers/"+sandbox.ContosoResellerID, nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer "+sandbox.SampleToken)
				req.Header.Set("X-Tenant", sandbox.SampleTenant)
				resp, err := client.Do(req)
				if err != nil {
					t.Fatalf("GET reseller: %v", err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tt.wantStatus || !strings.Contains(string(body), tt.wantBody) {
					t.Errorf("got %d %s, want %d with %s", resp.StatusCode, body, tt.wantStatus, tt.wantBody)
				}
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
			for _, want := range tt.wantLog {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
		})
	}
}
