//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRESTConnectionStack checks, on the built binary, that a REST
// connection left open after a call holds a goroutine stack of at most
// 16 KB: the mirror runs each call on net/http's connection goroutine,
// whose stack keeps the size its deepest call needed, and one byte over
// 16 KB doubles it to 32 KB for as long as the connection lives
// (docs/performance.md#memory). The calls cover the sandbox's resellers
// (Contoso's, with every field, decodes deepest), an unknown one (the
// upstream's 404) and an acceptance link. GOGC=off keeps the collector from
// shrinking stacks between the calls and the reading.
func TestRESTConnectionStack(t *testing.T) {
	t.Setenv("GOGC", "off") // for the server process only: this one has started
	p := start(t, "-sandbox")
	paths := []string{
		"/v1/Resellers/" + contoso,
		"/v1/Resellers/" + fabrikam,
		"/v1/Resellers/33333333-3333-4333-8333-333333333333", // Northwind: PascalCase names
		"/v1/Resellers/44444444-4444-4444-8444-444444444444", // Adatum: boundary margins
		"/v1/Resellers/55555555-5555-4555-8555-555555555555", // Litware: non-ASCII text
		"/v1/Resellers/" + unknown,
		"/v1/Customers/relationship-acceptance?providerInstanceId=" + instance,
	}
	call := func(c *http.Client, i int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		path := paths[i%len(paths)]
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.http+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		// A token per call: no call shares another's upstream request.
		req.Header.Set("Authorization", "Bearer stack-probe-"+strconv.Itoa(i))
		req.Header.Set("X-Tenant", tenant)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if want := http.StatusOK; path == paths[5] {
			if resp.StatusCode != http.StatusNotFound {
				t.Fatalf("GET %s: %d, want 404", path, resp.StatusCode)
			}
		} else if resp.StatusCode != want {
			t.Fatalf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	// Once per process, the JSON library builds its decoders on first use,
	// deeper than any call after: not what a connection costs.
	for i := range paths {
		call(http.DefaultClient, i)
	}

	metrics := &http.Client{Transport: &http.Transport{}} // one connection for both readings
	defer metrics.CloseIdleConnections()
	before := stackInUse(t, metrics, p.http)
	const conns = 63
	transports := make([]*http.Transport, conns)
	for i := range transports {
		transports[i] = &http.Transport{}
		call(&http.Client{Transport: transports[i]}, i)
	}
	after := stackInUse(t, metrics, p.http)
	for _, tr := range transports {
		tr.CloseIdleConnections()
	}
	per := float64(after-before) / conns / 1024
	t.Logf("stacks in use: %d KiB before, %d KiB after %d connections with a call each: %.1f KiB per connection", before>>10, after>>10, conns, per)
	// 16 KB when every call fits; 32 KB when one kind of call in seven does not
	// would be 18.3 on average.
	if per > 18 {
		t.Errorf("%.1f KiB of goroutine stack per idle REST connection, want at most 18 (16 KB stacks): a call's stack has grown past 16 KB", per)
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
