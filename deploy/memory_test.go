package deploy

import (
	"math"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// GOMEMLIMIT is read by the Go runtime, not by the server's flags; the
// ConfigMap sets it so that the garbage collector works harder before the
// container's memory limit is reached, and so that go_gc_gomemlimit_bytes
// (the MemoryNearLimit alert's denominator) is the real budget.
func init() { knownEnv["GOMEMLIMIT"] = true; knownEnv["GOMAXPROCS"] = true }

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

// sizedProcs is the GOMAXPROCS the memory figures of the docs were measured
// at (docs/performance.md: 2 CPUs). Memory grows with it: with the
// ConfigMap's settings, a full stale store and 256 callers each with a token
// of its own, the peak RSS was 84 to 87 MiB at GOMAXPROCS 2, 103 to 106 MiB at
// 8 and 105 to 120 MiB at 16 (docs/deployment.md, "Memory and CPUs"): past
// GOMEMLIMIT, near the 128Mi limit.
const sizedProcs = 2

// TestGOMAXPROCS checks that the Go runtime runs at most sizedProcs Ps. Go
// (1.25 and later) takes GOMAXPROCS from the container's CPU limit; without
// one it takes every CPU of the node, so then the ConfigMap must set it.
func TestGOMAXPROCS(t *testing.T) {
	m := load(t)
	c := m.deployments[0].Spec.Template.Spec.Containers[0]
	procs := 0
	if v, ok := m.configMaps[0].Data["GOMAXPROCS"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("GOMAXPROCS %q is not a whole number of at least 1", v)
		}
		procs = n
	} else if lim := c.Resources.Limits.Cpu(); !lim.IsZero() {
		procs = int(math.Ceil(lim.AsApproximateFloat64()))
	}
	switch {
	case procs == 0:
		t.Fatalf("the container has no CPU limit and the ConfigMap sets no GOMAXPROCS: the runtime would run as many Ps as the node has CPUs, and the memory limit is sized for %d", sizedProcs)
	case procs > sizedProcs:
		t.Errorf("GOMAXPROCS is %d; the memory limit is sized for %d (docs/performance.md)", procs, sizedProcs)
	case float64(procs) < c.Resources.Requests.Cpu().AsApproximateFloat64():
		t.Errorf("GOMAXPROCS %d is below the CPU request %v: the pod could not use what it asks for", procs, c.Resources.Requests.Cpu())
	}
}

// peakMiB is the facade's peak RSS at 256 callers, each with a token (and so
// an upstream connection) of its own, without a stale store
// (docs/configuration.md, docs/performance.md).
const peakMiB = 51

// TestMemoryRequest checks that the memory request covers what the pod uses
// with the ConfigMap's settings, as docs/configuration.md reckons it: the
// benchmark's peak, plus, with STALE_IF_ERROR on, a full stale store and the
// garbage collector's headroom over it (as much again). A pod that uses more
// than it requests is the first the kubelet evicts when the node runs short.
func TestMemoryRequest(t *testing.T) {
	m := load(t)
	cm := m.configMaps[0].Data
	want := int64(peakMiB) << 20
	if v := cm["STALE_IF_ERROR"]; v != "" {
		if d, err := time.ParseDuration(v); err != nil || d > 0 {
			store := int64(16 << 20) // the default of -stale-cache-max-bytes
			if s := cm["STALE_CACHE_MAX_BYTES"]; s != "" {
				n, err := strconv.ParseInt(s, 10, 64)
				if err != nil {
					t.Fatalf("STALE_CACHE_MAX_BYTES %q: %v", s, err)
				}
				store = n
			}
			want += 2 * store
		}
	}
	req := m.deployments[0].Spec.Template.Spec.Containers[0].Resources.Requests.Memory()
	if req.Value() < want {
		t.Errorf("memory request %v is below the %d MiB the pod uses at 256 callers with the ConfigMap's settings (%d MiB, plus twice STALE_CACHE_MAX_BYTES with STALE_IF_ERROR on)", req, want>>20, peakMiB)
	}
}
