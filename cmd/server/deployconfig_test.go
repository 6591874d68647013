package main

import (
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/server"
)

// goRuntimeEnv are the variables the Go runtime reads itself, which the
// ConfigMap may set beside the server's settings.
var goRuntimeEnv = map[string]bool{"GOMEMLIMIT": true, "GOMAXPROCS": true, "GOGC": true, "GODEBUG": true}

// TestDeployConfigMapParses checks deploy/configmap.yaml against the
// command: every key is a setting's variable (or the Go runtime's), and the
// values, read as the container reads them, make a configuration that
// parses and validates.
func TestDeployConfigMapParses(t *testing.T) {
	b, err := os.ReadFile("../../deploy/configmap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	data := map[string]string{}
	inData := false
	for line := range strings.SplitSeq(string(b), "\n") {
		switch {
		case line == "data:":
			inData = true
		case inData && strings.HasPrefix(line, "  ") && !strings.HasPrefix(strings.TrimSpace(line), "#"):
			k, v, ok := strings.Cut(strings.TrimSpace(line), ": ")
			if u, err := strconv.Unquote(v); err == nil {
				v = u
			}
			if !ok || v == "" {
				t.Fatalf("deploy/configmap.yaml: cannot read %q", line)
			}
			data[k] = v
		case inData && line != "" && !strings.HasPrefix(line, " "):
			inData = false
		}
	}
	if len(data) == 0 {
		t.Fatal("deploy/configmap.yaml: no data")
	}
	cfg, cli := server.DefaultConfig(), cliDefaults
	known := map[string]bool{}
	for _, s := range settings(&cfg, &cli) {
		known[s.env] = true
	}
	for k := range data {
		if !known[k] && !goRuntimeEnv[k] {
			t.Errorf("deploy/configmap.yaml sets %s, which is no setting's variable (-h)", k)
		}
	}
	got, _, err := parseConfig(nil, func(k string) string { return data[k] }, io.Discard)
	if err != nil {
		t.Fatalf("the ConfigMap's values do not parse: %v", err)
	}
	if got.ShutdownDelay.String() != "5s" || got.ShutdownTimeout.String() != "20s" || got.StaleIfError.String() != "5m0s" {
		t.Errorf("the ConfigMap's shutdown and stale settings read as %v, %v, %v; docs/deployment.md says 5s, 20s and 5m",
			got.ShutdownDelay, got.ShutdownTimeout, got.StaleIfError)
	}
}

// TestDockerfile checks the Dockerfile against the command and the docs: the
// variables it sets are settings' and parse, it exposes the ports they
// listen on, its HEALTHCHECK probes the gRPC one, and the grpc-health-probe
// it installs is the version the Makefile installs and docs/deployment.md names.
func TestDockerfile(t *testing.T) {
	read := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	df := read("../../Dockerfile")
	env := map[string]string{}
	var expose []string
	for line := range strings.Lines(df) {
		switch f := strings.Fields(line); {
		case len(f) > 1 && f[0] == "ENV" && strings.Contains(f[1], "="):
			for _, kv := range f[1:] {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
		case len(f) > 1 && f[0] == "EXPOSE":
			expose = f[1:]
		}
	}
	cfg, cli := server.DefaultConfig(), cliDefaults
	known := map[string]bool{"GOFLAGS": true} // the build stage's
	for _, s := range settings(&cfg, &cli) {
		known[s.env] = true
	}
	for k := range env {
		if !known[k] && !goRuntimeEnv[k] {
			t.Errorf("the Dockerfile sets %s, which is no setting's variable (-h)", k)
		}
	}
	env["SANDBOX"] = "true" // the production upstream needs no flag; the sandbox keeps the check offline
	got, _, err := parseConfig(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatalf("the Dockerfile's ENV does not parse: %v", err)
	}
	port := func(addr string) string { return addr[strings.LastIndex(addr, ":")+1:] }
	if want := []string{port(got.GRPCAddr), port(got.HTTPAddr)}; !slices.Equal(expose, want) {
		t.Errorf("the Dockerfile exposes %v; the server listens on %v (gRPC, HTTP)", expose, want)
	}
	if m := regexp.MustCompile(`HEALTHCHECK[^\n]*\n?[^\n]*"-addr=127\.0\.0\.1:(\d+)"`).FindStringSubmatch(df); m == nil || m[1] != port(got.GRPCAddr) {
		t.Errorf("the Dockerfile's HEALTHCHECK probes %v, want the gRPC port %s", m, port(got.GRPCAddr))
	}
	probe := regexp.MustCompile(`grpc-health-probe@(v[0-9.]+)`)
	versions := map[string]string{}
	for _, path := range []string{"../../Dockerfile", "../../Makefile"} {
		if m := probe.FindStringSubmatch(read(path)); m != nil {
			versions[path] = m[1]
		}
	}
	if m := regexp.MustCompile("`grpc_health_probe`\\s+\\((v[0-9.]+)\\)").FindStringSubmatch(read("../../docs/deployment.md")); m != nil {
		versions["docs/deployment.md"] = m[1]
	}
	if len(versions) != 3 || versions["../../Makefile"] != versions["../../Dockerfile"] || versions["docs/deployment.md"] != versions["../../Dockerfile"] {
		t.Errorf("grpc-health-probe versions differ or are missing: %v", versions)
	}
}
