//go:build load

package loadtest

import (
	"errors"
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

// cgroupFiles names a cgroup version's files. The OOM kills are a key of
// events; the times at the limit a file of their own (v1) or a key of events (v2).
type cgroupFiles struct {
	root, limit, peak, events, atLimitFile, atLimitEvent string
}

var cgroupVersions = []cgroupFiles{
	{root: "/sys/fs/cgroup/memory", limit: "memory.limit_in_bytes", peak: "memory.max_usage_in_bytes", events: "memory.oom_control", atLimitFile: "memory.failcnt"},
	{root: "/sys/fs/cgroup", limit: "memory.max", peak: "memory.peak", events: "memory.events", atLimitEvent: "max"},
}

// newPodCgroup makes a memory cgroup of limit bytes; nil when this machine
// lets the test make none (not root, no memory controller).
func newPodCgroup(t *testing.T, limit int64) *podCgroup {
	for _, f := range cgroupVersions {
		dir := filepath.Join(f.root, fmt.Sprintf("cloudcockpit-memflood-%d", os.Getpid()))
		if err := os.Mkdir(dir, 0o755); err != nil {
			continue
		}
		if set(filepath.Join(dir, f.limit), strconv.FormatInt(limit, 10)) != nil {
			_ = os.Remove(dir)
			continue
		}
		t.Cleanup(func() { _ = os.Remove(dir) }) // registered before the facade's: runs once it has exited
		return &podCgroup{dir: dir, files: f}
	}
	t.Logf("no memory cgroup could be made (root and a memory controller are needed): only VmHWM is checked")
	return nil
}

// set writes v to a file the kernel made for a cgroup, never creating one: a
// directory made where no cgroup file system is mounted (the tmpfs that holds
// cgroup v1's controllers) is no cgroup, and has none.
func set(path, v string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(v)
	return errors.Join(err, f.Close())
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
	atLimit = key(c.files.atLimitEvent)
	if c.files.atLimitFile != "" {
		atLimit, err = value(c.files.atLimitFile)
	}
	return float64(p), atLimit, key("oom_kill"), err
}
