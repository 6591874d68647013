package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
)

// get sends GET url with the sandbox's credentials.
func get(ctx context.Context, url string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+sandbox.SampleToken)
	req.Header.Set("X-Tenant", sandbox.SampleTenant)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// TestServeHTTP drives the HTTP listener of the assembled server with the
// embedded sandbox: the REST mirror, the OpenAPI document and the probes.
func TestServeHTTP(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Sandbox, cfg.StartSandbox = true, sandbox.Start
	base := serveOnLoopback(t, cfg).httpURL
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	tests := []struct {
		path       string
		wantStatus int
		check      func(t *testing.T, body []byte)
	}{
		{path: "/v1/Resellers/" + sandbox.ContosoResellerID, wantStatus: 200, check: func(t *testing.T, body []byte) {
			var r struct{ CompanyName string }
			if err := json.Unmarshal(body, &r); err != nil || r.CompanyName == "" {
				t.Errorf("reseller body %s: %v", body, err)
			}
		}},
		{path: "/v1/Customers/relationship-acceptance?providerInstanceId=" + sandbox.SpecProviderInstanceID, wantStatus: 200, check: func(t *testing.T, body []byte) {
			var link string
			if err := json.Unmarshal(body, &link); err != nil || link == "" {
				t.Errorf("link body %s: %v", body, err)
			}
		}},
		{path: "/v1/Resellers/" + sandbox.UnknownResellerID, wantStatus: 404},
		{path: "/v1/Nope", wantStatus: 404},
		{path: "/openapi.json", wantStatus: 200},
		{path: "/openapi.v3.json", wantStatus: 200},
		{path: "/healthz", wantStatus: 200},
		{path: "/readyz", wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body, err := get(ctx, base+tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			if got := resp.Header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", got)
			}
			// Answers are the caller's, the OpenAPI documents everyone's.
			wantCache := map[string]string{"/healthz": "no-store", "/readyz": "no-store"}[tt.path]
			if wantCache == "" && strings.HasPrefix(tt.path, "/v1/") {
				wantCache = "private, no-store"
			}
			if got := resp.Header.Get("Cache-Control"); got != wantCache {
				t.Errorf("Cache-Control = %q, want %q", got, wantCache)
			}
			if tt.check != nil {
				tt.check(t, body)
			}
		})
	}
}

// TestShutdownDrainsREST: a REST call in flight when the server is told to
// stop still gets its answer (the HTTP side drains before the in-process gRPC
// connection closes), and Serve returns nil.
func TestShutdownDrainsREST(t *testing.T) {
	arrived := make(chan struct{})
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"`+sandbox.ContosoResellerID+`","companyName":"Contoso"}`)
	}))
	defer up.Close()

	cfg := DefaultConfig()
	cfg.Upstream.BaseURL = up.URL
	srv := serveOnLoopback(t, cfg)
	base := srv.httpURL

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, _, err := get(ctx, base+"/v1/Resellers/"+sandbox.ContosoResellerID)
		if err != nil {
			done <- result{err: err}
			return
		}
		done <- result{status: resp.StatusCode}
	}()
	select {
	case <-arrived:
	case <-ctx.Done():
		t.Fatal("the call did not reach the upstream")
	}
	srv.stop()
	select {
	case <-srv.httpClosed: // the shutdown has begun while the call waits
	case <-ctx.Done():
		t.Fatal("the HTTP listener was not closed")
	}
	close(release)
	if r := <-done; r.err != nil || r.status != http.StatusOK {
		t.Errorf("in-flight call: status %d, error %v; want 200", r.status, r.err)
	}
	if err := srv.wait(); err != nil {
		t.Errorf("Serve = %v, want nil", err)
	}
}

// TestMetricsOnlyForGetAndHead: /metrics serves Prometheus' GET (and HEAD)
// only; any other method goes the API's way (admission, CORS, the mirror's
// error), so that a page's POST, which browsers send without a preflight, never
// reads the metrics.
func TestMetricsOnlyForGetAndHead(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Upstream.BaseURL, cfg.UpstreamURLSet = "http://127.0.0.1:1", true
	s := serveOnLoopback(t, cfg)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		req, err := http.NewRequestWithContext(t.Context(), method, s.httpURL+"/metrics", strings.NewReader(""))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		served := resp.StatusCode == http.StatusOK && strings.Contains(string(body), "# HELP")
		if served != (method == http.MethodGet) {
			t.Errorf("%s /metrics: %s, metrics served %v; want them served to GET only", method, resp.Status, served)
		}
	}
}
