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

// binaryPagesMiB is what the container's memory cgroup is charged for the
// binary's own pages (its text and data, read from the image) at rest: the Go
// runtime's GOMEMLIMIT does not count them, the container's limit does
// (memory.stat "cache", "file" in cgroup v2, a facade started cold in a
// memory cgroup: docs/load.md, "Every flood at once").
const binaryPagesMiB = 31

// overshootMiB is room for the heap past GOMEMLIMIT when the collector,
// capped at half the CPU, falls behind: under every flood at once the
// facade's cgroup peaked at 140 to 155 MiB, up to 9 MiB past GOMEMLIMIT and
// the binary's pages, on 2 CPUs shared with the attack (docs/load.md); the
// rest is a margin for machines where it gets less.
const overshootMiB = 30

// TestGOMEMLIMIT checks that the ConfigMap's GOMEMLIMIT leaves, under the
// container's memory limit, room for the binary's pages and overshootMiB, so
// that a heap at GOMEMLIMIT fits in the container: with 13 MiB (115MiB under
// 128Mi) a flood left the facade paging its own code in and out, serving
// nothing, long after the flood ended. And that it is over what the pod uses
// at its busiest (the memory request's reckoning, TestMemoryRequest), so
// that the collector does not run all the time.
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
	if room := (hard - soft) >> 20; room < binaryPagesMiB+overshootMiB {
		t.Errorf("GOMEMLIMIT %s leaves %d MiB under the memory limit %d MiB; want at least %d (the binary's pages and the heap past GOMEMLIMIT under a flood)", v, room, hard>>20, binaryPagesMiB+overshootMiB)
	}
	if busiest := busiestMiB(t, m.configMaps[0].Data); soft>>20 < busiest {
		t.Errorf("GOMEMLIMIT %s is under the %d MiB the pod uses at its busiest: the collector would run all the time", v, busiest)
	}
}

// sizedProcs is the GOMAXPROCS the memory figures of the docs were measured
// at (docs/performance.md: 2 CPUs). Memory grows with it: with the
// ConfigMap's settings, a full stale store and 256 callers each with a token
// of its own, the peak RSS was 84 to 87 MiB at GOMAXPROCS 2, 103 to 106 MiB at
// 8 and 105 to 120 MiB at 16 (docs/deployment.md, "Memory and CPUs"): near
// GOMEMLIMIT.
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
	want := busiestMiB(t, m.configMaps[0].Data)
	req := m.deployments[0].Spec.Template.Spec.Containers[0].Resources.Requests.Memory()
	if req.Value() < want<<20 {
		t.Errorf("memory request %v is below the %d MiB the pod uses at 256 callers with the ConfigMap's settings (%d MiB, plus twice STALE_CACHE_MAX_BYTES with STALE_IF_ERROR on)", req, want, peakMiB)
	}
}

// busiestMiB is the benchmark's peak and, with STALE_IF_ERROR on in cm, a
// full stale store and the collector's headroom over it.
func busiestMiB(t *testing.T, cm map[string]string) int64 {
	t.Helper()
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
	return want >> 20
}
