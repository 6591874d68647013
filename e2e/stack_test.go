//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRESTConnectionStack checks, on the built binary, that a REST
// connection left open after a call holds a goroutine stack of at most
// 16 KB: the mirror runs each call on net/http's connection goroutine,
// whose stack keeps the size its deepest call needed, and one byte over
// 16 KB doubles it to 32 KB for as long as the connection lives
// (docs/performance.md#memory). Each kind of call (the sandbox's resellers,
// Contoso's decoding deepest, an unknown one, an acceptance link) gets 16
// connections of its own, all kept open, so that no stack is reused; the
// stack they add is 16 KB each, or 32. Every call has the same token, so
// that the upstream connection is the same one (rest.Pools gives each token
// its own, whose goroutines' stacks would count too); calls one after
// another never share an upstream request. GOGC=off keeps the collector from
// shrinking stacks between the calls and the readings.
func TestRESTConnectionStack(t *testing.T) {
	t.Setenv("GOGC", "off") // for the server process only: this one has started
	p := start(t, "-sandbox")
	paths := []string{
		"/v1/Resellers/" + contoso,
		"/v1/Resellers/" + fabrikam,
		"/v1/Resellers/33333333-3333-4333-8333-333333333333", // Northwind: PascalCase names
		"/v1/Resellers/44444444-4444-4444-8444-444444444444", // Adatum: boundary margins
		"/v1/Resellers/55555555-5555-4555-8555-555555555555", // Litware: non-ASCII text
		"/v1/Resellers/" + unknown,                           // the upstream's 404
		"/v1/Customers/relationship-acceptance?providerInstanceId=" + instance,
	}
	call := func(c *http.Client, path string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.http+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", token)
		req.Header.Set("X-Tenant", tenant)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if want := http.StatusOK; (resp.StatusCode == want) == strings.Contains(path, unknown) {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
	}
	// Once per process, the JSON library builds its decoders on first use,
	// deeper than any call after: not what a connection costs.
	for _, path := range paths {
		call(http.DefaultClient, path)
	}

	metrics := &http.Client{Transport: &http.Transport{}} // one connection for every reading
	defer metrics.CloseIdleConnections()
	const conns = 16 // per kind: 7 × 16 stay within -max-connections (128)
	var transports []*http.Transport
	client := func() *http.Client {
		tr := &http.Transport{}
		transports = append(transports, tr)
		return &http.Client{Transport: tr}
	}
	defer func() {
		for _, tr := range transports {
			tr.CloseIdleConnections()
		}
	}()
	for _, path := range paths {
		before := stackInUse(t, metrics, p.http)
		for range conns {
			call(client(), path)
		}
		per := float64(stackInUse(t, metrics, p.http)-before) / conns / 1024
		t.Logf("%s: %.1f KiB of stack per connection", path, per)
		if per > 24 {
			t.Errorf("GET %s: %.1f KiB of goroutine stack per idle REST connection, want 16 (at most 24): the call's stack has grown past 16 KB", path, per)
		}
	}
}

// stackInUse reads go_memstats_stack_inuse_bytes from the server's /metrics.
func stackInUse(t *testing.T, c *http.Client, addr string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_memstats_stack_inuse_bytes "); ok {
			var f float64
			if _, err := fmt.Sscan(v, &f); err != nil {
				t.Fatalf("go_memstats_stack_inuse_bytes %q: %v", v, err)
			}
			return int64(f)
		}
	}
	t.Fatalf("no go_memstats_stack_inuse_bytes in /metrics (%v)", sc.Err())
	return 0
}
