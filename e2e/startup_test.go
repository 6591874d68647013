//go:build e2e

package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// logLines decodes the server's JSON log lines.
func logLines(t *testing.T, log string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(log, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// TestStartupNamesTheUpstream checks what the start-up log says about the
// upstream: the sandbox as such, and a warning when the production API is
// used only because nothing else was set. (No call is made, so the
// production API is never contacted.) It also checks that the shutdown line
// writes its durations as durations.
func TestStartupNamesTheUpstream(t *testing.T) {
	t.Run("sandbox", func(t *testing.T) {
		p := start(t, "-sandbox", "-shutdown-timeout", "3s")
		var listening map[string]any
		for _, l := range logLines(t, p.logWith(`"msg":"cloudcockpit-facade listening"`)) {
			if l["level"] == "WARN" {
				t.Errorf("warning with -sandbox: %v", l)
			}
			if l["msg"] == "cloudcockpit-facade listening" {
				listening = l
			}
		}
		if listening == nil || listening["sandbox"] != true || !strings.HasPrefix(listening["upstream"].(string), "http://127.0.0.1:") {
			t.Errorf("listening line = %v, want the sandbox's loopback upstream and \"sandbox\":true", listening)
		}
		p.stop(t)
		var shutdown map[string]any
		for _, l := range logLines(t, p.log.String()) {
			if l["msg"] == "shutting down" {
				shutdown = l
			}
		}
		if shutdown == nil || shutdown["drain_timeout"] != "3s" || shutdown["delay"] != "0s" {
			t.Errorf("shutdown line = %v, want \"delay\":\"0s\" and \"drain_timeout\":\"3s\"", shutdown)
		}
	})
	t.Run("production by default", func(t *testing.T) {
		p := start(t)
		var warned bool
		for _, l := range logLines(t, p.logWith("PRODUCTION")) {
			msg, _ := l["msg"].(string)
			if l["level"] == "WARN" && strings.Contains(msg, "PRODUCTION") && strings.Contains(msg, "-sandbox") &&
				l["upstream"] == "https://app-cloudcockpitapi-prod-01.azurewebsites.net" {
				warned = true
			}
		}
		if !warned {
			t.Errorf("no warning that the production API is used:\n%s", p.log.String())
		}
	})
}
