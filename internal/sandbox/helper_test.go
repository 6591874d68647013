package sandbox_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
)

// testTimeout bounds every request a test makes.
const testTimeout = 10 * time.Second

const (
	testCID    = "0d6f3c1e-5b7a-4e2c-9f10-3a4b5c6d7e8f"
	testTenant = sandbox.SampleTenant
	testAuth   = "Bearer " + sandbox.SampleToken
)

// result is what a test looks at in an answer.
type result struct {
	status int
	header http.Header
	body   []byte
}

// envelope mirrors the upstream's error body for decoding in tests.
type envelope struct {
	StatusCode    int          `json:"statusCode"`
	Type          string       `json:"type"`
	Description   string       `json:"description"`
	CorrelationID string       `json:"correlationId"`
	Errors        []fieldError `json:"errors"`
}

type fieldError struct {
	PropertyName string   `json:"propertyName"`
	Description  []string `json:"description"`
}

// startServer serves s (a new default Server when nil) on a loopback httptest.Server.
func startServer(t *testing.T, s *sandbox.Server) (*sandbox.Server, *httptest.Server) {
	t.Helper()
	if s == nil {
		s = sandbox.New()
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

// validHeader returns the headers of a well-formed request, with the test correlation id.
func validHeader() http.Header {
	return http.Header{
		"Authorization":    {testAuth},
		"X-Tenant":         {testTenant},
		"X-Correlation-Id": {testCID},
	}
}

// do sends one request and reads the whole answer.
func do(t *testing.T, ts *httptest.Server, method, target string, header http.Header) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, ts.URL+target, nil)
	if err != nil {
		t.Fatalf("NewRequest(%s %s): %v", method, target, err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, target, err)
	}
	return result{status: resp.StatusCode, header: resp.Header, body: body}
}

// decodeEnvelope decodes an error answer, failing the test if it is not an envelope.
func decodeEnvelope(t *testing.T, res result) envelope {
	t.Helper()
	if got, want := res.header.Get("Content-Type"), "application/json; charset=utf-8"; got != want {
		t.Errorf("Content-Type = %q, want %q", got, want)
	}
	var env envelope
	if err := json.Unmarshal(res.body, &env); err != nil {
		t.Fatalf("body %q is not an envelope: %v", res.body, err)
	}
	return env
}
