//go:build load

package loadtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// podCgroup is a memory cgroup limited as the pod's container is
// (resources.limits.memory), which the facade runs in: what makes the kernel
// kill a container is its cgroup's charge at the limit when reclaim frees
// nothing, not VmRSS, which also counts the binary's clean file pages that
// reclaim drops (docs/load.md, "Every flood at once").
type podCgroup struct {
	dir   string
	files cgroupFiles
}

// cgroupFiles names a cgroup version's files; the events are keys of events
// (v2) or of oomControl (v1), and times at the limit a key or a file.
type cgroupFiles struct {
	root, limit, peak, events, atLimit, oomKill string
}

var cgroupVersions = []cgroupFiles{
	{root: "/sys/fs/cgroup/memory", limit: "memory.limit_in_bytes", peak: "memory.max_usage_in_bytes", events: "memory.oom_control", atLimit: "memory.failcnt", oomKill: "oom_kill"},
	{root: "/sys/fs/cgroup", limit: "memory.max", peak: "memory.peak", events: "memory.events", atLimit: "max", oomKill: "oom_kill"},
}

// newPodCgroup makes a memory cgroup of limit bytes; nil when this machine
// lets the test make none (not root, no memory controller).
func newPodCgroup(t *testing.T, limit int64) *podCgroup {
	for _, f := range cgroupVersions {
		dir := filepath.Join(f.root, fmt.Sprintf("cloudcockpit-memflood-%d", os.Getpid()))
		if err := os.Mkdir(dir, 0o755); err != nil {
			continue
		}
		if os.WriteFile(filepath.Join(dir, f.limit), []byte(strconv.FormatInt(limit, 10)), 0o644) != nil {
			_ = os.Remove(dir)
			continue
		}
		t.Cleanup(func() { _ = os.Remove(dir) }) // registered before the facade's: runs once it has exited
		return &podCgroup{dir: dir, files: f}
	}
	t.Logf("no memory cgroup could be made (root and a memory controller are needed): only VmHWM is checked")
	return nil
}

// wrap returns a script that runs bin in the cgroup from its first
// instruction. The binary's cached pages are dropped first, so that its pages
// are charged to the cgroup, as they are to a container that starts cold.
func (c *podCgroup) wrap(t *testing.T, bin string) string {
	if f, err := os.Open(bin); err == nil {
		_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
		_ = f.Close()
	}
	script := filepath.Join(t.TempDir(), "in-pod-cgroup")
	body := fmt.Sprintf("#!/bin/sh\necho $$ > %s/cgroup.procs && exec %s \"$@\"\n", c.dir, bin)
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil { //nolint:gosec // G306: a script to run
		t.Fatal(err)
	}
	return script
}

// read returns the cgroup's peak charge, the times it reached its limit,
// and the processes the kernel killed for it.
func (c *podCgroup) read() (peak float64, atLimit, oomKills int64, err error) {
	value := func(name string) (int64, error) {
		b, err := os.ReadFile(filepath.Join(c.dir, name))
		if err != nil {
			return 0, err
		}
		return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	}
	events, err := os.ReadFile(filepath.Join(c.dir, c.files.events))
	if err != nil {
		return 0, 0, 0, err
	}
	key := func(k string) (n int64) {
		for line := range strings.Lines(string(events)) {
			if v, ok := strings.CutPrefix(line, k+" "); ok {
				n, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			}
		}
		return n
	}
	p, err := value(c.files.peak)
	if err != nil {
		return 0, 0, 0, err
	}
	atLimit, err = value(c.files.atLimit)
	if err != nil { // v2: an event
		atLimit, err = key(c.files.atLimit), nil
	}
	return float64(p), atLimit, key(c.files.oomKill), err
}
