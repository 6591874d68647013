package deploy

import (
	"regexp"
	"strconv"
	"testing"
)

// GOMEMLIMIT is read by the Go runtime, not by the server's flags; the
// ConfigMap sets it so that the garbage collector works harder before the
// container's memory limit is reached, and so that go_gc_gomemlimit_bytes
// (the MemoryNearLimit alert's denominator) is the real budget.
func init() { knownEnv["GOMEMLIMIT"] = true }

// goMemLimit parses a GOMEMLIMIT value ("115MiB"): a byte count with an
// optional B, KiB, MiB, GiB or TiB suffix, as the runtime reads it.
func goMemLimit(s string) (int64, bool) {
	m := regexp.MustCompile(`^([0-9]+)(B|KiB|MiB|GiB|TiB)?$`).FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, false
	}
	shift := map[string]uint{"": 0, "B": 0, "KiB": 10, "MiB": 20, "GiB": 30, "TiB": 40}[m[2]]
	return n << shift, true
}

// TestGOMEMLIMIT checks that the ConfigMap's GOMEMLIMIT leaves the runtime
// 80% to 95% of the container's memory limit: below it, so that the
// collector reacts before the OOM killer does, but not so far below that it
// runs all the time.
func TestGOMEMLIMIT(t *testing.T) {
	m := load(t)
	v, ok := m.configMaps[0].Data["GOMEMLIMIT"]
	if !ok {
		t.Fatal("the ConfigMap sets no GOMEMLIMIT")
	}
	soft, ok := goMemLimit(v)
	if !ok {
		t.Fatalf("GOMEMLIMIT %q is not a byte count such as 115MiB", v)
	}
	hard := m.deployments[0].Spec.Template.Spec.Containers[0].Resources.Limits.Memory().Value()
	if hard == 0 {
		t.Fatal("the container has no memory limit")
	}
	if r := float64(soft) / float64(hard); r < 0.8 || r > 0.95 {
		t.Errorf("GOMEMLIMIT %s is %.0f%% of the memory limit %d; want 80%% to 95%%", v, 100*r, hard)
	}
}
