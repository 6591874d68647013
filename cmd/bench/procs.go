package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is a child process of the harness: the sandbox upstream, the
// grpc-floor server or a facade. Its stdout and stderr go to a log file.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when the process has exited
	waitErr error         // valid after done is closed
}

// childEnv is the environment of the child processes: enough to run, and
// the Go runtime's tuning variables when the person running the harness set
// them, but none of the facade's own variables (GRPC_ADDR, LOG_LEVEL,
// OTEL_*, ...), so that the facade runs with its defaults.
func childEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "GOGC", "GOMEMLIMIT", "GOMAXPROCS", "GODEBUG"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// startProc starts bin with args and childEnv plus env, its output going to
// logPath. The child gets SIGTERM when ctx ends or the harness dies.
func startProc(ctx context.Context, name, bin string, args []string, logPath string, env ...string) (*proc, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer func() { _ = logFile.Close() }() // the child has its own descriptor
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(childEnv(), env...) // for a key given twice, the last value counts
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// diedError describes an early exit with the end of the process's log.
func (p *proc) diedError() error {
	err := p.waitErr
	if err == nil {
		err = errors.New("exit status 0")
	}
	return fmt.Errorf("%s exited (%w); last lines of %s:\n%s", p.name, err, p.logPath, tail(p.logPath, 10))
}

// stop sends SIGTERM and waits up to timeout for the process to exit, then
// kills it.
func (p *proc) stop(timeout time.Duration) {
	if p == nil || p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// waitPortFile waits until p has written its listening address to path.
func waitPortFile(ctx context.Context, p *proc, path string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for {
		if b, err := os.ReadFile(path); err == nil && len(bytes.TrimSpace(b)) > 0 {
			return string(bytes.TrimSpace(b)), nil
		}
		if p.exited() {
			return "", p.diedError()
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("%s did not write %s in time", p.name, path)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(ctx context.Context) (string, error) {
	l, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// addrFlagRE matches the listen-address flags in `server -h` output, such as
// "  -grpc-addr string".
var addrFlagRE = regexp.MustCompile(`(?m)^\s+-([a-z0-9-]+-addr)\b`)

// listenFlags returns the names of the server binary's *-addr flags, so that
// every listener the facade opens by default (gRPC, HTTP, and any that later
// versions add) gets its own free loopback port and two facades never
// collide. -debug-addr is left out: it is off by default, and the harness
// sets it only when asked to (its own -debug-addr).
func listenFlags(ctx context.Context, serverBin string) ([]string, error) {
	out, _ := exec.CommandContext(ctx, serverBin, "-h").CombinedOutput() // -h exits 0 or 2 depending on the flag package
	var names []string
	for _, m := range addrFlagRE.FindAllSubmatch(out, -1) {
		if string(m[1]) == "debug-addr" {
			continue
		}
		names = append(names, string(m[1]))
	}
	if !slices.Contains(names, "grpc-addr") || !slices.Contains(names, "http-addr") {
		return nil, fmt.Errorf("%s -h lists no -grpc-addr and -http-addr flags:\n%s", serverBin, out)
	}
	return names, nil
}

// tail returns the last n lines of a file, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// clockTick is the unit of the CPU times in /proc/<pid>/stat (USER_HZ, 100 on
// every Linux architecture Go supports).
const clockTick = 10 * time.Millisecond

// procCPU returns the user+system CPU time a process has used so far; pid 0
// means the harness itself.
func procCPU(pid int) (time.Duration, error) {
	path := "/proc/self/stat"
	if pid != 0 {
		path = "/proc/" + strconv.Itoa(pid) + "/stat"
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields are counted after
	// its closing parenthesis.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("malformed " + path)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("malformed " + path)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// memSample is a process's resident memory at one moment, in bytes: all of
// it (VmRSS), its anonymous part (RssAnon: heap, stacks, runtime) and its
// file-backed part (RssFile: mostly the binary's own pages).
type memSample struct {
	rss, anon, file uint64
}

// larger returns the sample with the larger resident set.
func (m memSample) larger(o memSample) memSample {
	if o.rss > m.rss {
		return o
	}
	return m
}

// procMem returns a process's resident memory now and its resident set
// size at its peak (VmHWM), in bytes.
func procMem(pid int) (now memSample, hwm uint64, err error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return now, 0, err
	}
	defer func() { _ = f.Close() }()
	dst := map[string]*uint64{"VmRSS:": &now.rss, "RssAnon:": &now.anon, "RssFile:": &now.file, "VmHWM:": &hwm}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text()) // "VmRSS:", "12345", "kB"
		if len(fields) < 2 {
			continue
		}
		if d := dst[fields[0]]; d != nil {
			kb, _ := strconv.ParseUint(fields[1], 10, 64)
			*d = kb << 10
		}
	}
	return now, hwm, sc.Err()
}

// machineCPU returns the busy and total CPU time of the whole machine (all
// cores) from /proc/stat.
func machineCPU() (busy, total time.Duration, err error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0, 0, errors.New("empty /proc/stat")
	}
	fields := strings.Fields(sc.Text()) // cpu user nice system idle iowait irq softirq steal ...
	if len(fields) < 9 || fields[0] != "cpu" {
		return 0, 0, errors.New("malformed /proc/stat")
	}
	var sum, idle int64
	for i, s := range fields[1:9] {
		v, _ := strconv.ParseInt(s, 10, 64)
		sum += v
		if i == 3 || i == 4 { // idle, iowait
			idle += v
		}
	}
	return time.Duration(sum-idle) * clockTick, time.Duration(sum) * clockTick, nil
}
