package main

import (
	"io"
	"os"
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
